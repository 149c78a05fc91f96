//! The packages (issue 5): `packaging/build` turns the binaries the test
//! command has just built into a .deb and an .rpm. The test inspects both
//! with the distributions' own tools, installs the .deb on this machine
//! (root only: CI runs as root on a throwaway machine) and uses what it
//! installed: every binary's `--version` and `--help`, `systemd-analyze
//! verify` on the units, a master and a worker started from `/usr/bin` with
//! the shipped configuration (edited only for ports and directories), their
//! `/metrics` and status pages, the CLI against them, the installed mount helper through `mount -t
//! fuse.alluxio` and an fstab line, and the FUSE unit's command line. The
//! package is purged at the end, whatever happened.
//!
//! Packaging the debug binaries rather than a release build keeps this cheap
//! (no second build); what is checked — layout, metadata, scripts, units,
//! configuration — does not depend on the optimisation level.
//!
//! It shares `/sbin/mount.fuse.alluxio` with `fuse_helper.rs`; nextest runs
//! the two one at a time (`.config/nextest.toml`).

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use alluxio_common::config::{keys, sources, Config, LoadOptions, Process};
use alluxio_tests::http::{get, metric, scrape};
use alluxio_tests::process::bin_dir;
use alluxio_tests::{bin_path, free_port, Proc};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const HELPER: &str = "/sbin/mount.fuse.alluxio";
/// The installed binaries and the name each gives itself in `--version`.
const INSTALLED: &[(&str, &str)] = &[
    ("/usr/bin/alluxio", "alluxio"),
    ("/usr/bin/alluxio-master", "alluxio-master"),
    ("/usr/bin/alluxio-worker", "alluxio-worker"),
    ("/usr/bin/alluxio-fuse", "alluxio-fuse"),
    (HELPER, "mount.fuse.alluxio"),
];
const UNITS: &[&str] = &[
    "alluxio-master.service",
    "alluxio-worker.service",
    "alluxio-fuse@.service",
];
/// What mount(8) and the units may rely on: no cargo or target dirs.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Runs `cmd`, asserts success and returns its stdout.
fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    check(&out, &format!("{cmd:?}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn check(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The shipped site properties name only real keys, and load and validate
/// as they are, with the packaged directories.
#[test]
fn shipped_configuration_uses_real_keys() {
    let etc = workspace().join("packaging/etc");
    let text = fs::read_to_string(etc.join("alluxio-site.properties")).unwrap();
    let mut named = 0;
    for line in text.lines() {
        // `key=value` and commented-out `#key=value` both name a key.
        let setting = line.strip_prefix('#').unwrap_or(line);
        let Some((key, _)) = setting.split_once('=') else {
            continue;
        };
        if !key.starts_with("alluxio.") || key.contains(' ') {
            continue;
        }
        assert!(keys::lookup(key).is_some(), "unknown key {key} in {line:?}");
        named += 1;
    }
    assert!(named >= 20, "only {named} keys in the shipped file");

    let env_text = fs::read_to_string(etc.join("alluxio-env.sh")).unwrap();
    for line in env_text.lines() {
        let Some((var, _)) = line.strip_prefix('#').and_then(|l| l.split_once('=')) else {
            continue;
        };
        if var.contains(' ') {
            continue;
        }
        assert!(
            var.ends_with("_JAVA_OPTS") || sources::ENV_PROPERTIES.iter().any(|(v, _)| *v == var),
            "alluxio-env.sh names {var}, which no process reads"
        );
    }

    for process in [
        Process::Master,
        Process::Worker,
        Process::User,
        Process::Fuse,
    ] {
        let mut options = LoadOptions::new(process);
        options.env = [
            ("ALLUXIO_CONF_DIR".to_string(), etc.display().to_string()),
            ("HOME".to_string(), "/nonexistent".to_string()),
        ]
        .into_iter()
        .collect();
        let conf = Config::load_with(options).expect("the shipped configuration loads");
        conf.validate().expect("the shipped configuration is valid");
        assert_eq!(conf.env_file(), Some(etc.join("alluxio-env.sh").as_path()));
        for (key, want) in [
            (keys::WORK_DIR, "/var/lib/alluxio"),
            (keys::LOGS_DIR, "/var/log/alluxio"),
            (keys::MASTER_JOURNAL_FOLDER, "/var/lib/alluxio/journal"),
            (
                keys::MASTER_MOUNT_TABLE_ROOT_UFS,
                "/var/lib/alluxio/underFSStorage",
            ),
        ] {
            assert_eq!(conf.get(key).unwrap(), want, "{key}");
        }
    }
}

/// Runs `packaging/build` on the binaries of this build.
fn build_packages(out: &Path) -> (PathBuf, PathBuf) {
    run(Command::new(workspace().join("packaging/build"))
        .arg("--bin-dir")
        .arg(bin_dir())
        .arg("--out")
        .arg(out)
        .arg("--fast"));
    let find = |ext: &str| {
        let found: Vec<PathBuf> = fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        assert_eq!(found.len(), 1, "one .{ext} in {}: {found:?}", out.display());
        found.into_iter().next().unwrap()
    };
    (find("deb"), find("rpm"))
}

fn inspect_deb(deb: &Path) {
    let contents = run(Command::new("dpkg-deb").arg("--contents").arg(deb));
    // `-rwxr-xr-x root/root 123 2026-01-01 00:00 ./usr/bin/alluxio`
    let files: BTreeSet<(String, String)> = contents
        .lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            Some((fields.first()?.to_string(), fields.last()?.to_string()))
        })
        .collect();
    let has = |mode: &str, path: &str| {
        assert!(
            files.contains(&(mode.to_string(), path.to_string())),
            "{path} ({mode}) missing from the .deb:\n{contents}"
        )
    };
    for (path, _) in INSTALLED {
        has("-rwxr-xr-x", &format!(".{path}"));
    }
    for name in ["alluxio-site.properties", "alluxio-env.sh"] {
        has("-rw-r--r--", &format!("./etc/alluxio/{name}"));
    }
    for unit in UNITS {
        has("-rw-r--r--", &format!("./lib/systemd/system/{unit}"));
    }
    for page in [
        "man1/alluxio.1.gz",
        "man1/alluxio-master.1.gz",
        "man1/alluxio-worker.1.gz",
        "man1/alluxio-fuse.1.gz",
        "man8/mount.fuse.alluxio.8.gz",
    ] {
        has("-rw-r--r--", &format!("./usr/share/man/{page}"));
    }

    let info = run(Command::new("dpkg-deb").arg("--info").arg(deb));
    eprintln!("dpkg-deb --info:\n{info}");
    let field = |name: &str| {
        run(Command::new("dpkg-deb").arg("--field").arg(deb).arg(name))
            .trim()
            .to_string()
    };
    assert_eq!(field("Package"), "alluxio");
    assert_eq!(field("Version"), format!("{VERSION}-1"));
    let depends = field("Depends");
    assert!(
        depends.split(", ").any(|d| d == "fuse3"),
        "Depends: {depends}"
    );
    assert!(!depends.contains("zookeeper"), "Depends: {depends}");
    let conffiles = run(Command::new("dpkg-deb")
        .arg("--info")
        .arg(deb)
        .arg("conffiles"));
    let conffiles: BTreeSet<&str> = conffiles.lines().map(str::trim).collect();
    assert_eq!(
        conffiles,
        BTreeSet::from([
            "/etc/alluxio/alluxio-env.sh",
            "/etc/alluxio/alluxio-site.properties"
        ])
    );
    let postinst = run(Command::new("dpkg-deb")
        .arg("--info")
        .arg(deb)
        .arg("postinst"));
    assert!(postinst.contains("adduser --system"), "{postinst}");
    assert!(
        !postinst.contains("systemctl start") && !postinst.contains("systemctl enable"),
        "the package must not start services:\n{postinst}"
    );
}

