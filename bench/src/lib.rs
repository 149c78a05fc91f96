//! Shared helpers of the benchmark binaries: timing concurrent operations,
//! and loading a journal folder directly (`journal_load`).

pub mod journal_load;

use std::future::Future;
use std::time::{Duration, Instant};

/// Runs `ops` operations spread over `clients` concurrent tasks; `op(client,
/// i)` performs operation `i`. Returns the elapsed time.
pub async fn run_concurrent<F, Fut>(clients: usize, ops: usize, op: F) -> Duration
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while i < ops {
                op(c, i).await;
                i += clients;
            }
        }));
    }
    for t in tasks {
        t.await.expect("benchmark task");
    }
    start.elapsed()
}

/// Operations per second.
pub fn rate(ops: usize, elapsed: Duration) -> f64 {
    ops as f64 / elapsed.as_secs_f64()
}
