//! createNode: symlinks, FIFOs, sockets and device files. They are
//! metadata-only inodes: the UFS has no place for them, so they live in
//! Alluxio's namespace (and its journal) alone, are never persisted, and a
//! UFS listing never brings them back after they are deleted.

use alluxio_common::{time, FsError, FsResult};
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{AddLink, InodeRecord, JournalEntry, UfsStep};
use alluxio_proto::{CreateNodeRequest, FileInfo, FileType, LinkRequest};

use super::create::{create_entry, setgid_group};
use super::intents::move_step;
use super::operations::Begin;
use super::{parse_path, FsMaster};
use crate::namespace::inode::InodeExt;
use crate::namespace::tree::Lookup;
use crate::namespace::Namespace;

/// Longest symlink target accepted (Linux PATH_MAX).
const MAX_TARGET: usize = 4096;

impl FsMaster {
    /// Creates the metadata-only inode `req.path`; its parent must exist.
    pub async fn create_node(&self, req: CreateNodeRequest) -> FsResult<FileInfo> {
        let path = parse_path(&req.path)?;
        let _op = match self.begin(&req.op_id).await? {
            Begin::Replayed(id) => {
                return self.info_of(id, &path);
            }
            Begin::Fresh(guard) => guard,
        };
        let _paths = self.paths.lock(vec![path.clone()]).await;
        if path.is_root() {
            return Err(FsError::AlreadyExists("/".into()));
        }
        let file_type = FileType::try_from(req.file_type).map_err(|_| {
            FsError::InvalidArgument(format!("unknown file type {}", req.file_type))
        })?;
        let (symlink_target, length, rdev, default_mode) = match file_type {
            FileType::Symlink => {
                if req.symlink_target.is_empty() || req.symlink_target.len() > MAX_TARGET {
                    return Err(FsError::InvalidArgument(format!(
                        "symlink target of {} bytes (1 to {MAX_TARGET} accepted)",
                        req.symlink_target.len()
                    )));
                }
                let t = req.symlink_target.clone();
                let len = t.len() as u64;
                (t, len, 0, 0o777)
            }
            FileType::Fifo | FileType::Socket => (String::new(), 0, 0, 0o644),
            FileType::CharDevice | FileType::BlockDevice => (String::new(), 0, req.rdev, 0o644),
            _ => {
                return Err(FsError::InvalidArgument(format!(
                    "createNode makes symlinks, FIFOs, sockets and devices, not {}",
                    file_type.as_str_name()
                )))
            }
        };
        self.load_path(&path).await?;
        let (done, id) = {
            let mut ns = self.write();
            let parent = match ns.lookup(&path)? {
                Lookup::Found(_) => return Err(FsError::AlreadyExists(path.to_string())),
                Lookup::Missing { parent, depth } if depth + 1 == path.components().len() => parent,
                Lookup::Missing { .. } => {
                    return Err(FsError::NotFound(format!("parent of {path}")))
                }
            };
            let dir = ns
                .inode(parent)
                .ok_or_else(|| FsError::Internal("dangling".into()))?;
            if !dir.is_dir() {
                return Err(FsError::NotDirectory(ns.path_of(parent)?.to_string()));
            }
            let id = ns.next_inode_id;
            let now = time::now_ns();
            let mode = super::create::mode_or(req.mode, req.mode_given, default_mode);
            let inode = InodeRecord {
                id,
                parent_id: parent,
                name: path.name().to_string(),
                file_type: file_type as i32,
                mode,
                owner: self.owner(&req.owner),
                group: setgid_group(&ns, parent).unwrap_or_else(|| self.group(&req.group)),
                nlink: 1,
                atime_ns: now,
                mtime_ns: now,
                ctime_ns: now,
                crtime_ns: now,
                length,
                completed: true,
                symlink_target,
                rdev,
                ..Default::default()
            };
            let entries = vec![create_entry(inode)];
            (self.commit(&mut ns, entries, req.op_id, id), id)
        };
        done.await?;
        self.info_of(id, &path)
    }
}

