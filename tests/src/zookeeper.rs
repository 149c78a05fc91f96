//! Real ZooKeeper servers for tests, from Debian's `zookeeper` package (3.8)
//! run with the machine's `java` (installed by `scripts/install-deps`): a
//! single standalone server ([`ZkServer`]) or a quorum ([`ZkEnsemble`]), on
//! free loopback ports, with their configuration, data and logs in a
//! directory the test chooses. Every JVM is a [`Proc`], so it is SIGKILLed
//! when its handle drops, also on panic.
//!
//! The classpath is `<conf dir>:/usr/share/java/zookeeper.jar` as Debian's own
//! `zkEnv.sh` builds it: Debian's jar names its dependencies (jute, netty,
//! slf4j-api, commons-cli/io, jackson, jetty, metrics, snappy) in its
//! manifest's `Class-Path`, so the JVM finds them in `/usr/share/java`. We add
//! the slf4j → log4j 1.2 binding (`slf4j-log4j12.jar`, `log4j-1.2.jar`, both
//! dependencies of the package) so that the server logs through a
//! `log4j.properties` in the conf dir to standard output, i.e. to the log
//! file; without them slf4j falls back to its no-op logger and the log stays
//! empty. `$ZOOKEEPER_CLASSPATH`, if set, replaces the jar part; `$JAVA`
//! replaces `java`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::{free_port, Proc};

/// Debian's ZooKeeper jar.
pub const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";

/// How long starting a server or waiting for a quorum may take.
const START_TIMEOUT: Duration = Duration::from_secs(60);

const LOG4J_PROPERTIES: &str = "\
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
";

/// The Java classpath for a server whose configuration directory is
/// `conf_dir` (see the module documentation).
pub fn classpath(conf_dir: &Path) -> String {
    let mut parts = vec![conf_dir.to_str().expect("utf-8 path").to_string()];
    if let Ok(cp) = std::env::var("ZOOKEEPER_CLASSPATH") {
        parts.push(cp);
        return parts.join(":");
    }
    assert!(
        Path::new(ZOOKEEPER_JAR).exists(),
        "{ZOOKEEPER_JAR} not found: run scripts/install-deps (Debian package `zookeeper`)"
    );
    parts.push(ZOOKEEPER_JAR.to_string());
    for jar in ["slf4j-log4j12.jar", "log4j-1.2.jar"] {
        let p = Path::new("/usr/share/java").join(jar);
        if p.exists() {
            parts.push(p.to_str().unwrap().to_string());
        }
    }
    parts.join(":")
}

/// Sends a four-letter word (`ruok`, `srvr`, `stat`, `mntr`, ...) to the
/// server on `port` and returns its whole answer, or None if the server
/// cannot be reached or does not answer within a second.
pub fn four_letter_word(port: u16, word: &str) -> Option<String> {
    four_letter_word_at("127.0.0.1", port, word)
}

