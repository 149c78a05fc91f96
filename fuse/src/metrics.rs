//! The FUSE daemon's metrics and its optional web port
//! (`alluxio.fuse.web.enabled`, `alluxio.fuse.web.port`, as in Alluxio):
//! `/metrics` and a status page.
//!
//! Operations are counted in one place, `AlluxioFs::spawn`, which every
//! request that reaches the cluster goes through; errors in one place, the
//! `errno` mapping every failed reply uses. Neither needs the handlers to
//! know about metrics.

use std::fmt::Write;
use std::sync::{Arc, LazyLock};

use alluxio_common::metrics::{self, LabeledCounter};
use alluxio_common::web::Pages;

/// The FUSE daemon's metrics.
pub struct FuseMetrics {
    /// Requests handed to a handler, by operation (`lookup`, `read`, ...).
    pub operations: LabeledCounter,
    /// Requests that failed with a cluster error, by error kind.
    pub errors: LabeledCounter,
}

/// The metrics, registered on first use.
pub static METRICS: LazyLock<FuseMetrics> = LazyLock::new(|| FuseMetrics {
    operations: metrics::register(
        "fuse_operations",
        "FUSE requests handled, by operation.",
        LabeledCounter::default(),
    ),
    errors: metrics::register(
        "fuse_errors",
        "FUSE requests that failed with a cluster error, by error kind.",
        LabeledCounter::default(),
    ),
});

/// Counts one request of operation `op` (the `Filesystem` method's name).
pub fn operation(op: &'static str) {
    METRICS.operations.get_or_create(&[("op", op.into())]).inc();
}

/// Counts a request that failed with an error of `kind`.
pub fn error(kind: &'static str) {
    METRICS.errors.get_or_create(&[("kind", kind.into())]).inc();
}

/// The pages of the daemon's web port.
pub fn pages(mount_point: String, alluxio_path: String, cluster: String) -> Pages {
    Pages {
        status: Arc::new(move || {
            let mut out = String::new();
            let _ = writeln!(out, "Alluxio FUSE {}", env!("CARGO_PKG_VERSION"));
            let _ = writeln!(out, "mount point:  {mount_point}");
            let _ = writeln!(out, "alluxio path: {alluxio_path}");
            let _ = writeln!(out, "masters:      {cluster}");
            out
        }),
        refresh: None,
    }
}

/// Registers the metrics so they show before the first request.
pub fn init() {
    LazyLock::force(&METRICS);
}
