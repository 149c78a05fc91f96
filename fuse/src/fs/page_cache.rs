//! Which version of each file the kernel's page cache holds, so that
//! opening an unchanged file keeps its cached pages (`FOPEN_KEEP_CACHE`):
//! a second read of a file is then served by the kernel without reaching
//! the daemon. Any change of the version — a new version written by anyone
//! (new container id), a different length, a different modification time —
//! makes the next open drop the pages instead.
//!
//! Our own commits record the committed version: the kernel's pages of a
//! file written through this mount already hold the bytes just committed.
//!
//! Each recorded change of an inode's version also takes a new
//! *generation* number: a read-only handle whose stream is older than the
//! inode's generation reopens it, so it reads what this mount committed or
//! opened since (`handles.rs`).

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

#[derive(Default)]
struct Versions {
    /// The version of each inode, with the generation it was recorded at.
    by_ino: HashMap<u64, (Version, u64)>,
    /// The last generation handed out.
    last: u64,
}

impl Versions {
    /// Records `v` for `ino`; returns whether it was the version already
    /// recorded (which keeps its generation).
    fn record(&mut self, ino: u64, v: Version) -> bool {
        if self.by_ino.get(&ino).is_some_and(|(old, _)| *old == v) {
            return true;
        }
        self.last += 1;
        self.by_ino.insert(ino, (v, self.last));
        false
    }
}

/// The versions the kernel caches, by inode number.
#[derive(Default)]
pub struct PageCache {
    versions: Mutex<Versions>,
}

impl PageCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Versions> {
        self.versions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `ino` is being opened at version `info`: whether the kernel may keep
    /// the pages it has. Records `info` as the cached version either way.
    pub fn open(&self, ino: u64, info: &FileInfo) -> bool {
        if !info.completed {
            self.lock().by_ino.remove(&ino);
            return false;
        }
        self.lock().record(ino, Version::of(info))
    }

    /// This mount committed `info` as `ino`'s new version through the
    /// kernel's pages.
    pub fn committed(&self, ino: u64, info: &FileInfo) {
        self.lock().record(ino, Version::of(info));
    }

    /// The generation of `ino`'s recorded version (0: none recorded).
    pub fn generation(&self, ino: u64) -> u64 {
        self.lock().by_ino.get(&ino).map_or(0, |(_, g)| *g)
    }

    /// The kernel forgot `ino`, and with it the pages.
    pub fn forget(&self, ino: u64) {
        self.lock().by_ino.remove(&ino);
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
        let g = c.generation(5);
        assert!(c.open(5, &info(3, 20, 200)));
        assert_eq!(
            c.generation(5),
            g,
            "an unchanged version keeps its generation"
        );
        c.committed(5, &info(4, 20, 300));
        assert!(c.generation(5) > g, "a new version takes a new generation");
        c.forget(5);
        assert_eq!(c.generation(5), 0);
        assert!(!c.open(5, &info(3, 20, 200)));
        let mut incomplete = info(4, 0, 300);
        incomplete.completed = false;
        assert!(!c.open(6, &incomplete));
        assert!(!c.open(6, &incomplete));
    }
}
