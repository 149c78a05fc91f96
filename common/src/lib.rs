//! Pieces every process shares: configuration, the error kinds and their wire
//! encoding, path validation, block id arithmetic, UFS access (local
//! directories directly, object stores through opendal), the client-side
//! retry policy, and finding the leading master (static list or ZooKeeper).

pub mod block_id;
pub mod config;
pub mod error;
pub mod identity;
pub mod leader;
pub mod logging;
pub mod path;
pub mod retry;
pub mod time;
pub mod ufs;

pub use error::{FsError, FsResult};
pub use path::AlluxioPath;
