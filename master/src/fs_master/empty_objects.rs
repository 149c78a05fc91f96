//! The UFS objects of empty files, written after the create is answered.
//!
//! `creat(2)` through the mount, `touch` and `mknod` create complete empty
//! files. The journal entry is what makes such a create durable; the
//! file's empty UFS object only mirrors it for UFS readers, and it holds no
//! byte a crash could lose (the file's next version writes the object
//! anyway). Writing that object before answering put a UFS file creation on
//! every create's critical path — on a local UFS an inode allocation, which
//! costs up to a millisecond on a file system that has churned through
//! files. So the object is written in the background, right after the
//! create is durable.
//!
//! Ordering is what keeps this correct: every other change to the UFS
//! (delete, rename, a new version moved into place, a directory removed)
//! first waits until every background write started before it has finished
//! ([`EmptyObjects::drain`]), so none of them can overtake the object of a
//! file they act on — a late empty object would otherwise resurrect a
//! deleted file or clobber a new version's bytes. Reads of the UFS (stat,
//! listings) need not wait: they only add names the namespace lacks, and a
//! file waiting for its object is in the namespace already.
//!
//! If the master stops before an object is written, the file is still in
//! the namespace (its create was journaled) but not in the UFS until its
//! first write; a rename or delete of it then finds nothing to move or
//! remove, which they accept for an empty file.

use std::sync::Arc;

use bytes::Bytes;

use super::fence::FencedUfs;
use tokio::sync::{OwnedRwLockReadGuard, OwnedSemaphorePermit, RwLock, Semaphore};

/// How many empty objects may be waiting at once; a create beyond that
/// waits for a slot, so a slow UFS slows creates instead of queueing
/// without bound.
const MAX_PENDING: usize = 256;

/// The background writes of empty files' UFS objects.
pub(super) struct EmptyObjects {
    /// Held shared by each pending write; taken exclusively (and released
    /// at once) by every other UFS change, which thereby waits for them.
    /// tokio's lock is fair, so writes started later wait behind it.
    gate: Arc<RwLock<()>>,
    slots: Arc<Semaphore>,
}

/// A reserved background write of the empty object at `path`, taken before
/// the create is committed so that no UFS change can slip in between the
/// commit and the write.
pub(super) struct Pending {
    ufs: FencedUfs,
    path: String,
    _gate: OwnedRwLockReadGuard<()>,
    _slot: OwnedSemaphorePermit,
}

impl Default for EmptyObjects {
    fn default() -> Self {
        EmptyObjects {
            gate: Arc::new(RwLock::new(())),
            slots: Arc::new(Semaphore::new(MAX_PENDING)),
        }
    }
}

impl EmptyObjects {
    /// Reserves the background write of `path` in `ufs` (waiting for a
    /// free slot).
    pub(super) async fn reserve(&self, ufs: FencedUfs, path: String) -> Pending {
        let slot = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let gate = Arc::clone(&self.gate).read_owned().await;
        Pending {
            ufs,
            path,
            _gate: gate,
            _slot: slot,
        }
    }

    /// Waits until every background write reserved before this call is done
    /// (or dropped unstarted).
    pub(super) async fn drain(&self) {
        drop(self.gate.write().await);
    }
}

impl Pending {
    /// The create is durable: writes the empty object in the background;
    /// the reservation ends when it is written (or failed, which is logged:
    /// the file's next version writes the object).
    pub(super) fn write(self) {
        tokio::spawn(async move {
            alluxio_common::failpoint::delay("empty_object_write_delay").await;
            if let Err(e) = self.ufs.write_all(&self.path, Bytes::new()).await {
                tracing::warn!("writing the UFS object of empty file {}: {e}", self.path);
            }
            // Named whole, so the task owns the gate and slot too (a block
            // using only some fields would capture only those).
            drop(self);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A local UFS in `dir`, changed by a master that always leads.
    fn ufs_in(dir: &std::path::Path) -> FencedUfs {
        let uri = format!("file://{}", dir.display());
        let ufs = Arc::new(alluxio_common::ufs::Ufs::open(&uri, &Default::default()).unwrap());
        let journal = dir.join(".journal");
        let store =
            alluxio_journal::JournalStore::open(journal.to_str().unwrap(), &Default::default())
                .unwrap();
        let writer = alluxio_journal::JournalWriter::start(store, 1, 1);
        FencedUfs::new(ufs, Arc::new(|| true), writer)
    }

    #[tokio::test]
    async fn drain_waits_for_earlier_writes_only() {
        let dir = tempfile::tempdir().unwrap();
        let objects = EmptyObjects::default();
        let first = objects.reserve(ufs_in(dir.path()), "x".into()).await;
        let mut drained = Box::pin(objects.drain());
        // The earlier reservation holds it back...
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut drained)
                .await
                .is_err()
        );
        drop(first);
        // ...and its end releases it.
        tokio::time::timeout(Duration::from_secs(5), drained)
            .await
            .expect("drained once the earlier write ended");
        // With nothing pending it returns at once.
        tokio::time::timeout(Duration::from_secs(5), objects.drain())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_write_writes_the_object_and_ends_its_reservation() {
        let dir = tempfile::tempdir().unwrap();
        let objects = EmptyObjects::default();
        objects
            .reserve(ufs_in(dir.path()), "empty".into())
            .await
            .write();
        tokio::time::timeout(Duration::from_secs(5), objects.drain())
            .await
            .unwrap();
        let meta = std::fs::metadata(dir.path().join("empty")).unwrap();
        assert_eq!(meta.len(), 0);
    }
}
