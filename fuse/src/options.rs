//! The `-o opt,opt=value,...` mount options: ours (timeouts, threads,
//! staging) and the kernel's (passed to the mount as they are).
//!
//! Unknown options are an error, so a typo is not silently ignored.

use std::path::PathBuf;
use std::time::Duration;

use fuser::MountOption;

/// Everything a mount is configured with besides the cluster configuration.
#[derive(Debug, Clone)]
pub struct MountOptions {
    /// How long the kernel may cache attributes (`attr_timeout`, seconds).
    pub attr_timeout: Duration,
    /// How long the kernel may cache name lookups (`entry_timeout`, seconds).
    pub entry_timeout: Duration,
    /// Threads reading requests from /dev/fuse (`max_threads`).
    pub threads: usize,
    /// Largest write request the kernel sends (`max_write`, bytes).
    pub max_write: u32,
    /// How far ahead the kernel reads a file read sequentially
    /// (`max_readahead`, bytes): the mount's read-ahead window, set through
    /// sysfs when the daemon runs as root (see `read_ahead`).
    pub max_readahead: u32,
    /// Where files open for writing are staged (`staging_dir`).
    pub staging_dir: Option<PathBuf>,
    /// Files opened read-only bypass the kernel's page cache (`direct_io`):
    /// every read(2) reaches the daemon at its own size, and a file's bytes
    /// are not held twice on this machine (worker cache and page cache).
    /// Faster for large sequential and random reads, slower for small reads
    /// (see the README's mount options).
    pub direct_io: bool,
    /// Let the kernel check permissions from the attributes
    /// (`default_permissions`, on unless `no_default_permissions`).
    pub default_permissions: bool,
    pub allow_other: bool,
    pub allow_root: bool,
    /// Kernel mount flags and anything else for the mount itself.
    pub kernel: Vec<MountOption>,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            attr_timeout: Duration::from_secs(1),
            entry_timeout: Duration::from_secs(1),
            threads: 4,
            max_write: 1 << 20,
            max_readahead: 1 << 20,
            staging_dir: None,
            direct_io: false,
            default_permissions: true,
            allow_other: false,
            allow_root: false,
            kernel: Vec::new(),
        }
    }
}

/// An option that could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("bad mount option {option:?}: {reason}")]
pub struct OptionError {
    pub option: String,
    pub reason: String,
}

fn seconds(option: &str, v: &str) -> Result<Duration, OptionError> {
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| OptionError {
            option: option.into(),
            reason: "expected a number of seconds".into(),
        })
}

fn number(option: &str, v: &str, min: u64, max: u64) -> Result<u64, OptionError> {
    v.parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| OptionError {
            option: option.into(),
            reason: format!("expected a whole number from {min} to {max}"),
        })
}

impl MountOptions {
    /// Parses every `-o` argument (each a comma-separated list) in order;
    /// a later value replaces an earlier one.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<MountOptions, OptionError> {
        let mut o = MountOptions::default();
        for arg in args {
            for opt in arg.as_ref().split(',').filter(|s| !s.is_empty()) {
                o.apply(opt)?;
            }
        }
        Ok(o)
    }

    fn apply(&mut self, opt: &str) -> Result<(), OptionError> {
        let (key, value) = match opt.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (opt, None),
        };
        let need = || {
            value.ok_or_else(|| OptionError {
                option: opt.into(),
                reason: "needs a value".into(),
            })
        };
        match key {
            "attr_timeout" => self.attr_timeout = seconds(opt, need()?)?,
            "entry_timeout" => self.entry_timeout = seconds(opt, need()?)?,
            "max_threads" | "n_threads" => self.threads = number(opt, need()?, 1, 256)? as usize,
            "max_write" => self.max_write = number(opt, need()?, 4096, 16 << 20)? as u32,
            "max_readahead" => self.max_readahead = number(opt, need()?, 4096, 256 << 20)? as u32,
            "staging_dir" => self.staging_dir = Some(PathBuf::from(need()?)),
            "direct_io" => self.direct_io = true,
            "default_permissions" => self.default_permissions = true,
            "no_default_permissions" => self.default_permissions = false,
            "allow_other" => self.allow_other = true,
            "allow_root" => self.allow_root = true,
            "ro" => self.kernel.push(MountOption::RO),
            "rw" => self.kernel.push(MountOption::RW),
            "dev" => self.kernel.push(MountOption::Dev),
            "nodev" => self.kernel.push(MountOption::NoDev),
            "suid" => self.kernel.push(MountOption::Suid),
            "nosuid" => self.kernel.push(MountOption::NoSuid),
            "exec" => self.kernel.push(MountOption::Exec),
            "noexec" => self.kernel.push(MountOption::NoExec),
            "atime" => self.kernel.push(MountOption::Atime),
            "noatime" => self.kernel.push(MountOption::NoAtime),
            "sync" => self.kernel.push(MountOption::Sync),
            "async" => self.kernel.push(MountOption::Async),
            "dirsync" => self.kernel.push(MountOption::DirSync),
            // fstab/mount(8) noise that means nothing to a FUSE mount.
            "defaults" | "auto" | "noauto" | "user" | "nouser" | "_netdev" | "nofail" => {}
            _ => {
                return Err(OptionError {
                    option: opt.into(),
                    reason: "unknown option".into(),
                })
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_timeouts_threads_and_flags() {
        let o =
            MountOptions::parse(&["attr_timeout=0.5,entry_timeout=2", "ro,max_threads=8"]).unwrap();
        assert_eq!(o.attr_timeout, Duration::from_millis(500));
        assert_eq!(o.entry_timeout, Duration::from_secs(2));
        assert_eq!(o.threads, 8);
        assert_eq!(o.kernel, vec![MountOption::RO]);
        assert!(o.default_permissions);
        assert_eq!(o.max_readahead, 1 << 20);
        assert!(!o.direct_io);
        let o = MountOptions::parse(&["max_readahead=4194304,direct_io"]).unwrap();
        assert_eq!(o.max_readahead, 4 << 20);
        assert!(o.direct_io);
        assert!(o.kernel.is_empty());
    }

    #[test]
    fn rejects_unknown_and_malformed_options() {
        assert!(MountOptions::parse(&["bogus"]).is_err());
        assert!(MountOptions::parse(&["attr_timeout=x"]).is_err());
        assert!(MountOptions::parse(&["attr_timeout"]).is_err());
        assert!(MountOptions::parse(&["max_write=1"]).is_err());
        assert!(MountOptions::parse(&["max_readahead=512"]).is_err());
    }
}
