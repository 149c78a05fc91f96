//! [`MasterDiscovery`]: where the masters are and which one leads, as one
//! cheap-to-clone handle shared by every connection of a process.
//!
//! Three sources: a fixed list from the configuration (callers rotate
//! through it), the leader registered in ZooKeeper (followed by the task in
//! `zookeeper.rs`), or a leader its owner announces ([`Announcer`], for a
//! program that learns the leader some other way).
//!
//! Nothing here blocks a caller for long: [`MasterDiscovery::leader`]
//! answers from the cache, or waits at most [`LEADER_WAIT`] for a first
//! answer.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tracing::{debug, info};
use zookeeper_client as zk;

use super::settings::{DiscoverySettings, ZooKeeperSettings};
use super::zookeeper;
use crate::config::{Config, ConfigError};

/// Longest time [`MasterDiscovery::leader`] waits for ZooKeeper to name a
/// leader when none is cached (and [`MasterDiscovery::masters`] waits for a
/// ZooKeeper session).
pub const LEADER_WAIT: Duration = Duration::from_secs(2);

/// Where a discovery learns the masters.
#[derive(Debug, Clone)]
enum Source {
    /// A fixed list of master `host:port` addresses.
    Fixed(Vec<String>),
    /// The leader node in ZooKeeper.
    ZooKeeper(ZooKeeperSettings),
    /// Whatever the [`Announcer`] says.
    Announced,
}

/// State shared by the handles, the ZooKeeper task and an announcer.
pub(super) struct Shared {
    source: Source,
    description: String,
    leader: watch::Sender<Option<String>>,
    /// The live ZooKeeper session, if any.
    pub(super) client: watch::Sender<Option<zk::Client>>,
    /// Asks the ZooKeeper task to read the leader path again.
    pub(super) refresh: Notify,
}

impl Shared {
    /// Makes `leader` the known leader, logging a change.
    pub(super) fn publish(&self, leader: Option<String>) {
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

    pub(super) fn cached_leader(&self) -> Option<String> {
        self.leader.borrow().clone()
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
            .field("source", &self.shared().source)
            .field("leader", &*self.shared().leader.borrow())
            .finish()
    }
}

/// Tells a discovery made by [`MasterDiscovery::announced`] which master
/// leads.
#[derive(Clone)]
pub struct Announcer {
    shared: Arc<Shared>,
}

impl Announcer {
    /// `leader` leads from now on (`None`: no master leads).
    pub fn announce(&self, leader: Option<String>) {
        self.shared.publish(leader);
    }
}

impl MasterDiscovery {
    /// Discovery as configured in `conf` (see [`DiscoverySettings::from_config`]).
    pub fn from_config(conf: &Config) -> Result<Self, ConfigError> {
        Ok(Self::new(DiscoverySettings::from_config(conf)?))
    }

    /// Discovery with explicit settings.
    pub fn new(config: DiscoverySettings) -> Self {
        let description = config.describe();
        let source = match config {
            DiscoverySettings::Static(list) => Source::Fixed(list),
            DiscoverySettings::ZooKeeper(zk) => Source::ZooKeeper(zk),
        };
        Self::with_source(source, description)
    }

    /// A discovery over a fixed list of masters.
    pub fn fixed(addresses: Vec<String>) -> Self {
        Self::new(DiscoverySettings::Static(addresses))
    }

    /// A discovery whose leader the returned [`Announcer`] sets (none at
    /// first); `description` names where it comes from, for messages.
    pub fn announced(description: &str) -> (Self, Announcer) {
        let discovery = Self::with_source(Source::Announced, description.to_string());
        let announcer = Announcer {
            shared: discovery.inner.shared.clone(),
        };
        (discovery, announcer)
    }

