//! File handles: open, create, read, write, flush, fsync and release.
//!
//! Opening for writing stages the file locally (empty with O_TRUNC, else a
//! copy of the current version); every handle of that inode, read-only ones
//! included, then reads and writes the staged copy, so each descriptor sees
//! every write at once (`handles.rs`). `flush` (each close(2)) and `fsync`
//! commit a dirty copy and return the commit's error to the caller;
//! `release` commits only what no flush committed; as the kernel ignores
//! its answer, a failure there is tried again in the background
//! (`commit_retry.rs`) rather than leaving the file without a complete
//! version.

use std::ffi::OsStr;
use std::sync::Arc;

use alluxio_client::{CreateFileOptions, FileInfo, FileType as AlluxioType, FsError};
use fuser::{
    Errno, FileHandle, FopenFlags, INodeNo, OpenAccMode, OpenFlags, ReplyCreate, ReplyData,
    ReplyEmpty, ReplyOpen, ReplyWrite,
};

use bytes::Bytes;

/// The kernel's flag on the open of a file it is about to execute
/// (`__FMODE_EXEC` in `include/linux/fs.h`), passed along in FUSE OPEN.
const FMODE_EXEC: i32 = 0x20;

use super::handles::{Handle, ReadStream, SharedStage};
use super::staging::{read_piece, Staged};
use super::Inner;
use crate::errno::{errno, io_errno};

impl Inner {
    /// Joins a writer to the staged copy of `ino` (creating it from the
    /// current version `info`); `truncate` empties it.
    async fn join_stage(
        &self,
        ino: u64,
        info: &FileInfo,
        truncate: bool,
    ) -> Result<SharedStage, Errno> {
        loop {
            let stage = self.stage_for(ino, info, truncate).await?;
            let mut s = stage.lock().await;
            if s.retired {
                continue;
            }
            self.handles.join_writer(ino);
            if let Err(e) = truncate_for_open(&mut s, truncate, info).await {
                self.handles.leave_writer(ino);
                self.finish_stage(ino, &stage, &mut s).await;
                return Err(e);
            }
            drop(s);
            return Ok(stage);
        }
    }

    /// The staged copy of `ino`, published from its version `info` (empty
    /// if `empty`) if it has none. The caller must join it or retire it.
    async fn stage_for(
        &self,
        ino: u64,
        info: &FileInfo,
        empty: bool,
    ) -> Result<SharedStage, Errno> {
        if let Some(s) = self.handles.stage_of(ino) {
            return Ok(s);
        }
        let staged = self
            .staging
            .stage(&self.fs, info, empty)
            .await
            .map_err(|e| errno(&e))?;
        let fresh = Arc::new(tokio::sync::Mutex::new(staged));
        Ok(self.handles.publish_stage(ino, fresh))
    }

    /// Commits `ino`'s staged copy `s` if dirty and takes it away from the
    /// inode if no handle needs it any more (the last writer closed, or the
    /// last handle of an orphaned file).
    /// A commit that fails for a passing reason leaves the copy published
    /// and is tried again in the background (`commit_retry.rs`).
    pub(super) async fn finish_stage(&self, ino: u64, stage: &SharedStage, s: &mut Staged) {
        if s.retired || s.retrying {
            return;
        }
        if s.dirty {
            if let Err(e) = self.commit_locked(ino, s).await {
                if super::commit_retry::worth_retrying(&e) && s.lost.is_none() {
                    let path = self.inodes.path(INodeNo(ino)).unwrap_or_default();
                    tracing::warn!(
                        "committing {path} at release failed: {e}; trying again in the \
                         background"
                    );
                    s.retrying = true;
                    tokio::spawn(super::commit_retry::retry(
                        self.me.clone(),
                        ino,
                        stage.clone(),
                        path,
                        e,
                    ));
                    return;
                }
                tracing::error!("committing inode {ino} at release failed (data lost): {e}");
            }
        }
        self.retire_unused(ino, stage, s);
    }

    /// Takes the copy `s` away from `ino` if no handle needs it any more.
    pub(super) fn retire_unused(&self, ino: u64, stage: &SharedStage, s: &mut Staged) {
        if self.handles.retire(ino, stage) {
            s.retired = true;
        }
    }

