//! Records the git commit the binaries are built from, for `--version`
//! (`alluxio_common::version`).
//!
//! `$ALLUXIO_GIT_COMMIT` wins (for builds from a source tarball, where there
//! is no `.git`); otherwise `git rev-parse --short HEAD` in the source tree;
//! otherwise `unknown`. Cargo runs this again when HEAD moves: when `HEAD`
//! itself changes (a checkout) and when the branch it names gets a new commit
//! (the loose ref, or `packed-refs` after `git gc`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=ALLUXIO_GIT_COMMIT");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let from_env = std::env::var("ALLUXIO_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty());
    let commit = match from_env {
        Some(commit) => commit.trim().to_string(),
        None => {
            watch_head(&manifest_dir);
            git(&manifest_dir, &["rev-parse", "--short", "HEAD"])
                .unwrap_or_else(|| "unknown".to_string())
        }
    };
    println!("cargo:rustc-env=ALLUXIO_GIT_COMMIT={commit}");
}

/// Asks cargo to rerun this script when the checked-out commit changes. In a
/// worktree `HEAD` lives in the worktree's git dir and the refs in the
/// common one, so both are asked of git rather than assumed to be `.git/`.
///
/// Only paths that exist are named: cargo treats a missing
/// `rerun-if-changed` path as changed on every build, which would rebuild
/// this crate and everything above it each time (a repository whose refs
/// were never packed has no `packed-refs`). Watched: `HEAD` (a checkout),
/// `logs/HEAD` (appended on every commit when reflogs are on), the
/// `packed-refs` file, and the `refs/` and `reftable/` folders, which cargo
/// scans file by file — a commit writes a loose ref there, or a new table,
/// also without reflogs.
fn watch_head(dir: &Path) {
    let absolute = |p: String| {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            dir.join(p)
        }
    };
    let Some(git_dir) = git(dir, &["rev-parse", "--git-dir"]).map(absolute) else {
        return;
    };
    let common_dir = git(dir, &["rev-parse", "--git-common-dir"])
        .map(absolute)
        .unwrap_or_else(|| git_dir.clone());
    let watched = [
        git_dir.join("HEAD"),
        git_dir.join("logs").join("HEAD"),
        common_dir.join("packed-refs"),
        common_dir.join("refs"),
        common_dir.join("reftable"),
    ];
    for path in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
