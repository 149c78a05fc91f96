//! `alluxio local`: the one command that gives a new user a working cluster.
//! It finds `alluxio-master` and `alluxio-worker` beside this executable,
//! points the journal, the root UFS and the worker's cache into one data
//! directory (unless configured otherwise), formats the journal on first
//! use, starts both processes, waits until the worker is live, mounts the
//! namespace with `alluxio-fuse` (at `<data dir>/mnt` unless told otherwise
//! or `--no-mount`), and then stays in the foreground until Ctrl-C or
//! SIGTERM, when it unmounts and stops both.
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
use alluxio_common::startup::Signals;
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

use daemon::{spawn, spawn_command, stop_all, wait_ready, Daemon, Wait};

/// Arguments of `alluxio local`.
#[derive(Args, Debug)]
pub struct LocalArgs {
    /// Directory for the journal, the root UFS, the worker cache and the logs
    /// (default: the value of alluxio.work.dir).
    #[arg(long = "data-dir", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Where to mount the file system with alluxio-fuse (default: the
    /// `mnt` directory in the data directory; created if missing).
    #[arg(long = "mount-point", value_name = "DIR", conflicts_with = "no_mount")]
    mount_point: Option<PathBuf>,
    /// Do not mount the file system.
    #[arg(long = "no-mount")]
    no_mount: bool,
    /// Mount options for alluxio-fuse, comma separated (repeatable), e.g.
    /// `-o direct_io`; see `alluxio-fuse mount --help`.
    #[arg(short = 'o', value_name = "OPTIONS", conflicts_with = "no_mount")]
    mount_options: Vec<String>,
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
    let mut signals = Signals::install().context("installing the SIGINT and SIGTERM handlers")?;
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

    // Declared before the daemon so that it drops (lazily unmounting
    // whatever is left) after the daemon is killed on an error path.
    let mut mount_guard = None;
    let mut fuse = None;
    if !args.no_mount {
        let mnt = args.mount_point.unwrap_or_else(|| plan.data.join("mnt"));
        match start_mount(&exe, &plan, &mnt, &args.mount_options, &mut signals).await? {
            MountStart::Mounted(daemon, guard) => {
                fuse = Some(daemon);
                mount_guard = Some(guard);
            }
            MountStart::Skipped => {}
            MountStart::Interrupted => {
                say!("Interrupted; stopping ...");
                stop_all(&mut worker, &mut master).await;
                return Ok(ExitCode::SUCCESS);
            }
        }
    }

    let summary = Summary {
        exe: &exe,
        mount: mount_guard.as_ref().map(|g: &MountGuard| g.0.as_path()),
        overrides: &overrides,
        master_addr: &master_addr,
        worker_addr: &worker_addr,
        plan: &plan,
        journal: &journal,
        root_ufs: &info.root_ufs,
    };
    say!("{}", summary.render());
    let code = supervise(&mut master, &mut worker, &mut fuse, &mut signals).await;
    drop(mount_guard);
    Ok(code)
}

/// Stops the FUSE daemon first (SIGTERM makes it unmount), then the worker
/// and the master.
async fn stop_everything(fuse: &mut Option<Daemon>, worker: &mut Daemon, master: &mut Daemon) {
    if let Some(fuse) = fuse {
        fuse.stop().await;
    }
    stop_all(worker, master).await;
}

/// Waits for a signal (then unmounts and stops both, exit 0) or the death
/// of either server (then reports it, stops the rest, exit 1). If only the
/// FUSE daemon ends (say, someone ran `umount`), the cluster keeps serving.
async fn supervise(
    master: &mut Daemon,
    worker: &mut Daemon,
    fuse: &mut Option<Daemon>,
    signals: &mut Signals,
) -> ExitCode {
    loop {
        tokio::select! {
            _ = signals.recv() => {
                say!("Stopping the local cluster ...");
                stop_everything(fuse, worker, master).await;
                say!("Stopped.");
                return ExitCode::SUCCESS;
            }
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                if let Some(status) = fuse.as_mut().and_then(|f| f.exited()) {
                    if status.success() {
                        say_err!("alluxio local: the mount is gone (unmounted); the cluster keeps running");
                    } else if let Some(f) = fuse.as_ref() {
                        f.report_death(status);
                        say_err!("alluxio local: the cluster keeps running without the mount");
                    }
                    *fuse = None;
                }
                let died = match (master.exited(), worker.exited()) {
                    (Some(status), _) => Some((&*master, status)),
                    (None, Some(status)) => Some((&*worker, status)),
                    (None, None) => None,
                };
                if let Some((daemon, status)) = died {
                    daemon.report_death(status);
                    stop_everything(fuse, worker, master).await;
                    return ExitCode::FAILURE;
                }
            }
        }
    }
}

