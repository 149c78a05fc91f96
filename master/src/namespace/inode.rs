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

/// A new, persisted directory inode with all times set to `now_ns`.
pub fn new_directory(
    id: u64,
    parent_id: u64,
    name: &str,
    mode: u32,
    owner: &str,
    group: &str,
    now_ns: i64,
) -> Inode {
    Inode {
        id,
        parent_id,
        name: name.to_string(),
        file_type: FileType::Directory as i32,
        mode,
        owner: owner.to_string(),
        group: group.to_string(),
        nlink: 1,
        atime_ns: now_ns,
        mtime_ns: now_ns,
        ctime_ns: now_ns,
        crtime_ns: now_ns,
        completed: true,
        persisted: true,
        ..Default::default()
    }
}
