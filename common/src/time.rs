//! Wall-clock helpers: inode times are nanoseconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

/// Returns the current time in nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Returns the current time in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    now_ns() / 1_000_000
}