impl FsMaster {
    /// Adds hard link `req.dst` to the non-directory `req.src`. The UFS has
    /// no hard links: the file's UFS object stays at its primary entry's
    /// path (the inode's own parent/name), which moves to a remaining link
    /// when that entry is unlinked or renamed over (see `relocate_primary`).
    pub async fn link(&self, req: LinkRequest) -> FsResult<FileInfo> {
        let src = parse_path(&req.src)?;
        let dst = parse_path(&req.dst)?;
        let _op = match self.begin(&req.op_id).await? {
            Begin::Replayed(id) => {
                return self.info_at(id, &dst);
            }
            Begin::Fresh(guard) => guard,
        };
        let _paths = self.paths.lock(vec![src.clone(), dst.clone()]).await;
        if dst.is_root() {
            return Err(FsError::AlreadyExists("/".into()));
        }
        self.load_path(&src).await?;
        self.load_path(&dst).await?;
        let (done, id) = {
            let mut ns = self.write();
            let s = ns.resolve(&src)?;
            if s.is_dir() {
                return Err(FsError::PermissionDenied(format!(
                    "{src} is a directory: directories cannot be hard-linked"
                )));
            }
            let id = s.id;
            let parent = match ns.lookup(&dst)? {
                Lookup::Found(_) => return Err(FsError::AlreadyExists(dst.to_string())),
                Lookup::Missing { parent, depth } if depth + 1 == dst.components().len() => parent,
                Lookup::Missing { .. } => {
                    return Err(FsError::NotFound(format!("parent of {dst}")))
                }
            };
            if !ns.is_dir(parent) {
                return Err(FsError::NotDirectory(ns.path_of(parent)?.to_string()));
            }
            let mounts = ns.mounts();
            if mounts.resolve(&src)?.alluxio_path != mounts.resolve(&dst)?.alluxio_path {
                return Err(FsError::NotSupported(format!(
                    "hard link across mount points ({src} -> {dst})"
                )));
            }
            let entry = JournalEntry {
                op_id: None,
                op_result: 0,
                entry: Some(Entry::AddLink(AddLink {
                    id,
                    parent_id: parent,
                    name: dst.name().to_string(),
                    time_ns: time::now_ns(),
                })),
            };
            (self.commit(&mut ns, vec![entry], req.op_id, id), id)
        };
        done.await?;
        self.info_at(id, &dst)
    }

    /// Before the entry `name` in directory `parent_id` of inode `id` goes
    /// away: if it is the primary entry of a persisted file that keeps other
    /// links, the move of the UFS object to the path of the entry that
    /// becomes primary (the same choice `apply` makes).
    pub(super) fn relocation(
        &self,
        ns: &Namespace,
        id: u64,
        parent_id: u64,
        name: &str,
    ) -> FsResult<Option<UfsStep>> {
        let Some(inode) = ns.inode(id) else {
            return Ok(None);
        };
        if inode.nlink <= 1
            || !inode.persisted
            || inode.parent_id != parent_id
            || inode.name != name
        {
            return Ok(None);
        }
        let Some((p, n)) = ns
            .links_of(id)
            .into_iter()
            .find(|(p, n)| *p != parent_id || n != name)
        else {
            return Ok(None);
        };
        let to = ns.path_of(p)?.join(&n)?;
        Ok(Some(move_step(&ns.path_of(id)?, &to)))
    }
}

impl FsMaster {
    /// The reply for inode `id` named by `path` (one of its links).
    fn info_at(&self, id: u64, path: &alluxio_common::AlluxioPath) -> FsResult<FileInfo> {
        let ns = self.read();
        let inode = ns
            .inode(id)
            .ok_or_else(|| FsError::NotFound(path.to_string()))?;
        self.info(&ns, inode, path)
    }
}
