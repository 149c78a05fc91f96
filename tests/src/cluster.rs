//! A single-master cluster (master + N workers) in a temporary directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use alluxio_client::FileSystem;
use alluxio_common::config::{Config, LoadOptions, Process};

use crate::process::{bin_path, free_port, Proc};

/// How to set up a test cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub workers: usize,
    /// Extra `alluxio-site.properties` lines.
    pub properties: Vec<(String, String)>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            workers: 1,
            properties: Vec::new(),
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

/// A running cluster; every process is killed when it drops.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub master_port: u16,
    pub worker_ports: Vec<u16>,
    master: Option<Proc>,
    workers: Vec<Option<Proc>>,
    conf_dir: PathBuf,
}

impl Cluster {
    /// Formats a journal, starts the master and the workers, and waits until
    /// every worker is registered.
    pub async fn start(opts: ClusterOptions) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("alluxio-test-")
            .tempdir()
            .expect("tempdir");
        let conf_dir = dir.path().join("conf");
        std::fs::create_dir_all(&conf_dir).unwrap();
        let master_port = free_port();
        let mut props: Vec<(String, String)> = vec![
            ("alluxio.master.hostname".into(), "127.0.0.1".into()),
            ("alluxio.master.rpc.port".into(), master_port.to_string()),
            ("alluxio.master.web.port".into(), free_port().to_string()),
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
        props.extend(opts.properties.iter().cloned());
        let mut text = String::from("# written by the test harness\n");
        for (k, v) in &props {
            text.push_str(&format!("{k}={v}\n"));
        }
        std::fs::write(conf_dir.join("alluxio-site.properties"), text).unwrap();
        let worker_ports = (0..opts.workers).map(|_| free_port()).collect();
        let mut cluster = Cluster {
            dir,
            master_port,
            worker_ports,
            master: None,
            workers: (0..opts.workers).map(|_| None).collect(),
            conf_dir,
        };
        cluster.cli(&["format"]).ok();
        cluster.start_master().await;
        for i in 0..opts.workers {
            cluster.start_worker(i);
        }
        cluster
            .wait_live_workers(opts.workers, Duration::from_secs(30))
            .await;
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

    /// Starts the master without waiting.
    pub fn spawn_master(&mut self) {
        let cmd = self.command("alluxio-master");
        self.master = Some(Proc::spawn("master", cmd, &self.path().join("master.log")));
    }

    /// Starts the master and waits until it answers.
    pub async fn start_master(&mut self) {
        self.spawn_master();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(Some(code)) = self.master.as_mut().and_then(|m| m.exited().map(Some)) {
                panic!("master exited with {code:?}:\n{}", self.master_log_tail());
            }
            let fs = self.client_with_retry(Duration::from_millis(200));
            if fs.cluster_info().await.is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "master did not start:\n{}",
                self.master_log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The master process handle.
    pub fn master(&mut self) -> &mut Proc {
        self.master.as_mut().expect("master not running")
    }

    /// SIGKILLs the master.
    pub fn kill_master(&mut self) {
        if let Some(mut m) = self.master.take() {
            m.kill();
        }
    }

    /// Waits for the master to exit on its own; returns its exit code.
    pub async fn wait_master_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(code) = self.master.as_mut().and_then(|m| m.exited()) {
                return code;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("master still running after {timeout:?}");
    }

    /// The master's log.
    pub fn master_log(&self) -> String {
        std::fs::read_to_string(self.path().join("master.log")).unwrap_or_default()
    }

    fn master_log_tail(&self) -> String {
        let log = self.master_log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Starts worker `i`.
    pub fn start_worker(&mut self, i: usize) {
        let mut cmd = self.command("alluxio-worker");
        let tier = self.path().join(format!("worker{i}"));
        cmd.arg(format!(
            "-Dalluxio.worker.rpc.port={}",
            self.worker_ports[i]
        ))
        .arg(format!("-Dalluxio.worker.web.port={}", free_port()))
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

    /// Every process log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for name in ["master.log", "worker0.log", "worker1.log"] {
            if let Ok(text) = std::fs::read_to_string(self.path().join(name)) {
                let lines: Vec<&str> = text.lines().collect();
                out.push_str(&format!(
                    "--- {name}\n{}\n",
                    lines[lines.len().saturating_sub(20)..].join("\n")
                ));
            }
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

    fn client_with_retry(&self, budget: Duration) -> FileSystem {
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
    }
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}
