//! mount, unmount and the mount table listing.

use std::collections::BTreeMap;

use alluxio_common::ufs::Ufs;
use alluxio_common::{time, FsError, FsResult};
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{AddMount, DeleteMount, JournalEntry};
use alluxio_proto::{MountPointInfo, MountRequest, UnmountRequest};

use super::create::{create_entry, remove_entry};
use super::operations::Begin;
use super::{parse_path, FsMaster};
use crate::namespace::inode::{new_directory, InodeExt};

impl FsMaster {
    /// Mounts `ufs_uri` at a new directory `alluxio_path`.
    pub async fn mount(&self, req: MountRequest) -> FsResult<()> {
        let path = parse_path(&req.alluxio_path)?;
        let _op = match self.begin(&req.op_id).await? {
            Begin::Replayed(_) => {
                return Ok(());
            }
            Begin::Fresh(guard) => guard,
        };
        let _paths = self.paths.lock(vec![path.clone()]).await;
        if path.is_root() {
            return Err(FsError::AlreadyExists("/ is the root mount".into()));
        }
        let options: BTreeMap<String, String> = req.options.clone().into_iter().collect();
        let ufs = Ufs::open(&req.ufs_uri, &options)?;
        match ufs.stat("").await? {
            Some(st) if st.is_dir => {}
            _ => {
                return Err(FsError::NotFound(format!(
                    "UFS {} does not exist or is not a directory",
                    req.ufs_uri
                )))
            }
        }
        let parent = path
            .parent()
            .unwrap_or_else(alluxio_common::AlluxioPath::root);
        self.load_path(&path).await?;
        let done = {
            let mut ns = self.write();
            if ns.resolve(&path).is_ok() {
                return Err(FsError::AlreadyExists(format!(
                    "{path}: mount points must not exist"
                )));
            }
            if let Some(m) = ns
                .mounts()
                .iter()
                .find(|m| ufs_overlaps(&m.ufs_uri, &req.ufs_uri))
            {
                return Err(FsError::InvalidArgument(format!(
                    "{} overlaps the UFS {} already mounted at {}",
                    req.ufs_uri, m.ufs_uri, m.alluxio_path
                )));
            }
            let p = ns.resolve(&parent)?;
            if !p.is_dir() {
                return Err(FsError::NotDirectory(parent.to_string()));
            }
            let now = time::now_ns();
            let dir = new_directory(
                ns.next_inode_id,
                p.id,
                path.name(),
                0o755,
                &self.opts.default_owner,
                &self.opts.default_group,
                now,
            );
            let entries = vec![
                create_entry(dir),
                JournalEntry {
                    op_id: None,
                    op_result: 0,
                    entry: Some(Entry::AddMount(AddMount {
                        alluxio_path: path.to_string(),
                        ufs_uri: req.ufs_uri.clone(),
                        options: req.options.clone(),
                    })),
                },
            ];
            self.commit(&mut ns, entries, req.op_id, 0)
        };
        done.await
    }

    /// Removes the mount at `alluxio_path` and its inodes (the UFS is untouched).
    pub async fn unmount(&self, req: UnmountRequest) -> FsResult<()> {
        let path = parse_path(&req.alluxio_path)?;
        let _op = match self.begin(&req.op_id).await? {
            Begin::Replayed(_) => {
                return Ok(());
            }
            Begin::Fresh(guard) => guard,
        };
        let _paths = self.paths.lock(vec![path.clone()]).await;
        if path.is_root() {
            return Err(FsError::InvalidArgument("cannot unmount the root".into()));
        }
        let (done, freed) = {
            let mut ns = self.write();
            if ns.mounts().get(&path).is_none() {
                return Err(FsError::NotFound(format!("{path} is not a mount point")));
            }
            if ns.mounts().has_mount_below(&path) {
                return Err(FsError::FailedPrecondition(format!(
                    "{path} contains other mounts"
                )));
            }
            let inode = ns.resolve(&path)?;
            let mut entries = Vec::new();
            let mut freed = Vec::new();
            // By entry, not by inode: a hard-linked file has several.
            for (dir, name, d) in super::remove::entries_post_order(&ns, inode.id) {
                if let Some(child) = ns.inode(d) {
                    if child.parent_id == dir && child.name == name {
                        freed.extend(self.file_blocks(child));
                    }
                    entries.push(remove_entry(dir, &name));
                }
            }
            entries.push(remove_entry(inode.parent_id, &inode.name));
            entries.push(JournalEntry {
                op_id: None,
                op_result: 0,
                entry: Some(Entry::DeleteMount(DeleteMount {
                    alluxio_path: path.to_string(),
                })),
            });
            (self.commit(&mut ns, entries, req.op_id, 0), freed)
        };
        done.await?;
        self.blocks.free_blocks(&freed);
        Ok(())
    }

    /// Every mount.
    pub fn mount_table(&self) -> Vec<MountPointInfo> {
        self.read()
            .mounts()
            .iter()
            .map(|m| MountPointInfo {
                alluxio_path: m.alluxio_path.to_string(),
                ufs_uri: m.ufs_uri.clone(),
                options: m.options.clone().into_iter().collect(),
            })
            .collect()
    }

    /// Whether `id` is a directory (for services that hold ids).
    pub fn is_dir(&self, id: u64) -> bool {
        self.read().inode(id).is_some_and(|i| i.is_dir())
    }
}

/// Whether one UFS URI lies inside the other (after normalising `file://`
/// and trailing slashes): mounting both would show the same data twice.
fn ufs_overlaps(a: &str, b: &str) -> bool {
    let norm = |u: &str| {
        let u = u.strip_prefix("file://").unwrap_or(u).trim_end_matches('/');
        format!("{u}/")
    };
    let (a, b) = (norm(a), norm(b));
    a.starts_with(&b) || b.starts_with(&a)
}

#[cfg(test)]
mod tests {
    #[test]
    fn overlapping_ufs_uris() {
        assert!(super::ufs_overlaps("/a/b", "file:///a/b/"));
        assert!(super::ufs_overlaps("/a", "/a/b"));
        assert!(!super::ufs_overlaps("/a/b", "/a/bc"));
        assert!(!super::ufs_overlaps("s3://x/p", "s3://x/q"));
    }
}
