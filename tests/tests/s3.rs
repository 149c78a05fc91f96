//! S3 as the root UFS and as the journal folder, against a real
//! S3-compatible server (moto): files round-trip, a restarted master replays
//! its journal from S3, and create-if-absent publication fences a second
//! writer there too.

use std::collections::BTreeMap;

use alluxio_journal::store::Publish;
use alluxio_journal::JournalStore;
use alluxio_tests::s3::S3Server;
use alluxio_tests::{test_bytes, Cluster, ClusterOptions};
use bytes::Bytes;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_on_s3_survives_a_master_restart() {
    let scratch = tempfile::tempdir().unwrap();
    let s3 = S3Server::start(scratch.path(), "alluxio");
    let mut cluster = Cluster::start(ClusterOptions {
        workers: 1,
        properties: s3.properties(),
        ..Default::default()
    })
    .await;
    let fs = cluster.client();
    for i in 0..5u64 {
        let mut out = fs
            .create_file(
                &format!("/dir/f{i}"),
                alluxio_client::CreateFileOptions {
                    recursive: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        out.write(&test_bytes(i, 100_000 * i as usize + 1))
            .await
            .unwrap();
        out.close().await.unwrap();
    }
    let keys = s3.list("root/dir/");
    for i in 0..5 {
        assert!(
            keys.contains(&format!("root/dir/f{i}")),
            "f{i} not in S3: {keys:?}"
        );
    }
    assert!(
        !keys.iter().any(|k| k.contains("alluxio-tmp")),
        "staging objects left: {keys:?}"
    );
    assert!(
        s3.list("journal/log/").len() >= 5,
        "journal batches not in S3"
    );

    cluster.kill_master();
    cluster.start_master().await;
    let fs = cluster.client();
    fs.free("/dir", true).await.unwrap();
    for i in 0..5u64 {
        let mut input = fs.open_file(&format!("/dir/f{i}")).await.unwrap();
        assert_eq!(
            &input.read_to_end().await.unwrap()[..],
            &test_bytes(i, 100_000 * i as usize + 1)[..]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_publication_is_create_if_absent() {
    let scratch = tempfile::tempdir().unwrap();
    let s3 = S3Server::start(scratch.path(), "fence");
    let mut options = BTreeMap::new();
    options.insert("alluxio.underfs.s3.endpoint".to_string(), s3.endpoint());
    options.insert("s3a.accessKeyId".to_string(), "testing".to_string());
    options.insert("s3a.secretKey".to_string(), "testing".to_string());
    let store = JournalStore::open("s3://fence/journal", &options).unwrap();
    let first = store
        .publish("log/00000000000000000009", Bytes::from_static(b"leader"))
        .await
        .unwrap();
    let second = store
        .publish("log/00000000000000000009", Bytes::from_static(b"zombie"))
        .await
        .unwrap();
    assert_eq!((first, second), (Publish::Published, Publish::Taken));
    let data = store
        .read("log/00000000000000000009")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&data[..], b"leader");
}

/// Point 1 of issue 17: on S3 the slot of a newer term's object is not a
/// lasting fence — once a checkpoint covers it, garbage collection deletes
/// it. A leader frozen with a request in hand resumes after the new leader
/// checkpointed and collected its `TermStart` slot, and publishes into it:
/// it must not acknowledge, and its object must count for nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_leader_cannot_fill_a_slot_garbage_collection_reopened() {
    use std::time::{Duration, Instant};

    let scratch = tempfile::tempdir().unwrap();
    let s3 = S3Server::start(scratch.path(), "alluxio");
    let mut props = s3.properties();
    props.push((
        "alluxio.master.journal.checkpoint.period.entries".into(),
        "10".into(),
    ));
    let mut cluster = Cluster::start(ClusterOptions {
        masters: 2,
        workers: 0,
        zookeeper: alluxio_tests::Zk::Single,
        properties: props,
        ..Default::default()
    })
    .await;
    for i in 0..2 {
        cluster.set_master_env(
            i,
            "ALLUXIO_FAILPOINTS",
            "set_attribute_before_commit=/victim",
        );
        cluster.start_master_i(i).await;
    }
    let old = cluster.leader().await;
    let fs = cluster.client();
    fs.create_directory("/victim", Default::default())
        .await
        .unwrap();
    let slot = cluster.master_info(old).await.unwrap().journal_sequence + 1;

    // The leader freezes with a chmod in hand, before it journals it.
    let mut raw = alluxio_proto::file_system_master_client::FileSystemMasterClient::connect(
        format!("http://127.0.0.1:{}", cluster.master_ports[old]),
    )
    .await
    .unwrap();
    let chmod = tokio::spawn(async move {
        raw.set_attribute(alluxio_proto::SetAttributeRequest {
            path: "/victim".into(),
            mode: Some(0o700),
            ..Default::default()
        })
        .await
    });
    cluster.wait_master_stopped(old, "the held chmod").await;
    // A new leader opens its term at that slot, then writes, checkpoints
    // and collects until the slot is free again.
    cluster.wait_new_leader(old, Duration::from_secs(30)).await;
    let slot_name = format!("journal/log/{slot:020}");
    let mut n = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for _ in 0..12 {
            fs.create_directory(&format!("/live{n}"), Default::default())
                .await
                .unwrap();
            n += 1;
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
        let logs = s3.list("journal/log/");
        let collected = !logs.contains(&slot_name);
        let covered = s3
            .list("journal/checkpoints/")
            .iter()
            .any(|c| c.rsplit('/').next().unwrap().parse::<u64>().unwrap() > slot);
        if collected && covered {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "slot {slot} never collected: {logs:?}"
        );
    }

    // The old leader goes on: its chmod must not be acknowledged.
    cluster.expect_log("fenced");
    cluster.resume_master(old);
    let reply = tokio::time::timeout(Duration::from_secs(30), chmod)
        .await
        .expect("no answer to the chmod")
        .unwrap();
    assert!(reply.is_err(), "the fenced leader acknowledged: {reply:?}");

    // Alone, a fresh master replays exactly the live state.
    cluster.kill_master_i(0);
    cluster.kill_master_i(1);
    cluster.clear_master_env(0);
    cluster.start_master_i(0).await;
    cluster.leader().await;
    let fs = cluster.client();
    let victim = fs.get_status("/victim").await.unwrap();
    assert_ne!(victim.mode & 0o777, 0o700, "the void chmod was replayed");
    let names = alluxio_tests::names(&fs, "/").await;
    let mut want: Vec<String> = (0..n).map(|i| format!("live{i}")).collect();
    want.push("victim".into());
    want.sort();
    assert_eq!(names, want);
}

/// Point 2 of issue 17: an object store that stops answering fails journal
/// writes within `alluxio.underfs.s3.request.timeout`; the master stops
/// serving instead of hanging with the lease renewed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_object_store_fails_journal_writes_within_the_request_timeout() {
    use std::time::{Duration, Instant};

    let scratch = tempfile::tempdir().unwrap();
    let s3 = S3Server::start(scratch.path(), "alluxio");
    let mut props = s3.properties();
    props.push(("alluxio.underfs.s3.request.timeout".into(), "2sec".into()));
    let mut cluster = Cluster::start(ClusterOptions {
        workers: 0,
        properties: props,
        ..Default::default()
    })
    .await;
    cluster.expect_log("no answer from the object store");
    let fs = cluster.client();
    fs.create_directory("/before", Default::default())
        .await
        .unwrap();
    let mut raw = alluxio_proto::file_system_master_client::FileSystemMasterClient::connect(
        format!("http://127.0.0.1:{}", cluster.master_ports[0]),
    )
    .await
    .unwrap();
    s3.pause();
    let asked = Instant::now();
    let reply = tokio::time::timeout(
        Duration::from_secs(20),
        // A chmod: journaled, with no UFS request of its own.
        raw.set_attribute(alluxio_proto::SetAttributeRequest {
            path: "/before".into(),
            mode: Some(0o700),
            ..Default::default()
        }),
    )
    .await;
    let waited = asked.elapsed();
    s3.resume();
    let reply = reply.unwrap_or_else(|_| panic!("the write hung for {waited:?}"));
    assert!(
        reply.is_err(),
        "acknowledged without the journal: {reply:?}"
    );
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    // A master that cannot journal stops serving (and, alone, exits).
    let code = cluster.wait_master_exit(Duration::from_secs(10)).await;
    assert_ne!(code, Some(0));
    cluster.start_master().await;
    cluster.client().get_status("/before").await.unwrap();
}
