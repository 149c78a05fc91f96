//! Keeping the leading master informed: registration with a full block
//! report, periodic heartbeats carrying the blocks added and removed since the
//! last acknowledged heartbeat, and the commands heartbeats bring back.
//!
//! Deltas are only dropped once a master has acknowledged them, so a failed
//! heartbeat is resent with everything that happened since. A registration
//! sends the full block list, which supersedes any unsent deltas. While the
//! masters are unreachable the worker keeps serving; it gives up (and the
//! process exits) only when no heartbeat has succeeded for longer than the
//! heartbeat timeout.

use std::convert::Infallible;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use alluxio_common::{time, FsError};
use alluxio_proto::{
    CommandType, CommitBlockRequest, HeartbeatRequest, HeartbeatResponse, RegisterWorkerRequest,
    TierUsage, WorkerNetAddress,
};
use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use crate::block_store::{BlockDeltas, BlockStore};
use alluxio_common::leader::MasterDiscovery;

use crate::master_client::MasterClient;
use crate::settings::WorkerSettings;

/// Longest wait between two registration or heartbeat attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A commit notification should not hold up a client's write for long.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a persisting failure is logged again.
const LOG_EVERY: Duration = Duration::from_secs(30);

/// Why the worker stopped talking to the masters for good.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The first registration did not succeed within the connect timeout.
    #[error(
        "could not register with a master within {timeout:?} \
         (alluxio.worker.master.connect.retry.timeout): {last}"
    )]
    RegisterTimeout {
        /// The configured timeout.
        timeout: Duration,
        /// The last failure.
        last: FsError,
    },
    /// No heartbeat (or re-registration) succeeded for the heartbeat timeout.
    #[error(
        "no successful heartbeat for {timeout:?} \
         (alluxio.worker.block.heartbeat.timeout.ms): {last}"
    )]
    HeartbeatTimeout {
        /// The configured timeout.
        timeout: Duration,
        /// The last failure.
        last: FsError,
    },
}

/// The worker's side of the worker–master protocol.
pub struct MasterSync {
    address: WorkerNetAddress,
    heartbeat_interval: Duration,
    heartbeat_timeout: Duration,
    connect_timeout: Duration,
    start_time_ms: i64,
    store: BlockStore,
    master: MasterClient,
    /// Worker id given by the master at the last registration.
    worker_id: Mutex<Option<u64>>,
}

/// What the heartbeat loop must do after a reply.
enum Next {
    Heartbeat,
    Register,
}

impl MasterSync {
    /// Prepares the protocol; nothing is sent until [`MasterSync::run`].
    pub fn new(
        settings: &WorkerSettings,
        store: BlockStore,
        masters: MasterDiscovery,
    ) -> MasterSync {
        MasterSync {
            address: WorkerNetAddress {
                host: settings.hostname.clone(),
                rpc_port: settings.rpc_port.into(),
                web_port: settings.web_port.into(),
            },
            heartbeat_interval: settings.heartbeat_interval,
            heartbeat_timeout: settings.heartbeat_timeout,
            connect_timeout: settings.master_connect_timeout,
            start_time_ms: time::now_ms(),
            store,
            master: MasterClient::new(masters),
            worker_id: Mutex::new(None),
        }
    }