    /// Keeps the bytes of every file at `path` that has handles open here
    /// before its last name goes (unlink, or a rename over it): its staged
    /// copy, whole, becomes the file until the last handle closes, as a
    /// local file system keeps an open file's data after its last unlink.
    /// Returns the inodes kept; `kept_open_files` must see them once the
    /// namespace change is done.
    pub(super) async fn keep_open_files(&self, path: &str) -> Vec<u64> {
        let mut kept = Vec::new();
        // The open files are few; the inode table may hold every file of a
        // large tree, so it is not searched by path.
        for ino in self.handles.open_files() {
            if !self.inodes.paths(INodeNo(ino)).iter().any(|p| p == path) {
                continue;
            }
            match self.orphan(ino, path).await {
                Ok(()) => kept.push(ino),
                Err(e) => tracing::warn!(
                    "{path} is open but its bytes could not be kept for its handles: {e}"
                ),
            }
        }
        kept
    }

    /// After the unlink or rename that `keep_open_files` prepared: an
    /// inode that still has a name here (the change failed, or it was one
    /// of several hard links) is an ordinary open file again, its copy
    /// dropped if no writer holds it.
    pub(super) async fn kept_open_files(&self, kept: Vec<u64>) {
        for ino in kept {
            if self.inodes.path(INodeNo(ino)).is_none() {
                continue;
            }
            self.handles.unorphan(ino);
            if let Some(stage) = self.handles.unused_stage(ino) {
                let mut s = stage.lock().await;
                self.finish_stage(ino, &stage, &mut s).await;
            }
        }
    }

    async fn orphan(&self, ino: u64, path: &str) -> Result<(), FsError> {
        loop {
            let stage = match self.handles.stage_of(ino) {
                Some(s) => s,
                None => {
                    let info = self.fs.get_status(path).await?;
                    if info.file_type != AlluxioType::Regular as i32 {
                        return Ok(());
                    }
                    self.stage_for(ino, &info, false)
                        .await
                        .map_err(|e| FsError::Internal(format!("staging {path}: {e:?}")))?
                }
            };
            let mut s = stage.lock().await;
            if s.retired {
                continue;
            }
            if s.sequence.missing().is_some() {
                self.settle(ino, &mut s).await?;
            }
            // No stream may start again: the name it would complete under
            // is about to go.
            s.sequence.broken().await;
            if !self.handles.orphan(ino, &stage) {
                s.retired = true;
            }
            return Ok(());
        }
    }

    pub(super) async fn open(&self, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let path = match self.path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let writable = flags.acc_mode() != OpenAccMode::O_RDONLY;
        let truncate = writable && flags.0 & libc::O_TRUNC != 0;
        let append = flags.0 & libc::O_APPEND != 0;
        // With atomic O_TRUNC the kernel sets the file's size to 0 as soon
        // as we accept a truncating open, and only then refuses write
        // access to a file being executed (ETXTBSY): a running program
        // mapped from this file would fault on its own pages (SIGBUS or
        // SIGSEGV). So a truncating open of an executing file is refused
        // here, before the kernel touches the size — as a local file
        // system's open would refuse it.
        if flags.0 & libc::O_TRUNC != 0 && self.handles.is_executing(ino.0) {
            return reply.error(Errno::ETXTBSY);
        }
        let told = self.attrs.get(ino.0);
        let t = self.attrs.ticket();
        let r = self.fs.get_status(&path).await;
        self.fetched(t, &r);
        let info = match r {
            Ok(i) => i,
            Err(e) => return reply.error(errno(&e)),
        };
        if info.file_type == AlluxioType::Directory as i32 {
            return reply.error(Errno::EISDIR);
        }
        // Close-to-open between mounts: the kernel may still hold attributes
        // of the version before (they expire with the daemon's, so only a
        // fresh cached entry can disagree).
        if told.is_some_and(|(old, _)| {
            (old.container_id, old.length, old.mtime_ns)
                != (info.container_id, info.length, info.mtime_ns)
        }) {
            self.kernel_attrs_stale(ino.0);
        }
        let keep = self.page_cache.open(ino.0, &info);
        let handle = if writable {
            match self.join_stage(ino.0, &info, truncate).await {
                Ok(stage) => Handle::Staged {
                    ino: ino.0,
                    stage,
                    append,
                },
                Err(e) => return reply.error(e),
            }
        } else {
            let generation = self.page_cache.generation(ino.0);
            // While a staged copy exists it is what every handle reads.
            let stream = if self.handles.stage_of(ino.0).is_some() {
                None
            } else {
                match self.fs.open_file(&path).await {
                    Ok(stream) => Some(stream),
                    Err(e) => return reply.error(errno(&e)),
                }
            };
            Handle::Read {
                ino: ino.0,
                stream: Box::new(tokio::sync::Mutex::new(ReadStream { stream, generation })),
            }
        };
        // A read-only handle has nothing to commit at close: the kernel then
        // sends no FLUSH for it, which saves a round trip on every close(2).
        let read_only = matches!(handle, Handle::Read { .. });
        let fh = self.handles.insert(handle);
        if flags.0 & FMODE_EXEC != 0 {
            self.handles.executing(fh, ino.0);
        }
        let mut flags = if keep {
            FopenFlags::FOPEN_KEEP_CACHE
        } else {
            FopenFlags::empty()
        };
        if read_only {
            flags |= FopenFlags::FOPEN_NOFLUSH;
            if self.direct_io {
                flags |= FopenFlags::FOPEN_DIRECT_IO;
            }
        }
        reply.opened(FileHandle(fh), flags);
    }

