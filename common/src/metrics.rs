//! The process-wide metrics registry, exposed on the web port's `/metrics`.
//!
//! Metrics are `prometheus-client` values (counters, gauges, histograms,
//! families of them keyed by labels). Each crate declares its own in a
//! `LazyLock` that registers them here on first use; the server forces that
//! at start-up so every family shows on `/metrics` before its first event.
//! Every name starts with `alluxio_`; `docs/operations.md` lists them all.

pub mod rpc;

use std::sync::{LazyLock, Mutex, PoisonError};

pub use prometheus_client::metrics::counter::Counter;
pub use prometheus_client::metrics::family::Family;
pub use prometheus_client::metrics::gauge::Gauge;
pub use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Metric, Registry};

/// The media type of [`encode`]'s output (OpenMetrics text, which
/// Prometheus scrapes natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

static REGISTRY: LazyLock<Mutex<Registry>> =
    LazyLock::new(|| Mutex::new(Registry::with_prefix("alluxio")));

/// Registers `metric` as `alluxio_<name>` and returns it (metrics are shared
/// handles: the registry keeps a clone).
pub fn register<M: Metric + Clone>(name: &str, help: &str, metric: M) -> M {
    REGISTRY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .register(name, help, metric.clone());
    metric
}

/// Every registered metric in the OpenMetrics text format.
pub fn encode() -> String {
    let mut out = String::new();
    let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    out
}

/// Buckets for latencies in seconds: 50 µs to about 27 s.
pub fn latency_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.000_05, 2.0, 20)
}

/// A histogram with [`latency_buckets`].
pub fn latency_histogram() -> Histogram {
    Histogram::new(latency_buckets())
}

/// A family of counters keyed by one label's value, e.g. `op="lookup"`.
pub type LabeledCounter = Family<[(&'static str, String); 1], Counter>;

/// A family of gauges keyed by one label's value, e.g. `tier="MEM"`.
pub type LabeledGauge = Family<[(&'static str, String); 1], Gauge>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_metrics_are_encoded_with_the_prefix() {
        let counter = register(
            "test_events",
            "Events of the unit test.",
            Counter::<u64>::default(),
        );
        counter.inc_by(3);
        let text = encode();
        assert!(
            text.contains("# TYPE alluxio_test_events counter"),
            "{text}"
        );
        assert!(text.contains("alluxio_test_events_total 3"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
