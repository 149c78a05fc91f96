//! Point 5 of issue 17: concurrent operations on the same names keep the
//! namespace and the UFS in step. Renames, deletes and overwrites race over
//! three names, each operation held half a second between its UFS step and
//! its commit (a delay failpoint). Afterwards every file of the namespace
//! has, in the UFS at its path, exactly the bytes its own blocks hold (read
//! from the worker's cache), and the UFS holds no other file.

use std::time::Duration;

use alluxio_client::{CreateFileOptions, FileSystem};
use alluxio_tests::{Cluster, ClusterOptions};

const NAMES: [&str; 3] = ["/f0", "/f1", "/f2"];

fn content(writer: usize, round: usize) -> Vec<u8> {
    format!("writer {writer} round {round}\n")
        .repeat(100 + writer * 37 + round)
        .into_bytes()
}

#[derive(Clone, Copy)]
enum Op {
    Rename(&'static str, &'static str),
    Delete(&'static str),
    Overwrite(&'static str, usize),
}

impl Op {
    /// Runs the operation; a lost race (NotFound, ...) is fine.
    async fn run(self, fs: FileSystem) {
        match self {
            Op::Rename(a, b) => {
                let _ = fs.rename(a, b).await;
            }
            Op::Delete(a) => {
                let _ = fs.delete(a, Default::default()).await;
            }
            Op::Overwrite(a, seed) => overwrite(&fs, a, &content(seed, seed)).await,
        }
    }
}

async fn overwrite(fs: &FileSystem, path: &str, data: &[u8]) {
    let opts = CreateFileOptions {
        overwrite: true,
        ..Default::default()
    };
    // Losing a race (the name moved or vanished meanwhile) is fine; what was
    // acknowledged must be consistent.
    if let Ok(mut out) = fs.create_file(path, opts).await {
        if out.write(data).await.is_ok() {
            let _ = out.close().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_renames_deletes_and_overwrites_keep_names_and_bytes_together() {
    let mut cluster = Cluster::start(ClusterOptions::default()).await;
    cluster.set_master_env(0, "ALLUXIO_FAILPOINTS", "ufs_step_before_commit");
    cluster.start_master().await;
    cluster.wait_live_workers(1, Duration::from_secs(30)).await;
    let fs = cluster.client();
    // Pairs of operations on the same names, the second started while the
    // first sits between its UFS step and its commit.
    let rounds: [[Op; 2]; 4] = [
        [Op::Rename("/g", "/f"), Op::Delete("/f")],
        [Op::Rename("/a", "/t"), Op::Rename("/b", "/t")],
        [Op::Overwrite("/f", 7), Op::Rename("/g", "/f")],
        [Op::Delete("/t"), Op::Rename("/f", "/t")],
    ];
    for (round, ops) in rounds.iter().enumerate() {
        for (i, name) in ["/a", "/b", "/f", "/g", "/t"].iter().enumerate() {
            if !fs.exists(name).await.unwrap() {
                overwrite(&fs, name, &content(i, round)).await;
            }
        }
        let first = tokio::spawn(ops[0].run(cluster.client()));
        tokio::time::sleep(Duration::from_millis(150)).await;
        ops[1].run(cluster.client()).await;
        first.await.unwrap();
        check_in_step(&cluster, &fs, &format!("after round {round}")).await;
    }
    // And some of each at random over three names.
    let mut tasks = Vec::new();
    for worker in 0..3 {
        let fs = cluster.client();
        tasks.push(tokio::spawn(async move {
            for round in 0..4 {
                let a = NAMES[(worker + round) % 3];
                let b = NAMES[(worker + round + 1) % 3];
                match worker {
                    0 => overwrite(&fs, a, &content(worker, round)).await,
                    1 => {
                        let _ = fs.rename(a, b).await;
                    }
                    _ => {
                        let _ = fs.delete(b, Default::default()).await;
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    check_in_step(&cluster, &fs, "after the random rounds").await;
}

/// A client that gives up on a rename (its call times out) while the master
/// is between the UFS step and the commit: the rename still completes, so
/// the namespace and the UFS agree. Run inline, the handler was dropped
/// with the call, after the UFS had moved the bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_its_client_gave_up_on_still_completes() {
    let mut cluster = Cluster::start(ClusterOptions::default()).await;
    cluster.set_master_env(0, "ALLUXIO_FAILPOINTS", "ufs_step_before_commit");
    cluster.start_master().await;
    cluster.wait_live_workers(1, Duration::from_secs(30)).await;
    let fs = cluster.client();
    overwrite(&fs, "/a", &content(1, 1)).await;
    let mut raw = alluxio_proto::file_system_master_client::FileSystemMasterClient::connect(
        format!("http://127.0.0.1:{}", cluster.master_port),
    )
    .await
    .unwrap();
    let gave_up = tokio::time::timeout(
        Duration::from_millis(150),
        raw.rename(alluxio_proto::RenameRequest {
            src: "/a".into(),
            dst: "/b".into(),
            ..Default::default()
        }),
    )
    .await;
    assert!(gave_up.is_err(), "the rename answered within 150 ms");
    drop(raw);
    tokio::time::sleep(Duration::from_secs(2)).await;
    check_in_step(&cluster, &fs, "after a rename its client gave up on").await;
    assert_eq!(alluxio_tests::names(&fs, "/").await, ["b"]);
}

/// Point 4 of issue 17, the overwrite: a master that dies after starting to
/// replace a file but before journaling the new one leaves the old file
/// whole. It used to delete the old UFS object first: the namespace then
/// named a persisted file whose bytes were gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overwrite_cut_short_by_a_crash_leaves_the_old_file() {
    let mut cluster = Cluster::start(ClusterOptions::default()).await;
    cluster.expect_log("failpoint create_file_before_commit");
    let fs = cluster.client();
    overwrite(&fs, "/f", &content(1, 1)).await;
    cluster.set_master_env(0, "ALLUXIO_FAILPOINTS", "create_file_before_commit");
    cluster.start_master().await;
    let mut raw = alluxio_proto::file_system_master_client::FileSystemMasterClient::connect(
        format!("http://127.0.0.1:{}", cluster.master_port),
    )
    .await
    .unwrap();
    let cut = raw
        .create_file(alluxio_proto::CreateFileRequest {
            path: "/f".into(),
            overwrite: true,
            write_type: alluxio_proto::WriteType::CacheThrough as i32,
            ..Default::default()
        })
        .await;
    assert!(cut.is_err(), "the master answered: {cut:?}");
    cluster.clear_master_env(0);
    cluster.start_master().await;
    // Read from the UFS, not from the worker's cache.
    fs.free("/f", false).await.unwrap();
    let mut input = fs.open_file("/f").await.unwrap();
    assert_eq!(&input.read_to_end().await.unwrap()[..], &content(1, 1)[..]);
    check_in_step(&cluster, &fs, "after an overwrite cut short").await;
}

/// Campaign seed 419 (issue 18): a delete whose UFS step kept failing
/// (every `fsync` EIO) while the leader's lease lapsed — a ZooKeeper pause
/// shorter than the session, after which the same master leads on — gave
/// up and answered with its intent still open. The file was then written
/// again, and the next leader, completing that stale intent, deleted the
/// new file's UFS object. Now a step is retried until the term is over,
/// not until the lease lapses, and no intent stays open behind an answer.
/// (`lease_lapsed` makes the master's lease check fail, as the pause did.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_lease_leaves_no_intent_open_behind_an_answer() {
    let mut cluster = Cluster::start(ClusterOptions::default()).await;
    let fs = cluster.client();
    overwrite(&fs, "/f", &content(1, 1)).await;
    cluster.arm("master0", "ufs_fsync_eio,lease_lapsed");
    // The master reads its failpoints file again every 100 ms.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deleting = {
        let fs = fs.clone();
        tokio::spawn(async move { fs.delete("/f", Default::default()).await })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.arm("master0", "");
    let deleted = deleting.await.unwrap();
    assert!(deleted.is_ok(), "the delete failed: {deleted:?}");
    overwrite(&fs, "/f", &content(2, 2)).await;
    // The next leader completes whatever intent was left open.
    cluster.kill_master();
    cluster.start_master().await;
    fs.free("/f", false).await.unwrap();
    let mut input = fs.open_file("/f").await.unwrap();
    assert_eq!(&input.read_to_end().await.unwrap()[..], &content(2, 2)[..]);
    check_in_step(
        &cluster,
        &fs,
        "after a delete retried through a lapsed lease",
    )
    .await;
}

/// Every file of the namespace has its own bytes in the UFS at its path,
/// and the UFS holds no other file.
async fn check_in_step(cluster: &Cluster, fs: &FileSystem, when: &str) {
    let ufs = cluster.ufs_dir();
    let mut in_ufs: Vec<String> = std::fs::read_dir(&ufs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".alluxio-tmp"))
        .collect();
    in_ufs.sort();
    let mut in_namespace = Vec::new();
    for info in fs.list_status("/", false).await.unwrap() {
        assert!(info.persisted, "{} is not persisted", info.path);
        // The file's own bytes, from its cached blocks.
        let mut input = fs.open_file(&info.path).await.unwrap();
        let cached = input.read_to_end().await.unwrap();
        let stored = std::fs::read(ufs.join(&info.name)).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&stored[..stored.len().min(40)]),
            String::from_utf8_lossy(&cached[..cached.len().min(40)]),
            "{when}: {}: the UFS holds another file's bytes ({} vs {} bytes)",
            info.path,
            stored.len(),
            cached.len()
        );
        assert_eq!(stored, cached, "{}", info.path);
        in_namespace.push(info.name);
    }
    in_namespace.sort();
    assert_eq!(
        in_ufs, in_namespace,
        "{when}: the UFS and the namespace list other files"
    );
}

/// Where the test reads what the UFS holds: the cluster's local UFS folder,
/// or the `root/` prefix of the S3 bucket.
enum Store<'a> {
    Local(std::path::PathBuf),
    S3(&'a alluxio_tests::s3::S3Server),
}

impl Store<'_> {
    /// The names at the UFS root (staging objects left out), a directory's
    /// with a trailing `/`, sorted.
    fn top(&self) -> Vec<String> {
        let mut names: Vec<String> = match self {
            Store::Local(dir) => std::fs::read_dir(dir)
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    let name = e.file_name().to_string_lossy().into_owned();
                    if e.file_type().unwrap().is_dir() {
                        format!("{name}/")
                    } else {
                        name
                    }
                })
                .collect(),
            Store::S3(s3) => s3
                .list("root/")
                .into_iter()
                .filter_map(|k| {
                    let rest = k.strip_prefix("root/")?.to_string();
                    match rest.split_once('/') {
                        Some((dir, _)) => Some(format!("{dir}/")),
                        None if rest.is_empty() => None,
                        None => Some(rest),
                    }
                })
                .collect(),
        };
        names.retain(|n| !n.contains(".alluxio-tmp") && !n.contains(".alluxio-xchg"));
        names.sort();
        names.dedup();
        names
    }
}

/// Writes `data` at `path` (persisted, the default write type).
async fn put(fs: &FileSystem, path: &str, data: &[u8]) {
    let opts = CreateFileOptions {
        recursive: true,
        ..Default::default()
    };
    let mut out = fs.create_file(path, opts).await.unwrap();
    out.write(data).await.unwrap();
    out.close().await.unwrap();
}

/// What the test expects at the root: a file's bytes, or `None` for a
/// directory.
type Model = std::collections::BTreeMap<&'static str, Option<Vec<u8>>>;

/// The namespace's root holds exactly the entries of `model`, each file
/// with its bytes as read back from the UFS (the cache freed first), and
/// the UFS root holds exactly those names.
async fn check_model(fs: &FileSystem, store: &Store<'_>, model: &Model, when: &str) {
    let names: Vec<String> = model.keys().map(|k| k.to_string()).collect();
    assert_eq!(
        alluxio_tests::names(fs, "/").await,
        names,
        "{when}: the namespace"
    );
    let in_ufs: Vec<String> = model
        .iter()
        .map(|(k, v)| match v {
            Some(_) => k.to_string(),
            None => format!("{k}/"),
        })
        .collect();
    assert_eq!(store.top(), in_ufs, "{when}: the UFS");
    for (name, data) in model {
        let Some(data) = data else { continue };
        let path = format!("/{name}");
        fs.free(&path, false).await.unwrap();
        let mut input = fs.open_file(&path).await.unwrap();
        let read = input.read_to_end().await.unwrap();
        assert!(
            read == *data,
            "{when}: {path} reads {} bytes from the UFS, not its own {}",
            read.len(),
            data.len()
        );
    }
}

/// One call of the crash test, sent as raw RPCs so that the test decides
/// when it is retried (always with the same operation id).
#[derive(Clone, Copy, Debug)]
enum Cut {
    Rename(&'static str, &'static str),
    DeleteAll(&'static str),
    /// RENAME_EXCHANGE, cut short between its second and third UFS move.
    Exchange(&'static str, &'static str),
    /// A create replacing a file, cut short before its entry.
    Overwrite(&'static str),
    Mkdir(&'static str),
}

impl Cut {
    async fn send(self, port: u16, op: u64) -> Result<(), tonic::Status> {
        let mut raw = alluxio_proto::file_system_master_client::FileSystemMasterClient::connect(
            format!("http://127.0.0.1:{port}"),
        )
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let op_id = Some(alluxio_proto::OperationId {
            high: 0x17,
            low: op,
        });
        match self {
            Cut::Rename(src, dst) => raw
                .rename(alluxio_proto::RenameRequest {
                    src: src.into(),
                    dst: dst.into(),
                    op_id,
                    ..Default::default()
                })
                .await
                .map(|_| ()),
            Cut::DeleteAll(path) => raw
                .delete(alluxio_proto::DeleteRequest {
                    path: path.into(),
                    recursive: true,
                    op_id,
                    ..Default::default()
                })
                .await
                .map(|_| ()),
            Cut::Exchange(a, b) => raw
                .rename(alluxio_proto::RenameRequest {
                    src: a.into(),
                    dst: b.into(),
                    op_id,
                    exchange: true,
                    ..Default::default()
                })
                .await
                .map(|_| ()),
            Cut::Mkdir(path) => raw
                .create_directory(alluxio_proto::CreateDirectoryRequest {
                    path: path.into(),
                    op_id,
                    ..Default::default()
                })
                .await
                .map(|_| ()),
            Cut::Overwrite(path) => raw
                .create_file(alluxio_proto::CreateFileRequest {
                    path: path.into(),
                    overwrite: true,
                    write_type: alluxio_proto::WriteType::CacheThrough as i32,
                    op_id,
                    ..Default::default()
                })
                .await
                .map(|_| ()),
        }
    }

    /// The failpoint that ends the master in the middle of the call.
    fn failpoint(self) -> String {
        match self {
            Cut::Rename(..) | Cut::DeleteAll(_) | Cut::Mkdir(_) => "ufs_step_crash".into(),
            // Before the second move: the first is made and journaled.
            Cut::Exchange(_, b) => format!("ufs_crash=rename:{}", &b[1..]),
            Cut::Overwrite(_) => "create_file_before_commit".into(),
        }
    }

    /// Whether the call journals its UFS steps as an intent (an overwrite
    /// changes nothing in the UFS before its entry).
    fn journals_intent(self) -> bool {
        !matches!(self, Cut::Overwrite(_))
    }

    /// What the call does to the model.
    fn apply(self, model: &mut Model) {
        match self {
            Cut::Rename(src, dst) => {
                let v = model.remove(&src[1..]).unwrap();
                model.insert(&dst[1..], v);
            }
            Cut::DeleteAll(path) => {
                model.remove(&path[1..]);
            }
            Cut::Exchange(a, b) => {
                let va = model.remove(&a[1..]).unwrap();
                let vb = model.insert(&b[1..], va).unwrap();
                model.insert(&a[1..], vb);
            }
            // Cut short before its entry: the old file stays whole.
            Cut::Overwrite(_) => {}
            Cut::Mkdir(path) => {
                model.insert(&path[1..], None);
            }
        }
    }
}

/// Point 4 of issue 17: the master dies right after the UFS step of a
/// rename (plain, and over an existing file) or a recursive delete, before
/// the entry is journaled; or between the UFS moves of a RENAME_EXCHANGE;
/// or (an overwrite) before the new file's entry. The restarted master has completed the
/// operation before it serves anything, and the client's retry (the same
/// operation id) is answered with the original result. Before the fix the
/// namespace still named what the UFS had moved or deleted, and a retried
/// rename failed with NotFound.
async fn crashes_between_ufs_step_and_commit(cluster: &mut Cluster, store: Store<'_>) {
    cluster.expect_log("failpoint ufs_step_crash reached");
    cluster.expect_log("failpoint ufs_crash=rename:o2 reached");
    cluster.expect_log("failpoint create_file_before_commit reached");
    let fs = cluster.client();
    let mut model = Model::new();
    for (name, seed) in [("r1", 1), ("o1", 2), ("o2", 3), ("keep", 5)] {
        put(&fs, &format!("/{name}"), &content(seed, seed)).await;
        model.insert(name, Some(content(seed, seed)));
    }
    for path in ["/d/x", "/d/sub/y"] {
        put(&fs, path, &content(4, 4)).await;
    }
    model.insert("d", None);
    check_model(&fs, &store, &model, "before").await;
    let cuts = [
        Cut::Rename("/r1", "/r2"),
        Cut::Rename("/o1", "/o2"),
        Cut::DeleteAll("/d"),
        Cut::Exchange("/r2", "/o2"),
        Cut::Overwrite("/keep"),
        Cut::Mkdir("/m"),
    ];
    let mut completed = 0;
    for (i, cut) in cuts.into_iter().enumerate() {
        cluster.set_master_env(0, "ALLUXIO_FAILPOINTS", &cut.failpoint());
        cluster.start_master().await;
        let first = cut.send(cluster.master_port, i as u64).await;
        assert!(first.is_err(), "{cut:?}: answered through the failpoint");
        let code = cluster.wait_master_exit(Duration::from_secs(20)).await;
        assert_ne!(
            code,
            Some(0),
            "{cut:?}: the failpoint did not end the master"
        );
        cluster.clear_master_env(0);
        cluster.start_master().await;
        completed += usize::from(cut.journals_intent());
        assert_eq!(
            cluster
                .master_log()
                .matches("completing UFS change")
                .count(),
            completed,
            "{cut:?}: the restarted master did not complete it"
        );
        cut.apply(&mut model);
        // Complete before the retry: nobody may see it half done.
        check_model(&fs, &store, &model, &format!("after {cut:?} cut short")).await;
        if cut.journals_intent() {
            let retry = cut.send(cluster.master_port, i as u64).await;
            assert!(retry.is_ok(), "{cut:?}: the retry answered {retry:?}");
            check_model(&fs, &store, &model, &format!("after {cut:?} retried")).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_cut_short_between_ufs_step_and_commit_complete_on_local_ufs() {
    let mut cluster = Cluster::start(ClusterOptions::default()).await;
    let store = Store::Local(cluster.ufs_dir());
    crashes_between_ufs_step_and_commit(&mut cluster, store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_cut_short_between_ufs_step_and_commit_complete_on_s3() {
    let scratch = tempfile::tempdir().unwrap();
    let s3 = alluxio_tests::s3::S3Server::start(scratch.path(), "alluxio");
    let mut cluster = Cluster::start(ClusterOptions {
        properties: s3.properties(),
        ..Default::default()
    })
    .await;
    crashes_between_ufs_step_and_commit(&mut cluster, Store::S3(&s3)).await;
}
