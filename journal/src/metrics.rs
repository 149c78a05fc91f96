//! The journal's own metrics, recorded where each batch is published
//! (`writer.rs`) and registered in the process's one registry
//! (`alluxio_common::metrics`), so the master's `/metrics` shows them
//! without the journal knowing anything of the master.

use std::sync::LazyLock;

use alluxio_common::metrics::{self, Histogram};

/// What the journal writer measures.
pub struct JournalMetrics {
    /// Time to publish one batch durably (write, fsync, link, directory
    /// fsync; or one object store request).
    pub publish_seconds: Histogram,
    /// Entries in each published batch.
    pub batch_entries: Histogram,
    /// Bytes in each published batch.
    pub batch_bytes: Histogram,
}

/// The metrics, registered on first use.
pub static METRICS: LazyLock<JournalMetrics> = LazyLock::new(|| JournalMetrics {
    publish_seconds: metrics::register(
        "master_journal_publish_duration_seconds",
        "Time to publish one journal batch object durably.",
        metrics::latency_histogram(),
    ),
    batch_entries: metrics::register(
        "master_journal_batch_entries",
        "Entries per published journal batch.",
        Histogram::new(metrics::exponential_buckets(1.0, 2.0, 14)),
    ),
    batch_bytes: metrics::register(
        "master_journal_batch_bytes",
        "Bytes per published journal batch.",
        Histogram::new(metrics::exponential_buckets(64.0, 4.0, 12)),
    ),
});

/// Registers the journal's metrics so they show before the first batch.
pub fn init() {
    LazyLock::force(&METRICS);
}
