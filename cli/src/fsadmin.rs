//! `alluxio fsadmin report`: the state of the cluster as the leading master
//! sees it — leader, journal, namespace size, workers and their capacity —
//! in the shape of Alluxio's report.

use std::collections::BTreeMap;
use std::io::Write;

use alluxio_client::{FileSystem, GetClusterInfoResponse};
use alluxio_common::config::{format_bytes, keys, Config};
use alluxio_proto::{TierUsage, WorkerInfo};
use clap::{Subcommand, ValueEnum};

use crate::display::{percent, time_ms, uptime};

/// The `alluxio fsadmin` subcommands.
#[derive(Subcommand, Debug)]
pub enum FsadminCommand {
    /// Reports the cluster: `summary` (default, everything) or `capacity`.
    Report {
        /// What to report.
        #[arg(value_enum, default_value_t = Category::Summary)]
        category: Category,
    },
}

impl FsadminCommand {
    /// The command's name, used as the prefix of its errors.
    pub fn name(&self) -> &'static str {
        match self {
            FsadminCommand::Report { .. } => "report",
        }
    }
}

/// Parts of `fsadmin report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Category {
    /// Master, journal, namespace, workers and capacity.
    Summary,
    /// Capacity per tier, in total and per worker.
    Capacity,
}

/// Runs one `alluxio fsadmin` command.
pub async fn run(conf: &Config, command: FsadminCommand) -> anyhow::Result<()> {
    let fs = FileSystem::from_config(conf)?;
    match command {
        FsadminCommand::Report { category } => {
            let info = fs.cluster_info().await?;
            let masters = fs.master_infos().await;
            let mut out = std::io::stdout().lock();
            if category == Category::Summary {
                summary(&mut out, &fs, &info)?;
                writeln!(out)?;
                masters_section(&mut out, conf, &fs, &masters)?;
                writeln!(out)?;
            }
            capacity(&mut out, &info)?;
            out.flush()?;
            Ok(())
        }
    }
}

fn summary(
    out: &mut impl Write,
    fs: &FileSystem,
    info: &GetClusterInfoResponse,
) -> std::io::Result<()> {
    let leader = if info.leader_address.is_empty() {
        fs.master_address()
    } else {
        info.leader_address.clone()
    };
    let (live, lost): (Vec<&WorkerInfo>, Vec<&WorkerInfo>) =
        info.workers.iter().partition(|w| w.live);
    writeln!(out, "Alluxio cluster summary:")?;
    writeln!(out, "    Master Address: {leader}")?;
    writeln!(out, "    Cluster Id: {}", info.cluster_id)?;
    if info.start_time_ms > 0 {
        let up = alluxio_common::time::now_ms() - info.start_time_ms;
        writeln!(out, "    Started: {} UTC", time_ms(info.start_time_ms))?;
        writeln!(out, "    Uptime: {}", uptime(up))?;
    }
    writeln!(out, "    Journal Folder: {}", info.journal_folder)?;
    writeln!(out, "    Journal Sequence: {}", info.journal_sequence)?;
    writeln!(out, "    Leader Term: {}", info.term)?;
    writeln!(out, "    Root UFS: {}", info.root_ufs)?;
    writeln!(out, "    Inode Count: {}", info.inode_count)?;
    writeln!(out, "    Live Workers: {}", live.len())?;
    writeln!(out, "    Lost Workers: {}", lost.len())?;
    for (title, workers) in [("Live", &live), ("Lost", &lost)] {
        if workers.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{title} workers:")?;
        writeln!(
            out,
            "    {:<8}{:<28}{:<16}Blocks",
            "Id", "Address", "Last Contact"
        )?;
        for w in workers.iter() {
            let contact = format!("{}ms ago", w.last_contact_ms_ago.max(0));
            writeln!(
                out,
                "    {:<8}{:<28}{:<16}{}",
                w.id,
                address(w),
                contact,
                w.block_count
            )?;
        }
    }
    Ok(())
}

/// Every master with its role and journal position.
fn masters_section(
    out: &mut impl Write,
    conf: &Config,
    fs: &FileSystem,
    masters: &[(
        String,
        alluxio_client::FsResult<alluxio_client::GetMasterInfoResponse>,
    )],
) -> std::io::Result<()> {
    if conf.get_bool(keys::ZOOKEEPER_ENABLED).unwrap_or(false) {
        writeln!(
            out,
            "ZooKeeper: {}",
            conf.get(keys::ZOOKEEPER_ADDRESS).unwrap_or_default()
        )?;
    }
    writeln!(out, "Masters (from {}):", fs.discovery().describe())?;
    writeln!(
        out,
        "    {:<28}{:<14}{:<18}Term",
        "Address", "Role", "Journal Sequence"
    )?;
    for (address, info) in masters {
        match info {
            Ok(m) => writeln!(
                out,
                "    {:<28}{:<14}{:<18}{}",
                address, m.role, m.journal_sequence, m.term
            )?,
            Err(e) => writeln!(out, "    {address:<28}{:<14}{e}", "UNREACHABLE")?,
        }
    }
    Ok(())
}

