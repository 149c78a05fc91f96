//! Which version of each file the kernel's page cache holds, so that
//! opening an unchanged file keeps its cached pages (`FOPEN_KEEP_CACHE`):
//! a second read of a file is then served by the kernel without reaching
//! the daemon. Any change of the version — a new version written by anyone
//! (new container id), a different length, a different modification time —
//! makes the next open drop the pages instead.
//!
//! Our own commits record the committed version: the kernel's pages of a
//! file written through this mount already hold the bytes just committed.

use std::collections::HashMap;
use std::sync::Mutex;

use alluxio_client::FileInfo;

/// What identifies the bytes of one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    container_id: u64,
    length: u64,
    mtime_ns: i64,
}

impl Version {
    fn of(info: &FileInfo) -> Version {
        Version {
            container_id: info.container_id,
            length: info.length,
            mtime_ns: info.mtime_ns,
        }
    }
}

/// The versions the kernel caches, by inode number.
#[derive(Default)]
pub struct PageCache {
    versions: Mutex<HashMap<u64, Version>>,
}

impl PageCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Version>> {
        self.versions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `ino` is being opened at version `info`: whether the kernel may keep
    /// the pages it has. Records `info` as the cached version either way.
    pub fn open(&self, ino: u64, info: &FileInfo) -> bool {
        if !info.completed {
            self.lock().remove(&ino);
            return false;
        }
        let v = Version::of(info);
        self.lock().insert(ino, v) == Some(v)
    }

    /// This mount committed `info` as `ino`'s new version through the
    /// kernel's pages.
    pub fn committed(&self, ino: u64, info: &FileInfo) {
        self.lock().insert(ino, Version::of(info));
    }

    /// The kernel forgot `ino`, and with it the pages.
    pub fn forget(&self, ino: u64) {
        self.lock().remove(&ino);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(container_id: u64, length: u64, mtime_ns: i64) -> FileInfo {
        FileInfo {
            container_id,
            length,
            mtime_ns,
            completed: true,
            ..Default::default()
        }
    }

    #[test]
    fn unchanged_versions_keep_the_cache_and_changes_drop_it() {
        let c = PageCache::default();
        assert!(
            !c.open(5, &info(1, 10, 100)),
            "first open has nothing to keep"
        );
        assert!(c.open(5, &info(1, 10, 100)));
        assert!(!c.open(5, &info(2, 10, 100)), "new version");
        assert!(!c.open(5, &info(2, 11, 100)), "new length");
        assert!(!c.open(5, &info(2, 11, 101)), "new mtime");
        assert!(c.open(5, &info(2, 11, 101)));
        c.committed(5, &info(3, 20, 200));
        assert!(c.open(5, &info(3, 20, 200)), "our own commit is cached");
        c.forget(5);
        assert!(!c.open(5, &info(3, 20, 200)));
        let mut incomplete = info(4, 0, 300);
        incomplete.completed = false;
        assert!(!c.open(6, &incomplete));
        assert!(!c.open(6, &incomplete));
    }
}
