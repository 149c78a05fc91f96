//! Start-up shared by every process, so each `main.rs` only says what it
//! runs: the `-D KEY=VALUE` flag, loading and validating the configuration,
//! the panic policy, the tokio runtime and the shutdown signals, and for the
//! servers their whole life ([`run_daemon`]: the same exit statuses and
//! messages for every daemon).
//!
//! The panic policy is the same for every daemon (master, worker, FUSE): a
//! panic anywhere aborts the process. A panicking tokio task would otherwise
//! end alone while the rest of the daemon limps on (a master whose journal
//! writer died still answering reads, a worker whose heartbeat task died
//! still serving blocks the master forgot); a supervisor (systemd, the test
//! harness, `alluxio local`) restarts or reports a process that ends.

use std::fmt::Display;
use std::io;

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::config::{Config, ConfigError, Process};
use crate::logging;

/// Parses one `-D KEY=VALUE` item (a clap value parser): the key is trimmed
/// and must not be empty; the value is trimmed and may be empty or contain
/// `=`.
pub fn parse_property(item: &str) -> Result<(String, String), String> {
    match item.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(format!("expected KEY=VALUE, got {item:?}")),
    }
}

/// Loads the configuration of `process` with the `-D` overrides on top and
/// checks every value, logging the loader's warnings (unknown properties)
/// before logging is set up.
pub fn load_config(
    process: Process,
    overrides: Vec<(String, String)>,
) -> Result<Config, ConfigError> {
    let config = logging::while_loading(|| Config::load(process, overrides))?;
    config.validate()?;
    Ok(config)
}

/// Makes every panic, on any thread, abort the process after the default
/// hook has printed it (see the module comment). Call first in a daemon's
/// `main`.
pub fn abort_on_panic() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        std::process::abort();
    }));
}

/// Raises the soft limit of open files to the hard one; returns both
/// values, before and after. Every connection and every open block file is
/// a descriptor, and the soft default of a login shell or a container
/// (often 1,024) runs out long before the machine does: a thousand idle
/// connections used to leave a master unable to accept the next client.
pub fn raise_fd_limit() -> io::Result<(u64, u64)> {
    // SAFETY: getrlimit/setrlimit on a struct we own.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(io::Error::last_os_error());
        }
        let old = lim.rlim_cur;
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok((old, lim.rlim_cur))
    }
}

/// The multi-threaded runtime a daemon runs on; `worker_threads` defaults
/// to one per core.
pub fn runtime(
    thread_name: &str,
    worker_threads: Option<usize>,
) -> io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name(thread_name);
    if let Some(threads) = worker_threads {
        builder.worker_threads(threads.max(1));
    }
    builder.build()
}

/// Reports a daemon's fatal error: in its log, and on stderr when the log
/// goes to a file (so whoever started it sees why it stopped).
pub fn report_fatal(program: &str, err: impl Display) {
    tracing::error!("{program} failed: {err:#}");
    if logging::logs_to_file() {
        eprintln!("{program} failed: {err:#}");
    }
}

/// SIGTERM and SIGINT, installed once so that a signal arriving before
/// anyone waits is not lost.
pub struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    /// Installs the handlers (needs a tokio runtime).
    pub fn install() -> io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the next SIGTERM or SIGINT and names it.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// Waits for SIGTERM or SIGINT and names the one that came. If the handlers
/// cannot be installed, it says so and waits for Ctrl-C alone.
pub async fn shutdown_signal() -> &'static str {
    match Signals::install() {
        Ok(mut signals) => signals.recv().await,
        Err(e) => {
            tracing::warn!("cannot watch SIGTERM ({e}); only SIGINT stops this process");
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

/// The shutdown request a daemon's run function gets: resolves at the first
/// SIGTERM or SIGINT (logged).
pub type Shutdown = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>>;

/// A daemon's whole life, the same for every server: aborts on panics,
/// loads the configuration of `process` with the `-D` overrides and turns
/// it into settings, sets up logging as `log_name`, starts the runtime and
/// runs `run` until it returns (it gets the [`Shutdown`] future to stop on).
/// Exit status 2 for a bad setting (one line naming it, before anything
/// starts), 1 for a failure while running (logged, and on stderr when the
/// log is a file), 0 after a clean stop.
pub fn run_daemon<S, E, F, Fut, R>(
    program: &'static str,
    process: Process,
    log_name: &str,
    overrides: Vec<(String, String)>,
    settings: F,
    run: R,
) -> std::process::ExitCode
where
    F: FnOnce(&Config) -> Result<S, E>,
    E: Display,
    R: FnOnce(S, Shutdown) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
{
    use std::process::ExitCode;
    abort_on_panic();
    let loaded = load_config(process, overrides)
        .map_err(|e| e.to_string())
        .and_then(|conf| {
            let logs = logging::LogSettings::from_config(&conf).map_err(|e| e.to_string())?;
            let settings = settings(&conf).map_err(|e| format!("{e:#}"))?;
            Ok((settings, logs))
        });
    let (settings, logs) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("{program}: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = logging::init_process(log_name, &logs) {
        eprintln!("{program}: {e}");
        return ExitCode::from(2);
    }
    match raise_fd_limit() {
        Ok((old, new)) if old < new => {
            tracing::info!("open files limit raised from {old} to {new}")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot raise the open files limit: {e}"),
    }
    let runtime = match runtime(program, None) {
        Ok(runtime) => runtime,
        Err(e) => {
            report_fatal(program, format_args!("cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let shutdown: Shutdown = Box::pin(async {
        let signal = shutdown_signal().await;
        tracing::info!("received {signal}; shutting down");
    });
    match runtime.block_on(run(settings, shutdown)) {
        Ok(()) => {
            tracing::info!("{program} stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            report_fatal(program, e);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties() {
        assert_eq!(
            parse_property(" a.b = c=d ").unwrap(),
            ("a.b".into(), "c=d".into())
        );
        assert_eq!(parse_property("a=").unwrap(), ("a".into(), "".into()));
        for bad in ["novalue", "=x", " =x", ""] {
            let err = parse_property(bad).unwrap_err();
            assert!(err.contains("KEY=VALUE"), "{bad:?}: {err}");
        }
    }

    /// The policy in a real process: this test runs itself again as a
    /// child that installs it and panics on a spawned thread.
    #[test]
    fn a_panic_on_any_thread_aborts_the_process() {
        use std::os::unix::process::ExitStatusExt;
        const CHILD: &str = "ALLUXIO_TEST_PANIC_CHILD";
        if std::env::var_os(CHILD).is_some() {
            abort_on_panic();
            let _ = std::thread::spawn(|| panic!("a task failed")).join();
            // Reached only if the panic did not abort: limping on.
            std::process::exit(0);
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "startup::tests::a_panic_on_any_thread_aborts_the_process",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{stderr}");
        assert!(stderr.contains("a task failed"), "{stderr}");
    }

    #[tokio::test]
    async fn a_signal_sent_before_waiting_is_seen() {
        let mut signals = Signals::install().unwrap();
        // SAFETY: raise only sends a signal to this process, whose SIGINT
        // handler tokio has just installed.
        assert_eq!(unsafe { libc::raise(libc::SIGINT) }, 0);
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), signals.recv())
            .await
            .expect("the signal arrives");
        assert_eq!(got, "SIGINT");
    }
}
