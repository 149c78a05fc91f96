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

/// A journal folder that fills up. The change whose batch does not fit is
/// refused with NoSpace naming the journal folder — or, if it had already
/// journaled its UFS step as an intent, told to retry (the next leader
/// completes it) — never acknowledged; every request after it hears that
/// the journal folder is full; once space is freed the master serves again
/// by itself, with everything acknowledged before. (Before: the master
/// exited, and clients saw "no master answered" until a supervisor
/// restarted it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_journal_refuses_changes_clearly_and_recovers_once_space_is_freed() {
    fill_the_journal_then_free_it(ClusterOptions::default()).await;
}

/// The same under ZooKeeper with two masters sharing the full folder: the
/// leader steps down, the standby that takes over cannot write either, so
/// clients hear that the journal folder is full (or that no master leads)
/// until space is freed; then one leads again with everything acknowledged
/// and nothing refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_journal_under_zookeeper_refuses_changes_until_space_is_freed() {
    fill_the_journal_then_free_it(ClusterOptions::ha(2, 1)).await;
}

async fn fill_the_journal_then_free_it(options: ClusterOptions) {
    let scratch = tempfile::tempdir().unwrap();
    let disk = PowerDisk::new(scratch.path(), 32);
    let journal = disk.path().join("journal");
    let masters = options.masters;
    let mut cluster = Cluster::start(ClusterOptions {
        properties: vec![(
            "alluxio.master.journal.folder".into(),
            journal.to_str().unwrap().into(),
        )],
        ..options
    })
    .await;
    cluster.expect_log("the journal folder is full");
    let fs = cluster.client();
    for i in 0..20 {
        fs.create_directory(&format!("/before{i}"), Default::default())
            .await
            .unwrap();
    }
    // Fill the disk.
    let filler = disk.path().join("filler");
    {
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 1 << 20];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
    // Changes until one is refused (the last block's slack takes a few).
    let short = cluster.client_with_retry(Duration::from_secs(3));
    let mut acked = Vec::new();
    let (refused, refused_path) = loop {
        let path = format!("/during{}-{}", acked.len(), "x".repeat(200));
        match short.create_directory(&path, Default::default()).await {
            Ok(_) => acked.push(path),
            Err(e) => break (e, path),
        }
        assert!(
            acked.len() < 20_000,
            "a full journal acknowledged everything"
        );
    };
    let clear = |e: &FsError| {
        e.to_string().contains("journal folder is full")
            || (masters > 1 && matches!(e, FsError::Unavailable(_)))
    };
    assert!(clear(&refused), "{refused}");
    let definite = matches!(refused, FsError::NoSpace(_));
    eprintln!("refused after {} more: {refused}", acked.len());
    // Every request now hears why, and no master exits.
    for i in 0..3 {
        let err = short
            .create_directory(&format!("/refused{i}"), Default::default())
            .await
            .expect_err("a change acknowledged while the journal folder is full");
        assert!(clear(&err), "{err}");
    }
    for i in 0..masters {
        assert!(cluster.master_i(i).exited().is_none(), "master {i} exited");
    }
    std::fs::remove_file(&filler).unwrap();
    // Serving again by itself.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while let Err(e) = short.create_directory("/after", Default::default()).await {
        assert!(
            std::time::Instant::now() < deadline,
            "not serving 30 s after space was freed: {e}"
        );
    }
    for i in 0..20 {
        assert!(
            fs.exists(&format!("/before{i}")).await.unwrap(),
            "/before{i} lost"
        );
    }
    for path in &acked {
        assert!(fs.exists(path).await.unwrap(), "{path} lost");
    }
    if definite {
        assert!(
            !fs.exists(&refused_path).await.unwrap(),
            "a change refused with NoSpace took effect"
        );
    }
    drop(cluster);
    drop(disk);
}

/// The journal's `fdatasync` fails with EIO once (an injected error): the
/// change in that batch is not acknowledged; the master stops serving
/// rather than guess what reached the disk; restarted, it has everything
/// acknowledged before, and the client's retry of the failed change (the
/// same operation id) applies it exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_fsync_error_acknowledges_nothing_and_loses_nothing() {
    let mut cluster = Cluster::start(ClusterOptions::default()).await;
    cluster.expect_log("journal I/O error");
    let fs = cluster.client();
    for i in 0..10 {
        fs.create_directory(&format!("/before{i}"), Default::default())
            .await
            .unwrap();
    }
    cluster.set_master_env(0, "ALLUXIO_FAILPOINTS", "journal_sync_eio");
    cluster.start_master().await;
    // The restarted master publishes its TermStart as a new object; the
    // first batch appended to it after that fails. The client retries
    // while the test, as a supervisor would, restarts the master.
    let client = cluster.client();
    let mkdir =
        tokio::spawn(async move { client.create_directory("/during", Default::default()).await });
    let code = cluster.wait_master_exit(Duration::from_secs(20)).await;
    assert_ne!(code, Some(0));
    assert!(
        cluster
            .master_log()
            .contains("failpoint journal_sync_eio reached"),
        "the error was never injected"
    );
    cluster.clear_master_env(0);
    cluster.start_master().await;
    mkdir.await.unwrap().expect("the retried mkdir");
    let fs = cluster.client();
    for i in 0..10 {
        assert!(
            fs.exists(&format!("/before{i}")).await.unwrap(),
            "/before{i} lost"
        );
    }
    let listed: Vec<String> = alluxio_tests::names(&fs, "/").await;
    assert_eq!(listed.iter().filter(|n| *n == "during").count(), 1);
}
