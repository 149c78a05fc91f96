//! Finding and calling the leading master.
//!
//! Where the masters are is the job of a [`MasterLocator`]: a fixed list
//! from the configuration ([`StaticLocator`]) or the leader registered in
//! ZooKeeper ([`ZooKeeperLocator`], backed by [`MasterDiscovery`]).
//! [`MasterClient`] keeps one connection, follows "not leader" redirects that
//! name the leader, and moves on to the next candidate when a master does not
//! answer. It makes one pass over the candidates per call; waiting and
//! retrying is the caller's decision (registration and heartbeats have
//! different patience).

use std::collections::VecDeque;
use std::error::Error;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use alluxio_common::leader::MasterDiscovery;
use alluxio_common::{FsError, FsResult};
use alluxio_proto::block_master_client::BlockMasterClient;
use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio::sync::Mutex as AsyncMutex;
use tonic::transport::{Channel, Endpoint};
use tracing::{debug, info};

/// How long to wait for a TCP connection to a master.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Upper bound of any one RPC to the master (a full block report included).
const RPC_TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed within one call, so two confused masters cannot loop.
const MAX_REDIRECTS: usize = 3;
/// Largest message exchanged with the master (block reports can be long).
const MAX_MESSAGE_SIZE: usize = 64 << 20;

/// Tells where the masters may be.
pub trait MasterLocator: Send + Sync {
    /// Candidate `host:port` addresses, the most likely leader first. May
    /// wait a little (bounded) to learn the leader.
    fn candidates(&self) -> BoxFuture<'_, Vec<String>>;

    /// Whether the candidates name the leader with authority (ZooKeeper): a
    /// kept connection to another master is then not tried first.
    fn authoritative(&self) -> bool {
        false
    }

    /// A master failed with a retryable error: the leader may have changed.
    fn invalidate(&self) {}

    /// Changes of the leader, for locators that learn them as they happen.
    fn leader_changes(&self) -> Option<watch::Receiver<Option<String>>> {
        None
    }

    /// Where masters are looked for, for messages.
    fn describe(&self) -> String;
}

/// The masters named in the configuration, in order.
#[derive(Debug, Clone)]
pub struct StaticLocator {
    addresses: Vec<String>,
}

impl StaticLocator {
    /// A locator that always offers `addresses`.
    pub fn new(addresses: Vec<String>) -> StaticLocator {
        StaticLocator { addresses }
    }
}

impl MasterLocator for StaticLocator {
    fn candidates(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(std::future::ready(self.addresses.clone()))
    }

    fn describe(&self) -> String {
        format!("masters {}", self.addresses.join(", "))
    }
}

/// The leader registered in ZooKeeper (or, given a static discovery, the
/// configured masters).
#[derive(Debug, Clone)]
pub struct ZooKeeperLocator {
    discovery: MasterDiscovery,
}

impl ZooKeeperLocator {
    /// A locator asking `discovery`.
    pub fn new(discovery: MasterDiscovery) -> ZooKeeperLocator {
        ZooKeeperLocator { discovery }
    }
}

impl MasterLocator for ZooKeeperLocator {
    fn candidates(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async move {
            if !self.discovery.is_zookeeper() {
                return self.discovery.candidates();
            }
            self.discovery.leader().await.into_iter().collect()
        })
    }

    fn authoritative(&self) -> bool {
        self.discovery.is_zookeeper()
    }

    fn invalidate(&self) {
        self.discovery.invalidate();
    }

    fn leader_changes(&self) -> Option<watch::Receiver<Option<String>>> {
        self.discovery
            .is_zookeeper()
            .then(|| self.discovery.subscribe())
    }

    fn describe(&self) -> String {
        self.discovery.describe().to_string()
    }
}

struct Connection {
    address: String,
    client: BlockMasterClient<Channel>,
}

/// A connection to whichever master currently answers as leader.
pub struct MasterClient {
    locator: Arc<dyn MasterLocator>,
    conn: AsyncMutex<Option<Connection>>,
    /// Address of the master that answered the last successful call.
    last_success: Mutex<Option<String>>,
}

