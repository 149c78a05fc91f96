//! An empty file's UFS object is written after its create is answered
//! (master `fs_master/empty_objects.rs`). These tests slow that write down
//! with a failpoint and check that no later change overtakes it, and that a
//! master killed before writing it leaves a file that still renames and
//! deletes.

use std::path::Path;
use std::time::Duration;

use alluxio_client::{CreateFileOptions, DeleteOptions};
use alluxio_tests::{test_bytes, Cluster, ClusterOptions};

/// A one-master cluster whose master delays each empty object by 500 ms.
async fn slow_empty_objects() -> Cluster {
    let mut cluster = Cluster::start(ClusterOptions::default()).await;
    cluster.set_master_env(0, "ALLUXIO_FAILPOINTS", "empty_object_write_delay");
    cluster.kill_master_i(0);
    cluster.start_master_i(0).await;
    cluster.wait_live_workers(1, Duration::from_secs(30)).await;
    cluster
}

fn recursive() -> CreateFileOptions {
    CreateFileOptions {
        recursive: true,
        ..Default::default()
    }
}

/// Waits until `path` exists (or, with `false`, not) for 5 s; then returns
/// whether it does.
async fn becomes(path: &Path, exists: bool) -> bool {
    for _ in 0..50 {
        if path.exists() == exists {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    path.exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_after_an_empty_create_wait_for_its_ufs_object() {
    let cluster = slow_empty_objects().await;
    let fs = cluster.client();
    let ufs = cluster.ufs_dir();

    // The object appears, after the create was answered.
    fs.create_empty_file("/e/plain", recursive()).await.unwrap();
    assert!(becomes(&ufs.join("e/plain"), true).await);
    assert_eq!(std::fs::metadata(ufs.join("e/plain")).unwrap().len(), 0);

    // A delete right after the create: the late object must not bring the
    // file back in the UFS.
    fs.create_empty_file("/e/deleted", recursive())
        .await
        .unwrap();
    fs.delete("/e/deleted", DeleteOptions::default())
        .await
        .unwrap();
    // A rename right after the create moves the object.
    fs.create_empty_file("/e/from", recursive()).await.unwrap();
    fs.rename("/e/from", "/e/to").await.unwrap();
    // A new version right after the create keeps its bytes.
    fs.create_empty_file("/e/written", recursive())
        .await
        .unwrap();
    let data = test_bytes(7, 10_000);
    let mut out = fs
        .create_file(
            "/e/written",
            CreateFileOptions {
                overwrite: true,
                keep_inode: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    out.write(&data).await.unwrap();
    out.close().await.unwrap();

    // Well past every delayed write.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!ufs.join("e/deleted").exists(), "a deleted file came back");
    assert!(!ufs.join("e/from").exists(), "the renamed file's old name");
    assert_eq!(std::fs::metadata(ufs.join("e/to")).unwrap().len(), 0);
    assert_eq!(std::fs::read(ufs.join("e/written")).unwrap(), data);
    assert_eq!(
        alluxio_tests::names(&fs, "/e").await,
        ["plain", "to", "written"]
    );
    let mut input = fs.open_file("/e/written").await.unwrap();
    assert_eq!(input.read_to_end().await.unwrap(), data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_file_whose_object_was_never_written_renames_and_deletes() {
    let mut cluster = slow_empty_objects().await;
    let fs = cluster.client();
    let ufs = cluster.ufs_dir();
    fs.create_empty_file("/lost/a", recursive()).await.unwrap();
    fs.create_empty_file("/lost/b", recursive()).await.unwrap();
    // Killed within the delay: both creates are acknowledged (journaled),
    // neither object is written.
    cluster.kill_master_i(0);
    assert!(!ufs.join("lost/a").exists() && !ufs.join("lost/b").exists());
    cluster.clear_master_env(0);
    cluster.start_master_i(0).await;
    cluster.wait_live_workers(1, Duration::from_secs(30)).await;

    let fs = cluster.client();
    assert_eq!(alluxio_tests::names(&fs, "/lost").await, ["a", "b"]);
    assert_eq!(fs.get_status("/lost/a").await.unwrap().length, 0);
    // Nothing to move in the UFS: the rename writes the object at its target.
    fs.rename("/lost/a", "/lost/a2").await.unwrap();
    assert_eq!(std::fs::metadata(ufs.join("lost/a2")).unwrap().len(), 0);
    fs.delete("/lost/b", DeleteOptions::default())
        .await
        .unwrap();
    assert_eq!(alluxio_tests::names(&fs, "/lost").await, ["a2"]);
    assert!(!ufs.join("lost/b").exists());
}
