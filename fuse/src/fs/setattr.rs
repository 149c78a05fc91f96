//! Attributes: getattr, and setattr's chmod, chown, utimens and truncate.
//!
//! Truncating a file that is open for writing changes its staged copy
//! (committed at the next flush); truncating a closed file stages it,
//! resizes it and commits it at once. Attributes set on a file whose
//! staged copy has bytes to commit are kept with it and set by the commit
//! (decision 0014); on any other file they go to the master at once.

use std::time::SystemTime;

use alluxio_client::{FileInfo, FsError, FsResult, SetAttributeOptions};
use fuser::{INodeNo, ReplyAttr, TimeOrNow};

use super::attr::nanos;
use super::handles::SharedStage;
use super::ids::{group_name, user_name};
use super::staging::Staged;
use super::Inner;
use crate::errno::errno;

/// The changes of one setattr request.
pub struct Change {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<TimeOrNow>,
    pub mtime: Option<TimeOrNow>,
}

/// Keeps `c`'s mode, ownership and times in the staged copy `s`, for its
/// commit (`Staged::deferred`, decision 0014) and for what `stat` shows
/// meanwhile (`s.info`, for a copy whose names are gone).
fn keep(s: &mut Staged, c: &Change) {
    if let Some(mode) = c.mode {
        s.mode = mode & 0o7777;
        s.deferred.mode = Some(s.mode);
        s.info.mode = (s.info.mode & !0o7777) | s.mode;
    }
    if let Some(uid) = c.uid {
        s.owner = user_name(uid);
        s.deferred.owner = Some(s.owner.clone());
        s.info.owner = s.owner.clone();
    }
    if let Some(gid) = c.gid {
        s.group = group_name(gid);
        s.deferred.group = Some(s.group.clone());
        s.info.group = s.group.clone();
    }
    if let Some(t) = c.mtime {
        s.mtime_set(time_ns(t));
    }
    if let Some(t) = c.atime {
        let ns = time_ns(t);
        s.deferred.atime_ns = Some(ns);
        s.info.atime_ns = ns;
    }
}

fn time_ns(t: TimeOrNow) -> i64 {
    match t {
        TimeOrNow::SpecificTime(t) => nanos(t),
        TimeOrNow::Now => nanos(SystemTime::now()),
    }
}

impl Inner {
    pub(super) async fn getattr(&self, ino: INodeNo, reply: ReplyAttr) {
        let path = match self.path(ino) {
            Ok(p) => p,
            Err(e) => {
                // Unlinked while open (fstat on the descriptor): the staged
                // copy is the file now, with no links left.
                if let Some(stage) = self.handles.stage_of(ino.0) {
                    let info = stage.lock().await.info.clone();
                    let mut a = self.attr_of(&info).await;
                    a.ino = ino;
                    a.nlink = 0;
                    return reply.attr(&self.attr_ttl, &a);
                }
                return reply.error(e);
            }
        };
        if let Some((info, left)) = self.attrs.get(ino.0) {
            return reply.attr(&left, &self.attr_of(&info).await);
        }
        let t = self.attrs.ticket();
        let r = self.fs.get_status(&path).await;
        self.fetched(t, &r);
        match r {
            Ok(info) => reply.attr(&self.attr_ttl, &self.attr_of(&info).await),
            Err(e) => reply.error(errno(&e)),
        }
    }

    /// Resizes `ino`'s staged copy `s` to `size`.
    async fn truncate_staged(&self, ino: INodeNo, s: &mut Staged, size: u64) -> FsResult<()> {
        s.check()?;
        // Growing into bytes only the stream holds needs them back.
        if s.sequence.missing().is_some_and(|(held, _)| size > held) {
            self.settle(ino.0, s).await?;
        }
        s.file
            .set_len(size)
            .map_err(|e| FsError::Internal(format!("staging file: {e}")))?;
        s.sequence.reset(size).await;
        s.changed();
        Ok(())
    }

    /// setattr on a file whose last name is gone but which is still open
    /// here (`ftruncate`, `fchmod`, `futimens` on its descriptor): the
    /// change applies to the staged copy that is the file now.
    async fn setattr_unlinked(
        &self,
        ino: INodeNo,
        stage: &SharedStage,
        c: Change,
    ) -> FsResult<fuser::FileAttr> {
        let info = {
            let mut s = stage.lock().await;
            if s.retired {
                return Err(FsError::NotFound(
                    "the file has no name and no open handle".into(),
                ));
            }
            if let Some(size) = c.size {
                self.truncate_staged(ino, &mut s, size).await?;
            }
            keep(&mut s, &c);
            s.info.clone()
        };
        let mut a = self.attr_of(&info).await;
        a.ino = ino;
        a.nlink = 0;
        Ok(a)
    }

