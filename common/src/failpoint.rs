//! Crash and pause points for fault tests, compiled in only with the
//! `failpoints` feature: `ALLUXIO_FAILPOINTS=name1,name2` makes the process
//! abort when it reaches a named point, and `name=key` makes it stop itself
//! (SIGSTOP, like a long GC pause) the first time it reaches point `name`
//! for `key` —
//! faults no signal sent from outside can time, such as "after the journal
//! publish, before the reply" or "a leader frozen just before it journals".
//! A delay point named in the list sleeps for half a second instead, to
//! widen a race window; an error point (`fails`) makes one call fail with
//! an injected error.

/// Whether `point` is one of the comma-separated `ALLUXIO_FAILPOINTS`.
#[cfg(feature = "failpoints")]
fn armed(point: &str) -> bool {
    std::env::var("ALLUXIO_FAILPOINTS").is_ok_and(|v| v.split(',').any(|n| n.trim() == point))
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
pub fn fails(_name: &str) -> bool {
    false
}