fn inspect_rpm(rpm: &Path) {
    let query = |args: &[&str]| run(Command::new("rpm").arg("-qp").args(args).arg(rpm));
    let list = run(Command::new("rpm").arg("-qlp").arg(rpm));
    let files: BTreeSet<&str> = list.lines().collect();
    let mut want: Vec<String> = INSTALLED[..4].iter().map(|(p, _)| p.to_string()).collect();
    // On every rpm distribution /sbin is a link to /usr/sbin.
    want.push("/usr/sbin/mount.fuse.alluxio".into());
    want.push("/etc/alluxio/alluxio-site.properties".into());
    want.push("/etc/alluxio/alluxio-env.sh".into());
    want.extend(UNITS.iter().map(|u| format!("/usr/lib/systemd/system/{u}")));
    want.push("/usr/share/man/man1/alluxio.1.gz".into());
    want.push("/usr/share/man/man8/mount.fuse.alluxio.8.gz".into());
    for path in &want {
        assert!(
            files.contains(path.as_str()),
            "{path} missing from the .rpm:\n{list}"
        );
    }
    assert_eq!(
        query(&["--qf", "%{NAME} %{VERSION}"]),
        format!("alluxio {VERSION}")
    );

    let requires = query(&["--requires"]);
    assert!(
        requires.lines().any(|r| r.trim() == "fuse3"),
        "rpm requires:\n{requires}"
    );
    assert!(!requires.contains("zookeeper"), "rpm requires:\n{requires}");

    // %config(noreplace): flags `c` (config) and `n` (noreplace).
    let flags = query(&["--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]"]);
    for conf in ["alluxio-site.properties", "alluxio-env.sh"] {
        let path = format!("/etc/alluxio/{conf}");
        let line = flags
            .lines()
            .find(|l| l.split(' ').next() == Some(path.as_str()))
            .unwrap_or_else(|| panic!("{path} not in\n{flags}"));
        let f = line.split(' ').nth(1).unwrap_or("");
        assert!(f.contains('c') && f.contains('n'), "{line}");
    }
    let scripts = query(&["--scripts"]);
    assert!(scripts.contains("useradd -r"), "{scripts}");
    assert!(scripts.contains("install -d -o alluxio"), "{scripts}");
}

