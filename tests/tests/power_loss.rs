//! Acknowledged changes survive a power loss of the disk holding them. The
//! UFS (or the journal) sits on a loop-mounted ext4 whose journal commits
//! only when asked (`alluxio_tests::power`); after each acknowledged change
//! the power is cut, and the remounted disk must hold exactly what the
//! cluster acknowledged.

use alluxio_tests::{test_bytes, Cluster, ClusterOptions, PowerDisk};

fn path_str(p: &std::path::Path) -> String {
    p.to_str().unwrap().to_string()
}

/// Point 6 of issue 17: the local UFS makes every name change durable
/// before the master acknowledges it — the completion rename of a new file,
/// a rename, a delete and a mkdir.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_ufs_name_changes_survive_a_power_loss() {
    let scratch = tempfile::tempdir().unwrap();
    let mut disk = PowerDisk::new(scratch.path(), 64);
    let ufs = disk.path().join("ufs");
    let mut cluster = Cluster::start(ClusterOptions {
        workers: 1,
        properties: vec![(
            "alluxio.master.mount.table.root.ufs".into(),
            path_str(&ufs),
        )],
        ..Default::default()
    })
    .await;
    let local = cluster.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    for (name, seed) in [("a", 1), ("b", 2), ("new", 3)] {
        std::fs::write(local.join(name), test_bytes(seed, 100_000)).unwrap();
    }
    // The state before: /a and /b persisted, everything durable.
    for name in ["a", "b"] {
        let src = path_str(&local.join(name));
        cluster
            .cli(&["fs", "copyFromLocal", &src, &format!("/{name}")])
            .ok();
    }
    disk.sync();

    // Acknowledged changes, then the power goes.
    let src = path_str(&local.join("new"));
    cluster.cli(&["fs", "copyFromLocal", &src, "/new"]).ok();
    cluster.cli(&["fs", "mv", "/a", "/a2"]).ok();
    cluster.cli(&["fs", "rm", "/b"]).ok();
    cluster.cli(&["fs", "mkdir", "/d/e"]).ok();
    disk.cut_power();
    cluster.kill_master();
    disk.remount();

    let mut names: Vec<String> = std::fs::read_dir(&ufs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a2", "d", "new"], "UFS root after the power loss");
    assert!(ufs.join("d/e").is_dir(), "/d/e lost");
    assert_eq!(std::fs::read(ufs.join("new")).unwrap(), test_bytes(3, 100_000));
    assert_eq!(std::fs::read(ufs.join("a2")).unwrap(), test_bytes(1, 100_000));
    drop(cluster);
}
