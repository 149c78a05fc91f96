//! A master killed with SIGKILL and restarted has exactly the acknowledged
//! state: every completed file with its bytes, every directory, nothing else
//! — also when checkpoints and garbage collection ran in between.

use std::time::Duration;

use alluxio_client::{CreateFileOptions, DeleteOptions};
use alluxio_tests::{test_bytes, Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_restart_keeps_every_acknowledged_change() {
    let mut cluster = Cluster::start(ClusterOptions {
        // Small checkpoint period: the restart replays a checkpoint plus a tail.
        properties: vec![(
            "alluxio.master.journal.checkpoint.period.entries".into(),
            "40".into(),
        )],
        ..Default::default()
    })
    .await;
    let fs = cluster.client();
    let mut expected = Vec::new();
    for i in 0..60u64 {
        let path = format!("/d{}/f{i}", i % 4);
        let opts = CreateFileOptions {
            recursive: true,
            ..Default::default()
        };
        let mut out = fs.create_file(&path, opts).await.unwrap();
        out.write(&test_bytes(i, (i * 997 % 5000) as usize))
            .await
            .unwrap();
        out.close().await.unwrap();
        expected.push((path, i));
    }
    // Some removals and renames so replay covers them too.
    fs.delete("/d0/f0", DeleteOptions::default()).await.unwrap();
    fs.rename("/d1/f1", "/d1/renamed").await.unwrap();
    expected.retain(|(p, _)| p != "/d0/f0");
    for e in expected.iter_mut() {
        if e.0 == "/d1/f1" {
            e.0 = "/d1/renamed".into();
        }
    }
    // An incomplete file is not acknowledged as complete and must stay so.
    let pending = fs
        .create_file("/pending", CreateFileOptions::default())
        .await
        .unwrap();
    std::mem::forget(pending);

    tokio::time::sleep(Duration::from_millis(1200)).await; // let a checkpoint happen
    let checkpoints = std::fs::read_dir(cluster.journal_dir().join("checkpoints"))
        .unwrap()
        .count();
    assert!(checkpoints >= 1, "no checkpoint was written");

    cluster.kill_master();
    cluster.start_master().await;
    cluster.wait_live_workers(1, Duration::from_secs(20)).await;

    let fs = cluster.client();
    let mut listed: Vec<String> = fs
        .list_status("/", true)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.file_type == alluxio_proto::FileType::Regular as i32 && i.completed)
        .map(|i| i.path)
        .collect();
    listed.sort();
    let mut want: Vec<String> = expected.iter().map(|(p, _)| p.clone()).collect();
    want.sort();
    assert_eq!(listed, want, "completed files after restart");
    for (path, seed) in &expected {
        let mut input = fs.open_file(path).await.unwrap();
        let data = input.read_to_end().await.unwrap();
        assert_eq!(
            &data[..],
            &test_bytes(*seed, (*seed * 997 % 5000) as usize)[..],
            "{path}"
        );
    }
    let pending = fs.get_status("/pending").await.unwrap();
    assert!(!pending.completed);
}
