//! File handles: open, create, read, write, flush, fsync and release.
//!
//! Opening for writing stages the file locally (empty with O_TRUNC, else a
//! copy of the current version); every handle of that inode then shares the
//! staged copy. `flush` (each close(2)) and `fsync` commit a dirty copy and
//! return the commit's error to the caller; `release` commits only what no
//! flush committed, and can merely log a failure, as the kernel ignores it.

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

use super::handles::{Handle, SharedStage};
use super::staging::{read_piece, Staged};
use super::Inner;
use crate::errno::{errno, io_errno};

impl Inner {
    /// Joins (or creates) the staged copy of `ino`, whose current version
    /// is `info`; `truncate` empties it.
    async fn join_stage(
        &self,
        ino: u64,
        info: &FileInfo,
        truncate: bool,
    ) -> Result<SharedStage, Errno> {
        loop {
            let stage = match self.handles.stage_of(ino) {
                Some(s) => s,
                None => {
                    let staged = self
                        .staging
                        .stage(&self.fs, info, truncate)
                        .await
                        .map_err(|e| errno(&e))?;
                    let fresh = Arc::new(tokio::sync::Mutex::new(staged));
                    self.handles.publish_stage(ino, fresh)
                }
            };
            let mut s = stage.lock().await;
            if s.retired {
                continue;
            }
            s.handles += 1;
            if truncate && s.len().map_err(|e| io_errno(&e))? > 0 {
                // Everything is discarded, lost bytes included.
                s.lost = None;
                s.file.set_len(0).map_err(|e| io_errno(&e))?;
                s.sequence.reset(0).await;
                s.dirty = true;
            } else if truncate && info.length > 0 {
                // Staged empty from a non-empty version.
                s.dirty = true;
            }
            drop(s);
            return Ok(stage);
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
        let handle = if writable || self.handles.stage_of(ino.0).is_some() {
            match self.join_stage(ino.0, &info, truncate).await {
                Ok(stage) => Handle::Staged {
                    ino: ino.0,
                    stage,
                    append,
                    writable,
                },
                Err(e) => return reply.error(e),
            }
        } else {
            match self.fs.open_file(&path).await {
                Ok(stream) => Handle::Read {
                    stream: Box::new(tokio::sync::Mutex::new(stream)),
                },
                Err(e) => return reply.error(errno(&e)),
            }
        };
        // A read-only handle has nothing to commit at close: the kernel then
        // sends no FLUSH for it, which saves a round trip on every close(2).
        let read_only = matches!(handle, Handle::Read { .. });
        let fh = self.handles.insert(handle);
        if flags.0 & FMODE_EXEC != 0 {
            self.handles.executing(fh, ino.0);
        }
        let mut flags = if self.page_cache.open(ino.0, &info) {
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
            mode: mode & 0o7777,
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
            writable: true,
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
        match &*h {
            Handle::Read { stream } => {
                // A short-circuit read runs without the stream's lock, so
                // the kernel's parallel read-ahead requests overlap.
                let local = stream.lock().await.local_read(offset, size as usize).await;
                if let Some(r) = local {
                    match r.read().await {
                        Ok(data) => return reply.data(&data),
                        Err(e) => {
                            tracing::warn!("short-circuit read failed, streaming instead: {e}");
                            stream.lock().await.local_failed(offset);
                        }
                    }
                }
                let mut s = stream.lock().await;
                match s.read_at(offset, size as usize).await {
                    Ok(data) => reply.data(&data),
                    Err(e) => reply.error(errno(&e)),
                }
            }
            Handle::Staged { ino, stage, .. } => {
                let mut s = stage.lock().await;
                if let Err(e) = s.check() {
                    return reply.error(errno(&e));
                }
                let overlaps = s
                    .sequence
                    .missing()
                    .is_some_and(|(held, _)| offset + u64::from(size) > held);
                if overlaps {
                    if let Err(e) = self.settle(*ino, &mut s).await {
                        return reply.error(errno(&e));
                    }
                    // Someone reads what is being written: stage in full
                    // from now on, rather than settle again and again.
                    s.sequence.broken().await;
                }
                match read_piece(&s.file, offset, size as usize) {
                    Ok(data) => reply.data(&data),
                    Err(e) => reply.error(io_errno(&e)),
                }
            }
            Handle::Dir { .. } => reply.error(Errno::EISDIR),
        }
    }

    pub(super) async fn write(&self, fh: FileHandle, offset: u64, data: Bytes, reply: ReplyWrite) {
        let Some(h) = self.handles.get(fh.0) else {
            return reply.error(Errno::EBADF);
        };
        let Handle::Staged {
            ino,
            stage,
            append,
            writable: true,
        } = &*h
        else {
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
            s.dirty = true;
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
        s.dirty = true;
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

    /// Commits `ino`'s staged copy if dirty. An unlinked inode (no path)
    /// has nowhere to go: its bytes are dropped, as a local file system
    /// drops an unlinked file's data at the last close.
    pub(super) async fn commit(&self, ino: u64, stage: &SharedStage) -> Result<(), FsError> {
        let mut s = stage.lock().await;
        if !s.dirty {
            return Ok(());
        }
        let Some(path) = self.inodes.path(INodeNo(ino)) else {
            s.dirty = false;
            s.sequence.broken().await;
            return Ok(());
        };
        let t = self.attrs.ticket();
        let info = match s.commit(&self.fs, &path).await {
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
        let Some(h) = self.handles.remove(fh.0) else {
            return reply.ok();
        };
        if let Handle::Staged { ino, stage, .. } = &*h {
            let last = {
                let mut s = stage.lock().await;
                s.handles = s.handles.saturating_sub(1);
                s.handles == 0
            };
            if last {
                if let Err(e) = self.commit(*ino, stage).await {
                    tracing::error!("committing inode {ino} at release failed (data lost): {e}");
                }
                let mut s = stage.lock().await;
                if s.handles == 0 {
                    s.retired = true;
                    self.handles.drop_stage(*ino);
                }
            }
        }
        reply.ok();
    }
}
