//! The namespace as checkpoint records, and back. With `apply.rs` this is
//! the only code that writes the namespace: a checkpoint holds exactly the
//! state that applying the log up to its sequence number produces.

use std::collections::VecDeque;

use alluxio_proto::journal::checkpoint_record::Record;
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{AddLink, AddMount, CheckpointHeader, JournalEntry, RetryCacheEntry};

use super::{Namespace, ROOT_ID};
use alluxio_journal::checkpoint::CheckpointEncoder;

impl Namespace {
    /// Encodes the whole namespace, parents before children, then the extra
    /// links, the retry cache, the pending UFS intents and the mount table.
    pub fn encode_checkpoint(&self) -> CheckpointEncoder {
        let mut enc = CheckpointEncoder::new(CheckpointHeader {
            last_sequence: self.last_seq(),
            term: self.term(),
            next_inode_id: self.next_inode_id,
            next_container_id: self.next_container_id,
            time_ms: alluxio_common::time::now_ms(),
        });
        let mut queue = VecDeque::from([ROOT_ID]);
        // Hard links: entries other than an inode's primary one, recorded
        // after every inode exists.
        let mut links = Vec::new();
        while let Some(id) = queue.pop_front() {
            if let Some(inode) = self.inode(id) {
                enc.push(Record::Inode(inode.clone()));
            }
            if let Some(children) = self.children(id) {
                for (name, child) in children {
                    match self.inode(*child) {
                        Some(c) if c.parent_id != id || c.name != *name => {
                            links.push(AddLink {
                                id: *child,
                                parent_id: id,
                                name: name.clone(),
                                time_ns: 0,
                            });
                        }
                        _ => queue.push_back(*child),
                    }
                }
            }
        }
        for l in links {
            enc.push(Record::Link(l));
        }
        for ((high, low), result) in self.retry_entries() {
            enc.push(Record::Retry(RetryCacheEntry {
                op_id: Some(alluxio_proto::OperationId { high, low }),
                result,
            }));
        }
        for pending in self.pending_intents() {
            enc.push(Record::Intent(pending.clone()));
        }
        for m in self.mounts().iter() {
            enc.push(Record::Mount(AddMount {
                alluxio_path: m.alluxio_path.to_string(),
                ufs_uri: m.ufs_uri.clone(),
                options: m.options.clone().into_iter().collect(),
            }));
        }
        enc
    }

    /// The namespace a checkpoint holds: its header and the records between
    /// header and footer, as `journal::checkpoint::read` verified them.
    /// Fails, naming the record, on one that does not fit.
    pub fn from_checkpoint(
        header: &CheckpointHeader,
        records: Vec<Record>,
    ) -> Result<Self, String> {
        let mut ns = Namespace::new();
        for (i, record) in records.into_iter().enumerate() {
            let result = match record {
                Record::Inode(inode) => ns.insert_inode(inode),
                Record::Mount(m) => ns.apply(
                    0,
                    header.term,
                    &JournalEntry {
                        op_id: None,
                        op_result: 0,
                        entry: Some(Entry::AddMount(m)),
                    },
                ),
                Record::Link(l) => ns.insert_link(l.parent_id, &l.name, l.id),
                Record::Intent(pending) => ns.restore_intent(pending),
                Record::Retry(r) => match r.op_id {
                    Some(op) => {
                        ns.remember(&op, r.result);
                        Ok(())
                    }
                    None => Err("retry cache record without an operation id".to_string()),
                },
                _ => Err("unexpected record in checkpoint body".to_string()),
            };
            result.map_err(|reason| format!("record {}: {reason}", i + 1))?;
        }
        ns.last_seq = header.last_sequence;
        ns.term = header.term;
        ns.next_inode_id = ns.next_inode_id.max(header.next_inode_id);
        ns.next_container_id = ns.next_container_id.max(header.next_container_id);
        Ok(ns)
    }
}
