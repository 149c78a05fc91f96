//! Periodic checkpoints on the leader: once enough entries have accumulated
//! since the last one, snapshot the namespace at a batch boundary, publish it
//! and delete what it covers.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::namespace::Namespace;
use alluxio_journal::{checkpoint, JournalStore, JournalWriter};

/// Runs until the writer fails.
pub async fn run(
    ns: Arc<RwLock<Namespace>>,
    writer: JournalWriter,
    store: JournalStore,
    period_entries: u64,
    mut last_checkpoint: u64,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        if writer.failure().is_some() {
            return;
        }
        let current = ns.read().unwrap_or_else(|p| p.into_inner()).last_seq();
        if current.saturating_sub(last_checkpoint) < period_entries {
            continue;
        }
        match checkpoint_now(&ns, &writer, &store).await {
            Ok(seq) => last_checkpoint = seq,
            Err(e) => tracing::warn!("checkpoint failed (will retry): {e}"),
        }
    }
}

/// Writes a checkpoint of the current state and collects garbage; returns
/// the sequence number it covers.
pub async fn checkpoint_now(
    ns: &Arc<RwLock<Namespace>>,
    writer: &JournalWriter,
    store: &JournalStore,
) -> Result<u64, alluxio_journal::JournalError> {
    let started = std::time::Instant::now();
    let (enc, count) = {
        let ns = ns.read().unwrap_or_else(|p| p.into_inner());
        // Under the read lock no mutation can queue entries, so the batch
        // boundary lands exactly after the state we encode.
        writer.end_segment();
        (ns.encode_checkpoint(), ns.inode_count())
    };
    let seq = enc.last_sequence();
    writer.wait_durable(seq).await?;
    checkpoint::publish(store, seq, enc.finish()).await?;
    let removed = checkpoint::collect_garbage(store, seq).await?;
    tracing::info!(
        "checkpoint at sequence {seq}: {count} inodes in {:?}, {removed} batches removed",
        started.elapsed()
    );
    Ok(seq)
}
