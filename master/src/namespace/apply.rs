//! Applying one journal entry to the namespace. This is the only code that
//! changes the namespace; it runs for live mutations (after validation) and
//! for replay, so the two cannot disagree. An entry that does not fit the
//! state is reported, never half-applied silently.

use std::collections::BTreeMap;

use alluxio_common::AlluxioPath;
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{InodeRecord, JournalEntry};

use super::inode::{InodeExt, ROOT_ID};
use super::mount_table::MountPoint;
use super::tree::Namespace;

impl Namespace {
    /// Applies `entry` as sequence number `seq` of `term`.
    pub fn apply(&mut self, seq: u64, term: u64, entry: &JournalEntry) -> Result<(), String> {
        let Some(e) = &entry.entry else {
            return Err("entry has no body".into());
        };
        match e {
            Entry::TermStart(t) => {
                if t.term < self.term {
                    return Err(format!("term {} after term {}", t.term, self.term));
                }
            }
            Entry::CreateInode(c) => {
                let inode = c.inode.clone().ok_or("create without inode")?;
                self.insert_inode(inode)?;
            }
            Entry::CompleteFile(c) => {
                let inode = self.inodes.get_mut(&c.id).ok_or_else(|| missing(c.id))?;
                inode.length = c.length;
                inode.completed = true;
                inode.persisted = c.persisted;
                inode.mtime_ns = c.mtime_ns;
                inode.ctime_ns = c.mtime_ns;
            }
            Entry::RemoveEntry(r) => {
                let id = self
                    .children
                    .get_mut(&r.parent_id)
                    .ok_or_else(|| missing(r.parent_id))?
                    .remove(&r.name)
                    .ok_or_else(|| format!("no entry {:?} in directory {}", r.name, r.parent_id))?;
                self.touch_dir(r.parent_id, r.time_ns);
                self.unlink(id, r.time_ns)?;
            }
            Entry::Rename(r) => {
                let id = *self
                    .children
                    .get(&r.src_parent_id)
                    .ok_or_else(|| missing(r.src_parent_id))?
                    .get(&r.src_name)
                    .ok_or_else(|| format!("no entry {:?} in {}", r.src_name, r.src_parent_id))?;
                if !self.children.contains_key(&r.dst_parent_id) {
                    return Err(missing(r.dst_parent_id));
                }
                if let Some(dir) = self.children.get_mut(&r.src_parent_id) {
                    dir.remove(&r.src_name);
                }
                let replaced = self
                    .children
                    .get_mut(&r.dst_parent_id)
                    .and_then(|d| d.insert(r.dst_name.clone(), id));
                if let Some(old) = replaced {
                    if old != id {
                        self.unlink(old, r.time_ns)?;
                    }
                }
                let inode = self.inodes.get_mut(&id).ok_or_else(|| missing(id))?;
                inode.parent_id = r.dst_parent_id;
                inode.name = r.dst_name.clone();
                inode.ctime_ns = r.time_ns;
                self.touch_dir(r.src_parent_id, r.time_ns);
                self.touch_dir(r.dst_parent_id, r.time_ns);
            }
            Entry::SetAttribute(s) => {
                let inode = self.inodes.get_mut(&s.id).ok_or_else(|| missing(s.id))?;
                if let Some(m) = s.mode {
                    inode.mode = m;
                }
                if let Some(o) = &s.owner {
                    inode.owner = o.clone();
                }
                if let Some(g) = &s.group {
                    inode.group = g.clone();
                }
                if let Some(t) = s.mtime_ns {
                    inode.mtime_ns = t;
                }
                if let Some(t) = s.atime_ns {
                    inode.atime_ns = t;
                }
                inode.ctime_ns = s.ctime_ns;
            }
            Entry::AddMount(m) => {
                let path = AlluxioPath::parse(&m.alluxio_path).map_err(|e| e.to_string())?;
                self.mounts.add(MountPoint {
                    alluxio_path: path,
                    ufs_uri: m.ufs_uri.clone(),
                    options: m
                        .options
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<BTreeMap<_, _>>(),
                });
            }
            Entry::DeleteMount(m) => {
                let path = AlluxioPath::parse(&m.alluxio_path).map_err(|e| e.to_string())?;
                self.mounts
                    .remove(&path)
                    .ok_or_else(|| format!("no mount at {path}"))?;
            }
            Entry::SetDirectoryLoaded(d) => {
                self.inodes
                    .get_mut(&d.id)
                    .ok_or_else(|| missing(d.id))?
                    .ufs_loaded = true;
            }
        }
        if let Some(op) = &entry.op_id {
            self.remember(op, entry.op_result);
        }
        self.last_seq = seq;
        self.term = term;
        Ok(())
    }

    /// Adds an inode and its directory entry (also used by checkpoint load).
    pub fn insert_inode(&mut self, inode: InodeRecord) -> Result<(), String> {
        if self.inodes.contains_key(&inode.id) {
            return Err(format!("inode {} exists already", inode.id));
        }
        if inode.id != ROOT_ID {
            let dir = self
                .children
                .get_mut(&inode.parent_id)
                .ok_or_else(|| missing(inode.parent_id))?;
            if dir.contains_key(&inode.name) {
                return Err(format!(
                    "entry {:?} exists in directory {}",
                    inode.name, inode.parent_id
                ));
            }
            dir.insert(inode.name.clone(), inode.id);
            let t = inode.crtime_ns;
            self.touch_dir(inode.parent_id, t);
        }
        if inode.is_dir() {
            self.children.entry(inode.id).or_default();
        }
        self.next_inode_id = self.next_inode_id.max(inode.id + 1);
        if inode.container_id != 0 {
            self.next_container_id = self.next_container_id.max(inode.container_id + 1);
        }
        self.inodes.insert(inode.id, inode);
        Ok(())
    }

    fn unlink(&mut self, id: u64, time_ns: i64) -> Result<(), String> {
        let inode = self.inodes.get_mut(&id).ok_or_else(|| missing(id))?;
        inode.nlink = inode.nlink.saturating_sub(1);
        inode.ctime_ns = time_ns;
        if inode.nlink == 0 || inode.is_dir() {
            if self.children.get(&id).is_some_and(|c| !c.is_empty()) {
                return Err(format!("directory {id} removed while not empty"));
            }
            self.children.remove(&id);
            self.inodes.remove(&id);
        }
        Ok(())
    }

    fn touch_dir(&mut self, id: u64, time_ns: i64) {
        if let Some(dir) = self.inodes.get_mut(&id) {
            if time_ns > dir.mtime_ns {
                dir.mtime_ns = time_ns;
            }
            if time_ns > dir.ctime_ns {
                dir.ctime_ns = time_ns;
            }
        }
    }
}

fn missing(id: u64) -> String {
    format!("inode {id} does not exist")
}
