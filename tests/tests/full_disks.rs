//! Full disks (issue 18): the UFS on a small file system written full
//! through FUSE, and a worker tier too small for a MUST_CACHE file. The
//! write that does not fit fails with ENOSPC (a `NoSpace` error in the
//! library); everything acknowledged before is intact, byte for byte; once
//! space is freed, writes succeed again.

use std::io::Write;
use std::time::Duration;

use alluxio_client::{CreateFileOptions, FsError, WriteType};
use alluxio_tests::fuse::FuseMount;
use alluxio_tests::power::PowerDisk;
use alluxio_tests::{test_bytes, Cluster, ClusterOptions};

const MIB: usize = 1 << 20;

/// Writes `data` to `path` through the mount and makes it durable, so that
/// an error at any step (write, fsync, close) reaches the caller.
fn put(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(data)?;
    f.sync_all()?;
    let fd = std::os::fd::IntoRawFd::into_raw_fd(f);
    // SAFETY: closing the descriptor we own, to see close's error.
    if unsafe { libc::close(fd) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_ufs_fails_the_write_that_does_not_fit_and_keeps_the_rest() {
    let scratch = tempfile::tempdir().unwrap();
    let disk = PowerDisk::new(scratch.path(), 24);
    let ufs = disk.path().join("ufs");
    std::fs::create_dir(&ufs).unwrap();
    let mut cluster = Cluster::start(ClusterOptions {
        properties: vec![(
            "alluxio.master.mount.table.root.ufs".into(),
            ufs.to_str().unwrap().into(),
        )],
        ..Default::default()
    })
    .await;
    // The FUSE daemon logs the write the disk could not take.
    cluster.expect_log("No space left on device");
    let fuse = FuseMount::start(&cluster, "/", "");
    let mut acked = Vec::new();
    let mut failure = None;
    for i in 0..64u64 {
        let path = fuse.mnt.join(format!("f{i}"));
        let data = test_bytes(i, MIB);
        match tokio::task::spawn_blocking(move || put(&path, &data))
            .await
            .unwrap()
        {
            Ok(()) => acked.push(i),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let failure = failure.expect("64 MiB fit on a 24 MiB disk");
    assert_eq!(failure.raw_os_error(), Some(libc::ENOSPC), "{failure}");
    assert!(acked.len() >= 5, "only {} files fit", acked.len());

    // Everything acknowledged is intact in the UFS (read after freeing the
    // cache) and through the mount.
    let fs = cluster.client();
    for &i in &acked {
        let path = format!("/f{i}");
        fs.free(&path, false).await.unwrap();
        let mut input = fs.open_file(&path).await.unwrap();
        assert!(
            input.read_to_end().await.unwrap()[..] == test_bytes(i, MIB)[..],
            "{path} damaged by the full disk"
        );
        assert_eq!(
            std::fs::read(ufs.join(format!("f{i}"))).unwrap(),
            test_bytes(i, MIB)
        );
    }
    // Space freed: writes work again.
    for &i in &acked[..acked.len() / 2] {
        std::fs::remove_file(fuse.mnt.join(format!("f{i}"))).unwrap();
    }
    let path = fuse.mnt.join("after");
    tokio::task::spawn_blocking(move || put(&path, &test_bytes(99, MIB)))
        .await
        .unwrap()
        .expect("writing once space was freed");
    assert_eq!(
        std::fs::read(fuse.mnt.join("after")).unwrap(),
        test_bytes(99, MIB)
    );
    drop(fuse);
    drop(disk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_worker_tier_refuses_cache_only_data_and_passes_the_rest_to_the_ufs() {
    let cluster = Cluster::start(ClusterOptions {
        properties: vec![(
            "alluxio.worker.tieredstore.level0.dirs.quota".into(),
            "8MB".into(),
        )],
        ..Default::default()
    })
    .await;
    let fs = cluster.client();
    let opts = |write_type| CreateFileOptions {
        write_type: Some(write_type),
        ..Default::default()
    };
    // Cache-only bytes that do not fit: a clear NoSpace. What was written
    // before stays (it is the file's only copy) until the program deletes
    // the file.
    let mut out = fs
        .create_file("/cached", opts(WriteType::MustCache))
        .await
        .unwrap();
    let err = tokio::time::timeout(Duration::from_secs(60), out.write(&test_bytes(1, 12 * MIB)))
        .await
        .expect("the cache-only write hung")
        .unwrap_err();
    assert!(matches!(err, FsError::NoSpace(_)), "{err}");
    // Through to the UFS, with the tier full of cache-only data: the
    // tier's size does not matter.
    let mut through = fs
        .create_file("/through", opts(WriteType::CacheThrough))
        .await
        .unwrap();
    through.write(&test_bytes(2, 20 * MIB)).await.unwrap();
    through.close().await.unwrap();
    fs.free("/through", false).await.unwrap();
    let mut input = fs.open_file("/through").await.unwrap();
    assert!(input.read_to_end().await.unwrap()[..] == test_bytes(2, 20 * MIB)[..]);
    // The program gives the cache-only file up: its space comes back.
    out.cancel().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut small = fs
            .create_file(
                "/small",
                CreateFileOptions {
                    overwrite: true,
                    ..opts(WriteType::MustCache)
                },
            )
            .await
            .unwrap();
        match small.write(&test_bytes(3, 2 * MIB)).await {
            Ok(()) => {
                small.close().await.unwrap();
                break;
            }
            Err(FsError::NoSpace(e)) if std::time::Instant::now() < deadline => {
                small.cancel().await.unwrap();
                eprintln!("waiting for the freed space: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("a cache-only write after space was freed: {e}"),
        }
    }
    let mut input = fs.open_file("/small").await.unwrap();
    assert!(input.read_to_end().await.unwrap()[..] == test_bytes(3, 2 * MIB)[..]);
}
