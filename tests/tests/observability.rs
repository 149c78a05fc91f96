//! Operations (issue 5): the servers' web ports serve Prometheus metrics and
//! a status page, the FUSE daemon can too, and a server with nobody reading
//! its stderr logs to a size-rotated file under `alluxio.logs.dir`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use alluxio_tests::fuse::FuseMount;
use alluxio_tests::http::{get, metric, scrape};
use alluxio_tests::{free_port, test_bytes, Cluster, ClusterOptions};

/// Waits (up to 10 s) until `check` holds for the metrics of `port`.
async fn wait_metrics(port: u16, what: &str, check: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(port);
        if check(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "{what} never held:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_and_worker_serve_metrics_and_status_pages() {
    let cluster = Cluster::start(ClusterOptions::default()).await;
    let local = cluster.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    for i in 0..3u64 {
        let file = local.join(format!("f{i}"));
        std::fs::write(&file, test_bytes(i, 100_000)).unwrap();
        cluster
            .cli(&[
                "fs",
                "copyFromLocal",
                file.to_str().unwrap(),
                &format!("/f{i}"),
            ])
            .ok();
    }
    // Written to the UFS only: the first read is a cache miss (read
    // through and cached), the second a hit.
    let through = local.join("through");
    std::fs::write(&through, test_bytes(9, 200_000)).unwrap();
    cluster
        .cli(&[
            "-Dalluxio.user.file.writetype.default=THROUGH",
            "fs",
            "copyFromLocal",
            through.to_str().unwrap(),
            "/through",
        ])
        .ok();

    let master = scrape(cluster.master_web_port(0));
    let creates = metric(
        &master,
        "alluxio_rpc_requests_total",
        &[("method", "CreateFile"), ("code", "Ok")],
    );
    assert!(
        creates >= Some(4.0),
        "CreateFile count {creates:?}:\n{master}"
    );
    assert!(
        metric(
            &master,
            "alluxio_rpc_duration_seconds_count",
            &[("method", "CreateFile")]
        ) >= Some(4.0),
        "{master}"
    );
    assert_eq!(metric(&master, "alluxio_master_is_leader", &[]), Some(1.0));
    assert_eq!(
        metric(&master, "alluxio_master_standby_lag_entries", &[]),
        Some(0.0)
    );
    assert!(metric(&master, "alluxio_master_journal_sequence", &[]) > Some(8.0));
    let batches = metric(
        &master,
        "alluxio_master_journal_publish_duration_seconds_count",
        &[],
    );
    assert!(batches >= Some(4.0), "{master}");
    assert!(
        metric(&master, "alluxio_master_journal_batch_entries_sum", &[]) >= batches,
        "{master}"
    );
    assert_eq!(
        metric(&master, "alluxio_master_workers_live", &[]),
        Some(1.0)
    );
    assert_eq!(
        metric(&master, "alluxio_master_cluster_capacity_bytes", &[]),
        Some((256u64 << 20) as f64)
    );

    let worker_port = cluster.worker_web_port(0);
    let worker = scrape(worker_port);
    assert_eq!(
        metric(
            &worker,
            "alluxio_worker_tier_capacity_bytes",
            &[("tier", "MEM")]
        ),
        Some((256u64 << 20) as f64),
        "{worker}"
    );
    assert!(
        metric(
            &worker,
            "alluxio_worker_tier_used_bytes",
            &[("tier", "MEM")]
        ) >= Some(300_000.0),
        "{worker}"
    );
    assert!(
        metric(
            &worker,
            "alluxio_rpc_requests_total",
            &[("service", "BlockWorker")]
        ) > Some(0.0),
        "{worker}"
    );
    let hits = |text: &str| metric(text, "alluxio_worker_cache_hits_total", &[]).unwrap_or(0.0);
    let misses = |text: &str| metric(text, "alluxio_worker_cache_misses_total", &[]).unwrap_or(0.0);
    let (hits0, misses0) = (hits(&worker), misses(&worker));
    let first = cluster.cli(&["fs", "cat", "/through"]).ok();
    assert_eq!(first.bytes, test_bytes(9, 200_000));
    let after_first = scrape(worker_port);
    assert!(misses(&after_first) > misses0, "{after_first}");
    // The worker caches the block; wait until it is committed, then the
    // second read is served from the cache.
    let cached = wait_metrics(worker_port, "the read-through block is cached", |t| {
        metric(t, "alluxio_worker_tier_used_bytes", &[("tier", "MEM")]) >= Some(500_000.0)
    })
    .await;
    let hits1 = hits(&cached);
    let second = cluster.cli(&["fs", "cat", "/through"]).ok();
    assert_eq!(second.bytes, test_bytes(9, 200_000));
    let after_second = scrape(worker_port);
    assert!(hits(&after_second) > hits1, "{after_second}");
    assert!(hits1 >= hits0);

    let (code, status) = get(cluster.master_web_port(0), "/").unwrap();
    assert_eq!(code, 200);
    let leader = format!("127.0.0.1:{}", cluster.master_port);
    for needle in [
        "role:            LEADER",
        &format!("leader:          {leader}"),
        "journal:         sequence",
        "workers:         1 live, 0 lost",
        &format!("127.0.0.1:{}", cluster.worker_ports[0]),
        "MEM",
    ] {
        assert!(status.contains(needle), "{needle:?} missing:\n{status}");
    }
    let (code, status) = get(worker_port, "/").unwrap();
    assert_eq!(code, 200);
    // The worker's id is its identity, kept in its top tier.
    let identity =
        std::fs::read_to_string(cluster.path().join("worker0/alluxioworker/.identity")).unwrap();
    let id_line = format!("worker id:  {}", identity.trim());
    for needle in ["MEM", &format!("master:     {leader}"), &id_line] {
        assert!(status.contains(needle), "{needle:?} missing:\n{status}");
    }
    assert_eq!(get(worker_port, "/nope").unwrap().0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_web_port_is_a_clear_error_naming_the_key() {
    let mut cluster = Cluster::start(ClusterOptions::default()).await;
    let busy = cluster.master_web_port(0);
    let out = cluster
        .command("alluxio-worker")
        .arg(format!("-Dalluxio.worker.rpc.port={}", free_port()))
        .arg(format!("-Dalluxio.worker.web.port={busy}"))
        .arg(format!(
            "-Dalluxio.worker.tieredstore.level0.dirs.path={}",
            cluster.path().join("second-worker").display()
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("alluxio.worker.web.port") && err.contains(&busy.to_string()),
        "{err}"
    );
    // The web server does not hold up a graceful stop.
    assert_eq!(cluster.terminate_worker(0), Some(0));
    assert_eq!(
        cluster.terminate_master_i(0),
        Some(0),
        "{}",
        cluster.master_log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuse_daemon_serves_operation_counts() {
    let fuse_port = free_port();
    let cluster = Cluster::start(ClusterOptions {
        properties: vec![
            ("alluxio.fuse.web.enabled".into(), "true".into()),
            ("alluxio.fuse.web.port".into(), fuse_port.to_string()),
        ],
        ..Default::default()
    })
    .await;
    let fuse = FuseMount::start(&cluster, "/", "");
    std::fs::write(fuse.mnt.join("a"), b"hello").unwrap();
    assert_eq!(std::fs::read(fuse.mnt.join("a")).unwrap(), b"hello");
    assert!(std::fs::metadata(fuse.mnt.join("missing")).is_err());
    let text = scrape(fuse_port);
    for op in ["lookup", "create", "write", "flush", "read"] {
        assert!(
            metric(&text, "alluxio_fuse_operations_total", &[("op", op)]) > Some(0.0),
            "no {op}:\n{text}"
        );
    }
    assert!(
        metric(&text, "alluxio_fuse_errors_total", &[("kind", "NotFound")]) >= Some(1.0),
        "{text}"
    );
    // Closing a read-only file costs no FLUSH (FOPEN_NOFLUSH); closing a
    // written one does (its commit's error is close(2)'s).
    let flushes = |text: &str| metric(text, "alluxio_fuse_operations_total", &[("op", "flush")]);
    let before = flushes(&text);
    for _ in 0..5 {
        assert_eq!(std::fs::read(fuse.mnt.join("a")).unwrap(), b"hello");
    }
    let text = scrape(fuse_port);
    assert_eq!(flushes(&text), before, "read-only closes flushed:\n{text}");
    std::fs::write(fuse.mnt.join("a"), b"again").unwrap();
    let text = scrape(fuse_port);
    assert!(
        flushes(&text) > before,
        "a written file's close did not flush"
    );
    let (code, status) = get(fuse_port, "/").unwrap();
    assert_eq!(code, 200);
    assert!(status.contains("mount point:"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_nobody_watches_logs_to_a_rotated_file() {
    let cluster = Cluster::start(ClusterOptions {
        workers: 0,
        ..Default::default()
    })
    .await;
    let logs = cluster.path().join("detached-logs");
    // stderr to /dev/null, no terminal, no systemd: AUTO picks the file.
    // Debug logging fills the 1 KiB limit within seconds.
    let mut worker = cluster
        .command("alluxio-worker")
        .env_remove("RUST_LOG")
        .arg(format!("-Dalluxio.worker.rpc.port={}", free_port()))
        .arg(format!("-Dalluxio.worker.web.port={}", free_port()))
        .arg(format!(
            "-Dalluxio.worker.tieredstore.level0.dirs.path={}",
            cluster.path().join("w").display()
        ))
        .arg(format!("-Dalluxio.logs.dir={}", logs.display()))
        .arg("-Dalluxio.logs.level=debug")
        .arg("-Dalluxio.logs.max.size=1KB")
        .arg("-Dalluxio.logs.max.files=2")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rotated = logs.join("worker.log.2").exists();
        let all: String = ["worker.log.2", "worker.log.1", "worker.log"]
            .iter()
            .map(|f| std::fs::read_to_string(logs.join(f)).unwrap_or_default())
            .collect();
        if rotated && all.contains("DEBUG") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no rotated debug log in {logs:?}:\n{all}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // SAFETY: our own child.
    unsafe {
        libc::kill(worker.id() as i32, libc::SIGTERM);
    }
    let status = worker.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        !logs.join("worker.log.3").exists(),
        "only 2 rotated files kept"
    );
    for file in ["worker.log", "worker.log.1", "worker.log.2"] {
        let size = std::fs::metadata(logs.join(file)).unwrap().len();
        assert!(size <= 1024, "{file} is {size} bytes");
    }
    // The last lines: debug lines of connections closing may follow the
    // final message and rotate it into the previous file.
    let last: String = ["worker.log.1", "worker.log"]
        .iter()
        .map(|f| std::fs::read_to_string(logs.join(f)).unwrap_or_default())
        .collect();
    assert!(last.contains("alluxio-worker stopped"), "{last}");
    // The harness keeps the master's stderr: its lines stay there.
    assert!(cluster.master_log().contains("serving on"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_reports_its_lag_and_not_leading() {
    let cluster = Cluster::start(ClusterOptions::ha(2, 0)).await;
    let leader = cluster.leader().await;
    let standby = 1 - leader;
    let fs = cluster.client();
    for i in 0..5 {
        fs.create_directory(&format!("/d{i}"), Default::default())
            .await
            .unwrap();
    }
    let leading = scrape(cluster.master_web_port(leader));
    assert_eq!(metric(&leading, "alluxio_master_is_leader", &[]), Some(1.0));
    let seq = metric(&leading, "alluxio_master_journal_sequence", &[]).unwrap();
    let text = wait_metrics(
        cluster.master_web_port(standby),
        "the standby catches up",
        |t| metric(t, "alluxio_master_journal_sequence", &[]) >= Some(seq),
    )
    .await;
    assert_eq!(metric(&text, "alluxio_master_is_leader", &[]), Some(0.0));
    // The lag is measured once a second against the leader's position.
    wait_metrics(cluster.master_web_port(standby), "lag 0", |t| {
        metric(t, "alluxio_master_standby_lag_entries", &[]) == Some(0.0)
    })
    .await;
    let (_, status) = get(cluster.master_web_port(standby), "/").unwrap();
    assert!(status.contains("role:            STANDBY"), "{status}");
    assert!(status.contains("standby lag:"), "{status}");
}
