//! Takeover with a long journal tail: a 2-master HA cluster whose journal
//! holds 1,000,000 entries since the last checkpoint. Reports how long a
//! master needs to replay them cold (start-up), and how long a hot standby
//! needs to take over after the leader is killed (it has already applied
//! them, so the tail is not replayed again).
//!
//! Usage: cargo run --release -p alluxio-bench --bin takeover-bench -- [entries] [session timeout]

use std::time::{Duration, Instant};

use alluxio_bench::journal_load::append_directories;
use alluxio_tests::{Cluster, ClusterOptions, Zk};

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
        ..Default::default()
    })
    .await;
    let leader = cluster.leader().await;
    let info = cluster
        .master_info(leader)
        .await
        .ok_or_else(|| anyhow::anyhow!("the leader does not answer"))?;
    // The standby first, so that it cannot take over and write meanwhile.
    cluster.kill_master_i(1 - leader);
    cluster.kill_master_i(leader);
    let journal = cluster.journal_dir().to_str().expect("utf-8").to_string();
    let started = Instant::now();
    append_directories(&journal, info.term, info.journal_sequence, entries, 16).await?;
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
