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
