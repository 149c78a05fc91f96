//! A test cluster in a temporary directory: one master (the classic set-up)
//! or several sharing one journal, optionally a real ZooKeeper (one server or
//! a quorum) for leader election, and N workers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use alluxio_client::FileSystem;
use alluxio_common::config::{Config, LoadOptions, Process};
use alluxio_proto::file_system_master_client::FileSystemMasterClient;
use alluxio_proto::{GetMasterInfoRequest, GetMasterInfoResponse};

use crate::netns::Net;
use crate::process::{bin_path, free_port, Proc};
use crate::zookeeper::{ZkEnsemble, ZkServer};

/// Which ZooKeeper a cluster runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zk {
    /// No ZooKeeper: masters are found by address.
    #[default]
    None,
    /// One standalone server.
    Single,
    /// A quorum of this many servers.
    Ensemble(usize),
    /// A quorum of this many servers with extra `zoo.cfg` lines, which win
    /// over the harness's (e.g. `maxSessionTimeout=4000`).
    EnsembleWith(usize, &'static str),
}

/// How to set up a test cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub workers: usize,
    /// Extra `alluxio-site.properties` lines; a key given here replaces the
    /// harness's default for it.
    pub properties: Vec<(String, String)>,
    /// Number of masters (all share one journal folder); at least 1.
    pub masters: usize,
    /// ZooKeeper for leader election.
    pub zookeeper: Zk,
    /// Network namespaces to run in (`netns.rs`): each master, worker,
    /// ZooKeeper server and FUSE daemon in the node of its name
    /// (`master<i>`, `worker<i>`, `zk` or `zk<i>` in an ensemble, `fuse`);
    /// the test itself must have entered node `client` before it started
    /// its runtime.
    pub net: Option<std::sync::Arc<Net>>,
}

impl ClusterOptions {
    /// `masters` masters electing a leader through one ZooKeeper server,
    /// and `workers` workers.
    pub fn ha(masters: usize, workers: usize) -> ClusterOptions {
        ClusterOptions {
            masters,
            workers,
            zookeeper: Zk::Single,
            ..Default::default()
        }
    }
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            workers: 1,
            properties: Vec::new(),
            masters: 1,
            zookeeper: Zk::None,
            net: None,
        }
    }
}

/// The ZooKeeper of a cluster.
pub enum ZooKeeper {
    Single(ZkServer),
    Ensemble(ZkEnsemble),
}

impl ZooKeeper {
    /// The value of `alluxio.zookeeper.address`.
    pub fn connect_string(&self) -> String {
        match self {
            ZooKeeper::Single(s) => s.connect_string(),
            ZooKeeper::Ensemble(e) => e.connect_string(),
        }
    }

    /// The single server; panics for an ensemble.
    pub fn server(&mut self) -> &mut ZkServer {
        match self {
            ZooKeeper::Single(s) => s,
            ZooKeeper::Ensemble(_) => panic!("this cluster runs a ZooKeeper ensemble"),
        }
    }

    /// The ensemble; panics for a single server.
    pub fn ensemble(&mut self) -> &mut ZkEnsemble {
        match self {
            ZooKeeper::Ensemble(e) => e,
            ZooKeeper::Single(_) => panic!("this cluster runs a single ZooKeeper server"),
        }
    }

    fn logs(&self, n: usize) -> String {
        match self {
            ZooKeeper::Single(s) => s.log_tail(n),
            ZooKeeper::Ensemble(e) => e.logs(n),
        }
    }
}