/// The installed package, purged on drop with what its installation created
/// on this machine (the `alluxio` user, /var/lib/alluxio), unless those
/// were there before.
struct Installed {
    user_existed: bool,
    state_existed: bool,
}

impl Installed {
    fn install(deb: &Path) -> Installed {
        let status = Command::new("dpkg-query")
            .args(["-W", "-f", "${Status}", "alluxio"])
            .output()
            .unwrap();
        assert!(
            !String::from_utf8_lossy(&status.stdout).contains("installed"),
            "an alluxio package is already installed here; this test installs and purges \
             its own, so it will not touch that one"
        );
        assert!(
            Path::new(HELPER).symlink_metadata().is_err(),
            "{HELPER} exists but no package owns it; remove it first"
        );
        let installed = Installed {
            user_existed: user_exists(),
            state_existed: Path::new("/var/lib/alluxio").exists(),
        };
        run(Command::new("dpkg")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .arg("-i")
            .arg(deb));
        installed
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let out = Command::new("dpkg")
            .args(["--purge", "alluxio"])
            .output()
            .unwrap();
        if !std::thread::panicking() {
            check(&out, "dpkg --purge alluxio");
            for (path, _) in INSTALLED {
                assert!(!Path::new(path).exists(), "{path} left after purge");
            }
            assert!(!Path::new("/etc/alluxio").exists(), "/etc/alluxio left");
            assert!(!Path::new("/var/log/alluxio").exists(), "logs left");
        }
        if !self.state_existed {
            let _ = fs::remove_dir_all("/var/lib/alluxio");
        }
        if !self.user_existed {
            let _ = Command::new("userdel").arg("alluxio").output();
            let _ = Command::new("groupdel").arg("alluxio").output();
        }
    }
}

