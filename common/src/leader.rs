//! Finding the leading master: a fixed list from the configuration, or the
//! leader registered in ZooKeeper.
//!
//! Without ZooKeeper the masters are `alluxio.master.rpc.addresses` (else
//! `alluxio.master.hostname:alluxio.master.rpc.port`) and callers rotate
//! through them, following "not leader" hints. With ZooKeeper
//! (`alluxio.zookeeper.enabled`), the leading master holds an ephemeral node
//! named `host:port` under `alluxio.zookeeper.leader.path`, and every master
//! holds an ephemeral sequential node under `alluxio.zookeeper.election.path`
//! whose data is its `host:port`. A [`MasterDiscovery`] in ZooKeeper mode runs
//! one background task that keeps a session open, reads the leader path with
//! a watch, caches the leader and publishes its changes.
//!
//! ZooKeeper being down never blocks a caller for long: [`MasterDiscovery::leader`]
//! answers from the cache, or waits at most [`LEADER_WAIT`] for a first
//! answer; the task keeps reconnecting with backoff. While ZooKeeper is
//! unreachable the last known leader stays cached (it is most likely still
//! right, and a master that lost ZooKeeper refuses requests anyway, so a
//! caller just retries).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};
use zookeeper_client as zk;

use crate::config::{keys, Config, ConfigError};

/// Longest time [`MasterDiscovery::leader`] waits for ZooKeeper to name a
/// leader when none is cached (and [`MasterDiscovery::masters`] waits for a
/// ZooKeeper session).
pub const LEADER_WAIT: Duration = Duration::from_secs(2);
/// First and longest pause between attempts to reach ZooKeeper.
const MIN_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(2);
/// How often a persisting ZooKeeper failure is logged at warning level.
const LOG_EVERY: Duration = Duration::from_secs(30);

/// Where the masters are, as configured (plain data, no connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoveryConfig {
    /// A fixed list of master `host:port` addresses, tried in order.
    Static(Vec<String>),
    /// The leader is registered in ZooKeeper.
    ZooKeeper(ZooKeeperConfig),
}

/// The ZooKeeper settings of leader discovery (`alluxio.zookeeper.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZooKeeperConfig {
    /// `host:port` of every ZooKeeper server.
    pub servers: Vec<String>,
    /// Session timeout asked of ZooKeeper.
    pub session_timeout: Duration,
    /// Parent of the masters' ephemeral sequential election nodes.
    pub election_path: String,
    /// Parent of the leader's ephemeral `host:port` node.
    pub leader_path: String,
}

impl ZooKeeperConfig {
    /// The connect string of the ZooKeeper client (`h1:p1,h2:p2`).
    pub fn connect_string(&self) -> String {
        self.servers.join(",")
    }

    /// Bound of one ZooKeeper read.
    fn op_timeout(&self) -> Duration {
        self.session_timeout
            .clamp(Duration::from_secs(1), Duration::from_secs(10))
    }
}

impl DiscoveryConfig {
    /// Reads the discovery settings. With ZooKeeper enabled,
    /// `alluxio.zookeeper.address` is required and no master host name is
    /// read; without it, `alluxio.master.rpc.addresses` if set, else
    /// `alluxio.master.hostname:alluxio.master.rpc.port`.
    pub fn from_config(conf: &Config) -> Result<Self, ConfigError> {
        if conf.get_bool(keys::ZOOKEEPER_ENABLED)? {
            let servers = conf.get_list(keys::ZOOKEEPER_ADDRESS)?;
            if servers.is_empty() || servers.iter().any(|s| !is_host_port(s)) {
                return Err(invalid(
                    conf,
                    keys::ZOOKEEPER_ADDRESS,
                    "comma-separated host:port items, e.g. zk1:2181,zk2:2181",
                ));
            }
            let session_timeout = conf.get_duration(keys::ZOOKEEPER_SESSION_TIMEOUT)?;
            if session_timeout.is_zero() {
                return Err(invalid(
                    conf,
                    keys::ZOOKEEPER_SESSION_TIMEOUT,
                    "a duration greater than zero",
                ));
            }
            let election_path = znode_path(conf, keys::ZOOKEEPER_ELECTION_PATH)?;
            let leader_path = znode_path(conf, keys::ZOOKEEPER_LEADER_PATH)?;
            return Ok(DiscoveryConfig::ZooKeeper(ZooKeeperConfig {
                servers,
                session_timeout,
                election_path,
                leader_path,
            }));
        }
        if conf.get_opt(keys::MASTER_RPC_ADDRESSES).is_some() {
            let list = conf.get_list(keys::MASTER_RPC_ADDRESSES)?;
            if list.is_empty() || list.iter().any(|a| !is_host_port(a)) {
                return Err(invalid(
                    conf,
                    keys::MASTER_RPC_ADDRESSES,
                    "comma-separated host:port items, e.g. m1:19998,m2:19998",
                ));
            }
            return Ok(DiscoveryConfig::Static(list));
        }
        let host = conf.get(keys::MASTER_HOSTNAME)?;
        let port = conf.get_port(keys::MASTER_RPC_PORT)?;
        if host.trim().is_empty() {
            return Err(invalid(conf, keys::MASTER_HOSTNAME, "a host name"));
        }
        Ok(DiscoveryConfig::Static(vec![format!(
            "{}:{port}",
            host.trim()
        )]))
    }

