//! Acknowledged changes survive a power loss of the disk holding them. The
//! UFS (or the journal) sits on a loop-mounted ext4 whose journal commits
//! only when asked (`alluxio_tests::power`); after each acknowledged change
//! the power is cut, and the remounted disk must hold exactly what the
//! cluster acknowledged.

use std::time::Duration;

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
        properties: vec![("alluxio.master.mount.table.root.ufs".into(), path_str(&ufs))],
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
    assert_eq!(
        std::fs::read(ufs.join("new")).unwrap(),
        test_bytes(3, 100_000)
    );
    assert_eq!(
        std::fs::read(ufs.join("a2")).unwrap(),
        test_bytes(1, 100_000)
    );
    drop(cluster);
}

/// Point 8 of issue 17: a master that takes over builds only on durable
/// journal bytes. The old term's last batch was written but never synced
/// (the master died inside `fdatasync`); the next master reads it from the
/// page cache, acknowledges it to the retrying client and writes on after
/// it. A power loss must not then leave a hole below the new term.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_term_builds_only_on_durable_journal_bytes() {
    let scratch = tempfile::tempdir().unwrap();
    let mut disk = PowerDisk::with_options(scratch.path(), 64, "data=writeback");
    let journal = disk.path().join("journal");
    let mut cluster = Cluster::start(ClusterOptions {
        properties: vec![("alluxio.master.journal.folder".into(), path_str(&journal))],
        ..Default::default()
    })
    .await;
    cluster.expect_log("failpoint journal_append_before_sync");
    cluster.cli(&["fs", "mkdir", "/before"]).ok();
    disk.sync();

    // The next append is written, then the master dies before its fdatasync.
    cluster.set_master_env(0, "ALLUXIO_FAILPOINTS", "journal_append_before_sync");
    cluster.start_master().await;
    let mkdir = cluster
        .command("alluxio")
        .args(["fs", "mkdir", "/unsynced"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    cluster.wait_master_exit(Duration::from_secs(30)).await;
    // The restarted master replays the unsynced batch; the client's retry
    // gets it acknowledged, and the new term writes on after it.
    cluster.clear_master_env(0);
    cluster.start_master().await;
    let out = tokio::task::spawn_blocking(move || mkdir.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "mkdir /unsynced: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    cluster.cli(&["fs", "mkdir", "/after"]).ok();

    disk.cut_power();
    cluster.kill_master();
    disk.remount();
    cluster.start_master().await;
    let ls = cluster.cli(&["fs", "ls", "/"]).ok().stdout;
    for name in ["/before", "/unsynced", "/after"] {
        assert!(ls.contains(name), "{name} lost: {ls}");
    }
}