    /// The id the master gave this worker, once registered.
    pub fn worker_id(&self) -> Option<u64> {
        *self
            .worker_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The master this worker last reached, for the status page.
    pub fn master_address(&self) -> Option<String> {
        self.master.leader_address()
    }

    /// Tells the master a block was committed here. Failures are logged, not
    /// returned: the next heartbeat reports the block as added anyway.
    pub async fn commit_block(&self, block_id: u64, length: u64, tier_alias: &str) {
        let Some(worker_id) = self.worker_id() else {
            debug!("block {block_id} committed before registration; the report will carry it");
            return;
        };
        let request = CommitBlockRequest {
            worker_id,
            block_id,
            length,
            tier_alias: tier_alias.to_string(),
            tiers: self.tier_usage(),
        };
        let call = self.master.call(|mut client| {
            let request = request.clone();
            async move { client.commit_block(request).await }
        });
        match tokio::time::timeout(COMMIT_TIMEOUT, call).await {
            Ok(Ok(_)) => debug!("committed block {block_id} ({length} bytes) to the master"),
            Ok(Err(e)) => warn!("cannot commit block {block_id} to the master: {e}"),
            Err(_) => warn!("committing block {block_id} to the master timed out"),
        }
    }

    /// Registers, then heartbeats forever. Returns only when the worker must
    /// give up: the first registration timed out, or heartbeats failed for
    /// longer than the heartbeat timeout.
    pub async fn run(&self) -> Result<Infallible, SyncError> {
        // With ZooKeeper, leader changes arrive here as they happen.
        let mut leader_rx = self.master.discovery().subscribe();
        let deadline = Instant::now() + self.connect_timeout;
        self.register(deadline, &mut leader_rx)
            .await
            .map_err(|last| SyncError::RegisterTimeout {
                timeout: self.connect_timeout,
                last,
            })?;
        let mut registered_with = self.master.leader_address();
        // The leader as last announced by the locator.
        let mut seen = registered_with.clone();
        let mut last_ok = Instant::now();
        let mut pending = BlockDeltas::default();
        let mut failures = 0u32;
        let mut last_logged: Option<Instant> = None;
        loop {
            let announced =
                sleep_or_new_leader(self.backoff(failures), &mut leader_rx, &mut seen).await;
            pending.merge(self.store.take_deltas());
            let heartbeat = match &announced {
                Some(_) => None,
                None => Some(self.heartbeat(&pending).await),
            };
            let next = match heartbeat {
                None => {
                    // Do not wait for a heartbeat to fail: the new leader
                    // learns block locations fastest from a full report.
                    info!(
                        "the leading master is now {} ({}); registering with it",
                        announced.as_deref().unwrap_or("?"),
                        self.master.discovery().describe()
                    );
                    Next::Register
                }
                Some(Ok(response)) => {
                    if failures > 0 {
                        info!("heartbeats to the master succeed again after {failures} failures");
                    }
                    failures = 0;
                    last_logged = None;
                    last_ok = Instant::now();
                    pending = BlockDeltas::default();
                    let next = self.handle_command(response);
                    let leader = self.master.leader_address();
                    if leader != registered_with {
                        // A new leader learns block locations fastest from a full report.
                        info!(
                            "the leading master is now {}",
                            leader.as_deref().unwrap_or("?")
                        );
                        Next::Register
                    } else {
                        next
                    }
                }
                Some(Err(FsError::NotFound(msg))) => {
                    info!("the master does not know this worker ({msg}); registering again");
                    Next::Register
                }
                Some(Err(e)) => {
                    failures += 1;
                    if last_ok.elapsed() > self.heartbeat_timeout {
                        return Err(SyncError::HeartbeatTimeout {
                            timeout: self.heartbeat_timeout,
                            last: e,
                        });
                    }
                    if last_logged.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
                        warn!(
                            "heartbeat to the master failed ({failures} in a row, last success \
                             {:?} ago; still serving cached blocks): {e}",
                            last_ok.elapsed()
                        );
                        last_logged = Some(Instant::now());
                    }
                    Next::Heartbeat
                }
            };
            if let Next::Register = next {
                self.register(last_ok + self.heartbeat_timeout, &mut leader_rx)
                    .await
                    .map_err(|last| SyncError::HeartbeatTimeout {
                        timeout: self.heartbeat_timeout,
                        last,
                    })?;
                // The full report superseded whatever was pending.
                pending = BlockDeltas::default();
                registered_with = self.master.leader_address();
                seen = registered_with.clone();
                last_ok = Instant::now();
                failures = 0;
            }
        }
    }

    /// Sleep before the next heartbeat: the interval, growing while they fail.
    fn backoff(&self, failures: u32) -> Duration {
        let grown = self
            .heartbeat_interval
            .saturating_mul(1 << failures.min(10));
        grown.min(self.heartbeat_interval.max(MAX_BACKOFF))
    }

