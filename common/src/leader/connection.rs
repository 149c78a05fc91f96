//! [`LeaderConnection`]: the one way every process (client library, CLI,
//! FUSE daemon, worker) talks to the leading master. It keeps one channel,
//! follows "not the leader" answers that name the leader, moves through a
//! fixed list or waits for ZooKeeper to name a new leader, and retries
//! retryable failures with backoff within a budget, so a failover bug fixed
//! here is fixed for every process.
//!
//! Which master an attempt goes to, in order: the master a "not leader"
//! answer named last (until it fails, or the discovery names another
//! leader); with a discovery that names the leader, that leader (waiting a
//! bounded time for one); with a fixed list, the master of the kept
//! channel, else the next in the list not yet tried since the last pause.
//! Within one call a redirect is followed at once (at most
//! [`ConnectionSettings::max_redirects`] in a row, so two confused masters
//! cannot loop), every master of a fixed list is tried once before a pause
//! (while the budget lasts), and a pause ends early when the discovery
//! announces a leader.
//!
//! The connection is not typed by service: a call gets a [`Channel`] and
//! wraps it in the generated client it needs (see
//! `alluxio_client::master_client` and `alluxio_worker::master_client`).

use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tonic::transport::Channel;
use tracing::{debug, info};

use super::discovery::{MasterDiscovery, LEADER_WAIT};
use crate::retry::RetryPolicy;
use crate::{FsError, FsResult};

/// Redirects followed in a row within one call by default.
pub const MAX_REDIRECTS: usize = 3;

/// How a [`LeaderConnection`] waits and retries.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionSettings {
    /// Backoff and total budget of one call; `None` makes one pass over the
    /// candidates and returns the last error (for callers that pace their
    /// own retries, like the worker's heartbeats).
    pub retry: Option<RetryPolicy>,
    /// Bound of every RPC; `None`: unbounded.
    pub rpc_timeout: Option<Duration>,
    /// "Not leader" redirects followed at once in a row.
    pub max_redirects: usize,
}

impl ConnectionSettings {
    /// Retries within `retry`'s budget, no bound on one RPC.
    pub fn retrying(retry: RetryPolicy) -> Self {
        ConnectionSettings {
            retry: Some(retry),
            rpc_timeout: None,
            max_redirects: MAX_REDIRECTS,
        }
    }

    /// One pass over the candidates per call, each RPC bounded by
    /// `rpc_timeout`.
    pub fn one_pass(rpc_timeout: Duration) -> Self {
        ConnectionSettings {
            retry: None,
            rpc_timeout: Some(rpc_timeout),
            max_redirects: MAX_REDIRECTS,
        }
    }
}

struct State {
    /// Fixed list: the master tried next.
    index: usize,
    /// The master a "not leader" answer named, tried first until it fails
    /// or the discovery names another leader, with the leader the discovery
    /// knew when the hint came.
    hinted: Option<(String, Option<String>)>,
    /// The kept channel and its master.
    channel: Option<(String, Channel)>,
    /// The master that answered the last successful call.
    last_success: Option<String>,
}

/// A retrying connection to whichever master leads.
pub struct LeaderConnection {
    discovery: MasterDiscovery,
    settings: ConnectionSettings,
    state: Mutex<State>,
}

impl LeaderConnection {
    /// A connection to the masters `discovery` finds; it connects lazily.
    pub fn new(discovery: MasterDiscovery, settings: ConnectionSettings) -> Self {
        LeaderConnection {
            discovery,
            settings,
            state: Mutex::new(State {
                index: 0,
                hinted: None,
                channel: None,
                last_success: None,
            }),
        }
    }

    /// How masters are found.
    pub fn discovery(&self) -> &MasterDiscovery {
        &self.discovery
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The master that answered the last successful call, if any.
    pub fn last_leader(&self) -> Option<String> {
        self.lock().last_success.clone()
    }

    /// The address in use: the master of the kept channel, else the next
    /// one to try (with a discovery that names the leader, the cached
    /// leader; "" if none is known yet).
    pub fn current_address(&self) -> String {
        let state = self.lock();
        if let Some((a, _)) = &state.channel {
            return a.clone();
        }
        if let Some((h, _)) = &state.hinted {
            return h.clone();
        }
        if self.discovery.names_leader() {
            return self.discovery.cached_leader().unwrap_or_default();
        }
        let list = self.discovery.candidates();
        list.get(state.index % list.len().max(1))
            .cloned()
            .unwrap_or_default()
    }

    /// Runs `op` against the leader, retrying retryable failures (see the
    /// module comment). `op` is called once per attempt: a mutation must
    /// reuse one operation id.
    pub async fn call<T, F, Fut>(&self, op: F) -> FsResult<T>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let mut backoff = self.settings.retry.map(|r| r.start());
        let mut redirects = 0;
        // Masters that failed since the last pause: a pass over a fixed
        // list tries each once.
        let mut tried: Vec<String> = Vec::new();
        loop {
            let patience = match (&self.settings.retry, &backoff) {
                (Some(retry), Some(b)) => retry.max_duration.saturating_sub(b.elapsed()),
                _ => LEADER_WAIT,
            };
            let err = match self.target(patience, &tried).await {
                Ok((addr, channel)) => match op(channel).await {
                    Ok(response) => {
                        self.lock().last_success = Some(addr);
                        return Ok(response.into_inner());
                    }
                    Err(status) => {
                        let err = FsError::from(status);
                        if !err.is_retryable() {
                            return Err(err);
                        }
                        debug!("master {addr}: {err}");
                        let may_redirect = redirects < self.settings.max_redirects;
                        let named_leader = self.failed(&addr, &err);
                        tried.push(addr);
                        if named_leader && may_redirect {
                            redirects += 1;
                            continue;
                        }
                        err
                    }
                },
                Err(err) if err.is_retryable() => {
                    debug!("{err}");
                    self.discovery.invalidate();
                    err
                }
                Err(err) => return Err(err),
            };
            let spent = match (&self.settings.retry, &backoff) {
                (Some(retry), Some(b)) => b.elapsed() >= retry.max_duration,
                _ => false,
            };
            // With a fixed list, every master gets one try before a pause
            // (within the budget).
            if !spent && self.untried(&tried) {
                continue;
            }
            tried.clear();
            let (Some(retry), Some(backoff)) = (&self.settings.retry, backoff.as_mut()) else {
                return Err(err);
            };
            match backoff.next_delay() {
                Some(delay) => {
                    debug!("retrying in {delay:?}");
                    self.pause(delay).await;
                }
                None => {
                    return Err(FsError::Unavailable(format!(
                        "no master answered within {:?} (looked for {}; last error: {err})",
                        retry.max_duration,
                        self.discovery.describe()
                    )))
                }
            }
        }
    }

