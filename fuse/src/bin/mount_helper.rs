//! `mount.fuse.alluxio`: the helper mount(8) runs for `-t fuse.alluxio`.
//!
//! mount(8) calls `/sbin/mount.fuse.alluxio <source> <mount point> [-sfnv]
//! [-o <options>]`, both for `mount -t fuse.alluxio ...` and for an
//! `/etc/fstab` line such as
//!
//! ```text
//! alluxio:///data  /mnt/alluxio  fuse.alluxio  defaults,_netdev  0 0
//! ```
//!
//! The source is an Alluxio path, either plain (`/data`) or as a URI
//! without an authority (`alluxio:///data`); the cluster comes from the
//! usual configuration (`alluxio-site.properties`), or from the directory
//! named by the helper-only option `conf_dir=DIR`. Options that only
//! mount(8) understands (`defaults`, `auto`, `noauto`, `user`, `users`,
//! `nouser`, `owner`, `group`, `_netdev`, `nofail`, `x-*`, `comment=`,
//! `helper=`) are dropped, as mount.fuse3 does; the rest go to
//! `alluxio-fuse mount -o ...`, which is found next to this helper (after
//! resolving symlinks), then on `PATH`, then in the usual bin directories.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: mount.fuse.alluxio <alluxio path> <mount point> [-sfnv] [-o opt,...]";

/// `--help`: mount(8) never passes it, so it cannot clash with a mount.
const HELP: &str = "\
Mounts an Alluxio path with alluxio-fuse for mount(8) and /etc/fstab (type fuse.alluxio)

usage: mount.fuse.alluxio <alluxio path> <mount point> [-sfnv] [-o opt,...]
       mount -t fuse.alluxio [-o opt,...] <alluxio path> <mount point>
       fstab: alluxio:///data  /mnt/alluxio  fuse.alluxio  defaults,_netdev  0 0

<alluxio path>  /dir or alluxio:///dir (the cluster comes from
                alluxio-site.properties, not from the source)
-o opt,...      alluxio-fuse mount options (attr_timeout=SECS, allow_other,
                ro, ...), plus conf_dir=DIR: the configuration directory
                (ALLUXIO_CONF_DIR) of the daemon. fstab-only options
                (defaults, auto, noauto, user, _netdev, nofail, x-*, ...)
                are dropped.
-f              fake: print the alluxio-fuse command, do not run it
-v              verbose
-s, -n          accepted and ignored (as mount(8) passes them)
-h, --help      this text
-V, --version   the version and the git commit of this build";

/// What mount(8) asked for, translated.
#[derive(Debug, PartialEq)]
struct Request {
    alluxio_path: String,
    mount_point: PathBuf,
    /// Options for `alluxio-fuse mount -o`.
    options: Vec<String>,
    /// `conf_dir=DIR`: ALLUXIO_CONF_DIR for the daemon.
    conf_dir: Option<PathBuf>,
    /// `-f`: do everything but the mount.
    fake: bool,
    verbose: bool,
}

/// Options mount(8) and fstab use that mean nothing to the file system.
fn is_mount_only(opt: &str) -> bool {
    let key = opt.split_once('=').map_or(opt, |(k, _)| k);
    matches!(
        key,
        "defaults"
            | "auto"
            | "noauto"
            | "user"
            | "users"
            | "nouser"
            | "owner"
            | "group"
            | "_netdev"
            | "nofail"
            | "comment"
            | "helper"
            | "loop"
    ) || key.starts_with("x-")
}

/// `alluxio:///p`, `alluxio:/p` or `/p` to `/p`.
fn alluxio_path(source: &str) -> Result<String, String> {
    let path = if let Some(rest) = source.strip_prefix("alluxio://") {
        if !rest.starts_with('/') {
            return Err(format!(
                "source {source:?} names a host; write alluxio:///path and configure the \
                 cluster in alluxio-site.properties (or -o conf_dir=DIR)"
            ));
        }
        rest
    } else if let Some(rest) = source.strip_prefix("alluxio:") {
        rest
    } else {
        source
    };
    if !path.starts_with('/') {
        return Err(format!(
            "source {source:?} is not an absolute Alluxio path (/dir or alluxio:///dir)"
        ));
    }
    Ok(path.to_string())
}

fn parse(args: &[String]) -> Result<Request, String> {
    let mut positional = Vec::new();
    let mut raw_options = Vec::new();
    let mut fake = false;
    let mut verbose = false;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "-o" {
            i += 1;
            raw_options.push(args.get(i).ok_or("-o needs a value")?.clone());
        } else if let Some(o) = a.strip_prefix("-o") {
            raw_options.push(o.to_string());
        } else if a == "-t" {
            i += 1; // `-t fuse.alluxio`, given by some callers; the type is ours.
        } else if a.starts_with('-') && a.len() > 1 && a != "--" {
            for c in a[1..].chars() {
                match c {
                    'f' => fake = true,
                    'v' => verbose = true,
                    's' | 'n' | 'r' | 'w' => {}
                    _ => return Err(format!("unknown flag -{c}")),
                }
            }
        } else if a != "--" {
            positional.push(a.clone());
        }
        i += 1;
    }
    let [source, mount_point] = positional.as_slice() else {
        return Err(USAGE.to_string());
    };
    let mut options = Vec::new();
    let mut conf_dir = None;
    for opt in raw_options.iter().flat_map(|o| o.split(',')) {
        if opt.is_empty() || is_mount_only(opt) {
            continue;
        }
        if let Some(dir) = opt.strip_prefix("conf_dir=") {
            conf_dir = Some(PathBuf::from(dir));
        } else {
            options.push(opt.to_string());
        }
    }
    Ok(Request {
        alluxio_path: alluxio_path(source)?,
        mount_point: PathBuf::from(mount_point),
        options,
        conf_dir,
        fake,
        verbose,
    })
}