fn user_exists() -> bool {
    Command::new("getent")
        .args(["passwd", "alluxio"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Every installed binary prints `<name> <version> (commit <c>)`, where `c`
/// is the commit this build was made from, and has a `--help`.
fn check_versions_and_help() {
    let built = run(Command::new(bin_path("alluxio")).arg("--version"));
    let commit = built
        .trim()
        .strip_suffix(')')
        .and_then(|s| s.rsplit_once("(commit "))
        .map(|(_, c)| c.to_string())
        .unwrap_or_else(|| panic!("no commit in {built:?}"));
    assert!(
        commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit()),
        "commit {commit:?}"
    );
    // The commit is one of this repository's (when it is a git checkout).
    let known = Command::new("git")
        .arg("-C")
        .arg(workspace())
        .args(["cat-file", "-e", &format!("{commit}^{{commit}}")])
        .output();
    if let Ok(known) = known {
        if Path::new(&workspace()).join(".git").exists() {
            assert!(known.status.success(), "{commit} is not a commit here");
        }
    }
    for (path, name) in INSTALLED {
        let out = run(Command::new(path).arg("--version"));
        assert_eq!(
            out.trim(),
            format!("{name} {VERSION} (commit {commit})"),
            "binaries of different builds: run `cargo build --workspace --bins` (scripts/test does)"
        );
        let help = run(Command::new(path).arg("--help"));
        assert!(help.lines().count() >= 5, "{path} --help:\n{help}");
    }
    for page in [
        "/usr/share/man/man1/alluxio-master.1.gz",
        "/usr/share/man/man8/mount.fuse.alluxio.8.gz",
    ] {
        let text = run(Command::new("gzip").arg("-dc").arg(page));
        assert!(text.starts_with(".TH "), "{page}:\n{text}");
        assert!(text.contains("--version"), "{page}:\n{text}");
    }
}

/// The `alluxio` user's uid (`-u`) or gid (`-g`).
fn id_of(which: &str) -> u32 {
    run(Command::new("id").args([which, "alluxio"]))
        .trim()
        .parse()
        .unwrap()
}

fn check_installed_layout() {
    assert!(user_exists(), "the package created no alluxio user");
    let uid = id_of("-u");
    for dir in ["/var/lib/alluxio", "/var/log/alluxio"] {
        let meta = fs::metadata(dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert!(meta.is_dir());
        assert_eq!(meta.uid(), uid, "{dir} owner");
        assert_eq!(meta.permissions().mode() & 0o777, 0o750, "{dir} mode");
    }
}

/// An edited configuration file survives installing the package again (as
/// an upgrade does): dpkg keeps conffiles the administrator changed.
fn check_conffiles_kept(deb: &Path) {
    let site = Path::new("/etc/alluxio/alluxio-site.properties");
    let shipped = fs::read_to_string(site).unwrap();
    let edited = format!("{shipped}# edited by the administrator\n");
    fs::write(site, &edited).unwrap();
    // stdin is not a terminal: a conffile prompt would fail the command.
    run(Command::new("dpkg")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .arg("-i")
        .arg(deb));
    assert_eq!(fs::read_to_string(site).unwrap(), edited);
    fs::write(site, shipped).unwrap();
}

/// `systemd-analyze verify` on the installed units (the template through
/// an instance). It needs no running systemd; only the lines that name our
/// units count, since it also reports on unrelated units of the machine.
fn verify_units() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze not installed: units not verified");
        return;
    }
    // With man installed, verify also checks that each unit's
    // `Documentation=man:...` page exists (the package ships them).
    let man = Command::new("man").arg("--version").output().is_ok();
    if !man {
        eprintln!("man not installed: the units' Documentation= pages not checked");
    }
    let out = Command::new("systemd-analyze")
        .args([
            "verify",
            if man { "--man=yes" } else { "--man=no" },
            "alluxio-master.service",
            "alluxio-worker.service",
            "alluxio-fuse@mnt-alluxio.service",
        ])
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("systemd-analyze verify ({}):\n{stderr}", out.status);
    let ours: Vec<&str> = stderr.lines().filter(|l| l.contains("alluxio")).collect();
    assert!(
        out.status.success() && ours.is_empty(),
        "systemd-analyze verify complains about our units:\n{stderr}"
    );
}

/// Copies the installed configuration to `dir/conf`, changing only ports and
/// directories, and returns the new directory.
fn edited_configuration(dir: &Path, edits: &[(&str, String)]) -> PathBuf {
    let conf = dir.join("conf");
    fs::create_dir_all(&conf).unwrap();
    fs::copy("/etc/alluxio/alluxio-env.sh", conf.join("alluxio-env.sh")).unwrap();
    let shipped = fs::read_to_string("/etc/alluxio/alluxio-site.properties").unwrap();
    let mut lines: Vec<String> = shipped.lines().map(str::to_string).collect();
    for (key, value) in edits {
        assert!(
            key.ends_with(".port")
                || key.ends_with(".dir")
                || key.ends_with("folder")
                || key.ends_with(".ufs")
                || key.ends_with(".path"),
            "{key} is neither a port nor a directory"
        );
        let set = format!("{key}={value}");
        let at = lines.iter().position(|l| {
            l.strip_prefix('#')
                .unwrap_or(l)
                .split_once('=')
                .is_some_and(|(k, _)| k == *key)
        });
        match at {
            Some(i) => lines[i] = set,
            None => lines.push(set),
        }
    }
    fs::write(
        conf.join("alluxio-site.properties"),
        lines.join("\n") + "\n",
    )
    .unwrap();
    conf
}

/// The environment of a command run as an operator would: the system PATH
/// and the test's configuration directory, nothing from cargo.
fn installed(bin: &str, home: &Path, conf: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("PATH", SYSTEM_PATH)
        .env("HOME", home)
        .env("ALLUXIO_CONF_DIR", conf)
        .env("RUST_LOG", "info");
    cmd
}

/// The installed servers' web ports, as the shipped configuration sets them
/// up: `/metrics` (Prometheus text) and the status page of each.
fn check_web_pages(master_web_port: u16, worker_web_port: u16) {
    let master = scrape(master_web_port);
    assert_eq!(
        metric(&master, "alluxio_master_is_leader", &[]),
        Some(1.0),
        "{master}"
    );
    let worker = scrape(worker_web_port);
    assert!(
        metric(
            &worker,
            "alluxio_worker_tier_capacity_bytes",
            &[("tier", "MEM")]
        )
        .is_some_and(|c| c > 0.0),
        "{worker}"
    );
    let (code, status) = get(master_web_port, "/").unwrap();
    assert_eq!(code, 200, "{status}");
    for needle in ["role:            LEADER", "workers:         1 live, 0 lost"] {
        assert!(status.contains(needle), "{needle:?} missing:\n{status}");
    }
    let (code, status) = get(worker_web_port, "/").unwrap();
    assert_eq!(code, 200, "{status}");
    assert!(status.contains("MEM"), "{status}");
}

/// Waits until `cond` holds, or panics with `what` and the logs.
fn wait_for(
    what: &str,
    timeout: Duration,
    logs: &dyn Fn() -> String,
    cond: &mut dyn FnMut() -> bool,
) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "{what} not within {timeout:?}:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn mounted_source(mnt: &Path) -> Option<String> {
    let canon = fs::canonicalize(mnt).ok()?;
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        let fields: Vec<&str> = l.split(' ').collect();
        let tail: Vec<&str> = l.split(" - ").nth(1)?.split(' ').collect();
        (fields.get(4) == Some(&canon.to_str()?)
            && tail.first().is_some_and(|t| t.starts_with("fuse")))
        .then(|| tail.get(1).map(|s| s.to_string()))
        .flatten()
    })
}

