//! Crash points for fault tests, compiled in only with the `failpoints`
//! feature: `ALLUXIO_FAILPOINTS=name1,name2` makes the process abort when it
//! reaches a named point — faults no signal can time, such as "after the
//! journal publish, before the reply".

/// Aborts the process if failpoint `name` is enabled.
#[cfg(feature = "failpoints")]
pub fn hit(name: &str) {
    let enabled = std::env::var("ALLUXIO_FAILPOINTS")
        .map(|v| v.split(',').any(|n| n.trim() == name))
        .unwrap_or(false);
    if enabled {
        eprintln!("failpoint {name} reached: aborting");
        std::process::abort();
    }
}

/// Failpoints are compiled out.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}
