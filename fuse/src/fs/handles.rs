//! Open file and directory handles, and what the handles of one inode
//! share.
//!
//! Every file handle of an inode in this mount sees the same bytes, as
//! descriptors of one inode do on a local file system (`docs/posix.md`,
//! `docs/decisions/0009-one-staged-copy-per-inode.md`). While the inode has a staged copy — from the first
//! writable open until the last writable handle closes, or until the last
//! handle of any kind closes once the file lost its last name while open
//! (*orphaned*) — every handle reads and writes that copy. Without one, a
//! read-only handle reads the newest version this mount knows through its
//! own `FileInStream`, so sequential reads keep their block stream.
//! Directory handles hold the listing taken at `opendir`, so offsets stay
//! stable while the directory changes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

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

/// A read-only handle's stream of a committed version.
pub struct ReadStream {
    /// `None` until the first read that needs it (the handle was opened
    /// while a staged copy existed).
    pub stream: Option<FileInStream>,
    /// The page cache's generation of the inode when `stream` was opened: a
    /// newer one means this mount committed or saw a newer version since.
    pub generation: u64,
}

/// What a file handle refers to.
pub enum Handle {
    /// Opened read-only.
    Read {
        ino: u64,
        stream: Box<tokio::sync::Mutex<ReadStream>>,
    },
    /// Opened for writing: holds the inode's staged copy.
    Staged {
        ino: u64,
        stage: SharedStage,
        /// Opened with O_APPEND: every write goes to the end.
        append: bool,
    },
    Dir {
        entries: Vec<DirEntry>,
        /// Taken before the listing was fetched.
        ticket: super::attr_cache::Ticket,
    },
}

impl Handle {
    /// The inode of a file handle, and whether it writes.
    fn file(&self) -> Option<(u64, bool)> {
        match self {
            Handle::Read { ino, .. } => Some((*ino, false)),
            Handle::Staged { ino, .. } => Some((*ino, true)),
            Handle::Dir { .. } => None,
        }
    }
}

/// What the file handles of one inode share.
#[derive(Default)]
struct OpenFile {
    /// File handles of the inode, of either kind.
    handles: usize,
    /// Writers that joined the staged copy (counted from `join_writer`
    /// until their handle is removed).
    writers: usize,
    stage: Option<SharedStage>,
    /// The file lost its last name while open: the staged copy is the file
    /// now, kept until the last handle closes.
    orphaned: bool,
}

impl OpenFile {
    /// Whether the staged copy has no one left to serve.
    fn stage_unused(&self) -> bool {
        self.writers == 0 && (!self.orphaned || self.handles == 0)
    }
}

