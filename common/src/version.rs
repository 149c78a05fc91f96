//! The version every binary prints for `--version`: the workspace version and
//! the git commit it was built from (recorded by `common/build.rs`), so an
//! operator can tell exactly which build a package or a running server is.

/// The git commit of this build (short hash), or `unknown` when it was built
/// outside a git checkout without `$ALLUXIO_GIT_COMMIT`.
pub const GIT_COMMIT: &str = env!("ALLUXIO_GIT_COMMIT");

/// `0.1.0 (commit 4209cf7)`: what clap prints after the binary's name.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ALLUXIO_GIT_COMMIT"),
    ")"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_the_commit() {
        assert!(VERSION.starts_with(env!("CARGO_PKG_VERSION")));
        assert!(VERSION.ends_with(&format!("(commit {GIT_COMMIT})")));
        assert!(!GIT_COMMIT.is_empty());
    }
}
