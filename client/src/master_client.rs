//! Master RPCs with retries: connection failures, UNAVAILABLE and "not the
//! leader" are retried with backoff for the configured budget.
//!
//! Where to send each attempt comes from [`MasterDiscovery`]: with ZooKeeper,
//! the leader it names (a retryable failure makes it read ZooKeeper again);
//! without, the configured addresses in turn. In both modes a leader named
//! by a "not leader" answer is tried next.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use alluxio_common::leader::MasterDiscovery;
use alluxio_common::retry::RetryPolicy;
use alluxio_common::{FsError, FsResult};
use alluxio_proto::file_system_master_client::FileSystemMasterClient;
use alluxio_proto::{GetMasterInfoRequest, GetMasterInfoResponse};
use tonic::transport::{Channel, Endpoint};

const MAX_MESSAGE_BYTES: usize = 256 << 20;
/// Bound of one `GetMasterInfo` probe (connection included).
const MASTER_INFO_TIMEOUT: Duration = Duration::from_secs(3);

struct Current {
    /// Static mode: the configured address tried next.
    index: usize,
    /// An address a master named as leader, tried before discovery.
    hinted: Option<String>,
    channel: Option<(String, Channel)>,
}

/// A retrying connection to the leading master.
pub struct MasterClient {
    discovery: MasterDiscovery,
    retry: RetryPolicy,
    current: Mutex<Current>,
}

/// Opens a lazily connecting channel to `addr` (`host:port`).
/// HTTP/2 flow-control window of one stream (servers use the same).
pub const STREAM_WINDOW: u32 = 16 << 20;
/// HTTP/2 flow-control window of one connection.
pub const CONNECTION_WINDOW: u32 = 64 << 20;

pub fn channel(addr: &str) -> FsResult<Channel> {
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| FsError::InvalidArgument(format!("bad address {addr:?}: {e}")))?
        .connect_timeout(Duration::from_secs(3))
        .tcp_nodelay(true)
        // Block streams move megabytes per call: HTTP/2's 64 KiB default
        // windows would stall every stream on flow-control round trips.
        .initial_stream_window_size(Some(STREAM_WINDOW))
        .initial_connection_window_size(Some(CONNECTION_WINDOW))
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(20));
    Ok(endpoint.connect_lazy())
}

