//! `alluxio fs stat`: every field of a path's `FileInfo`, one per line,
//! followed by its blocks and where each is cached.

use std::io::Write;

use alluxio_client::{FileSystem, FileType};
use alluxio_common::config::format_bytes;
use clap::Args;

use crate::args;
use crate::display::{is_dir, mode_string, time_ns};
use crate::fs::ls::persistence_state;

/// Arguments of `alluxio fs stat`.
#[derive(Args, Debug)]
pub struct StatArgs {
    /// Path to describe.
    #[arg(value_parser = args::alluxio_path)]
    path: String,
}

/// Runs `alluxio fs stat`.
pub async fn run(fs: &FileSystem, args: StatArgs) -> anyhow::Result<()> {
    let info = fs.get_status(&args.path).await?;
    let mut out = std::io::stdout().lock();
    let kind = if is_dir(&info) { "directory" } else { "file" };
    writeln!(out, "{} is a {kind} path.", info.path)?;
    let file_type = FileType::try_from(info.file_type)
        .map(|t| t.as_str_name().to_string())
        .unwrap_or_else(|_| format!("unknown ({})", info.file_type));
    let ufs = info.ufs.as_ref().map(|u| {
        let options = if u.options.is_empty() {
            String::new()
        } else {
            let mut o: Vec<String> = u.options.keys().map(|k| format!("{k}=...")).collect();
            o.sort();
            format!(" (options: {})", o.join(", "))
        };
        format!("{}{}", ufs_path(&u.root_uri, &u.path), options)
    });
    let block_ids: Vec<String> = info.blocks.iter().map(|b| b.block_id.to_string()).collect();
    let fields: Vec<(&str, String)> = vec![
        ("id", info.id.to_string()),
        ("path", info.path.clone()),
        ("name", info.name.clone()),
        ("type", file_type),
        (
            "length",
            format!("{} ({})", info.length, format_bytes(info.length)),
        ),
        (
            "block size",
            format!("{} ({})", info.block_size, format_bytes(info.block_size)),
        ),
        ("completed", info.completed.to_string()),
        ("persistence state", persistence_state(&info).to_string()),
        (
            "in memory percentage",
            format!("{}%", info.in_memory_percentage),
        ),
        ("owner", info.owner.clone()),
        ("group", info.group.clone()),
        (
            "mode",
            format!("{:04o} ({})", info.mode, mode_string(&info)),
        ),
        ("links", info.nlink.to_string()),
        ("creation time", time_ns(info.crtime_ns)),
        ("modification time", time_ns(info.mtime_ns)),
        ("access time", time_ns(info.atime_ns)),
        ("change time", time_ns(info.ctime_ns)),
        ("ufs path", ufs.unwrap_or_else(|| "(none)".into())),
        ("ufs staging path", or_none(&info.ufs_temp_path)),
        ("symlink target", or_none(&info.symlink_target)),
        ("rdev", info.rdev.to_string()),
        ("container id", info.container_id.to_string()),
        ("block ids", format!("[{}]", block_ids.join(", "))),
    ];
    for (name, value) in fields {
        writeln!(out, "  {:<22}{value}", format!("{name}:"))?;
    }
    if info.blocks.is_empty() {
        return Ok(());
    }
    writeln!(out, "Containing the following blocks:")?;
    for block in &info.blocks {
        let locations: Vec<String> = block
            .locations
            .iter()
            .map(|l| {
                let address = l
                    .address
                    .as_ref()
                    .map(|a| format!("{}:{}", a.host, a.rpc_port))
                    .unwrap_or_default();
                format!("worker {} {address} {}", l.worker_id, l.tier_alias)
            })
            .collect();
        writeln!(
            out,
            "  block {}: offset {}, length {}, locations [{}]",
            block.block_id,
            block.offset,
            block.length,
            locations.join("; ")
        )?;
    }
    Ok(())
}

fn or_none(value: &str) -> String {
    if value.is_empty() {
        "(none)".to_string()
    } else {
        value.to_string()
    }
}

/// The full UFS location of a file: its mount's root URI joined with its path.
fn ufs_path(root: &str, path: &str) -> String {
    match (root.ends_with('/'), path.starts_with('/')) {
        (true, true) => format!("{root}{}", &path[1..]),
        (false, false) if !path.is_empty() => format!("{root}/{path}"),
        _ => format!("{root}{path}"),
    }
}
