//! One UFS-changing operation at a time per path.
//!
//! An operation validates against the namespace, changes the UFS, then
//! commits its entries. Nothing ordered the UFS step and the commit of two
//! operations on the same names: rename(g → f) racing unlink(f) could move
//! g's bytes to f, have the unlink delete them, and commit "f is g" — a name
//! whose entry and UFS bytes belong to different files (or none). Every
//! operation that changes the UFS now holds its paths from before its
//! validation to after its commit. Paths conflict when one is the other or
//! below it, so a directory's rename or delete excludes every operation
//! inside it. An operation takes all its paths at once and never waits
//! while holding some, so there is no deadlock.

use std::sync::Mutex;

use alluxio_common::AlluxioPath;
use tokio::sync::Notify;

/// The paths held by running operations.
#[derive(Default)]
pub(super) struct PathLocks {
    held: Mutex<Vec<(u64, Vec<AlluxioPath>)>>,
    next: std::sync::atomic::AtomicU64,
    released: Notify,
}

/// Holds its paths until dropped.
pub(super) struct PathGuard<'a> {
    locks: &'a PathLocks,
    id: u64,
}

fn conflict(a: &AlluxioPath, b: &AlluxioPath) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

impl PathLocks {
    /// Waits until none of `paths` conflicts with a held one, then holds them.
    pub(super) async fn lock(&self, paths: Vec<AlluxioPath>) -> PathGuard<'_> {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            {
                let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
                let busy = held
                    .iter()
                    .any(|(_, h)| h.iter().any(|a| paths.iter().any(|b| conflict(a, b))));
                if !busy {
                    held.push((id, paths));
                    return PathGuard { locks: self, id };
                }
            }
            released.await;
        }
    }
}

impl Drop for PathGuard<'_> {
    fn drop(&mut self) {
        self.locks
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(id, _)| *id != self.id);
        self.locks.released.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn p(s: &str) -> AlluxioPath {
        AlluxioPath::parse(s).unwrap()
    }

    #[tokio::test]
    async fn same_or_nested_paths_wait_others_do_not() {
        let locks = PathLocks::default();
        let a = locks.lock(vec![p("/d/f"), p("/g")]).await;
        // Unrelated paths go at once.
        let _other = locks.lock(vec![p("/d/h"), p("/x")]).await;
        for blocked in [vec![p("/d/f")], vec![p("/d")], vec![p("/g/sub")]] {
            let waited =
                tokio::time::timeout(Duration::from_millis(50), locks.lock(blocked.clone())).await;
            assert!(waited.is_err(), "{blocked:?} was not excluded");
        }
        drop(a);
        let _d = tokio::time::timeout(Duration::from_secs(1), locks.lock(vec![p("/d/f")]))
            .await
            .expect("released paths are free again");
    }
}