    /// Whether the leader comes from ZooKeeper.
    pub fn is_zookeeper(&self) -> bool {
        matches!(self, DiscoveryConfig::ZooKeeper(_))
    }

    /// Where the masters are looked for, for messages: "ZooKeeper
    /// zk1:2181,zk2:2181 /alluxio/leader" or "masters m1:19998, m2:19998".
    pub fn describe(&self) -> String {
        match self {
            DiscoveryConfig::Static(list) => format!("masters {}", list.join(", ")),
            DiscoveryConfig::ZooKeeper(zk) => {
                format!("ZooKeeper {} {}", zk.connect_string(), zk.leader_path)
            }
        }
    }
}

fn invalid(conf: &Config, key: &str, expected: &str) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.to_string(),
        value: conf.get(key).unwrap_or_default(),
        expected: expected.to_string(),
    }
}

/// Reads an absolute ZooKeeper path, dropping a trailing `/`.
fn znode_path(conf: &Config, key: &str) -> Result<String, ConfigError> {
    let value = conf.get(key)?;
    normalize_znode_path(&value).ok_or_else(|| {
        invalid(
            conf,
            key,
            "an absolute ZooKeeper path such as /alluxio/leader",
        )
    })
}

fn normalize_znode_path(value: &str) -> Option<String> {
    let value = value.trim();
    let trimmed = value.strip_suffix('/').unwrap_or(value);
    let ok = trimmed.starts_with('/')
        && trimmed.len() > 1
        && trimmed[1..].split('/').all(|part| {
            !part.is_empty() && part != "." && part != ".." && !part.contains(char::is_whitespace)
        });
    ok.then(|| trimmed.to_string())
}

/// Whether `item` has the form `host:port` (port 1 to 65535).
pub fn is_host_port(item: &str) -> bool {
    item.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty()
            && !host.contains(char::is_whitespace)
            && port.parse::<u16>().is_ok_and(|p| p > 0)
    })
}

/// Picks the leader among the children of the leader path: the one created
/// last (highest `czxid`) when several exist during a handover. Children
/// that are not `host:port` are ignored; without creation ids the last name
/// in sorted order wins.
fn choose_leader(children: &[(String, Option<i64>)]) -> Option<String> {
    let mut valid: Vec<&(String, Option<i64>)> =
        children.iter().filter(|(n, _)| is_host_port(n)).collect();
    valid.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    valid.last().map(|(name, _)| name.clone())
}

/// The sequence number ZooKeeper appended to an election node's name.
fn election_sequence(name: &str) -> Option<u64> {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    name[name.len() - digits..].parse().ok()
}

/// The address held by an election node, if its data is `host:port`.
fn parse_master_data(data: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(data).ok()?.trim();
    is_host_port(text).then(|| text.to_string())
}

fn child_path(parent: &str, child: &str) -> String {
    format!("{}/{child}", parent.trim_end_matches('/'))
}

/// State shared by the handles and the background task.
struct Shared {
    config: DiscoveryConfig,
    description: String,
    leader: watch::Sender<Option<String>>,
    /// The live ZooKeeper session, if any.
    client: watch::Sender<Option<zk::Client>>,
    /// Asks the task to read the leader path again.
    refresh: Notify,
}

impl Shared {
    fn publish(&self, leader: Option<String>) {
        let changed = self.leader.send_if_modified(|current| {
            if *current == leader {
                return false;
            }
            *current = leader.clone();
            true
        });
        if changed {
            match &leader {
                Some(l) => info!("leading master is {l} (from {})", self.description),
                None => info!("no leading master is registered in {}", self.description),
            }
        }
    }
}

struct Handle {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(task) = self
            .task
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

/// Finds the leading master; cheap to clone (all clones share one cache and,
/// with ZooKeeper, one session). The ZooKeeper task starts on the tokio
/// runtime current at creation, or at the first use from within one, and
/// stops when the last clone is dropped.
#[derive(Clone)]
pub struct MasterDiscovery {
    inner: Arc<Handle>,
}

impl fmt::Debug for MasterDiscovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterDiscovery")
            .field("config", &self.inner.shared.config)
            .field("leader", &*self.inner.shared.leader.borrow())
            .finish()
    }
}

