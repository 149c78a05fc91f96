//! Point 12 of issue 17: recovery waits out races and passing faults
//! instead of ending the process. A checkpoint collected between a
//! starting master's listing and its read, and a journal disk answering
//! EIO for a while, each made a master exit; now it retries, says what it
//! waits for, and serves once the journal can be read.

use std::time::{Duration, Instant};

use alluxio_tests::{Cluster, ClusterOptions, PowerDisk, Zk};

fn checkpoints(cluster: &Cluster) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cluster.journal_dir().join("checkpoints"))
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_collected_under_a_starting_master_is_read_again() {
    let mut cluster = Cluster::start(ClusterOptions {
        masters: 2,
        workers: 0,
        zookeeper: Zk::Single,
        properties: vec![(
            "alluxio.master.journal.checkpoint.period.entries".into(),
            "10".into(),
        )],
        ..Default::default()
    })
    .await;
    let leader = cluster.leader().await;
    let standby = 1 - leader;
    let fs = cluster.client();
    for i in 0..15 {
        fs.create_directory(&format!("/a{i}"), Default::default())
            .await
            .unwrap();
    }
    wait_for("a first checkpoint", Duration::from_secs(30), || {
        !checkpoints(&cluster).is_empty()
    })
    .await;
    let first = checkpoints(&cluster);

    // The standby restarts and stops itself after listing the checkpoints,
    // before reading the newest.
    cluster.set_master_env(
        standby,
        "ALLUXIO_FAILPOINTS",
        "replay_before_checkpoint_read=checkpoint",
    );
    cluster.spawn_master_i(standby);
    cluster.wait_master_stopped(standby, "standby replay").await;
    // Meanwhile the leader checkpoints again and collects the one listed.
    for i in 15..30 {
        fs.create_directory(&format!("/a{i}"), Default::default())
            .await
            .unwrap();
    }
    wait_for(
        "the listed checkpoint to be collected",
        Duration::from_secs(30),
        || {
            let now = checkpoints(&cluster);
            !now.is_empty() && now.iter().all(|c| !first.contains(c))
        },
    )
    .await;
    cluster.resume_master(standby);

    // The standby reads the newer checkpoint, follows, and takes over.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info = cluster.master_info(standby).await;
        if info.is_some_and(|i| i.role == "STANDBY") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted standby did not come back:\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        cluster
            .master_log_i(standby)
            .contains("was collected while being read"),
        "the race was not hit:\n{}",
        cluster.master_log_i(standby)
    );
    cluster.kill_master_i(leader);
    assert_eq!(
        cluster
            .wait_new_leader(leader, Duration::from_secs(30))
            .await,
        standby
    );
    let names = alluxio_tests::names(&fs, "/").await;
    assert_eq!(names.len(), 30, "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_waits_for_a_failing_journal_disk_instead_of_exiting() {
    let scratch = tempfile::tempdir().unwrap();
    let mut disk = PowerDisk::new(scratch.path(), 64);
    let journal = disk.path().join("journal");
    let mut cluster = Cluster::start(ClusterOptions {
        workers: 0,
        properties: vec![(
            "alluxio.master.journal.folder".into(),
            journal.to_str().unwrap().into(),
        )],
        ..Default::default()
    })
    .await;
    let fs = cluster.client();
    fs.create_directory("/kept", Default::default())
        .await
        .unwrap();
    disk.sync();
    cluster.kill_master();

    // The journal disk answers EIO: the master starts, waits and says why.
    disk.cut_power();
    cluster.spawn_master();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cluster.master_log().contains("waiting for the journal") {
        assert!(
            cluster.master().exited().is_none(),
            "the master exited:\n{}",
            cluster.master_log()
        );
        assert!(Instant::now() < deadline, "{}", cluster.master_log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        cluster.master().exited().is_none(),
        "the master exited:\n{}",
        cluster.master_log()
    );
    // The disk comes back: the master serves what it had.
    disk.remount();
    let deadline = Instant::now() + Duration::from_secs(60);
    while cluster
        .master_info(0)
        .await
        .is_none_or(|i| i.role != "LEADER")
    {
        assert!(
            Instant::now() < deadline,
            "the master did not lead once the disk was back:\n{}",
            cluster.master_log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let info = fs.get_status("/kept").await.unwrap();
    assert_eq!(info.path, "/kept");
}
