//! Network partitions, one scenario at a time (issue 18), with every
//! process in a network namespace of its own (`alluxio_tests::netns`).

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alluxio_tests::fuse::FuseMount;
use alluxio_tests::netns::Net;
use alluxio_tests::{Cluster, ClusterOptions};

const NODES: [&str; 6] = ["master0", "master1", "worker0", "zk", "fuse", "client"];

/// A runtime whose threads live in node `client` of a fresh `Net`.
fn in_client_namespace() -> (Arc<Net>, tokio::runtime::Runtime) {
    let net = Arc::new(Net::new(&NODES));
    net.enter("client");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    (net, runtime)
}

/// `tar x` into the mount while the FUSE daemon is cut from everything for
/// 30 s: no error reaches tar (its retry budget is longer than the cut),
/// and once healed the extracted tree equals the archive's.
#[test]
fn tar_into_a_mount_cut_off_for_thirty_seconds_finishes_intact() {
    let (net, runtime) = in_client_namespace();
    runtime.block_on(async {
        let cluster = Cluster::start(ClusterOptions {
            net: Some(net.clone()),
            properties: vec![(
                "alluxio.user.rpc.retry.max.duration".into(),
                "120sec".into(),
            )],
            ..ClusterOptions::ha(2, 1)
        })
        .await;
        // The archive: this repository's sources and fixtures.
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap();
        let archive = cluster.path().join("src.tar");
        let status = Command::new("tar")
            .arg("cf")
            .arg(&archive)
            .arg("-C")
            .arg(repo)
            .args([
                "common",
                "master",
                "journal",
                "client",
                "fuse",
                "worker",
                "cli",
                "proto",
                "tests/src",
                "tests/tests",
                "docs",
            ])
            .status()
            .unwrap();
        assert!(status.success());
        let source = cluster.path().join("source");
        std::fs::create_dir(&source).unwrap();
        let status = Command::new("tar")
            .arg("xf")
            .arg(&archive)
            .arg("-C")
            .arg(&source)
            .status()
            .unwrap();
        assert!(status.success());

        let fuse = FuseMount::start(&cluster, "/", "");
        let mut tar = Command::new("tar")
            .arg("xf")
            .arg(&archive)
            .arg("-C")
            .arg(&fuse.mnt)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            tar.try_wait().unwrap().is_none(),
            "tar finished before the cut"
        );
        net.isolate("fuse");
        let cut = Instant::now();
        tokio::time::sleep(Duration::from_secs(30)).await;
        net.heal_all();
        let finished = tokio::task::spawn_blocking(move || tar.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(
            finished.status.success(),
            "tar failed after a cut of {:?}: {}",
            cut.elapsed(),
            String::from_utf8_lossy(&finished.stderr)
        );
        let diff = Command::new("diff")
            .arg("-r")
            .arg(&source)
            .arg(&fuse.mnt)
            .output()
            .unwrap();
        assert!(
            diff.status.success(),
            "the extracted tree differs:\n{}",
            String::from_utf8_lossy(&diff.stdout)
        );
        drop(fuse);
    });
}
