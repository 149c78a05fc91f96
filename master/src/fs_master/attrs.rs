//! setAttribute: mode, owner, group and times.

use alluxio_common::{time, FsResult};
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{JournalEntry, SetAttribute};
use alluxio_proto::{FileInfo, SetAttributeRequest};

use super::operations::Begin;
use super::{parse_path, FsMaster};

impl FsMaster {
    /// Changes attributes of `path` (and everything below it if recursive).
    pub async fn set_attribute(&self, req: SetAttributeRequest) -> FsResult<FileInfo> {
        let path = parse_path(&req.path)?;
        let _op = match self.begin(&req.op_id).await? {
            Begin::Replayed(id) => {
                return self.info_of(id, &path);
            }
            Begin::Fresh(guard) => guard,
        };
        self.load_path(&path).await?;
        alluxio_common::failpoint::pause("set_attribute_before_commit", &path.to_string());
        let done = {
            let mut ns = self.write();
            let inode = ns.resolve(&path)?;
            let inode_id = inode.id;
            let mut ids = vec![inode.id];
            if req.recursive {
                ids.extend(ns.descendants_post_order(inode.id));
            }
            let now = time::now_ns();
            let entries = ids
                .into_iter()
                .map(|id| JournalEntry {
                    op_id: None,
                    op_result: 0,
                    entry: Some(Entry::SetAttribute(SetAttribute {
                        id,
                        mode: req.mode.map(|m| m & 0o7777),
                        owner: req.owner.clone(),
                        group: req.group.clone(),
                        mtime_ns: req.mtime_ns,
                        atime_ns: req.atime_ns,
                        ctime_ns: now,
                    })),
                })
                .collect();
            self.commit(&mut ns, entries, req.op_id, inode_id)
        };
        done.await?;
        let ns = self.read();
        let inode = ns.resolve(&path)?;
        self.info(&ns, inode, &path)
    }
}
