//! Fault-tolerant masters (issue 3): leader crashes under load, zombie
//! leaders, repeated crashes, lost replies and graceful handover — each
//! checked against the data the client was told is there.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alluxio_client::{CreateFileOptions, FileSystem};
use alluxio_tests::{test_bytes, Cluster, ClusterOptions};

fn size_of(i: u64) -> usize {
    (i as usize * 131) % 4096 + 1
}

/// Writes `/load/a/f<i>` for each `i` of `seeds`, recording each in `acked`.
async fn write_range(
    fs: &FileSystem,
    seeds: std::ops::Range<u64>,
    acked: &mut BTreeMap<String, u64>,
) {
    for i in seeds {
        let p = format!("/load/a/f{i:05}");
        write_file(fs, &p, i).await.unwrap();
        acked.insert(p, i);
    }
}

async fn write_file(fs: &FileSystem, path: &str, seed: u64) -> alluxio_client::FsResult<()> {
    let mut out = fs
        .create_file(
            path,
            CreateFileOptions {
                recursive: true,
                ..Default::default()
            },
        )
        .await?;
    out.write(&test_bytes(seed, size_of(seed))).await?;
    out.close().await.map(|_| ())
}

/// Every acknowledged file is there exactly once with its bytes, and nothing
/// else is under `dir`.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A client of the master at `addr` alone: no leader discovery, no retries,
/// so a request reaches exactly that (possibly frozen) master.
async fn direct_master(
    addr: &str,
) -> Result<
    alluxio_proto::file_system_master_client::FileSystemMasterClient<tonic::transport::Channel>,
    BoxError,
> {
    Ok(
        alluxio_proto::file_system_master_client::FileSystemMasterClient::connect(format!(
            "http://{addr}"
        ))
        .await?,
    )
}

async fn verify(fs: &FileSystem, dir: &str, acked: &BTreeMap<String, u64>) {
    let listed = fs.list_status(dir, true).await.unwrap();
    let mut files: Vec<String> = listed
        .iter()
        .filter(|i| i.file_type == alluxio_proto::FileType::Regular as i32)
        .map(|i| i.path.clone())
        .collect();
    let total = files.len();
    files.dedup();
    assert_eq!(total, files.len(), "duplicate entries in the listing");
    let want: Vec<String> = acked.keys().cloned().collect();
    assert_eq!(
        files, want,
        "the namespace holds exactly the acknowledged files"
    );
    for (path, seed) in acked {
        let mut input = fs.open_file(path).await.unwrap();
        let data = input.read_to_end().await.unwrap();
        assert_eq!(&data[..], &test_bytes(*seed, size_of(*seed))[..], "{path}");
    }
}

