//! Point 9 of issue 17: exactly-once holds under concurrent duplicates, and
//! no answer describes state that is not durable yet. Raw gRPC calls stand
//! for a client whose first attempt is still running when it retries on a
//! new connection; delay failpoints hold the original inside its window.

use std::time::{Duration, Instant};

use alluxio_proto::file_system_master_client::FileSystemMasterClient;
use alluxio_proto::{CreateDirectoryRequest, CreateFileRequest, OperationId, RenameRequest};
use alluxio_tests::{Cluster, ClusterOptions};
use tonic::transport::Channel;

async fn connect(cluster: &Cluster) -> FileSystemMasterClient<Channel> {
    FileSystemMasterClient::connect(format!("http://127.0.0.1:{}", cluster.master_ports[0]))
        .await
        .unwrap()
}

fn mkdir(path: &str, op: Option<OperationId>) -> CreateDirectoryRequest {
    CreateDirectoryRequest {
        path: path.into(),
        recursive: true,
        op_id: op,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_of_a_running_operation_gets_its_result() {
    let mut cluster = Cluster::start(ClusterOptions {
        workers: 0,
        ..Default::default()
    })
    .await;
    cluster.set_master_env(
        0,
        "ALLUXIO_FAILPOINTS",
        "create_directory_before_commit,ufs_step_before_commit",
    );
    cluster.start_master().await;
    let op = Some(OperationId { high: 7, low: 1 });
    let (mut a, mut b) = (connect(&cluster).await, connect(&cluster).await);
    let first = tokio::spawn(async move { a.create_directory(mkdir("/d", op)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = b.create_directory(mkdir("/d", op)).await;
    let first = first.await.unwrap();
    let (first, second) = (first.unwrap().into_inner(), second.unwrap().into_inner());
    assert_eq!(first.id, second.id, "the duplicate made another directory");

    let rename = RenameRequest {
        src: "/d".into(),
        dst: "/e".into(),
        op_id: Some(OperationId { high: 7, low: 2 }),
        ..Default::default()
    };
    let (mut a, mut b) = (connect(&cluster).await, connect(&cluster).await);
    let r = rename.clone();
    let first = tokio::spawn(async move { a.rename(r).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = b.rename(rename).await;
    first.await.unwrap().expect("the original rename");
    second.expect("the duplicate rename gets the original's result");
    assert_eq!(alluxio_tests::names(&cluster.client(), "/").await, ["e"]);
}

/// A create of a name another call is still creating must not be told
/// "already exists" before that create is durable: a crash right after the
/// answer would take the name back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_waits_for_the_durability_of_what_it_saw() {
    let mut cluster = Cluster::start(ClusterOptions {
        workers: 0,
        ..Default::default()
    })
    .await;
    cluster.set_master_env(0, "ALLUXIO_FAILPOINTS", "journal_write_delay");
    cluster.start_master().await;
    let (mut a, mut b) = (connect(&cluster).await, connect(&cluster).await);
    let create = CreateFileRequest {
        path: "/f".into(),
        ..Default::default()
    };
    // The first create, without an operation id (nobody retries it).
    let first = create.clone();
    let _first = tokio::spawn(async move { a.create_file(first).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let asked = Instant::now();
    let answer = b.create_file(create).await;
    let waited = asked.elapsed();
    cluster.kill_master();
    cluster.clear_master_env(0);
    cluster.start_master().await;
    let code = answer.as_ref().err().map(|s| s.code());
    assert_eq!(code, Some(tonic::Code::AlreadyExists), "{answer:?}");
    let info = cluster.client().get_status("/f").await;
    assert!(
        info.is_ok(),
        "told /f already exists ({waited:?} after asking), but it was not durable: {info:?}"
    );
}
