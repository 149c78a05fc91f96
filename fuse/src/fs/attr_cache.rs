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
//! `attr_timeout` bound.
//!
//! A name is known missing only from a *complete listing* of its
//! directory: the empty one of a directory this mount just made, or one a
//! lookup fetched whole to refresh a small directory it keeps a listing of
//! (the master then also merges names added to the directory's UFS since
//! it loaded it, as a lookup of such a name would have found them; an
//! `opendir` listing lacks those and is not used). Changes made through this mount add and remove names
//! in the listings they touch (the kernel serializes them per directory);
//! a change that failed, which may still have happened, drops the
//! directory's listing. A listing, too, lives `attr_timeout` from the
//! request that fetched it, so a name another client creates is seen as
//! missing here for at most that long — as an entry another client
//! removes stays visible. Without it, every create paid a master call for
//! the kernel's lookup of the name first.

use std::collections::{HashMap, HashSet};
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

/// The complete set of names of a directory, until `expires`.
struct Listing {
    names: HashSet<String>,
    expires: Instant,
}

/// Largest directory whose listing is kept (and refreshed by a lookup).
pub const MAX_LISTED: usize = 16_384;
/// Most names kept over all listings; past it, listings are dropped.
const MAX_LISTED_NAMES: usize = 4 * MAX_LISTED;

struct State {
    entries: HashMap<u64, Entry>,
    /// Which inode each cached entry's path named when it was cached;
    /// checked against the entry on use, cleared when paths move.
    by_path: HashMap<String, u64>,
    /// Moves on at every change made through this mount.
    epoch: u64,
    /// Complete listings by directory inode number.
    listings: HashMap<u64, Listing>,
    /// When each directory's listing last expired or was refreshed by a
    /// lookup (a refresh is tried at most once per `ttl`).
    refreshed: HashMap<u64, Instant>,
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
                listings: HashMap::new(),
                refreshed: HashMap::new(),
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

    /// Whether `name` is known missing from directory `dir` (see the
    /// module's documentation on listings).
    pub fn missing(&self, dir: u64, name: &str) -> bool {
        let mut s = self.lock();
        let now = Instant::now();
        match s.listings.get(&dir) {
            Some(l) if l.expires > now => !l.names.contains(name),
            Some(_) => {
                s.listings.remove(&dir);
                false
            }
            None => false,
        }
    }

    /// Whether a lookup in `dir` should fetch its whole listing instead of
    /// one name: its listing, small enough to keep, expired, and no refresh
    /// was tried within `ttl`. Marks the attempt.
    pub fn should_refresh(&self, dir: u64) -> bool {
        let mut s = self.lock();
        let now = Instant::now();
        if s.listings.get(&dir).is_some_and(|l| l.expires > now) {
            return false;
        }
        match s.refreshed.get(&dir) {
            Some(at) if now.duration_since(*at) >= self.ttl => {
                s.refreshed.insert(dir, now);
                true
            }
            _ => false,
        }
    }

    /// Keeps `names`, the complete listing of `dir` fetched by a request
    /// that began at `t`, unless anything changed through this mount since
    /// or the directory is too large to keep.
    pub fn listed<'a>(&self, t: Ticket, dir: u64, names: impl IntoIterator<Item = &'a str>) {
        let names: HashSet<String> = names.into_iter().map(str::to_string).collect();
        let mut s = self.lock();
        if s.epoch == t.epoch && names.len() <= MAX_LISTED {
            self.keep_listing(&mut s, t, dir, names);
        }
    }

    /// Directory `dir` was just made through this mount: it is empty.
    pub fn made_empty(&self, t: Ticket, dir: u64) {
        let mut s = self.lock();
        self.keep_listing(&mut s, t, dir, HashSet::new());
    }

    fn keep_listing(&self, s: &mut State, t: Ticket, dir: u64, names: HashSet<String>) {
        let expires = t.at + self.ttl;
        if expires <= Instant::now() {
            return;
        }
        let total: usize = s.listings.values().map(|l| l.names.len()).sum();
        if total + names.len() > MAX_LISTED_NAMES {
            s.listings.clear();
        }
        if s.refreshed.len() >= MAX_ENTRIES {
            s.refreshed.clear();
        }
        s.refreshed.insert(dir, t.at);
        s.listings.insert(dir, Listing { names, expires });
    }

    /// A change through this mount added `name` to `dir`.
    pub fn name_added(&self, dir: u64, name: &str) {
        let mut s = self.lock();
        if let Some(l) = s.listings.get_mut(&dir) {
            if l.names.len() < MAX_LISTED {
                l.names.insert(name.to_string());
            } else {
                s.listings.remove(&dir);
            }
        }
    }

    /// A change through this mount removed `name` from `dir`.
    pub fn name_removed(&self, dir: u64, name: &str) {
        if let Some(l) = self.lock().listings.get_mut(&dir) {
            l.names.remove(name);
        }
    }

    /// A change of `dir`'s names failed, so it may or may not have
    /// happened: its listing is no longer known.
    pub fn names_unknown(&self, dir: u64) {
        self.lock().listings.remove(&dir);
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
    fn listings_know_missing_names_until_they_expire_or_a_change_fails() {
        let c = AttrCache::new(Duration::from_millis(300));
        assert!(!c.missing(1, "a"), "nothing known without a listing");
        c.listed(c.ticket(), 1, ["a", "b"]);
        assert!(!c.missing(1, "a"));
        assert!(c.missing(1, "c"));
        c.name_added(1, "c");
        assert!(!c.missing(1, "c"));
        c.name_removed(1, "a");
        assert!(c.missing(1, "a"));
        c.names_unknown(1);
        assert!(!c.missing(1, "zz"));
        // A directory made here is empty; a listing fetched while anything
        // changed is not kept.
        c.made_empty(c.ticket(), 2);
        assert!(c.missing(2, "x"));
        let t = c.ticket();
        c.changed(c.ticket(), &[], &[]);
        c.listed(t, 3, ["a"]);
        assert!(!c.missing(3, "b"));
        assert!(!c.should_refresh(2), "the listing is fresh");
        // Expired: nothing is known, and one refresh per ttl is allowed.
        std::thread::sleep(Duration::from_millis(350));
        assert!(!c.missing(2, "x"));
        assert!(c.should_refresh(2));
        assert!(!c.should_refresh(2), "once per ttl");
        assert!(!c.should_refresh(9), "never listed");
        // Directories too large are not kept.
        let many: Vec<String> = (0..=MAX_LISTED).map(|i| i.to_string()).collect();
        c.listed(c.ticket(), 4, many.iter().map(String::as_str));
        assert!(!c.missing(4, "x"));
    }

    #[test]
    fn zero_ttl_disables_the_cache() {
        let c = AttrCache::new(Duration::ZERO);
        let t = c.ticket();
        c.fetched(t, 5, &info(5, 1));
        c.changed(t, &[], &[(5, &info(5, 2))]);
        assert!(c.get(5).is_none());
        c.made_empty(c.ticket(), 7);
        assert!(!c.missing(7, "x"));
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