impl MasterClient {
    /// A client that finds masters through `locator`; it connects lazily.
    pub fn new(locator: Arc<dyn MasterLocator>) -> MasterClient {
        MasterClient {
            locator,
            conn: AsyncMutex::new(None),
            last_success: Mutex::new(None),
        }
    }

    /// The locator in use.
    pub fn locator(&self) -> &dyn MasterLocator {
        self.locator.as_ref()
    }

    /// Address of the master that answered the last successful call.
    pub fn leader_address(&self) -> Option<String> {
        self.last_success
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs `rpc` against the leader: the current connection first, then
    /// every candidate, following `NotLeader` redirects. Errors other than
    /// "unreachable" and "not leader" are returned at once.
    pub async fn call<T, F, Fut>(&self, rpc: F) -> FsResult<T>
    where
        F: Fn(BlockMasterClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let mut queue: VecDeque<String> = VecDeque::new();
        if !self.locator.authoritative() {
            if let Some(conn) = self.conn.lock().await.as_ref() {
                queue.push_back(conn.address.clone());
            }
        }
        for address in self.locator.candidates().await {
            if !queue.contains(&address) {
                queue.push_back(address);
            }
        }
        let mut last_err = FsError::Unavailable(if self.locator.authoritative() {
            format!(
                "no leading master is registered in {}",
                self.locator.describe()
            )
        } else {
            "no master address is configured".into()
        });
        let mut redirects = 0;
        while let Some(address) = queue.pop_front() {
            let client = match self.client_for(&address).await {
                Ok(client) => client,
                Err(e) => {
                    debug!("master {address} is unreachable: {e}");
                    if e.is_retryable() {
                        self.locator.invalidate();
                    }
                    last_err = e;
                    continue;
                }
            };
            match rpc(client).await {
                Ok(response) => {
                    *self
                        .last_success
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = Some(address);
                    return Ok(response.into_inner());
                }
                Err(status) => {
                    let err = FsError::from(status);
                    match &err {
                        FsError::NotLeader {
                            leader: Some(leader),
                        } if redirects < MAX_REDIRECTS && *leader != address => {
                            debug!("master {address} is not the leader; trying {leader}");
                            redirects += 1;
                            queue.retain(|a| a != leader);
                            queue.push_front(leader.clone());
                        }
                        FsError::NotLeader { .. } | FsError::Unavailable(_) => {
                            debug!("master {address}: {err}");
                        }
                        _ => return Err(err),
                    }
                    self.locator.invalidate();
                    self.forget(&address).await;
                    last_err = err;
                }
            }
        }
        Err(last_err)
    }

    /// Returns a client for `address`, reusing the connection if it is the current one.
    async fn client_for(&self, address: &str) -> FsResult<BlockMasterClient<Channel>> {
        let mut conn = self.conn.lock().await;
        if let Some(c) = conn.as_ref().filter(|c| c.address == address) {
            return Ok(c.client.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{address}"))
            .map_err(|e| FsError::InvalidArgument(format!("master address {address:?}: {e}")))?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(RPC_TIMEOUT)
            .tcp_nodelay(true);
        let channel = endpoint.connect().await.map_err(|e| {
            FsError::Unavailable(format!("cannot connect to master {address}: {}", chain(&e)))
        })?;
        if conn.as_ref().is_some_and(|c| c.address != address) {
            info!("switching to master {address}");
        }
        let client = BlockMasterClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        *conn = Some(Connection {
            address: address.to_string(),
            client: client.clone(),
        });
        Ok(client)
    }

    /// Drops the connection to `address` so the next call starts afresh.
    async fn forget(&self, address: &str) {
        let mut conn = self.conn.lock().await;
        if conn.as_ref().is_some_and(|c| c.address == address) {
            *conn = None;
        }
    }
}

/// Formats an error with its causes: transport errors hide the useful part
/// ("connection refused") a few sources down.
fn chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    let mut last = text.clone();
    while let Some(c) = cause {
        let next = c.to_string();
        if next != last {
            text.push_str(": ");
            text.push_str(&next);
        }
        last = next;
        cause = c.source();
    }
    text
}
