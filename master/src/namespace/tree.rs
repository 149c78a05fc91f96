//! The inode table and directory entries, with path resolution.

use std::collections::{BTreeMap, HashMap, VecDeque};

use alluxio_common::{AlluxioPath, FsError, FsResult};

use super::inode::{Inode, InodeExt, ROOT_ID};
use super::mount_table::MountTable;

/// The whole namespace held by a master.
#[derive(Debug, Default)]
pub struct Namespace {
    pub(crate) inodes: HashMap<u64, Inode>,
    /// Directory id -> name -> child id.
    pub(crate) children: HashMap<u64, BTreeMap<String, u64>>,
    /// Directory id -> how many of its children are directories (absent:
    /// none), kept by `apply` where a directory gains or loses a parent, so
    /// a directory's link count costs no walk of its entries.
    pub(crate) subdirs: HashMap<u64, u32>,
    pub(crate) mounts: MountTable,
    /// Next unused inode id.
    pub(crate) next_inode_id: u64,
    /// Next unused block container id.
    pub(crate) next_container_id: u64,
    /// Sequence number of the last applied entry.
    pub(crate) last_seq: u64,
    /// Term of the last applied entry.
    pub(crate) term: u64,
    /// Results of recent mutations by operation id, so a retried RPC gets
    /// the original answer (journaled with the entries, kept in checkpoints).
    pub(crate) retry_cache: HashMap<(u64, u64), u64>,
    retry_order: VecDeque<(u64, u64)>,
    /// UFS changes journaled and not yet done, by sequence number
    /// (`intents.rs`).
    pub(crate) intents: BTreeMap<u64, alluxio_proto::journal::PendingIntent>,
}

/// How many operation results the retry cache remembers.
pub const RETRY_CACHE_CAPACITY: usize = 1_000_000;

/// The outcome of walking a path.
#[derive(Debug)]
pub enum Lookup {
    /// Every component exists; the last inode's id.
    Found(u64),
    /// Components from `depth` on are missing; `parent` is the deepest
    /// existing directory.
    Missing { parent: u64, depth: usize },
}

impl Namespace {
    /// An empty namespace (no root yet: the first leader journals it).
    pub fn new() -> Self {
        Namespace {
            next_inode_id: ROOT_ID + 1,
            next_container_id: 1,
            ..Default::default()
        }
    }

    /// Sequence number of the last applied entry.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Term of the last applied entry.
    pub fn term(&self) -> u64 {
        self.term
    }

    /// The recorded result of operation `op`, if it was applied.
    pub fn retried(&self, op: &alluxio_proto::OperationId) -> Option<u64> {
        self.retry_cache.get(&(op.high, op.low)).copied()
    }

    /// Remembers the result of operation `op`.
    pub fn remember(&mut self, op: &alluxio_proto::OperationId, result: u64) {
        let key = (op.high, op.low);
        if self.retry_cache.insert(key, result).is_none() {
            self.retry_order.push_back(key);
            while self.retry_order.len() > RETRY_CACHE_CAPACITY {
                if let Some(old) = self.retry_order.pop_front() {
                    self.retry_cache.remove(&old);
                }
            }
        }
    }

