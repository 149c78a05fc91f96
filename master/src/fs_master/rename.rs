//! rename: atomic, replacing an existing file or empty directory.

use alluxio_common::{time, AlluxioPath, FsError, FsResult};
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{ExchangeEntries, JournalEntry, RenameEntry};
use alluxio_proto::RenameRequest;

use super::info::TEMP_SUFFIX;
use super::operations::Begin;
use super::{parse_path, FsMaster};
use crate::namespace::inode::InodeExt;

impl FsMaster {
    /// Moves `src` to `dst`. An existing `dst` file is replaced by a file; an
    /// existing empty `dst` directory by a directory.
    pub async fn rename(&self, req: RenameRequest) -> FsResult<()> {
        let src = parse_path(&req.src)?;
        let dst = parse_path(&req.dst)?;
        let _op = match self.begin(&req.op_id).await? {
            Begin::Replayed(_) => {
                return Ok(());
            }
            Begin::Fresh(guard) => guard,
        };
        let _paths = self.paths.lock(vec![src.clone(), dst.clone()]).await;
        if src.is_root() || dst.is_root() {
            return Err(FsError::InvalidArgument(
                "cannot rename the root directory".into(),
            ));
        }
        if req.exchange {
            return self.exchange(&src, &dst, req.op_id).await;
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
        let mut relocate = None;
        let (src_id, src_persisted, src_empty, dst_existing, src_loc, dst_loc) = {
            let ns = self.read();
            let s = ns.resolve(&src)?;
            let parent = ns.resolve(&dst_parent)?;
            if !parent.is_dir() {
                return Err(FsError::NotDirectory(dst_parent.to_string()));
            }
            let existing = match ns.resolve(&dst) {
                // Two links of one inode: POSIX rename does nothing.
                Ok(_) if req.no_replace => return Err(FsError::AlreadyExists(dst.to_string())),
                Ok(d) if d.id == s.id => return Ok(()),
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
                    Some((d.id, d.persisted && d.nlink <= 1))
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
            // Only the primary entry of a hard-linked file has a UFS object.
            let src_persisted = s.persisted && ns.path_of(s.id)? == src;
            if let Ok(d) = ns.resolve(&dst) {
                if !d.is_dir() && d.nlink > 1 {
                    relocate = Some(d.id);
                }
            }
            (
                s.id,
                src_persisted,
                s.is_file() && s.length == 0,
                existing,
                mounts.ufs_location(&src)?,
                mounts.ufs_location(&dst)?,
            )
        };
        if let Some(dst_id) = relocate {
            let parent = self.read().resolve(&dst_parent)?.id;
            self.relocate_primary(dst_id, parent, dst.name()).await?;
        }
        let ufs = self.ufs_to_change(&src_loc).await?;
        if src_persisted {
            if let Some((_, true)) = dst_existing {
                if ufs.stat(&dst_loc.path).await?.is_some_and(|s| s.is_dir) {
                    ufs.delete_dir_all(&dst_loc.path).await?;
                }
            }
            match ufs.rename(&src_loc.path, &dst_loc.path).await {
                // An empty file whose object was never written (its master
                // stopped first, `empty_objects.rs`): write it at the target.
                Err(FsError::NotFound(_)) if src_empty => {
                    ufs.write_all(&dst_loc.path, bytes::Bytes::new()).await?
                }
                r => r?,
            }
        } else if let Some((_, true)) = dst_existing {
            ufs.delete_file(&dst_loc.path).await?;
        }
        alluxio_common::failpoint::delay("ufs_step_before_commit").await;
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
                Ok(_) if req.no_replace => return Err(FsError::AlreadyExists(dst.to_string())),
                Ok(d) if d.nlink <= 1 => self.file_blocks(d),
                _ => Vec::new(),
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

impl FsMaster {
    /// Swaps the existing entries `a` and `b` (RENAME_EXCHANGE). The
    /// namespace swap is one journal entry; the UFS objects (those at their
    /// inode's primary entry) are swapped before it through a temporary
    /// name, which is not atomic in the UFS.
    async fn exchange(
        &self,
        a: &AlluxioPath,
        b: &AlluxioPath,
        op_id: Option<alluxio_proto::OperationId>,
    ) -> FsResult<()> {
        if a.is_root() || b.is_root() || a.starts_with(b) || b.starts_with(a) {
            return Err(FsError::InvalidArgument(format!(
                "cannot exchange {a} and {b}: one contains the other"
            )));
        }
        self.load_path(a).await?;
        self.load_path(b).await?;
        let (ids, a_ufs, b_ufs, a_loc, b_loc) = {
            let ns = self.read();
            let (ia, ib) = (ns.resolve(a)?, ns.resolve(b)?);
            if ia.id == ib.id {
                return Ok(());
            }
            let mounts = ns.mounts();
            for p in [a, b] {
                if mounts.get(p).is_some() || mounts.has_mount_below(p) {
                    return Err(FsError::FailedPrecondition(format!(
                        "{p} is or contains a mount point"
                    )));
                }
            }
            if mounts.resolve(a)?.alluxio_path != mounts.resolve(b)?.alluxio_path {
                return Err(FsError::NotSupported(format!(
                    "exchange across mount points ({a} <-> {b})"
                )));
            }
            // Which side has a UFS object at its path.
            let a_ufs = ia.persisted && ns.path_of(ia.id)? == *a;
            let b_ufs = ib.persisted && ns.path_of(ib.id)? == *b;
            (
                (ia.id, ib.id),
                a_ufs,
                b_ufs,
                mounts.ufs_location(a)?,
                mounts.ufs_location(b)?,
            )
        };
        let ufs = self.ufs_to_change(&a_loc).await?;
        match (a_ufs, b_ufs) {
            (true, true) => {
                let tmp = match a_loc.path.rsplit_once('/') {
                    Some((dir, _)) => format!("{dir}/.{}.alluxio-xchg{TEMP_SUFFIX}", ids.0),
                    None => format!(".{}.alluxio-xchg{TEMP_SUFFIX}", ids.0),
                };
                ufs.rename(&a_loc.path, &tmp).await?;
                ufs.rename(&b_loc.path, &a_loc.path).await?;
                ufs.rename(&tmp, &b_loc.path).await?;
            }
            (true, false) => ufs.rename(&a_loc.path, &b_loc.path).await?,
            (false, true) => ufs.rename(&b_loc.path, &a_loc.path).await?,
            (false, false) => {}
        }
        let done = {
            let mut ns = self.write();
            let (ia, ib) = (ns.resolve(a)?, ns.resolve(b)?);
            if (ia.id, ib.id) != ids {
                return Err(FsError::FailedPrecondition(format!(
                    "{a} or {b} changed while exchanging"
                )));
            }
            let pa = ns
                .resolve(&a.parent().unwrap_or_else(AlluxioPath::root))?
                .id;
            let pb = ns
                .resolve(&b.parent().unwrap_or_else(AlluxioPath::root))?
                .id;
            let entry = JournalEntry {
                op_id: None,
                op_result: 0,
                entry: Some(Entry::Exchange(ExchangeEntries {
                    a_parent_id: pa,
                    a_name: a.name().to_string(),
                    b_parent_id: pb,
                    b_name: b.name().to_string(),
                    time_ns: time::now_ns(),
                })),
            };
            self.commit(&mut ns, vec![entry], op_id, 0)
        };
        done.await
    }
}
