//! Journal replay rate: a real master's start-up on a journal holding N
//! entries since its last checkpoint (directory creations, in batches of
//! the size 16 concurrent clients produce, written through the real journal
//! writer to a local folder). Reports the master's own replay time (its
//! "replayed journal" log line) and the time until it serves.
//!
//! Usage: cargo run --release -p alluxio-bench --bin replay-bench -- [entries] [batch]

use std::time::Instant;

use alluxio_bench::journal_load::append_directories;
use alluxio_tests::{Cluster, ClusterOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let entries: u64 = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let batch: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(16);
    let mut cluster = Cluster::start(ClusterOptions {
        workers: 0,
        ..Default::default()
    })
    .await;
    let info = cluster
        .master_info(0)
        .await
        .ok_or_else(|| anyhow::anyhow!("the master does not answer"))?;
    cluster.kill_master();
    let journal = cluster.journal_dir().to_str().expect("utf-8").to_string();
    let started = Instant::now();
    let last =
        append_directories(&journal, info.term, info.journal_sequence, entries, batch).await?;
    let objects = std::fs::read_dir(cluster.journal_dir().join("log"))?.count();
    println!(
        "wrote {entries} entries in {objects} log objects in {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    cluster.start_master().await;
    let serving = started.elapsed();
    let info = cluster
        .master_info(0)
        .await
        .ok_or_else(|| anyhow::anyhow!("the master does not answer"))?;
    anyhow::ensure!(
        info.journal_sequence > last,
        "the master serves at sequence {} but the journal ends at {last}",
        info.journal_sequence
    );
    for line in cluster
        .master_log()
        .lines()
        .filter(|l| l.contains("replayed journal"))
        .skip(1)
    {
        println!("master: {}", line.split("INFO ").last().unwrap_or(line));
    }
    println!(
        "start-up to serving, {last} entries in the journal: {:.2}s ({:.0} entries/s)",
        serving.as_secs_f64(),
        last as f64 / serving.as_secs_f64()
    );
    Ok(())
}
