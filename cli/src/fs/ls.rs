//! `alluxio fs ls`: one line per entry in the column layout of Alluxio's
//! `LsCommand` (permissions, owner, group, size, persistence state,
//! modification time, cached percentage or `DIR`, path).

use std::io::Write;

use alluxio_client::{FileInfo, FileSystem};
use clap::{ArgAction, Args, ValueEnum};

use crate::args;
use crate::display::{is_dir, mode_string, size, time_ns};

/// Arguments of `alluxio fs ls`.
#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct LsArgs {
    /// Lists subdirectories recursively.
    #[arg(short = 'R')]
    recursive: bool,
    /// Prints sizes in human-readable form (1.50KB).
    #[arg(short = 'h')]
    human: bool,
    /// Lists directories as plain entries instead of their contents.
    #[arg(short = 'd')]
    directory: bool,
    /// Sort order.
    #[arg(long, value_enum, default_value_t = SortBy::Path)]
    sort: SortBy,
    /// Reverses the sort order.
    #[arg(short = 'r')]
    reverse: bool,
    /// Prints help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    /// Paths to list.
    #[arg(required = true, value_parser = args::alluxio_path)]
    paths: Vec<String>,
}

/// Orders of `ls --sort`, named as in Alluxio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SortBy {
    #[value(name = "name")]
    Name,
    #[value(name = "path")]
    Path,
    #[value(name = "size")]
    Size,
    #[value(name = "lastModificationTime")]
    LastModificationTime,
    #[value(name = "creationTime")]
    CreationTime,
    #[value(name = "inMemoryPercentage")]
    InMemoryPercentage,
}

/// Runs `alluxio fs ls`.
pub async fn run(fs: &FileSystem, args: LsArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for path in &args.paths {
        let mut infos = if args.directory {
            vec![fs.get_status(path).await?]
        } else {
            fs.list_status(path, args.recursive).await?
        };
        sort(&mut infos, args.sort);
        if args.reverse {
            infos.reverse();
        }
        for info in &infos {
            writeln!(out, "{}", line(info, args.human))?;
        }
    }
    Ok(())
}

fn sort(infos: &mut [FileInfo], by: SortBy) {
    match by {
        SortBy::Name => infos.sort_by(|a, b| a.name.cmp(&b.name).then(a.path.cmp(&b.path))),
        SortBy::Path => infos.sort_by(|a, b| a.path.cmp(&b.path)),
        SortBy::Size => infos.sort_by_key(|i| (i.length, i.path.clone())),
        SortBy::LastModificationTime => infos.sort_by_key(|i| (i.mtime_ns, i.path.clone())),
        SortBy::CreationTime => infos.sort_by_key(|i| (i.crtime_ns, i.path.clone())),
        SortBy::InMemoryPercentage => {
            infos.sort_by_key(|i| (i.in_memory_percentage, i.path.clone()))
        }
    }
}

/// Alluxio's persistence state column.
pub fn persistence_state(info: &FileInfo) -> &'static str {
    if info.persisted {
        "PERSISTED"
    } else {
        "NOT_PERSISTED"
    }
}

/// One listing line, in Alluxio's columns (`%-11s%-15s%-15s%15s%16s%24s%5s %s`);
/// a value wider than its column still gets one space before the next.
fn line(info: &FileInfo, human: bool) -> String {
    let cached = if is_dir(info) {
        "DIR".to_string()
    } else {
        format!("{}%", info.in_memory_percentage)
    };
    let mut out = String::with_capacity(128);
    left(&mut out, &mode_string(info), 11);
    left(&mut out, &info.owner, 15);
    left(&mut out, &info.group, 15);
    right(&mut out, &size(info.length, human), 15);
    right(&mut out, persistence_state(info), 16);
    right(&mut out, &time_ns(info.mtime_ns), 24);
    right(&mut out, &cached, 5);
    out.push(' ');
    out.push_str(&info.path);
    out
}

fn left(out: &mut String, value: &str, width: usize) {
    out.push_str(value);
    let len = value.chars().count();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(len).max(1)));
}

fn right(out: &mut String, value: &str, width: usize) {
    let len = value.chars().count();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(len).max(1)));
    out.push_str(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alluxio_client::FileType;

    #[test]
    fn line_matches_alluxio_layout() {
        let info = FileInfo {
            path: "/a/b".into(),
            file_type: FileType::Regular as i32,
            mode: 0o644,
            owner: "alice".into(),
            group: "staff".into(),
            length: 80,
            persisted: true,
            mtime_ns: 1_575_971_833_536_000_000,
            in_memory_percentage: 100,
            ..Default::default()
        };
        assert_eq!(
            line(&info, false),
            [
                "-rw-r--r-- ",
                "alice          ",
                "staff          ",
                "             80",
                "       PERSISTED",
                " 12-10-2019 09:57:13:536",
                " 100%",
                " /a/b"
            ]
            .concat()
        );
    }
}