    /// Registers with a full report, retrying with backoff until `deadline`
    /// (at once when a new leader is announced).
    async fn register(
        &self,
        deadline: Instant,
        leader_rx: &mut watch::Receiver<Option<String>>,
    ) -> Result<(), FsError> {
        let mut seen = self.master.leader_address();
        let mut delay = Duration::from_millis(100);
        let mut attempts = 0u32;
        let mut last_logged: Option<Instant> = None;
        loop {
            attempts += 1;
            let block_ids = self.store.full_report();
            let request = RegisterWorkerRequest {
                address: Some(self.address.clone()),
                tiers: self.tier_usage(),
                block_ids,
                start_time_ms: self.start_time_ms,
                identity: self.store.identity(),
            };
            let blocks = request.block_ids.len();
            let result = self
                .master
                .call(|mut client| {
                    let request = request.clone();
                    async move { client.register_worker(request).await }
                })
                .await;
            let err = match result {
                Ok(response) => {
                    *self
                        .worker_id
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = Some(response.worker_id);
                    info!(
                        "registered with master {} as worker {} ({blocks} blocks)",
                        self.master.leader_address().unwrap_or_default(),
                        response.worker_id
                    );
                    return Ok(());
                }
                Err(e) => e,
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(err);
            }
            if last_logged.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
                warn!("registering with the master failed (attempt {attempts}), retrying: {err}");
                last_logged = Some(now);
            }
            if sleep_or_new_leader(delay.min(deadline - now), leader_rx, &mut seen)
                .await
                .is_some()
            {
                delay = Duration::from_millis(100);
            } else {
                delay = (delay * 2).min(MAX_BACKOFF);
            }
        }
    }

    async fn heartbeat(&self, deltas: &BlockDeltas) -> Result<HeartbeatResponse, FsError> {
        let Some(worker_id) = self.worker_id() else {
            return Err(FsError::NotFound("no worker id yet".into()));
        };
        let request = HeartbeatRequest {
            worker_id,
            tiers: self.tier_usage(),
            added_blocks: deltas.added.iter().copied().collect(),
            removed_blocks: deltas.removed.iter().copied().collect(),
        };
        self.master
            .call(|mut client| {
                let request = request.clone();
                async move { client.heartbeat(request).await }
            })
            .await
    }

    fn handle_command(&self, response: HeartbeatResponse) -> Next {
        match response.command() {
            CommandType::CommandNothing => Next::Heartbeat,
            CommandType::CommandRegister => {
                info!("the master asks this worker to register again");
                Next::Register
            }
            CommandType::CommandFree => {
                for block_id in response.block_ids {
                    match self.store.remove_block(block_id) {
                        Ok(true) => info!("freed block {block_id} at the master's request"),
                        Ok(false) => debug!("asked to free block {block_id}, which is not here"),
                        Err(e) => error!("cannot free block {block_id}: {e}"),
                    }
                }
                Next::Heartbeat
            }
        }
    }

    fn tier_usage(&self) -> Vec<TierUsage> {
        self.store
            .tier_usage()
            .into_iter()
            .map(|t| TierUsage {
                alias: t.alias,
                capacity_bytes: t.capacity,
                used_bytes: t.used,
            })
            .collect()
    }
}

/// Sleeps `delay`, or returns early with the leader the discovery announces
/// if it is not `seen` (which tracks every announcement, `None` included).
/// With a fixed list of masters nothing is ever announced.
async fn sleep_or_new_leader(
    delay: Duration,
    leader_rx: &mut watch::Receiver<Option<String>>,
    seen: &mut Option<String>,
) -> Option<String> {
    let deadline = tokio::time::Instant::now() + delay;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return None,
            changed = leader_rx.changed() => {
                if changed.is_err() {
                    // The discovery is gone (only while shutting down).
                    tokio::time::sleep_until(deadline).await;
                    return None;
                }
                let now = leader_rx.borrow_and_update().clone();
                let is_new = now.is_some() && now != *seen;
                seen.clone_from(&now);
                if is_new {
                    return now;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
