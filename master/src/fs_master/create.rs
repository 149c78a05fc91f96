//! createDirectory, createFile and completeFile.

use alluxio_common::{time, AlluxioPath, FsError, FsResult};
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{self as j, ufs_intent, InodeRecord, JournalEntry, MkdirIntent};
use alluxio_proto::{
    CompleteFileRequest, CreateDirectoryRequest, CreateFileRequest, FileInfo, FileType, WriteType,
};

use super::info::temp_ufs_name;
use super::intents::{create_dir_step, Completion};
use super::operations::Begin;
use super::{parse_path, FsMaster};
use crate::namespace::inode::{new_directory, InodeExt};
use crate::namespace::tree::Lookup;
use crate::namespace::Namespace;

/// Who creates an inode and with which mode.
struct Creator<'a> {
    owner: &'a str,
    group: &'a str,
    mode: u32,
}

impl FsMaster {
    /// Creates directory `req.path` (and its parents if `recursive`).
    pub async fn create_directory(&self, req: CreateDirectoryRequest) -> FsResult<FileInfo> {
        let path = parse_path(&req.path)?;
        let _op = match self.begin(&req.op_id).await? {
            Begin::Replayed(id) => {
                return self.info_of(id, &path);
            }
            Begin::Fresh(guard) => guard,
        };
        let _paths = self.paths.lock(vec![path.clone()]).await;
        self.load_path(&path).await?;
        {
            let ns = self.read();
            match ns.lookup(&path)? {
                Lookup::Found(id) => {
                    let inode = ns
                        .inode(id)
                        .ok_or_else(|| FsError::Internal("dangling".into()))?;
                    if inode.is_dir() && req.allow_exists {
                        let info = self.info(&ns, inode, &path)?;
                        drop(ns);
                        return Ok(info);
                    }
                    return Err(FsError::AlreadyExists(path.to_string()));
                }
                Lookup::Missing { parent, depth } => {
                    self.check_parent(&ns, parent, &path, depth, req.recursive)?;
                }
            }
        }
        // Directories always exist in the UFS too, so files of any write type
        // can be persisted under them later.
        let intent = MkdirIntent {
            path: path.to_string(),
            recursive: req.recursive,
            mode: mode_or(req.mode, req.mode_given, 0o755),
            owner: req.owner.clone(),
            group: req.group.clone(),
        };
        alluxio_common::failpoint::delay("create_directory_before_commit").await;
        let seq = self
            .change_ufs(
                req.op_id,
                vec![create_dir_step(&path)],
                ufs_intent::Op::Mkdir(intent.clone()),
            )
            .await?;
        let (done, id) = {
            let mut ns = self.write();
            let (completion, id) = match self.mkdir_completion(&ns, &intent) {
                Ok((c, id)) => (Ok(c), id),
                Err(e) => (Err(e), 0),
            };
            (
                self.complete(&mut ns, seq, completion, req.op_id, id)?.0,
                id,
            )
        };
        done.await?;
        let ns = self.read();
        let inode = ns
            .inode(id)
            .ok_or_else(|| FsError::NotFound(path.to_string()))?;
        self.info(&ns, inode, &path)
    }

    /// The entries creating directory `m` once it exists in the UFS, and
    /// its inode id. A directory already there is this one (loaded from the
    /// UFS by a listing meanwhile, or committed before a cut-short end).
    pub(super) fn mkdir_completion(
        &self,
        ns: &Namespace,
        m: &MkdirIntent,
    ) -> FsResult<(Completion, u64)> {
        let path = parse_path(&m.path)?;
        let (parent, depth) = match ns.lookup(&path)? {
            Lookup::Found(id) if ns.is_dir(id) => return Ok((None, id)),
            Lookup::Found(_) => return Err(FsError::AlreadyExists(path.to_string())),
            Lookup::Missing { parent, depth } => (parent, depth),
        };
        self.check_parent(ns, parent, &path, depth, m.recursive)?;
        let creator = Creator {
            owner: &m.owner,
            group: &m.group,
            mode: m.mode,
        };
        let (entries, id) = self.dir_entries(ns, parent, &path, depth, &creator);
        Ok((Some((entries, Vec::new())), id))
    }