    /// Whether a fixed list holds a master not in `tried` (with a discovery
    /// that names the leader, a pass is one attempt).
    fn untried(&self, tried: &[String]) -> bool {
        !self.discovery.names_leader()
            && self
                .discovery
                .candidates()
                .iter()
                .any(|c| !tried.contains(c))
    }

    /// The master to try now and a channel to it; with a discovery that
    /// names the leader, waits for one at most `patience`. With a fixed
    /// list, masters in `tried` are passed over while others remain.
    async fn target(&self, patience: Duration, tried: &[String]) -> FsResult<(String, Channel)> {
        let chosen = {
            let mut state = self.lock();
            // A hint is newer than what the discovery knew when it was
            // given; once the discovery names another leader, it wins.
            if let Some((_, seen)) = &state.hinted {
                if self.discovery.names_leader() && *seen != self.discovery.cached_leader() {
                    state.hinted = None;
                }
            }
            if let Some((h, _)) = &state.hinted {
                Some(h.clone())
            } else if self.discovery.names_leader() {
                None
            } else {
                if let Some(kept) = state.channel.as_ref().filter(|(a, _)| !tried.contains(a)) {
                    return Ok(kept.clone());
                }
                let list = self.discovery.candidates();
                if list.is_empty() {
                    return Err(FsError::InvalidArgument(
                        "no master address is configured".into(),
                    ));
                }
                let n = list.len();
                let skip = (0..n)
                    .find(|k| !tried.contains(&list[(state.index + k) % n]))
                    .unwrap_or(0);
                state.index = (state.index + skip) % n;
                Some(list[state.index].clone())
            }
        };
        let addr = match chosen {
            Some(addr) => addr,
            None => tokio::time::timeout(patience, self.discovery.leader())
                .await
                .ok()
                .flatten()
                .ok_or_else(|| {
                    FsError::Unavailable(format!(
                        "no leading master is registered in {}",
                        self.discovery.describe()
                    ))
                })?,
        };
        let mut state = self.lock();
        if let Some((a, channel)) = &state.channel {
            if *a == addr {
                return Ok((addr, channel.clone()));
            }
            info!("switching from master {a} to {addr}");
        }
        let channel = match crate::channel::channel(&addr, self.settings.rpc_timeout) {
            Ok(channel) => channel,
            Err(e) => {
                // Only a hint can be malformed (configured and registered
                // addresses are checked): forget it and go on.
                state.hinted = None;
                return Err(FsError::Unavailable(format!(
                    "master {addr}, named as the leader, cannot be reached: {e}"
                )));
            }
        };
        state.channel = Some((addr.clone(), channel.clone()));
        Ok((addr, channel))
    }

    /// Records that `addr` failed with `err` (retryable): the kept channel
    /// goes, and the next attempt goes to the master `err` names as leader,
    /// or to the next candidate. Returns whether `err` named a leader.
    fn failed(&self, addr: &str, err: &FsError) -> bool {
        self.discovery.invalidate();
        let named = match err {
            FsError::NotLeader {
                leader: Some(leader),
            } if leader != addr => Some(leader.clone()),
            _ => None,
        };
        let mut state = self.lock();
        if state.channel.as_ref().is_some_and(|(a, _)| a != addr) {
            // A concurrent call has moved on already.
            return named.is_some();
        }
        state.channel = None;
        match named {
            Some(leader) => {
                debug!("master {addr} is not the leader; trying {leader}");
                state.hinted = Some((leader, self.discovery.cached_leader()));
                true
            }
            None => {
                state.hinted = None;
                if !self.discovery.names_leader() {
                    let n = self.discovery.candidates().len().max(1);
                    state.index = (state.index + 1) % n;
                }
                false
            }
        }
    }

    /// Sleeps `delay` between attempts, waking early when the discovery
    /// announces a leader: after a crash the new leader is used as soon as
    /// it is published, not at the end of a long backoff step.
    async fn pause(&self, delay: Duration) {
        let mut changes = self.discovery.subscribe();
        changes.borrow_and_update();
        let announced = async {
            loop {
                if changes.changed().await.is_err() {
                    // Nobody announces any more: sleep the whole step.
                    std::future::pending::<()>().await;
                }
                if changes.borrow_and_update().is_some() {
                    return;
                }
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = announced => debug!("a leader was announced: retrying now"),
        }
    }
}
