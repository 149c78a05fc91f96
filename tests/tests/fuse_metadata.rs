//! The metadata path of the FUSE mount (issue 4): how many master calls a
//! create and an unlink cost (counted by the master's own metrics), and
//! that answering the kernel from the daemon's attribute cache loses no
//! consistency: a directory's times follow the changes made in it, unlink
//! and rmdir check the kind, and a change made by another client shows
//! through the mount once `attr_timeout` has passed.
//!
//! Every test unmounts (and stops the daemon) from a guard's `Drop`, so a
//! failing assertion never leaves a mount behind.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use alluxio_tests::fuse::{errno_of, Mounted};
use alluxio_tests::http::{calls, delta};

/// The `FileSystemMaster` calls `m`'s master answered so far, by method.
fn master_calls(m: &Mounted) -> BTreeMap<String, f64> {
    calls(m.cluster.master_web_port(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_and_an_unlink_cost_at_most_two_master_calls() {
    const N: usize = 50;
    let m = Mounted::start("/", "").await;
    fs::create_dir(m.p("d")).unwrap();
    let names: Vec<_> = (0..N).map(|i| m.p(&format!("d/f{i:03}"))).collect();

    let before = master_calls(&m);
    for p in &names {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
            .unwrap();
    }
    let after_create = master_calls(&m);
    let (calls, total) = delta(&before, &after_create);
    assert!(
        total <= (2 * N) as f64,
        "{N} creates made {total} master calls: {calls:?}"
    );
    assert_eq!(calls.get("CreateFile"), Some(&(N as f64)), "{calls:?}");

    for p in &names {
        fs::remove_file(p).unwrap();
    }
    let (calls, total) = delta(&after_create, &master_calls(&m));
    assert!(
        total <= (2 * N) as f64,
        "{N} unlinks made {total} master calls: {calls:?}"
    );
    assert_eq!(calls.get("Delete"), Some(&(N as f64)), "{calls:?}");

    // Exactly the files that should be gone are gone, for the cluster too.
    assert_eq!(fs::read_dir(m.p("d")).unwrap().count(), 0);
    let fs_client = m.cluster.client();
    assert!(fs_client.list_status("/d", false).await.unwrap().is_empty());
    for p in &names {
        assert_eq!(errno_of(fs::metadata(p)), libc::ENOENT, "{}", p.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_times_follow_changes_and_unlink_rmdir_check_the_kind() {
    let m = Mounted::start("/", "attr_timeout=1,entry_timeout=1").await;
    fs::create_dir(m.p("d")).unwrap();
    fs::create_dir(m.p("d/sub")).unwrap();
    let times = |path: &std::path::Path| {
        let md = fs::metadata(path).unwrap();
        (
            md.mtime_nsec() + md.mtime() * 1_000_000_000,
            md.ctime_nsec() + md.ctime() * 1_000_000_000,
        )
    };

    let before = times(&m.p("d"));
    std::thread::sleep(Duration::from_millis(20));
    fs::write(m.p("d/f"), b"").unwrap();
    let created = times(&m.p("d"));
    assert!(
        created.0 > before.0 && created.1 > before.1,
        "{before:?} -> {created:?}"
    );

    std::thread::sleep(Duration::from_millis(20));
    fs::remove_file(m.p("d/f")).unwrap();
    let unlinked = times(&m.p("d"));
    assert!(
        unlinked.0 > created.0 && unlinked.1 > created.1,
        "{created:?} -> {unlinked:?}"
    );
    assert_eq!(
        fs::metadata(m.p("d")).unwrap().nlink(),
        3,
        "d, its . and sub's .."
    );

    std::thread::sleep(Duration::from_millis(20));
    fs::create_dir(m.p("d/sub2")).unwrap();
    assert!(times(&m.p("d")).0 > unlinked.0);
    assert_eq!(fs::metadata(m.p("d")).unwrap().nlink(), 4);
    fs::remove_dir(m.p("d/sub2")).unwrap();
    assert_eq!(fs::metadata(m.p("d")).unwrap().nlink(), 3);

    // unlink of a directory, rmdir of a file: refused, nothing removed.
    fs::write(m.p("d/file"), b"x").unwrap();
    assert_eq!(errno_of(fs::remove_file(m.p("d/sub"))), libc::EISDIR);
    assert_eq!(errno_of(fs::remove_dir(m.p("d/file"))), libc::ENOTDIR);
    assert!(fs::metadata(m.p("d/sub")).unwrap().is_dir());
    assert_eq!(fs::read(m.p("d/file")).unwrap(), b"x");
    let fs_client = m.cluster.client();
    assert!(fs_client.exists("/d/sub").await.unwrap());
    assert!(fs_client.exists("/d/file").await.unwrap());
    // A rename changes both parents' times.
    fs::create_dir(m.p("e")).unwrap();
    let (d0, e0) = (times(&m.p("d")), times(&m.p("e")));
    std::thread::sleep(Duration::from_millis(20));
    fs::rename(m.p("d/file"), m.p("e/file")).unwrap();
    assert!(times(&m.p("d")).0 > d0.0 && times(&m.p("e")).0 > e0.0);
    assert_eq!(fs::read(m.p("e/file")).unwrap(), b"x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clients_changes_show_after_the_attribute_timeout() {
    let m = Mounted::start("/", "attr_timeout=0.3,entry_timeout=0.3").await;
    let client = m.cluster.client();
    fs::create_dir(m.p("d")).unwrap();
    fs::write(m.p("d/f"), b"abc").unwrap();
    fs::write(m.p("d/gone"), b"").unwrap();
    // Attributes through the mount are fresh in the kernel and the daemon.
    let d = fs::metadata(m.p("d")).unwrap();
    assert_eq!(fs::metadata(m.p("d/f")).unwrap().len(), 3);
    assert!(fs::metadata(m.p("d/gone")).is_ok());

    // Another client changes the directory and the file.
    client
        .set_attribute(
            "/d",
            alluxio_client::SetAttributeOptions {
                mode: Some(0o700),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut out = client
        .create_file(
            "/d/f",
            alluxio_client::CreateFileOptions {
                overwrite: true,
                keep_inode: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    out.write(b"longer now").await.unwrap();
    out.close().await.unwrap();
    client
        .create_empty_file("/d/new", Default::default())
        .await
        .unwrap();
    client.delete("/d/gone", Default::default()).await.unwrap();

    tokio::time::sleep(Duration::from_millis(400)).await;
    let d2 = fs::metadata(m.p("d")).unwrap();
    assert_eq!(d2.permissions().mode() & 0o7777, 0o700);
    assert!(d2.mtime_nsec() != d.mtime_nsec() || d2.mtime() != d.mtime());
    assert_eq!(fs::metadata(m.p("d/f")).unwrap().len(), 10);
    assert_eq!(fs::read(m.p("d/f")).unwrap(), b"longer now");
    assert!(fs::metadata(m.p("d/new")).is_ok());
    assert_eq!(errno_of(fs::metadata(m.p("d/gone"))), libc::ENOENT);
}

/// Drops the kernel's dentries and inodes (as memory pressure would), so
/// the next path walk sends lookups to the daemon.
fn drop_dentries() {
    fs::write("/proc/sys/vm/drop_caches", "2").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_after_a_listing_are_answered_without_the_master_and_stay_right() {
    const N: usize = 40;
    // A long timeout, so nothing expires while the test runs on a busy
    // machine.
    let m = Mounted::start("/", "attr_timeout=30,entry_timeout=30").await;
    fs::create_dir(m.p("a")).unwrap();
    for i in 0..N {
        fs::write(m.p(&format!("a/f{i:02}")), format!("{i}")).unwrap();
    }
    assert_eq!(fs::read_dir(m.p("a")).unwrap().count(), N);

    // `ls -l`, then the kernel forgets: the stats cost no master call.
    drop_dentries();
    let listed: Vec<_> = fs::read_dir(m.p("a"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .collect();
    assert_eq!(listed.len(), N);
    drop_dentries();
    let before = master_calls(&m);
    for i in 0..N {
        let md = fs::metadata(m.p(&format!("a/f{i:02}"))).unwrap();
        assert_eq!(md.len(), format!("{i}").len() as u64);
    }
    let (calls, total) = delta(&before, &master_calls(&m));
    assert!(
        total <= 1.0,
        "{N} stats made {total} master calls: {calls:?}"
    );

    // Changes made through the mount are never hidden by the cache: an
    // unlinked name is gone, a rewritten file shows its new size...
    drop_dentries();
    fs::remove_file(m.p("a/f00")).unwrap();
    fs::write(m.p("a/f01"), b"longer contents").unwrap();
    drop_dentries();
    assert_eq!(errno_of(fs::metadata(m.p("a/f00"))), libc::ENOENT);
    assert_eq!(fs::metadata(m.p("a/f01")).unwrap().len(), 15);
    // ...and after a directory moved, its old paths name nothing (a new
    // directory in its place is empty).
    fs::rename(m.p("a"), m.p("b")).unwrap();
    fs::create_dir(m.p("a")).unwrap();
    drop_dentries();
    assert_eq!(errno_of(fs::metadata(m.p("a/f02"))), libc::ENOENT);
    assert_eq!(fs::read(m.p("b/f02")).unwrap(), b"2");
    assert_eq!(fs::read_dir(m.p("a")).unwrap().count(), 0);
}

/// The daemon knows a name is missing from a complete listing of its
/// directory (the empty one of a directory it made), kept up to date by the
/// changes made through the mount: the kernel's lookup before each create
/// costs no master call. A change that fails drops the listing, so what
/// another client did shows at once after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_names_come_from_listings_kept_up_to_date_by_this_mounts_changes() {
    const N: usize = 20;
    // A long timeout, so no listing expires while the test runs.
    let m = Mounted::start("/", "attr_timeout=30,entry_timeout=30").await;
    let client = m.cluster.client();
    fs::create_dir(m.p("d")).unwrap();
    let before = master_calls(&m);
    for i in 0..N {
        let p = m.p(&format!("d/f{i:02}"));
        assert_eq!(errno_of(fs::metadata(&p)), libc::ENOENT);
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
            .unwrap();
    }
    let (calls, total) = delta(&before, &master_calls(&m));
    assert_eq!(calls.get("CreateFile"), Some(&(N as f64)), "{calls:?}");
    assert_eq!(total, N as f64, "{calls:?}");
    // Names this mount removed, renamed away, or never made in a
    // directory it made.
    fs::remove_file(m.p("d/f00")).unwrap();
    fs::rename(m.p("d/f01"), m.p("d/g01")).unwrap();
    fs::create_dir(m.p("d/sub")).unwrap();
    let before = master_calls(&m);
    assert_eq!(errno_of(fs::metadata(m.p("d/f00"))), libc::ENOENT);
    assert_eq!(errno_of(fs::metadata(m.p("d/f01"))), libc::ENOENT);
    assert_eq!(errno_of(fs::metadata(m.p("d/sub/x"))), libc::ENOENT);
    let (calls, total) = delta(&before, &master_calls(&m));
    assert_eq!(total, 0.0, "{calls:?}");
    assert!(fs::metadata(m.p("d/g01")).unwrap().is_file());

    // Another client's new name is not seen within the timeout (as a
    // name it removes would stay visible), but a create of it through the
    // mount fails, and that drops the listing: the name shows at once.
    client
        .create_empty_file("/d/other", Default::default())
        .await
        .unwrap();
    assert_eq!(errno_of(fs::metadata(m.p("d/other"))), libc::ENOENT);
    let excl = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(m.p("d/other"));
    assert_eq!(errno_of(excl), libc::EEXIST);
    assert!(fs::metadata(m.p("d/other")).unwrap().is_file());

    // The mount's view and the cluster's agree on d.
    let mut listed: Vec<_> = fs::read_dir(m.p("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    listed.sort();
    let mut expected: Vec<String> = (2..N).map(|i| format!("f{i:02}")).collect();
    expected.extend(["g01".into(), "other".into(), "sub".into()]);
    expected.sort();
    assert_eq!(listed, expected);
}

/// A file put straight into the UFS shows through the mount once the
/// listing that said its name was missing expires: the refreshed listing
/// has the master merge what the UFS gained since it loaded the directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_added_to_the_ufs_directly_shows_after_the_timeout() {
    let m = Mounted::start("/", "attr_timeout=0.3,entry_timeout=0.3").await;
    fs::create_dir(m.p("d")).unwrap();
    for i in 0..5 {
        fs::write(m.p(&format!("d/f{i}")), b"").unwrap();
    }
    // Listed once: the master has loaded the directory from the UFS.
    assert_eq!(fs::read_dir(m.p("d")).unwrap().count(), 5);
    fs::write(m.cluster.ufs_dir().join("d/direct"), b"from the ufs").unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Keep the directory's listing refreshed (a lookup of a missing name),
    // then wait for it to expire once more: the name must show either way.
    let _ = fs::metadata(m.p("d/none"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let _ = fs::metadata(m.p("d/none2"));
    assert_eq!(fs::read(m.p("d/direct")).unwrap(), b"from the ufs");
    let mut names: Vec<_> = fs::read_dir(m.p("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["direct", "f0", "f1", "f2", "f3", "f4"]);
}