    fn with_source(source: Source, description: String) -> Self {
        let initial = match &source {
            Source::Fixed(list) if list.len() == 1 => Some(list[0].clone()),
            _ => None,
        };
        let shared = Arc::new(Shared {
            source,
            description,
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

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Whether this discovery names the leader (ZooKeeper, or announced):
    /// callers then go where it points instead of rotating through a list.
    pub fn names_leader(&self) -> bool {
        !matches!(self.shared().source, Source::Fixed(_))
    }

    /// Where masters are looked for, for messages (e.g. "ZooKeeper
    /// 127.0.0.1:2181 /alluxio/leader").
    pub fn describe(&self) -> &str {
        &self.shared().description
    }

    /// The configured masters of a fixed list; otherwise the cached leader,
    /// if any (see [`MasterDiscovery::masters`] for all masters).
    pub fn candidates(&self) -> Vec<String> {
        match &self.shared().source {
            Source::Fixed(list) => list.clone(),
            _ => self.cached_leader().into_iter().collect(),
        }
    }

    /// The leader as last known, without waiting. With a fixed list, the
    /// only master if exactly one is configured, else `None`.
    pub fn cached_leader(&self) -> Option<String> {
        self.shared().cached_leader()
    }

    /// The leading master's `host:port`: the cached leader; when none is
    /// cached, it waits at most [`LEADER_WAIT`] for one to be named (asking
    /// ZooKeeper again), then returns `None`. With a fixed list: the only
    /// master if exactly one is configured, else `None` (rotate through
    /// [`MasterDiscovery::candidates`]).
    pub async fn leader(&self) -> Option<String> {
        if !self.names_leader() {
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
        if let Source::ZooKeeper(_) = self.shared().source {
            self.ensure_started();
            self.shared().refresh.notify_one();
        }
    }

    /// Follows the leader: the receiver sees every change of the known
    /// leader (including to `None` while no master leads). With a fixed
    /// list it never changes.
    pub fn subscribe(&self) -> watch::Receiver<Option<String>> {
        self.ensure_started();
        self.shared().leader.subscribe()
    }

    /// Every master: with a fixed list the list; with ZooKeeper the
    /// addresses held by the election nodes, in election order, plus the
    /// cached leader if it is missing there (waiting at most
    /// [`LEADER_WAIT`] for a session and one read timeout for the answer;
    /// if ZooKeeper cannot be read, only the cached leader, if any); when
    /// announced, the announced leader.
    pub async fn masters(&self) -> Vec<String> {
        let mut list = match &self.shared().source {
            Source::Fixed(list) => return list.clone(),
            Source::ZooKeeper(zk) => {
                self.ensure_started();
                zookeeper::list_masters(self.shared(), zk).await
            }
            Source::Announced => Vec::new(),
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
        let Source::ZooKeeper(zk) = &self.shared().source else {
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
            debug!("no tokio runtime yet: ZooKeeper is asked at the first use");
            return;
        };
        let shared = self.inner.shared.clone();
        *task = Some(runtime.spawn(zookeeper::watch_leader(shared, zk.clone())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fixed_list_answers_at_once() {
        let one = MasterDiscovery::fixed(vec!["m1:1".into()]);
        assert_eq!(one.leader().await, Some("m1:1".into()));
        assert_eq!(*one.subscribe().borrow(), Some("m1:1".into()));
        assert!(!one.names_leader());
        let two = MasterDiscovery::fixed(vec!["m1:1".into(), "m2:1".into()]);
        assert_eq!(two.leader().await, None);
        assert_eq!(two.candidates(), vec!["m1:1".to_string(), "m2:1".into()]);
        assert_eq!(two.masters().await, two.candidates());
        two.invalidate();
        assert_eq!(two.describe(), "masters m1:1, m2:1");
    }

    #[tokio::test]
    async fn announced_leader_is_followed() {
        let (discovery, announcer) = MasterDiscovery::announced("the test");
        assert!(discovery.names_leader());
        assert_eq!(discovery.describe(), "the test");
        let mut rx = discovery.subscribe();
        let started = std::time::Instant::now();
        assert_eq!(discovery.leader().await, None);
        assert!(started.elapsed() >= LEADER_WAIT);
        assert!(discovery.masters().await.is_empty());
        announcer.announce(Some("m1:1".into()));
        rx.changed().await.unwrap();
        assert_eq!(*rx.borrow_and_update(), Some("m1:1".into()));
        assert_eq!(discovery.leader().await, Some("m1:1".into()));
        assert_eq!(discovery.candidates(), vec!["m1:1".to_string()]);
        assert_eq!(discovery.masters().await, vec!["m1:1".to_string()]);
        // The same leader again is no change.
        announcer.announce(Some("m1:1".into()));
        assert!(!rx.has_changed().unwrap());
    }

    #[tokio::test]
    async fn unreachable_zookeeper_does_not_hang_callers() {
        // A port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let discovery = MasterDiscovery::new(DiscoverySettings::ZooKeeper(ZooKeeperSettings {
            servers: vec![format!("127.0.0.1:{port}")],
            session_timeout: Duration::from_secs(2),
            election_path: "/alluxio/election".into(),
            leader_path: "/alluxio/leader".into(),
        }));
        assert!(discovery.names_leader());
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
}
