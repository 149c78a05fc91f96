//! Failover benchmarks with real processes and a real ZooKeeper:
//! - SIGKILL of the leader to the first successful client operation,
//! - SIGTERM handover to the first successful client operation,
//! - standby lag under a sustained create load (entries and milliseconds).
//!
//! Usage: cargo run --release -p alluxio-bench --bin failover-bench -- [runs] [session timeout]

use std::time::{Duration, Instant};

use alluxio_client::FileSystem;
use alluxio_tests::{Cluster, ClusterOptions, Zk};

fn stats(label: &str, mut v: Vec<Duration>) {
    v.sort();
    let median = v[v.len() / 2];
    let max = v[v.len() - 1];
    println!(
        "{label}: median {median:?}, max {max:?} over {} runs",
        v.len()
    );
}

async fn first_success_after(fs: &FileSystem, start: Instant, i: usize) -> Duration {
    fs.create_directory(&format!("/probe{i}"), Default::default())
        .await
        .expect("probe");
    start.elapsed()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(10);
    let timeout = args.get(2).cloned().unwrap_or_else(|| "2sec".into());
    let mut cluster = Cluster::start(ClusterOptions {
        masters: 3,
        workers: 1,
        zookeeper: Zk::Single,
        properties: vec![("alluxio.zookeeper.session.timeout".into(), timeout.clone())],
        ..Default::default()
    })
    .await;
    let fs = cluster.client();
    println!("3 masters, 1 worker, ZooKeeper session timeout {timeout}");
    let mut kills = Vec::new();
    for i in 0..runs {
        fs.create_directory(&format!("/warm{i}"), Default::default())
            .await?;
        let leader = cluster.leader().await;
        let start = Instant::now();
        cluster.kill_master_i(leader);
        kills.push(first_success_after(&fs, start, i).await);
        cluster.start_master_i(leader).await;
    }
    stats("SIGKILL -> first successful operation", kills);
    let mut terms = Vec::new();
    for i in 0..runs {
        fs.create_directory(&format!("/warm-t{i}"), Default::default())
            .await?;
        let leader = cluster.leader().await;
        let start = Instant::now();
        cluster.terminate_master_i(leader);
        terms.push(first_success_after(&fs, start, runs + i).await);
        cluster.start_master_i(leader).await;
    }
    stats("SIGTERM -> first successful operation", terms);

    // Standby lag under 16 concurrent creating clients.
    let leader = cluster.leader().await;
    let standby = (leader + 1) % 3;
    let stop = Instant::now() + Duration::from_secs(10);
    let mut writers = Vec::new();
    for c in 0..16 {
        let fs = cluster.client();
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while Instant::now() < stop {
                fs.create_directory(
                    &format!("/lag/c{c}/d{i}"),
                    alluxio_client::CreateDirectoryOptions {
                        recursive: true,
                        ..Default::default()
                    },
                )
                .await
                .expect("create");
                i += 1;
            }
        }));
    }
    let mut history: Vec<(Instant, u64)> = Vec::new();
    let mut entries_behind = Vec::new();
    let mut ms_behind = Vec::new();
    while Instant::now() < stop {
        let l = cluster
            .master_info(leader)
            .await
            .map(|m| m.journal_sequence)
            .unwrap_or(0);
        let now = Instant::now();
        history.push((now, l));
        let s = cluster
            .master_info(standby)
            .await
            .map(|m| m.journal_sequence)
            .unwrap_or(0);
        entries_behind.push(l.saturating_sub(s));
        // When did the leader first reach what the standby has now?
        let reached = history.iter().find(|(_, seq)| *seq > s).map(|(t, _)| *t);
        ms_behind.push(
            reached
                .map(|t| Instant::now().saturating_duration_since(t))
                .unwrap_or_default(),
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for w in writers {
        w.await?;
    }
    entries_behind.sort();
    ms_behind.sort();
    let total = cluster
        .master_info(leader)
        .await
        .map(|m| m.journal_sequence)
        .unwrap_or(0);
    println!(
        "standby lag under 16 creating clients ({} entries in 10s): entries behind median {} max {}; time behind median {:?} max {:?}",
        total,
        entries_behind[entries_behind.len() / 2],
        entries_behind[entries_behind.len() - 1],
        ms_behind[ms_behind.len() / 2],
        ms_behind[ms_behind.len() - 1]
    );
    Ok(())
}
