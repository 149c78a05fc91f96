//! The child processes of `alluxio local`: starting one with its output in a
//! log file, waiting until it is ready, stopping it (SIGTERM, then SIGKILL),
//! and showing the end of its log when it dies. A [`Daemon`] that is dropped
//! while running is killed, so no error path leaves a process behind.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use alluxio_common::startup::Signals;
use anyhow::{bail, Context};

/// How long each process may take to become ready.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a child may take to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// Starts the line written to a log before each start of its process.
const LOG_MARKER: &str = "==== alluxio local: starting ";
/// Log lines shown when a child dies.
const LOG_TAIL_LINES: usize = 20;

/// A child process that is killed if it is still running when dropped, so
/// no error path leaves a daemon behind.
pub(super) struct Daemon {
    pub(super) name: &'static str,
    child: Child,
    pub(super) log: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Daemon {
    /// The exit status if the process has ended.
    pub(super) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Sends SIGTERM, waits up to [`STOP_GRACE`], then kills.
    pub(super) async fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        let pid = self.child.id().to_string();
        // std has no way to send SIGTERM; kill(1) does it without unsafe code.
        let termed = Command::new("kill")
            .args(["-TERM", &pid])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if termed {
            let deadline = Instant::now() + STOP_GRACE;
            while Instant::now() < deadline {
                if self.exited().is_some() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            say_err!(
                "{} did not stop within {STOP_GRACE:?}; killing it",
                self.name
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Prints why the process ended and the end of its log.
    pub(super) fn report_death(&self, status: ExitStatus) {
        say_err!(
            "alluxio local: {} exited unexpectedly ({status}); last lines of {}:",
            self.name,
            self.log.display()
        );
        for line in log_tail(&self.log, LOG_TAIL_LINES) {
            say_err!("    {line}");
        }
    }
}

/// The result of waiting for a child to become ready.
pub(super) enum Wait<T> {
    Ready(T),
    /// A signal asked us to stop.
    Interrupted,
    /// The child exited.
    Died(ExitStatus),
}

/// Starts `bin` with the `-D` overrides, its output appended to `<logs>/<name>.log`.
pub(super) fn spawn(
    name: &'static str,
    bin: &Path,
    overrides: &[(String, String)],
    logs: &Path,
) -> anyhow::Result<Daemon> {
    let mut cmd = Command::new(bin);
    cmd.args(overrides.iter().map(|(k, v)| format!("-D{k}={v}")));
    spawn_command(name, cmd, logs)
}

/// Starts `cmd` (arguments and environment already set), its output
/// appended to `<logs>/<name>.log`, in its own process group.
pub(super) fn spawn_command(
    name: &'static str,
    mut cmd: Command,
    logs: &Path,
) -> anyhow::Result<Daemon> {
    let log = logs.join(format!("{}.log", name.trim_start_matches("alluxio-")));
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("opening log file {}", log.display()))?;
    writeln!(
        out,
        "{LOG_MARKER}{name} at {} UTC ====",
        crate::display::time_ms(alluxio_common::time::now_ms())
    )
    .with_context(|| format!("writing log file {}", log.display()))?;
    let err = out
        .try_clone()
        .with_context(|| format!("opening log file {}", log.display()))?;
    let bin = PathBuf::from(cmd.get_program());
    let child = cmd
        // The output goes to a file: no colour escapes (honoured by tracing-subscriber).
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    Ok(Daemon { name, child, log })
}

/// Polls `probe` until it yields a value, the child exits, a signal arrives
/// or [`START_TIMEOUT`] passes (an error naming the log).
pub(super) async fn wait_ready<T, F, Fut>(
    daemon: &mut Daemon,
    signals: &mut Signals,
    probe: F,
) -> anyhow::Result<Wait<T>>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = daemon.exited() {
            return Ok(Wait::Died(status));
        }
        if Instant::now() >= deadline {
            bail!(
                "{} did not become ready within {START_TIMEOUT:?}; see {}",
                daemon.name,
                daemon.log.display()
            );
        }
        tokio::select! {
            _ = signals.recv() => return Ok(Wait::Interrupted),
            found = tokio::time::timeout(Duration::from_secs(3), probe()) => {
                if let Ok(Some(value)) = found {
                    // The answer may come from a process that is not ours.
                    if let Some(status) = daemon.exited() {
                        return Ok(Wait::Died(status));
                    }
                    return Ok(Wait::Ready(value));
                }
            }
        }
        tokio::select! {
            _ = signals.recv() => return Ok(Wait::Interrupted),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}

/// Stops the worker, then the master.
pub(super) async fn stop_all(worker: &mut Daemon, master: &mut Daemon) {
    worker.stop().await;
    master.stop().await;
}

/// The last `n` lines of a log file (reading at most its last 64 KiB).
fn log_tail(path: &Path, n: usize) -> Vec<String> {
    let read = || -> std::io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(64 << 10)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            // Only this run's lines: the log is appended to across runs.
            let lines: Vec<&str> = text.lines().collect();
            let start = lines
                .iter()
                .rposition(|l| l.starts_with(LOG_MARKER))
                .unwrap_or(0);
            let lines = &lines[start..];
            lines[lines.len().saturating_sub(n)..]
                .iter()
                .map(|l| l.to_string())
                .collect()
        }
        Err(e) => vec![format!("(cannot read the log: {e})")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tail_shows_only_the_last_run() {
        let path = std::env::temp_dir().join(format!("alluxio-log-tail-{}", std::process::id()));
        let text = format!("old 1\n{LOG_MARKER}x ====\nold 2\n{LOG_MARKER}y ====\nnew 1\nnew 2\n");
        std::fs::write(&path, text).unwrap();
        let tail = log_tail(&path, 20);
        assert_eq!(
            tail,
            [
                format!("{LOG_MARKER}y ===="),
                "new 1".into(),
                "new 2".into()
            ]
        );
        assert_eq!(log_tail(&path, 1), ["new 2"]);
        std::fs::remove_file(&path).unwrap();
        assert!(log_tail(&path, 1)[0].starts_with("(cannot read the log"));
    }
}
