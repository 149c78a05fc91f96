//! Network partitions, one scenario at a time (issue 18), with every
//! process in a network namespace of its own (`alluxio_tests::netns`).

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alluxio_tests::fuse::FuseMount;
use alluxio_tests::netns::Net;
use alluxio_tests::{test_bytes, Cluster, ClusterOptions, Zk};

const NODES: [&str; 6] = ["master0", "master1", "worker0", "zk", "fuse", "client"];

/// A runtime whose threads live in node `client` of a fresh `Net` of
/// `nodes`.
fn in_client_namespace(nodes: &[&str]) -> (Arc<Net>, tokio::runtime::Runtime) {
    let net = Arc::new(Net::new(nodes));
    let runtime = net.runtime_in("client");
    (net, runtime)
}

/// `tar x` into the mount while the FUSE daemon is cut from everything for
/// 30 s: no error reaches tar (its retry budget is longer than the cut),
/// and once healed the extracted tree equals the archive's.
#[test]
fn tar_into_a_mount_cut_off_for_thirty_seconds_finishes_intact() {
    let (net, runtime) = in_client_namespace(&NODES);
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

/// One ZooKeeper server of three cut from everything: first one the leading
/// master is not connected to, then the one it is. The quorum stays; the
/// master's session moves to another server (or another master takes
/// over); a client writing all along keeps going, and every file it was
/// told is written is there with its bytes.
#[test]
fn one_zookeeper_server_of_three_cut_off() {
    let nodes = [
        "master0", "master1", "worker0", "zk0", "zk1", "zk2", "client",
    ];
    let (net, runtime) = in_client_namespace(&nodes);
    runtime.block_on(async {
        let mut cluster = Cluster::start(ClusterOptions {
            net: Some(net.clone()),
            zookeeper: Zk::Ensemble(3),
            ..ClusterOptions::ha(2, 1)
        })
        .await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (fs, stop) = (cluster.client(), stop.clone());
            tokio::spawn(async move {
                let mut acked = Vec::new();
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let path = format!("/z/f{i}");
                    let opts = alluxio_client::CreateFileOptions {
                        recursive: true,
                        ..Default::default()
                    };
                    let mut out = fs.create_file(&path, opts).await.unwrap();
                    out.write(&test_bytes(i, 3000)).await.unwrap();
                    out.close().await.unwrap();
                    acked.push((path, i));
                    i += 1;
                }
                acked
            })
        };
        let leader = cluster.leader().await;
        let leader_ip = net.host(&format!("master{leader}"));
        let connected: Vec<bool> = (0..3)
            .map(|i| {
                cluster
                    .zk_ensemble()
                    .four_letter(i, "cons")
                    .is_some_and(|c| c.contains(&format!("/{leader_ip}:")))
            })
            .collect();
        let to = connected
            .iter()
            .position(|c| *c)
            .expect("the leader is connected to no ZooKeeper server");
        let other = (to + 1) % 3;
        for zk in [other, to] {
            tokio::time::sleep(Duration::from_secs(2)).await;
            net.isolate(&format!("zk{zk}"));
            tokio::time::sleep(Duration::from_secs(8)).await;
            net.heal_all();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let acked = writer.await.expect("the writer failed");
        assert!(acked.len() > 20, "only {} files written", acked.len());
        let fs = cluster.client();
        let listed = fs.list_status("/z", false).await.unwrap();
        assert_eq!(listed.len(), acked.len());
        for (path, seed) in &acked {
            let mut input = fs.open_file(path).await.unwrap();
            assert!(
                input.read_to_end().await.unwrap()[..] == test_bytes(*seed, 3000)[..],
                "{path}"
            );
        }
    });
}

/// A client dies in the middle of a block write (here: cut off by the
/// network, so no FIN or RST ever reaches the worker). The worker notices
/// the dead peer by its keepalive pings and frees the space the stream had
/// reserved; before, the reservation stayed for as long as the worker ran,
/// and cache-only writes failed with NoSpace.
#[test]
fn a_block_stream_whose_client_vanished_gives_its_space_back() {
    let nodes = ["master0", "worker0", "zk", "client"];
    let (net, runtime) = in_client_namespace(&nodes);
    runtime.block_on(async {
        let cluster = Cluster::start(ClusterOptions {
            net: Some(net.clone()),
            properties: vec![
                (
                    "alluxio.worker.tieredstore.level0.dirs.quota".into(),
                    "8MB".into(),
                ),
                (
                    "alluxio.worker.network.keepalive.time".into(),
                    "1sec".into(),
                ),
                (
                    "alluxio.worker.network.keepalive.timeout".into(),
                    "1sec".into(),
                ),
            ],
            ..ClusterOptions::ha(1, 1)
        })
        .await;
        // A block stream that reserves the whole tier, then stalls.
        let worker = format!("http://{}:{}", net.host("worker0"), cluster.worker_ports[0]);
        let mut raw = alluxio_proto::block_worker_client::BlockWorkerClient::connect(worker)
            .await
            .unwrap();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tx.send(alluxio_proto::WriteBlockRequest {
            payload: Some(alluxio_proto::write_block_request::Payload::Header(
                alluxio_proto::WriteBlockHeader {
                    block_id: (999 << 24) | 1,
                    length_hint: 8 << 20,
                    only_copy: true,
                },
            )),
        })
        .await
        .unwrap();
        let stalled = tokio::spawn(async move {
            raw.write_block(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        // The client vanishes: nothing it sends or answers reaches the worker.
        net.cut("client", "worker0");
        tokio::time::sleep(Duration::from_secs(5)).await;
        net.heal_all();
        // Cache-only bytes fit again.
        let fs = cluster.client();
        let opts = alluxio_client::CreateFileOptions {
            write_type: Some(alluxio_client::WriteType::MustCache),
            ..Default::default()
        };
        let mut out = fs.create_file("/after", opts).await.unwrap();
        out.write(&test_bytes(1, 4 << 20)).await.unwrap();
        out.close().await.unwrap();
        drop((tx, stalled));
    });
}
