//! Slow and failing UFS I/O (issue 18), injected while the servers run
//! (`Cluster::arm`, failpoints `ufs_fsync_eio` and `ufs_slow`): every
//! `fsync` of the UFS failing with EIO, then healed. A write through FUSE
//! fails with EIO where the program can see it (fsync, close); a write
//! through the library fails; a mkdir waits for the UFS and completes once
//! it heals. Nothing acknowledged before is damaged, and an append that
//! failed never leaves the file without a complete version: once the UFS
//! heals it holds the old bytes and the appended ones (the daemon's commit
//! is tried again in the background), byte for byte in the UFS too.

use std::io::Write;
use std::time::{Duration, Instant};

use alluxio_client::{CreateFileOptions, WriteType};
use alluxio_tests::fuse::Mounted;
use alluxio_tests::test_bytes;

/// Every server of the one-master, one-worker cluster.
const SERVERS: [&str; 2] = ["master0", "worker0"];

fn append(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().append(true).open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

fn put(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(data)?;
    f.sync_all()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_ufs_fsync_fails_writes_and_loses_nothing_acknowledged() {
    let m = Mounted::start("/", "").await;
    let fs = m.cluster.client();
    let old = test_bytes(1, 5_000);
    let more = test_bytes(2, 1_000);
    let (log, kept) = (m.p("log"), m.p("kept"));
    let data = old.clone();
    tokio::task::spawn_blocking(move || {
        put(&log, &data).unwrap();
        put(&kept, &data).unwrap();
    })
    .await
    .unwrap();

    for s in SERVERS {
        m.cluster.arm(s, "ufs_fsync_eio");
    }
    // Failpoint files are read again every 100 ms.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (log, extra) = (m.p("log"), more.clone());
    let err = tokio::task::spawn_blocking(move || append(&log, &extra))
        .await
        .unwrap()
        .expect_err("an append whose UFS fsync fails");
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    let fresh = m.p("fresh");
    let err = tokio::task::spawn_blocking(move || put(&fresh, b"new bytes"))
        .await
        .unwrap()
        .expect_err("a new file whose UFS fsync fails");
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    let opts = CreateFileOptions {
        write_type: Some(WriteType::CacheThrough),
        ..Default::default()
    };
    let written = async {
        let mut out = fs.create_file("/lib", opts.clone()).await?;
        out.write(b"library bytes").await?;
        out.close().await
    }
    .await;
    assert!(
        written.is_err(),
        "a library write whose UFS fsync fails was acknowledged"
    );
    // A mkdir waits for the UFS while it fails and completes once healed.
    let client = m.cluster.client();
    let mkdir =
        tokio::spawn(async move { client.create_directory("/d", Default::default()).await });
    tokio::time::sleep(Duration::from_secs(2)).await;
    if mkdir.is_finished() {
        panic!(
            "mkdir answered while the UFS fails: {:?}",
            mkdir.await.unwrap()
        );
    }

    for s in SERVERS {
        m.cluster.arm(s, "");
    }
    mkdir.await.unwrap().expect("mkdir once the UFS healed");
    assert!(m.cluster.ufs_dir().join("d").is_dir());

    // The failed append lands once the UFS heals: the file is never left
    // without a complete version.
    let want: Vec<u8> = old.iter().chain(more.iter()).copied().collect();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let info = fs.get_status("/log").await.unwrap();
        if info.completed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/log still incomplete 15 s after the UFS healed: the bytes acknowledged \
             before the failed append are unreadable"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    fs.free("/log", false).await.unwrap();
    let got = fs
        .open_file("/log")
        .await
        .unwrap()
        .read_to_end()
        .await
        .unwrap();
    assert!(got[..] == want[..], "/log holds {} bytes", got.len());
    assert_eq!(
        std::fs::read(m.cluster.ufs_dir().join("log")).unwrap(),
        want
    );
    // What was acknowledged before the failure is intact.
    assert_eq!(
        std::fs::read(m.cluster.ufs_dir().join("kept")).unwrap(),
        old
    );
    assert_eq!(std::fs::read(m.p("kept")).unwrap(), old);

    // Writes work again, through both interfaces.
    let fresh = m.p("fresh");
    tokio::task::spawn_blocking(move || put(&fresh, b"new bytes"))
        .await
        .unwrap()
        .expect("a write once the UFS healed");
    assert_eq!(
        std::fs::read(m.cluster.ufs_dir().join("fresh")).unwrap(),
        b"new bytes"
    );
    let mut out = fs
        .create_file(
            "/lib",
            CreateFileOptions {
                overwrite: true,
                ..opts
            },
        )
        .await
        .unwrap();
    out.write(b"library bytes").await.unwrap();
    out.close()
        .await
        .expect("a library write once the UFS healed");
    assert_eq!(
        std::fs::read(m.cluster.ufs_dir().join("lib")).unwrap(),
        b"library bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_ufs_delays_writes_and_reads_without_failing_them() {
    let m = Mounted::start("/", "").await;
    for s in SERVERS {
        m.cluster.arm(s, "ufs_slow");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let data = test_bytes(3, 300_000);
    let (path, bytes) = (m.p("slow"), data.clone());
    let started = Instant::now();
    tokio::task::spawn_blocking(move || put(&path, &bytes))
        .await
        .unwrap()
        .expect("a write to a slow UFS");
    // The failpoint was reached (each UFS call sleeps half a second).
    assert!(started.elapsed() >= Duration::from_millis(500));
    let fs = m.cluster.client();
    fs.free("/slow", false).await.unwrap();
    let got = fs
        .open_file("/slow")
        .await
        .unwrap()
        .read_to_end()
        .await
        .unwrap();
    assert!(got[..] == data[..]);
    for s in SERVERS {
        m.cluster.arm(s, "");
    }
    assert_eq!(
        std::fs::read(m.cluster.ufs_dir().join("slow")).unwrap(),
        data
    );
}
