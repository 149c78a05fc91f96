//! Where a short blocking file-system call runs: inline on the async worker
//! that needs it, or on tokio's blocking pool.
//!
//! Why it exists: on the 2-core machines this project is measured on, a
//! hand-off to the blocking pool and back (two thread wake-ups, four
//! context switches) cost 50–60 µs of CPU, more than the `stat`, `open` or
//! small `fdatasync` it carried. A master create paid three of them (the
//! UFS check that the name is free, the journal append, the empty file's
//! object); run inline, they took its CPU from ~390 to ~285 µs and the
//! creates through a FUSE mount from 1,399–1,450 to 1,513–1,667 per second
//! (`docs/decisions/0007-short-calls-inline-on-local-disks.md`).
//!
//! Inline is only safe where a call cannot hang: a directory on a local
//! disk file system (ext4, xfs, btrfs, tmpfs, overlayfs…), where the worst
//! a metadata call or a small `fdatasync` waits for is the disk. On NFS, a
//! FUSE mount, SMB or anything unknown a call can wait on a network for
//! ever, so it goes to the pool, and so does every call that may move a
//! lot of data (reads, large writes, recursive deletes, listings), even on
//! a local disk.

use std::path::Path;

/// File systems whose calls wait at most for a local device (`statfs`
/// `f_type` values, from `linux/magic.h`).
const LOCAL_DISK_MAGIC: &[i64] = &[
    0xEF53,      // ext2, ext3, ext4
    0x5846_5342, // xfs
    0x9123_683E, // btrfs
    0x0102_1994, // tmpfs
    0x8584_58F6, // ramfs
    0x794C_7630, // overlayfs (container roots)
    0xF2F5_2010, // f2fs
    0x2FC1_2FC1, // zfs
    0xCA45_1A4E, // bcachefs
    0x3153_464A, // jfs
    0x5265_4973, // reiserfs
];

/// Whether `f_type` names a local disk file system.
pub fn is_local_disk_type(f_type: i64) -> bool {
    LOCAL_DISK_MAGIC.contains(&f_type)
}

/// Whether `path` (or, if it does not exist yet, its nearest existing
/// ancestor) is on a local disk file system. Anything that cannot be
/// determined counts as not local.
pub fn on_local_disk(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let mut at = Some(path);
    while let Some(p) = at {
        let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
            return false;
        };
        let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
        // SAFETY: `c` is a valid NUL-terminated path and `st` is large
        // enough for the kernel to fill.
        if unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) } == 0 {
            // SAFETY: statfs succeeded, so it filled `st`.
            let st = unsafe { st.assume_init() };
            // `f_type` is narrower than i64 on some targets.
            #[allow(clippy::unnecessary_cast)]
            return is_local_disk_type(st.f_type as i64);
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::NotFound {
            return false;
        }
        at = p.parent();
    }
    false
}

/// Where the short calls on one directory tree run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShortCalls {
    /// On the calling worker (a local disk).
    Inline,
    /// On tokio's blocking pool (anything that may hang).
    Pool,
}

impl ShortCalls {
    /// The placement for calls under `root`.
    pub fn for_dir(root: &Path) -> ShortCalls {
        if on_local_disk(root) {
            ShortCalls::Inline
        } else {
            ShortCalls::Pool
        }
    }

    /// Runs `f` where this placement says. `Err` only if the pool task
    /// panicked or was cancelled.
    pub async fn run<T: Send + 'static>(
        self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, tokio::task::JoinError> {
        match self {
            ShortCalls::Inline => Ok(f()),
            ShortCalls::Pool => tokio::task::spawn_blocking(f).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_disks_and_others() {
        assert!(is_local_disk_type(0xEF53));
        assert!(is_local_disk_type(0x0102_1994));
        // NFS, FUSE, SMB2, procfs: not local disks.
        for t in [0x6969, 0x6573_5546, 0xFE53_4D42_u32 as i64, 0x9FA0] {
            assert!(!is_local_disk_type(t), "{t:#x}");
        }
    }

    #[test]
    fn a_missing_path_is_judged_by_its_nearest_ancestor() {
        let dir = std::env::temp_dir();
        let here = on_local_disk(&dir);
        let missing = dir.join(format!("short-calls-{}/not/yet", std::process::id()));
        assert_eq!(on_local_disk(&missing), here);
        // /proc is no disk at all.
        assert!(!on_local_disk(Path::new("/proc/self")));
        assert_eq!(ShortCalls::for_dir(Path::new("/proc")), ShortCalls::Pool);
    }

    #[tokio::test]
    async fn both_placements_run_the_call() {
        for p in [ShortCalls::Inline, ShortCalls::Pool] {
            assert_eq!(p.run(|| 6 * 7).await.unwrap(), 42);
        }
    }
}