    /// Creates an incomplete file; the writer then streams blocks to workers
    /// and/or bytes to `ufs_temp_path`, and calls completeFile.
    pub async fn create_file(&self, req: CreateFileRequest) -> FsResult<FileInfo> {
        let path = parse_path(&req.path)?;
        if path.is_root() {
            return Err(FsError::AlreadyExists("/".into()));
        }
        let write_type = WriteType::try_from(req.write_type).unwrap_or(WriteType::CacheThrough);
        let _op = match self.begin(&req.op_id).await? {
            Begin::Replayed(id) => {
                let mut info = self.info_of(id, &path)?;
                if write_type != WriteType::MustCache && !info.completed {
                    let ns = self.read();
                    let primary = ns.path_of(id)?;
                    info.ufs_temp_path = self.staging_path(&ns, &primary, info.container_id)?;
                }
                return Ok(info);
            }
            Begin::Fresh(guard) => guard,
        };
        let _paths = self.paths.lock(vec![path.clone()]).await;
        self.load_path(&path).await?;
        let block_size = if req.block_size == 0 {
            self.opts.default_block_size
        } else {
            req.block_size
        };
        if block_size < 1024 {
            return Err(FsError::InvalidArgument(format!(
                "block size {block_size} is too small (minimum 1KB)"
            )));
        }
        // An overwrite replaces an existing regular file.
        let (missing_from, replaced) = {
            let ns = self.read();
            match ns.lookup(&path)? {
                Lookup::Found(id) => {
                    let inode = ns
                        .inode(id)
                        .ok_or_else(|| FsError::Internal("dangling".into()))?;
                    if !req.overwrite {
                        return Err(FsError::AlreadyExists(path.to_string()));
                    }
                    if inode.is_dir() {
                        return Err(FsError::IsDirectory(path.to_string()));
                    }
                    (path.components().len(), Some(id))
                }
                Lookup::Missing { parent, depth } => {
                    self.check_parent(&ns, parent, &path, depth, req.recursive)?;
                    (depth, None)
                }
            }
        };
        if let Some(id) = replaced.filter(|_| req.keep_inode) {
            if self.read().inode(id).is_some_and(|i| i.is_file()) {
                return self
                    .new_version(&path, id, block_size, write_type, req.op_id)
                    .await;
            }
        }
        if let Some(parent) = path.parent() {
            if missing_from < path.components().len() - 1 {
                self.mkdirs_in_ufs(&parent).await?;
            }
        }
        if replaced.is_some() && req.empty {
            return Err(FsError::InvalidArgument(format!(
                "{path}: an empty create cannot overwrite"
            )));
        }
        // The replaced file's UFS object stays until the new file's bytes
        // replace it at completion, so no UFS change precedes this create's
        // entry: a crash in between leaves the old file whole, not a name
        // without bytes. A MUST_CACHE file has no UFS copy of its own: the
        // old object goes once the create is durable.
        let stale_object = match replaced {
            Some(_) if write_type == WriteType::MustCache => {
                Some(self.read().mounts().ufs_location(&path)?)
            }
            _ => None,
        };
        alluxio_common::failpoint::hit("create_file_before_commit");
        // An empty file's UFS object is written once the create is durable,
        // in the background (`empty_objects.rs`); reserved before the commit.
        let empty_ufs = if req.empty && write_type != WriteType::MustCache {
            let loc = self.read().mounts().ufs_location(&path)?;
            let ufs = self.ufs_fenced(&loc)?;
            Some(self.empty_objects.reserve(ufs, loc.path).await)
        } else {
            None
        };
        let mode = mode_or(req.mode, req.mode_given, 0o644);
        let creator = Creator {
            owner: &req.owner,
            group: &req.group,
            mode: 0o755,
        };
        let (done, id, freed) = {
            let mut ns = self.write();
            let mut entries = Vec::new();
            let mut freed = Vec::new();
            let (parent, depth) = match ns.lookup(&path)? {
                Lookup::Found(id) if Some(id) == replaced => {
                    let inode = ns
                        .inode(id)
                        .ok_or_else(|| FsError::Internal("dangling".into()))?;
                    if inode.nlink <= 1 {
                        freed = self.file_blocks(inode);
                    }
                    let parent_path = path.parent().unwrap_or_else(AlluxioPath::root);
                    let parent = ns.resolve(&parent_path)?.id;
                    entries.push(remove_entry(parent, path.name()));
                    (parent, path.components().len() - 1)
                }
                Lookup::Found(_) => return Err(FsError::AlreadyExists(path.to_string())),
                Lookup::Missing { parent, depth } => (parent, depth),
            };
            self.check_parent(&ns, parent, &path, depth, req.recursive)?;
            let parent_path = path.parent().unwrap_or_else(AlluxioPath::root);
            let (mut dirs, dir_id) = if depth < path.components().len() - 1 {
                self.dir_entries(&ns, parent, &parent_path, depth, &creator)
            } else {
                (Vec::new(), parent)
            };
            entries.append(&mut dirs);
            let id = ns.next_inode_id + entries.iter().filter(|e| is_create(e)).count() as u64;
            let now = time::now_ns();
            // A file in a setgid directory takes the directory's group (new
            // parents made above inherited it already).
            let group = setgid_group(&ns, parent).unwrap_or_else(|| self.group(&req.group));
            let inode = InodeRecord {
                id,
                parent_id: dir_id,
                name: path.name().to_string(),
                file_type: FileType::Regular as i32,
                mode,
                owner: self.owner(&req.owner),
                group,
                nlink: 1,
                atime_ns: now,
                mtime_ns: now,
                ctime_ns: now,
                crtime_ns: now,
                block_size,
                container_id: ns.next_container_id,
                completed: req.empty,
                persisted: empty_ufs.is_some(),
                ..Default::default()
            };
            entries.push(create_entry(inode));
            (self.commit(&mut ns, entries, req.op_id, id), id, freed)
        };
        done.await?;
        if let Some(pending) = empty_ufs {
            pending.write();
        }
        if let Some(loc) = stale_object {
            let deleted = match self.ufs_to_change(&loc).await {
                Ok(ufs) => ufs.delete_file(&loc.path).await,
                Err(e) => Err(e),
            };
            if let Err(e) = deleted {
                tracing::warn!(
                    "{path}: the replaced file's UFS object {} stays: {e}",
                    loc.path
                );
            }
        }
        self.blocks.free_blocks(&freed);
        let ns = self.read();
        let inode = ns
            .inode(id)
            .ok_or_else(|| FsError::NotFound(path.to_string()))?;
        let mut info = self.info(&ns, inode, &path)?;
        alluxio_common::failpoint::hit("create_file_after_publish");
        if write_type != WriteType::MustCache && !req.empty {
            info.ufs_temp_path = self.staging_path(&ns, &path, inode.container_id)?;
        }
        Ok(info)
    }

