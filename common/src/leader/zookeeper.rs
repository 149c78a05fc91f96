//! Following the leader in ZooKeeper: one background task per
//! [`MasterDiscovery`](super::MasterDiscovery) keeps a session open, reads the
//! leader path with a watch and publishes every change; reads of the election
//! path list every master.
//!
//! The leading master holds an ephemeral node named `host:port` under
//! `alluxio.zookeeper.leader.path`, and every master an ephemeral sequential
//! node under `alluxio.zookeeper.election.path` whose data is its
//! `host:port`. ZooKeeper being down never blocks a caller: the task keeps
//! reconnecting with backoff while the last known leader stays cached (it is
//! most likely still right, and a master that lost ZooKeeper refuses
//! requests anyway, so a caller just retries).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, info, warn};
use zookeeper_client as zk;

use super::discovery::{Shared, LEADER_WAIT};
use super::settings::{is_host_port, ZooKeeperSettings};

/// First and longest pause between attempts to reach ZooKeeper.
const MIN_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(2);
/// How often a persisting ZooKeeper failure is logged at warning level.
const LOG_EVERY: Duration = Duration::from_secs(30);

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

/// Every master registered in the election path, in election order: waits
/// at most [`LEADER_WAIT`] for a session and one read timeout for the
/// answer; empty if ZooKeeper cannot be read.
pub(super) async fn list_masters(shared: &Shared, zk: &ZooKeeperSettings) -> Vec<String> {
    let mut client_rx = shared.client.subscribe();
    let client = match tokio::time::timeout(LEADER_WAIT, client_rx.wait_for(Option::is_some)).await
    {
        Ok(Ok(client)) => client.clone(),
        _ => None,
    };
    let Some(client) = client else {
        return Vec::new();
    };
    match tokio::time::timeout(zk.op_timeout(), read_masters(&client, &zk.election_path)).await {
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
pub(super) async fn watch_leader(shared: Arc<Shared>, zk: ZooKeeperSettings) {
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
                    shared.cached_leader().as_deref().unwrap_or("none")
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
    zk: &ZooKeeperSettings,
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

    #[test]
    fn node_names_and_data() {
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

    /// Tests against a real ZooKeeper server (Debian's `zookeeper` package);
    /// skipped when it is not installed.
    mod live {
        use std::path::PathBuf;
        use std::process::{Child, Command, Stdio};
        use std::time::Instant;

        use super::*;
        use crate::leader::{DiscoverySettings, MasterDiscovery};
        use tokio::sync::watch;

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

            let discovery = MasterDiscovery::new(DiscoverySettings::ZooKeeper(ZooKeeperSettings {
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
