//! delete and free.

use alluxio_common::{AlluxioPath, FsError, FsResult};
use alluxio_proto::DeleteRequest;

use super::create::remove_entry;
use super::operations::Begin;
use super::{parse_path, FsMaster};
use crate::namespace::inode::InodeExt;

impl FsMaster {
    /// Deletes a file or directory (recursively if asked), from the UFS too
    /// unless `alluxio_only`; fails without deleting anything if `directory`
    /// names the other kind.
    pub async fn delete(&self, req: DeleteRequest) -> FsResult<()> {
        let path = parse_path(&req.path)?;
        let _op = match self.begin(&req.op_id).await? {
            Begin::Replayed(_) => {
                return Ok(());
            }
            Begin::Fresh(guard) => guard,
        };
        let _paths = self.paths.lock(vec![path.clone()]).await;
        if path.is_root() {
            return Err(FsError::InvalidArgument(
                "cannot delete the root directory".into(),
            ));
        }
        self.load_path(&path).await?;
        let is_dir = self.read().resolve(&path)?.is_dir();
        // The kind the caller expects (rmdir, unlink). The inode is checked
        // again under the write lock below (same id, hence same kind), so
        // the check and the delete are atomic.
        match req.directory {
            Some(true) if !is_dir => return Err(FsError::NotDirectory(path.to_string())),
            Some(false) if is_dir => return Err(FsError::IsDirectory(path.to_string())),
            _ => {}
        }
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
        let (nlink, parent_id) = {
            let ns = self.read();
            let inode = ns.resolve(&path)?;
            let parent = ns.resolve(&path.parent().unwrap_or_else(AlluxioPath::root))?;
            (inode.nlink, parent.id)
        };
        if !is_dir && nlink > 1 {
            // Other hard links keep the data: the UFS object stays (moving
            // with the primary entry if this name was it).
            if !req.alluxio_only {
                self.relocate_primary(id, parent_id, path.name()).await?;
            }
        } else if persisted && !req.alluxio_only {
            let ufs = self.ufs_to_change(&loc).await?;
            if is_dir {
                // Files with hard links outside the directory keep their
                // bytes: move each UFS object to the outside link that will
                // be primary (the smallest, as `apply` chooses).
                for (from, to) in self.links_leaving(&path, id)? {
                    let (f, t) = {
                        let ns = self.read();
                        (
                            ns.mounts().ufs_location(&from)?,
                            ns.mounts().ufs_location(&to)?,
                        )
                    };
                    if ufs.stat(&f.path).await?.is_some() {
                        ufs.rename(&f.path, &t.path).await?;
                    }
                }
                ufs.delete_dir_all(&loc.path).await?;
            } else {
                ufs.delete_file(&loc.path).await?;
            }
        }
        alluxio_common::failpoint::delay("ufs_step_before_commit").await;
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
            // Entries by the directory that holds them, not by the inode's
            // primary entry: a hard link's other names stay.
            for (dir, name, d) in entries_post_order(&ns, id) {
                if let Some(child) = ns.inode(d) {
                    if child.nlink <= 1 {
                        freed.extend(self.file_blocks(child));
                    }
                    entries.push(remove_entry(dir, &name));
                }
            }
            if inode.nlink <= 1 {
                freed.extend(self.file_blocks(inode));
            }
            let parent = ns
                .resolve(&path.parent().unwrap_or_else(AlluxioPath::root))?
                .id;
            entries.push(remove_entry(parent, path.name()));
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

impl FsMaster {
    /// For deleting directory `dir` (inode `id`): the persisted files whose
    /// primary entry is inside it but which have links outside, as (current
    /// primary path, outside path that becomes primary).
    fn links_leaving(
        &self,
        dir: &AlluxioPath,
        id: u64,
    ) -> FsResult<Vec<(AlluxioPath, AlluxioPath)>> {
        let ns = self.read();
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (_, _, child) in entries_post_order(&ns, id) {
            let Some(inode) = ns.inode(child) else {
                continue;
            };
            if inode.is_dir() || inode.nlink <= 1 || !inode.persisted || !seen.insert(child) {
                continue;
            }
            let primary = ns.path_of(child)?;
            if !primary.starts_with(dir) {
                continue;
            }
            let mut outside = Vec::new();
            for (p, n) in ns.links_of(child) {
                let path = ns.path_of(p)?.join(&n)?;
                if !path.starts_with(dir) {
                    outside.push(path);
                }
            }
            // links_of is sorted by (parent id, name): the first outside
            // link is the one `apply` ends up making primary.
            if let Some(to) = outside.into_iter().next() {
                out.push((primary, to));
            }
        }
        Ok(out)
    }
}

/// Every entry (directory, name, inode) below directory `id`, children
/// before their parents.
pub(super) fn entries_post_order(
    ns: &crate::namespace::Namespace,
    id: u64,
) -> Vec<(u64, String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![(0, String::new(), id, false)];
    while let Some((dir, name, cur, visited)) = stack.pop() {
        if visited {
            if cur != id {
                out.push((dir, name, cur));
            }
            continue;
        }
        let children = if ns.is_dir(cur) {
            ns.children(cur)
        } else {
            None
        };
        stack.push((dir, name, cur, true));
        for (n, child) in children.into_iter().flatten() {
            stack.push((cur, n.clone(), *child, false));
        }
    }
    out
}
