//! Open file and directory handles, and the staged copies they share.
//!
//! A handle is one of: a reader of a committed version (its own
//! `FileInStream`, so sequential reads keep their block stream), a user of
//! the inode's staged copy (every handle that writes, and every handle
//! opened while a staged copy exists), or a directory listing taken at
//! `opendir` so that offsets stay stable while the directory changes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use alluxio_client::{FileInStream, FileInfo};
use fuser::FileType;

/// A staged copy, shared by the handles of one inode.
pub type SharedStage = Arc<tokio::sync::Mutex<super::staging::Staged>>;

/// One entry of a directory listing.
pub struct DirEntry {
    pub ino: u64,
    pub kind: FileType,
    pub name: String,
    /// `None` for `.` and `..`.
    pub info: Option<FileInfo>,
}

/// What a file handle refers to.
pub enum Handle {
    Read {
        stream: Box<tokio::sync::Mutex<FileInStream>>,
    },
    Staged {
        ino: u64,
        stage: SharedStage,
        /// Opened with O_APPEND: every write goes to the end.
        append: bool,
        writable: bool,
    },
    Dir {
        entries: Vec<DirEntry>,
        /// Taken before the listing was fetched.
        ticket: super::attr_cache::Ticket,
    },
}

/// The handle table and the per-inode staged copies.
#[derive(Default)]
pub struct Handles {
    next: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Handle>>>,
    staged: Mutex<HashMap<u64, SharedStage>>,
    /// Handles the kernel opened to execute a file (`FMODE_EXEC`), with
    /// their inode: see `Inner::open` for why they matter.
    executing: Mutex<HashMap<u64, u64>>,
}

impl Handles {
    /// Registers `h` and returns its number.
    pub fn insert(&self, h: Handle) -> u64 {
        let fh = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(fh, Arc::new(h));
        fh
    }

    /// The handle numbered `fh`.
    pub fn get(&self, fh: u64) -> Option<Arc<Handle>> {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&fh)
            .cloned()
    }

    /// Records that handle `fh` of `ino` executes it.
    pub fn executing(&self, fh: u64, ino: u64) {
        self.executing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(fh, ino);
    }

    /// Whether some process executes `ino` (through this mount).
    pub fn is_executing(&self, ino: u64) -> bool {
        self.executing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .any(|i| *i == ino)
    }

    /// Forgets handle `fh`.
    pub fn remove(&self, fh: u64) -> Option<Arc<Handle>> {
        self.executing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&fh);
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&fh)
    }

    /// The staged copy of `ino`, if one is open.
    pub fn stage_of(&self, ino: u64) -> Option<SharedStage> {
        self.staged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&ino)
            .cloned()
    }

    /// Publishes `stage` as `ino`'s staged copy, unless another request
    /// published one first; returns the one in use.
    pub fn publish_stage(&self, ino: u64, stage: SharedStage) -> SharedStage {
        self.staged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(ino)
            .or_insert(stage)
            .clone()
    }

    /// Every staged copy, with its inode.
    pub fn stages(&self) -> Vec<(u64, SharedStage)> {
        self.staged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(ino, s)| (*ino, s.clone()))
            .collect()
    }

    /// Drops `ino`'s staged copy (its last handle closed).
    pub fn drop_stage(&self, ino: u64) {
        self.staged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&ino);
    }
}
