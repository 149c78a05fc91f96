//! Crash and pause points for fault tests, compiled in only with the
//! `failpoints` feature: `ALLUXIO_FAILPOINTS=name1,name2` makes the process
//! abort when it reaches a named point, and `name=key` makes it stop itself
//! (SIGSTOP, like a long GC pause) the first time it reaches point `name`
//! for `key` —
//! faults no signal sent from outside can time, such as "after the journal
//! publish, before the reply" or "a leader frozen just before it journals".
//! A delay point named in the list sleeps for half a second instead, to
//! widen a race window; an error point (`fails`) makes one call fail with
//! an injected error, a failing point (`failing`) every call while it is
//! named.
//!
//! Points can also be named while the process runs: the file
//! `ALLUXIO_FAILPOINTS_FILE` names more of them (comma- or line-separated)
//! and is read again at most every 100 ms, so a fault campaign can make a
//! UFS slow or failing for a while and heal it.

/// Whether `point` is one of the comma-separated `ALLUXIO_FAILPOINTS` or
/// of the points named in `ALLUXIO_FAILPOINTS_FILE` now.
#[cfg(feature = "failpoints")]
fn armed(point: &str) -> bool {
    let named = |list: &str| list.split([',', '\n']).any(|n| n.trim() == point);
    std::env::var("ALLUXIO_FAILPOINTS").is_ok_and(|v| named(&v)) || named(&from_file())
}

/// The points `ALLUXIO_FAILPOINTS_FILE` names, read again once the last
/// read is 100 ms old (a missing file names none).
#[cfg(feature = "failpoints")]
fn from_file() -> std::sync::Arc<str> {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    static READ: Mutex<Option<(Instant, Arc<str>)>> = Mutex::new(None);
    let Some(path) = std::env::var_os("ALLUXIO_FAILPOINTS_FILE") else {
        return Arc::from("");
    };
    let mut read = READ.lock().unwrap_or_else(|p| p.into_inner());
    match &*read {
        Some((at, points)) if at.elapsed() < Duration::from_millis(100) => points.clone(),
        _ => {
            let points: Arc<str> = Arc::from(std::fs::read_to_string(path).unwrap_or_default());
            *read = Some((Instant::now(), points.clone()));
            points
        }
    }
}

/// Aborts the process if failpoint `name` is enabled.
#[cfg(feature = "failpoints")]
pub fn hit(name: &str) {
    if armed(name) {
        eprintln!("failpoint {name} reached: aborting");
        std::process::abort();
    }
}

/// Stops the process (SIGSTOP) the first time it reaches failpoint
/// `name=key`, if that is enabled; it goes on from here when sent SIGCONT
/// (and passes the point from then on, so a retried step is not stopped
/// again).
#[cfg(feature = "failpoints")]
pub fn pause(name: &str, key: &str) {
    static PASSED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let wanted = format!("{name}={key}");
    if armed(&wanted) {
        {
            let mut passed = PASSED.lock().unwrap_or_else(|p| p.into_inner());
            if passed.contains(&wanted) {
                return;
            }
            passed.push(wanted.clone());
        }
        eprintln!("failpoint {wanted} reached: stopping");
        // SAFETY: raise(3) only sends a signal to this process.
        unsafe {
            libc::raise(libc::SIGSTOP);
        }
        eprintln!("failpoint {wanted}: continued");
    }
}

/// Whether failpoint `name` is enabled and not passed yet: true once per
/// process, so the caller fails one call with an injected error (an EIO
/// from `fsync`, say) and the next one goes through.
#[cfg(feature = "failpoints")]
pub fn fails(name: &str) -> bool {
    static PASSED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    if !armed(name) {
        return false;
    }
    let mut passed = PASSED.lock().unwrap_or_else(|p| p.into_inner());
    if passed.iter().any(|p| p == name) {
        return false;
    }
    passed.push(name.to_string());
    eprintln!("failpoint {name} reached: failing the call");
    true
}

/// Whether failpoint `name` is enabled now: every call fails while it is
/// (a disk whose `fsync` keeps returning EIO).
#[cfg(feature = "failpoints")]
pub fn failing(name: &str) -> bool {
    armed(name)
}

/// Sleeps half a second if failpoint `name` is enabled.
#[cfg(feature = "failpoints")]
pub async fn delay(name: &str) {
    if armed(name) {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// Failpoints are compiled out.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}

/// Failpoints are compiled out.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub async fn delay(_name: &str) {}

/// Failpoints are compiled out.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn pause(_name: &str, _key: &str) {}

/// Failpoints are compiled out.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn failing(_name: &str) -> bool {
    false
}

/// Failpoints are compiled out.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn fails(_name: &str) -> bool {
    false
}
