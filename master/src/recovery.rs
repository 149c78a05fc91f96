//! Rebuilding the namespace from the journal: the newest checkpoint, then
//! every batch after it up to the first empty slot, verifying that the slot
//! really is the end of the log.

use std::collections::VecDeque;

use alluxio_proto::journal::checkpoint_record::Record;
use alluxio_proto::journal::CheckpointHeader;

use crate::journal::checkpoint::{self, CheckpointEncoder};
use crate::journal::reader::{self, Tail};
use futures::StreamExt;

use crate::journal::{format, log_name, parse_seq, JournalError, JournalStore, LOG_DIR};
use crate::namespace::{Namespace, ROOT_ID};

/// Replays the journal in `store` into a fresh namespace.
pub async fn recover(store: &JournalStore) -> Result<Namespace, JournalError> {
    format::check(store).await?;
    loop {
        let mut ns = Namespace::new();
        if let Some(seq) = checkpoint::latest(store).await? {
            load_checkpoint(store, seq, &mut ns).await?;
        }
        if catch_up(store, &mut ns).await? == Tail::End {
            return Ok(ns);
        }
        tracing::info!("journal was compacted during replay; restarting from the new checkpoint");
    }
}

/// Batch objects read ahead during bulk replay.
const READ_AHEAD: usize = 16;

/// Applies batches after `ns.last_seq()` until the log ends. Returns
/// `NewerCheckpoint` if the log was garbage-collected under the reader.
///
/// Bulk replay lists the log once and reads objects ahead in parallel; the
/// tail is then followed by point reads, so the end is always confirmed by
/// an empty slot (and `check_tail`), never by the listing.
pub async fn catch_up(store: &JournalStore, ns: &mut Namespace) -> Result<Tail, JournalError> {
    let start = ns.last_seq() + 1;
    let listed: Vec<u64> = store
        .list(LOG_DIR)
        .await?
        .iter()
        .filter_map(|n| parse_seq(n))
        .filter(|s| *s >= start)
        .collect();
    let mut reads = futures::stream::iter(listed)
        .map(|seq| async move { (seq, store.read(&log_name(seq)).await) })
        .buffered(READ_AHEAD);
    while let Some((seq, data)) = reads.next().await {
        if seq != ns.last_seq() + 1 {
            break; // not contiguous: let the point reads below sort it out
        }
        let Some(data) = data? else { break };
        apply_batch(ns, reader::decode_batch(&log_name(seq), seq, data)?)?;
    }
    drop(reads);
    loop {
        let next = ns.last_seq() + 1;
        let Some(batch) = reader::read_batch(store, next).await? else {
            return reader::check_tail(store, next).await;
        };
        apply_batch(ns, batch)?;
    }
}

/// Applies one decoded batch, checking that terms never go backwards.
pub fn apply_batch(ns: &mut Namespace, batch: reader::Batch) -> Result<(), JournalError> {
    let next = batch.first_seq;
    for (i, (term, entry)) in batch.entries.iter().enumerate() {
        let corrupt = |reason: String| JournalError::Corrupt {
            file: log_name(next),
            offset: 0,
            reason: format!("entry {} (sequence {}): {reason}", i, next + i as u64),
        };
        if *term < ns.term() {
            return Err(corrupt(format!("term {term} after term {}", ns.term())));
        }
        ns.apply(next + i as u64, *term, entry).map_err(corrupt)?;
    }
    Ok(())
}

async fn load_checkpoint(
    store: &JournalStore,
    seq: u64,
    ns: &mut Namespace,
) -> Result<(), JournalError> {
    let (header, records) = checkpoint::read(store, seq).await?;
    let name = crate::journal::checkpoint_name(seq);
    for record in records {
        let result = match record {
            Record::Inode(inode) => ns.insert_inode(inode),
            Record::Mount(m) => ns.apply(
                0,
                header.term,
                &alluxio_proto::journal::JournalEntry {
                    op_id: None,
                    op_result: 0,
                    entry: Some(alluxio_proto::journal::journal_entry::Entry::AddMount(m)),
                },
            ),
            Record::Link(l) => ns.insert_link(l.parent_id, &l.name, l.id),
            Record::Retry(r) => match r.op_id {
                Some(op) => {
                    ns.remember(&op, r.result);
                    Ok(())
                }
                None => Err("retry cache record without an operation id".to_string()),
            },
            _ => Err("unexpected record in checkpoint body".to_string()),
        };
        result.map_err(|reason| JournalError::Corrupt {
            file: name.clone(),
            offset: 0,
            reason,
        })?;
    }
    ns.last_seq = header.last_sequence;
    ns.term = header.term;
    ns.next_inode_id = ns.next_inode_id.max(header.next_inode_id);
    ns.next_container_id = ns.next_container_id.max(header.next_container_id);
    tracing::info!("loaded checkpoint {name} ({} inodes)", ns.inode_count());
    Ok(())
}

/// Encodes the whole namespace, parents before children.
pub fn encode_checkpoint(ns: &Namespace) -> CheckpointEncoder {
    let mut enc = CheckpointEncoder::new(CheckpointHeader {
        last_sequence: ns.last_seq(),
        term: ns.term(),
        next_inode_id: ns.next_inode_id,
        next_container_id: ns.next_container_id,
        time_ms: alluxio_common::time::now_ms(),
    });
    let mut queue = VecDeque::from([ROOT_ID]);
    // Hard links: entries other than an inode's primary one, recorded after
    // every inode exists.
    let mut links = Vec::new();
    while let Some(id) = queue.pop_front() {
        if let Some(inode) = ns.inode(id) {
            enc.push(Record::Inode(inode.clone()));
        }
        if let Some(children) = ns.children(id) {
            for (name, child) in children {
                match ns.inode(*child) {
                    Some(c) if c.parent_id != id || c.name != *name => {
                        links.push(alluxio_proto::journal::AddLink {
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
    for ((high, low), result) in ns.retry_entries() {
        enc.push(Record::Retry(alluxio_proto::journal::RetryCacheEntry {
            op_id: Some(alluxio_proto::OperationId { high, low }),
            result,
        }));
    }
    for m in ns.mounts().iter() {
        enc.push(Record::Mount(alluxio_proto::journal::AddMount {
            alluxio_path: m.alluxio_path.to_string(),
            ufs_uri: m.ufs_uri.clone(),
            options: m.options.clone().into_iter().collect(),
        }));
    }
    enc
}
