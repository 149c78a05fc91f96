//! Commands that print file contents: `cat`, `head`, `tail`. They stream
//! chunk by chunk, so any file size works in constant memory.

use std::io::Write;

use alluxio_client::{FileInStream, FileSystem};
use clap::Args;

use crate::args;

/// Arguments of `alluxio fs cat`.
#[derive(Args, Debug)]
pub struct CatArgs {
    /// Files to print, one after the other.
    #[arg(required = true, value_parser = args::alluxio_path)]
    paths: Vec<String>,
}

/// Arguments of `alluxio fs head`.
#[derive(Args, Debug)]
pub struct HeadArgs {
    /// Number of bytes to print (1024, 4KB, ...).
    #[arg(short = 'c', value_name = "BYTES", default_value = "1KB", value_parser = args::parse_size)]
    bytes: u64,
    /// The file to print.
    #[arg(value_parser = args::alluxio_path)]
    path: String,
}

/// Arguments of `alluxio fs tail`.
#[derive(Args, Debug)]
pub struct TailArgs {
    /// Number of bytes to print (1024, 4KB, ...).
    #[arg(short = 'c', value_name = "BYTES", default_value = "1KB", value_parser = args::parse_size)]
    bytes: u64,
    /// The file to print.
    #[arg(value_parser = args::alluxio_path)]
    path: String,
}

/// Runs `alluxio fs cat`.
pub async fn cat(fs: &FileSystem, args: CatArgs) -> anyhow::Result<()> {
    for path in &args.paths {
        let mut stream = fs.open_file(path).await?;
        copy_out(&mut stream, u64::MAX).await?;
    }
    Ok(())
}

/// Runs `alluxio fs head`.
pub async fn head(fs: &FileSystem, args: HeadArgs) -> anyhow::Result<()> {
    let mut stream = fs.open_file(&args.path).await?;
    copy_out(&mut stream, args.bytes).await
}

/// Runs `alluxio fs tail`.
pub async fn tail(fs: &FileSystem, args: TailArgs) -> anyhow::Result<()> {
    let mut stream = fs.open_file(&args.path).await?;
    stream.seek(stream.len().saturating_sub(args.bytes));
    copy_out(&mut stream, u64::MAX).await
}

/// Writes at most `limit` bytes from the stream's position to stdout.
async fn copy_out(stream: &mut FileInStream, mut limit: u64) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    while limit > 0 {
        let Some(chunk) = stream.read_chunk().await? else {
            break;
        };
        let take = chunk
            .len()
            .min(usize::try_from(limit).unwrap_or(usize::MAX));
        out.write_all(&chunk[..take])?;
        limit -= take as u64;
    }
    out.flush()?;
    Ok(())
}
