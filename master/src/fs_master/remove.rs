//! delete and free. A delete's UFS changes are journaled as an intent
//! first (`intents.rs`).

use alluxio_common::{AlluxioPath, FsError, FsResult};
use alluxio_proto::journal::{ufs_intent, DeleteIntent};
use alluxio_proto::DeleteRequest;

use super::create::remove_entry;
use super::intents::{delete_step, move_step, Completion};
use super::operations::Begin;
use super::{parse_path, FsMaster};
use crate::namespace::inode::InodeExt;
use crate::namespace::Namespace;

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
        let (id, steps) = {
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
            let parent_id = ns
                .resolve(&path.parent().unwrap_or_else(AlluxioPath::root))?
                .id;
            let mut steps = Vec::new();
            if !is_dir && inode.nlink > 1 {
                // Other hard links keep the data: the UFS object stays
                // (moving with the primary entry if this name was it).
                steps.extend(self.relocation(&ns, inode.id, parent_id, path.name())?);
            } else if inode.persisted && is_dir {
                // Files with hard links outside the directory keep their
                // bytes: each UFS object moves to the outside link that will
                // be primary (the smallest, as `apply` chooses).
                for (from, to) in links_leaving(&ns, &path, inode.id)? {
                    steps.push(move_step(&from, &to));
                }
                steps.push(delete_step(&path, true));
            } else if inode.persisted {
                steps.push(delete_step(&path, false));
            }
            if req.alluxio_only {
                steps.clear();
            }
            (inode.id, steps)
        };
        let intent = DeleteIntent {
            path: path.to_string(),
            id,
        };
        let seq = self
            .change_ufs(req.op_id, steps, ufs_intent::Op::Delete(intent.clone()))
            .await?;
        let (done, freed) = {
            let mut ns = self.write();
            let completion = delete_completion(self, &ns, &intent);
            self.complete(&mut ns, seq, completion, req.op_id, 0)?
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

/// The entries that delete `d` once its UFS steps are made, and the blocks
/// they free.
pub(super) fn delete_completion(
    fs: &FsMaster,
    ns: &Namespace,
    d: &DeleteIntent,
) -> FsResult<Completion> {
    let path = parse_path(&d.path)?;
    let inode = match ns.resolve(&path) {
        Ok(inode) if inode.id == d.id => inode,
        // Removed already: a batch cut short after the entries.
        Err(FsError::NotFound(_)) => return Ok(None),
        _ => {
            return Err(FsError::NotFound(format!(
                "{path} (replaced while deleting)"
            )))
        }
    };
    let mut entries = Vec::new();
    let mut freed = Vec::new();
    // Entries by the directory that holds them, not by the inode's
    // primary entry: a hard link's other names stay.
    for (dir, name, child) in entries_post_order(ns, d.id) {
        if let Some(child) = ns.inode(child) {
            if child.nlink <= 1 {
                freed.extend(fs.file_blocks(child));
            }
            entries.push(remove_entry(dir, &name));
        }
    }
    if inode.nlink <= 1 {
        freed.extend(fs.file_blocks(inode));
    }
    let parent = ns
        .resolve(&path.parent().unwrap_or_else(AlluxioPath::root))?
        .id;
    entries.push(remove_entry(parent, path.name()));
    Ok(Some((entries, freed)))
}

/// For deleting directory `dir` (inode `id`): the persisted files whose
/// primary entry is inside it but which have links outside, as (current
/// primary path, outside path that becomes primary).
fn links_leaving(
    ns: &Namespace,
    dir: &AlluxioPath,
    id: u64,
) -> FsResult<Vec<(AlluxioPath, AlluxioPath)>> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (_, _, child) in entries_post_order(ns, id) {
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

/// Every entry (directory, name, inode) below directory `id`, children
/// before their parents.
pub(super) fn entries_post_order(ns: &Namespace, id: u64) -> Vec<(u64, String, u64)> {
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
