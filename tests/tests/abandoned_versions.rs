//! Point 13 of issue 17: a version whose writer crashed is ended instead of
//! staying incomplete forever. A FUSE daemon streaming two files (past the
//! write-behind threshold, so the master holds an incomplete version of
//! each) is killed; after `alluxio.master.incomplete.file.timeout` the
//! master makes each file what the UFS holds at its path — the overwritten
//! file's previous bytes, the new file's empty object — and drops the
//! staged objects.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alluxio_tests::fuse::FuseMount;
use alluxio_tests::{test_bytes, Cluster, ClusterOptions};

/// The writer process, killed however the test ends.
struct Writer(std::process::Child);

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const WRITER: &str = r#"
import os, sys, time
fds = [os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) for p in sys.argv[1:]]
chunk = b"x" * (1 << 20)
for _ in range(12):
    for fd in fds:
        os.write(fd, chunk)
print("written", flush=True)
time.sleep(600)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_a_killed_daemon_left_incomplete_are_ended() {
    let cluster = Cluster::start(ClusterOptions {
        properties: vec![(
            "alluxio.master.incomplete.file.timeout".into(),
            "3sec".into(),
        )],
        ..Default::default()
    })
    .await;
    let fs = cluster.client();
    alluxio_tests::put_new(&fs, "/old.txt", &test_bytes(1, 1000)).await;

    let mut fuse = FuseMount::start(&cluster, "/", "");
    let mut writer = Writer(
        Command::new("python3")
            .arg("-c")
            .arg(WRITER)
            .arg(fuse.mnt.join("old.txt"))
            .arg(fuse.mnt.join("new.bin"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = writer.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line
    })
    .await
    .unwrap();
    assert_eq!(line.trim(), "written");
    for path in ["/old.txt", "/new.bin"] {
        let info = fs.get_status(path).await.unwrap();
        assert!(!info.completed, "{path} is not being streamed: {info:?}");
    }
    fuse.kill_daemon();
    drop(writer);

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let old = fs.get_status("/old.txt").await.unwrap();
        let new = fs.get_status("/new.bin").await.unwrap();
        if old.completed && new.completed {
            assert_eq!((old.length, new.length), (1000, 0));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still incomplete: {old:?} {new:?}\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut input = fs.open_file("/old.txt").await.unwrap();
    assert_eq!(
        &input.read_to_end().await.unwrap()[..],
        &test_bytes(1, 1000)[..]
    );
    let staged: Vec<String> = std::fs::read_dir(cluster.ufs_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".alluxio-tmp"))
        .collect();
    assert!(staged.is_empty(), "staged objects left: {staged:?}");
    drop(fuse);
}