fn fs_client(ch: Channel) -> FileSystemMasterClient<Channel> {
    FileSystemMasterClient::new(ch)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// Asks the master at `addr` (whatever its role) for its state: one
/// attempt, bounded by a short timeout.
pub async fn master_info(addr: &str) -> FsResult<GetMasterInfoResponse> {
    let ask = async {
        let mut client = fs_client(channel(addr)?);
        client
            .get_master_info(GetMasterInfoRequest {})
            .await
            .map(tonic::Response::into_inner)
            .map_err(FsError::from)
    };
    match tokio::time::timeout(MASTER_INFO_TIMEOUT, ask).await {
        Ok(result) => result,
        Err(_) => Err(FsError::Unavailable(format!(
            "master {addr} did not answer within {MASTER_INFO_TIMEOUT:?}"
        ))),
    }
}

impl MasterClient {
    /// A client for the masters `discovery` finds.
    pub fn new(discovery: MasterDiscovery, retry: RetryPolicy) -> Self {
        MasterClient {
            discovery,
            retry,
            current: Mutex::new(Current {
                index: 0,
                hinted: None,
                channel: None,
            }),
        }
    }

    /// How masters are found.
    pub fn discovery(&self) -> &MasterDiscovery {
        &self.discovery
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The address in use: the master of the current connection, else the
    /// next one to try (with ZooKeeper, the cached leader; "" if none is
    /// known yet).
    pub fn current_address(&self) -> String {
        let cur = self.lock();
        if let Some((a, _)) = &cur.channel {
            return a.clone();
        }
        if let Some(h) = &cur.hinted {
            return h.clone();
        }
        if self.discovery.is_zookeeper() {
            return self.discovery.cached_leader().unwrap_or_default();
        }
        let list = self.discovery.candidates();
        list.get(cur.index % list.len().max(1))
            .cloned()
            .unwrap_or_default()
    }

    /// The master to try now and a channel to it.
    /// With ZooKeeper, waits for a leader at most `patience`.
    async fn connection(&self, patience: Duration) -> FsResult<(String, Channel)> {
        let target = {
            let cur = self.lock();
            if let Some(h) = &cur.hinted {
                Some(h.clone())
            } else if self.discovery.is_zookeeper() {
                None
            } else {
                if let Some(c) = &cur.channel {
                    return Ok(c.clone());
                }
                let list = self.discovery.candidates();
                if list.is_empty() {
                    return Err(FsError::InvalidArgument(
                        "no master address is configured".into(),
                    ));
                }
                Some(list[cur.index % list.len()].clone())
            }
        };
        let addr = match target {
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
        let mut cur = self.lock();
        if let Some((a, ch)) = &cur.channel {
            if *a == addr {
                return Ok((a.clone(), ch.clone()));
            }
        }
        let ch = channel(&addr)?;
        cur.channel = Some((addr.clone(), ch.clone()));
        Ok((addr, ch))
    }

    fn on_failure(&self, addr: &str, err: &FsError) {
        self.discovery.invalidate();
        let mut cur = self.lock();
        if cur.channel.as_ref().is_some_and(|(a, _)| a != addr) {
            return; // someone already moved on
        }
        cur.channel = None;
        match err {
            FsError::NotLeader { leader: Some(l) } if l != addr => cur.hinted = Some(l.clone()),
            _ => {
                cur.hinted = None;
                if !self.discovery.is_zookeeper() {
                    let n = self.discovery.candidates().len().max(1);
                    cur.index = (cur.index + 1) % n;
                }
            }
        }
    }

    /// Sleeps `d` between attempts, waking early when ZooKeeper announces a
    /// leader change: after a crash the new leader is used as soon as it is
    /// published, not at the end of a long backoff step.
    async fn pause(&self, d: std::time::Duration) {
        if !self.discovery.is_zookeeper() {
            return tokio::time::sleep(d).await;
        }
        let mut changes = self.discovery.subscribe();
        changes.borrow_and_update();
        let changed = async {
            loop {
                if changes.changed().await.is_err() {
                    // No notifier: sleep the whole step.
                    std::future::pending::<()>().await;
                }
                if changes.borrow_and_update().is_some() {
                    return;
                }
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = changed => tracing::debug!("leader changed: retrying now"),
        }
    }

    /// Runs `op` against the leader, retrying retryable failures. `op` is
    /// called once per attempt: a mutation must reuse one operation id.
    pub async fn call<T, F, Fut>(&self, op: F) -> FsResult<T>
    where
        F: Fn(FileSystemMasterClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let mut backoff = self.retry.start();
        loop {
            let patience = self.retry.max_duration.saturating_sub(backoff.elapsed());
            let err = match self.connection(patience).await {
                Ok((addr, ch)) => match op(fs_client(ch)).await {
                    Ok(resp) => return Ok(resp.into_inner()),
                    Err(status) => {
                        let err = FsError::from(status);
                        if !err.is_retryable() {
                            return Err(err);
                        }
                        self.on_failure(&addr, &err);
                        tracing::debug!("master {addr}: {err}");
                        err
                    }
                },
                Err(err) if err.is_retryable() => {
                    self.discovery.invalidate();
                    tracing::debug!("{err}");
                    err
                }
                Err(err) => return Err(err),
            };
            match backoff.next_delay() {
                Some(d) => {
                    tracing::debug!("retrying in {d:?}");
                    self.pause(d).await;
                }
                None => {
                    return Err(FsError::Unavailable(format!(
                        "no master answered within {:?} (looked for {}; last error: {err})",
                        self.retry.max_duration,
                        self.discovery.describe()
                    )))
                }
            }
        }
    }
}