/// Output of one `alluxio` CLI run.
#[derive(Debug)]
pub struct CliOutput {
    pub code: i32,
    /// Raw standard output (binary-safe).
    pub bytes: Vec<u8>,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    /// Panics with both streams unless the command succeeded.
    pub fn ok(self) -> CliOutput {
        assert_eq!(
            self.code, 0,
            "command failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

/// How long `leader()` waits for a leader.
const LEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one `GetMasterInfo` probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1000);

/// A running cluster; every process is killed when it drops.
///
/// With one master and no ZooKeeper ("classic" mode) the master's address is
/// in `alluxio-site.properties`. Otherwise ("HA" mode) each master gets its
/// own `-Dalluxio.master.{hostname,rpc.port,web.port}` on its command line,
/// and clients and workers find the leader through ZooKeeper or, without
/// it, through `alluxio.master.rpc.addresses`. Methods without an index
/// (`master()`, `kill_master()`, ...) mean master 0.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    /// Master 0's RPC port.
    pub master_port: u16,
    /// Every master's RPC port, by index.
    pub master_ports: Vec<u16>,
    pub worker_ports: Vec<u16>,
    master_web_ports: Vec<u16>,
    worker_web_ports: Vec<u16>,
    masters: Vec<Option<Proc>>,
    master_env: Vec<Vec<(String, String)>>,
    /// A soft open-files limit for each master's next start.
    master_fd_limit: Vec<Option<u64>>,
    workers: Vec<Option<Proc>>,
    conf_dir: PathBuf,
    zk: Option<ZooKeeper>,
    ha: bool,
    /// Substrings of the ERROR (or panic) lines this test provokes on
    /// purpose; any other such line in a server log fails the test.
    expected_log: Vec<String>,
    net: Option<std::sync::Arc<Net>>,
}

impl Cluster {
    /// Starts ZooKeeper if asked, formats the journal, starts the masters
    /// (with several: waits until one leads), then the workers, and waits
    /// until every worker is registered.
    pub async fn start(opts: ClusterOptions) -> Cluster {
        assert!(opts.masters >= 1, "a cluster needs at least one master");
        let dir = tempfile::Builder::new()
            .prefix("alluxio-test-")
            .tempdir()
            .expect("tempdir");
        let conf_dir = dir.path().join("conf");
        std::fs::create_dir_all(&conf_dir).unwrap();
        let zk = match opts.zookeeper {
            Zk::None => None,
            Zk::Single => Some(ZooKeeper::Single(match &opts.net {
                Some(net) => ZkServer::start_in(dir.path(), net.clone()),
                None => ZkServer::start(dir.path()),
            })),
            Zk::Ensemble(n) => Some(ZooKeeper::Ensemble(match &opts.net {
                Some(net) => ZkEnsemble::start_in(dir.path(), n, net.clone()),
                None => ZkEnsemble::start(dir.path(), n),
            })),
            Zk::EnsembleWith(n, extra) => Some(ZooKeeper::Ensemble(ZkEnsemble::start_with(
                dir.path(),
                n,
                extra,
            ))),
        };
        let ha = opts.masters > 1 || zk.is_some();
        assert!(
            opts.net.is_none() || matches!(opts.zookeeper, Zk::Single | Zk::Ensemble(_)),
            "network namespaces are set up for clusters with ZooKeeper"
        );
        let mut ports: Vec<u16> = Vec::new();
        while ports.len() < 2 * opts.masters {
            let p = free_port();
            if !ports.contains(&p) {
                ports.push(p);
            }
        }
        let master_ports: Vec<u16> = ports[..opts.masters].to_vec();
        let master_web_ports: Vec<u16> = ports[opts.masters..].to_vec();
        let master_port = master_ports[0];
        let mut props: Vec<(String, String)> = Vec::new();
        if let Some(zk) = &zk {
            props.push(("alluxio.zookeeper.enabled".into(), "true".into()));
            props.push(("alluxio.zookeeper.address".into(), zk.connect_string()));
            props.push(("alluxio.zookeeper.session.timeout".into(), "2sec".into()));
        } else if ha {
            let addresses: Vec<String> = master_ports
                .iter()
                .map(|p| format!("127.0.0.1:{p}"))
                .collect();
            props.push(("alluxio.master.rpc.addresses".into(), addresses.join(",")));
        } else {
            props.push(("alluxio.master.hostname".into(), "127.0.0.1".into()));
            props.push(("alluxio.master.rpc.port".into(), master_port.to_string()));
            props.push((
                "alluxio.master.web.port".into(),
                master_web_ports[0].to_string(),
            ));
        }
        let defaults: Vec<(String, String)> = vec![
            ("alluxio.worker.hostname".into(), "127.0.0.1".into()),
            (
                "alluxio.master.journal.folder".into(),
                path_str(&dir.path().join("journal")),
            ),
            (
                "alluxio.master.mount.table.root.ufs".into(),
                path_str(&dir.path().join("ufs")),
            ),
            ("alluxio.master.worker.timeout".into(), "3sec".into()),
            (
                "alluxio.master.lost.worker.detection.interval".into(),
                "300ms".into(),
            ),
            (
                "alluxio.worker.block.heartbeat.interval".into(),
                "200ms".into(),
            ),
            (
                "alluxio.worker.tieredstore.level0.dirs.quota".into(),
                "256MB".into(),
            ),
            ("alluxio.user.block.size.bytes.default".into(), "1MB".into()),
            ("alluxio.user.rpc.retry.max.duration".into(), "30sec".into()),
        ];
        props.extend(defaults);
        props.retain(|(k, _)| !opts.properties.iter().any(|(key, _)| key == k));
        props.extend(opts.properties.iter().cloned());
        let mut text = String::from("# written by the test harness\n");
        for (k, v) in &props {
            text.push_str(&format!("{k}={v}\n"));
        }
        std::fs::write(conf_dir.join("alluxio-site.properties"), text).unwrap();
        let worker_ports = (0..opts.workers).map(|_| free_port()).collect();
        let worker_web_ports = (0..opts.workers).map(|_| free_port()).collect();
        let mut cluster = Cluster {
            dir,
            master_port,
            master_ports,
            worker_ports,
            master_web_ports,
            worker_web_ports,
            masters: (0..opts.masters).map(|_| None).collect(),
            master_env: vec![Vec::new(); opts.masters],
            master_fd_limit: vec![None; opts.masters],
            workers: (0..opts.workers).map(|_| None).collect(),
            conf_dir,
            zk,
            ha,
            expected_log: Vec::new(),
            net: opts.net.clone(),
        };
        cluster.cli(&["format"]).ok();
        if ha {
            for i in 0..opts.masters {
                cluster.spawn_master_i(i);
            }
            for i in 0..opts.masters {
                cluster
                    .wait_master_answers(i, Duration::from_secs(30))
                    .await;
            }
            cluster.leader().await;
        } else {
            cluster.start_master().await;
        }
        for i in 0..opts.workers {
            cluster.start_worker(i);
        }
        // In HA mode the leader check above already proved the masters
        // serve; the client-based wait is needed only for workers.
        if !ha || opts.workers > 0 {
            cluster
                .wait_live_workers(opts.workers, Duration::from_secs(30))
                .await;
        }
        cluster
    }

