//! In-process tests of the block service over a real gRPC connection, with a
//! local directory as the UFS and no master (commits are skipped until the
//! worker registers, which it never does here).

use std::path::Path;
use std::time::{Duration, Instant};

use alluxio_common::config::{keys, Config};
use alluxio_proto::block_worker_client::BlockWorkerClient;
use alluxio_proto::{UfsBlockSource, UfsLocation, WriteBlockHeader};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Channel;

use super::*;
use crate::settings::WorkerSettings;
use alluxio_common::leader::MasterDiscovery;

struct Fixture {
    dir: tempfile::TempDir,
    addr: std::net::SocketAddr,
    ufs_root: std::path::PathBuf,
    store: BlockStore,
    client: BlockWorkerClient<Channel>,
}

async fn start(quota: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let tier_dir = dir.path().join("tier");
    let ufs_root = dir.path().join("ufs");
    std::fs::create_dir_all(&ufs_root).unwrap();
    let mut config = Config::defaults();
    config.set(
        keys::WORKER_TIERED_STORE_LEVEL0_DIRS_PATH,
        tier_dir.to_str().unwrap(),
    );
    config.set(keys::WORKER_TIERED_STORE_LEVEL0_DIRS_QUOTA, quota);
    let settings = WorkerSettings::from_config(&config).unwrap();
    let store = BlockStore::open(&settings.tiers).unwrap();
    let masters = MasterDiscovery::fixed(vec!["127.0.0.1:1".into()]);
    let sync = Arc::new(MasterSync::new(&settings, store.clone(), masters));
    let service = BlockWorkerService::new(store.clone(), sync).into_server();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let client = BlockWorkerClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    Fixture {
        dir,
        addr,
        ufs_root,
        store,
        client,
    }
}

fn header(block_id: u64, length_hint: u64) -> WriteBlockRequest {
    WriteBlockRequest {
        payload: Some(Payload::Header(WriteBlockHeader {
            block_id,
            length_hint,
            only_copy: false,
        })),
    }
}

fn data(bytes: &[u8]) -> WriteBlockRequest {
    WriteBlockRequest {
        payload: Some(Payload::Data(Bytes::copy_from_slice(bytes))),
    }
}

async fn write(
    client: &mut BlockWorkerClient<Channel>,
    block_id: u64,
    bytes: &[u8],
) -> FsResult<u64> {
    let mut messages = vec![header(block_id, bytes.len() as u64)];
    messages.extend(bytes.chunks(5).map(data));
    let response = client.write_block(tokio_stream::iter(messages)).await?;
    Ok(response.into_inner().length)
}

fn read_request(block_id: u64, offset: u64, length: u64, chunk_size: u32) -> ReadBlockRequest {
    ReadBlockRequest {
        block_id,
        offset,
        length,
        chunk_size,
        ufs: None,
        promote: false,
    }
}

async fn read(
    client: &mut BlockWorkerClient<Channel>,
    req: ReadBlockRequest,
) -> FsResult<Vec<Vec<u8>>> {
    let mut stream = client.read_block(req).await?.into_inner();
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.message().await? {
        chunks.push(chunk.data.to_vec());
    }
    Ok(chunks)
}

fn ufs_source(root: &Path, path: &str, offset_in_file: u64, block_length: u64) -> UfsBlockSource {
    UfsBlockSource {
        location: Some(UfsLocation {
            root_uri: format!("file://{}", root.display()),
            path: path.to_string(),
            options: Default::default(),
        }),
        offset_in_file,
        block_length,
    }
}

#[tokio::test]
async fn written_blocks_read_back_in_chunks() {
    let mut f = start("1MB").await;
    let bytes: Vec<u8> = (0..100u8).collect();
    assert_eq!(write(&mut f.client, 42, &bytes).await.unwrap(), 100);
    assert_eq!(f.store.block_info(42), Some((100, "MEM".to_string())));

    let chunks = read(&mut f.client, read_request(42, 0, 0, 30))
        .await
        .unwrap();
    assert_eq!(
        chunks.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![30, 30, 30, 10]
    );
    assert_eq!(chunks.concat(), bytes);

    let chunks = read(&mut f.client, read_request(42, 10, 5, 0))
        .await
        .unwrap();
    assert_eq!(chunks.concat(), &bytes[10..15]);
    assert!(read(&mut f.client, read_request(42, 100, 0, 0))
        .await
        .unwrap()
        .is_empty());

    // Writing the same id again replaces the block.
    write(&mut f.client, 42, b"short").await.unwrap();
    assert_eq!(
        read(&mut f.client, read_request(42, 0, 0, 0))
            .await
            .unwrap()
            .concat(),
        b"short"
    );
}