/// Whether `mount_point` already holds an alluxio-fuse mount of `path`
/// (mountinfo shows its source as `alluxio:<path>`).
fn already_mounted(mount_point: &Path, path: &str) -> bool {
    let Ok(canon) = std::fs::canonicalize(mount_point) else {
        return false;
    };
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let target = canon.to_string_lossy().replace(' ', "\\040");
    let trimmed = path.trim_end_matches('/');
    let want = format!("alluxio:{}", if trimmed.is_empty() { "/" } else { trimmed });
    info.lines().any(|line| {
        let source = line
            .split(" - ")
            .nth(1)
            .and_then(|rest| rest.split(' ').nth(1));
        line.split(' ').nth(4) == Some(target.as_str()) && source == Some(want.as_str())
    })
}

/// `alluxio-fuse` beside this executable (symlinks resolved), on PATH, or
/// in the usual bin directories.
fn find_daemon() -> Option<PathBuf> {
    const NAME: &str = "alluxio-fuse";
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| std::fs::canonicalize(e).ok())
        .and_then(|e| e.parent().map(|d| d.join(NAME)));
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(NAME))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let usual = ["/usr/local/bin", "/usr/bin", "/opt/alluxio/bin"]
        .iter()
        .map(|d| Path::new(d).join(NAME));
    beside
        .into_iter()
        .chain(on_path)
        .chain(usual)
        .find(|p| p.is_file())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag] if flag == "--version" || flag == "-V" => {
            println!("mount.fuse.alluxio {}", alluxio_common::version::VERSION);
            return ExitCode::SUCCESS;
        }
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let req = match parse(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mount.fuse.alluxio: {e}");
            return ExitCode::from(1);
        }
    };
    let Some(daemon) = find_daemon() else {
        eprintln!(
            "mount.fuse.alluxio: cannot find alluxio-fuse next to this helper, on PATH, or in \
             /usr/local/bin, /usr/bin, /opt/alluxio/bin"
        );
        return ExitCode::from(1);
    };
    if already_mounted(&req.mount_point, &req.alluxio_path) {
        // `mount -a` runs the helper for every fstab line whose source it
        // does not recognise as mounted (ours shows as `alluxio:/data`).
        if req.verbose {
            eprintln!(
                "mount.fuse.alluxio: {} already mounted at {}",
                req.alluxio_path,
                req.mount_point.display()
            );
        }
        return ExitCode::SUCCESS;
    }
    let mut cmd = Command::new(&daemon);
    cmd.arg("mount");
    if !req.options.is_empty() {
        cmd.arg("-o").arg(req.options.join(","));
    }
    cmd.arg(&req.mount_point).arg(&req.alluxio_path);
    if let Some(dir) = &req.conf_dir {
        cmd.env("ALLUXIO_CONF_DIR", dir);
    }
    if req.verbose || req.fake {
        let shown: Vec<OsString> = std::iter::once(cmd.get_program().to_owned())
            .chain(cmd.get_args().map(|a| a.to_owned()))
            .collect();
        eprintln!("mount.fuse.alluxio: running {shown:?}");
    }
    if req.fake {
        return ExitCode::SUCCESS;
    }
    // Replace this process: mount(8) gets alluxio-fuse's exit status and
    // messages, and alluxio-fuse returns once the mount is ready.
    let err = cmd.exec();
    eprintln!("mount.fuse.alluxio: running {}: {err}", daemon.display());
    ExitCode::from(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn translates_mount_and_fstab_arguments() {
        let r = parse(&args(
            "alluxio:///data /mnt/a -n -o rw,defaults,_netdev,noauto,x-systemd.automount,\
             conf_dir=/etc/al,attr_timeout=2,user,nofail",
        ))
        .unwrap();
        assert_eq!(r.alluxio_path, "/data");
        assert_eq!(r.mount_point, PathBuf::from("/mnt/a"));
        assert_eq!(r.options, vec!["rw", "attr_timeout=2"]);
        assert_eq!(r.conf_dir, Some(PathBuf::from("/etc/al")));
        assert!(!r.fake);
        let r = parse(&args("/ /mnt/b -fv")).unwrap();
        assert_eq!(r.alluxio_path, "/");
        assert!(r.options.is_empty());
        assert!(r.fake && r.verbose);
        assert_eq!(
            parse(&args("alluxio:/x /m -oro")).unwrap().options,
            vec!["ro"]
        );
    }

    #[test]
    fn rejects_bad_sources_and_usage() {
        assert!(parse(&args("alluxio://host:19998/data /m")).is_err());
        assert!(parse(&args("data /m")).is_err());
        assert!(parse(&args("/data")).is_err());
        assert!(parse(&args("/data /m -q")).is_err());
    }
}
