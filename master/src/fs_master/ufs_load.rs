//! Loading metadata from the UFS: files and directories created directly in
//! the UFS appear on first access. A path is stat'ed in the UFS when it is
//! missing from the namespace; a directory's UFS listing is merged in once,
//! on its first listing, and the merge is journaled like any other change.

use alluxio_common::ufs::UfsStatus;
use alluxio_common::{time, AlluxioPath, FsResult};
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{CreateInode, InodeRecord, JournalEntry, SetDirectoryLoaded};
use alluxio_proto::FileType;

use super::info::TEMP_SUFFIX;
use super::FsMaster;
use crate::namespace::inode::InodeExt;
use crate::namespace::tree::Lookup;
use crate::namespace::Namespace;

impl FsMaster {
    /// Makes sure every component of `path` that exists in the UFS is in
    /// the namespace. Missing everywhere is not an error here.
    pub(super) async fn load_path(&self, path: &AlluxioPath) -> FsResult<()> {
        loop {
            let (child, parent_id, loc) = {
                let ns = self.read();
                let (parent, depth) = match ns.lookup(path)? {
                    Lookup::Found(_) => return Ok(()),
                    Lookup::Missing { parent, depth } => (parent, depth),
                };
                match ns.inode(parent) {
                    Some(p) if p.is_dir() && p.persisted => {}
                    _ => return Ok(()),
                }
                let child =
                    AlluxioPath::parse(&format!("/{}", path.components()[..=depth].join("/")))?;
                let loc = ns.mounts().ufs_location(&child)?;
                (child, parent, loc)
            };
            if child.name().ends_with(TEMP_SUFFIX) {
                return Ok(());
            }
            let ufs = self.ufs_for(&loc)?;
            let Some(status) = ufs.stat(&loc.path).await? else {
                return Ok(());
            };
            let done = {
                let mut ns = self.write();
                match ns.lookup(&child)? {
                    Lookup::Found(_) => None,
                    Lookup::Missing { parent, .. } if parent != parent_id => None,
                    Lookup::Missing { .. } => {
                        let entry = self.ufs_inode_entry(&mut ns, parent_id, &status);
                        Some(self.commit(&mut ns, vec![entry], None, 0))
                    }
                }
            };
            if let Some(done) = done {
                done.await?;
            }
        }
    }

    /// Merges the UFS listing of directory `path` into the namespace once.
    pub(super) async fn load_dir(&self, path: &AlluxioPath) -> FsResult<()> {
        self.merge_ufs_dir(path, false).await
    }

    /// Merges the UFS listing of directory `path` into the namespace: once
    /// (`again == false`), or again to pick up names added to the UFS since.
    pub(super) async fn merge_ufs_dir(&self, path: &AlluxioPath, again: bool) -> FsResult<()> {
        let (dir_id, loc) = {
            let ns = self.read();
            let inode = ns.resolve(path)?;
            if !inode.is_dir() || (inode.ufs_loaded && !again) || !inode.persisted {
                return Ok(());
            }
            (inode.id, ns.mounts().ufs_location(path)?)
        };
        let ufs = self.ufs_for(&loc)?;
        let listing = ufs.list(&loc.path).await?;
        let done = {
            let mut ns = self.write();
            let loaded = match ns.inode(dir_id) {
                Some(i) if i.is_dir() && (again || !i.ufs_loaded) => i.ufs_loaded,
                _ => return Ok(()),
            };
            let mut entries = Vec::new();
            for status in &listing {
                if status.name.ends_with(TEMP_SUFFIX)
                    || AlluxioPath::validate_name(&status.name).is_err()
                    || ns
                        .children(dir_id)
                        .is_some_and(|c| c.contains_key(&status.name))
                {
                    continue;
                }
                entries.push(self.ufs_inode_entry_at(&mut ns, dir_id, status, entries.len()));
            }
            if loaded && entries.is_empty() {
                return Ok(());
            }
            entries.push(JournalEntry {
                op_id: None,
                op_result: 0,
                entry: Some(Entry::SetDirectoryLoaded(SetDirectoryLoaded { id: dir_id })),
            });
            self.commit(&mut ns, entries, None, 0)
        };
        done.await
    }

    fn ufs_inode_entry(&self, ns: &mut Namespace, parent: u64, st: &UfsStatus) -> JournalEntry {
        self.ufs_inode_entry_at(ns, parent, st, 0)
    }

    /// A CreateInode for a UFS object; `offset` skips ids already handed out
    /// to earlier entries of the same (not yet applied) batch.
    fn ufs_inode_entry_at(
        &self,
        ns: &mut Namespace,
        parent: u64,
        st: &UfsStatus,
        offset: usize,
    ) -> JournalEntry {
        let now = time::now_ns();
        let mtime = if st.mtime_ns > 0 { st.mtime_ns } else { now };
        let id = ns.next_inode_id + offset as u64;
        let container_id = if st.is_dir {
            0
        } else {
            ns.next_container_id + offset as u64
        };
        let inode = InodeRecord {
            id,
            parent_id: parent,
            name: st.name.clone(),
            file_type: if st.is_dir {
                FileType::Directory
            } else {
                FileType::Regular
            } as i32,
            mode: if st.is_dir { 0o755 } else { 0o644 },
            owner: self.opts.default_owner.clone(),
            group: self.opts.default_group.clone(),
            nlink: 1,
            atime_ns: mtime,
            mtime_ns: mtime,
            ctime_ns: mtime,
            crtime_ns: mtime,
            length: st.length,
            block_size: if st.is_dir {
                0
            } else {
                self.opts.default_block_size
            },
            container_id,
            completed: true,
            persisted: true,
            ..Default::default()
        };
        JournalEntry {
            op_id: None,
            op_result: 0,
            entry: Some(Entry::CreateInode(CreateInode { inode: Some(inode) })),
        }
    }
}
