//! Reading the servers' web ports: a plain HTTP/1.1 GET and a reader for
//! the metrics text, so tests check what Prometheus would scrape.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// `GET http://127.0.0.1:<port><path>`: the status code and the body.
pub fn get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let code = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    Ok((code, body))
}

/// The metrics text of a web port; panics if it cannot be read.
pub fn scrape(port: u16) -> String {
    let (code, body) = get(port, "/metrics").expect("scraping /metrics");
    assert_eq!(code, 200, "{body}");
    body
}

/// The sum of every sample of `name` whose labels include all of `labels`
/// (`None` when there is no such sample).
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if series_name != name {
            continue;
        }
        let has = |(k, v): &(&str, &str)| {
            series_labels
                .split(',')
                .any(|pair| pair == format!("{k}=\"{v}\""))
        };
        if labels.iter().all(has) {
            if let Ok(v) = value.parse::<f64>() {
                *found.get_or_insert(0.0) += v;
            }
        }
    }
    found
}

/// The `FileSystemMaster` calls the master on web port `port` answered so
/// far, by method (`alluxio_rpc_requests_total`).
pub fn calls(port: u16) -> std::collections::BTreeMap<String, f64> {
    let text = scrape(port);
    let mut calls = std::collections::BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("alluxio_rpc_requests_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once("} ") else {
            continue;
        };
        if !labels.contains("service=\"FileSystemMaster\"") {
            continue;
        }
        let method = labels
            .split(',')
            .find_map(|l| l.strip_prefix("method=\""))
            .map(|m| m.trim_end_matches('"').to_string())
            .unwrap_or_default();
        *calls.entry(method).or_insert(0.0) += value.parse::<f64>().unwrap_or(0.0);
    }
    calls
}

/// The calls made between two readings of `calls`, by method, and their
/// total.
pub fn delta(
    before: &std::collections::BTreeMap<String, f64>,
    after: &std::collections::BTreeMap<String, f64>,
) -> (std::collections::BTreeMap<String, f64>, f64) {
    let mut d = std::collections::BTreeMap::new();
    for (method, n) in after {
        let n = n - before.get(method).copied().unwrap_or(0.0);
        if n > 0.0 {
            d.insert(method.clone(), n);
        }
    }
    let total = d.values().sum();
    (d, total)
}
