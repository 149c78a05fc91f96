//! `alluxio local`: the one command that gives a new user a working cluster.
//! It finds `alluxio-master` and `alluxio-worker` beside this executable,
//! points the journal, the root UFS and the worker's cache into one data
//! directory (unless configured otherwise), formats the journal on first
//! use, starts both processes, waits until the worker is live, and then
//! stays in the foreground until Ctrl-C or SIGTERM, when it stops both.
//!
//! The children run in their own process group, so a Ctrl-C in the terminal
//! reaches only this process, which then stops the worker before the master.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use alluxio_client::FileSystem;
use alluxio_common::config::{format_bytes, keys, Config, Process, Source};
use anyhow::{bail, Context};
use clap::Args;

use crate::format::{ensure_formatted, Outcome};
use crate::load_config;

/// Prints a progress line; a closed stdout must not stop (or panic) the cluster.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Prints a line to stderr, ignoring a closed stderr.
macro_rules! say_err {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod daemon;

use daemon::{spawn, stop_all, wait_ready, Daemon, Signals, Wait};

/// Arguments of `alluxio local`.
#[derive(Args, Debug)]
pub struct LocalArgs {
    /// Directory for the journal, the root UFS, the worker cache and the logs
    /// (default: the value of alluxio.work.dir).
    #[arg(long = "data-dir", value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// Where everything lives and how the children are configured.
struct Plan {
    data: PathBuf,
    logs: PathBuf,
    /// The user's `-D` overrides plus the data-directory defaults.
    child_overrides: Vec<(String, String)>,
    master_conf: Config,
    worker_conf: Config,
    client_conf: Config,
}

impl Plan {
    /// Puts the journal, the root UFS and the worker cache under `data` for
    /// each of those keys the user left at its built-in default (as seen by
    /// the process that reads it), and creates the directories.
    fn new(overrides: &[(String, String)], data_dir: Option<PathBuf>) -> anyhow::Result<Plan> {
        let data = match data_dir {
            Some(dir) => dir,
            None => PathBuf::from(load_config(Process::User, overrides)?.get(keys::WORK_DIR)?),
        };
        let data = std::path::absolute(&data)
            .with_context(|| format!("resolving data directory {}", data.display()))?;
        let logs = data.join("logs");
        let master_conf = load_config(Process::Master, overrides)?;
        let worker_conf = load_config(Process::Worker, overrides)?;
        let defaults = [
            (
                &master_conf,
                keys::MASTER_JOURNAL_FOLDER,
                data.join("journal"),
            ),
            (
                &master_conf,
                keys::MASTER_MOUNT_TABLE_ROOT_UFS,
                data.join("underFSStorage"),
            ),
            (
                &worker_conf,
                keys::WORKER_TIERED_STORE_LEVEL0_DIRS_PATH,
                data.join("worker"),
            ),
        ];
        let mut child_overrides = overrides.to_vec();
        let mut dirs = vec![logs.clone()];
        for (conf, key, dir) in defaults {
            if conf.source(key) == Source::Default {
                child_overrides.push((key.to_string(), dir.display().to_string()));
                dirs.push(dir);
            }
        }
        for dir in &dirs {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating directory {}", dir.display()))?;
        }
        Ok(Plan {
            master_conf: load_config(Process::Master, &child_overrides)?,
            worker_conf: load_config(Process::Worker, &child_overrides)?,
            client_conf: load_config(Process::User, &child_overrides)?,
            data,
            logs,
            child_overrides,
        })
    }
}

/// Runs `alluxio local`.
pub async fn run(overrides: Vec<(String, String)>, args: LocalArgs) -> anyhow::Result<ExitCode> {
    let mut signals = Signals::install()?;
    let exe = std::env::current_exe().context("locating the alluxio executable")?;
    let master_bin = sibling(&exe, "alluxio-master")?;
    let worker_bin = sibling(&exe, "alluxio-worker")?;
    let plan = Plan::new(&overrides, args.data_dir)?;

    let journal = plan.master_conf.get(keys::MASTER_JOURNAL_FOLDER)?;
    let journal_options = crate::format::journal_options(&plan.master_conf);
    let cluster_id = match ensure_formatted(&journal, &journal_options).await? {
        Outcome::Formatted(info) => {
            say!(
                "Formatted journal folder {journal} (cluster id {}).",
                info.cluster_id
            );
            info.cluster_id
        }
        Outcome::AlreadyFormatted(info) => info.cluster_id,
    };
    let master_addr = format!(
        "{}:{}",
        plan.master_conf.get(keys::MASTER_HOSTNAME)?,
        plan.master_conf.get_port(keys::MASTER_RPC_PORT)?
    );
    let worker_port = plan.worker_conf.get_port(keys::WORKER_RPC_PORT)?;
    let worker_addr = format!(
        "{}:{worker_port}",
        plan.worker_conf.get(keys::WORKER_HOSTNAME)?
    );
    ensure_free(&master_addr, "master", keys::MASTER_RPC_PORT)?;
    ensure_free(&worker_addr, "worker", keys::WORKER_RPC_PORT)?;

    // A client that gives up quickly, so the readiness loops can watch the child.
    let mut probe_conf = plan.client_conf.clone();
    probe_conf.set(keys::USER_RPC_RETRY_MAX_DURATION, "1sec");
    let probe = FileSystem::from_config(&probe_conf)?;

    say!("Starting alluxio-master at {master_addr} ...");
    let mut master = spawn(
        "alluxio-master",
        &master_bin,
        &plan.child_overrides,
        &plan.logs,
    )?;
    let info = match wait_ready(&mut master, &mut signals, || async {
        probe.cluster_info().await.ok()
    })
    .await?
    {
        Wait::Ready(info) => info,
        Wait::Interrupted => {
            say!("Interrupted; stopping ...");
            master.stop().await;
            return Ok(ExitCode::SUCCESS);
        }
        Wait::Died(status) => {
            master.report_death(status);
            return Ok(ExitCode::FAILURE);
        }
    };
    if info.cluster_id != cluster_id {
        bail!(
            "the master answering at {master_addr} belongs to cluster {:?}, not {cluster_id} of \
             journal {journal}; is another cluster using this port?",
            info.cluster_id
        );
    }

    say!("Starting alluxio-worker at {worker_addr} ...");
    let mut worker = spawn(
        "alluxio-worker",
        &worker_bin,
        &plan.child_overrides,
        &plan.logs,
    )?;
    let ready = wait_ready(&mut worker, &mut signals, || async {
        let info = probe.cluster_info().await.ok()?;
        let port = u32::from(worker_port);
        let live = |w: &alluxio_proto::WorkerInfo| {
            w.live && w.address.as_ref().is_some_and(|a| a.rpc_port == port)
        };
        info.workers.iter().any(live).then_some(info)
    })
    .await?;
    let info = match ready {
        Wait::Ready(info) => info,
        Wait::Interrupted => {
            say!("Interrupted; stopping ...");
            stop_all(&mut worker, &mut master).await;
            return Ok(ExitCode::SUCCESS);
        }
        Wait::Died(status) => {
            worker.report_death(status);
            stop_all(&mut worker, &mut master).await;
            return Ok(ExitCode::FAILURE);
        }
    };

    let summary = Summary {
        exe: &exe,
        overrides: &overrides,
        master_addr: &master_addr,
        worker_addr: &worker_addr,
        plan: &plan,
        journal: &journal,
        root_ufs: &info.root_ufs,
    };
    say!("{}", summary.render());
    Ok(supervise(&mut master, &mut worker, &mut signals).await)
}

/// Waits for a signal (then stops both, exit 0) or the death of either
/// child (then reports it, stops the other, exit 1).
async fn supervise(master: &mut Daemon, worker: &mut Daemon, signals: &mut Signals) -> ExitCode {
    loop {
        tokio::select! {
            _ = signals.recv() => {
                say!("Stopping the local cluster ...");
                stop_all(worker, master).await;
                say!("Stopped.");
                return ExitCode::SUCCESS;
            }
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                let died = match (master.exited(), worker.exited()) {
                    (Some(status), _) => Some((&*master, status)),
                    (None, Some(status)) => Some((&*worker, status)),
                    (None, None) => None,
                };
                if let Some((daemon, status)) = died {
                    daemon.report_death(status);
                    stop_all(worker, master).await;
                    return ExitCode::FAILURE;
                }
            }
        }
    }
}

/// `name` in the directory of `exe`, or an error telling how to build it.
fn sibling(exe: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = exe
        .parent()
        .context("the alluxio executable has no parent directory")?;
    let path = dir.join(name);
    if !path.is_file() {
        bail!(
            "cannot find {name} next to {} (looked for {}); build all the binaries with \
             `cargo build --release` and run the alluxio from the same target directory",
            exe.display(),
            path.display()
        );
    }
    Ok(path)
}

/// Fails if something already listens at `addr`, naming the key to change.
fn ensure_free(addr: &str, what: &str, key: &str) -> anyhow::Result<()> {
    let Ok(resolved) = addr.to_socket_addrs() else {
        return Ok(()); // The child will report the unresolvable name itself.
    };
    for socket in resolved {
        if TcpStream::connect_timeout(&socket, Duration::from_millis(300)).is_ok() {
            bail!(
                "something already listens at {addr} ({socket}), where the {what} should run; \
                 stop it or choose another port with -D{key}=<port>"
            );
        }
    }
    Ok(())
}

/// What the user needs to know once the cluster is up.
struct Summary<'a> {
    exe: &'a Path,
    overrides: &'a [(String, String)],
    master_addr: &'a str,
    worker_addr: &'a str,
    plan: &'a Plan,
    journal: &'a str,
    root_ufs: &'a str,
}

