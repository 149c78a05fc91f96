//! No UFS change from a master that may no longer lead.
//!
//! A request handler that passed the lease check, or a background task (an
//! empty file's object, `empty_objects.rs`), can still be running when its
//! master loses leadership — frozen, cut off, or fenced by a newer term.
//! Had it gone on, a delete could remove an object the new leader has since
//! rewritten, an empty-object write truncate a newer version. So every UFS
//! mutation goes through [`FencedUfs`], which checks right before each call
//! that this master still holds its read lease (renewed by ZooKeeper quorum
//! writes, two thirds of the granted session timeout: decision 0010) and
//! that its journal writer has not failed. A new leader is elected only
//! after the old leader's session expired, so after the lease ended: no
//! mutation of the old term starts after the new term's claim. One already
//! issued when the lease ended is bounded by the UFS request deadline
//! (`alluxio.underfs.s3.request.timeout`); a local call is a single syscall.

use std::sync::Arc;

use alluxio_common::ufs::Ufs;
use alluxio_common::{FsError, FsResult};
use alluxio_journal::JournalWriter;
use bytes::Bytes;

/// Whether this master may still act as the leader (its lease holds).
pub type LeaseCheck = Arc<dyn Fn() -> bool + Send + Sync>;

/// A UFS whose mutations happen only while this master leads.
#[derive(Clone)]
pub(super) struct FencedUfs {
    ufs: Arc<Ufs>,
    lease: LeaseCheck,
    writer: JournalWriter,
}

impl FencedUfs {
    pub(super) fn new(ufs: Arc<Ufs>, lease: LeaseCheck, writer: JournalWriter) -> FencedUfs {
        FencedUfs { ufs, lease, writer }
    }

    /// Stats `path` (a read: not fenced).
    pub(super) async fn stat(
        &self,
        path: &str,
    ) -> FsResult<Option<alluxio_common::ufs::UfsStatus>> {
        self.ufs.stat(path).await
    }

    /// Refuses mutation `what` of `path` unless this master still leads.
    fn check(&self, what: &str, path: &str) -> FsResult<()> {
        // A leader frozen (or slow) right before it changes the UFS.
        alluxio_common::failpoint::pause("ufs_mutation", &format!("{what}:{path}"));
        // A leader dying right before it changes the UFS.
        alluxio_common::failpoint::hit(&format!("ufs_crash={what}:{path}"));
        if !(self.lease)() || self.writer.failure().is_some() {
            return Err(FsError::Unavailable(format!(
                "UFS {what} of {path} refused: this master no longer leads"
            )));
        }
        Ok(())
    }

    pub(super) async fn delete_file(&self, path: &str) -> FsResult<()> {
        self.check("delete", path)?;
        self.ufs.delete_file(path).await
    }

    pub(super) async fn delete_dir_all(&self, path: &str) -> FsResult<()> {
        self.check("delete", path)?;
        self.ufs.delete_dir_all(path).await
    }

    pub(super) async fn rename(&self, from: &str, to: &str) -> FsResult<()> {
        self.check("rename", from)?;
        self.ufs.rename(from, to).await
    }

    pub(super) async fn write_all(&self, path: &str, data: Bytes) -> FsResult<()> {
        self.check("write", path)?;
        self.ufs.write_all(path, data).await
    }

    /// Makes `path`'s name durable in its parent (no change of its own:
    /// not fenced).
    pub(super) async fn sync_parent(&self, path: &str) -> FsResult<()> {
        self.ufs.sync_parent(path).await
    }

    pub(super) async fn create_dir(&self, path: &str) -> FsResult<()> {
        self.check("mkdir", path)?;
        self.ufs.create_dir(path).await
    }
}