    /// The retry cache, oldest first (for checkpoints).
    pub fn retry_entries(&self) -> impl Iterator<Item = ((u64, u64), u64)> + '_ {
        self.retry_order
            .iter()
            .filter_map(|k| self.retry_cache.get(k).map(|r| (*k, *r)))
    }

    /// Number of inodes.
    pub fn inode_count(&self) -> usize {
        self.inodes.len()
    }

    /// The mount table.
    pub fn mounts(&self) -> &MountTable {
        &self.mounts
    }

    /// Whether the root exists.
    pub fn has_root(&self) -> bool {
        self.inodes.contains_key(&ROOT_ID)
    }

    /// The container id the next new version gets (every journaled one is
    /// below it).
    pub fn next_container_id(&self) -> u64 {
        self.next_container_id
    }

    /// The inode with `id`.
    pub fn inode(&self, id: u64) -> Option<&Inode> {
        self.inodes.get(&id)
    }

    /// Every file whose current version is not complete, as (inode id,
    /// container id).
    pub fn incomplete_files(&self) -> Vec<(u64, u64)> {
        self.inodes
            .values()
            .filter(|i| i.is_file() && !i.completed)
            .map(|i| (i.id, i.container_id))
            .collect()
    }

    /// The entries of directory `id`, in name order.
    pub fn children(&self, id: u64) -> Option<&BTreeMap<String, u64>> {
        self.children.get(&id)
    }

    /// Walks `path` as far as it exists.
    pub fn lookup(&self, path: &AlluxioPath) -> FsResult<Lookup> {
        let mut cur = ROOT_ID;
        if !self.inodes.contains_key(&ROOT_ID) {
            return Err(FsError::Unavailable("namespace has no root yet".into()));
        }
        for (depth, name) in path.components().iter().enumerate() {
            let Some(entries) = self.children.get(&cur) else {
                let so_far =
                    AlluxioPath::parse(&format!("/{}", path.components()[..depth].join("/")))
                        .map(|p| p.to_string())
                        .unwrap_or_default();
                return Err(FsError::NotDirectory(so_far));
            };
            match entries.get(name) {
                Some(id) => cur = *id,
                None => return Ok(Lookup::Missing { parent: cur, depth }),
            }
        }
        Ok(Lookup::Found(cur))
    }

    /// The inode at `path`, or NotFound.
    pub fn resolve(&self, path: &AlluxioPath) -> FsResult<&Inode> {
        match self.lookup(path)? {
            Lookup::Found(id) => self
                .inodes
                .get(&id)
                .ok_or_else(|| FsError::Internal(format!("dangling entry for {path}"))),
            Lookup::Missing { .. } => Err(FsError::NotFound(path.to_string())),
        }
    }

    /// The full path of inode `id` through its primary parent links.
    pub fn path_of(&self, id: u64) -> FsResult<AlluxioPath> {
        let mut names = Vec::new();
        let mut cur = id;
        while cur != ROOT_ID {
            let inode = self
                .inodes
                .get(&cur)
                .ok_or_else(|| FsError::Internal(format!("inode {cur} has no path")))?;
            names.push(inode.name.as_str());
            cur = inode.parent_id;
            if names.len() > 4096 {
                return Err(FsError::Internal(format!("cycle above inode {id}")));
            }
        }
        names.reverse();
        AlluxioPath::parse(&format!("/{}", names.join("/")))
    }

    /// Every inode below directory `id` (not `id` itself), children before
    /// their parents, for recursive deletion.
    pub fn descendants_post_order(&self, id: u64) -> Vec<u64> {
        let mut out = Vec::new();
        let mut stack = vec![(id, false)];
        while let Some((cur, visited)) = stack.pop() {
            if visited {
                if cur != id {
                    out.push(cur);
                }
                continue;
            }
            stack.push((cur, true));
            if let Some(entries) = self.children.get(&cur) {
                for child in entries.values() {
                    stack.push((*child, false));
                }
            }
        }
        out
    }

    /// Every directory entry (parent id, name) naming inode `id`, smallest
    /// first. A scan of all directories: only used for inodes with several
    /// links.
    pub fn links_of(&self, id: u64) -> Vec<(u64, String)> {
        let Some(inode) = self.inodes.get(&id) else {
            return Vec::new();
        };
        let primary_holds = self
            .children
            .get(&inode.parent_id)
            .and_then(|d| d.get(&inode.name))
            == Some(&id);
        if inode.nlink <= 1 && primary_holds {
            return vec![(inode.parent_id, inode.name.clone())];
        }
        let mut out: Vec<(u64, String)> = self
            .children
            .iter()
            .flat_map(|(dir, entries)| {
                entries
                    .iter()
                    .filter(|(_, c)| **c == id)
                    .map(move |(n, _)| (*dir, n.clone()))
            })
            .collect();
        out.sort();
        out
    }

    /// How many of directory `id`'s children are directories.
    pub fn subdir_count(&self, id: u64) -> u32 {
        let n = self.subdirs.get(&id).copied().unwrap_or(0);
        // Every debug build (the tests' processes) checks the count.
        debug_assert_eq!(
            n as usize,
            self.children(id)
                .map_or(0, |c| c.values().filter(|c| self.is_dir(**c)).count()),
            "subdirectory count of {id}"
        );
        n
    }

    /// Whether `id` is a directory with entries.
    pub fn has_children(&self, id: u64) -> bool {
        self.children.get(&id).is_some_and(|c| !c.is_empty())
    }

    /// Whether `inode` is a directory.
    pub fn is_dir(&self, id: u64) -> bool {
        self.inodes.get(&id).is_some_and(|i| i.is_dir())
    }
}
