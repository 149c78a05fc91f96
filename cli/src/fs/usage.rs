//! Space accounting: `du` (size and cached size per file or in total) and
//! `count` (files, folders, bytes), in Alluxio's output layouts.

use std::io::Write;

use alluxio_client::{FileInfo, FileSystem};
use clap::{ArgAction, Args};

use crate::args;
use crate::display::{is_dir, percent, size};

/// Arguments of `alluxio fs du`.
#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct DuArgs {
    /// Prints one total per path instead of one line per file.
    #[arg(short = 's')]
    summarize: bool,
    /// Prints sizes in human-readable form (1.50KB).
    #[arg(short = 'h')]
    human: bool,
    /// Prints help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    /// Paths to measure.
    #[arg(required = true, value_parser = args::alluxio_path)]
    paths: Vec<String>,
}

/// Arguments of `alluxio fs count`.
#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct CountArgs {
    /// Prints the size in human-readable form (1.50KB).
    #[arg(short = 'h')]
    human: bool,
    /// Prints help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    /// Path to count.
    #[arg(value_parser = args::alluxio_path)]
    path: String,
}

/// Bytes of `info` held by workers: the blocks with at least one location,
/// or the master's percentage when it sent no block list.
fn cached_bytes(info: &FileInfo) -> u64 {
    if info.blocks.is_empty() {
        return info
            .length
            .saturating_mul(u64::from(info.in_memory_percentage.min(100)))
            / 100;
    }
    info.blocks
        .iter()
        .filter(|b| !b.locations.is_empty())
        .map(|b| b.length)
        .sum()
}

fn du_line(
    out: &mut impl Write,
    length: u64,
    cached: u64,
    path: &str,
    human: bool,
) -> std::io::Result<()> {
    let in_alluxio = format!("{} ({}%)", size(cached, human), percent(cached, length));
    writeln!(out, "{:<13} {:<16} {path}", size(length, human), in_alluxio)
}

/// Runs `alluxio fs du`.
pub async fn du(fs: &FileSystem, args: DuArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:<13} {:<16} Path", "File Size", "In Alluxio")?;
    for path in &args.paths {
        let mut files: Vec<FileInfo> = fs
            .list_status(path, true)
            .await?
            .into_iter()
            .filter(|i| !is_dir(i))
            .collect();
        if args.summarize {
            let length = files.iter().map(|i| i.length).sum();
            let cached = files.iter().map(cached_bytes).sum();
            du_line(&mut out, length, cached, path, args.human)?;
        } else {
            files.sort_by(|a, b| a.path.cmp(&b.path));
            for info in &files {
                du_line(
                    &mut out,
                    info.length,
                    cached_bytes(info),
                    &info.path,
                    args.human,
                )?;
            }
        }
    }
    Ok(())
}

/// Runs `alluxio fs count`. As in Alluxio, a folder counts itself.
pub async fn count(fs: &FileSystem, args: CountArgs) -> anyhow::Result<()> {
    let info = fs.get_status(&args.path).await?;
    let (files, folders, bytes) = if is_dir(&info) {
        let all = fs.list_status(&args.path, true).await?;
        let (dirs, files): (Vec<_>, Vec<_>) = all.iter().partition(|i| is_dir(i));
        (
            files.len() as u64,
            dirs.len() as u64 + 1,
            files.iter().map(|i| i.length).sum(),
        )
    } else {
        (1, 0, info.length)
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:<25}{:<25}Folder Size", "File Count", "Folder Count")?;
    writeln!(
        out,
        "{:<25}{:<25}{}",
        files,
        folders,
        size(bytes, args.human)
    )?;
    Ok(())
}
