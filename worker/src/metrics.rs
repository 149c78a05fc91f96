//! The worker's metrics and its web pages (`/metrics` and the status page
//! at `/`, served by `alluxio_common::web`).
//!
//! Cache hits and misses are counted where a read is decided
//! (`service.rs`); tier capacity and use are read from the block store just
//! before each scrape.

use std::fmt::Write;
use std::sync::{Arc, LazyLock};

use alluxio_common::config::units::format_bytes;
use alluxio_common::metrics::{self, Counter, LabeledCounter, LabeledGauge};
use alluxio_common::web::Pages;

use crate::block_store::BlockStore;
use crate::master_sync::MasterSync;
use crate::settings::WorkerSettings;

/// The worker's own metrics (RPC metrics are `alluxio_common::metrics::rpc`).
pub struct WorkerMetrics {
    /// Quota of each tier, by alias.
    pub tier_capacity: LabeledGauge,
    /// Committed plus reserved bytes of each tier, by alias.
    pub tier_used: LabeledGauge,
    /// Block reads served from this worker's cache, by path: `stream`
    /// (ReadBlock) or `short_circuit` (a local client opened the file).
    pub cache_hits: LabeledCounter,
    /// Block reads of blocks this worker did not hold: read through from
    /// the UFS, or refused when the request named no UFS source.
    pub cache_misses: Counter,
}

/// The metrics, registered on first use.
pub static METRICS: LazyLock<WorkerMetrics> = LazyLock::new(|| WorkerMetrics {
    tier_capacity: metrics::register(
        "worker_tier_capacity_bytes",
        "Capacity (quota) of each storage tier.",
        LabeledGauge::default(),
    ),
    tier_used: metrics::register(
        "worker_tier_used_bytes",
        "Used (committed and reserved) bytes of each storage tier.",
        LabeledGauge::default(),
    ),
    cache_hits: metrics::register(
        "worker_cache_hits",
        "Block reads served from the cache, by path (stream or short_circuit).",
        LabeledCounter::default(),
    ),
    cache_misses: metrics::register(
        "worker_cache_misses",
        "Block reads of blocks not in the cache (read through from the UFS or refused).",
        Counter::default(),
    ),
});

/// Registers every worker metric so all show before their first event.
pub fn init() {
    LazyLock::force(&METRICS);
    metrics::rpc::init();
}

/// Counts a read served from the cache.
pub fn hit(path: &'static str) {
    METRICS
        .cache_hits
        .get_or_create(&[("path", path.into())])
        .inc();
}

/// Counts a read of a block this worker does not hold.
pub fn miss() {
    METRICS.cache_misses.inc();
}

fn refresh(store: &BlockStore) {
    for tier in store.tier_usage() {
        let label = [("tier", tier.alias.clone())];
        METRICS
            .tier_capacity
            .get_or_create(&label)
            .set(tier.capacity as i64);
        METRICS
            .tier_used
            .get_or_create(&label)
            .set(tier.used as i64);
    }
}

/// The pages of the worker's web port.
pub fn pages(settings: &WorkerSettings, store: BlockStore, sync: Arc<MasterSync>) -> Pages {
    let address = format!("{}:{}", settings.hostname, settings.rpc_port);
    let for_refresh = store.clone();
    Pages {
        status: Arc::new(move || status(&address, &store, &sync)),
        refresh: Some(Arc::new(move || refresh(&for_refresh))),
    }
}

fn status(address: &str, store: &BlockStore, sync: &MasterSync) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Alluxio worker {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "address:    {address}");
    let id = sync
        .worker_id()
        .map_or("not registered".into(), |id| id.to_string());
    let _ = writeln!(out, "worker id:  {id}");
    let master = sync.master_address().unwrap_or_else(|| "none yet".into());
    let _ = writeln!(out, "master:     {master}");
    let (mut capacity, mut used) = (0, 0);
    let _ = writeln!(out, "tiers:");
    for tier in store.tier_usage() {
        let _ = writeln!(
            out,
            "  {:<4} used {} of {}",
            tier.alias,
            format_bytes(tier.used),
            format_bytes(tier.capacity)
        );
        capacity += tier.capacity;
        used += tier.used;
    }
    let _ = writeln!(
        out,
        "capacity:   {} used of {}",
        format_bytes(used),
        format_bytes(capacity)
    );
    let hits: u64 = ["stream", "short_circuit"]
        .iter()
        .map(|p| {
            METRICS
                .cache_hits
                .get_or_create(&[("path", (*p).into())])
                .get()
        })
        .sum();
    let _ = writeln!(
        out,
        "cache:      {hits} hits, {} misses",
        METRICS.cache_misses.get()
    );
    out
}