    pub(super) async fn create(
        &self,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        flags: i32,
        caller: super::Caller,
        reply: ReplyCreate,
    ) {
        let path = match self.child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let (owner, group) = self.names(caller);
        let opts = CreateFileOptions {
            mode: Some(mode & 0o7777),
            owner: Some(owner),
            group: Some(group),
            ..Default::default()
        };
        // The file exists (empty and complete) from now on; the staged copy
        // replaces it at the first flush that finds it dirty.
        let t = self.attrs.ticket();
        let created = self.fs.create_empty_file(&path, opts).await;
        match &created {
            Err(FsError::AlreadyExists(_)) => {
                self.attrs.name_added(parent.0, &name.to_string_lossy())
            }
            _ => self.entry_changed(t, parent, name, &created),
        }
        let (info, existed) = match created {
            Ok(info) => (info, false),
            Err(FsError::AlreadyExists(_)) if flags & libc::O_EXCL == 0 => {
                match self.fs.get_status(&path).await {
                    Ok(i) => (i, true),
                    Err(e) => return reply.error(errno(&e)),
                }
            }
            Err(e) => return reply.error(errno(&e)),
        };
        if info.file_type == AlluxioType::Directory as i32 {
            return reply.error(Errno::EISDIR);
        }
        let ino = self.inodes.ino_of(info.id);
        let truncate = !existed || flags & libc::O_TRUNC != 0;
        let stage = match self.join_stage(ino, &info, truncate).await {
            Ok(s) => s,
            Err(e) => return reply.error(e),
        };
        let fh = self.handles.insert(Handle::Staged {
            ino,
            stage,
            append: flags & libc::O_APPEND != 0,
        });
        let a = self.attr_of(&info).await;
        self.inodes.remember(ino, &info.path);
        reply.created(
            &self.entry_ttl,
            &a,
            fuser::Generation(0),
            FileHandle(fh),
            FopenFlags::empty(),
        );
    }

    pub(super) async fn read(&self, fh: FileHandle, offset: u64, size: u32, reply: ReplyData) {
        let Some(h) = self.handles.get(fh.0) else {
            return reply.error(Errno::EBADF);
        };
        let r = match &*h {
            Handle::Read { ino, stream } => match self.handles.stage_of(*ino) {
                Some(stage) => self.read_staged(*ino, &stage, offset, size).await,
                None => self.read_version(*ino, stream, offset, size).await,
            },
            Handle::Staged { ino, stage, .. } => self.read_staged(*ino, stage, offset, size).await,
            Handle::Dir { .. } => return reply.error(Errno::EISDIR),
        };
        match r {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(e),
        }
    }

