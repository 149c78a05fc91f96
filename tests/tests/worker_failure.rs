//! Losing the only worker: CACHE_THROUGH data stays readable from the UFS,
//! the master marks the worker lost, and a restarted worker registers again.

use std::time::Duration;

use alluxio_tests::{test_bytes, Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_through_files_survive_the_only_worker() {
    let mut cluster = Cluster::start(ClusterOptions::default()).await;
    let fs = cluster.client();
    let sizes = [0usize, 10, (1 << 20) + 7, 3 << 20];
    for (i, size) in sizes.iter().enumerate() {
        let mut out = fs
            .create_file(&format!("/f{i}"), Default::default())
            .await
            .unwrap();
        out.write(&test_bytes(i as u64, *size)).await.unwrap();
        out.close().await.unwrap();
    }
    let info = fs.get_status("/f3").await.unwrap();
    assert!(
        info.blocks.iter().all(|b| !b.locations.is_empty()),
        "blocks were not cached"
    );

    cluster.kill_worker(0);
    // Before the master notices, locations still name the dead worker: the
    // client must treat it as a cache miss and read the UFS.
    for (i, size) in sizes.iter().enumerate() {
        let mut input = fs.open_file(&format!("/f{i}")).await.unwrap();
        assert_eq!(
            &input.read_to_end().await.unwrap()[..],
            &test_bytes(i as u64, *size)[..]
        );
    }
    let cli = cluster.cli(&["fs", "cat", "/f1"]).ok();
    assert_eq!(&cli.bytes[..], &test_bytes(1, 10)[..]);

    // The master marks it lost after alluxio.master.worker.timeout (3s here).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let info = fs.cluster_info().await.unwrap();
        if info.workers.iter().all(|w| !w.live) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "worker never marked lost"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let report = cluster.cli(&["fsadmin", "report"]).ok().stdout;
    assert!(report.to_lowercase().contains("lost"), "{report}");

    cluster.start_worker(0);
    cluster.wait_live_workers(1, Duration::from_secs(20)).await;
    // The restarted worker kept its blocks (the tier directory survived) or
    // re-reads them through; either way reads are right.
    for (i, size) in sizes.iter().enumerate() {
        let mut input = fs.open_file(&format!("/f{i}")).await.unwrap();
        assert_eq!(
            &input.read_to_end().await.unwrap()[..],
            &test_bytes(i as u64, *size)[..]
        );
    }
}

/// Point 13 of issue 17: the blocks of a MUST_CACHE file are the only copy
/// of its data. A full worker refuses a write that would need their space
/// (ENOSPC through the mount) instead of evicting them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_worker_never_evicts_the_only_copy() {
    let cluster = Cluster::start(ClusterOptions {
        properties: vec![(
            "alluxio.worker.tieredstore.level0.dirs.quota".into(),
            "4MB".into(),
        )],
        ..Default::default()
    })
    .await;
    let fs = cluster.client();
    let must_cache = || alluxio_client::CreateFileOptions {
        write_type: Some(alluxio_proto::WriteType::MustCache),
        ..Default::default()
    };
    for i in 0..2u64 {
        let mut out = fs
            .create_file(&format!("/m{i}"), must_cache())
            .await
            .unwrap();
        out.write(&test_bytes(i, 3 << 19)).await.unwrap();
        out.close().await.unwrap();
    }
    // 3 MiB of only copies on a 4 MiB worker: 2 MiB more do not fit.
    let mut out = fs.create_file("/m2", must_cache()).await.unwrap();
    let written = match out.write(&test_bytes(2, 2 << 20)).await {
        Ok(()) => out.close().await,
        Err(e) => Err(e),
    };
    assert!(
        matches!(written, Err(alluxio_common::FsError::NoSpace(_))),
        "the write that needed the only copies' space: {written:?}"
    );
    for i in 0..2u64 {
        let mut input = fs.open_file(&format!("/m{i}")).await.unwrap();
        assert_eq!(
            &input.read_to_end().await.unwrap()[..],
            &test_bytes(i, 3 << 19)[..],
            "/m{i}"
        );
    }
}
