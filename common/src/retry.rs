//! Exponential backoff with jitter for retrying RPCs across failovers and
//! restarts (`alluxio.user.rpc.retry.*`).

use std::time::{Duration, Instant};

use rand::Rng;

/// How long and how often to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// First sleep (`alluxio.user.rpc.retry.base.sleep`).
    pub base_sleep: Duration,
    /// Largest single sleep (`alluxio.user.rpc.retry.max.sleep`).
    pub max_sleep: Duration,
    /// Total time budget (`alluxio.user.rpc.retry.max.duration`).
    pub max_duration: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_sleep: Duration::from_millis(50),
            max_sleep: Duration::from_secs(3),
            max_duration: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Starts a new sequence of attempts.
    pub fn start(&self) -> Backoff {
        Backoff {
            policy: *self,
            attempt: 0,
            started: Instant::now(),
        }
    }
}

/// State of one retried operation.
#[derive(Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    attempt: u32,
    started: Instant,
}

impl Backoff {
    /// Returns how long to sleep before the next attempt, or `None` once the
    /// time budget is spent.
    pub fn next_delay(&mut self) -> Option<Duration> {
        let elapsed = self.started.elapsed();
        if elapsed >= self.policy.max_duration {
            return None;
        }
        let exp = self
            .policy
            .base_sleep
            .saturating_mul(1u32 << self.attempt.min(16));
        let cap = exp.min(self.policy.max_sleep);
        self.attempt += 1;
        // Full jitter in [cap/2, cap] keeps retries from synchronising.
        let half = cap / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        let delay = half + Duration::from_millis(jitter);
        Some(delay.min(self.policy.max_duration - elapsed))
    }

    /// Number of delays handed out so far.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Time since the first attempt.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_caps() {
        let policy = RetryPolicy {
            base_sleep: Duration::from_millis(50),
            max_sleep: Duration::from_millis(400),
            max_duration: Duration::from_secs(60),
        };
        let mut b = policy.start();
        let delays: Vec<_> = (0..8).map(|_| b.next_delay().unwrap()).collect();
        assert!(delays[0] >= Duration::from_millis(25) && delays[0] <= Duration::from_millis(50));
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(400)));
        assert!(delays[7] >= Duration::from_millis(200));
    }

    #[test]
    fn stops_after_budget() {
        let policy = RetryPolicy {
            max_duration: Duration::ZERO,
            ..Default::default()
        };
        assert!(policy.start().next_delay().is_none());
    }
}