/// Totals per tier alias, in the order tiers first appear.
fn tier_totals<'a>(workers: impl Iterator<Item = &'a WorkerInfo>) -> Vec<(String, u64, u64)> {
    let mut order: Vec<String> = Vec::new();
    let mut sums: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for tier in workers.flat_map(|w| &w.tiers) {
        if !sums.contains_key(&tier.alias) {
            order.push(tier.alias.clone());
        }
        let sum = sums.entry(tier.alias.clone()).or_default();
        sum.0 += tier.capacity_bytes;
        sum.1 += tier.used_bytes;
    }
    order
        .into_iter()
        .map(|alias| {
            let (cap, used) = sums[&alias];
            (alias, cap, used)
        })
        .collect()
}

fn capacity(out: &mut impl Write, info: &GetClusterInfoResponse) -> std::io::Result<()> {
    let live: Vec<&WorkerInfo> = info.workers.iter().filter(|w| w.live).collect();
    let tiers = tier_totals(live.iter().copied());
    let total: u64 = tiers.iter().map(|t| t.1).sum();
    let used: u64 = tiers.iter().map(|t| t.2).sum();
    writeln!(out, "Capacity information for all live workers:")?;
    writeln!(out, "    Total Capacity: {}", format_bytes(total))?;
    for (alias, cap, _) in &tiers {
        writeln!(out, "        Tier: {alias}  Size: {}", format_bytes(*cap))?;
    }
    writeln!(out, "    Used Capacity: {}", format_bytes(used))?;
    for (alias, _, used) in &tiers {
        writeln!(out, "        Tier: {alias}  Size: {}", format_bytes(*used))?;
    }
    writeln!(
        out,
        "    Free Capacity: {}",
        format_bytes(total.saturating_sub(used))
    )?;
    let used_pct = percent(used, total);
    writeln!(out, "    Used Percentage: {used_pct}%")?;
    writeln!(
        out,
        "    Free Percentage: {}%",
        if total == 0 { 0 } else { 100 - used_pct }
    )?;
    if live.is_empty() {
        return Ok(());
    }
    let aliases: Vec<&str> = tiers.iter().map(|t| t.0.as_str()).collect();
    writeln!(out)?;
    let mut header = format!(
        "{:<28}{:<16}{:<10}{:<20}",
        "Worker Name", "Last Heartbeat", "Storage", "Total"
    );
    for alias in &aliases {
        header.push_str(&format!("{alias:<20}"));
    }
    writeln!(out, "{}", header.trim_end())?;
    for w in &live {
        let (cap, used) = usage(w.tiers.iter());
        let contact = format!("{}ms ago", w.last_contact_ms_ago.max(0));
        let mut capacity_row = format!(
            "{:<28}{:<16}{:<10}{:<20}",
            address(w),
            contact,
            "capacity",
            format_bytes(cap)
        );
        let used_text = format!("{} ({}%)", format_bytes(used), percent(used, cap));
        let mut used_row = format!("{:<28}{:<16}{:<10}{:<20}", "", "", "used", used_text);
        for alias in &aliases {
            let (c, u) = usage(w.tiers.iter().filter(|t| t.alias == *alias));
            capacity_row.push_str(&format!("{:<20}", format_bytes(c)));
            used_row.push_str(&format!(
                "{:<20}",
                format!("{} ({}%)", format_bytes(u), percent(u, c))
            ));
        }
        writeln!(out, "{}", capacity_row.trim_end())?;
        writeln!(out, "{}", used_row.trim_end())?;
    }
    Ok(())
}

/// Capacity and used bytes summed over `tiers`.
fn usage<'a>(tiers: impl Iterator<Item = &'a TierUsage>) -> (u64, u64) {
    tiers.fold((0, 0), |(c, u), t| (c + t.capacity_bytes, u + t.used_bytes))
}

fn address(w: &WorkerInfo) -> String {
    w.address
        .as_ref()
        .map(|a| format!("{}:{}", a.host, a.rpc_port))
        .unwrap_or_else(|| "?".into())
}
