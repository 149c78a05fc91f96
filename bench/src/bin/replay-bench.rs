//! Journal replay rate: writes N entries (CreateInode records, in batches
//! of the size 16 concurrent clients produce) through the real journal
//! writer to a local journal folder with no checkpoint, then times a full
//! recovery — the code a restarting master runs.
//!
//! Usage: cargo run --release -p alluxio-bench --bin replay-bench -- [entries] [batch]

use std::time::Instant;

use alluxio_master::journal::{format, JournalStore, JournalWriter};
use alluxio_master::namespace::Namespace;
use alluxio_master::recovery::recover;
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{CreateInode, InodeRecord, JournalEntry, TermStart};
use alluxio_proto::FileType;

fn create(id: u64, parent: u64, name: String, dir: bool) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(Entry::CreateInode(CreateInode {
            inode: Some(InodeRecord {
                id,
                parent_id: parent,
                name,
                file_type: if dir {
                    FileType::Directory
                } else {
                    FileType::Regular
                } as i32,
                mode: 0o644,
                owner: "bench".into(),
                group: "bench".into(),
                nlink: 1,
                block_size: 64 << 20,
                container_id: id,
                completed: true,
                persisted: true,
                ..Default::default()
            }),
        })),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let entries: u64 = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let batch: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(16);
    let dir = tempfile::Builder::new()
        .prefix("replay-bench-")
        .tempdir_in(".")?;
    let store = JournalStore::open(dir.path().to_str().expect("utf-8"), &Default::default())?;
    format::format(&store).await?;
    let writer = JournalWriter::start(store.clone(), 1, 1);
    let mut ns = Namespace::new();
    let mut seq = 1;
    let head = vec![
        JournalEntry {
            op_id: None,
            op_result: 0,
            entry: Some(Entry::TermStart(TermStart {
                term: 1,
                address: "bench".into(),
                time_ms: 0,
            })),
        },
        create(1, 0, String::new(), true),
    ];
    for (i, e) in head.iter().enumerate() {
        ns.apply(seq + i as u64, 1, e).map_err(anyhow::Error::msg)?;
    }
    writer.append(seq, head).await?;
    seq += 2;
    let started = Instant::now();
    let mut id = 2;
    let mut pending = Vec::new();
    while id < entries + 2 {
        let mut b = Vec::new();
        for _ in 0..batch.min(entries + 2 - id) {
            // 1,000 directories of 1,000 files each.
            let e = if (id - 2) % 1001 == 0 {
                create(id, 1, format!("d{id}"), true)
            } else {
                create(id, id - (id - 2) % 1001, format!("f{id}"), false)
            };
            b.push(e);
            id += 1;
        }
        let n = b.len() as u64;
        pending.push(writer.append(seq, b));
        // End the batch here, as if `batch` clients had committed together.
        writer.barrier();
        seq += n;
        if pending.len() >= 64 {
            futures::future::try_join_all(pending.drain(..)).await?;
        }
    }
    futures::future::try_join_all(pending).await?;
    let batches = store.list("log").await?.len();
    println!(
        "wrote {entries} entries in {batches} batch objects in {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let replayed = recover(&store).await?;
    let elapsed = started.elapsed();
    assert_eq!(replayed.last_seq(), seq - 1);
    println!(
        "replayed {} entries ({} inodes) in {:.2}s: {:.0} entries/s",
        replayed.last_seq(),
        replayed.inode_count(),
        elapsed.as_secs_f64(),
        replayed.last_seq() as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
