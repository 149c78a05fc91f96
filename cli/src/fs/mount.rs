//! `mount` and `unmount`: attach an under file system to an Alluxio path,
//! or print the mount table.

use std::collections::HashMap;
use std::io::Write;

use alluxio_client::FileSystem;
use anyhow::bail;
use clap::Args;

use crate::args;

/// Arguments of `alluxio fs mount`.
#[derive(Args, Debug)]
pub struct MountArgs {
    /// A UFS option KEY=VALUE (repeatable), e.g. s3a.accessKeyId=...
    #[arg(long = "option", value_name = "KEY=VALUE", value_parser = args::parse_option)]
    options: Vec<(String, String)>,
    /// Where the UFS appears in Alluxio; omit both arguments to print the
    /// mount table.
    #[arg(value_parser = args::alluxio_path)]
    alluxio_path: Option<String>,
    /// The UFS to mount, e.g. /data, file:///data, s3://bucket/dir.
    ufs_uri: Option<String>,
}

/// Arguments of `alluxio fs unmount`.
#[derive(Args, Debug)]
pub struct UnmountArgs {
    /// The mount point to remove.
    #[arg(value_parser = args::alluxio_path)]
    alluxio_path: String,
}

/// Runs `alluxio fs mount`.
pub async fn mount(fs: &FileSystem, args: MountArgs) -> anyhow::Result<()> {
    match (args.alluxio_path, args.ufs_uri) {
        (None, _) => {
            if !args.options.is_empty() {
                bail!("--option needs an Alluxio path and a UFS URI to mount");
            }
            print_table(fs).await
        }
        (Some(_), None) => bail!("expected both an Alluxio path and a UFS URI"),
        (Some(path), Some(uri)) => {
            let options: HashMap<String, String> = args.options.into_iter().collect();
            fs.mount(&path, &uri, options).await?;
            writeln!(std::io::stdout(), "Mounted {uri} at {path}")?;
            Ok(())
        }
    }
}

async fn print_table(fs: &FileSystem) -> anyhow::Result<()> {
    let mut mounts = fs.mount_table().await?;
    mounts.sort_by(|a, b| a.alluxio_path.cmp(&b.alluxio_path));
    let width = mounts.iter().map(|m| m.ufs_uri.len()).max().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    for m in &mounts {
        // Option values can be credentials: show only their names.
        let mut keys: Vec<&str> = m.options.keys().map(String::as_str).collect();
        keys.sort_unstable();
        writeln!(
            out,
            "{:<width$}  on  {}  (options: [{}])",
            m.ufs_uri,
            m.alluxio_path,
            keys.join(", ")
        )?;
    }
    Ok(())
}

/// Runs `alluxio fs unmount`.
pub async fn unmount(fs: &FileSystem, args: UnmountArgs) -> anyhow::Result<()> {
    fs.unmount(&args.alluxio_path).await?;
    writeln!(std::io::stdout(), "Unmounted {}", args.alluxio_path)?;
    Ok(())
}
