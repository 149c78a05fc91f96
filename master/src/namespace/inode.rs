//! Inodes are the journal's `InodeRecord`s: one struct from wire to memory
//! to checkpoint, so nothing is lost in translation. Directory entries are
//! kept apart (see `tree.rs`), with a link count on the inode, so hard links
//! need no redesign.

use alluxio_proto::journal::InodeRecord;
use alluxio_proto::FileType;

/// An inode.
pub type Inode = InodeRecord;

/// Id of the root directory (also its FUSE inode number).
pub const ROOT_ID: u64 = 1;

/// Helpers on inodes.
pub trait InodeExt {
    /// Whether the inode is a directory.
    fn is_dir(&self) -> bool;
    /// Whether the inode is a regular file.
    fn is_file(&self) -> bool;
}

impl InodeExt for Inode {
    fn is_dir(&self) -> bool {
        self.file_type == FileType::Directory as i32
    }

    fn is_file(&self) -> bool {
        self.file_type == FileType::Regular as i32
    }
}
