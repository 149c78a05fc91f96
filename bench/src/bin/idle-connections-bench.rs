//! A leader's create rate while idle connections are open to it (issue
//! 18): rounds alternate between no idle connection and `idle` of them
//! (half connected and silent, half stopped right after the HTTP/2 client
//! preface), each round creating `files` empty files from `clients`
//! concurrent clients. Only the ratio of the two kinds of rounds of one
//! run means anything on a noisy machine.
//!
//! Usage: cargo run --release -p alluxio-bench --bin idle-connections-bench -- [idle] [rounds] [clients] [files]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use alluxio_bench::{rate, run_concurrent};
use alluxio_client::{CreateFileOptions, FileSystem, WriteType};
use alluxio_tests::{Cluster, ClusterOptions};

/// The first bytes an HTTP/2 client sends (RFC 9113, 3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn arg(i: usize, default: usize) -> anyhow::Result<usize> {
    Ok(std::env::args()
        .nth(i)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(default))
}

/// Opens `n` idle connections to `addr`; returns them.
fn open_idle(addr: &str, n: usize) -> anyhow::Result<Vec<TcpStream>> {
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let mut c = TcpStream::connect(addr)?;
        if i % 2 == 1 {
            c.write_all(PREFACE)?;
        }
        conns.push(c);
    }
    Ok(conns)
}

/// How many of `conns` the server has closed (what it sent meanwhile,
/// its HTTP/2 settings, is read away).
fn closed_by_server(conns: &mut [TcpStream]) -> usize {
    conns
        .iter_mut()
        .map(|c| {
            c.set_nonblocking(true).ok();
            let mut buf = [0u8; 4096];
            loop {
                match c.read(&mut buf) {
                    Ok(0) => return true,
                    Ok(_) => continue,
                    Err(e) => return e.kind() != std::io::ErrorKind::WouldBlock,
                }
            }
        })
        .filter(|closed| *closed)
        .count()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let idle = arg(1, 1000)?;
    let rounds = arg(2, 3)?;
    let clients = arg(3, 8)?;
    let files = arg(4, 4000)?;
    let (old, now) = alluxio_common::startup::raise_fd_limit()?;
    anyhow::ensure!(
        now as usize > idle + 256,
        "open-files limit {now} (was {old}) is too low for {idle} idle connections"
    );
    let cluster = Cluster::start(ClusterOptions::default()).await;
    let addr = format!("127.0.0.1:{}", cluster.master_port);
    let fss: Arc<Vec<FileSystem>> = Arc::new((0..clients).map(|_| cluster.client()).collect());
    for (c, fs) in fss.iter().enumerate() {
        fs.create_directory(
            &format!("/bench/c{c}"),
            alluxio_client::CreateDirectoryOptions {
                recursive: true,
                ..Default::default()
            },
        )
        .await?;
    }
    println!("clients: {clients}, files per round: {files}, idle connections: {idle}");
    let mut plain = Vec::new();
    let mut loaded = Vec::new();
    for round in 0..rounds * 2 {
        let with_idle = round % 2 == 1;
        let mut conns = if with_idle {
            let conns = open_idle(&addr, idle)?;
            // Let the server accept them all before measuring.
            tokio::time::sleep(Duration::from_secs(1)).await;
            conns
        } else {
            Vec::new()
        };
        let f = fss.clone();
        let elapsed = run_concurrent(clients, files, move |c, i| {
            let f = f.clone();
            async move {
                let opts = CreateFileOptions {
                    write_type: Some(WriteType::MustCache),
                    ..Default::default()
                };
                let out = f[c]
                    .create_file(&format!("/bench/c{c}/r{round}-{i}"), opts)
                    .await
                    .expect("create");
                out.close().await.expect("complete");
            }
        })
        .await;
        let r = rate(files, elapsed);
        if with_idle {
            println!(
                "round {round}: {r:.0} creates/s with {idle} idle connections \
                 ({} closed by the server meanwhile)",
                closed_by_server(&mut conns)
            );
            loaded.push(r);
        } else {
            println!("round {round}: {r:.0} creates/s without idle connections");
            plain.push(r);
        }
        drop(conns);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "with {idle} idle connections / without: {:.2}x ({:.0} / {:.0} creates/s)",
        mean(&loaded) / mean(&plain),
        mean(&loaded),
        mean(&plain)
    );
    Ok(())
}