/// The FUSE lines of the mount table, for failure messages.
fn fuse_mounts() -> String {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter(|l| l.contains(" - fuse"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The executable of the process serving the FUSE mount at `mnt` (the one
/// whose command line names it), to tell the installed daemon from others.
fn daemon_exe(mnt: &Path) -> Option<PathBuf> {
    let want = mnt.to_str()?;
    fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let cmdline = fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let serves = args.first().is_some_and(|a| a.ends_with(b"alluxio-fuse"))
            && args.contains(&want.as_bytes());
        serves
            .then(|| fs::read_link(e.path().join("exe")).ok())
            .flatten()
    })
}

/// Lazily unmounts on drop, whatever happened.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).output();
    }
}

fn wait_unmounted(mnt: &Path) {
    for _ in 0..200 {
        if mounted_source(mnt).is_none() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} is still mounted", mnt.display());
}

/// A command line (`key` = `ExecStart`, `ExecStartPost`) of the installed
/// `alluxio-fuse@.service` for the instance mounting `mnt`, split as
/// systemd splits it (single quotes group words), with `%f`, the
/// `${VAR}`s of the unit's `Environment=` defaults, and `$$` replaced.
fn fuse_unit_command(key: &str, mnt: &Path) -> Vec<String> {
    let unit = fs::read_to_string("/lib/systemd/system/alluxio-fuse@.service").unwrap();
    let mut env: Vec<(String, String)> = Vec::new();
    let mut exec = None;
    for line in unit.lines() {
        if let Some(kv) = line.strip_prefix("Environment=") {
            let (k, v) = kv.split_once('=').unwrap();
            env.push((k.to_string(), v.to_string()));
        } else if let Some(cmd) = line.strip_prefix(&format!("{key}=")) {
            exec = Some(cmd.to_string());
        }
    }
    let exec = exec.unwrap_or_else(|| panic!("no {key} in alluxio-fuse@.service"));
    let mut words = Vec::new();
    let mut rest = exec.trim();
    while !rest.is_empty() {
        let (word, tail) = match rest.strip_prefix('\'') {
            Some(quoted) => quoted.split_once('\'').expect("closing quote"),
            None => rest.split_once(' ').unwrap_or((rest, "")),
        };
        words.push(word.to_string());
        rest = tail.trim_start();
    }
    words
        .into_iter()
        .map(|word| {
            let mut word = word.replace("%f", mnt.to_str().unwrap());
            for (k, v) in &env {
                word = word.replace(&format!("${{{k}}}"), v);
            }
            assert!(!word.contains("${") && !word.contains('%'), "{word} left");
            word.replace("$$", "$")
        })
        .collect()
}