impl Summary<'_> {
    fn render(&self) -> String {
        let conf = &self.plan.worker_conf;
        let tier = |field: &str| conf.get(&keys::tier_key(0, field)).unwrap_or_default();
        let quota = conf
            .get_bytes(&keys::tier_key(0, "dirs.quota"))
            .map(format_bytes)
            .unwrap_or_else(|_| tier("dirs.quota"));
        let cmd = self.command_prefix();
        [
            String::new(),
            "Alluxio local cluster is ready.".into(),
            format!("  Master:      {}", self.master_addr),
            format!("  Worker:      {}", self.worker_addr),
            format!("  Data:        {}", self.plan.data.display()),
            format!("  Journal:     {}", self.journal),
            format!("  Root UFS:    {}", self.root_ufs),
            format!(
                "  Cache:       {} ({}, {quota})",
                tier("dirs.path"),
                tier("alias")
            ),
            format!("  Logs:        {}", self.plan.logs.display()),
            String::new(),
            "Try, in another terminal:".into(),
            format!("  {cmd} fs ls /"),
            format!("  {cmd} fs copyFromLocal /etc/hosts /hosts"),
            format!("  {cmd} fs cat /hosts"),
            format!("  {cmd} fsadmin report"),
            String::new(),
            "Press Ctrl-C to stop the cluster.".into(),
        ]
        .join("\n")
    }

    /// `alluxio` as the user can type it (the full path unless it is on
    /// PATH), with the `-D` options that say where the master is.
    fn command_prefix(&self) -> String {
        let on_path = std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|dir| Some(dir.as_path()) == self.exe.parent())
        });
        let mut cmd = if on_path {
            "alluxio".to_string()
        } else {
            self.exe.display().to_string()
        };
        let client_keys = [
            keys::MASTER_HOSTNAME,
            keys::MASTER_RPC_PORT,
            keys::MASTER_RPC_ADDRESSES,
        ];
        for (key, value) in self.overrides {
            if client_keys.contains(&keys::canonical_name(key)) {
                cmd.push_str(&format!(" -D{key}={value}"));
            }
        }
        cmd
    }
}
