//! The background mount: checks, re-exec as a detached daemon, wait for the
//! mount to appear; and the `unmount` and `stat` commands.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alluxio_common::config::{keys, Config, Process};
use anyhow::{bail, Context, Result};

use crate::mounts;
use crate::options::MountOptions;

/// How long `mount` waits for the daemon to finish mounting. The daemon's
/// own cluster check gives up well before this.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Checks the mount point: it must exist, be a directory and not already be
/// a mount of ours. Returns its canonical path (what mountinfo shows).
pub fn check_mount_point(mount_point: &Path) -> Result<PathBuf> {
    let canon = std::fs::canonicalize(mount_point)
        .with_context(|| format!("mount point {} does not exist", mount_point.display()))?;
    let meta = std::fs::metadata(&canon)
        .with_context(|| format!("mount point {} is not accessible", canon.display()))?;
    if !meta.is_dir() {
        bail!("mount point {} is not a directory", canon.display());
    }
    if let Some(m) = mounts::find(&canon) {
        if m.fs_type.starts_with("fuse") {
            bail!(
                "mount point {} is busy: already mounted ({} from {})",
                canon.display(),
                m.fs_type,
                m.source
            );
        }
    }
    Ok(canon)
}

/// Checks that the kernel's FUSE device can be opened.
pub fn check_dev_fuse() -> Result<()> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
        .map(|_| ())
        .context("cannot open /dev/fuse (is the fuse module loaded? try `modprobe fuse`)")
}

/// Environment variable naming the log file of a daemon started by
/// `mount`: it logs there with rotation (its stderr, which also goes to the
/// file, only carries what happens before logging starts).
pub const LOG_FILE_ENV: &str = "ALLUXIO_FUSE_LOG_FILE";

/// The daemon's log file for `mount_point`: under `alluxio.logs.dir` if
/// that is writable, else the temporary directory.
fn log_file(mount_point: &Path) -> PathBuf {
    let name: String = mount_point
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let file = format!("fuse{name}.log");
    let conf_dir = Config::load(Process::Fuse, Vec::new())
        .ok()
        .and_then(|c| c.get(keys::LOGS_DIR).ok())
        .map(PathBuf::from);
    if let Some(dir) = conf_dir {
        if std::fs::create_dir_all(&dir).is_ok() {
            return dir.join(file);
        }
    }
    std::env::temp_dir().join(file)
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `alluxio-fuse mount` without `--foreground`.
pub fn mount(options: &[String], mount_point: &Path, alluxio_path: &str) -> Result<()> {
    MountOptions::parse(options)?;
    let canon = check_mount_point(mount_point)?;
    check_dev_fuse()?;
    let log = log_file(&canon);
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("opening log file {}", log.display()))?;
    let exe = std::env::current_exe().context("finding our own executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("mount").arg("--foreground");
    for o in options {
        cmd.arg("-o").arg(o);
    }
    cmd.arg(&canon)
        .arg(alluxio_path)
        .env(LOG_FILE_ENV, &log)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    // SAFETY: setsid is async-signal-safe; it detaches the daemon from our
    // terminal and process group so it outlives this command.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().context("starting the FUSE daemon")?;
    let start = Instant::now();
    loop {
        if mounts::find(&canon).is_some_and(|m| m.is_ours()) {
            println!(
                "mounted {alluxio_path} at {} (pid {}, log {})",
                canon.display(),
                child.id(),
                log.display()
            );
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "the FUSE daemon exited ({status}) before mounting; its log {}:\n{}",
                log.display(),
                tail(&log, 10)
            );
        }
        if start.elapsed() > READY_TIMEOUT {
            let _ = child.kill();
            bail!(
                "{} did not appear as a mount within {READY_TIMEOUT:?}; log {}:\n{}",
                canon.display(),
                log.display(),
                tail(&log, 10)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `alluxio-fuse unmount`.
pub fn unmount(mount_point: &Path, force: bool) -> Result<()> {
    let canon = std::fs::canonicalize(mount_point).unwrap_or_else(|_| mount_point.to_path_buf());
    match mounts::find(&canon) {
        Some(m) if m.is_ours() => {}
        Some(m) => bail!(
            "{} is not an alluxio-fuse mount ({} from {})",
            canon.display(),
            m.fs_type,
            m.source
        ),
        None => bail!("{} is not mounted", canon.display()),
    }
    let c = std::ffi::CString::new(canon.as_os_str().as_encoded_bytes())
        .context("mount point contains a NUL byte")?;
    let flags = if force { libc::MNT_DETACH } else { 0 };
    // SAFETY: `c` is a valid NUL-terminated path.
    let rc = unsafe { libc::umount2(c.as_ptr(), flags) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EPERM) {
        // Not root: the setuid helper may unmount what the user mounted.
        let mut cmd = Command::new("fusermount3");
        cmd.arg("-u");
        if force {
            cmd.arg("-z");
        }
        let status = cmd.arg(&canon).status().context("running fusermount3")?;
        if status.success() {
            return Ok(());
        }
        bail!("fusermount3 -u {} failed ({status})", canon.display());
    }
    if err.raw_os_error() == Some(libc::EBUSY) {
        bail!(
            "{} is busy (in use); `unmount -f` detaches it lazily",
            canon.display()
        );
    }
    Err(err).with_context(|| format!("unmounting {}", canon.display()))
}

/// `alluxio-fuse stat`.
pub fn stat() -> Result<()> {
    let ours: Vec<_> = mounts::table()
        .into_iter()
        .filter(|m| m.is_ours())
        .collect();
    if ours.is_empty() {
        println!("no alluxio-fuse mounts");
    }
    for m in ours {
        let path = m.source.trim_start_matches(mounts::SOURCE_PREFIX);
        println!("{}\t{}", m.mount_point.display(), path);
    }
    Ok(())
}
