//! Tracing set-up shared by the binaries.
//!
//! The level comes from `RUST_LOG` when it is set (it wins), otherwise from
//! `alluxio.logs.level` (an `EnvFilter` directive such as `info` or
//! `info,alluxio_master=debug`).
//!
//! Where the lines go (`alluxio.logs.target`, default `AUTO`):
//! - under systemd (`JOURNAL_STREAM` or `INVOCATION_ID` set): stderr, which
//!   journald records;
//! - stderr is a terminal, a file, a pipe or a socket (run in the foreground,
//!   by a supervisor, by the test harness, by `alluxio local`): stderr —
//!   whoever started us chose where our output goes, and writing a second
//!   copy would only double the disk use;
//! - stderr leads nowhere (`/dev/null`, closed: a detached daemon): the file
//!   `<alluxio.logs.dir>/<process>.log`, rotated by size
//!   ([`rolling::RollingFile`]).
//!
//! `STDERR` and `FILE` force one or the other. Warnings printed while the
//! configuration itself loads go to stderr ([`while_loading`]).

pub mod rolling;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

use crate::config::{keys, Config, ConfigError};

/// Why logging could not be set up as configured.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// A configuration value is missing or malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `alluxio.logs.level` is not a valid filter.
    #[error("invalid {key} {value:?}: {reason} (expected a level such as info or a directive such as info,alluxio_master=debug)")]
    Level {
        /// The property.
        key: &'static str,
        /// Its value.
        value: String,
        /// What the filter parser said.
        reason: String,
    },
    /// The log file cannot be created.
    #[error("cannot open log file {path} (from {key}): {source}")]
    File {
        /// The property naming the directory.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Where log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Standard error.
    Stderr,
    /// A size-rotated file.
    File(PathBuf),
}

/// The logging properties of one process.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Filter directive (`alluxio.logs.level`).
    pub level: String,
    /// `AUTO`, `STDERR` or `FILE` (`alluxio.logs.target`).
    pub target: String,
    /// Directory of log files (`alluxio.logs.dir`).
    pub dir: PathBuf,
    /// Size at which the file is rotated (`alluxio.logs.max.size`).
    pub max_size: u64,
    /// Rotated files kept besides the current one (`alluxio.logs.max.files`).
    pub max_files: u64,
    /// The log file, if not `<dir>/<process>.log` (a detached FUSE daemon
    /// logs to one file per mount point).
    pub file: Option<PathBuf>,
}

impl LogSettings {
    /// Reads the logging properties.
    pub fn from_config(conf: &Config) -> Result<Self, ConfigError> {
        Ok(LogSettings {
            level: conf.get(keys::LOGS_LEVEL)?,
            target: conf.get_enum(keys::LOGS_TARGET)?,
            dir: PathBuf::from(conf.get(keys::LOGS_DIR)?),
            max_size: conf.get_bytes(keys::LOGS_MAX_SIZE)?,
            max_files: conf.get_u64(keys::LOGS_MAX_FILES)?,
            file: None,
        })
    }
}

/// How stderr is connected, as far as the choice of destination cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StderrKind {
    /// Somebody reads or keeps it: a terminal, file, pipe or socket.
    Captured,
    /// `/dev/null` (any character device that is not a terminal) or closed.
    Discarded,
}

/// Whether we run as a systemd unit (whose stderr journald records).
pub fn under_systemd() -> bool {
    ["JOURNAL_STREAM", "INVOCATION_ID"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
}

/// Looks at file descriptor 2.
pub fn stderr_kind() -> StderrKind {
    if std::io::stderr().is_terminal() {
        return StderrKind::Captured;
    }
    // SAFETY: fstat on a descriptor number with a zeroed out-parameter.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(2, &mut stat) } != 0 {
        return StderrKind::Discarded;
    }
    if stat.st_mode & libc::S_IFMT == libc::S_IFCHR {
        StderrKind::Discarded
    } else {
        StderrKind::Captured
    }
}

