//! A real S3-compatible server for tests: moto's `moto_server` (installed by
//! `scripts/install-deps`), on a free loopback port, with one bucket.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::{free_port, Proc};

/// A running moto server; killed on drop.
pub struct S3Server {
    pub port: u16,
    pub bucket: String,
    proc: Proc,
}

impl S3Server {
    /// Starts the server in `dir` (for its log) and creates `bucket`.
    pub fn start(dir: &std::path::Path, bucket: &str) -> S3Server {
        let port = free_port();
        let mut cmd = Command::new("moto_server");
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let proc = Proc::spawn("moto", cmd, &dir.join("moto.log"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(status) = http(port, &format!("PUT /{bucket} HTTP/1.1")) {
                assert!(status == 200, "creating bucket {bucket}: HTTP {status}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not start: {}",
                proc.log_tail(20)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        S3Server {
            port,
            bucket: bucket.to_string(),
            proc,
        }
    }

    /// Freezes the server (SIGSTOP): connections are accepted by the
    /// kernel and never answered, like a store that hangs.
    pub fn pause(&self) {
        self.proc.pause();
    }

    /// Lets a frozen server go on.
    pub fn resume(&self) {
        self.proc.resume();
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Site properties that point a cluster's journal and root UFS here.
    pub fn properties(&self) -> Vec<(String, String)> {
        vec![
            (
                "alluxio.master.journal.folder".into(),
                format!("s3://{}/journal", self.bucket),
            ),
            (
                "alluxio.master.mount.table.root.ufs".into(),
                format!("s3://{}/root", self.bucket),
            ),
            ("alluxio.underfs.s3.endpoint".into(), self.endpoint()),
            ("s3a.accessKeyId".into(), "testing".into()),
            ("s3a.secretKey".into(), "testing".into()),
        ]
    }

    /// Object keys under `prefix`.
    pub fn list(&self, prefix: &str) -> Vec<String> {
        let body = http_body(
            self.port,
            &format!("GET /{}?list-type=2&prefix={prefix} HTTP/1.1", self.bucket),
        );
        body.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }
}

fn http(port: u16, request_line: &str) -> std::io::Result<u16> {
    let text = exchange(port, request_line)?;
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(status)
}

fn http_body(port: u16, request_line: &str) -> String {
    exchange(port, request_line).unwrap_or_default()
}

fn exchange(port: u16, request_line: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "{request_line}\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}