/// A mount point; dropping it lazily unmounts whatever of ours is still
/// mounted there (after a killed daemon, a busy mount, an error path).
struct MountGuard(PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        if is_mounted(&self.0) {
            let quiet = |cmd: &mut std::process::Command| {
                cmd.stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            let _ = quiet(
                std::process::Command::new("fusermount3")
                    .arg("-u")
                    .arg("-z")
                    .arg(&self.0),
            ) || quiet(std::process::Command::new("umount").arg("-l").arg(&self.0));
        }
    }
}

/// Whether an `alluxio-fuse` mount (source `alluxio:...`) sits at `mnt`,
/// a canonical path.
fn is_mounted(mnt: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = mnt.to_string_lossy().replace(' ', "\\040");
    info.lines().any(|line| {
        let target = line.split(' ').nth(4);
        let source = line
            .split(" - ")
            .nth(1)
            .and_then(|rest| rest.split(' ').nth(1));
        target == Some(want.as_str()) && source.is_some_and(|s| s.starts_with("alluxio:"))
    })
}

/// How starting the mount went.
enum MountStart {
    Mounted(Daemon, MountGuard),
    /// It could not be mounted; the reason has been printed.
    Skipped,
    Interrupted,
}

/// Starts `alluxio-fuse mount --foreground <mnt> /` as a supervised child
/// with the cluster's configuration and waits until the kernel shows the
/// mount. A failure is a warning: the cluster is useful without the mount.
async fn start_mount(
    exe: &Path,
    plan: &Plan,
    mnt: &Path,
    mount_options: &[String],
    signals: &mut Signals,
) -> anyhow::Result<MountStart> {
    let skip = |why: String| {
        say_err!("alluxio local: not mounting the file system: {why} (--no-mount skips this)");
        Ok(MountStart::Skipped)
    };
    let fuse_bin = match sibling(exe, "alluxio-fuse") {
        Ok(bin) => bin,
        Err(e) => return skip(format!("{e:#}")),
    };
    if let Err(e) = std::fs::create_dir_all(mnt) {
        return skip(format!("cannot create mount point {}: {e}", mnt.display()));
    }
    let mnt = match std::fs::canonicalize(mnt) {
        Ok(m) => m,
        Err(e) => return skip(format!("mount point {}: {e}", mnt.display())),
    };
    if is_mounted(&mnt) {
        return skip(format!(
            "{} is already mounted (run `alluxio-fuse unmount {}` first)",
            mnt.display(),
            mnt.display()
        ));
    }
    say!("Mounting the file system at {} ...", mnt.display());
    // alluxio-fuse takes configuration overrides from its *_JAVA_OPTS
    // variable; ours come last, so they win.
    let var = Process::Fuse.java_opts_var();
    let mut opts = std::env::var(var).unwrap_or_default();
    for (k, v) in &plan.child_overrides {
        opts.push_str(&format!(" \"-D{k}={v}\""));
    }
    let mut cmd = std::process::Command::new(&fuse_bin);
    cmd.env(var, opts).arg("mount");
    for o in mount_options {
        cmd.arg("-o").arg(o);
    }
    cmd.arg("--foreground").arg(&mnt).arg("/");
    let mut daemon = spawn_command("alluxio-fuse", cmd, &plan.logs)?;
    let guard = MountGuard(mnt.clone());
    let probe_mnt = mnt.clone();
    let waited = wait_ready(&mut daemon, signals, move || {
        let mounted = is_mounted(&probe_mnt);
        async move { mounted.then_some(()) }
    })
    .await;
    match waited {
        Ok(Wait::Ready(())) => Ok(MountStart::Mounted(daemon, guard)),
        Ok(Wait::Interrupted) => {
            daemon.stop().await;
            Ok(MountStart::Interrupted)
        }
        Ok(Wait::Died(status)) => {
            daemon.report_death(status);
            skip(format!("alluxio-fuse exited ({status})"))
        }
        Err(e) => {
            daemon.stop().await;
            skip(format!("{e:#}"))
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
    mount: Option<&'a Path>,
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
        let mut lines = vec![
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
            format!(
                "  Mount:       {}",
                self.mount.map_or("(none)".into(), |m| format!(
                    "{} (alluxio-fuse)",
                    m.display()
                ))
            ),
            format!("  Logs:        {}", self.plan.logs.display()),
            String::new(),
            "Try, in another terminal:".into(),
        ];
        match self.mount {
            Some(m) => lines.extend([
                format!("  cp /etc/hosts {}/", m.display()),
                format!("  ls -l {}", m.display()),
                format!("  {cmd} fs cat /hosts"),
            ]),
            None => lines.extend([
                format!("  {cmd} fs copyFromLocal /etc/hosts /hosts"),
                format!("  {cmd} fs ls /"),
                format!("  {cmd} fs cat /hosts"),
            ]),
        }
        lines.extend([
            format!("  {cmd} fsadmin report"),
            String::new(),
            "Press Ctrl-C to stop the cluster (and unmount).".into(),
        ]);
        lines.join("\n")
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
