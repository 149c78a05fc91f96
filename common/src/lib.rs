//! Pieces every process shares: configuration, the error kinds and their wire
//! encoding, path validation, block id arithmetic, UFS access (local
//! directories directly, object stores through opendal), the client-side
//! retry policy, finding the leading master (static list or ZooKeeper), and
//! the operational surface: logging, metrics and the web port, and the
//! start-up every process shares (`startup`).

pub mod block_id;
pub mod channel;
pub mod config;
pub mod error;
pub mod failpoint;
pub mod identity;
pub mod leader;
pub mod logging;
pub mod metrics;
pub mod path;
pub mod retry;
pub mod seeded;
pub mod short_calls;
pub mod startup;
pub mod time;
pub mod ufs;
pub mod version;
pub mod web;

pub use error::{FsError, FsResult};
pub use path::AlluxioPath;
