//! rename: atomic, replacing an existing file or empty directory.

use alluxio_common::{time, FsError, FsResult};
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{JournalEntry, RenameEntry};
use alluxio_proto::RenameRequest;

use super::{parse_path, FsMaster};
use crate::namespace::inode::InodeExt;

impl FsMaster {
    /// Moves `src` to `dst`. An existing `dst` file is replaced by a file; an
    /// existing empty `dst` directory by a directory.
    pub async fn rename(&self, req: RenameRequest) -> FsResult<()> {
        let src = parse_path(&req.src)?;
        let dst = parse_path(&req.dst)?;
        if self.replayed(&req.op_id).await?.is_some() {
            return Ok(());
        }
        if src.is_root() || dst.is_root() {
            return Err(FsError::InvalidArgument(
                "cannot rename the root directory".into(),
            ));
        }
        if src == dst {
            self.load_path(&src).await?;
            self.read().resolve(&src)?;
            return Ok(());
        }
        if dst.starts_with(&src) {
            return Err(FsError::InvalidArgument(format!(
                "cannot move {src} into itself ({dst})"
            )));
        }
        self.load_path(&src).await?;
        self.load_path(&dst).await?;
        let dst_parent = dst
            .parent()
            .unwrap_or_else(alluxio_common::AlluxioPath::root);
        let (src_id, src_persisted, dst_existing, src_loc, dst_loc) = {
            let ns = self.read();
            let s = ns.resolve(&src)?;
            let parent = ns.resolve(&dst_parent)?;
            if !parent.is_dir() {
                return Err(FsError::NotDirectory(dst_parent.to_string()));
            }
            let existing = match ns.resolve(&dst) {
                Ok(d) => {
                    if d.is_dir() && !s.is_dir() {
                        return Err(FsError::IsDirectory(dst.to_string()));
                    }
                    if !d.is_dir() && s.is_dir() {
                        return Err(FsError::NotDirectory(dst.to_string()));
                    }
                    if d.is_dir() && ns.has_children(d.id) {
                        return Err(FsError::DirectoryNotEmpty(dst.to_string()));
                    }
                    Some((d.id, d.persisted))
                }
                Err(FsError::NotFound(_)) => None,
                Err(e) => return Err(e),
            };
            let mounts = ns.mounts();
            if mounts.get(&src).is_some() || mounts.has_mount_below(&src) {
                return Err(FsError::FailedPrecondition(format!(
                    "{src} is or contains a mount point"
                )));
            }
            if mounts.resolve(&src)?.alluxio_path != mounts.resolve(&dst)?.alluxio_path {
                return Err(FsError::NotSupported(format!(
                    "rename across mount points ({src} -> {dst})"
                )));
            }
            (
                s.id,
                s.persisted,
                existing,
                mounts.ufs_location(&src)?,
                mounts.ufs_location(&dst)?,
            )
        };
        let ufs = self.ufs_for(&src_loc)?;
        if src_persisted {
            if let Some((_, true)) = dst_existing {
                if ufs.stat(&dst_loc.path).await?.is_some_and(|s| s.is_dir) {
                    ufs.delete_dir_all(&dst_loc.path).await?;
                }
            }
            ufs.rename(&src_loc.path, &dst_loc.path).await?;
        } else if let Some((_, true)) = dst_existing {
            ufs.delete_file(&dst_loc.path).await?;
        }
        let (done, freed) = {
            let mut ns = self.write();
            let s = ns.resolve(&src)?;
            if s.id != src_id {
                return Err(FsError::NotFound(format!(
                    "{src} (replaced while renaming)"
                )));
            }
            let src_parent = s.parent_id;
            let dst_parent_id = ns.resolve(&dst_parent)?.id;
            let freed = match ns.resolve(&dst) {
                Ok(d) => self.file_blocks(d),
                Err(_) => Vec::new(),
            };
            let entry = JournalEntry {
                op_id: None,
                op_result: 0,
                entry: Some(Entry::Rename(RenameEntry {
                    src_parent_id: src_parent,
                    src_name: src.name().to_string(),
                    dst_parent_id,
                    dst_name: dst.name().to_string(),
                    time_ns: time::now_ns(),
                })),
            };
            (self.commit(&mut ns, vec![entry], req.op_id, 0), freed)
        };
        done.await?;
        self.blocks.free_blocks(&freed);
        Ok(())
    }
}