#[test]
fn packages_build_install_and_run() {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("alluxio-packaging-")
        .tempdir()
        .unwrap();
    let (deb, rpm) = build_packages(&dir.path().join("packages"));
    eprintln!("packages built in {:?}", started.elapsed());
    inspect_deb(&deb);
    inspect_rpm(&rpm);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "SKIPPED installing the .deb: not root (CI runs as root); the packages were \
             built and inspected only"
        );
        return;
    }
    let phase = Instant::now();
    let _installed = Installed::install(&deb);
    check_installed_layout();
    check_conffiles_kept(&deb);
    check_versions_and_help();
    verify_units();
    eprintln!("installed and checked in {:?}", phase.elapsed());

    // A master and a worker from /usr/bin with the shipped configuration,
    // run as the package's `alluxio` user as the units run them.
    let phase = Instant::now();
    let root = dir.path();
    let (uid, gid) = (id_of("-u"), id_of("-g"));
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
    for d in ["work", "logs", "journal", "ufs", "tier0"] {
        fs::create_dir_all(root.join(d)).unwrap();
        std::os::unix::fs::chown(root.join(d), Some(uid), Some(gid)).unwrap();
    }
    // (std drops root's supplementary groups when it changes the uid.)
    let as_alluxio = |mut cmd: Command| {
        cmd.uid(uid).gid(gid);
        cmd
    };
    let (master_rpc, master_web, worker_rpc, worker_web) =
        (free_port(), free_port(), free_port(), free_port());
    let path = |p: &str| root.join(p).display().to_string();
    let conf = edited_configuration(
        root,
        &[
            ("alluxio.work.dir", path("work")),
            ("alluxio.logs.dir", path("logs")),
            ("alluxio.master.journal.folder", path("journal")),
            ("alluxio.master.mount.table.root.ufs", path("ufs")),
            ("alluxio.master.rpc.port", master_rpc.to_string()),
            ("alluxio.master.web.port", master_web.to_string()),
            ("alluxio.worker.rpc.port", worker_rpc.to_string()),
            ("alluxio.worker.web.port", worker_web.to_string()),
            ("alluxio.worker.tieredstore.level0.dirs.path", path("tier0")),
        ],
    );
    let cli = |args: &[&str]| run(installed("/usr/bin/alluxio", root, &conf).args(args));
    run(as_alluxio(installed("/usr/bin/alluxio", root, &conf)).arg("format"));
    let master = Proc::spawn(
        "master",
        as_alluxio(installed("/usr/bin/alluxio-master", root, &conf)),
        &root.join("master.log"),
    );
    let worker = Proc::spawn(
        "worker",
        as_alluxio(installed("/usr/bin/alluxio-worker", root, &conf)),
        &root.join("worker.log"),
    );
    let logs = || {
        format!(
            "master:\n{}\nworker:\n{}",
            master.log_tail(20),
            worker.log_tail(20)
        )
    };
    wait_for(
        "the worker registering",
        Duration::from_secs(60),
        &logs,
        &mut || {
            installed("/usr/bin/alluxio", root, &conf)
                .args(["fsadmin", "report"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("Live Workers: 1"))
        },
    );
    check_web_pages(master_web, worker_web);
    let local = root.join("hello.txt");
    fs::write(&local, b"hello from the installed packages\n").unwrap();
    cli(&["fs", "mkdir", "/data"]);
    cli(&[
        "fs",
        "copyFromLocal",
        local.to_str().unwrap(),
        "/data/hello.txt",
    ]);
    assert_eq!(
        cli(&["fs", "cat", "/data/hello.txt"]),
        "hello from the installed packages\n"
    );
    // The servers ran as `alluxio`: the journal they wrote is its.
    let batches: Vec<_> = fs::read_dir(root.join("journal/log"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap())
        .collect();
    assert!(!batches.is_empty(), "no journal batches");
    assert!(
        batches.iter().all(|m| m.uid() == uid),
        "journal batches not owned by the alluxio user"
    );
    eprintln!("cluster from the installed layout in {:?}", phase.elapsed());

    // `mount -t fuse.alluxio` through the installed helper, which must run
    // the installed daemon.
    let phase = Instant::now();
    let conf_opt = format!("conf_dir={}", conf.display());
    let mnt = root.join("mnt1");
    fs::create_dir_all(&mnt).unwrap();
    let guard = Unmount(mnt.clone());
    let mut mount = installed("mount", root, &conf);
    mount.env_remove("ALLUXIO_CONF_DIR");
    run(mount
        .args([
            "-t",
            "fuse.alluxio",
            "-o",
            &format!("{conf_opt},attr_timeout=1"),
        ])
        .arg("/data")
        .arg(&mnt));
    assert_eq!(
        mounted_source(&mnt).as_deref(),
        Some("alluxio:/data"),
        "{}",
        fuse_mounts()
    );
    assert_eq!(
        daemon_exe(&mnt),
        Some(PathBuf::from("/usr/bin/alluxio-fuse"))
    );
    assert_eq!(
        fs::read(mnt.join("hello.txt")).unwrap(),
        b"hello from the installed packages\n"
    );
    fs::write(mnt.join("through-fuse.txt"), b"written through the mount").unwrap();
    run(Command::new("umount").arg(&mnt));
    wait_unmounted(&mnt);
    drop(guard);
    assert_eq!(
        cli(&["fs", "cat", "/data/through-fuse.txt"]),
        "written through the mount"
    );

    // An /etc/fstab-style line.
    let mnt = root.join("mnt2");
    fs::create_dir_all(&mnt).unwrap();
    let guard = Unmount(mnt.clone());
    let fstab = root.join("fstab");
    fs::write(
        &fstab,
        format!(
            "alluxio:///data {} fuse.alluxio defaults,_netdev,nofail,{conf_opt} 0 0\n",
            mnt.display()
        ),
    )
    .unwrap();
    let mut mount = installed("mount", root, &conf);
    mount.env_remove("ALLUXIO_CONF_DIR");
    run(mount.arg("-T").arg(&fstab).arg(&mnt));
    assert_eq!(
        mounted_source(&mnt).as_deref(),
        Some("alluxio:/data"),
        "{}",
        fuse_mounts()
    );
    let mut names: Vec<String> = fs::read_dir(&mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["hello.txt", "through-fuse.txt"]);
    run(Command::new("umount").arg(&mnt));
    wait_unmounted(&mnt);
    drop(guard);

    // What `systemctl start alluxio-fuse@...` runs: the unit's command line,
    // in the foreground until SIGTERM, which unmounts.
    let mnt = root.join("mnt3");
    fs::create_dir_all(&mnt).unwrap();
    let guard = Unmount(mnt.clone());
    let argv = fuse_unit_command("ExecStart", &mnt);
    assert_eq!(argv[0], "/usr/bin/alluxio-fuse");
    let mut cmd = installed(&argv[0], root, &conf);
    cmd.args(&argv[1..]);
    let mut daemon = Proc::spawn("fuse-unit", cmd, &root.join("fuse-unit.log"));
    // ExecStartPost: returns once the mount is there.
    let post = fuse_unit_command("ExecStartPost", &mnt);
    let waited = Command::new(&post[0]).args(&post[1..]).output().unwrap();
    check(
        &waited,
        &format!("ExecStartPost {post:?}:\n{}", daemon_log(root)),
    );
    let fuse_log = || daemon_log(root);
    assert_eq!(mounted_source(&mnt).as_deref(), Some("alluxio:/"));
    assert_eq!(
        fs::read(mnt.join("data/hello.txt")).unwrap(),
        b"hello from the installed packages\n"
    );
    assert_eq!(
        daemon.terminate(Duration::from_secs(20)),
        Some(0),
        "{}",
        fuse_log()
    );
    assert!(mounted_source(&mnt).is_none(), "SIGTERM left the mount");
    drop(guard);
    eprintln!(
        "mounts through the installed helper and unit in {:?}",
        phase.elapsed()
    );
    drop(worker);
    drop(master);
    eprintln!("packaging test total {:?}", started.elapsed());
}

fn daemon_log(root: &Path) -> String {
    fs::read_to_string(root.join("fuse-unit.log")).unwrap_or_default()
}