    /// The temporary root of this cluster.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The root UFS directory.
    pub fn ufs_dir(&self) -> PathBuf {
        self.path().join("ufs")
    }

    /// The journal directory.
    pub fn journal_dir(&self) -> PathBuf {
        self.path().join("journal")
    }

    /// A command for one of our binaries with this cluster's configuration.
    pub fn command(&self, bin: &str) -> Command {
        let mut cmd = Command::new(bin_path(bin));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("ALLUXIO_CONF_DIR", &self.conf_dir)
            .env("RUST_LOG", "info");
        cmd
    }

    /// Makes `cmd` start in network node `node` when this cluster runs in
    /// network namespaces.
    pub fn place(&self, cmd: &mut Command, node: &str) {
        if let Some(net) = &self.net {
            net.place(cmd, node);
        }
    }

    /// The host name of network node `node` (`127.0.0.1` without
    /// namespaces).
    pub fn host(&self, node: &str) -> String {
        match &self.net {
            Some(net) => net.host(node),
            None => "127.0.0.1".into(),
        }
    }

    /// The network namespaces this cluster runs in.
    pub fn net(&self) -> Option<&Net> {
        self.net.as_deref()
    }

    /// The web port (`/metrics`, status page) of master `i`.
    pub fn master_web_port(&self, i: usize) -> u16 {
        self.master_web_ports[i]
    }

    /// The web port of worker `i`.
    pub fn worker_web_port(&self, i: usize) -> u16 {
        self.worker_web_ports[i]
    }

    /// Number of masters.
    pub fn master_count(&self) -> usize {
        self.masters.len()
    }

    /// Whether this cluster runs in HA mode (several masters or ZooKeeper).
    pub fn is_ha(&self) -> bool {
        self.ha
    }

    /// Starts master 0 without waiting.
    pub fn spawn_master(&mut self) {
        self.spawn_master_i(0);
    }

