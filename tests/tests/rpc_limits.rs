//! Connections that misbehave (issue 18): messages over the size limit; a
//! thousand and a half that
//! connect and send nothing, one that stops half-way through the HTTP/2
//! preface, one that sends garbage. The master keeps serving everyone
//! else — here started, as a login shell or `alluxio local` may start it,
//! with a soft limit of 1,024 open files, which it raises to its hard limit
//! itself (before: the idle connections took every descriptor, and the
//! next client could not connect).

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use alluxio_client::CreateFileOptions;
use alluxio_tests::{Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_serves_through_idle_half_open_and_garbage_connections() {
    let mut cluster = Cluster::start(ClusterOptions::default()).await;
    cluster.set_master_fd_limit(0, 1024);
    cluster.start_master().await;
    let addr = format!("127.0.0.1:{}", cluster.master_port);
    let mut idle = Vec::new();
    for _ in 0..1500 {
        idle.push(TcpStream::connect(&addr).expect("connecting an idle client"));
    }
    let mut half = TcpStream::connect(&addr).unwrap();
    half.write_all(b"PRI * HTTP/2.0\r\n").unwrap();
    let mut garbage = TcpStream::connect(&addr).unwrap();
    garbage.write_all(&[0xde; 4096]).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let fs = cluster.client();
    for i in 0..100 {
        let path = format!("/busy/f{i}");
        let opts = CreateFileOptions {
            recursive: true,
            ..Default::default()
        };
        let mut out = fs.create_file(&path, opts).await.unwrap();
        out.write(path.as_bytes()).await.unwrap();
        out.close().await.unwrap();
        let mut input = fs.open_file(&path).await.unwrap();
        assert_eq!(&input.read_to_end().await.unwrap()[..], path.as_bytes());
    }
    assert_eq!(fs.list_status("/busy", false).await.unwrap().len(), 100);
    drop((idle, half, garbage));
    // And after they are gone.
    fs.create_directory("/after", Default::default())
        .await
        .unwrap();
}

/// A message over a server's size limit (64 MiB on a worker's block
/// stream, 256 MiB on the master) is refused with an error naming the
/// size, and the server goes on serving everyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_is_refused_clearly_and_the_server_goes_on() {
    let cluster = Cluster::start(ClusterOptions::default()).await;
    let worker = format!("http://127.0.0.1:{}", cluster.worker_ports[0]);
    let mut raw = alluxio_proto::block_worker_client::BlockWorkerClient::connect(worker)
        .await
        .unwrap()
        .max_encoding_message_size(usize::MAX);
    let header = alluxio_proto::WriteBlockRequest {
        payload: Some(alluxio_proto::write_block_request::Payload::Header(
            alluxio_proto::WriteBlockHeader {
                block_id: (998 << 24) | 1,
                length_hint: 0,
                only_copy: false,
            },
        )),
    };
    let huge = alluxio_proto::WriteBlockRequest {
        payload: Some(alluxio_proto::write_block_request::Payload::Data(
            bytes::Bytes::from(vec![7u8; 65 << 20]),
        )),
    };
    let status = raw
        .write_block(tokio_stream::iter(vec![header, huge]))
        .await
        .unwrap_err();
    assert!(
        status.message().contains("message length too large") && status.message().contains("limit"),
        "{status:?}"
    );
    let fs = cluster.client();
    let mut out = fs.create_file("/after", Default::default()).await.unwrap();
    out.write(b"still serving").await.unwrap();
    out.close().await.unwrap();
    let mut input = fs.open_file("/after").await.unwrap();
    assert_eq!(&input.read_to_end().await.unwrap()[..], b"still serving");
}