    /// Starts a new version of regular file `id` at `path` in place: the
    /// inode keeps its id, directory entries, mode and owner, and gets a
    /// fresh empty container. The cached blocks of the old version are freed
    /// at once; the old UFS object stays until completeFile renames the new
    /// bytes over it (a MUST_CACHE version has no UFS copy, so the old
    /// object is deleted first). A reader that opened the old version keeps
    /// its old block ids: it falls back to the UFS object, which holds the
    /// old bytes until the new version completes.
    async fn new_version(
        &self,
        path: &AlluxioPath,
        id: u64,
        block_size: u64,
        write_type: WriteType,
        op_id: Option<alluxio_proto::OperationId>,
    ) -> FsResult<FileInfo> {
        // The UFS object of a hard-linked file is at its primary entry.
        let primary = self.read().path_of(id)?;
        if write_type == WriteType::MustCache {
            let loc = self.read().mounts().ufs_location(&primary)?;
            self.ufs_to_change(&loc)
                .await?
                .delete_file(&loc.path)
                .await?;
        }
        let (done, freed) = {
            let mut ns = self.write();
            let inode = ns.resolve(path)?;
            if inode.id != id || !inode.is_file() {
                return Err(FsError::FailedPrecondition(format!(
                    "{path} changed while starting a new version"
                )));
            }
            let freed = self.file_blocks(inode);
            let entry = JournalEntry {
                op_id: None,
                op_result: 0,
                entry: Some(Entry::NewVersion(j::NewVersion {
                    id,
                    container_id: ns.next_container_id,
                    block_size,
                    mtime_ns: time::now_ns(),
                })),
            };
            (self.commit(&mut ns, vec![entry], op_id, id), freed)
        };
        done.await?;
        self.blocks.free_blocks(&freed);
        let ns = self.read();
        let inode = ns
            .inode(id)
            .ok_or_else(|| FsError::NotFound(path.to_string()))?;
        let mut info = self.info(&ns, inode, path)?;
        if write_type != WriteType::MustCache {
            info.ufs_temp_path = self.staging_path(&ns, &primary, inode.container_id)?;
        }
        Ok(info)
    }