impl MasterDiscovery {
    /// Discovery as configured in `conf` (see [`DiscoveryConfig::from_config`]).
    pub fn from_config(conf: &Config) -> Result<Self, ConfigError> {
        Ok(Self::new(DiscoveryConfig::from_config(conf)?))
    }

    /// Discovery with explicit settings.
    pub fn new(config: DiscoveryConfig) -> Self {
        let initial = match &config {
            DiscoveryConfig::Static(list) if list.len() == 1 => Some(list[0].clone()),
            _ => None,
        };
        let shared = Arc::new(Shared {
            description: config.describe(),
            config,
            leader: watch::Sender::new(initial),
            client: watch::Sender::new(None),
            refresh: Notify::new(),
        });
        let discovery = MasterDiscovery {
            inner: Arc::new(Handle {
                shared,
                task: Mutex::new(None),
            }),
        };
        discovery.ensure_started();
        discovery
    }

    /// A discovery over a fixed list of masters.
    pub fn fixed(addresses: Vec<String>) -> Self {
        Self::new(DiscoveryConfig::Static(addresses))
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The settings in use.
    pub fn config(&self) -> &DiscoveryConfig {
        &self.shared().config
    }

    /// Whether the leader comes from ZooKeeper.
    pub fn is_zookeeper(&self) -> bool {
        self.config().is_zookeeper()
    }

    /// Where masters are looked for, for messages (e.g. "ZooKeeper
    /// 127.0.0.1:2181 /alluxio/leader").
    pub fn describe(&self) -> &str {
        &self.shared().description
    }

    /// The configured masters in static mode; with ZooKeeper the cached
    /// leader, if any (see [`MasterDiscovery::masters`] for all masters).
    pub fn candidates(&self) -> Vec<String> {
        match self.config() {
            DiscoveryConfig::Static(list) => list.clone(),
            DiscoveryConfig::ZooKeeper(_) => self.cached_leader().into_iter().collect(),
        }
    }

    /// The leader as last known, without waiting. In static mode, the only
    /// master if exactly one is configured, else `None`.
    pub fn cached_leader(&self) -> Option<String> {
        self.shared().leader.borrow().clone()
    }

    /// The leading master's `host:port`. With ZooKeeper it is the cached
    /// leader; when none is cached, it asks ZooKeeper and waits at most
    /// [`LEADER_WAIT`] for a leader to be named, then returns `None`. In
    /// static mode: the only master if exactly one is configured, else
    /// `None` (rotate through [`MasterDiscovery::candidates`]).
    pub async fn leader(&self) -> Option<String> {
        if !self.is_zookeeper() {
            return self.cached_leader();
        }
        self.ensure_started();
        let mut rx = self.shared().leader.subscribe();
        if let Some(leader) = rx.borrow_and_update().clone() {
            return Some(leader);
        }
        self.shared().refresh.notify_one();
        let _ = tokio::time::timeout(LEADER_WAIT, rx.wait_for(Option::is_some)).await;
        let leader = rx.borrow().clone();
        leader
    }

    /// Tells discovery that a caller saw a retryable failure (the leader may
    /// have changed): with ZooKeeper, the leader path is read again now.
    pub fn invalidate(&self) {
        if self.is_zookeeper() {
            self.ensure_started();
            self.shared().refresh.notify_one();
        }
    }

    /// Follows the leader: the receiver sees every change of the cached
    /// leader (including to `None` while no master leads). In static mode
    /// it never changes.
    pub fn subscribe(&self) -> watch::Receiver<Option<String>> {
        self.ensure_started();
        self.shared().leader.subscribe()
    }

    /// Every master: in static mode the configured list; with ZooKeeper the
    /// addresses held by the election nodes, in election order, plus the
    /// cached leader if it is missing there. Waits at most [`LEADER_WAIT`]
    /// for a session and one read timeout for the answer; if ZooKeeper
    /// cannot be read, only the cached leader (if any) is returned.
    pub async fn masters(&self) -> Vec<String> {
        let zk = match self.config() {
            DiscoveryConfig::Static(list) => return list.clone(),
            DiscoveryConfig::ZooKeeper(zk) => zk,
        };
        self.ensure_started();
        let mut client_rx = self.shared().client.subscribe();
        let client =
            match tokio::time::timeout(LEADER_WAIT, client_rx.wait_for(Option::is_some)).await {
                Ok(Ok(client)) => client.clone(),
                _ => None,
            };
        let mut list = match client {
            Some(client) => {
                match tokio::time::timeout(
                    zk.op_timeout(),
                    read_masters(&client, &zk.election_path),
                )
                .await
                {
                    Ok(Ok(list)) => list,
                    Ok(Err(e)) => {
                        debug!("cannot list the masters in ZooKeeper: {e}");
                        Vec::new()
                    }
                    Err(_) => {
                        debug!("listing the masters in ZooKeeper timed out");
                        Vec::new()
                    }
                }
            }
            None => Vec::new(),
        };
        if let Some(leader) = self.cached_leader() {
            if !list.contains(&leader) {
                list.insert(0, leader);
            }
        }
        list
    }

    /// Starts (or restarts, if its runtime went away) the ZooKeeper task.
    fn ensure_started(&self) {
        let DiscoveryConfig::ZooKeeper(zk) = self.config() else {
            return;
        };
        let mut task = self
            .inner
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let shared = self.inner.shared.clone();
        *task = Some(runtime.spawn(watch_leader(shared, zk.clone())));
    }
}

/// Lists the election nodes and reads their addresses, in election order.
async fn read_masters(client: &zk::Client, election_path: &str) -> Result<Vec<String>, zk::Error> {
    let mut children = match client.list_children(election_path).await {
        Ok(children) => children,
        Err(zk::Error::NoNode) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    children.sort_by(|a, b| (election_sequence(a), a).cmp(&(election_sequence(b), b)));
    let mut masters = Vec::new();
    for child in children {
        match client.get_data(&child_path(election_path, &child)).await {
            Ok((data, _)) => match parse_master_data(&data) {
                Some(addr) if !masters.contains(&addr) => masters.push(addr),
                Some(_) => {}
                None => debug!("election node {child} holds no host:port"),
            },
            Err(zk::Error::NoNode) => {} // gone since the listing
            Err(e) => return Err(e),
        }
    }
    Ok(masters)
}

/// Reads the leader path and leaves a watch on it (on its children, or on
/// its creation when it does not exist yet).
async fn read_leader(
    client: &zk::Client,
    leader_path: &str,
) -> Result<(Option<String>, zk::OneshotWatcher), zk::Error> {
    loop {
        match client.list_and_watch_children(leader_path).await {
            Ok((children, watcher)) => {
                let leader = pick_leader(client, leader_path, children).await?;
                return Ok((leader, watcher));
            }
            Err(zk::Error::NoNode) => {
                let (stat, watcher) = client.check_and_watch_stat(leader_path).await?;
                if stat.is_none() {
                    return Ok((None, watcher));
                }
                // Created in between: list it.
            }
            Err(e) => return Err(e),
        }
    }
}

async fn pick_leader(
    client: &zk::Client,
    leader_path: &str,
    children: Vec<String>,
) -> Result<Option<String>, zk::Error> {
    let valid: Vec<String> = children.into_iter().filter(|c| is_host_port(c)).collect();
    if valid.len() <= 1 {
        return Ok(valid.into_iter().next());
    }
    let mut stamped = Vec::with_capacity(valid.len());
    for child in valid {
        match client.check_stat(&child_path(leader_path, &child)).await {
            Ok(Some(stat)) => stamped.push((child, Some(stat.czxid))),
            Ok(None) => {} // gone since the listing
            Err(e) => return Err(e),
        }
    }
    Ok(choose_leader(&stamped))
}

/// A warning at most every [`LOG_EVERY`], debug lines in between.
struct RateLimitedLog {
    last: Option<tokio::time::Instant>,
}

impl RateLimitedLog {
    fn warn(&mut self, message: impl fmt::Display) {
        if self.last.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
            warn!("{message}");
            self.last = Some(tokio::time::Instant::now());
        } else {
            debug!("{message}");
        }
    }
}

/// The background task: connect, follow the leader path, reconnect with a
/// new session when one expires; forever.
async fn watch_leader(shared: Arc<Shared>, zk: ZooKeeperConfig) {
    let connect_string = zk.connect_string();
    let mut delay = MIN_RETRY;
    let mut log = RateLimitedLog { last: None };
    loop {
        let connecting = zk::Client::connector()
            .with_session_timeout(zk.session_timeout)
            .with_fail_eagerly()
            .connect(&connect_string);
        let bound = zk.session_timeout + Duration::from_secs(1);
        let client = match tokio::time::timeout(bound, connecting).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                log.warn(format_args!(
                    "cannot reach ZooKeeper at {connect_string} ({e}); retrying; \
                     the last known leader ({}) is kept meanwhile",
                    shared.leader.borrow().as_deref().unwrap_or("none")
                ));
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RETRY);
                continue;
            }
            Err(_) => {
                log.warn(format_args!(
                    "connecting to ZooKeeper at {connect_string} timed out after {bound:?}; retrying"
                ));
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RETRY);
                continue;
            }
        };
        info!(
            "connected to ZooKeeper at {connect_string} (session {}, timeout {:?})",
            client.session_id(),
            client.session_timeout()
        );
        log.last = None;
        delay = MIN_RETRY;
        shared.client.send_replace(Some(client.clone()));
        follow_session(&shared, &zk, &client, &mut log).await;
        shared.client.send_replace(None);
        info!(
            "ZooKeeper session {} ended ({}); opening a new one",
            client.session_id(),
            client.state()
        );
        drop(client);
    }
}

