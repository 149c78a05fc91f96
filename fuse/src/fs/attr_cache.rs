//! The attributes the daemon answers `getattr` with, without asking the
//! master again.
//!
//! Why it exists: mounted with `default_permissions`, the kernel drops a
//! directory's cached attributes after every create or unlink in it and
//! asks for them at the next path walk. Answered by an RPC, that made
//! creating or removing a file cost one master call more than needed. The
//! master sends the parent's new attributes along with every change of a
//! directory's entries, and lookups, listings, setattr and commits return
//! attributes too: this cache keeps them, by inode number, until
//! `attr_timeout` after the request that fetched them began, and a reply
//! built from an entry gives the kernel only the time left. Kernel and
//! daemon together therefore never serve attributes older than
//! `attr_timeout`, as when every getattr asked the master.
//!
//! Changes made through this mount drop or replace the entries they touch.
//! A fetch that was under way while any such change happened is not
//! cached (it may describe the state before the change): every fill
//! carries a [`Ticket`] taken when its request began, and a change moves
//! the cache to a new epoch. A zero `attr_timeout` disables the cache.
//!
//! Lookups are answered from it too, by the path an entry was fetched
//! under (checked against the entry, forgotten at every rename): once the
//! kernel drops its dentries (memory pressure, `drop_caches`), a `stat`
//! soon after a listing or a lookup costs no RPC, within the same
//! `attr_timeout` bound. Missing names are never cached.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alluxio_client::FileInfo;

/// Most entries kept; past it, expired entries are dropped, and if that is
/// not enough, all of them (a full cache only costs RPCs, never
/// correctness).
const MAX_ENTRIES: usize = 32_768;

/// When a request that may fill the cache began.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    epoch: u64,
    at: Instant,
}

struct Entry {
    info: FileInfo,
    expires: Instant,
}

struct State {
    entries: HashMap<u64, Entry>,
    /// Which inode each cached entry's path named when it was cached;
    /// checked against the entry on use, cleared when paths move.
    by_path: HashMap<String, u64>,
    /// Moves on at every change made through this mount.
    epoch: u64,
}

/// Attributes by kernel inode number, each until its expiry.
pub struct AttrCache {
    ttl: Duration,
    state: Mutex<State>,
}

/// `info` without what attributes do not need (block lists, UFS location,
/// the parent), so entries stay small.
fn slim(info: &FileInfo) -> FileInfo {
    FileInfo {
        blocks: Vec::new(),
        ufs: None,
        parent: None,
        ..info.clone()
    }
}