    /// Marks a file complete with its final length, moving its staged UFS
    /// bytes into place first, and sets the attributes the writer set
    /// while it wrote in the same entry (decision 0014). Completing a
    /// completed file with the same length succeeds (a retried call).
    pub async fn complete_file(&self, req: CompleteFileRequest) -> FsResult<FileInfo> {
        let path = parse_path(&req.path)?;
        let _op = match self.begin(&req.op_id).await? {
            Begin::Replayed(id) => {
                return self.info_of(id, &path);
            }
            Begin::Fresh(guard) => guard,
        };
        let _paths = self.paths.lock(vec![path.clone()]).await;
        let (loc, staging, file_id) = {
            let ns = self.read();
            let inode = ns.resolve(&path)?;
            if !inode.is_file() {
                return Err(FsError::IsDirectory(path.to_string()));
            }
            if req.file_id != 0 && inode.id != req.file_id {
                return Err(FsError::NotFound(format!(
                    "{path} (file {} was replaced or removed)",
                    req.file_id
                )));
            }
            if req.container_id != 0 && inode.container_id != req.container_id {
                return Err(FsError::NotFound(format!(
                    "{path} (its version in container {} was superseded)",
                    req.container_id
                )));
            }
            let max = alluxio_common::block_id::max_length(inode.block_size);
            if req.length > max {
                return Err(FsError::InvalidArgument(format!(
                    "{path}: {} bytes in blocks of {} bytes exceed the {max} bytes a file \
                     can hold (at most {} blocks)",
                    req.length,
                    inode.block_size,
                    alluxio_common::block_id::MAX_BLOCKS_PER_FILE
                )));
            }
            if inode.completed {
                if inode.length == req.length {
                    return self.info(&ns, inode, &path);
                }
                return Err(FsError::FailedPrecondition(format!(
                    "{path} is already complete"
                )));
            }
            // The UFS object of a hard-linked file is at its primary entry.
            let primary = ns.path_of(inode.id)?;
            let staging = self.staging_path(&ns, &primary, inode.container_id)?;
            (ns.mounts().ufs_location(&primary)?, staging, inode.id)
        };
        let ufs = self.ufs_to_change(&loc).await?;
        if staging != loc.path {
            if let Some(st) = ufs.stat(&staging).await? {
                if st.length != req.length {
                    return Err(FsError::FailedPrecondition(format!(
                        "{path}: UFS copy has {} bytes but the writer reports {}",
                        st.length, req.length
                    )));
                }
                ufs.rename(&staging, &loc.path).await?;
            }
        }
        alluxio_common::failpoint::delay("ufs_step_before_commit").await;
        let persisted = match ufs.stat(&loc.path).await? {
            Some(st) if !st.is_dir && st.length == req.length => true,
            Some(st) if !st.is_dir => {
                return Err(FsError::FailedPrecondition(format!(
                    "{path}: UFS file has {} bytes but the writer reports {}",
                    st.length, req.length
                )))
            }
            _ => false,
        };
        let done = {
            let mut ns = self.write();
            let inode = ns.resolve(&path)?;
            if inode.id != file_id
                || inode.completed
                || (req.container_id != 0 && inode.container_id != req.container_id)
            {
                return Err(FsError::FailedPrecondition(format!(
                    "{path} changed while completing"
                )));
            }
            let now = time::now_ns();
            let attributes = req.mode.is_some()
                || req.owner.is_some()
                || req.group.is_some()
                || req.mtime_ns.is_some()
                || req.atime_ns.is_some();
            let entry = if attributes {
                Entry::CommitVersion(j::CommitVersion {
                    id: inode.id,
                    container_id: inode.container_id,
                    block_size: inode.block_size,
                    length: req.length,
                    persisted,
                    mtime_ns: req.mtime_ns.unwrap_or(now),
                    ctime_ns: now,
                    mode: req.mode.map(|m| m & 0o7777),
                    owner: req.owner.clone(),
                    group: req.group.clone(),
                    atime_ns: req.atime_ns,
                })
            } else {
                Entry::CompleteFile(j::CompleteFile {
                    id: inode.id,
                    length: req.length,
                    mtime_ns: now,
                    persisted,
                })
            };
            let entry = JournalEntry {
                op_id: None,
                op_result: 0,
                entry: Some(entry),
            };
            self.commit(&mut ns, vec![entry], req.op_id, file_id)
        };
        done.await?;
        let ns = self.read();
        let inode = ns.resolve(&path)?;
        self.info(&ns, inode, &path)
    }

    /// Checks that components before `depth` exist as directories and that
    /// missing parents may be created.
    fn check_parent(
        &self,
        ns: &Namespace,
        parent: u64,
        path: &AlluxioPath,
        depth: usize,
        recursive: bool,
    ) -> FsResult<()> {
        let parent_inode = ns
            .inode(parent)
            .ok_or_else(|| FsError::Internal("dangling".into()))?;
        if !parent_inode.is_dir() {
            return Err(FsError::NotDirectory(ns.path_of(parent)?.to_string()));
        }
        if depth + 1 < path.components().len() && !recursive {
            let p = AlluxioPath::parse(&format!("/{}", path.components()[..=depth].join("/")))?;
            return Err(FsError::NotFound(format!("{p} (parent of {path})")));
        }
        Ok(())
    }

