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

/// Counts one request of the handler whose closure type is `F`. The
/// operation is the name of the `Filesystem` method that made the closure
/// (`...::lookup::{{closure}}` → `lookup`).
pub fn operation<F>() {
    let op = op_name(std::any::type_name::<F>());
    METRICS.operations.get_or_create(&[("op", op.into())]).inc();
}

/// Counts a request that failed with an error of `kind`.
pub fn error(kind: &'static str) {
    METRICS.errors.get_or_create(&[("kind", kind.into())]).inc();
}

fn op_name(type_name: &str) -> &str {
    let mut name = type_name;
    while let Some(outer) = name.strip_suffix("::{{closure}}") {
        name = outer;
    }
    match name.rsplit_once("::") {
        Some((_, op))
            if !op.is_empty() && op.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
        {
            op
        }
        _ => "other",
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_come_from_the_handler_closure() {
        struct Probe;
        trait Op {
            fn lookup(&self) -> &'static str;
        }
        impl Op for Probe {
            fn lookup(&self) -> &'static str {
                fn name_of<F>(_: &F) -> &'static str {
                    std::any::type_name::<F>()
                }
                let closure = move |x: u32| async move { x };
                name_of(&closure)
            }
        }
        assert_eq!(op_name(Probe.lookup()), "lookup", "{}", Probe.lookup());
        assert_eq!(op_name("weird"), "other");
    }
}
