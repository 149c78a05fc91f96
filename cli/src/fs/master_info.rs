//! `masterInfo` and `leader`: which master the client talks to.

use std::io::Write;

use alluxio_client::FileSystem;
use alluxio_common::config::{keys, Config};

use crate::display::{time_ms, uptime};

/// Runs `alluxio fs masterInfo`.
pub async fn master_info(fs: &FileSystem, conf: &Config) -> anyhow::Result<()> {
    let info = fs.cluster_info().await?;
    let leader = leader_of(fs, &info.leader_address);
    let zookeeper = conf.get_bool(keys::ZOOKEEPER_ENABLED).unwrap_or(false);
    let mut out = std::io::stdout().lock();
    writeln!(out, "Current leader master: {leader}")?;
    let masters: Vec<String> = fs
        .master_infos()
        .await
        .into_iter()
        .map(|(address, info)| match info {
            Ok(m) => format!("{address} ({})", m.role),
            Err(_) => format!("{address} (UNREACHABLE)"),
        })
        .collect();
    writeln!(out, "All masters: [{}]", masters.join(", "))?;
    if zookeeper {
        let address = conf.get(keys::ZOOKEEPER_ADDRESS).unwrap_or_default();
        writeln!(out, "Zookeeper address: {address}")?;
    } else {
        writeln!(out, "Zookeeper enabled: false")?;
    }
    writeln!(out, "Cluster id: {}", info.cluster_id)?;
    if info.start_time_ms > 0 {
        let up = alluxio_common::time::now_ms() - info.start_time_ms;
        writeln!(
            out,
            "Started: {} UTC (up {})",
            time_ms(info.start_time_ms),
            uptime(up)
        )?;
    }
    Ok(())
}

/// Runs `alluxio fs leader`.
pub async fn leader(fs: &FileSystem) -> anyhow::Result<()> {
    let info = fs.cluster_info().await?;
    writeln!(std::io::stdout(), "{}", leader_of(fs, &info.leader_address))?;
    Ok(())
}

/// The leader's address as reported, else the address that just answered.
fn leader_of(fs: &FileSystem, reported: &str) -> String {
    if reported.is_empty() {
        fs.master_address()
    } else {
        reported.to_string()
    }
}
