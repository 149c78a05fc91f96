//! Process lifecycle: servers stop cleanly on SIGTERM, and the one-command
//! local cluster starts, serves and stops.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use alluxio_tests::{free_port, Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_exit_zero_on_sigterm_and_master_restart_relearns_blocks() {
    let mut cluster = Cluster::start(ClusterOptions::default()).await;
    let fs = cluster.client();
    let mut out = fs.create_file("/f", Default::default()).await.unwrap();
    out.write(&[7u8; 3000]).await.unwrap();
    out.close().await.unwrap();
    assert_eq!(cluster.master().terminate(Duration::from_secs(10)), Some(0));
    // The worker keeps running while the master is away...
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.start_master().await;
    // ...and registers again with its blocks, so locations are known.
    cluster.wait_live_workers(1, Duration::from_secs(20)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = fs.get_status("/f").await.unwrap();
        if !info.blocks[0].locations.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "block locations not re-reported");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cluster.terminate_worker(0), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_cluster_command_starts_serves_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mport, wport) = (free_port(), free_port());
    let props = [
        format!("-Dalluxio.master.rpc.port={mport}"),
        format!("-Dalluxio.master.web.port={}", free_port()),
        format!("-Dalluxio.worker.rpc.port={wport}"),
        format!("-Dalluxio.worker.web.port={}", free_port()),
        format!(
            "-Dalluxio.worker.tieredstore.level0.dirs.path={}",
            dir.path().join("mem").display()
        ),
    ];
    let mut child = std::process::Command::new(alluxio_tests::bin_path("alluxio"))
        .env("HOME", dir.path())
        .env_remove("ALLUXIO_CONF_DIR")
        .args(&props)
        .arg("local")
        .arg("--data-dir")
        .arg(&data)
        .args(["-o", "direct_io"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ready = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap_or_default();
            seen.push_str(&line);
            seen.push('\n');
            // The summary ends with the Ctrl-C hint.
            if line.contains("Press Ctrl-C") {
                return (seen.to_lowercase().contains("ready"), seen);
            }
        }
        (false, seen)
    });
    let started = Instant::now();
    while !ready.is_finished() && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (ok, seen) = ready.join().unwrap();
    assert!(ok, "local cluster did not report ready:\n{seen}");
    let cli = |args: &[&str]| {
        std::process::Command::new(alluxio_tests::bin_path("alluxio"))
            .env("HOME", dir.path())
            .arg(format!("-Dalluxio.master.rpc.port={mport}"))
            .args(args)
            .output()
            .unwrap()
    };
    assert!(cli(&["fs", "mkdir", "/hello"]).status.success());
    let ls = cli(&["fs", "ls", "/"]);
    assert!(String::from_utf8_lossy(&ls.stdout).contains("/hello"));
    assert!(
        data.join("underFSStorage/hello").is_dir(),
        "UFS not under the data dir"
    );
    assert!(
        data.join("journal/FORMAT").exists(),
        "journal not formatted"
    );
    // The namespace is mounted at <data>/mnt (and the summary says so).
    let mnt = data.join("mnt");
    let _unmount = LazyUnmount(mnt.clone());
    assert!(
        seen.contains(&format!("Mount:       {}", mnt.display())),
        "{seen}"
    );
    assert!(is_alluxio_mount(&mnt), "{} is not mounted", mnt.display());
    // `-o` reaches the mount's daemon.
    let daemon_args = fuse_daemon_args(&mnt);
    assert!(
        daemon_args.windows(2).any(|w| w == ["-o", "direct_io"]),
        "alluxio-fuse was not given -o direct_io: {daemon_args:?}"
    );
    assert!(mnt.join("hello").is_dir());
    std::fs::write(mnt.join("hosts"), b"127.0.0.1 localhost\n").unwrap();
    let cat = cli(&["fs", "cat", "/hosts"]);
    assert_eq!(cat.stdout, b"127.0.0.1 localhost\n");
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0));
            break;
        }
        assert!(Instant::now() < deadline, "alluxio local did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!is_alluxio_mount(&mnt), "the mount outlived alluxio local");
}

/// The command line of the `alluxio-fuse` process serving `mnt`.
fn fuse_daemon_args(mnt: &std::path::Path) -> Vec<String> {
    let mnt = mnt.to_string_lossy();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.first().is_some_and(|a| a.ends_with("alluxio-fuse"))
            && args.iter().any(|a| *a == *mnt)
        {
            return args;
        }
    }
    panic!("no alluxio-fuse process serves {mnt}");
}

/// Lazily unmounts a path when dropped, so a failed test leaves no mount.
struct LazyUnmount(std::path::PathBuf);

impl Drop for LazyUnmount {
    fn drop(&mut self) {
        if is_alluxio_mount(&self.0) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .output();
        }
    }
}

/// Whether an alluxio-fuse mount (source `alluxio:...`) sits at `mnt`.
fn is_alluxio_mount(mnt: &std::path::Path) -> bool {
    let Ok(canon) = std::fs::canonicalize(mnt) else {
        return false;
    };
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines().any(|l| {
        l.split(' ').nth(4) == canon.to_str()
            && l.split(" - ")
                .nth(1)
                .and_then(|t| t.split(' ').nth(1))
                .is_some_and(|s| s.starts_with("alluxio:"))
    })
}
