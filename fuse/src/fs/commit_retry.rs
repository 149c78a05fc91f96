//! Commits that failed when their file's last handle closed, made again
//! in the background.
//!
//! A commit replaces the file's version in place (`staging.rs`): once it
//! has started, the file shows as incomplete until a version completes. If
//! the upload then fails at release — the UFS failing its `fsync`, a worker
//! gone — and the staged copy were dropped, the file would stay incomplete:
//! the bytes of its last acknowledged version unreadable, though nobody
//! asked to remove them (an append that failed would have lost the file it
//! appended to). So the copy stays published for its inode and its commit
//! is tried again, with backoff, until it succeeds, a writer that joined
//! the copy commits it, the file is removed or replaced (checked by its id
//! before each try), or the error says that trying again cannot help.
//! One task per copy (`Staged::retrying`); it skips its turn while a
//! writer holds the copy. Not covered: an unmount while a retry waits
//! drops the bytes (logged), and the retry has no time limit. The program heard the error at `fsync` or `close`; what it wrote
//! then lands when the cluster heals, as a local file system's page cache
//! keeps dirty pages whose write-back failed.

use std::sync::{Arc, Weak};
use std::time::Duration;

use alluxio_client::FsError;
use fuser::INodeNo;

use super::handles::SharedStage;
use super::Inner;

/// The first pause before trying again, and the longest (short: the copy
/// holds the only version of the file with every byte, and the cluster
/// may heal at any moment).
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// Whether a failed commit may succeed if made again: the cluster or
/// its UFS failing for a while (unavailable, an I/O error, no space, a
/// version raced by another), not a refusal or a broken staging file.
pub(super) fn worth_retrying(e: &FsError) -> bool {
    matches!(
        e,
        FsError::Unavailable(_)
            | FsError::NotLeader { .. }
            | FsError::DataUnavailable(_)
            | FsError::Ufs(_)
            | FsError::NoSpace(_)
            | FsError::FailedPrecondition(_)
    )
}

/// Tries the commit of `ino`'s staged copy `stage` again until it is done
/// (see the module comment). `path` is where the file was when its commit
/// failed: used if the kernel has forgotten the inode since. The caller
/// set `retrying` on the copy; this task clears it when it ends.
pub(super) async fn retry(
    inner: Weak<Inner>,
    ino: u64,
    stage: SharedStage,
    path: String,
    first: FsError,
) {
    let mut pause = FIRST_PAUSE;
    let mut tries = 1u64;
    let mut last = first;
    loop {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
        let Some(inner) = inner.upgrade() else {
            tracing::error!(
                "{path}: the mount went before its commit succeeded (data lost): {last}"
            );
            return;
        };
        let mut s = stage.lock().await;
        if s.retired {
            return;
        }
        if !s.dirty {
            // A writer that joined the copy committed it.
            return end(&inner, ino, &stage, &mut s);
        }
        let unused = inner
            .handles
            .unused_stage(ino)
            .is_some_and(|st| Arc::ptr_eq(&st, &stage));
        if !unused {
            // A writer joined the copy: its own flush or close commits.
            continue;
        }
        let path = inner
            .inodes
            .path(INodeNo(ino))
            .unwrap_or_else(|| path.clone());
        // Only over the same file: one removed or replaced meanwhile (by
        // this mount or another) is not brought back with these bytes.
        match inner.fs.get_status(&path).await {
            Ok(info) if info.id == s.info.id => {}
            Ok(_) | Err(FsError::NotFound(_)) => {
                tracing::warn!(
                    "{path} was removed or replaced while its failed commit waited: \
                     dropping the staged bytes ({last})"
                );
                s.forget_changes();
                return end(&inner, ino, &stage, &mut s);
            }
            Err(e) => {
                last = e;
                continue;
            }
        }
        tries += 1;
        match inner.commit_at(ino, &mut s, &path).await {
            Ok(()) => {
                tracing::info!("{path} committed after {tries} tries");
                return end(&inner, ino, &stage, &mut s);
            }
            Err(e) if worth_retrying(&e) && s.lost.is_none() => {
                if tries.is_multiple_of(10) {
                    tracing::warn!("{path}: commit try {tries} failed: {e}");
                }
                last = e;
            }
            Err(e) => {
                tracing::error!("committing {path} failed for good (data lost): {e}");
                s.forget_changes();
                return end(&inner, ino, &stage, &mut s);
            }
        }
    }
}

/// Ends the retry of `stage`: the copy goes if nobody uses it.
fn end(inner: &Inner, ino: u64, stage: &SharedStage, s: &mut super::staging::Staged) {
    s.retrying = false;
    inner.retire_unused(ino, stage, s);
}
