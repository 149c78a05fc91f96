//! Commands that change the namespace only: `mkdir`, `touch`, `mv`, `rm`.

use std::io::Write;

use alluxio_client::{CreateDirectoryOptions, CreateFileOptions, DeleteOptions, FileSystem};
use anyhow::bail;
use clap::Args;

use crate::args;
use crate::display::is_dir;

/// Arguments of `alluxio fs mkdir`.
#[derive(Args, Debug)]
pub struct MkdirArgs {
    /// No error if a directory exists already (missing parents are always
    /// created, as in Alluxio).
    #[arg(short = 'p')]
    parents: bool,
    /// Directories to create.
    #[arg(required = true, value_parser = args::alluxio_path)]
    paths: Vec<String>,
}

/// Arguments of `alluxio fs touch`.
#[derive(Args, Debug)]
pub struct TouchArgs {
    /// The file to create.
    #[arg(value_parser = args::alluxio_path)]
    path: String,
}

/// Arguments of `alluxio fs mv`.
#[derive(Args, Debug)]
pub struct MvArgs {
    /// Path to move.
    #[arg(value_parser = args::alluxio_path)]
    src: String,
    /// New path, or an existing directory to move into.
    #[arg(value_parser = args::alluxio_path)]
    dst: String,
}

/// Arguments of `alluxio fs rm`.
#[derive(Args, Debug)]
pub struct RmArgs {
    /// Removes directories and their contents.
    #[arg(short = 'R', short_alias = 'r', long = "recursive")]
    recursive: bool,
    /// Removes from Alluxio only, leaving the under file system untouched.
    #[arg(long = "alluxioOnly")]
    alluxio_only: bool,
    /// Paths to remove.
    #[arg(required = true, value_parser = args::alluxio_path)]
    paths: Vec<String>,
}

/// Runs `alluxio fs mkdir`.
pub async fn mkdir(fs: &FileSystem, args: MkdirArgs) -> anyhow::Result<()> {
    for path in &args.paths {
        let opts = CreateDirectoryOptions {
            recursive: true,
            allow_exists: args.parents,
            ..Default::default()
        };
        fs.create_directory(path, opts).await?;
        writeln!(std::io::stdout(), "Successfully created directory {path}")?;
    }
    Ok(())
}

/// Runs `alluxio fs touch`.
pub async fn touch(fs: &FileSystem, args: TouchArgs) -> anyhow::Result<()> {
    let stream = fs
        .create_file(&args.path, CreateFileOptions::default())
        .await?;
    stream.close().await?;
    writeln!(std::io::stdout(), "{} has been created", args.path)?;
    Ok(())
}

/// Runs `alluxio fs mv`.
pub async fn mv(fs: &FileSystem, args: MvArgs) -> anyhow::Result<()> {
    let dst = match fs.get_status(&args.dst).await {
        Ok(info) if is_dir(&info) && args.src != "/" => {
            args::join(&args.dst, args::base_name(&args.src))
        }
        _ => args.dst.clone(),
    };
    fs.rename(&args.src, &dst).await?;
    writeln!(std::io::stdout(), "Renamed {} to {dst}", args.src)?;
    Ok(())
}

/// Runs `alluxio fs rm`.
pub async fn rm(fs: &FileSystem, args: RmArgs) -> anyhow::Result<()> {
    for path in &args.paths {
        let info = fs.get_status(path).await?;
        if is_dir(&info) && !args.recursive {
            bail!("{path} is a directory, to remove it, please use \"rm -R {path}\"");
        }
        let opts = DeleteOptions {
            recursive: args.recursive,
            alluxio_only: args.alluxio_only,
            ..Default::default()
        };
        fs.delete(path, opts).await?;
        writeln!(std::io::stdout(), "{path} has been removed")?;
    }
    Ok(())
}