    /// CreateInode entries for the directories of `path` from `depth` on;
    /// returns them and the id of the deepest.
    fn dir_entries(
        &self,
        ns: &Namespace,
        parent: u64,
        path: &AlluxioPath,
        depth: usize,
        creator: &Creator<'_>,
    ) -> (Vec<JournalEntry>, u64) {
        let now = time::now_ns();
        let mut entries = Vec::new();
        let mut parent_id = parent;
        let (mut group, mut mode) = (self.group(creator.group), creator.mode);
        if let Some(g) = setgid_group(ns, parent) {
            // Below a setgid directory: its group, and the bit, inherited.
            group = g;
            mode |= SETGID;
        }
        for (id, name) in (ns.next_inode_id..).zip(&path.components()[depth..]) {
            let mut inode = new_directory(
                id,
                parent_id,
                name,
                mode,
                &self.owner(creator.owner),
                &group,
                now,
            );
            // A new directory has nothing in the UFS to merge.
            inode.ufs_loaded = true;
            entries.push(create_entry(inode));
            parent_id = id;
        }
        (entries, parent_id)
    }

    /// Creates the UFS directories of `path` (a new file's missing
    /// parents). A crash before the file's entry leaves them in the UFS
    /// only, where the retried create (or any listing) finds them.
    async fn mkdirs_in_ufs(&self, path: &AlluxioPath) -> FsResult<()> {
        let loc = self.read().mounts().ufs_location(path)?;
        // No empty file's object can be pending at or below a directory
        // that does not exist yet: this need not wait for them.
        self.ufs_fenced(&loc)?.create_dir(&loc.path).await
    }

    /// Where the writer of `path` stages its UFS bytes.
    pub(super) fn staging_path(
        &self,
        ns: &Namespace,
        path: &AlluxioPath,
        container: u64,
    ) -> FsResult<String> {
        let loc = ns.mounts().ufs_location(path)?;
        let ufs = self.ufs_for(&loc)?;
        if !ufs.supports_rename() {
            // Object stores publish atomically on close: write in place.
            return Ok(loc.path);
        }
        let temp = temp_ufs_name(container);
        Ok(match loc.path.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/{temp}"),
            None => temp,
        })
    }

    pub(super) fn owner(&self, requested: &str) -> String {
        if requested.is_empty() {
            self.opts.default_owner.clone()
        } else {
            requested.to_string()
        }
    }

    pub(super) fn group(&self, requested: &str) -> String {
        if requested.is_empty() {
            self.opts.default_group.clone()
        } else {
            requested.to_string()
        }
    }

    /// Block ids of a file, for freeing its cached copies. Those of a
    /// version still being written are whatever workers hold of its
    /// container: its length is not known yet (counting from it freed
    /// nothing, and a deleted cache-only file pinned its tier forever).
    pub(super) fn file_blocks(&self, inode: &crate::namespace::Inode) -> Vec<u64> {
        if !inode.is_file() || inode.block_size == 0 {
            return Vec::new();
        }
        if !inode.completed {
            return self.blocks.container_blocks(inode.container_id);
        }
        let n = alluxio_common::block_id::block_count(inode.length, inode.block_size);
        (0..n)
            .map(|i| alluxio_common::block_id::block_id(inode.container_id, i))
            .collect()
    }
}

/// The set-group-ID bit of a mode.
pub(super) const SETGID: u32 = 0o2000;

/// The group a new inode in directory `parent` must take if `parent` has
/// the setgid bit (POSIX/BSD semantics), else None.
pub(super) fn setgid_group(ns: &Namespace, parent: u64) -> Option<String> {
    ns.inode(parent)
        .filter(|d| d.is_dir() && d.mode & SETGID != 0)
        .map(|d| d.group.clone())
}

/// The permission bits a create asked for: `mode` exactly if `given`,
/// else `mode` unless it is 0, which means `default`.
pub(super) fn mode_or(mode: u32, given: bool, default: u32) -> u32 {
    if mode == 0 && !given {
        default
    } else {
        mode & 0o7777
    }
}

fn is_create(e: &JournalEntry) -> bool {
    matches!(e.entry, Some(Entry::CreateInode(_)))
}

pub(super) fn create_entry(inode: InodeRecord) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(Entry::CreateInode(j::CreateInode { inode: Some(inode) })),
    }
}

pub(super) fn remove_entry(parent_id: u64, name: &str) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(Entry::RemoveEntry(j::RemoveEntry {
            parent_id,
            name: name.to_string(),
            time_ns: time::now_ns(),
        })),
    }
}
