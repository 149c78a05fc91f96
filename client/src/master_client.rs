//! Master RPCs with retries: connection failures, UNAVAILABLE and "not the
//! leader" are retried with backoff for the configured budget, switching to
//! the leader a master names or to the next configured address.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use alluxio_common::retry::RetryPolicy;
use alluxio_common::{FsError, FsResult};
use alluxio_proto::file_system_master_client::FileSystemMasterClient;
use tonic::transport::{Channel, Endpoint};

const MAX_MESSAGE_BYTES: usize = 256 << 20;

struct Current {
    index: usize,
    /// An address a master named as leader, tried before the list.
    hinted: Option<String>,
    channel: Option<(String, Channel)>,
}

/// A retrying connection to the leading master.
pub struct MasterClient {
    addresses: Vec<String>,
    retry: RetryPolicy,
    current: Mutex<Current>,
}

/// Opens a lazily connecting channel to `addr` (`host:port`).
pub fn channel(addr: &str) -> FsResult<Channel> {
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| FsError::InvalidArgument(format!("bad address {addr:?}: {e}")))?
        .connect_timeout(Duration::from_secs(3))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(20));
    Ok(endpoint.connect_lazy())
}

impl MasterClient {
    /// A client for the masters at `addresses`.
    pub fn new(addresses: Vec<String>, retry: RetryPolicy) -> Self {
        MasterClient {
            addresses,
            retry,
            current: Mutex::new(Current {
                index: 0,
                hinted: None,
                channel: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The address currently used.
    pub fn current_address(&self) -> String {
        let cur = self.lock();
        match &cur.channel {
            Some((a, _)) => a.clone(),
            None => cur
                .hinted
                .clone()
                .unwrap_or_else(|| self.addresses[cur.index].clone()),
        }
    }

    fn connection(&self) -> FsResult<(String, Channel)> {
        let mut cur = self.lock();
        if let Some(c) = &cur.channel {
            return Ok(c.clone());
        }
        let addr = cur
            .hinted
            .clone()
            .unwrap_or_else(|| self.addresses[cur.index].clone());
        let ch = channel(&addr)?;
        cur.channel = Some((addr.clone(), ch.clone()));
        Ok((addr, ch))
    }

    fn on_failure(&self, addr: &str, err: &FsError) {
        let mut cur = self.lock();
        if cur.channel.as_ref().is_some_and(|(a, _)| a != addr) {
            return; // someone already moved on
        }
        cur.channel = None;
        match err {
            FsError::NotLeader { leader: Some(l) } if l != addr => cur.hinted = Some(l.clone()),
            _ => {
                cur.hinted = None;
                cur.index = (cur.index + 1) % self.addresses.len();
            }
        }
    }

    /// Runs `op` against the leader, retrying retryable failures.
    pub async fn call<T, F, Fut>(&self, op: F) -> FsResult<T>
    where
        F: Fn(FileSystemMasterClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let mut backoff = self.retry.start();
        loop {
            let (addr, ch) = self.connection()?;
            let client = FileSystemMasterClient::new(ch)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES);
            let err = match op(client).await {
                Ok(resp) => return Ok(resp.into_inner()),
                Err(status) => FsError::from(status),
            };
            if !err.is_retryable() {
                return Err(err);
            }
            self.on_failure(&addr, &err);
            match backoff.next_delay() {
                Some(d) => {
                    tracing::debug!("master {addr}: {err}; retrying in {d:?}");
                    tokio::time::sleep(d).await;
                }
                None => {
                    return Err(FsError::Unavailable(format!(
                        "no master answered within {:?} (tried {}; last error: {err})",
                        self.retry.max_duration,
                        self.addresses.join(", ")
                    )))
                }
            }
        }
    }
}
