//! Takeover with a long journal tail: a 2-master HA cluster whose journal
//! holds 1,000,000 entries since the last checkpoint. Reports how long a
//! master needs to replay them cold (start-up), and how long a hot standby
//! needs to take over after the leader is killed (it has already applied
//! them, so the tail is not replayed again).
//!
//! Usage: cargo run --release -p alluxio-bench --bin takeover-bench -- [entries] [session timeout]

use std::time::{Duration, Instant};

use alluxio_master::journal::{JournalStore, JournalWriter};
use alluxio_master::recovery::recover;
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{CreateInode, InodeRecord, JournalEntry, TermStart};
use alluxio_proto::FileType;
use alluxio_tests::{Cluster, ClusterOptions, Zk};

fn entry(e: Entry) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(e),
    }
}

/// Appends `n` directory creations under `/bulk` in batches of 16.
async fn append_entries(journal: &str, n: u64) -> anyhow::Result<()> {
    let store = JournalStore::open(journal, &Default::default())?;
    let ns = recover(&store).await?;
    let term = ns.term() + 1;
    let mut seq = ns.last_seq() + 1;
    let writer = JournalWriter::start(store, term, seq);
    let base = 1_000_000_000u64;
    let mut pending = vec![writer.append(
        seq,
        vec![
            entry(Entry::TermStart(TermStart {
                term,
                address: "bench".into(),
                time_ms: 0,
            })),
            entry(Entry::CreateInode(CreateInode {
                inode: Some(InodeRecord {
                    id: base,
                    parent_id: 1,
                    name: "bulk".into(),
                    file_type: FileType::Directory as i32,
                    mode: 0o755,
                    nlink: 1,
                    completed: true,
                    persisted: true,
                    ufs_loaded: true,
                    ..Default::default()
                }),
            })),
        ],
    )];
    seq += 2;
    let mut id = base + 1;
    while id <= base + n {
        let batch: Vec<JournalEntry> = (0..16.min(base + n + 1 - id))
            .map(|k| {
                entry(Entry::CreateInode(CreateInode {
                    inode: Some(InodeRecord {
                        id: id + k,
                        parent_id: base,
                        name: format!("d{}", id + k - base),
                        file_type: FileType::Directory as i32,
                        mode: 0o755,
                        nlink: 1,
                        completed: true,
                        persisted: true,
                        ufs_loaded: true,
                        ..Default::default()
                    }),
                }))
            })
            .collect();
        let len = batch.len() as u64;
        pending.push(writer.append(seq, batch));
        writer.barrier();
        seq += len;
        id += len;
        if pending.len() >= 64 {
            futures::future::try_join_all(pending.drain(..)).await?;
        }
    }
    futures::future::try_join_all(pending).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let entries: u64 = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let timeout = args.get(2).cloned().unwrap_or_else(|| "2sec".into());
    let mut cluster = Cluster::start(ClusterOptions {
        masters: 2,
        workers: 0,
        zookeeper: Zk::Single,
        properties: vec![("alluxio.zookeeper.session.timeout".into(), timeout.clone())],
    })
    .await;
    cluster.kill_master_i(0);
    cluster.kill_master_i(1);
    let journal = cluster.journal_dir().to_str().expect("utf-8").to_string();
    let started = Instant::now();
    append_entries(&journal, entries).await?;
    println!("appended {entries} entries in {:?}", started.elapsed());
    // Cold start: both masters replay the whole tail.
    let started = Instant::now();
    cluster.start_master_i(0).await;
    cluster.start_master_i(1).await;
    let leader = cluster.leader().await;
    println!(
        "cold start of 2 masters (each replays the tail): {:?}",
        started.elapsed()
    );
    for line in cluster
        .master_log_i(leader)
        .lines()
        .filter(|l| l.contains("replayed journal"))
    {
        println!(
            "  leader log: {}",
            line.split("INFO ").last().unwrap_or(line)
        );
    }
    let fs = cluster.client();
    fs.create_directory("/warm", Default::default()).await?;
    let standby = 1 - leader;
    // Wait until the standby is fully caught up.
    let target = cluster
        .master_info(leader)
        .await
        .map(|m| m.journal_sequence)
        .unwrap_or(0);
    while cluster
        .master_info(standby)
        .await
        .map(|m| m.journal_sequence)
        .unwrap_or(0)
        < target
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let killed = Instant::now();
    cluster.kill_master_i(leader);
    fs.create_directory("/after", Default::default()).await?;
    println!(
        "hot standby takeover with {entries} entries since the last checkpoint: {:?} from SIGKILL to the first successful operation (session timeout {timeout})",
        killed.elapsed()
    );
    let listed = fs.list_status("/bulk", false).await?.len();
    assert_eq!(listed as u64, entries, "the new leader lacks entries");
    Ok(())
}