/// Reads the leader path whenever it changes or a refresh is asked, until
/// the session ends (expired, closed or authentication failed).
async fn follow_session(
    shared: &Shared,
    zk: &ZooKeeperConfig,
    client: &zk::Client,
    log: &mut RateLimitedLog,
) {
    let mut state = client.state_watcher();
    let mut retry = MIN_RETRY;
    loop {
        if client.state().is_terminated() {
            return;
        }
        let read =
            tokio::time::timeout(zk.op_timeout(), read_leader(client, &zk.leader_path)).await;
        let watcher = match read {
            Ok(Ok((leader, watcher))) => {
                shared.publish(leader);
                retry = MIN_RETRY;
                watcher
            }
            Ok(Err(e)) => {
                if matches!(
                    e,
                    zk::Error::SessionExpired | zk::Error::ClientClosed | zk::Error::AuthFailed
                ) {
                    return;
                }
                log.warn(format_args!(
                    "cannot read {} in ZooKeeper ({e}); retrying",
                    zk.leader_path
                ));
                if !pause(shared, &mut state, retry).await {
                    return;
                }
                retry = (retry * 2).min(MAX_RETRY);
                continue;
            }
            Err(_) => {
                log.warn(format_args!(
                    "reading {} in ZooKeeper timed out; retrying",
                    zk.leader_path
                ));
                if !pause(shared, &mut state, retry).await {
                    return;
                }
                retry = (retry * 2).min(MAX_RETRY);
                continue;
            }
        };
        let mut changed = std::pin::pin!(watcher.changed());
        loop {
            tokio::select! {
                event = &mut changed => {
                    debug!("ZooKeeper event on the leader path: {:?}", event.event_type);
                    if event.session_state.is_terminated() {
                        return;
                    }
                    break;
                }
                _ = shared.refresh.notified() => break,
                st = state.changed() => match st {
                    s if s.is_terminated() => return,
                    zk::SessionState::Disconnected => {
                        debug!("disconnected from ZooKeeper; keeping the cached leader");
                    }
                    // Reconnected: the watch survives, but read again in case.
                    _ => break,
                },
            }
        }
    }
}