#[tokio::test]
async fn bad_reads_and_writes_have_precise_errors() {
    let mut f = start("1MB").await;
    let err = read(&mut f.client, read_request(7, 0, 0, 0))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FsError::NotFound(m) if m.contains("block 7")),
        "{err:?}"
    );

    write(&mut f.client, 8, b"0123456789").await.unwrap();
    let err = read(&mut f.client, read_request(8, 11, 0, 0))
        .await
        .unwrap_err();
    assert!(matches!(err, FsError::InvalidArgument(_)), "{err:?}");
    let err = read(&mut f.client, read_request(8, 5, 6, 0))
        .await
        .unwrap_err();
    assert!(matches!(err, FsError::InvalidArgument(_)), "{err:?}");

    let err = f
        .client
        .write_block(tokio_stream::iter(vec![data(b"x")]))
        .await
        .unwrap_err();
    assert!(matches!(FsError::from(err), FsError::InvalidArgument(_)));
    assert_eq!(f.store.tier_usage()[0].used, 10);
}

#[tokio::test]
async fn writes_beyond_the_quota_fail_with_no_space() {
    let mut f = start("64B").await;
    let err = write(&mut f.client, 1, &[7u8; 100]).await.unwrap_err();
    assert!(
        matches!(&err, FsError::NoSpace(m) if m.contains("MEM")),
        "{err:?}"
    );
    assert_eq!(f.store.tier_usage()[0].used, 0);
    assert!(!f.store.contains(1));
}

/// Relays one TCP connection to `target`; aborting the returned task cuts it
/// as a network failure would.
async fn relay(
    target: std::net::SocketAddr,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut inbound, _) = listener.accept().await.unwrap();
        let mut outbound = tokio::net::TcpStream::connect(target).await.unwrap();
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
    });
    (addr, task)
}

#[tokio::test]
async fn a_broken_write_leaves_nothing_behind() {
    let mut f = start("1MB").await;
    let (relay_addr, relay_task) = relay(f.addr).await;
    let mut client = BlockWorkerClient::connect(format!("http://{relay_addr}"))
        .await
        .unwrap();
    let (tx, rx) = mpsc::channel(4);
    tx.send(header(9, 1000)).await.unwrap();
    tx.send(data(b"partial")).await.unwrap();
    let call = tokio::spawn(async move { client.write_block(ReceiverStream::new(rx)).await });
    // Let the server take the reservation and the data, then cut the connection.
    let deadline = Instant::now() + Duration::from_secs(5);
    while f.store.tier_usage()[0].used == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(f.store.tier_usage()[0].used, 1000);
    relay_task.abort();
    while f.store.tier_usage()[0].used > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(f.store.tier_usage()[0].used, 0);
    assert!(!f.store.contains(9));
    let tmp = f.dir.path().join("tier/alluxioworker/.tmp");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
    assert!(call.await.unwrap().is_err());
    drop(tx);
    // The service still works.
    write(&mut f.client, 9, b"whole").await.unwrap();
}

#[tokio::test]
async fn promoting_reads_cache_the_block_once() {
    let f = start("1MB").await;
    let content: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    std::fs::write(f.ufs_root.join("file"), &content).unwrap();
    // Block 2 of a file with 1000-byte blocks.
    let mut readers = Vec::new();
    for i in 0..5u64 {
        let mut client = f.client.clone();
        let mut req = read_request(77, i * 100, 100, 64);
        req.ufs = Some(ufs_source(&f.ufs_root, "file", 1000, 1000));
        req.promote = true;
        readers.push(tokio::spawn(async move { read(&mut client, req).await }));
    }
    for (i, reader) in readers.into_iter().enumerate() {
        let got = reader.await.unwrap().unwrap().concat();
        let start = 1000 + i * 100;
        assert_eq!(got, &content[start..start + 100]);
    }
    assert_eq!(f.store.block_info(77), Some((1000, "MEM".to_string())));
    assert_eq!(
        f.store.take_deltas().added.into_iter().collect::<Vec<_>>(),
        vec![77]
    );

    // Cached now: served even without a UFS source.
    let mut client = f.client.clone();
    let got = read(&mut client, read_request(77, 0, 0, 0))
        .await
        .unwrap()
        .concat();
    assert_eq!(got, &content[1000..2000]);
}