    /// Starts master `i` without waiting (killing it first if it runs).
    pub fn spawn_master_i(&mut self, i: usize) {
        self.kill_master_i(i);
        let mut cmd = self.command("alluxio-master");
        let node = format!("master{i}");
        self.place(&mut cmd, &node);
        if let Some(soft) = self.master_fd_limit[i] {
            // SAFETY: getrlimit/setrlimit are async-signal-safe.
            unsafe {
                use std::os::unix::process::CommandExt;
                cmd.pre_exec(move || {
                    let mut lim: libc::rlimit = std::mem::zeroed();
                    libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
                    lim.rlim_cur = soft.min(lim.rlim_max);
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        if self.ha {
            cmd.arg(format!("-Dalluxio.master.hostname={}", self.host(&node)))
                .arg(format!(
                    "-Dalluxio.master.rpc.port={}",
                    self.master_ports[i]
                ))
                .arg(format!(
                    "-Dalluxio.master.web.port={}",
                    self.master_web_ports[i]
                ));
        }
        cmd.env("ALLUXIO_FAILPOINTS_FILE", self.failpoints_file(&node));
        for (k, v) in &self.master_env[i] {
            cmd.env(k, v);
        }
        let log = self.master_log_path(i);
        self.masters[i] = Some(Proc::spawn(&master_name(i), cmd, &log));
    }

    fn failpoints_file(&self, node: &str) -> PathBuf {
        self.path().join(format!("{node}.failpoints"))
    }

    /// Names `points` as the failpoints of process `node` (`master<i>`,
    /// `worker<i>`) while it runs: it sees them within 100 ms, and an empty
    /// list disarms them (`common/src/failpoint.rs`).
    pub fn arm(&self, node: &str, points: &str) {
        std::fs::write(self.failpoints_file(node), points).expect("writing a failpoints file");
    }

    /// Sets environment variable `key` for master `i` from its next start on
    /// (e.g. `ALLUXIO_FAILPOINTS`); a running master is not affected.
    pub fn set_master_env(&mut self, i: usize, key: &str, value: &str) {
        let env = &mut self.master_env[i];
        env.retain(|(k, _)| k != key);
        env.push((key.to_string(), value.to_string()));
    }

    /// Starts master `i` with a soft open-files limit of `soft` (the hard
    /// limit stays), as a shell or service manager may (from its next start
    /// on).
    pub fn set_master_fd_limit(&mut self, i: usize, soft: u64) {
        self.master_fd_limit[i] = Some(soft);
    }

    /// Drops every variable set with `set_master_env` for master `i` (from
    /// its next start on).
    pub fn clear_master_env(&mut self, i: usize) {
        self.master_env[i].clear();
    }

    /// Starts master `i` and waits until its port answers `GetMasterInfo`
    /// (in whatever role).
    pub async fn start_master_i(&mut self, i: usize) {
        self.spawn_master_i(i);
        self.wait_master_answers(i, Duration::from_secs(30)).await;
    }

    async fn wait_master_answers(&mut self, i: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(Some(code)) = self.masters[i].as_mut().map(|m| m.exited()) {
                panic!(
                    "{} exited with {code:?}:\n{}",
                    master_name(i),
                    self.master_log_tail(i)
                );
            }
            if self.master_info(i).await.is_some() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not answer GetMasterInfo in {timeout:?}:\n{}",
                master_name(i),
                self.master_log_tail(i)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts master 0 and waits until it answers: in classic mode until
    /// the client's `cluster_info` succeeds (it serves), in HA mode until it
    /// answers `GetMasterInfo`.
    pub async fn start_master(&mut self) {
        if self.ha {
            return self.start_master_i(0).await;
        }
        self.spawn_master();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(Some(code)) = self.masters[0].as_mut().map(|m| m.exited()) {
                panic!("master exited with {code:?}:\n{}", self.master_log_tail(0));
            }
            let fs = self.client_with_retry(Duration::from_millis(200));
            if fs.cluster_info().await.is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "master did not start:\n{}",
                self.master_log_tail(0)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Master 0's process handle.
    pub fn master(&mut self) -> &mut Proc {
        self.master_i(0)
    }

    /// Master `i`'s process handle.
    pub fn master_i(&mut self, i: usize) -> &mut Proc {
        self.masters[i]
            .as_mut()
            .unwrap_or_else(|| panic!("{} not running", master_name(i)))
    }

    /// SIGKILLs master 0.
    pub fn kill_master(&mut self) {
        self.kill_master_i(0);
    }

    /// SIGKILLs master `i`.
    pub fn kill_master_i(&mut self, i: usize) {
        if let Some(mut m) = self.masters[i].take() {
            m.kill();
        }
    }

    /// SIGTERMs master `i` and waits (up to 15 s, then SIGKILL); returns its
    /// exit code.
    pub fn terminate_master_i(&mut self, i: usize) -> Option<i32> {
        self.masters[i]
            .take()
            .and_then(|mut m| m.terminate(Duration::from_secs(15)))
    }

    /// SIGSTOPs master `i` and waits until all its threads are stopped.
    pub fn pause_master(&mut self, i: usize) {
        self.master_i(i).pause();
    }

    /// Whether master `i` is stopped (it may have stopped itself at a
    /// pause failpoint).
    pub fn master_stopped(&mut self, i: usize) -> bool {
        self.master_i(i).is_stopped()
    }

    /// Waits (up to 20 s) until master `i` stopped itself at a pause
    /// failpoint; `what` names the point for the failure message.
    pub async fn wait_master_stopped(&mut self, i: usize, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.master_stopped(i) {
            assert!(
                Instant::now() < deadline,
                "{what}: the failpoint never stopped {}:\n{}",
                master_name(i),
                self.master_log_tail(i)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGCONTs master `i`.
    pub fn resume_master(&mut self, i: usize) {
        self.master_i(i).resume();
    }

    /// Whether master `i` has exited on its own.
    pub fn master_exited(&mut self, i: usize) -> bool {
        self.masters[i]
            .as_mut()
            .is_some_and(|m| m.exited().is_some())
    }

    /// Waits for master 0 to exit on its own; returns its exit code.
    pub async fn wait_master_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(code) = self.masters[0].as_mut().and_then(|m| m.exited()) {
                return code;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("master still running after {timeout:?}");
    }

    /// Master 0's log.
    pub fn master_log(&self) -> String {
        self.master_log_i(0)
    }

    /// Master `i`'s log (`master.log` for master 0, `master<i>.log` else).
    pub fn master_log_i(&self, i: usize) -> String {
        std::fs::read_to_string(self.master_log_path(i)).unwrap_or_default()
    }

    pub fn master_log_path(&self, i: usize) -> PathBuf {
        self.path().join(format!("{}.log", master_name(i)))
    }

    fn master_log_tail(&self, i: usize) -> String {
        let log = self.master_log_i(i);
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Master `i`'s answer to `GetMasterInfo` (a direct call to its port,
    /// no retries), or None if it does not answer within a second.
    pub async fn master_info(&self, i: usize) -> Option<GetMasterInfoResponse> {
        master_info_at(
            self.host(&format!("master{i}")),
            self.master_ports[i],
            PROBE_TIMEOUT,
        )
        .await
    }

    /// Every master's role ("LEADER", "STANDBY", "NOT_SERVING"; None if it
    /// does not answer), asked concurrently.
    pub async fn master_roles(&self) -> Vec<Option<String>> {
        let tasks: Vec<_> = self
            .master_ports
            .iter()
            .enumerate()
            .map(|(i, &port)| {
                let host = self.host(&format!("master{i}"));
                tokio::spawn(master_info_at(host, port, PROBE_TIMEOUT))
            })
            .collect();
        let mut roles = Vec::with_capacity(tasks.len());
        for t in tasks {
            roles.push(t.await.ok().flatten().map(|info| info.role));
        }
        roles
    }

    /// Waits (up to 30 s) until exactly one master says it is LEADER;
    /// returns its index.
    pub async fn leader(&self) -> usize {
        self.leader_within(LEADER_TIMEOUT).await
    }

    /// Waits up to `timeout` until exactly one master says it is LEADER;
    /// returns its index.
    pub async fn leader_within(&self, timeout: Duration) -> usize {
        self.wait_leader(None, timeout).await
    }

    /// Waits up to `timeout` until exactly one master says it is LEADER and
    /// that master is not `old`; returns its index.
    pub async fn wait_new_leader(&self, old: usize, timeout: Duration) -> usize {
        self.wait_leader(Some(old), timeout).await
    }

    async fn wait_leader(&self, not: Option<usize>, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let roles = self.master_roles().await;
            let leaders: Vec<usize> = (0..roles.len())
                .filter(|&i| roles[i].as_deref() == Some("LEADER"))
                .collect();
            if leaders.len() == 1 && Some(leaders[0]) != not {
                return leaders[0];
            }
            assert!(
                Instant::now() < deadline,
                "no single new leader (not {not:?}) in {timeout:?}; roles {roles:?}:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// This cluster's ZooKeeper; panics if it runs without.
    pub fn zookeeper(&mut self) -> &mut ZooKeeper {
        self.zk
            .as_mut()
            .expect("this cluster runs without ZooKeeper")
    }

    /// The single ZooKeeper server (`Zk::Single`).
    pub fn zk_server(&mut self) -> &mut ZkServer {
        self.zookeeper().server()
    }

    /// The ZooKeeper ensemble (`Zk::Ensemble(n)`).
    pub fn zk_ensemble(&mut self) -> &mut ZkEnsemble {
        self.zookeeper().ensemble()
    }

    /// Starts worker `i`.
    pub fn start_worker(&mut self, i: usize) {
        let mut cmd = self.command("alluxio-worker");
        let tier = self.path().join(format!("worker{i}"));
        let node = format!("worker{i}");
        self.place(&mut cmd, &node);
        cmd.env("ALLUXIO_FAILPOINTS_FILE", self.failpoints_file(&node));
        if self.net.is_some() {
            cmd.arg(format!("-Dalluxio.worker.hostname={}", self.host(&node)));
        }
        cmd.arg(format!(
            "-Dalluxio.worker.rpc.port={}",
            self.worker_ports[i]
        ))
        .arg(format!(
            "-Dalluxio.worker.web.port={}",
            self.worker_web_ports[i]
        ))
        .arg(format!(
            "-Dalluxio.worker.tieredstore.level0.dirs.path={}",
            path_str(&tier)
        ));
        let log = self.path().join(format!("worker{i}.log"));
        self.workers[i] = Some(Proc::spawn(&format!("worker{i}"), cmd, &log));
    }

    /// SIGTERMs worker `i` and returns its exit code.
    pub fn terminate_worker(&mut self, i: usize) -> Option<i32> {
        self.workers[i]
            .take()
            .and_then(|mut w| w.terminate(Duration::from_secs(15)))
    }

    /// SIGSTOPs worker `i` and waits until all its threads are stopped.
    pub fn pause_worker(&mut self, i: usize) {
        self.workers[i]
            .as_ref()
            .unwrap_or_else(|| panic!("worker{i} not running"))
            .pause();
    }

    /// SIGCONTs worker `i`.
    pub fn resume_worker(&mut self, i: usize) {
        self.workers[i]
            .as_ref()
            .unwrap_or_else(|| panic!("worker{i} not running"))
            .resume();
    }

    /// Worker `i`'s log.
    pub fn worker_log(&self, i: usize) -> String {
        std::fs::read_to_string(self.path().join(format!("worker{i}.log"))).unwrap_or_default()
    }

    /// SIGKILLs worker `i`.
    pub fn kill_worker(&mut self, i: usize) {
        if let Some(mut w) = self.workers[i].take() {
            w.kill();
        }
    }

    /// Waits until the master reports `n` live workers.
    pub async fn wait_live_workers(&self, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let fs = self.client();
        loop {
            if let Ok(info) = fs.cluster_info().await {
                if info.workers.iter().filter(|w| w.live).count() == n {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{n} workers not live in {timeout:?}:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Declares that this test provokes server log lines (ERROR or panic)
    /// containing `needle`; other such lines fail the test when the cluster
    /// drops.
    pub fn expect_log(&mut self, needle: &str) {
        self.expected_log.push(needle.to_string());
    }

    /// Every server log of this cluster: each master's and worker's, and
    /// each FUSE daemon's that logged under its directory.
    fn server_logs(&self) -> Vec<(String, PathBuf)> {
        let mut logs: Vec<(String, PathBuf)> = (0..self.masters.len())
            .map(|i| format!("{}.log", master_name(i)))
            .chain((0..self.workers.len()).map(|i| format!("worker{i}.log")))
            .map(|name| (name.clone(), self.path().join(name)))
            .collect();
        // FUSE daemons log under `alluxio.logs.dir`, `~/.alluxio/logs` with
        // the HOME the harness gives them.
        for path in crate::logs::fuse_logs(&self.path().join(".alluxio").join("logs")) {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            logs.push((name, path));
        }
        logs
    }

    /// Every process log (the last lines of each server's, FUSE daemons'
    /// included, and of ZooKeeper's), for failure messages.
    /// The WARN and ERROR lines of every server log, the last `n` of each.
    pub fn warnings(&self, n: usize) -> String {
        let mut out = String::new();
        for (name, path) in self.server_logs() {
            if let Ok(text) = std::fs::read_to_string(&path) {
                let lines: Vec<&str> = text
                    .lines()
                    .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
                    .collect();
                out.push_str(&format!(
                    "--- {name}\n{}\n",
                    lines[lines.len().saturating_sub(n)..].join("\n")
                ));
            }
        }
        out
    }

    pub fn logs(&self) -> String {
        let mut out = String::new();
        for (name, path) in self.server_logs() {
            if let Ok(text) = std::fs::read_to_string(&path) {
                let lines: Vec<&str> = text.lines().collect();
                out.push_str(&format!(
                    "--- {name}\n{}\n",
                    lines[lines.len().saturating_sub(20)..].join("\n")
                ));
            }
        }
        if let Some(zk) = &self.zk {
            out.push_str(&zk.logs(10));
        }
        out
    }

    /// Runs the `alluxio` CLI with this cluster's configuration.
    pub fn cli(&self, args: &[&str]) -> CliOutput {
        let out = self
            .command("alluxio")
            .args(args)
            .output()
            .expect("running alluxio");
        CliOutput {
            code: out.status.code().unwrap_or(-1),
            bytes: out.stdout.clone(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// This cluster's client configuration.
    pub fn config(&self) -> Config {
        let mut env = HashMap::new();
        env.insert("ALLUXIO_CONF_DIR".to_string(), path_str(&self.conf_dir));
        env.insert("HOME".to_string(), path_str(self.path()));
        let mut opts = LoadOptions::new(Process::User);
        opts.env = env;
        Config::load_with(opts).expect("client config")
    }

    /// A client library handle.
    pub fn client(&self) -> FileSystem {
        FileSystem::from_config(&self.config()).expect("client")
    }

    pub fn client_with_retry(&self, budget: Duration) -> FileSystem {
        let mut conf = self.config();
        conf.set(
            "alluxio.user.rpc.retry.max.duration",
            &format!("{}ms", budget.as_millis()),
        );
        FileSystem::from_config(&conf).expect("client")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "cluster logs in {}:\n{}",
                self.path().display(),
                self.logs()
            );
        }
        // Stop everything before the directory goes: workers, masters
        // (a paused one too: SIGKILL works on stopped processes), ZooKeeper.
        let logs = self.server_logs();
        self.workers.clear();
        self.masters.clear();
        self.zk = None;
        if !std::thread::panicking() {
            if let Some(report) = crate::logs::check(&logs, &self.expected_log) {
                panic!(
                    "servers logged errors this test did not expect (declare provoked ones \
                     with Cluster::expect_log):\n{report}"
                );
            }
        }
    }
}

fn master_name(i: usize) -> String {
    if i == 0 {
        "master".to_string()
    } else {
        format!("master{i}")
    }
}

async fn master_info_at(
    host: String,
    port: u16,
    timeout: Duration,
) -> Option<GetMasterInfoResponse> {
    tokio::time::timeout(timeout, async move {
        let mut client = FileSystemMasterClient::connect(format!("http://{host}:{port}"))
            .await
            .ok()?;
        client
            .get_master_info(GetMasterInfoRequest {})
            .await
            .ok()
            .map(|r| r.into_inner())
    })
    .await
    .ok()
    .flatten()
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}