/// Waits `delay`, or less if the session state changes or a refresh is
/// asked; `false` if the session is over.
async fn pause(shared: &Shared, state: &mut zk::StateWatcher, delay: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(delay) => true,
        _ = shared.refresh.notified() => true,
        s = state.changed() => !s.is_terminated(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let mut conf = Config::defaults();
        for (k, v) in pairs {
            conf.set(k, v);
        }
        conf
    }

    #[test]
    fn static_mode_from_hostname_or_list() {
        let c = DiscoveryConfig::from_config(&config(&[])).unwrap();
        assert_eq!(c, DiscoveryConfig::Static(vec!["localhost:19998".into()]));

        let c = DiscoveryConfig::from_config(&config(&[
            (keys::MASTER_HOSTNAME, "m0"),
            (keys::MASTER_RPC_PORT, "20000"),
        ]))
        .unwrap();
        assert_eq!(c, DiscoveryConfig::Static(vec!["m0:20000".into()]));

        let c = DiscoveryConfig::from_config(&config(&[
            (keys::MASTER_HOSTNAME, "ignored"),
            (keys::MASTER_RPC_ADDRESSES, " m1:19998, m2:19998 "),
        ]))
        .unwrap();
        assert_eq!(
            c,
            DiscoveryConfig::Static(vec!["m1:19998".into(), "m2:19998".into()])
        );
        assert!(!c.is_zookeeper());
        assert_eq!(c.describe(), "masters m1:19998, m2:19998");

        let err = DiscoveryConfig::from_config(&config(&[(keys::MASTER_RPC_ADDRESSES, "m1")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(keys::MASTER_RPC_ADDRESSES), "{err}");
    }

    #[test]
    fn zookeeper_mode_needs_no_master_hostname() {
        let c = DiscoveryConfig::from_config(&config(&[
            (keys::ZOOKEEPER_ENABLED, "true"),
            (keys::ZOOKEEPER_ADDRESS, "zk1:2181, zk2:2181"),
            (keys::ZOOKEEPER_SESSION_TIMEOUT, "3s"),
            (keys::MASTER_HOSTNAME, ""),
            (keys::MASTER_RPC_ADDRESSES, "bad"),
        ]))
        .unwrap();
        let DiscoveryConfig::ZooKeeper(zk) = &c else {
            panic!("expected ZooKeeper mode: {c:?}");
        };
        assert_eq!(zk.servers, vec!["zk1:2181".to_string(), "zk2:2181".into()]);
        assert_eq!(zk.connect_string(), "zk1:2181,zk2:2181");
        assert_eq!(zk.session_timeout, Duration::from_secs(3));
        assert_eq!(zk.election_path, "/alluxio/election");
        assert_eq!(zk.leader_path, "/alluxio/leader");
        assert_eq!(c.describe(), "ZooKeeper zk1:2181,zk2:2181 /alluxio/leader");

        let c = DiscoveryConfig::from_config(&config(&[
            (keys::ZOOKEEPER_ENABLED, "TRUE"),
            (keys::ZOOKEEPER_ADDRESS, "127.0.0.1:2181"),
            (keys::ZOOKEEPER_LEADER_PATH, "/a/lead/"),
            (keys::ZOOKEEPER_ELECTION_PATH, "/a/elect"),
        ]))
        .unwrap();
        let DiscoveryConfig::ZooKeeper(zk) = c else {
            panic!("expected ZooKeeper mode");
        };
        assert_eq!(
            (zk.leader_path.as_str(), zk.election_path.as_str()),
            ("/a/lead", "/a/elect")
        );
    }

    #[test]
    fn zookeeper_mode_errors_name_the_key() {
        let err = DiscoveryConfig::from_config(&config(&[(keys::ZOOKEEPER_ENABLED, "true")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(keys::ZOOKEEPER_ADDRESS), "{err}");
        for (key, value) in [
            (keys::ZOOKEEPER_ADDRESS, "zk1"),
            (keys::ZOOKEEPER_SESSION_TIMEOUT, "0ms"),
            (keys::ZOOKEEPER_LEADER_PATH, "alluxio/leader"),
            (keys::ZOOKEEPER_ELECTION_PATH, "/a//b"),
            (keys::ZOOKEEPER_LEADER_PATH, "/"),
        ] {
            let mut pairs = vec![
                (keys::ZOOKEEPER_ENABLED, "true"),
                (keys::ZOOKEEPER_ADDRESS, "zk1:2181"),
            ];
            pairs.push((key, value));
            let err = DiscoveryConfig::from_config(&config(&pairs))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{key}={value}: {err}");
        }
    }

    #[test]
    fn parsing_helpers() {
        assert!(is_host_port("127.0.0.1:19998"));
        assert!(is_host_port("[::1]:19998"));
        assert!(!is_host_port("m1"));
        assert!(!is_host_port(":19998"));
        assert!(!is_host_port("m1:0"));
        assert!(!is_host_port("m1:70000"));
        assert_eq!(election_sequence("member-0000000012"), Some(12));
        assert_eq!(election_sequence("_c_1f2e-latch-0000000003"), Some(3));
        assert_eq!(election_sequence("nodigits"), None);
        assert_eq!(parse_master_data(b" m1:19998\n"), Some("m1:19998".into()));
        assert_eq!(parse_master_data(b"garbage"), None);
        assert_eq!(parse_master_data(&[0xff, 0xfe]), None);
        assert_eq!(child_path("/alluxio/leader", "m:1"), "/alluxio/leader/m:1");
    }

    #[test]
    fn newest_leader_node_wins() {
        assert_eq!(choose_leader(&[]), None);
        assert_eq!(
            choose_leader(&[("m1:1".into(), Some(5))]),
            Some("m1:1".into())
        );
        assert_eq!(
            choose_leader(&[
                ("m2:1".into(), Some(9)),
                ("m1:1".into(), Some(5)),
                ("junk".into(), Some(99)),
            ]),
            Some("m2:1".into())
        );
        assert_eq!(
            choose_leader(&[("b:1".into(), None), ("a:1".into(), None)]),
            Some("b:1".into())
        );
    }

    #[tokio::test]
    async fn static_mode_answers_at_once() {
        let one = MasterDiscovery::fixed(vec!["m1:1".into()]);
        assert_eq!(one.leader().await, Some("m1:1".into()));
        assert_eq!(*one.subscribe().borrow(), Some("m1:1".into()));
        let two = MasterDiscovery::fixed(vec!["m1:1".into(), "m2:1".into()]);
        assert_eq!(two.leader().await, None);
        assert_eq!(two.candidates(), vec!["m1:1".to_string(), "m2:1".into()]);
        assert_eq!(two.masters().await, two.candidates());
        two.invalidate();
        assert_eq!(two.describe(), "masters m1:1, m2:1");
    }

    #[tokio::test]
    async fn unreachable_zookeeper_does_not_hang_callers() {
        // A port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let discovery = MasterDiscovery::new(DiscoveryConfig::ZooKeeper(ZooKeeperConfig {
            servers: vec![format!("127.0.0.1:{port}")],
            session_timeout: Duration::from_secs(2),
            election_path: "/alluxio/election".into(),
            leader_path: "/alluxio/leader".into(),
        }));
        let bound = LEADER_WAIT + Duration::from_secs(2);
        let started = std::time::Instant::now();
        assert_eq!(discovery.leader().await, None);
        let took = started.elapsed();
        assert!(took < bound, "leader() took {took:?}");
        let started = std::time::Instant::now();
        assert!(discovery.masters().await.is_empty());
        let took = started.elapsed();
        assert!(took < bound, "masters() took {took:?}");
        discovery.invalidate();
        let started = std::time::Instant::now();
        assert_eq!(discovery.leader().await, None);
        let took = started.elapsed();
        assert!(took < bound, "leader() took {took:?}");
        assert!(discovery.candidates().is_empty());
    }

    /// Tests against a real ZooKeeper server (Debian's `zookeeper` package);
    /// skipped when it is not installed.
    mod live {
        use std::path::PathBuf;
        use std::process::{Child, Command, Stdio};
        use std::time::Instant;

        use super::*;

        const JAR: &str = "/usr/share/java/zookeeper.jar";

        /// A ZooKeeper server process, killed when dropped.
        struct Server {
            child: Option<Child>,
            dir: PathBuf,
            port: u16,
        }

        impl Server {
            fn start(dir: PathBuf, port: u16) -> Server {
                std::fs::create_dir_all(dir.join("data")).unwrap();
                let cfg = dir.join("zoo.cfg");
                std::fs::write(
                    &cfg,
                    format!(
                        "tickTime=250\nminSessionTimeout=500\ninitLimit=10\nsyncLimit=5\n\
                         dataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                         admin.enableServer=false\n",
                        dir.join("data").display()
                    ),
                )
                .unwrap();
                let log = std::fs::File::create(dir.join("zookeeper.log")).unwrap();
                let mut classpath = String::from("/etc/zookeeper/conf:");
                classpath.push_str(JAR);
                let child = Command::new("java")
                    .arg("-cp")
                    .arg(classpath)
                    .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
                    .arg(&cfg)
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().unwrap())
                    .stderr(log)
                    .spawn()
                    .expect("start java");
                let server = Server {
                    child: Some(child),
                    dir,
                    port,
                };
                let deadline = Instant::now() + Duration::from_secs(30);
                while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                    assert!(Instant::now() < deadline, "ZooKeeper did not start");
                    std::thread::sleep(Duration::from_millis(50));
                }
                server
            }

            fn stop(&mut self) {
                if let Some(mut child) = self.child.take() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }

            fn address(&self) -> String {
                format!("127.0.0.1:{}", self.port)
            }
        }

        impl Drop for Server {
            fn drop(&mut self) {
                self.stop();
            }
        }

        /// Removes the test directory when dropped (after the server).
        struct Cleanup(PathBuf);

        impl Drop for Cleanup {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }

        fn free_port() -> u16 {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        }

        async fn session(addr: &str) -> zk::Client {
            zk::Client::connector()
                .with_session_timeout(Duration::from_secs(2))
                .connect(addr)
                .await
                .expect("connect to ZooKeeper")
        }

        async fn become_leader(client: &zk::Client, name: &str) {
            let dir = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
            client.mkdir("/alluxio/leader", &dir).await.unwrap();
            client
                .create(
                    &format!("/alluxio/leader/{name}"),
                    b"",
                    &zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all()),
                )
                .await
                .unwrap();
        }

        async fn join_election(client: &zk::Client, name: &str) {
            let dir = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
            client.mkdir("/alluxio/election", &dir).await.unwrap();
            client
                .create(
                    "/alluxio/election/member-",
                    name.as_bytes(),
                    &zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all()),
                )
                .await
                .unwrap();
        }

        /// Waits up to `within` for the subscribed leader to become `want`.
        async fn expect_leader(
            rx: &mut watch::Receiver<Option<String>>,
            want: Option<&str>,
            within: Duration,
        ) -> Duration {
            let started = Instant::now();
            let seen = tokio::time::timeout(within, rx.wait_for(|l| l.as_deref() == want))
                .await
                .is_ok();
            assert!(
                seen,
                "leader is {:?}, expected {want:?} within {within:?}",
                *rx.borrow()
            );
            started.elapsed()
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn follows_leader_changes_and_outages() {
            if !std::path::Path::new(JAR).exists()
                || Command::new("java").arg("-version").output().is_err()
            {
                eprintln!("skipped: {JAR} or java is missing (apt-get install zookeeper)");
                return;
            }
            let dir = std::env::temp_dir().join(format!(
                "alluxio-leader-test-{}-{}",
                std::process::id(),
                free_port()
            ));
            let _cleanup = Cleanup(dir.clone());
            let port = free_port();
            let mut server = Server::start(dir.clone(), port);
            let addr = server.address();

            let discovery = MasterDiscovery::new(DiscoveryConfig::ZooKeeper(ZooKeeperConfig {
                servers: vec![addr.clone()],
                session_timeout: Duration::from_secs(2),
                election_path: "/alluxio/election".into(),
                leader_path: "/alluxio/leader".into(),
            }));
            assert_eq!(
                discovery.describe(),
                format!("ZooKeeper {addr} /alluxio/leader")
            );
            // No leader path yet: a bounded wait, then None.
            let started = Instant::now();
            assert_eq!(discovery.leader().await, None);
            assert!(started.elapsed() <= LEADER_WAIT + Duration::from_secs(1));
            let mut rx = discovery.subscribe();

            // Master A wins: seen through the watch on the missing path.
            let a = session(&addr).await;
            join_election(&a, "127.0.0.1:1001").await;
            become_leader(&a, "127.0.0.1:1001").await;
            let took = expect_leader(&mut rx, Some("127.0.0.1:1001"), Duration::from_secs(1)).await;
            eprintln!("first leader seen after {took:?}");
            assert_eq!(discovery.leader().await.as_deref(), Some("127.0.0.1:1001"));

            // Master B joins and, during a handover overlap, takes over.
            let b = session(&addr).await;
            join_election(&b, "127.0.0.1:1002").await;
            assert_eq!(
                discovery.masters().await,
                vec!["127.0.0.1:1001".to_string(), "127.0.0.1:1002".into()]
            );
            become_leader(&b, "127.0.0.1:1002").await;
            expect_leader(&mut rx, Some("127.0.0.1:1002"), Duration::from_secs(1)).await;
            a.delete("/alluxio/leader/127.0.0.1:1001", None)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert_eq!(discovery.cached_leader().as_deref(), Some("127.0.0.1:1002"));

            // B stops (closes its session): no leader, then A again.
            drop(b);
            let took = expect_leader(&mut rx, None, Duration::from_secs(1)).await;
            eprintln!("leader loss seen after {took:?}");
            assert_eq!(
                discovery.masters().await,
                vec!["127.0.0.1:1001".to_string()]
            );
            become_leader(&a, "127.0.0.1:1001").await;
            let took = expect_leader(&mut rx, Some("127.0.0.1:1001"), Duration::from_secs(1)).await;
            eprintln!("new leader seen after {took:?}");

            // ZooKeeper goes down: callers get the cached leader at once and
            // bounded answers otherwise.
            drop(a);
            server.stop();
            let started = Instant::now();
            discovery.invalidate();
            assert!(discovery.leader().await.is_some());
            let masters = discovery.masters().await;
            assert!(masters.len() <= 1, "{masters:?}");
            assert!(
                started.elapsed() < Duration::from_secs(8),
                "took {:?}",
                started.elapsed()
            );

            // Down longer than the session timeout, then back: the task opens
            // a new session and follows the leader again.
            tokio::time::sleep(Duration::from_secs(3)).await;
            let mut server = Server::start(dir.clone(), port);
            let c = session(&server.address()).await;
            // A's node goes away with its session (closed before the outage
            // or expired during it).
            let deadline = Instant::now() + Duration::from_secs(10);
            while c
                .check_stat("/alluxio/leader/127.0.0.1:1001")
                .await
                .unwrap()
                .is_some()
            {
                assert!(Instant::now() < deadline, "A's leader node stayed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            become_leader(&c, "127.0.0.1:1003").await;
            let took =
                expect_leader(&mut rx, Some("127.0.0.1:1003"), Duration::from_secs(10)).await;
            eprintln!("leader after the outage seen after {took:?}");
            drop(c);
            drop(discovery);
            server.stop();
            let _ = &server.dir;
        }
    }
}