/// `four_letter_word` to a server at `host`.
pub fn four_letter_word_at(host: &str, port: u16, word: &str) -> Option<String> {
    let addr = SocketAddr::new(host.parse().ok()?, port);
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(1))).ok()?;
    s.write_all(word.as_bytes()).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The `Mode:` a server on `port` reports through `srvr` ("standalone",
/// "leader", "follower", "observer"), or None if it is down or not serving
/// (e.g. a quorum member without a quorum).
pub fn server_mode(port: u16) -> Option<String> {
    server_mode_at("127.0.0.1", port)
}

/// `server_mode` of a server at `host`.
pub fn server_mode_at(host: &str, port: u16) -> Option<String> {
    let out = four_letter_word_at(host, port, "srvr")?;
    out.lines()
        .find_map(|l| l.strip_prefix("Mode:"))
        .map(|m| m.trim().to_string())
}

/// `n` different free ports.
fn distinct_ports(n: usize) -> Vec<u16> {
    let mut ports: Vec<u16> = Vec::with_capacity(n);
    while ports.len() < n {
        let p = free_port();
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    ports
}

/// One ZooKeeper JVM: its configuration and its process.
struct Node {
    name: String,
    /// The address it listens on (loopback, or its network node's).
    host: String,
    /// The network namespaces and the node of them it runs in, if any.
    net: Option<(std::sync::Arc<crate::netns::Net>, String)>,
    client_port: u16,
    conf_dir: PathBuf,
    log: PathBuf,
    main_class: &'static str,
    proc: Option<Proc>,
}

impl Node {
    fn new(name: &str, dir: &Path, client_port: u16, main_class: &'static str) -> Node {
        let home = dir.join(name);
        let conf_dir = home.join("conf");
        std::fs::create_dir_all(&conf_dir).expect("zookeeper conf dir");
        std::fs::create_dir_all(home.join("data")).expect("zookeeper data dir");
        std::fs::write(conf_dir.join("log4j.properties"), LOG4J_PROPERTIES).unwrap();
        Node {
            name: name.to_string(),
            host: "127.0.0.1".into(),
            net: None,
            client_port,
            conf_dir,
            log: dir.join(format!("{name}.log")),
            main_class,
            proc: None,
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.conf_dir.parent().unwrap().join("data")
    }

    fn write_config(&self, extra: &str) {
        let text = format!(
            "# written by the test harness\n\
             tickTime=500\n\
             initLimit=20\n\
             syncLimit=10\n\
             dataDir={}\n\
             clientPort={}\n\
             clientPortAddress={}\n\
             minSessionTimeout=1000\n\
             maxSessionTimeout=60000\n\
             maxClientCnxns=0\n\
             4lw.commands.whitelist=*\n\
             admin.enableServer=false\n\
             {extra}",
            self.data_dir().display(),
            self.client_port,
            self.host
        );
        std::fs::write(self.conf_dir.join("zoo.cfg"), text).unwrap();
    }

    fn spawn(&mut self) {
        self.kill();
        let java = std::env::var("JAVA").unwrap_or_else(|_| "java".to_string());
        let mut cmd = Command::new(java);
        cmd.current_dir(self.conf_dir.parent().unwrap())
            .args([
                "-Xms32m",
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Djava.net.preferIPv4Stack=true",
                // Give up on an unreachable (e.g. SIGSTOPped) peer quickly.
                "-Dzookeeper.cnxTimeout=1000",
                "-Dzookeeper.jmx.log4j.disable=true",
            ])
            .arg("-cp")
            .arg(classpath(&self.conf_dir))
            .arg(self.main_class)
            .arg(self.conf_dir.join("zoo.cfg"));
        if let Some((net, node)) = &self.net {
            net.place(&mut cmd, node);
        }
        self.proc = Some(Proc::spawn(&self.name, cmd, &self.log));
    }

    fn running(&mut self) -> bool {
        match &mut self.proc {
            Some(p) => p.exited().is_none(),
            None => false,
        }
    }

    fn kill(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
    }

    fn terminate(&mut self) -> Option<i32> {
        self.proc
            .take()
            .and_then(|mut p| p.terminate(Duration::from_secs(10)))
    }

    fn pause(&self) {
        if let Some(p) = &self.proc {
            p.pause();
        }
    }

    fn resume(&self) {
        if let Some(p) = &self.proc {
            p.resume();
        }
    }

    fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        format!(
            "--- {}\n{}\n",
            self.log.display(),
            lines[lines.len().saturating_sub(n)..].join("\n")
        )
    }

    /// Waits until the node answers `srvr` with a mode; panics with its log
    /// if it exits or the timeout passes.
    fn wait_serving(&mut self, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(mode) = server_mode_at(&self.host, self.client_port) {
                return mode;
            }
            if let Some(Some(code)) = self.proc.as_mut().map(|p| p.exited()) {
                panic!("{} exited with {code:?}:\n{}", self.name, self.log_tail(40));
            }
            assert!(
                Instant::now() < deadline,
                "{} not serving after {timeout:?}:\n{}",
                self.name,
                self.log_tail(40)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A single standalone ZooKeeper server (`ZooKeeperServerMain`); killed on
/// drop. Its files are under `<dir>/zookeeper/`, its log `<dir>/zookeeper.log`.
pub struct ZkServer {
    pub port: u16,
    node: Node,
}

impl ZkServer {
    /// Starts a server on a free loopback port and waits until it serves.
    pub fn start(dir: &Path) -> ZkServer {
        ZkServer::start_at(dir, None)
    }

    /// Starts a server in network node `zk` of `net`.
    pub fn start_in(dir: &Path, net: std::sync::Arc<crate::netns::Net>) -> ZkServer {
        ZkServer::start_at(dir, Some(net))
    }

    fn start_at(dir: &Path, net: Option<std::sync::Arc<crate::netns::Net>>) -> ZkServer {
        let mut node = Node::new(
            "zookeeper",
            dir,
            free_port(),
            "org.apache.zookeeper.server.ZooKeeperServerMain",
        );
        if let Some(net) = net {
            node.host = net.host("zk");
            node.net = Some((net, "zk".into()));
        }
        node.write_config("");
        node.spawn();
        node.wait_serving(START_TIMEOUT);
        ZkServer {
            port: node.client_port,
            node,
        }
    }

    /// `<host>:<port>`, for `alluxio.zookeeper.address`.
    pub fn connect_string(&self) -> String {
        format!("{}:{}", self.node.host, self.port)
    }

    /// SIGKILLs the server (its data directory stays).
    pub fn kill(&mut self) {
        self.node.kill();
    }

    /// SIGTERMs the server and waits for it; returns its exit code.
    pub fn stop(&mut self) -> Option<i32> {
        self.node.terminate()
    }

    /// (Re)starts the server on the same port with the same data, killing
    /// it first if it runs, and waits until it serves. Sessions that have
    /// not expired survive, as with a real restart.
    pub fn restart(&mut self) {
        self.node.spawn();
        self.node.wait_serving(START_TIMEOUT);
    }

    /// SIGSTOPs the server (and waits until all its threads are stopped).
    pub fn pause(&self) {
        self.node.pause();
    }

    /// SIGCONTs the server.
    pub fn resume(&self) {
        self.node.resume();
    }

    /// Whether the process is alive.
    pub fn running(&mut self) -> bool {
        self.node.running()
    }

    /// Whether it answers `srvr` with a mode.
    pub fn serving(&self) -> bool {
        server_mode_at(&self.node.host, self.port).is_some()
    }

    /// Sends a four-letter word; see [`four_letter_word`].
    pub fn four_letter(&self, word: &str) -> Option<String> {
        four_letter_word(self.port, word)
    }

    /// The server's process handle, if it runs.
    pub fn proc(&mut self) -> Option<&mut Proc> {
        self.node.proc.as_mut()
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.node.log
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        self.node.log_tail(n)
    }
}

/// A ZooKeeper quorum of `n` servers (`QuorumPeerMain`); every member is
/// killed on drop. Member `i` (0-based, `myid` = i + 1) keeps its files under
/// `<dir>/zookeeper-<i>/` and logs to `<dir>/zookeeper-<i>.log`.
pub struct ZkEnsemble {
    /// Client port of each member.
    pub ports: Vec<u16>,
    nodes: Vec<Node>,
}

impl ZkEnsemble {
    /// Starts `n` members on free ports and waits until all serve.
    pub fn start(dir: &Path, n: usize) -> ZkEnsemble {
        ZkEnsemble::start_with(dir, n, "")
    }

    /// Like `start`, with `extra` lines appended to every member's
    /// `zoo.cfg` (a key given again there wins).
    pub fn start_with(dir: &Path, n: usize, extra: &str) -> ZkEnsemble {
        ZkEnsemble::start_at(dir, n, extra, None)
    }

    /// `n` members, member `i` in network node `zk<i>` of `net`.
    pub fn start_in(dir: &Path, n: usize, net: std::sync::Arc<crate::netns::Net>) -> ZkEnsemble {
        ZkEnsemble::start_at(dir, n, "", Some(net))
    }

    fn start_at(
        dir: &Path,
        n: usize,
        extra: &str,
        net: Option<std::sync::Arc<crate::netns::Net>>,
    ) -> ZkEnsemble {
        assert!(n >= 1, "an ensemble needs at least one member");
        let all = distinct_ports(3 * n);
        let ports: Vec<u16> = all[..n].to_vec();
        let host = |i: usize| match &net {
            Some(net) => net.host(&format!("zk{i}")),
            None => "127.0.0.1".to_string(),
        };
        let servers: String = (0..n)
            .map(|i| {
                let (peer, election) = (all[n + 2 * i], all[n + 2 * i + 1]);
                format!("server.{}={}:{peer}:{election}\n", i + 1, host(i))
            })
            .collect();
        let nodes = (0..n)
            .map(|i| {
                let mut node = Node::new(
                    &format!("zookeeper-{i}"),
                    dir,
                    ports[i],
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                );
                node.host = host(i);
                node.net = net.clone().map(|net| (net, format!("zk{i}")));
                std::fs::write(node.data_dir().join("myid"), format!("{}\n", i + 1)).unwrap();
                node.write_config(&format!("{servers}{extra}"));
                node
            })
            .collect();
        let mut ens = ZkEnsemble { ports, nodes };
        ens.start_all();
        ens
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the ensemble has no members (never: `start` needs one).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// `host1:p1,host2:p2,...`, for `alluxio.zookeeper.address`.
    pub fn connect_string(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("{}:{}", n.host, n.client_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// SIGKILLs member `i` (its data stays).
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].kill();
    }

    /// SIGTERMs member `i` and waits for it; returns its exit code.
    pub fn stop(&mut self, i: usize) -> Option<i32> {
        self.nodes[i].terminate()
    }

    /// (Re)starts member `i` with its data, killing it first if it runs. If
    /// that gives a majority of running members, waits until `i` serves.
    pub fn restart(&mut self, i: usize) {
        self.nodes[i].spawn();
        if self.running_count() > self.len() / 2 {
            self.nodes[i].wait_serving(START_TIMEOUT);
        }
    }

    /// SIGSTOPs member `i` (and waits until all its threads are stopped).
    pub fn pause(&self, i: usize) {
        self.nodes[i].pause();
    }

    /// SIGCONTs member `i`.
    pub fn resume(&self, i: usize) {
        self.nodes[i].resume();
    }

    /// SIGTERMs every member (ZooKeeper shuts down cleanly on SIGTERM).
    pub fn stop_all(&mut self) {
        for node in &mut self.nodes {
            node.terminate();
        }
    }

    /// SIGKILLs every member.
    pub fn kill_all(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
    }

    /// Starts every member that is not running and waits for the quorum.
    pub fn start_all(&mut self) {
        for node in &mut self.nodes {
            if !node.running() {
                node.spawn();
            }
        }
        self.wait_quorum(START_TIMEOUT);
    }

    /// Whether member `i`'s process is alive.
    pub fn running(&mut self, i: usize) -> bool {
        self.nodes[i].running()
    }

    /// Number of members whose process is alive.
    pub fn running_count(&mut self) -> usize {
        self.nodes.iter_mut().map(|n| n.running() as usize).sum()
    }

    /// Member `i`'s `Mode:` ("leader", "follower", ...), or None if it is
    /// down or not serving.
    pub fn mode(&self, i: usize) -> Option<String> {
        server_mode_at(&self.nodes[i].host, self.ports[i])
    }

    /// The index of the member that reports "leader", if any.
    pub fn leader(&self) -> Option<usize> {
        (0..self.len()).find(|&i| self.mode(i).as_deref() == Some("leader"))
    }

    /// Sends a four-letter word to member `i`; see [`four_letter_word`].
    pub fn four_letter(&self, i: usize, word: &str) -> Option<String> {
        four_letter_word_at(&self.nodes[i].host, self.ports[i], word)
    }

    /// Waits until every running member serves and exactly one of them is
    /// the leader (or the single member is standalone); returns the
    /// leader's index. Panics with the logs on timeout, e.g. when fewer than
    /// a majority run.
    pub fn wait_quorum(&mut self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let running: Vec<usize> = (0..self.len())
                .filter(|&i| self.nodes[i].running())
                .collect();
            let modes: Vec<Option<String>> = running.iter().map(|&i| self.mode(i)).collect();
            if modes.iter().all(|m| m.is_some()) {
                let leaders: Vec<usize> = running
                    .iter()
                    .zip(&modes)
                    .filter(|(_, m)| matches!(m.as_deref(), Some("leader" | "standalone")))
                    .map(|(&i, _)| i)
                    .collect();
                if leaders.len() == 1 && running.len() > self.len() / 2 {
                    return leaders[0];
                }
            }
            assert!(
                Instant::now() < deadline,
                "ZooKeeper quorum not serving after {timeout:?} (running {running:?}, modes \
                 {modes:?}):\n{}",
                self.logs(30)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Member `i`'s process handle, if it runs.
    pub fn proc(&mut self, i: usize) -> Option<&mut Proc> {
        self.nodes[i].proc.as_mut()
    }

    /// Member `i`'s log file.
    pub fn log_path(&self, i: usize) -> &Path {
        &self.nodes[i].log
    }

    /// The last `n` lines of every member's log.
    pub fn logs(&self, n: usize) -> String {
        self.nodes.iter().map(|node| node.log_tail(n)).collect()
    }
}
