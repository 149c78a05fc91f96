//! fallocate(2) on an open file: done on its staged copy (committed with
//! it), so a default-mode allocation extends the file at any offset and
//! punching a hole or zeroing a range changes its bytes as on a local
//! file system.
//!
//! Supported modes: 0, `FALLOC_FL_KEEP_SIZE`, `FALLOC_FL_PUNCH_HOLE |
//! FALLOC_FL_KEEP_SIZE`, `FALLOC_FL_ZERO_RANGE` (with or without
//! `KEEP_SIZE`). The kernel itself answers `EOPNOTSUPP` for the others
//! (`COLLAPSE_RANGE`, `INSERT_RANGE`, `UNSHARE_RANGE`) without asking the
//! daemon; should one arrive anyway it gets `EOPNOTSUPP` here too.

use fuser::{Errno, FileHandle, ReplyEmpty};

use super::handles::Handle;
use super::Inner;
use crate::errno::{errno, io_errno};

/// The mode bits this file system carries out.
const SUPPORTED: i32 =
    libc::FALLOC_FL_KEEP_SIZE | libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_ZERO_RANGE;

impl Inner {
    pub(super) async fn fallocate(
        &self,
        fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        if mode & !SUPPORTED != 0 {
            tracing::debug!("fallocate mode {mode:#x} is not supported");
            return reply.error(Errno::EOPNOTSUPP);
        }
        let Some(h) = self.handles.get(fh.0) else {
            return reply.error(Errno::EBADF);
        };
        let Handle::Staged { ino, stage, .. } = &*h else {
            return reply.error(Errno::EBADF);
        };
        let mut s = stage.lock().await;
        if let Err(e) = s.check() {
            return reply.error(errno(&e));
        }
        let bytes_change = mode & (libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_ZERO_RANGE) != 0;
        // Zeroing changes bytes in place: the staged file must hold every
        // byte first. An allocation only (`KEEP_SIZE`) or an extension
        // with zeros (mode 0) leaves the bytes written so far alone, so a
        // file being streamed in order (`cp`, or fio, which allocates the
        // whole file first) keeps streaming.
        if bytes_change && s.sequence.missing().is_some() {
            if let Err(e) = self.settle(*ino, &mut s).await {
                return reply.error(errno(&e));
            }
        }
        let before = match s.len() {
            Ok(l) => l,
            Err(e) => return reply.error(io_errno(&e)),
        };
        if let Err(e) = s.file.allocate(mode, offset, length) {
            return reply.error(io_errno(&e));
        }
        let after = match s.len() {
            Ok(l) => l,
            Err(e) => return reply.error(io_errno(&e)),
        };
        if bytes_change {
            s.sequence.reset(after).await;
        }
        if bytes_change || after != before {
            s.changed();
        }
        reply.ok();
    }
}
