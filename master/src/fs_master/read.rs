//! getStatus and listStatus.

use alluxio_common::{AlluxioPath, FsError, FsResult};
use alluxio_proto::FileInfo;

use super::{parse_path, FsMaster};
use crate::namespace::inode::InodeExt;

impl FsMaster {
    /// Describes the file or directory at `path`, loading it from the UFS on
    /// first access.
    pub async fn get_status(&self, path: &str) -> FsResult<FileInfo> {
        let path = parse_path(path)?;
        self.load_path(&path).await?;
        let (info, seq) = {
            let ns = self.read();
            let inode = ns.resolve(&path)?;
            (self.info(&ns, inode, &path)?, ns.last_seq())
        };
        self.wait_durable(seq).await?;
        Ok(info)
    }

    /// Lists directory `path` (or describes a file), recursively if asked.
    pub async fn list_status(
        &self,
        path: &str,
        recursive: bool,
        sync_ufs: bool,
    ) -> FsResult<Vec<FileInfo>> {
        let path = parse_path(path)?;
        self.load_path(&path).await?;
        if sync_ufs {
            self.merge_ufs_dir(&path, true).await?;
        }
        let mut out = Vec::new();
        let mut pending = vec![path.clone()];
        let mut seq = 0;
        while let Some(dir) = pending.pop() {
            self.load_dir(&dir).await?;
            let ns = self.read();
            let inode = ns.resolve(&dir)?;
            if !inode.is_dir() {
                if dir == path {
                    out.push(self.info(&ns, inode, &dir)?);
                }
                continue;
            }
            let entries = ns
                .children(inode.id)
                .ok_or_else(|| FsError::Internal(format!("directory {dir} has no entry table")))?;
            for (name, id) in entries {
                let child = ns
                    .inode(*id)
                    .ok_or_else(|| FsError::Internal(format!("dangling entry {name} in {dir}")))?;
                let child_path = dir.join(name)?;
                if recursive && child.is_dir() {
                    pending.push(child_path.clone());
                }
                out.push(self.info(&ns, child, &child_path)?);
            }
            seq = seq.max(ns.last_seq());
        }
        self.wait_durable(seq).await?;
        if recursive {
            out.sort_by(|a, b| a.path.cmp(&b.path));
        }
        Ok(out)
    }

    /// Resolves `path` to its inode id (loading it from the UFS if needed).
    pub async fn inode_id(&self, path: &AlluxioPath) -> FsResult<u64> {
        self.load_path(path).await?;
        Ok(self.read().resolve(path)?.id)
    }
}