/// The destination for `target` (`AUTO`, `STDERR`, `FILE`) given how the
/// process was started; `file` is the log file's path.
pub fn choose(target: &str, systemd: bool, stderr: StderrKind, file: PathBuf) -> Destination {
    match target {
        "STDERR" => Destination::Stderr,
        "FILE" => Destination::File(file),
        _ if systemd || stderr == StderrKind::Captured => Destination::Stderr,
        _ => Destination::File(file),
    }
}

/// Runs `load` (reading the configuration) with a temporary stderr logger,
/// so its warnings (unknown properties) are seen before [`init_process`].
pub fn while_loading<T>(load: impl FnOnce() -> T) -> T {
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("warn"))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .finish();
    tracing::subscriber::with_default(subscriber, load)
}

static TO_FILE: AtomicBool = AtomicBool::new(false);

/// Whether [`init_process`] sent the logs to a file (so a fatal error
/// printed on stderr should be logged there too).
pub fn logs_to_file() -> bool {
    TO_FILE.load(Ordering::Relaxed)
}

/// Installs the global subscriber of the server process `name` (`master`,
/// `worker`, `fuse`), and returns where its lines go.
pub fn init_process(name: &str, settings: &LogSettings) -> Result<Destination, LoggingError> {
    let filter = filter(settings)?;
    let file = settings
        .file
        .clone()
        .unwrap_or_else(|| settings.dir.join(format!("{name}.log")));
    let destination = choose(&settings.target, under_systemd(), stderr_kind(), file);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match &destination {
        Destination::Stderr => {
            // journald adds its own time stamps, but keeping ours makes a
            // copied log line self-contained.
            let _ = builder
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .try_init();
        }
        Destination::File(path) => {
            let writer = rolling::RollingFile::open(path, settings.max_size, settings.max_files)
                .map_err(|source| LoggingError::File {
                    key: keys::LOGS_DIR,
                    path: path.clone(),
                    source,
                })?;
            let _ = builder
                .with_writer(Mutex::new(writer))
                .with_ansi(false)
                .try_init();
            TO_FILE.store(true, Ordering::Relaxed);
        }
    }
    Ok(destination)
}

fn filter(settings: &LogSettings) -> Result<EnvFilter, LoggingError> {
    if std::env::var("RUST_LOG").is_ok_and(|v| !v.trim().is_empty()) {
        if let Ok(filter) = EnvFilter::try_from_default_env() {
            return Ok(filter);
        }
    }
    EnvFilter::try_new(&settings.level).map_err(|e| LoggingError::Level {
        key: keys::LOGS_LEVEL,
        value: settings.level.clone(),
        reason: e.to_string(),
    })
}

/// Installs a stderr subscriber for a command-line tool: `RUST_LOG` wins,
/// otherwise `default_level`. Safe to call once per process.
pub fn init(default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_follows_the_target_and_how_we_were_started() {
        let file = PathBuf::from("/logs/master.log");
        let to_file = Destination::File(file.clone());
        let auto = |systemd, stderr| choose("AUTO", systemd, stderr, file.clone());
        assert_eq!(auto(true, StderrKind::Discarded), Destination::Stderr);
        assert_eq!(auto(false, StderrKind::Captured), Destination::Stderr);
        assert_eq!(auto(false, StderrKind::Discarded), to_file);
        assert_eq!(
            choose("FILE", true, StderrKind::Captured, file.clone()),
            to_file
        );
        assert_eq!(
            choose("STDERR", false, StderrKind::Discarded, file.clone()),
            Destination::Stderr
        );
    }

    #[test]
    fn a_bad_level_names_the_key() {
        let settings = LogSettings {
            level: "info,=bogus[".into(),
            target: "AUTO".into(),
            dir: PathBuf::from("/nonexistent"),
            max_size: 1,
            max_files: 1,
            file: None,
        };
        if std::env::var_os("RUST_LOG").is_none() {
            let err = filter(&settings).unwrap_err().to_string();
            assert!(err.contains("alluxio.logs.level"), "{err}");
        }
    }
}
