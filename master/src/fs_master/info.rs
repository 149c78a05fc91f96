//! Building `FileInfo` replies from inodes, block locations and the mount table.

use alluxio_common::block_id::{block_count, block_id};
use alluxio_common::{AlluxioPath, FsResult};
use alluxio_proto::{BlockInfo, FileInfo, FileType};

use super::FsMaster;
use crate::namespace::inode::InodeExt;
use crate::namespace::{Inode, Namespace};

/// Name under which a writer stages a file's UFS bytes before completeFile
/// renames them into place; UFS listings skip such names. It holds only the
/// (unique) container id, so a 255-byte file name still stages.
pub fn temp_ufs_name(container_id: u64) -> String {
    format!(".{container_id}{TEMP_SUFFIX}")
}

/// Suffix of staged UFS files.
pub const TEMP_SUFFIX: &str = ".alluxio-tmp";

impl FsMaster {
    /// The reply describing `inode` at `path`.
    pub(super) fn info(
        &self,
        ns: &Namespace,
        inode: &Inode,
        path: &AlluxioPath,
    ) -> FsResult<FileInfo> {
        let mut blocks = Vec::new();
        let mut cached = 0u64;
        if inode.is_file() && inode.block_size > 0 {
            for i in 0..block_count(inode.length, inode.block_size) {
                let offset = i * inode.block_size;
                let length = inode.block_size.min(inode.length - offset);
                let id = block_id(inode.container_id, i);
                let locations = self.blocks.locations(id);
                if !locations.is_empty() {
                    cached += length;
                }
                blocks.push(BlockInfo {
                    block_id: id,
                    offset,
                    length,
                    locations,
                });
            }
        }
        let in_memory_percentage = (cached * 100)
            .checked_div(inode.length)
            .map_or(100, |p| p as u32);
        Ok(FileInfo {
            id: inode.id,
            path: path.to_string(),
            name: path.name().to_string(),
            file_type: inode.file_type,
            length: inode.length,
            block_size: inode.block_size,
            container_id: inode.container_id,
            blocks,
            owner: inode.owner.clone(),
            group: inode.group.clone(),
            mode: inode.mode,
            nlink: if inode.is_dir() {
                2 + ns.subdir_count(inode.id)
            } else {
                inode.nlink
            },
            atime_ns: inode.atime_ns,
            mtime_ns: inode.mtime_ns,
            ctime_ns: inode.ctime_ns,
            crtime_ns: inode.crtime_ns,
            completed: inode.completed,
            persisted: inode.persisted,
            symlink_target: inode.symlink_target.clone(),
            rdev: inode.rdev,
            // A hard-linked file's UFS object is at its primary entry.
            ufs: Some(if inode.nlink > 1 && !inode.is_dir() {
                ns.mounts().ufs_location(&ns.path_of(inode.id)?)?
            } else {
                ns.mounts().ufs_location(path)?
            }),
            in_memory_percentage: if inode.file_type == FileType::Regular as i32 {
                in_memory_percentage
            } else {
                0
            },
            ufs_temp_path: String::new(),
            parent: None,
        })
    }

    /// The reply describing the parent directory of `path` as it is now:
    /// what the calls that change a directory's entries send back (after
    /// their own change is durable), so a client that caches attributes
    /// need not ask. `None` for the root, if the parent cannot be described,
    /// or if the namespace holds changes that are not durable yet: showing
    /// them would mean waiting for them, which would slow every concurrent
    /// change for the sake of an optional field (the client asks instead).
    pub fn parent_info(&self, path: &str) -> Option<FileInfo> {
        let parent = AlluxioPath::parse(path).ok()?.parent()?;
        let ns = self.read();
        if ns.last_seq() > self.writer.durable_seq() {
            return None;
        }
        let inode = ns.resolve(&parent).ok()?;
        self.info(&ns, inode, &parent).ok()
    }
}