#[tokio::test]
async fn plain_ufs_reads_do_not_cache() {
    let mut f = start("1MB").await;
    std::fs::write(f.ufs_root.join("f"), b"hello, world").unwrap();
    let mut req = read_request(5, 7, 0, 2);
    req.ufs = Some(ufs_source(&f.ufs_root, "f", 0, 12));
    assert_eq!(read(&mut f.client, req).await.unwrap().concat(), b"world");
    assert!(!f.store.contains(5));

    // A UFS file shorter than the block is an error, not a short block.
    let mut req = read_request(6, 0, 0, 0);
    req.ufs = Some(ufs_source(&f.ufs_root, "f", 0, 20));
    req.promote = true;
    let err = read(&mut f.client, req).await.unwrap_err();
    assert!(matches!(err, FsError::Ufs(_)), "{err:?}");
    assert!(!f.store.contains(6));
    assert_eq!(f.store.tier_usage()[0].used, 0);
}

#[tokio::test]
async fn remove_block_is_idempotent() {
    let mut f = start("1MB").await;
    write(&mut f.client, 3, b"abc").await.unwrap();
    f.client
        .remove_block(RemoveBlockRequest { block_id: 3 })
        .await
        .unwrap();
    assert!(!f.store.contains(3));
    f.client
        .remove_block(RemoveBlockRequest { block_id: 3 })
        .await
        .unwrap();
}

#[tokio::test]
async fn short_circuit_blocks_are_written_by_the_client_and_committed() {
    use alluxio_proto::{
        CompleteLocalBlockRequest, CreateLocalBlockRequest, OpenLocalBlockRequest,
    };
    use std::os::unix::fs::MetadataExt;
    let mut f = start("1MB").await;
    let created = f
        .client
        .create_local_block(CreateLocalBlockRequest {
            block_id: 77,
            length_hint: 4096,
            only_copy: false,
        })
        .await
        .unwrap()
        .into_inner();
    // The file is the worker's (the client checks device and inode) and
    // the block is not visible before the commit.
    let meta = std::fs::metadata(&created.path).unwrap();
    assert_eq!((meta.dev(), meta.ino()), (created.device, created.inode));
    assert!(!f.store.contains(77));
    std::fs::write(&created.path, b"written by the client").unwrap();
    // A wrong length is refused and the write is gone.
    let wrong = f
        .client
        .complete_local_block(CompleteLocalBlockRequest {
            block_id: 77,
            length: 5,
            cancel: false,
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), tonic::Code::FailedPrecondition, "{wrong}");
    assert!(!Path::new(&created.path).exists());

    let created = f
        .client
        .create_local_block(CreateLocalBlockRequest {
            block_id: 77,
            length_hint: 4096,
            only_copy: false,
        })
        .await
        .unwrap()
        .into_inner();
    std::fs::write(&created.path, b"written by the client").unwrap();
    let done = f
        .client
        .complete_local_block(CompleteLocalBlockRequest {
            block_id: 77,
            length: 21,
            cancel: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.length, 21);
    assert!(f.store.contains(77));
    let local = f
        .client
        .open_local_block(OpenLocalBlockRequest { block_id: 77 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        std::fs::read(&local.path).unwrap(),
        b"written by the client"
    );
    // A second completion finds nothing open.
    let again = f
        .client
        .complete_local_block(CompleteLocalBlockRequest {
            block_id: 77,
            length: 21,
            cancel: false,
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::NotFound, "{again}");

    // Cancelling deletes the file and frees the reservation.
    let used = |f: &Fixture| f.store.tier_usage()[0].used;
    assert_eq!(used(&f), 21);
    let created = f
        .client
        .create_local_block(CreateLocalBlockRequest {
            block_id: 78,
            length_hint: 900_000,
            only_copy: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(used(&f), 900_021);
    f.client
        .complete_local_block(CompleteLocalBlockRequest {
            block_id: 78,
            length: 0,
            cancel: true,
        })
        .await
        .unwrap();
    assert!(!Path::new(&created.path).exists());
    assert!(!f.store.contains(78));
    assert_eq!(used(&f), 21);
}