    /// Reads a committed version through a read-only handle's stream,
    /// reopened first if this mount has a newer version of the file.
    async fn read_version(
        &self,
        ino: u64,
        rs: &tokio::sync::Mutex<ReadStream>,
        offset: u64,
        size: u32,
    ) -> Result<Bytes, Errno> {
        let generation = self.page_cache.generation(ino);
        let local = {
            let mut g = rs.lock().await;
            if g.stream.is_none() || g.generation < generation {
                let reopened = match self.path(INodeNo(ino)) {
                    Ok(path) => self.fs.open_file(&path).await.map_err(|e| errno(&e)),
                    Err(e) => Err(e),
                };
                match reopened {
                    Ok(stream) => g.stream = Some(stream),
                    // The version it has is still readable: keep it.
                    Err(e) if g.stream.is_some() => {
                        tracing::debug!("reopening inode {ino} for a newer version failed: {e:?}")
                    }
                    Err(e) => return Err(e),
                }
                g.generation = generation;
            }
            let stream = g.stream.as_mut().expect("opened above");
            stream.local_read(offset, size as usize).await
        };
        // A short-circuit read runs without the stream's lock, so the
        // kernel's parallel read-ahead requests overlap.
        if let Some(r) = local {
            match r.read().await {
                Ok(data) => return Ok(data),
                Err(e) => {
                    tracing::warn!("short-circuit read failed, streaming instead: {e}");
                    if let Some(s) = rs.lock().await.stream.as_mut() {
                        s.local_failed(offset);
                    }
                }
            }
        }
        let mut g = rs.lock().await;
        let stream = g.stream.as_mut().ok_or(Errno::EIO)?;
        stream
            .read_at(offset, size as usize)
            .await
            .map_err(|e| errno(&e))
    }

    /// Reads `ino`'s staged copy.
    async fn read_staged(
        &self,
        ino: u64,
        stage: &SharedStage,
        offset: u64,
        size: u32,
    ) -> Result<Bytes, Errno> {
        let mut s = stage.lock().await;
        s.check().map_err(|e| errno(&e))?;
        let overlaps = s
            .sequence
            .missing()
            .is_some_and(|(held, _)| offset + u64::from(size) > held);
        if overlaps {
            self.settle(ino, &mut s).await.map_err(|e| errno(&e))?;
            // Someone reads what is being written: stage in full from now
            // on, rather than settle again and again.
            s.sequence.broken().await;
        }
        read_piece(&s.file, offset, size as usize).map_err(|e| io_errno(&e))
    }

    pub(super) async fn write(&self, fh: FileHandle, offset: u64, data: Bytes, reply: ReplyWrite) {
        let Some(h) = self.handles.get(fh.0) else {
            return reply.error(Errno::EBADF);
        };
        let Handle::Staged { ino, stage, append } = &*h else {
            return reply.error(Errno::EBADF);
        };
        let mut s = stage.lock().await;
        if let Err(e) = s.check() {
            return reply.error(errno(&e));
        }
        let at = if *append {
            match s.len() {
                Ok(l) => l,
                Err(e) => return reply.error(io_errno(&e)),
            }
        } else {
            offset
        };
        let len = data.len() as u32;
        // In-order writes of a streaming file go to the stream only.
        if s.sequence.takes(at) {
            if let Err(e) = s.sequence.send(data).await {
                let e = s.lose(e);
                return reply.error(errno(&e));
            }
            s.changed();
            return reply.written(len);
        }
        if s.sequence.missing().is_some() {
            if let Err(e) = self.settle(*ino, &mut s).await {
                return reply.error(errno(&e));
            }
        }
        if let Err(e) = s.file.write_all_at(&data, at) {
            return reply.error(io_errno(&e));
        }
        s.changed();
        let path = self.inodes.path(INodeNo(*ino));
        let st = &mut *s;
        let (file, mode) = (&st.file, st.mode);
        st.sequence
            .wrote(&self.fs, path, mode, at, u64::from(len), file)
            .await;
        reply.written(len)
    }