    /// Resizes `ino` (at `path`) to `size`.
    async fn truncate(&self, ino: INodeNo, path: &str, size: u64) -> FsResult<()> {
        let local = |e: std::io::Error| FsError::Internal(format!("staging file: {e}"));
        if let Some(stage) = self.handles.stage_of(ino.0) {
            let mut s = stage.lock().await;
            if !s.retired {
                return self.truncate_staged(ino, &mut s, size).await;
            }
        }
        let info = self.fs.get_status(path).await?;
        if info.length == size {
            return Ok(());
        }
        let mut staged = self.staging.stage(&self.fs, &info, size == 0).await?;
        staged.file.set_len(size).map_err(local)?;
        let committed = staged.commit(&self.fs, path).await?;
        self.page_cache.committed(ino.0, &committed);
        Ok(())
    }

    /// Keeps `c` in `ino`'s staged copy if that copy has bytes to commit
    /// (or will, after `c`'s truncate): the commit sets it with the bytes
    /// (`Staged::deferred`, decision 0014). Returns the version the copy
    /// was staged from, or `None` if `c` must go to the master now.
    async fn defer(&self, ino: INodeNo, c: &Change) -> FsResult<Option<FileInfo>> {
        let Some(stage) = self.handles.stage_of(ino.0) else {
            return Ok(None);
        };
        let mut s = stage.lock().await;
        // A copy whose commit is being retried after its last close holds
        // no writer's changes: a change of the closed file goes to the
        // master, so that it is not lost if the retries give up.
        if s.retired || s.retrying || !(s.dirty || c.size.is_some()) {
            return Ok(None);
        }
        if let Some(size) = c.size {
            self.truncate_staged(ino, &mut s, size).await?;
        }
        keep(&mut s, c);
        Ok(Some(s.info.clone()))
    }

    async fn apply(&self, ino: INodeNo, path: &str, c: Change) -> FsResult<FileInfo> {
        if let Some(size) = c.size {
            self.truncate(ino, path, size).await?;
        }
        let c_mtime = c.mtime.is_some();
        let change = SetAttributeOptions {
            mode: c.mode.map(|m| m & 0o7777),
            owner: c.uid.map(user_name),
            group: c.gid.map(group_name),
            mtime_ns: c.mtime.map(time_ns),
            atime_ns: c.atime.map(time_ns),
            recursive: false,
        };
        let mut info = if !change.is_empty() {
            self.fs.set_attribute(path, change).await?
        } else {
            self.fs.get_status(path).await?
        };
        // The file is `size` long now, in its staged copy or in the version
        // committed from it. The master's answer may predate that commit
        // (a release of the last handle racing this truncate commits the
        // staged copy and drops it), so it does not decide the size.
        if let Some(size) = c.size {
            info.length = size;
        }
        // A staged copy must commit with the new mode, ownership and an
        // explicitly set modification time.
        if let Some(stage) = self.handles.stage_of(ino.0) {
            let mut s = stage.lock().await;
            s.mode = info.mode & 0o7777;
            s.owner = info.owner.clone();
            s.group = info.group.clone();
            s.info.mode = info.mode;
            s.info.owner = info.owner.clone();
            s.info.group = info.group.clone();
            if c_mtime {
                s.mtime_set(info.mtime_ns);
            }
        }
        Ok(info)
    }

    pub(super) async fn setattr(&self, ino: INodeNo, c: Change, reply: ReplyAttr) {
        let path = match self.path(ino) {
            Ok(p) => p,
            Err(e) => {
                let Some(stage) = self.handles.stage_of(ino.0) else {
                    return reply.error(e);
                };
                return match self.setattr_unlinked(ino, &stage, c).await {
                    Ok(a) => reply.attr(&self.attr_ttl, &a),
                    Err(e) => reply.error(errno(&e)),
                };
            }
        };
        let t = self.attrs.ticket();
        match self.defer(ino, &c).await {
            Ok(Some(info)) => {
                // Nothing changed at the master; what the kernel sees is
                // the staged copy's (`attr_of`).
                self.attrs.changed(t, &[ino.0], &[]);
                return reply.attr(&self.attr_ttl, &self.attr_of(&info).await);
            }
            Ok(None) => {}
            Err(e) => {
                self.attrs.changed(t, &[ino.0], &[]);
                return reply.error(errno(&e));
            }
        }
        match self.apply(ino, &path, c).await {
            Ok(info) => {
                let fresh = (self.inodes.ino_of(info.id), &info);
                self.attrs.changed(t, &[ino.0], &[fresh]);
                reply.attr(&self.attr_ttl, &self.attr_of(&info).await)
            }
            Err(e) => {
                // A truncate may have committed before the error.
                self.attrs.changed(t, &[ino.0], &[]);
                reply.error(errno(&e))
            }
        }
    }
}
