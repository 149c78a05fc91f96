//! The namespace state machine: inodes, directory entries and the mount
//! table, changed only by applying journal entries (`apply.rs`) and by
//! loading a checkpoint (`checkpoint.rs`). Given the same entries in
//! the same order every master reaches the same state, which is what makes
//! replay, standbys and checkpoints agree.

pub mod apply;
pub mod checkpoint;
pub mod inode;
pub mod intents;
pub mod mount_table;
pub mod tree;

pub use inode::{Inode, ROOT_ID};
pub use mount_table::{MountPoint, MountTable};
pub use tree::Namespace;