/// The handle table and the per-inode state of open files.
#[derive(Default)]
pub struct Handles {
    next: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Handle>>>,
    files: Mutex<HashMap<u64, OpenFile>>,
    /// Handles the kernel opened to execute a file (`FMODE_EXEC`), with
    /// their inode: see `Inner::open` for why they matter.
    executing: Mutex<HashMap<u64, u64>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Handles {
    /// Registers `h` and returns its number.
    pub fn insert(&self, h: Handle) -> u64 {
        if let Some((ino, _)) = h.file() {
            lock(&self.files).entry(ino).or_default().handles += 1;
        }
        let fh = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        lock(&self.open).insert(fh, Arc::new(h));
        fh
    }

    /// The handle numbered `fh`.
    pub fn get(&self, fh: u64) -> Option<Arc<Handle>> {
        lock(&self.open).get(&fh).cloned()
    }

    /// Records that handle `fh` of `ino` executes it.
    pub fn executing(&self, fh: u64, ino: u64) {
        lock(&self.executing).insert(fh, ino);
    }

    /// Whether some process executes `ino` (through this mount).
    pub fn is_executing(&self, ino: u64) -> bool {
        lock(&self.executing).values().any(|i| *i == ino)
    }

    /// Forgets handle `fh`. A file handle's staged copy may be unused
    /// afterwards: see `unused_stage`.
    pub fn remove(&self, fh: u64) -> Option<Arc<Handle>> {
        lock(&self.executing).remove(&fh);
        let h = lock(&self.open).remove(&fh)?;
        if let Some((ino, writes)) = h.file() {
            let mut files = lock(&self.files);
            if let Some(f) = files.get_mut(&ino) {
                f.handles = f.handles.saturating_sub(1);
                if writes {
                    f.writers = f.writers.saturating_sub(1);
                }
                if f.handles == 0 && f.stage.is_none() {
                    files.remove(&ino);
                }
            }
        }
        Some(h)
    }

    /// The inodes with file handles open in this mount.
    pub fn open_files(&self) -> Vec<u64> {
        lock(&self.files)
            .iter()
            .filter(|(_, f)| f.handles > 0)
            .map(|(ino, _)| *ino)
            .collect()
    }

    /// The staged copy of `ino`, if it has one.
    pub fn stage_of(&self, ino: u64) -> Option<SharedStage> {
        lock(&self.files).get(&ino).and_then(|f| f.stage.clone())
    }

    /// Publishes `stage` as `ino`'s staged copy, unless another request
    /// published one first; returns the one in use. Whoever publishes must
    /// join it (`join_writer`, `orphan`) or retire it.
    pub fn publish_stage(&self, ino: u64, stage: SharedStage) -> SharedStage {
        lock(&self.files)
            .entry(ino)
            .or_default()
            .stage
            .get_or_insert(stage)
            .clone()
    }

    /// A writer joins `ino`'s staged copy. Called with the copy locked and
    /// not retired, so it cannot be retired in between.
    pub fn join_writer(&self, ino: u64) {
        lock(&self.files).entry(ino).or_default().writers += 1;
    }

    /// A writer that joined leaves without a handle (its open failed).
    pub fn leave_writer(&self, ino: u64) {
        if let Some(f) = lock(&self.files).get_mut(&ino) {
            f.writers = f.writers.saturating_sub(1);
        }
    }

    /// `ino`'s staged copy `stage` now holds a file that loses its last
    /// name: it stays until the last handle closes. Called with the copy
    /// locked and not retired. Returns false if no handle is open any more;
    /// the copy has then left the inode and must be marked retired.
    pub fn orphan(&self, ino: u64, stage: &SharedStage) -> bool {
        let mut files = lock(&self.files);
        let Some(f) = files.get_mut(&ino) else {
            return false;
        };
        if f.handles == 0 && f.writers == 0 {
            if f.stage.as_ref().is_some_and(|s| Arc::ptr_eq(s, stage)) {
                files.remove(&ino);
            }
            return false;
        }
        f.orphaned = true;
        true
    }

    /// `ino` kept a name after all (see `Inner::kept_open_files`).
    pub fn unorphan(&self, ino: u64) {
        if let Some(f) = lock(&self.files).get_mut(&ino) {
            f.orphaned = false;
        }
    }

    /// `ino`'s staged copy, if no handle needs it any more: the caller
    /// commits it and then `retire`s it.
    pub fn unused_stage(&self, ino: u64) -> Option<SharedStage> {
        lock(&self.files)
            .get(&ino)
            .filter(|f| f.stage_unused())
            .and_then(|f| f.stage.clone())
    }

    /// Takes `stage` away from `ino` if it is still its copy and still
    /// unused. Called with the copy locked; on true the caller marks it
    /// retired.
    pub fn retire(&self, ino: u64, stage: &SharedStage) -> bool {
        let mut files = lock(&self.files);
        let Some(f) = files.get_mut(&ino) else {
            return false;
        };
        if !f.stage_unused() || !f.stage.as_ref().is_some_and(|s| Arc::ptr_eq(s, stage)) {
            return false;
        }
        f.stage = None;
        f.orphaned = false;
        if f.handles == 0 {
            files.remove(&ino);
        }
        true
    }

    /// Every staged copy, with its inode.
    pub fn stages(&self) -> Vec<(u64, SharedStage)> {
        lock(&self.files)
            .iter()
            .filter_map(|(ino, f)| f.stage.clone().map(|s| (*ino, s)))
            .collect()
    }
}
