//! The kernel's inode numbers and the Alluxio paths behind them.
//!
//! Inode numbers are the master's inode ids, except that the mounted
//! directory is always `1` (FUSE_ROOT_ID). The client API is path based, so
//! every inode the kernel knows maps to its current path; the map is filled
//! by the replies that hand inodes to the kernel (lookup, readdirplus,
//! create, mkdir), counts those lookups, and drops an entry when the kernel
//! forgets it. Rename moves a subtree's paths; unlink removes the entry.
//!
//! Committing a staged file keeps its master id (the master writes a new
//! version in place), so no aliasing is needed.

use std::collections::HashMap;
use std::sync::Mutex;

use fuser::INodeNo;

/// The root inode number the kernel uses.
pub const ROOT: u64 = 1;

struct Entry {
    /// Known paths of the inode, the one to use first; several for a file
    /// with hard links, none once every known name was unlinked.
    paths: Vec<String>,
    lookups: u64,
}

#[derive(Default)]
struct Table {
    by_ino: HashMap<u64, Entry>,
}

/// The inode table; shared by all request handlers.
pub struct Inodes {
    root_id: u64,
    table: Mutex<Table>,
}

fn child_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

impl Inodes {
    /// A table whose root (`1`) is `root_path`, master id `root_id`.
    pub fn new(root_path: &str, root_id: u64) -> Inodes {
        let mut table = Table::default();
        table.by_ino.insert(
            ROOT,
            Entry {
                paths: vec![root_path.to_string()],
                lookups: 1,
            },
        );
        Inodes {
            root_id,
            table: Mutex::new(table),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding the lock aborts the daemon (panic = abort
        // is not set, but no code below can panic with the lock held).
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The inode number the kernel sees for master id `id`.
    pub fn ino_of(&self, id: u64) -> u64 {
        if id == self.root_id {
            return ROOT;
        }
        id
    }

    /// The path of inode `ino`, if the kernel was told about it.
    pub fn path(&self, ino: INodeNo) -> Option<String> {
        self.lock()
            .by_ino
            .get(&ino.0)
            .and_then(|e| e.paths.first().cloned())
    }

    /// Every known path of inode `ino` (several for hard links).
    pub fn paths(&self, ino: INodeNo) -> Vec<String> {
        self.lock()
            .by_ino
            .get(&ino.0)
            .map(|e| e.paths.clone())
            .unwrap_or_default()
    }

    /// The path of `name` in directory `parent`.
    pub fn child(&self, parent: INodeNo, name: &str) -> Option<String> {
        self.path(parent).map(|p| child_path(&p, name))
    }

    /// The inodes the kernel knows at `path` (one, unless the table is
    /// stale).
    pub fn at(&self, path: &str) -> Vec<u64> {
        self.lock()
            .by_ino
            .iter()
            .filter(|(_, e)| e.paths.iter().any(|p| p == path))
            .map(|(ino, _)| *ino)
            .collect()
    }

    /// Records that the kernel received inode `ino` at `path` once more.
    pub fn remember(&self, ino: u64, path: &str) {
        if ino == ROOT {
            return;
        }
        let mut t = self.lock();
        let e = t.by_ino.entry(ino).or_insert_with(|| Entry {
            paths: Vec::new(),
            lookups: 0,
        });
        e.paths.retain(|p| p != path);
        e.paths.insert(0, path.to_string());
        e.lookups += 1;
    }

    /// The kernel dropped `n` references to `ino`; true when it holds none
    /// any more (and the entry is gone).
    pub fn forget(&self, ino: u64, n: u64) -> bool {
        if ino == ROOT {
            return false;
        }
        let mut t = self.lock();
        if let Some(e) = t.by_ino.get_mut(&ino) {
            e.lookups = e.lookups.saturating_sub(n);
            if e.lookups == 0 {
                t.by_ino.remove(&ino);
                return true;
            }
        }
        false
    }

    /// `from` (and everything under it) is now at `to`; whatever was at `to`
    /// is gone.
    pub fn renamed(&self, from: &str, to: &str) {
        let mut t = self.lock();
        let prefix = format!("{from}/");
        for e in t.by_ino.values_mut() {
            for p in e.paths.iter_mut() {
                if p == from {
                    *p = to.to_string();
                } else if let Some(rest) = p.strip_prefix(&prefix) {
                    *p = child_path(to, rest);
                }
            }
            if e.paths.len() > 1 {
                let mut seen = std::collections::HashSet::new();
                e.paths.retain(|p| seen.insert(p.clone()));
            }
        }
    }

    /// The entries `a` and `b` (and everything under them) swapped places.
    pub fn exchanged(&self, a: &str, b: &str) {
        let mut t = self.lock();
        let (pa, pb) = (format!("{a}/"), format!("{b}/"));
        for e in t.by_ino.values_mut() {
            for p in e.paths.iter_mut() {
                if p == a {
                    *p = b.to_string();
                } else if p == b {
                    *p = a.to_string();
                } else if let Some(rest) = p.strip_prefix(&pa) {
                    *p = child_path(b, rest);
                } else if let Some(rest) = p.strip_prefix(&pb) {
                    *p = child_path(a, rest);
                }
            }
        }
    }

    /// The name `path` was removed: no inode is reached through it any
    /// more. An inode left with no known name keeps its lookup count (so
    /// `forget` balances) but has no path a later commit could write to;
    /// an open handle keeps working on its staged copy. A hard-linked file
    /// keeps its other names. Returns the inodes that lost the name.
    pub fn removed(&self, path: &str) -> Vec<u64> {
        let mut t = self.lock();
        let mut lost = Vec::new();
        for (ino, e) in t.by_ino.iter_mut() {
            if *ino != ROOT && e.paths.iter().any(|p| p == path) {
                e.paths.retain(|p| p != path);
                lost.push(*ino);
            }
        }
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_moves_subtree_and_forget_drops() {
        let t = Inodes::new("/", 1);
        t.remember(5, "/a");
        t.remember(6, "/a/b");
        t.remember(7, "/ab");
        t.renamed("/a", "/x");
        assert_eq!(t.path(INodeNo(5)).unwrap(), "/x");
        assert_eq!(t.path(INodeNo(6)).unwrap(), "/x/b");
        assert_eq!(t.path(INodeNo(7)).unwrap(), "/ab");
        t.forget(6, 1);
        assert!(t.path(INodeNo(6)).is_none());
        assert_eq!(t.child(INodeNo(ROOT), "c").unwrap(), "/c");
    }

    #[test]
    fn sub_path_mount_maps_its_root_to_one() {
        let t = Inodes::new("/data", 42);
        assert_eq!(t.ino_of(42), ROOT);
        assert_eq!(t.ino_of(9), 9);
        assert_eq!(t.child(INodeNo(ROOT), "f").unwrap(), "/data/f");
    }

    #[test]
    fn exchange_swaps_subtrees() {
        let t = Inodes::new("/", 1);
        t.remember(5, "/a");
        t.remember(6, "/a/x");
        t.remember(7, "/b");
        t.exchanged("/a", "/b");
        assert_eq!(t.path(INodeNo(5)).unwrap(), "/b");
        assert_eq!(t.path(INodeNo(6)).unwrap(), "/b/x");
        assert_eq!(t.path(INodeNo(7)).unwrap(), "/a");
    }

    #[test]
    fn hard_links_keep_the_other_name() {
        let t = Inodes::new("/", 1);
        t.remember(5, "/a");
        t.remember(5, "/b");
        assert_eq!(t.path(INodeNo(5)).unwrap(), "/b");
        assert_eq!(t.at("/b"), vec![5]);
        assert_eq!(t.removed("/b"), vec![5]);
        assert!(t.at("/b").is_empty());
        assert_eq!(t.path(INodeNo(5)).unwrap(), "/a");
        t.renamed("/a", "/c");
        assert_eq!(t.path(INodeNo(5)).unwrap(), "/c");
        t.removed("/c");
        assert!(t.path(INodeNo(5)).is_none());
    }
}
