//! `alluxio fs free`: drops cached copies of persisted data. Like Alluxio's,
//! it always applies to everything under a folder.

use std::io::Write;

use alluxio_client::FileSystem;
use clap::Args;

use crate::args;

/// Arguments of `alluxio fs free`.
#[derive(Args, Debug)]
pub struct FreeArgs {
    /// Accepted for compatibility (Alluxio's force flag).
    #[arg(short = 'f', long = "force")]
    force: bool,
    /// Accepted for compatibility: folders are always freed recursively.
    #[arg(short = 'R')]
    recursive: bool,
    /// Paths to free.
    #[arg(required = true, value_parser = args::alluxio_path)]
    paths: Vec<String>,
}

/// Runs `alluxio fs free`.
pub async fn run(fs: &FileSystem, args: FreeArgs) -> anyhow::Result<()> {
    let _ = (args.force, args.recursive);
    for path in &args.paths {
        let blocks = fs.free(path, true).await?;
        writeln!(
            std::io::stdout(),
            "{path} was successfully freed from Alluxio space ({blocks} block(s))."
        )?;
    }
    Ok(())
}
