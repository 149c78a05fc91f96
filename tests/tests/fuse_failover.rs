//! Failover under load through the FUSE mount: 3 masters, 2 workers and a
//! real ZooKeeper; `tar xf` of an archive of a few thousand small files into
//! the mount while the leader is SIGKILLed twice (restarted in between).
//! tar must exit 0 and every extracted file must hold exactly its bytes.
//! And a large file streamed (write-behind, no local copy) while the leader
//! is SIGKILLed: every write, fsync and close succeeds, the bytes are exact.
//!
//! The guard's `Drop` unmounts, stops the daemon and kills tar on every path.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alluxio_tests::fuse::FuseMount;
use alluxio_tests::{test_bytes, Cluster, ClusterOptions, Zk};

const FILES_PER_DIR: usize = 100;

/// Directories of [`FILES_PER_DIR`] files in the archive: 24 (2,400 files)
/// by default, about a minute on a 2-core machine with a debug build (each
/// small file is a create, a write committed at close, chmod and utimens
/// through a 3-master cluster); `FUSE_FAILOVER_FILES=5000` runs a larger
/// archive.
fn dirs() -> usize {
    let files: usize = std::env::var("FUSE_FAILOVER_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2400);
    files.div_ceil(FILES_PER_DIR).max(1)
}

/// A cluster with its namespace mounted, and the tar running into it.
struct Mounted {
    tar: Option<Child>,
    // Fields drop in order after `Drop::drop`: unmount, then the cluster.
    _fuse: FuseMount,
    cluster: Cluster,
}

impl Mounted {
    /// Mounts the whole namespace of `cluster`; returns the guard and the
    /// mount point.
    fn mount(cluster: Cluster) -> (Mounted, std::path::PathBuf) {
        let fuse = FuseMount::start(&cluster, "/", "attr_timeout=1,entry_timeout=1");
        let mnt = fuse.mnt.clone();
        let m = Mounted {
            tar: None,
            _fuse: fuse,
            cluster,
        };
        (m, mnt)
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Some(tar) = &mut self.tar {
            let _ = tar.kill();
            let _ = tar.wait();
        }
    }
}

/// Writes the source tree (deterministic sizes and bytes, some empty files
/// and some over one 4 KiB page) and returns the relative paths of its files.
fn make_tree(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for d in 0..dirs() {
        let dir = root.join(format!("dir{d:02}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..FILES_PER_DIR {
            let n = (d * FILES_PER_DIR + f) as u64;
            let len = ((n * 7919) % 9000) as usize;
            let rel = format!("dir{d:02}/file{f:03}.bin");
            fs::write(root.join(&rel), test_bytes(n, len)).unwrap();
            files.push(rel);
        }
    }
    files
}

/// Waits until tar exits or `until` passes; true if it exited.
async fn tar_done(tar: &mut Child, until: Instant) -> bool {
    while Instant::now() < until {
        if tar.try_wait().unwrap().is_some() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tar_into_the_mount_survives_two_leader_kills() {
    let cluster = Cluster::start(ClusterOptions {
        masters: 3,
        workers: 2,
        zookeeper: Zk::Single,
        ..Default::default()
    })
    .await;
    let src = cluster.path().join("src");
    let files = make_tree(&src);
    let archive = cluster.path().join("tree.tar");
    let out = Command::new("tar")
        .arg("cf")
        .arg(&archive)
        .arg("-C")
        .arg(&src)
        .args(["."])
        .output()
        .unwrap();
    assert!(out.status.success(), "tar cf: {out:?}");

    let (mut m, mnt) = Mounted::mount(cluster);
    fs::create_dir(mnt.join("x")).unwrap();

    let started = Instant::now();
    m.tar = Some(
        Command::new("tar")
            .arg("xf")
            .arg(&archive)
            .arg("-C")
            .arg(mnt.join("x"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );

    // Two leader kills while tar runs, each followed by a restart of the
    // killed master once a new leader serves.
    let mut kills_during_tar = 0;
    for round in 0..2 {
        let tar = m.tar.as_mut().unwrap();
        let wait = Duration::from_millis(if round == 0 { 1500 } else { 1000 });
        if tar_done(tar, Instant::now() + wait).await {
            break;
        }
        let old = m.cluster.leader().await;
        m.cluster.kill_master_i(old);
        let killed_at = started.elapsed();
        kills_during_tar += 1;
        let new = m
            .cluster
            .wait_new_leader(old, Duration::from_secs(30))
            .await;
        eprintln!(
            "round {round}: killed leader {old} at {killed_at:?}, master {new} leads at {:?}",
            started.elapsed()
        );
        m.cluster.spawn_master_i(old);
    }

    let tar = m.tar.as_mut().unwrap();
    if !tar_done(tar, Instant::now() + Duration::from_secs(120)).await {
        let extracted: usize = (0..dirs())
            .map(|d| {
                fs::read_dir(mnt.join(format!("x/dir{d:02}")))
                    .map(|r| r.count())
                    .unwrap_or(0)
            })
            .sum();
        panic!(
            "tar did not finish within 120 s ({extracted} of {} files extracted)",
            files.len()
        );
    }
    let tar = m.tar.take().unwrap();
    let out = tar.wait_with_output().unwrap();
    eprintln!(
        "tar of {} files finished after {:?}, {kills_during_tar} leader kill(s) during it",
        files.len(),
        started.elapsed()
    );
    assert!(
        out.status.success(),
        "tar xf exited {}: {}\nlogs:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        m.cluster.logs()
    );
    assert_eq!(kills_during_tar, 2, "tar finished before both kills");

    // Every file, with exactly its bytes: all of them as persisted in the
    // UFS (CACHE_THROUGH), and every third one read back through the mount.
    let mut bad = Vec::new();
    let ufs = m.cluster.ufs_dir().join("x");
    for (i, rel) in files.iter().enumerate() {
        let want = fs::read(src.join(rel)).unwrap();
        let mut places = vec![("ufs", ufs.join(rel))];
        if i % 3 == 0 {
            places.push(("mount", mnt.join("x").join(rel)));
        }
        for (place, path) in places {
            match fs::read(&path) {
                Ok(got) if got == want => {}
                Ok(got) => bad.push(format!(
                    "{rel} ({place}): {} bytes, want {}",
                    got.len(),
                    want.len()
                )),
                Err(e) => bad.push(format!("{rel} ({place}): {e}")),
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} files differ: {:?}",
        bad.len(),
        files.len(),
        &bad[..bad.len().min(10)]
    );
    // And the cluster agrees: the directory listing is complete.
    let names = fs::read_dir(mnt.join("x/dir03")).unwrap().count();
    assert_eq!(names, FILES_PER_DIR);
}

/// A large file written in order streams its new version to the workers
/// without a local copy (write-behind); a leader SIGKILLed in the middle,
/// while blocks are being committed, must not cost the writer anything:
/// every write, the fsync and the close succeed and the file holds exactly
/// its bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_large_write_survives_a_leader_kill() {
    const MIB: usize = 1 << 20;
    const TOTAL: usize = 96 * MIB;
    let cluster = Cluster::start(ClusterOptions {
        masters: 3,
        workers: 1,
        zookeeper: Zk::Single,
        // Many blocks, so the kill lands among block commits.
        properties: vec![("alluxio.user.block.size.bytes.default".into(), "4MB".into())],
        ..Default::default()
    })
    .await;
    let (mut m, mnt) = Mounted::mount(cluster);
    let data = test_bytes(7, TOTAL);
    let path = mnt.join("big.bin");
    let writer = {
        let (path, data) = (path.clone(), data.clone());
        std::thread::spawn(move || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = fs::File::create(&path)?;
            for chunk in data.chunks(MIB) {
                f.write_all(chunk)?;
            }
            f.sync_all()
        })
    };
    // Kill the leader once the stream is well under way.
    let until = Instant::now() + Duration::from_secs(60);
    while fs::metadata(&path).map(|md| md.len()).unwrap_or(0) < 24 * MIB as u64 {
        assert!(Instant::now() < until, "the writer made no progress");
        assert!(!writer.is_finished(), "the writer finished before the kill");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let old = m.cluster.leader().await;
    m.cluster.kill_master_i(old);
    let new = m
        .cluster
        .wait_new_leader(old, Duration::from_secs(30))
        .await;
    eprintln!("killed leader {old}, master {new} leads");
    let written = tokio::task::spawn_blocking(move || writer.join().unwrap())
        .await
        .unwrap();
    if let Err(e) = written {
        panic!("the writer failed: {e}\nlogs:\n{}", m.cluster.logs());
    }
    let got = fs::read(&path).unwrap();
    assert_eq!(got.len(), TOTAL);
    assert!(got == data, "contents differ through the mount");
    let ufs = fs::read(m.cluster.ufs_dir().join("big.bin")).unwrap();
    assert!(ufs == data, "contents differ in the UFS");
}
