//! delete and free.

use alluxio_common::{FsError, FsResult};
use alluxio_proto::DeleteRequest;

use super::create::remove_entry;
use super::{parse_path, FsMaster};
use crate::namespace::inode::InodeExt;

impl FsMaster {
    /// Deletes a file or directory (recursively if asked), from the UFS too
    /// unless `alluxio_only`.
    pub async fn delete(&self, req: DeleteRequest) -> FsResult<()> {
        let path = parse_path(&req.path)?;
        if self.replayed(&req.op_id).await?.is_some() {
            return Ok(());
        }
        if path.is_root() {
            return Err(FsError::InvalidArgument(
                "cannot delete the root directory".into(),
            ));
        }
        self.load_path(&path).await?;
        let is_dir = self.read().resolve(&path)?.is_dir();
        if is_dir && !req.recursive {
            // Emptiness counts what the UFS holds too.
            self.load_dir(&path).await?;
        }
        let (id, persisted, loc) = {
            let ns = self.read();
            let inode = ns.resolve(&path)?;
            if inode.is_dir() && !req.recursive && ns.has_children(inode.id) {
                return Err(FsError::DirectoryNotEmpty(path.to_string()));
            }
            if ns.mounts().get(&path).is_some() || ns.mounts().has_mount_below(&path) {
                return Err(FsError::FailedPrecondition(format!(
                    "{path} is or contains a mount point: unmount it first"
                )));
            }
            (inode.id, inode.persisted, ns.mounts().ufs_location(&path)?)
        };
        if persisted && !req.alluxio_only {
            let ufs = self.ufs_for(&loc)?;
            if is_dir {
                ufs.delete_dir_all(&loc.path).await?;
            } else {
                ufs.delete_file(&loc.path).await?;
            }
        }
        let (done, freed) = {
            let mut ns = self.write();
            let inode = ns.resolve(&path)?;
            if inode.id != id {
                return Err(FsError::NotFound(format!(
                    "{path} (replaced while deleting)"
                )));
            }
            let mut entries = Vec::new();
            let mut freed = Vec::new();
            for d in ns.descendants_post_order(id) {
                if let Some(child) = ns.inode(d) {
                    freed.extend(self.file_blocks(child));
                    entries.push(remove_entry(child.parent_id, &child.name));
                }
            }
            freed.extend(self.file_blocks(inode));
            entries.push(remove_entry(inode.parent_id, &inode.name));
            (self.commit(&mut ns, entries, req.op_id, 0), freed)
        };
        done.await?;
        self.blocks.free_blocks(&freed);
        Ok(())
    }

    /// Drops cached copies of the persisted files at or below `path`.
    pub async fn free(&self, path: &str, recursive: bool) -> FsResult<u64> {
        let path = parse_path(path)?;
        self.load_path(&path).await?;
        let blocks = {
            let ns = self.read();
            let inode = ns.resolve(&path)?;
            if inode.is_dir() && !recursive && ns.has_children(inode.id) {
                return Err(FsError::DirectoryNotEmpty(format!(
                    "{path}: freeing a non-empty directory needs the recursive option"
                )));
            }
            let mut ids = vec![inode.id];
            ids.extend(ns.descendants_post_order(inode.id));
            let mut blocks = Vec::new();
            for id in ids {
                let Some(i) = ns.inode(id) else { continue };
                if i.is_file() && !i.persisted && i.length > 0 {
                    return Err(FsError::FailedPrecondition(format!(
                        "{} is not persisted: freeing it would lose its data",
                        ns.path_of(id)?
                    )));
                }
                blocks.extend(self.file_blocks(i));
            }
            blocks
        };
        Ok(self.blocks.free_blocks(&blocks) as u64)
    }
}