impl AttrCache {
    /// A cache whose entries live `ttl` (the mount's `attr_timeout`).
    pub fn new(ttl: Duration) -> AttrCache {
        AttrCache {
            ttl,
            state: Mutex::new(State {
                entries: HashMap::new(),
                by_path: HashMap::new(),
                epoch: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Taken before a request whose reply may fill the cache.
    pub fn ticket(&self) -> Ticket {
        Ticket {
            epoch: self.lock().epoch,
            at: Instant::now(),
        }
    }

    /// The cached attributes of `ino` and how long they stay valid.
    pub fn get(&self, ino: u64) -> Option<(FileInfo, Duration)> {
        let mut s = self.lock();
        let e = s.entries.get(&ino)?;
        let left = e.expires.checked_duration_since(Instant::now());
        match left {
            Some(left) if !left.is_zero() => Some((e.info.clone(), left)),
            _ => {
                s.entries.remove(&ino);
                None
            }
        }
    }

    /// The inode at `path`, with its cached attributes and how long they
    /// stay valid: a lookup answered without the master, as the kernel
    /// would have from its own dentry cache had it kept it.
    pub fn lookup(&self, path: &str) -> Option<(u64, FileInfo, Duration)> {
        let ino = *self.lock().by_path.get(path)?;
        let (info, left) = self.get(ino)?;
        (info.path == path).then_some((ino, info, left))
    }

    /// Names moved through this mount (a rename): entries keep the paths
    /// they were fetched under, which may now name something else.
    pub fn paths_moved(&self) {
        self.lock().by_path.clear();
    }

    /// Caches `info` as `ino`'s attributes, fetched by a request that began
    /// at `t` and changed nothing; ignored if anything changed through this
    /// mount since.
    pub fn fetched(&self, t: Ticket, ino: u64, info: &FileInfo) {
        let mut s = self.lock();
        if s.epoch == t.epoch {
            self.insert(&mut s, t, ino, info);
        }
    }

    /// A change made through this mount, which began at `t`: the entries
    /// of `stale` are dropped and `fresh` (what the change returned) is
    /// cached instead, unless another change happened since `t` (then it
    /// may be the older state, and is dropped too).
    pub fn changed(&self, t: Ticket, stale: &[u64], fresh: &[(u64, &FileInfo)]) {
        let mut s = self.lock();
        let current = s.epoch == t.epoch;
        s.epoch += 1;
        for ino in stale.iter().chain(fresh.iter().map(|(ino, _)| ino)) {
            s.entries.remove(ino);
        }
        if current {
            for (ino, info) in fresh {
                self.insert(&mut s, t, *ino, info);
            }
        }
    }

    fn insert(&self, s: &mut State, t: Ticket, ino: u64, info: &FileInfo) {
        let now = Instant::now();
        let expires = t.at + self.ttl;
        if expires <= now {
            return;
        }
        if s.entries.len() >= MAX_ENTRIES && !s.entries.contains_key(&ino) {
            s.entries.retain(|_, e| e.expires > now);
            if s.entries.len() >= MAX_ENTRIES {
                s.entries.clear();
            }
            let State {
                entries, by_path, ..
            } = &mut *s;
            by_path.retain(|_, ino| entries.contains_key(ino));
        }
        let info = slim(info);
        s.by_path.insert(info.path.clone(), ino);
        s.entries.insert(ino, Entry { info, expires });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: u64, length: u64) -> FileInfo {
        FileInfo {
            id,
            length,
            ..Default::default()
        }
    }

    #[test]
    fn entries_live_the_ttl_from_the_request_and_report_what_is_left() {
        let c = AttrCache::new(Duration::from_millis(200));
        let t = c.ticket();
        c.fetched(t, 5, &info(5, 1));
        let (got, left) = c.get(5).unwrap();
        assert_eq!(got.length, 1);
        assert!(left <= Duration::from_millis(200) && !left.is_zero());
        std::thread::sleep(Duration::from_millis(250));
        assert!(c.get(5).is_none(), "expired");
        // A request that began too long ago fills nothing.
        c.fetched(t, 6, &info(6, 1));
        assert!(c.get(6).is_none());
    }

    #[test]
    fn lookups_by_path_check_the_entry_and_stop_when_paths_move() {
        let c = AttrCache::new(Duration::from_secs(10));
        let at = |id, path: &str| FileInfo {
            id,
            path: path.into(),
            ..Default::default()
        };
        let t = c.ticket();
        c.fetched(t, 5, &at(5, "/d/a"));
        c.fetched(t, 6, &at(6, "/d/b"));
        assert_eq!(c.lookup("/d/a").unwrap().0, 5);
        assert!(c.lookup("/d/c").is_none());
        // An unlink drops the entry, and with it the answer for its path.
        c.changed(c.ticket(), &[5], &[]);
        assert!(c.lookup("/d/a").is_none());
        // An entry fetched again under another name answers only that one.
        c.fetched(c.ticket(), 6, &at(6, "/e/b"));
        assert!(c.lookup("/d/b").is_none());
        assert_eq!(c.lookup("/e/b").unwrap().0, 6);
        // A rename may move whole subtrees: no path is trusted after it.
        c.paths_moved();
        assert!(c.lookup("/e/b").is_none());
        assert!(c.get(6).is_some(), "attributes by inode stay");
    }

    #[test]
    fn zero_ttl_disables_the_cache() {
        let c = AttrCache::new(Duration::ZERO);
        let t = c.ticket();
        c.fetched(t, 5, &info(5, 1));
        c.changed(t, &[], &[(5, &info(5, 2))]);
        assert!(c.get(5).is_none());
    }

    #[test]
    fn changes_replace_entries_and_void_fetches_under_way() {
        let c = AttrCache::new(Duration::from_secs(10));
        let early = c.ticket();
        c.fetched(early, 1, &info(1, 0));
        c.fetched(early, 5, &info(5, 0));
        // A change (an unlink of 5 in 1) began, then a fetch of 1 began;
        // the change's reply arrives first.
        let change = c.ticket();
        let fetch = c.ticket();
        c.changed(change, &[5], &[(1, &info(1, 7))]);
        assert!(c.get(5).is_none());
        assert_eq!(c.get(1).unwrap().0.length, 7);
        // The fetch may describe 1 before the change: not cached.
        c.fetched(fetch, 1, &info(1, 0));
        assert_eq!(c.get(1).unwrap().0.length, 7);
        // Of two overlapping changes, the one answered last may be the
        // older state: both entries go.
        let a = c.ticket();
        let b = c.ticket();
        c.changed(b, &[], &[(1, &info(1, 9))]);
        c.changed(a, &[], &[(1, &info(1, 8))]);
        assert!(c.get(1).is_none());
    }

    #[test]
    fn entries_are_slim_and_bounded() {
        let c = AttrCache::new(Duration::from_secs(10));
        let t = c.ticket();
        let mut big = info(3, 1);
        big.blocks = vec![Default::default(); 4];
        big.parent = Some(Box::new(info(1, 0)));
        c.fetched(t, 3, &big);
        let (got, _) = c.get(3).unwrap();
        assert!(got.blocks.is_empty() && got.parent.is_none());
        for ino in 10..10 + MAX_ENTRIES as u64 {
            c.fetched(t, ino, &info(ino, 0));
        }
        assert!(c.lock().entries.len() <= MAX_ENTRIES);
    }
}