/// Writes files from `tasks` concurrent tasks until `stop`, recording each
/// acknowledged one; any error fails the test.
fn spawn_writers(
    fs: FileSystem,
    tasks: u64,
    limit: u64,
    acked: Arc<Mutex<BTreeMap<String, u64>>>,
    last_ok: Arc<Mutex<Instant>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..tasks)
        .map(|t| {
            let (fs, acked, last_ok) = (fs.clone(), acked.clone(), last_ok.clone());
            tokio::spawn(async move {
                let mut i = t;
                while i < limit {
                    let path = format!("/load/t{t}/f{i:05}");
                    write_file(&fs, &path, i)
                        .await
                        .unwrap_or_else(|e| panic!("{path}: {e}"));
                    acked.lock().unwrap().insert(path, i);
                    *last_ok.lock().unwrap() = Instant::now();
                    i += tasks;
                }
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_crash_under_load_loses_nothing() {
    let mut cluster = Cluster::start(ClusterOptions::ha(3, 2)).await;
    let fs = cluster.client();
    let acked = Arc::new(Mutex::new(BTreeMap::new()));
    let last_ok = Arc::new(Mutex::new(Instant::now()));
    let writers = spawn_writers(fs.clone(), 8, 2000, acked.clone(), last_ok.clone());
    while acked.lock().unwrap().len() < 600 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let leader = cluster.leader().await;
    let killed_at = Instant::now();
    cluster.kill_master_i(leader);
    let before = acked.lock().unwrap().len();
    // Failover time: kill to the first operation acknowledged afterwards.
    let failover = loop {
        if acked.lock().unwrap().len() > before {
            break killed_at.elapsed();
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(60),
            "no progress after the kill"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    println!("failover after SIGKILL: {failover:?} (session timeout 2s)");
    for w in writers {
        w.await.expect("a writer saw an error");
    }
    let new_leader = cluster.leader().await;
    assert_ne!(new_leader, leader);
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), 2000);
    verify(&fs, "/load", &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_zombie_leader_publishes_and_acknowledges_nothing() {
    let mut cluster = Cluster::start(ClusterOptions::ha(2, 1)).await;
    let fs = cluster.client();
    let mut acked = BTreeMap::new();
    write_range(&fs, 0..20, &mut acked).await;
    let old = cluster.leader().await;
    cluster.pause_master(old);
    // A request sent straight to the frozen leader: it will be handled
    // only after SIGCONT, when another master leads.
    let zombie_addr = format!("127.0.0.1:{}", cluster.master_ports[old]);
    let zombie_request = tokio::spawn(async move {
        direct_master(&zombie_addr)
            .await?
            .create_directory(alluxio_proto::CreateDirectoryRequest {
                path: "/zombie-dir".into(),
                recursive: true,
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(BoxError::from)
    });
    let new = cluster.wait_new_leader(old, Duration::from_secs(30)).await;
    write_range(&fs, 20..40, &mut acked).await;
    cluster.resume_master(old);
    let zombie_result = tokio::time::timeout(Duration::from_secs(30), zombie_request)
        .await
        .unwrap()
        .unwrap();
    assert!(zombie_result.is_err(), "the zombie acknowledged a mutation");
    assert!(
        !fs.exists("/zombie-dir").await.unwrap(),
        "the zombie's mutation is visible"
    );
    // The zombie steps down and becomes a standby again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(info) = cluster.master_info(old).await {
            if info.role == "STANDBY" {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the old leader never became a standby"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cluster.leader().await, new);
    verify(&fs, "/load", &acked).await;
    // A fresh replay of the journal reaches the leader's state.
    let store = alluxio_journal::JournalStore::open(
        cluster.journal_dir().to_str().unwrap(),
        &Default::default(),
    )
    .unwrap();
    let replayed = alluxio_master::recovery::recover(&store).await.unwrap();
    let live = fs.list_status("/", true).await.unwrap();
    for info in &live {
        let path = alluxio_common::AlluxioPath::parse(&info.path).unwrap();
        let inode = replayed
            .resolve(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", info.path));
        assert_eq!(
            (inode.id, inode.length, inode.completed),
            (info.id, info.length, info.completed),
            "{}",
            info.path
        );
    }
    assert_eq!(
        replayed.inode_count(),
        live.len() + 1,
        "replay has inodes the leader lacks"
    );
}

/// A leader that freezes after it accepted a request and before it
/// journals it (it stops itself at a failpoint, as in a long GC pause) wakes
/// up after another master took over, writes its entry and must not
/// acknowledge it: on a local journal its append lands in its old segment,
/// and only the newer term's claim tells it that the entry is void.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_frozen_before_journaling_acknowledges_nothing_after_takeover() {
    let mut cluster = Cluster::start(ClusterOptions::ha(2, 1)).await;
    let fs = cluster.client();
    let mut acked = BTreeMap::new();
    write_range(&fs, 0..10, &mut acked).await;
    // Make master `z` the leader, with the pause point armed.
    let first = cluster.leader().await;
    let z = 1 - first;
    cluster.set_master_env(
        z,
        "ALLUXIO_FAILPOINTS",
        "set_attribute_before_commit=/load/a/f00000",
    );
    cluster.kill_master_i(z);
    cluster.start_master_i(z).await;
    cluster.kill_master_i(first);
    assert_eq!(
        cluster
            .wait_new_leader(first, Duration::from_secs(30))
            .await,
        z
    );
    cluster.start_master_i(first).await;
    write_range(&fs, 10..20, &mut acked).await;
    let before = fs.get_status("/load/a/f00000").await.unwrap().mode & 0o777;
    assert_ne!(before, 0o600);
    let zombie_addr = format!("127.0.0.1:{}", cluster.master_ports[z]);
    let zombie_request = tokio::spawn(async move {
        direct_master(&zombie_addr)
            .await?
            .set_attribute(alluxio_proto::SetAttributeRequest {
                path: "/load/a/f00000".into(),
                mode: Some(0o600),
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(BoxError::from)
    });
    cluster.wait_master_stopped(z, "frozen leader").await;
    let new = cluster.wait_new_leader(z, Duration::from_secs(30)).await;
    write_range(&fs, 20..30, &mut acked).await;
    cluster.resume_master(z);
    let zombie_result = tokio::time::timeout(Duration::from_secs(30), zombie_request)
        .await
        .unwrap()
        .unwrap();
    assert!(
        zombie_result.is_err(),
        "the frozen leader acknowledged a mutation"
    );
    let log = std::fs::read_to_string(cluster.master_log_path(z)).unwrap_or_default();
    assert!(
        log.contains("continued"),
        "the failpoint was not passed: {log}"
    );
    // The new leader still leads and never saw the entry (a set-attribute
    // touches nothing in the UFS, so nothing else can bring it back).
    assert_eq!(cluster.leader().await, new);
    let mode = |info: alluxio_proto::FileInfo| info.mode & 0o777;
    assert_eq!(mode(fs.get_status("/load/a/f00000").await.unwrap()), before);
    write_range(&fs, 30..35, &mut acked).await;
    verify(&fs, "/load", &acked).await;
    // A fresh replay of the journal ignores the void entry too.
    let store = alluxio_journal::JournalStore::open(
        cluster.journal_dir().to_str().unwrap(),
        &Default::default(),
    )
    .unwrap();
    let replayed = alluxio_master::recovery::recover(&store).await.unwrap();
    let replayed_mode = replayed
        .resolve(&alluxio_common::AlluxioPath::parse("/load/a/f00000").unwrap())
        .unwrap()
        .mode
        & 0o777;
    assert_eq!(replayed_mode, before);
    let live = fs.list_status("/", true).await.unwrap();
    assert_eq!(replayed.inode_count(), live.len() + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_leader_crashes_under_continuous_load() {
    let mut cluster = Cluster::start(ClusterOptions::ha(3, 1)).await;
    let fs = cluster.client();
    let acked = Arc::new(Mutex::new(BTreeMap::new()));
    let last_ok = Arc::new(Mutex::new(Instant::now()));
    let writers = spawn_writers(fs.clone(), 4, u64::MAX, acked.clone(), last_ok.clone());
    for round in 0..10 {
        let before = acked.lock().unwrap().len();
        let leader = cluster.leader().await;
        cluster.kill_master_i(leader);
        let started = Instant::now();
        while acked.lock().unwrap().len() <= before + 20 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "round {round}: no progress"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        println!(
            "round {round}: progress {:?} after killing master {leader}",
            started.elapsed()
        );
        cluster.start_master_i(leader).await;
    }
    for w in &writers {
        w.abort();
    }
    for w in writers {
        if let Err(e) = w.await {
            assert!(e.is_cancelled(), "a writer failed: {e}");
        }
    }
    // Files in flight when the writers were stopped may or may not exist;
    // every acknowledged one must, exactly once and intact.
    let acked = acked.lock().unwrap().clone();
    let listed = fs.list_status("/load", true).await.unwrap();
    let mut seen = std::collections::HashSet::new();
    for info in listed
        .iter()
        .filter(|i| i.file_type == alluxio_proto::FileType::Regular as i32)
    {
        assert!(seen.insert(info.path.clone()), "duplicate {}", info.path);
    }
    for (path, seed) in &acked {
        assert!(seen.contains(path), "{path} lost");
        let mut input = fs.open_file(path).await.unwrap();
        assert_eq!(
            &input.read_to_end().await.unwrap()[..],
            &test_bytes(*seed, size_of(*seed))[..]
        );
    }
    assert!(
        seen.len() <= acked.len() + 4,
        "more files than acknowledged plus in-flight"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_reply_was_lost_returns_its_original_result() {
    let mut cluster = Cluster::start(ClusterOptions::ha(2, 1)).await;
    let fs = cluster.client();
    write_file(&fs, "/warmup", 1).await.unwrap();
    // Re-start the standby with the crash point armed, then make it lead.
    let leader = cluster.leader().await;
    let standby = 1 - leader;
    cluster.kill_master_i(standby);
    cluster.set_master_env(standby, "ALLUXIO_FAILPOINTS", "create_file_after_publish");
    cluster.start_master_i(standby).await;
    cluster.kill_master_i(leader);
    assert_eq!(
        cluster
            .wait_new_leader(leader, Duration::from_secs(30))
            .await,
        standby
    );
    cluster.start_master_i(leader).await;
    // The armed leader publishes the create, then dies before replying; the
    // client retries on the other master and must get the original file.
    let out = fs
        .create_file("/lost-reply", CreateFileOptions::default())
        .await
        .unwrap();
    let log = cluster.master_log_i(standby);
    assert!(
        log.contains("failpoint create_file_after_publish reached"),
        "failpoint never fired:\n{log}"
    );
    let id = out.info().id;
    out.close().await.unwrap();
    let info = fs.get_status("/lost-reply").await.unwrap();
    assert_eq!(info.id, id, "the retry created a second file");
    assert!(info.completed);
    let all = fs.list_status("/", false).await.unwrap();
    assert_eq!(all.iter().filter(|i| i.name == "lost-reply").count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_over_fast_and_workers_follow() {
    let mut cluster = Cluster::start(ClusterOptions::ha(2, 1)).await;
    let fs = cluster.client();
    write_file(&fs, "/cached", 5).await.unwrap();
    let info = fs.get_status("/cached").await.unwrap();
    assert!(!info.blocks[0].locations.is_empty());
    let old = cluster.leader().await;
    let started = Instant::now();
    let code = cluster.terminate_master_i(old);
    assert_eq!(code, Some(0), "leader did not exit cleanly on SIGTERM");
    let new = cluster.wait_new_leader(old, Duration::from_secs(10)).await;
    let handover = started.elapsed();
    println!("SIGTERM handover: {handover:?}");
    assert_ne!(new, old);
    assert!(
        handover < Duration::from_secs(2),
        "handover took {handover:?}"
    );
    // Reads keep working; the worker re-registers with its blocks.
    let mut input = fs.open_file("/cached").await.unwrap();
    assert_eq!(
        &input.read_to_end().await.unwrap()[..],
        &test_bytes(5, size_of(5))[..]
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let info = fs.get_status("/cached").await.unwrap();
        if !info.blocks[0].locations.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "worker did not re-register with its blocks"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "worker re-registered {:?} after the handover began",
        started.elapsed()
    );
}
