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
                self.fix_primary(id);
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
                let inode = self.inodes.get_mut(&id).ok_or_else(|| missing(id))?;
                // A hard link's secondary entry moves without changing the
                // inode's primary entry.
                let mut moved_dir = false;
                if inode.parent_id == r.src_parent_id && inode.name == r.src_name {
                    inode.parent_id = r.dst_parent_id;
                    inode.name = r.dst_name.clone();
                    moved_dir = inode.is_dir();
                }
                inode.ctime_ns = r.time_ns;
                if moved_dir {
                    self.count_subdir(r.src_parent_id, false);
                    self.count_subdir(r.dst_parent_id, true);
                }
                if let Some(old) = replaced {
                    // Replacing another link of the same inode merges two
                    // entries into one.
                    self.unlink(old, r.time_ns)?;
                    self.fix_primary(old);
                    self.fix_primary(id);
                }
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
            Entry::AddLink(l) => {
                let inode = self.inodes.get(&l.id).ok_or_else(|| missing(l.id))?;
                if inode.is_dir() {
                    return Err(format!("hard link to directory {}", l.id));
                }
                self.insert_link(l.parent_id, &l.name, l.id)?;
                if let Some(inode) = self.inodes.get_mut(&l.id) {
                    inode.nlink += 1;
                    inode.ctime_ns = l.time_ns;
                }
                self.touch_dir(l.parent_id, l.time_ns);
            }
            Entry::Exchange(x) => {
                let get = |ns: &Namespace, dir: u64, name: &str| {
                    ns.children
                        .get(&dir)
                        .and_then(|d| d.get(name))
                        .copied()
                        .ok_or_else(|| format!("no entry {name:?} in {dir}"))
                };
                let a = get(self, x.a_parent_id, &x.a_name)?;
                let b = get(self, x.b_parent_id, &x.b_name)?;
                if let Some(d) = self.children.get_mut(&x.a_parent_id) {
                    d.insert(x.a_name.clone(), b);
                }
                if let Some(d) = self.children.get_mut(&x.b_parent_id) {
                    d.insert(x.b_name.clone(), a);
                }
                if a != b {
                    for (id, from, to) in [
                        (a, (x.a_parent_id, &x.a_name), (x.b_parent_id, &x.b_name)),
                        (b, (x.b_parent_id, &x.b_name), (x.a_parent_id, &x.a_name)),
                    ] {
                        let inode = self.inodes.get_mut(&id).ok_or_else(|| missing(id))?;
                        let mut moved_dir = false;
                        if inode.parent_id == from.0 && inode.name == *from.1 {
                            inode.parent_id = to.0;
                            inode.name = to.1.clone();
                            moved_dir = inode.is_dir();
                        }
                        inode.ctime_ns = x.time_ns;
                        if moved_dir {
                            self.count_subdir(from.0, false);
                            self.count_subdir(to.0, true);
                        }
                    }
                }
                self.touch_dir(x.a_parent_id, x.time_ns);
                self.touch_dir(x.b_parent_id, x.time_ns);
            }
            Entry::UfsIntent(i) => self.add_intent(seq, i.clone())?,
            Entry::UfsIntentProgress(p) => self.progress_intent(p.intent, p.steps_done)?,
            Entry::UfsIntentDone(d) => self.end_intent(d.intent)?,
            Entry::CommitVersion(c) => {
                let inode = self.inodes.get_mut(&c.id).ok_or_else(|| missing(c.id))?;
                if !inode.is_file() {
                    return Err(format!("version committed of non-file inode {}", c.id));
                }
                if inode.container_id != c.container_id {
                    inode.container_id = c.container_id;
                    inode.block_size = c.block_size;
                    self.next_container_id =
                        self.next_container_id.max(c.container_id.saturating_add(1));
                }
                inode.length = c.length;
                inode.completed = true;
                inode.persisted = c.persisted;
                inode.mtime_ns = c.mtime_ns;
                inode.ctime_ns = c.ctime_ns;
                if let Some(m) = c.mode {
                    inode.mode = m;
                }
                if let Some(o) = &c.owner {
                    inode.owner = o.clone();
                }
                if let Some(g) = &c.group {
                    inode.group = g.clone();
                }
                if let Some(t) = c.atime_ns {
                    inode.atime_ns = t;
                }
            }
            Entry::NewVersion(v) => {
                let inode = self.inodes.get_mut(&v.id).ok_or_else(|| missing(v.id))?;
                if !inode.is_file() {
                    return Err(format!("new version of non-file inode {}", v.id));
                }
                inode.container_id = v.container_id;
                inode.block_size = v.block_size;
                inode.length = 0;
                inode.completed = false;
                inode.persisted = false;
                inode.mtime_ns = v.mtime_ns;
                inode.ctime_ns = v.mtime_ns;
                self.next_container_id =
                    self.next_container_id.max(v.container_id.saturating_add(1));
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
            if inode.id != ROOT_ID {
                self.count_subdir(inode.parent_id, true);
            }
        }
        self.next_inode_id = self.next_inode_id.max(inode.id + 1);
        if inode.container_id != 0 {
            self.next_container_id = self.next_container_id.max(inode.container_id + 1);
        }
        self.inodes.insert(inode.id, inode);
        Ok(())
    }

    /// Adds directory entry `name` in `parent_id` for the existing inode
    /// `id` without counting it (also used by checkpoint load, whose inode
    /// records already count their links).
    pub fn insert_link(&mut self, parent_id: u64, name: &str, id: u64) -> Result<(), String> {
        if !self.inodes.contains_key(&id) {
            return Err(missing(id));
        }
        if !self.is_dir(parent_id) {
            return Err(format!("link into non-directory {parent_id}"));
        }
        let dir = self
            .children
            .get_mut(&parent_id)
            .ok_or_else(|| missing(parent_id))?;
        if dir.contains_key(name) {
            return Err(format!("entry {name:?} exists in directory {parent_id}"));
        }
        dir.insert(name.to_string(), id);
        Ok(())
    }

    /// After an entry of inode `id` went away: if it was the primary one
    /// and the inode lives on through other links, the smallest remaining
    /// (parent id, name) becomes primary. Deterministic, so replay agrees.
    fn fix_primary(&mut self, id: u64) {
        let Some(inode) = self.inodes.get(&id) else {
            return;
        };
        let still = self
            .children
            .get(&inode.parent_id)
            .and_then(|d| d.get(&inode.name))
            == Some(&id);
        if still {
            return;
        }
        if let Some((parent, name)) = self.links_of(id).into_iter().next() {
            if let Some(inode) = self.inodes.get_mut(&id) {
                inode.parent_id = parent;
                inode.name = name;
            }
        }
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
            if let Some(gone) = self.inodes.remove(&id) {
                if gone.is_dir() {
                    self.subdirs.remove(&id);
                    self.count_subdir(gone.parent_id, false);
                }
            }
        }
        Ok(())
    }

    /// Directory `parent` gained (`true`) or lost a child directory.
    fn count_subdir(&mut self, parent: u64, gained: bool) {
        let n = self.subdirs.entry(parent).or_default();
        if gained {
            *n += 1;
        } else {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.subdirs.remove(&parent);
            }
        }
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
