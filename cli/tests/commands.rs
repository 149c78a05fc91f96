//! Runs the `alluxio` binary for what needs no cluster: argument errors,
//! `getConf`, `format`, and an unreachable master. Each error must be one
//! line on stderr with exit status 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch directory used as HOME and configuration directory, so the
/// machine's own Alluxio configuration cannot change the results.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("alluxio-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn alluxio(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_alluxio"))
            .args(args)
            .env("HOME", &self.0)
            .env("ALLUXIO_CONF_DIR", &self.0)
            .env_remove("ALLUXIO_JAVA_OPTS")
            .env_remove("ALLUXIO_USER_JAVA_OPTS")
            .env_remove("ALLUXIO_MASTER_JAVA_OPTS")
            .output()
            .unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts a failure with exactly one stderr line starting with `prefix`.
fn assert_one_line_error(out: &Output, prefix: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "stderr: {err}");
    assert!(err.starts_with(prefix), "stderr: {err}");
}

#[test]
fn usage_errors_are_one_line() {
    let s = Scratch::new("usage");
    assert_one_line_error(&s.alluxio(&[]), "alluxio: ");
    assert_one_line_error(&s.alluxio(&["fs"]), "alluxio: ");
    assert_one_line_error(&s.alluxio(&["fs", "bogus"]), "alluxio: ");
    assert_one_line_error(&s.alluxio(&["fs", "ls"]), "alluxio: ");
    assert_one_line_error(&s.alluxio(&["fs", "ls", "relative"]), "alluxio: ");
    assert_one_line_error(&s.alluxio(&["fs", "chmod", "u+x", "/a"]), "alluxio: ");
    assert_one_line_error(&s.alluxio(&["-Dnovalue", "getConf"]), "alluxio: ");
    let help = s.alluxio(&["fs", "ls", "--help"]);
    assert!(help.status.success());
    assert!(stdout(&help).contains("-R"));
}

#[test]
fn get_conf_shows_value_and_source() {
    let s = Scratch::new("getconf");
    let out = s.alluxio(&[
        "-Dalluxio.master.rpc.port=1234",
        "getConf",
        "alluxio.master.rpc.port",
    ]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "1234\n");
    let out = s.alluxio(&["getConf", "--source", "alluxio.master.rpc.port"]);
    assert_eq!(stdout(&out), "19998 (default)\n");
    let out = s.alluxio(&[
        "getConf",
        "-D",
        "alluxio.master.hostname=m1",
        "--source",
        "alluxio.master.hostname",
    ]);
    assert_eq!(stdout(&out), "m1 (command line)\n");
    assert_one_line_error(&s.alluxio(&["getConf", "alluxio.no.such.key"]), "alluxio: ");
    assert_one_line_error(
        &s.alluxio(&["getConf", "alluxio.master.rpc.addresses"]),
        "alluxio: ",
    );
    let all = s.alluxio(&["getConf"]);
    let lines: Vec<String> = stdout(&all).lines().map(str::to_string).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
    assert!(lines.iter().any(|l| l == "alluxio.master.rpc.port=19998"));
}

#[test]
fn format_if_needed_keeps_an_existing_journal() {
    let s = Scratch::new("format");
    let journal = s.path().join("journal");
    let flag = format!("-Dalluxio.master.journal.folder={}", journal.display());
    let first = s.alluxio(&[&flag, "format", "-s"]);
    assert!(first.status.success(), "{first:?}");
    assert!(stdout(&first).starts_with("Formatted journal folder"));
    let marker = std::fs::read(journal.join("FORMAT")).unwrap();
    let second = s.alluxio(&[&flag, "format", "-s"]);
    assert!(second.status.success());
    assert!(stdout(&second).contains("already formatted"));
    assert_eq!(std::fs::read(journal.join("FORMAT")).unwrap(), marker);
    let forced = s.alluxio(&[&flag, "format"]);
    assert!(forced.status.success());
    assert_ne!(std::fs::read(journal.join("FORMAT")).unwrap(), marker);
}

#[test]
fn unreachable_master_is_one_line_error() {
    let s = Scratch::new("nomaster");
    // Port 1 is reserved (tcpmux) and practically never served.
    let out = s.alluxio(&[
        "-Dalluxio.master.rpc.port=1",
        "-Dalluxio.user.rpc.retry.max.duration=200ms",
        "fs",
        "ls",
        "/",
    ]);
    assert_one_line_error(&out, "ls: ");
}
