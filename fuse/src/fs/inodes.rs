//! The kernel's inode numbers and the Alluxio paths behind them.
//!
//! Inode numbers are the master's inode ids, except that the mounted
//! directory is always `1` (FUSE_ROOT_ID). The client API is path based, so
//! every inode the kernel knows maps to its current path; the map is filled
//! by the replies that hand inodes to the kernel (lookup, readdirplus,
//! create, mkdir), counts those lookups, and drops an entry when the kernel
//! forgets it. Rename moves a subtree's paths; unlink removes the entry.
//!
//! Committing a staged file gives it a new master id (a new version is a new
//! inode). The kernel must keep seeing the inode it already has, so the new
//! id is recorded as an alias of the old number.

use std::collections::HashMap;
use std::sync::Mutex;

use fuser::INodeNo;

/// The root inode number the kernel uses.
pub const ROOT: u64 = 1;

struct Entry {
    path: String,
    lookups: u64,
}

#[derive(Default)]
struct Table {
    by_ino: HashMap<u64, Entry>,
    /// Master id → the inode number the kernel knows that file by.
    alias: HashMap<u64, u64>,
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
                path: root_path.to_string(),
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
        self.lock().alias.get(&id).copied().unwrap_or(id)
    }

    /// The path of inode `ino`, if the kernel was told about it.
    pub fn path(&self, ino: INodeNo) -> Option<String> {
        self.lock()
            .by_ino
            .get(&ino.0)
            .filter(|e| !e.path.is_empty())
            .map(|e| e.path.clone())
    }

    /// The path of `name` in directory `parent`.
    pub fn child(&self, parent: INodeNo, name: &str) -> Option<String> {
        self.path(parent).map(|p| child_path(&p, name))
    }

    /// Records that the kernel received inode `ino` at `path` once more.
    pub fn remember(&self, ino: u64, path: &str) {
        if ino == ROOT {
            return;
        }
        let mut t = self.lock();
        let e = t.by_ino.entry(ino).or_insert_with(|| Entry {
            path: path.to_string(),
            lookups: 0,
        });
        e.path = path.to_string();
        e.lookups += 1;
    }

    /// The kernel dropped `n` references to `ino`.
    pub fn forget(&self, ino: u64, n: u64) {
        if ino == ROOT {
            return;
        }
        let mut t = self.lock();
        if let Some(e) = t.by_ino.get_mut(&ino) {
            e.lookups = e.lookups.saturating_sub(n);
            if e.lookups == 0 {
                t.by_ino.remove(&ino);
                t.alias.retain(|_, v| *v != ino);
            }
        }
    }

    /// Records that master id `new_id` is the file the kernel knows as `ino`.
    pub fn alias(&self, new_id: u64, ino: u64) {
        if new_id != ino {
            self.lock().alias.insert(new_id, ino);
        }
    }

    /// `from` (and everything under it) is now at `to`; whatever was at `to`
    /// is gone.
    pub fn renamed(&self, from: &str, to: &str) {
        let mut t = self.lock();
        let prefix = format!("{from}/");
        for e in t.by_ino.values_mut() {
            if e.path == from {
                e.path = to.to_string();
            } else if let Some(rest) = e.path.strip_prefix(&prefix) {
                e.path = child_path(to, rest);
            }
        }
    }

    /// The file at `path` was removed: its inode no longer has a path (an
    /// open handle keeps working on its staged copy but never commits).
    pub fn removed(&self, path: &str) {
        let mut t = self.lock();
        let gone: Vec<u64> = t
            .by_ino
            .iter()
            .filter(|(ino, e)| **ino != ROOT && e.path == path)
            .map(|(ino, _)| *ino)
            .collect();
        for ino in gone {
            if let Some(e) = t.by_ino.get_mut(&ino) {
                // Keep the lookup count so `forget` balances, but point the
                // entry nowhere a later commit could write to.
                e.path = String::new();
            }
        }
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
    fn sub_path_mount_maps_its_root_to_one_and_aliases_new_versions() {
        let t = Inodes::new("/data", 42);
        assert_eq!(t.ino_of(42), ROOT);
        assert_eq!(t.child(INodeNo(ROOT), "f").unwrap(), "/data/f");
        t.remember(9, "/data/f");
        t.alias(10, 9);
        assert_eq!(t.ino_of(10), 9);
        t.forget(9, 1);
        assert_eq!(t.ino_of(10), 10);
    }
}
