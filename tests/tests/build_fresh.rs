//! A build with nothing changed must compile nothing: every CI run, benchmark
//! script and test command builds the binaries again, and a crate that cargo
//! believes dirty (a build script watching a file that does not exist, say)
//! rebuilds itself and every crate above it each time.
//!
//! The test command (`scripts/test`) has just built the binaries with the
//! arguments below; building them again must find every unit fresh.

use std::path::Path;
use std::process::Command;

/// The build `scripts/test` runs before the tests.
const BUILD_ARGS: &[&str] = &[
    "build",
    "--workspace",
    "--bins",
    "--features",
    "alluxio-master/failpoints",
];

#[test]
fn a_second_build_compiles_nothing() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root");
    let out = Command::new(cargo)
        .current_dir(root)
        .args(BUILD_ARGS)
        .arg("--message-format=json")
        .output()
        .expect("run cargo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cargo build failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let artifacts: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(r#""reason":"compiler-artifact""#))
        .collect();
    assert!(
        !artifacts.is_empty(),
        "cargo reported no artifacts:\n{stdout}"
    );
    let rebuilt: Vec<&str> = artifacts
        .iter()
        .filter(|l| l.contains(r#""fresh":false"#))
        .filter_map(|l| l.split(r#""package_id":""#).nth(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(
        rebuilt.is_empty(),
        "a build with nothing changed rebuilt {rebuilt:?}\n{stderr}"
    );
}
