//! Point 3 of issue 17: a leader that lost leadership changes nothing in the
//! UFS any more. For each kind of UFS mutation, the leader freezes right
//! before it (a pause failpoint), a new leader takes over and writes new
//! bytes at the same path, and the old one is let go on: the new leader's
//! bytes and namespace win. (A delete or rename whose intent was journaled
//! before the freeze is completed by the new leader: decision 0013.)

use std::time::{Duration, Instant};

use alluxio_client::{CreateFileOptions, FileSystem};
use alluxio_proto::file_system_master_client::FileSystemMasterClient;
use alluxio_tests::{test_bytes, Cluster, ClusterOptions};

/// Writes a version of `path` (in place, so the new leader's own UFS step
/// is the completion rename of a staged object, which no failpoint stops).
async fn write(fs: &FileSystem, path: &str, seed: u64) {
    let opts = CreateFileOptions {
        overwrite: true,
        keep_inode: true,
        ..Default::default()
    };
    let mut out = fs.create_file(path, opts).await.unwrap();
    out.write(&test_bytes(seed, 5000)).await.unwrap();
    out.close().await.unwrap();
}

/// Sends `call` to master `i` alone (no retry elsewhere), waits until the
/// master froze at its failpoint, lets another master take over, runs
/// `meanwhile` through it, then lets the old one go on. Returns the new
/// leader.
async fn freeze_fail_over_resume(
    cluster: &mut Cluster,
    name: &str,
    call: impl FnOnce(FileSystemMasterClient<tonic::transport::Channel>) -> tokio::task::JoinHandle<()>,
    meanwhile: impl std::future::Future<Output = ()>,
) -> usize {
    let old = cluster.leader().await;
    let raw =
        FileSystemMasterClient::connect(format!("http://127.0.0.1:{}", cluster.master_ports[old]))
            .await
            .unwrap();
    let task = call(raw);
    cluster.wait_master_stopped(old, name).await;
    let new = cluster.wait_new_leader(old, Duration::from_secs(30)).await;
    meanwhile.await;
    cluster.resume_master(old);
    let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
    // The old master notices it lost its session and stands by again.
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster
        .master_info(old)
        .await
        .is_none_or(|i| i.role != "STANDBY")
    {
        assert!(
            Instant::now() < deadline,
            "{name}: the old leader did not stand by"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    new
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposed_leader_changes_nothing_in_the_ufs() {
    let mut cluster = Cluster::start(ClusterOptions::ha(2, 1)).await;
    // Master 0 leads first and freezes in the first and third rounds,
    // master 1 in the second. Each is armed only where it is the old
    // leader: the new one completes the journaled delete and rename itself
    // (decision 0013) and must not stop there.
    cluster.set_master_env(
        0,
        "ALLUXIO_FAILPOINTS",
        "ufs_mutation=delete:victim-d,ufs_mutation=write:victim-e",
    );
    cluster.set_master_env(1, "ALLUXIO_FAILPOINTS", "ufs_mutation=rename:victim-r");
    cluster.kill_master_i(1);
    cluster.start_master_i(0).await;
    assert_eq!(cluster.leader().await, 0);
    cluster.start_master_i(1).await;
    cluster.leader().await;
    let fs = cluster.client();
    write(&fs, "/victim-d", 1).await;
    write(&fs, "/victim-r", 2).await;

    // A delete, frozen before its UFS step.
    let fs2 = cluster.client();
    freeze_fail_over_resume(
        &mut cluster,
        "delete",
        |mut raw| {
            tokio::spawn(async move {
                let _ = raw
                    .delete(alluxio_proto::DeleteRequest {
                        path: "/victim-d".into(),
                        ..Default::default()
                    })
                    .await;
            })
        },
        async { write(&fs2, "/victim-d", 11).await },
    )
    .await;

    // A rename, frozen before its UFS step.
    freeze_fail_over_resume(
        &mut cluster,
        "rename",
        |mut raw| {
            tokio::spawn(async move {
                let _ = raw
                    .rename(alluxio_proto::RenameRequest {
                        src: "/victim-r".into(),
                        dst: "/victim-r2".into(),
                        ..Default::default()
                    })
                    .await;
            })
        },
        async { write(&fs2, "/victim-r", 12).await },
    )
    .await;

    // An empty file's object, written in the background after the reply.
    freeze_fail_over_resume(
        &mut cluster,
        "empty object",
        |mut raw| {
            tokio::spawn(async move {
                let _ = raw
                    .create_file(alluxio_proto::CreateFileRequest {
                        path: "/victim-e".into(),
                        empty: true,
                        write_type: alluxio_proto::WriteType::CacheThrough as i32,
                        ..Default::default()
                    })
                    .await;
            })
        },
        async { write(&fs2, "/victim-e", 13).await },
    )
    .await;

    // The new leaders' bytes, in the namespace and in the UFS.
    let ufs = cluster.ufs_dir();
    for (name, seed) in [("victim-d", 11), ("victim-r", 12), ("victim-e", 13)] {
        let info = fs.get_status(&format!("/{name}")).await.unwrap();
        assert_eq!(info.length, 5000, "/{name}");
        let stored = std::fs::read(ufs.join(name)).unwrap_or_default();
        assert!(
            stored == test_bytes(seed, 5000),
            "/{name}: the UFS holds {} other bytes",
            stored.len()
        );
    }
    // The rename was journaled (as an intent) before the old leader froze:
    // the new leader completed it, in the namespace and in the UFS alike.
    let info = fs.get_status("/victim-r2").await.unwrap();
    assert_eq!(info.length, 5000);
    assert!(
        std::fs::read(ufs.join("victim-r2")).unwrap_or_default() == test_bytes(2, 5000),
        "/victim-r2: the UFS does not hold the renamed file's bytes"
    );
}
