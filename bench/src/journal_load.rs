//! Loading a journal folder directly, as a leader would have written it:
//! a claimed term, its `TermStart`, then directory creations in batches of
//! the size concurrent clients produce. The benchmarks that time replay and
//! takeover use it, through the journal crate alone: the master replays
//! what is written here in its own process.

use alluxio_journal::{terms, JournalStore, JournalWriter};
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{CreateInode, InodeRecord, JournalEntry, TermStart};
use alluxio_proto::FileType;

/// Inode id of `/bulk`, the directory the entries create children in.
pub const BULK_ID: u64 = 1_000_000_000;

fn entry(e: Entry) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(e),
    }
}

fn directory(id: u64, parent_id: u64, name: String) -> JournalEntry {
    entry(Entry::CreateInode(CreateInode {
        inode: Some(InodeRecord {
            id,
            parent_id,
            name,
            file_type: FileType::Directory as i32,
            mode: 0o755,
            nlink: 1,
            completed: true,
            persisted: true,
            ufs_loaded: true,
            ..Default::default()
        }),
    }))
}

/// Appends `/bulk` and `n` directories under it to the journal at
/// `journal`, whose log ends at sequence `last_seq` in term `term` (as the
/// stopped leader reported), in batches of `batch` entries. Returns the
/// last sequence number written.
pub async fn append_directories(
    journal: &str,
    term: u64,
    last_seq: u64,
    n: u64,
    batch: u64,
) -> anyhow::Result<u64> {
    let store = JournalStore::open(journal, &Default::default())?;
    let term = terms::claim_next(&store, term, "bench").await?;
    let mut seq = last_seq + 1;
    let writer = JournalWriter::start(store, term, seq);
    let head = vec![
        entry(Entry::TermStart(TermStart {
            term,
            address: "bench".into(),
            time_ms: 0,
        })),
        directory(BULK_ID, 1, "bulk".into()),
    ];
    let mut pending = vec![writer.append(seq, head)];
    seq += 2;
    let mut id = BULK_ID + 1;
    while id <= BULK_ID + n {
        let batch: Vec<JournalEntry> = (0..batch.min(BULK_ID + n + 1 - id))
            .map(|k| directory(id + k, BULK_ID, format!("d{}", id + k - BULK_ID)))
            .collect();
        let len = batch.len() as u64;
        pending.push(writer.append(seq, batch));
        // End the batch here, as if that many clients had committed together.
        writer.barrier();
        seq += len;
        id += len;
        if pending.len() >= 64 {
            futures::future::try_join_all(pending.drain(..)).await?;
        }
    }
    futures::future::try_join_all(pending).await?;
    Ok(seq - 1)
}
