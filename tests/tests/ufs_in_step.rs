//! Point 5 of issue 17: concurrent operations on the same names keep the
//! namespace and the UFS in step. Renames, deletes and overwrites race over
//! three names, each operation held half a second between its UFS step and
//! its commit (a delay failpoint). Afterwards every file of the namespace
//! has, in the UFS at its path, exactly the bytes its own blocks hold (read
//! from the worker's cache), and the UFS holds no other file.

use std::time::Duration;

use alluxio_client::{CreateFileOptions, FileSystem};
use alluxio_tests::{Cluster, ClusterOptions};

const NAMES: [&str; 3] = ["/f0", "/f1", "/f2"];

fn content(writer: usize, round: usize) -> Vec<u8> {
    format!("writer {writer} round {round}\n")
        .repeat(100 + writer * 37 + round)
        .into_bytes()
}

#[derive(Clone, Copy)]
enum Op {
    Rename(&'static str, &'static str),
    Delete(&'static str),
    Overwrite(&'static str, usize),
}

impl Op {
    /// Runs the operation; a lost race (NotFound, ...) is fine.
    async fn run(self, fs: FileSystem) {
        match self {
            Op::Rename(a, b) => {
                let _ = fs.rename(a, b).await;
            }
            Op::Delete(a) => {
                let _ = fs.delete(a, Default::default()).await;
            }
            Op::Overwrite(a, seed) => overwrite(&fs, a, &content(seed, seed)).await,
        }
    }
}

async fn overwrite(fs: &FileSystem, path: &str, data: &[u8]) {
    let opts = CreateFileOptions {
        overwrite: true,
        ..Default::default()
    };
    // Losing a race (the name moved or vanished meanwhile) is fine; what was
    // acknowledged must be consistent.
    if let Ok(mut out) = fs.create_file(path, opts).await {
        if out.write(data).await.is_ok() {
            let _ = out.close().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_renames_deletes_and_overwrites_keep_names_and_bytes_together() {
    let mut cluster = Cluster::start(ClusterOptions::default()).await;
    cluster.set_master_env(0, "ALLUXIO_FAILPOINTS", "ufs_step_before_commit");
    cluster.start_master().await;
    cluster.wait_live_workers(1, Duration::from_secs(30)).await;
    let fs = cluster.client();
    // Pairs of operations on the same names, the second started while the
    // first sits between its UFS step and its commit.
    let rounds: [[Op; 2]; 4] = [
        [Op::Rename("/g", "/f"), Op::Delete("/f")],
        [Op::Rename("/a", "/t"), Op::Rename("/b", "/t")],
        [Op::Overwrite("/f", 7), Op::Rename("/g", "/f")],
        [Op::Delete("/t"), Op::Rename("/f", "/t")],
    ];
    for (round, ops) in rounds.iter().enumerate() {
        for (i, name) in ["/a", "/b", "/f", "/g", "/t"].iter().enumerate() {
            if !fs.exists(name).await.unwrap() {
                overwrite(&fs, name, &content(i, round)).await;
            }
        }
        let first = tokio::spawn(ops[0].run(cluster.client()));
        tokio::time::sleep(Duration::from_millis(150)).await;
        ops[1].run(cluster.client()).await;
        first.await.unwrap();
        check_in_step(&cluster, &fs, &format!("after round {round}")).await;
    }
    // And some of each at random over three names.
    let mut tasks = Vec::new();
    for worker in 0..3 {
        let fs = cluster.client();
        tasks.push(tokio::spawn(async move {
            for round in 0..4 {
                let a = NAMES[(worker + round) % 3];
                let b = NAMES[(worker + round + 1) % 3];
                match worker {
                    0 => overwrite(&fs, a, &content(worker, round)).await,
                    1 => {
                        let _ = fs.rename(a, b).await;
                    }
                    _ => {
                        let _ = fs.delete(b, Default::default()).await;
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    check_in_step(&cluster, &fs, "after the random rounds").await;
}

/// A client that gives up on a rename (its call times out) while the master
/// is between the UFS step and the commit: the rename still completes, so
/// the namespace and the UFS agree. Run inline, the handler was dropped
/// with the call, after the UFS had moved the bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_its_client_gave_up_on_still_completes() {
    let mut cluster = Cluster::start(ClusterOptions::default()).await;
    cluster.set_master_env(0, "ALLUXIO_FAILPOINTS", "ufs_step_before_commit");
    cluster.start_master().await;
    cluster.wait_live_workers(1, Duration::from_secs(30)).await;
    let fs = cluster.client();
    overwrite(&fs, "/a", &content(1, 1)).await;
    let mut raw = alluxio_proto::file_system_master_client::FileSystemMasterClient::connect(
        format!("http://127.0.0.1:{}", cluster.master_port),
    )
    .await
    .unwrap();
    let gave_up = tokio::time::timeout(
        Duration::from_millis(150),
        raw.rename(alluxio_proto::RenameRequest {
            src: "/a".into(),
            dst: "/b".into(),
            ..Default::default()
        }),
    )
    .await;
    assert!(gave_up.is_err(), "the rename answered within 150 ms");
    drop(raw);
    tokio::time::sleep(Duration::from_secs(2)).await;
    check_in_step(&cluster, &fs, "after a rename its client gave up on").await;
    assert_eq!(alluxio_tests::names(&fs, "/").await, ["b"]);
}

/// Point 4 of issue 17, the overwrite: a master that dies after starting to
/// replace a file but before journaling the new one leaves the old file
/// whole. It used to delete the old UFS object first: the namespace then
/// named a persisted file whose bytes were gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overwrite_cut_short_by_a_crash_leaves_the_old_file() {
    let mut cluster = Cluster::start(ClusterOptions::default()).await;
    cluster.expect_log("failpoint create_file_before_commit");
    let fs = cluster.client();
    overwrite(&fs, "/f", &content(1, 1)).await;
    cluster.set_master_env(0, "ALLUXIO_FAILPOINTS", "create_file_before_commit");
    cluster.start_master().await;
    let mut raw = alluxio_proto::file_system_master_client::FileSystemMasterClient::connect(
        format!("http://127.0.0.1:{}", cluster.master_port),
    )
    .await
    .unwrap();
    let cut = raw
        .create_file(alluxio_proto::CreateFileRequest {
            path: "/f".into(),
            overwrite: true,
            write_type: alluxio_proto::WriteType::CacheThrough as i32,
            ..Default::default()
        })
        .await;
    assert!(cut.is_err(), "the master answered: {cut:?}");
    cluster.clear_master_env(0);
    cluster.start_master().await;
    // Read from the UFS, not from the worker's cache.
    fs.free("/f", false).await.unwrap();
    let mut input = fs.open_file("/f").await.unwrap();
    assert_eq!(&input.read_to_end().await.unwrap()[..], &content(1, 1)[..]);
    check_in_step(&cluster, &fs, "after an overwrite cut short").await;
}

/// Every file of the namespace has its own bytes in the UFS at its path,
/// and the UFS holds no other file.
async fn check_in_step(cluster: &Cluster, fs: &FileSystem, when: &str) {
    let ufs = cluster.ufs_dir();
    let mut in_ufs: Vec<String> = std::fs::read_dir(&ufs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".alluxio-tmp"))
        .collect();
    in_ufs.sort();
    let mut in_namespace = Vec::new();
    for info in fs.list_status("/", false).await.unwrap() {
        assert!(info.persisted, "{} is not persisted", info.path);
        // The file's own bytes, from its cached blocks.
        let mut input = fs.open_file(&info.path).await.unwrap();
        let cached = input.read_to_end().await.unwrap();
        let stored = std::fs::read(ufs.join(&info.name)).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&stored[..stored.len().min(40)]),
            String::from_utf8_lossy(&cached[..cached.len().min(40)]),
            "{when}: {}: the UFS holds another file's bytes ({} vs {} bytes)",
            info.path,
            stored.len(),
            cached.len()
        );
        assert_eq!(stored, cached, "{}", info.path);
        in_namespace.push(info.name);
    }
    in_namespace.sort();
    assert_eq!(
        in_ufs, in_namespace,
        "{when}: the UFS and the namespace list other files"
    );
}
