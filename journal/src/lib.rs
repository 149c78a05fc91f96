//! The journal: every namespace change as a sequence of log objects on a
//! UFS, each published create-if-absent so that exactly one master can
//! write each slot (see ARCHITECTURE.md and `docs/design.md`).
//!
//! A crate of its own, below the master: it knows entries and checkpoint
//! records only as bytes and protobuf messages, never the namespace they
//! describe (the master's `recovery.rs` applies them, its
//! `namespace/checkpoint.rs` encodes and loads them), so `alluxio format`
//! and the benchmarks need not link the master.
//!
//! Layout of the journal folder:
//! - `FORMAT` — format marker (`format.rs`);
//! - `log/<first sequence number, 20 digits>` — on an object store one
//!   group-commit batch each; on a local folder a segment, batches appended
//!   by one leader (`writer.rs`); what a term wrote past the start of the
//!   next term's object is void (`recovery.rs`);
//! - `terms/<term, 20 digits>` — term claims that fence appending leaders
//!   (`terms.rs`);
//! - `checkpoints/<last sequence number, 20 digits>` — full state up to it;
//! - `tmp/` — staging for local publication.

pub mod checkpoint;
pub mod error;
pub mod format;
pub mod frame;
pub mod metrics;
mod nfs;
pub mod reader;
pub mod store;
pub mod terms;
pub mod writer;

pub use error::JournalError;
pub use store::JournalStore;
pub use writer::JournalWriter;

/// Folder of batch objects.
pub const LOG_DIR: &str = "log";
/// Folder of checkpoints.
pub const CHECKPOINT_DIR: &str = "checkpoints";

/// Object name of the batch starting at `seq`.
pub fn log_name(seq: u64) -> String {
    format!("{LOG_DIR}/{seq:020}")
}

/// Object name of the checkpoint covering entries up to `seq`.
pub fn checkpoint_name(seq: u64) -> String {
    format!("{CHECKPOINT_DIR}/{seq:020}")
}

/// Parses a 20-digit object name back to its sequence number.
pub fn parse_seq(name: &str) -> Option<u64> {
    (name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()))
        .then(|| name.parse().ok())
        .flatten()
}