    /// Makes `ino`'s staged copy `s` whole (see `write_behind`); a version
    /// this commits becomes the page cache's reference.
    pub(super) async fn settle(&self, ino: u64, s: &mut Staged) -> Result<(), FsError> {
        let path = self.inodes.path(INodeNo(ino));
        let t = self.attrs.ticket();
        match s.settle(&self.fs, path.as_deref()).await {
            Ok(Some(info)) => {
                self.page_cache.committed(ino, &info);
                self.attrs.changed(t, &[ino], &[(ino, &info)]);
            }
            Ok(None) => {}
            Err(e) => {
                self.attrs.changed(t, &[ino], &[]);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Settles every staged copy at `path` or below it, before a rename or
    /// unlink takes the name its stream completes under.
    pub(super) async fn settle_under(&self, path: &str) {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        for (ino, stage) in self.handles.stages() {
            // Any name of it: its stream may complete under another one.
            let paths = self.inodes.paths(INodeNo(ino));
            if !paths.iter().any(|p| p == path || p.starts_with(&prefix)) {
                continue;
            }
            let mut s = stage.lock().await;
            if s.sequence.missing().is_some() && !s.retired {
                if let Err(e) = self.settle(ino, &mut s).await {
                    tracing::warn!("settling {path} before a namespace change failed: {e}");
                }
            }
        }
    }

    /// Commits `ino`'s staged copy if dirty.
    pub(super) async fn commit(&self, ino: u64, stage: &SharedStage) -> Result<(), FsError> {
        let mut s = stage.lock().await;
        self.commit_locked(ino, &mut s).await
    }

    /// Commits the staged copy `s` of `ino` if dirty. An unlinked inode
    /// (no path) has nowhere to go: its bytes stay for its open handles
    /// and are dropped with the copy, as a local file system drops an
    /// unlinked file's data at the last close.
    async fn commit_locked(&self, ino: u64, s: &mut Staged) -> Result<(), FsError> {
        if !s.dirty {
            return Ok(());
        }
        let Some(path) = self.inodes.path(INodeNo(ino)) else {
            s.forget_changes();
            s.sequence.broken().await;
            return Ok(());
        };
        self.commit_at(ino, s, &path).await
    }

    /// Commits the dirty staged copy `s` of `ino` as the file at `path`.
    pub(super) async fn commit_at(
        &self,
        ino: u64,
        s: &mut Staged,
        path: &str,
    ) -> Result<(), FsError> {
        let t = self.attrs.ticket();
        let info = match s.commit(&self.fs, path).await {
            Ok(info) => info,
            Err(e) => {
                self.attrs.changed(t, &[ino], &[]);
                return Err(e);
            }
        };
        self.page_cache.committed(ino, &info);
        self.attrs.changed(t, &[ino], &[(ino, &info)]);
        Ok(())
    }

    /// flush and fsync: commit now and report the outcome.
    pub(super) async fn flush(&self, fh: FileHandle, reply: ReplyEmpty) {
        let Some(h) = self.handles.get(fh.0) else {
            return reply.error(Errno::EBADF);
        };
        if let Handle::Staged { ino, stage, .. } = &*h {
            if let Err(e) = self.commit(*ino, stage).await {
                tracing::warn!("committing inode {ino} failed: {e}");
                return reply.error(errno(&e));
            }
        }
        reply.ok();
    }

    pub(super) async fn release(&self, fh: FileHandle, reply: ReplyEmpty) {
        if let Some(h) = self.handles.remove(fh.0) {
            if let Handle::Read { ino, .. } | Handle::Staged { ino, .. } = &*h {
                if let Some(stage) = self.handles.unused_stage(*ino) {
                    let mut s = stage.lock().await;
                    self.finish_stage(*ino, &stage, &mut s).await;
                }
            }
        }
        reply.ok();
    }
}

/// The truncation an open asks of the staged copy `s` of version `info`.
async fn truncate_for_open(s: &mut Staged, truncate: bool, info: &FileInfo) -> Result<(), Errno> {
    if !truncate {
        return Ok(());
    }
    if s.len().map_err(|e| io_errno(&e))? > 0 {
        // Everything is discarded, lost bytes included.
        s.lost = None;
        s.file.set_len(0).map_err(|e| io_errno(&e))?;
        s.sequence.reset(0).await;
        s.changed();
    } else if info.length > 0 {
        // Staged empty from a non-empty version.
        s.changed();
    }
    Ok(())
}
