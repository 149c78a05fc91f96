//! rename: atomic, replacing an existing file or empty directory; and
//! RENAME_EXCHANGE. The UFS moves are journaled as an intent first
//! (`intents.rs`).

use alluxio_common::{time, AlluxioPath, FsError, FsResult};
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{
    ufs_intent, ufs_step, ExchangeEntries, ExchangeIntent, JournalEntry, RenameEntry, RenameIntent,
    UfsMove, UfsStep,
};
use alluxio_proto::RenameRequest;

use super::info::TEMP_SUFFIX;
use super::intents::{delete_step, move_step, Completion};
use super::operations::Begin;
use super::{parse_path, FsMaster};
use crate::namespace::inode::InodeExt;
use crate::namespace::Namespace;

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
        let (src_id, src_persisted, src_empty, dst_existing) = {
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
                    Some((d.persisted && d.nlink <= 1, d.is_dir()))
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
            (s.id, src_persisted, s.is_file() && s.length == 0, existing)
        };
        let mut steps = Vec::new();
        if let Some(dst_id) = relocate {
            let ns = self.read();
            let parent = ns.resolve(&dst_parent)?.id;
            steps.extend(self.relocation(&ns, dst_id, parent, dst.name())?);
        }
        if src_persisted {
            steps.push(UfsStep {
                step: Some(ufs_step::Step::Move(UfsMove {
                    from: src.to_string(),
                    to: dst.to_string(),
                    replace_dir: matches!(dst_existing, Some((true, _))),
                    empty_file: src_empty,
                })),
            });
        } else if let Some((true, is_dir)) = dst_existing {
            steps.push(delete_step(&dst, is_dir));
        }
        let intent = RenameIntent {
            src: src.to_string(),
            dst: dst.to_string(),
            src_id,
            no_replace: req.no_replace,
        };
        let seq = self
            .change_ufs(req.op_id, steps, ufs_intent::Op::Rename(intent.clone()))
            .await?;
        let (done, freed) = {
            let mut ns = self.write();
            let completion = rename_completion(self, &ns, &intent);
            self.complete(&mut ns, seq, completion, req.op_id, 0)?
        };
        done.await?;
        self.blocks.free_blocks(&freed);
        Ok(())
    }
}

/// The entries of rename `r` once its UFS moves are made.
pub(super) fn rename_completion(
    fs: &FsMaster,
    ns: &Namespace,
    r: &RenameIntent,
) -> FsResult<Completion> {
    let src = parse_path(&r.src)?;
    let dst = parse_path(&r.dst)?;
    let s = match ns.resolve(&src) {
        Ok(s) if s.id == r.src_id => s,
        _ if ns.resolve(&dst).is_ok_and(|d| d.id == r.src_id) => return Ok(None),
        _ => {
            return Err(FsError::NotFound(format!(
                "{src} (replaced while renaming)"
            )))
        }
    };
    let dst_parent_id = ns
        .resolve(&dst.parent().unwrap_or_else(AlluxioPath::root))?
        .id;
    let freed = match ns.resolve(&dst) {
        Ok(_) if r.no_replace => return Err(FsError::AlreadyExists(dst.to_string())),
        Ok(d) if d.nlink <= 1 => fs.file_blocks(d),
        _ => Vec::new(),
    };
    let entry = JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(Entry::Rename(RenameEntry {
            src_parent_id: s.parent_id,
            src_name: src.name().to_string(),
            dst_parent_id,
            dst_name: dst.name().to_string(),
            time_ns: time::now_ns(),
        })),
    };
    Ok(Some((vec![entry], freed)))
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
        let (ids, a_ufs, b_ufs) = {
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
            ((ia.id, ib.id), a_ufs, b_ufs)
        };
        let steps = match (a_ufs, b_ufs) {
            (true, true) => {
                let parent = a.parent().unwrap_or_else(AlluxioPath::root);
                let tmp = parent.join(&format!(".{}.alluxio-xchg{TEMP_SUFFIX}", ids.0))?;
                vec![move_step(a, &tmp), move_step(b, a), move_step(&tmp, b)]
            }
            (true, false) => vec![move_step(a, b)],
            (false, true) => vec![move_step(b, a)],
            (false, false) => Vec::new(),
        };
        let intent = ExchangeIntent {
            a: a.to_string(),
            b: b.to_string(),
            a_id: ids.0,
            b_id: ids.1,
        };
        let seq = self
            .change_ufs(op_id, steps, ufs_intent::Op::Exchange(intent.clone()))
            .await?;
        let (done, _) = {
            let mut ns = self.write();
            let completion = exchange_completion(&ns, &intent);
            self.complete(&mut ns, seq, completion, op_id, 0)?
        };
        done.await
    }
}

/// The entry of exchange `x` once its UFS moves are made.
pub(super) fn exchange_completion(ns: &Namespace, x: &ExchangeIntent) -> FsResult<Completion> {
    let (a, b) = (parse_path(&x.a)?, parse_path(&x.b)?);
    match (ns.resolve(&a)?.id, ns.resolve(&b)?.id) {
        (ia, ib) if (ia, ib) == (x.a_id, x.b_id) => {}
        (ia, ib) if (ia, ib) == (x.b_id, x.a_id) => return Ok(None),
        _ => {
            return Err(FsError::FailedPrecondition(format!(
                "{a} or {b} changed while exchanging"
            )))
        }
    }
    let parent = |p: &AlluxioPath| -> FsResult<u64> {
        Ok(ns
            .resolve(&p.parent().unwrap_or_else(AlluxioPath::root))?
            .id)
    };
    let entry = JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(Entry::Exchange(ExchangeEntries {
            a_parent_id: parent(&a)?,
            a_name: a.name().to_string(),
            b_parent_id: parent(&b)?,
            b_name: b.name().to_string(),
            time_ns: time::now_ns(),
        })),
    };
    Ok(Some((vec![entry], Vec::new())))
}
