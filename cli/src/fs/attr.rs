//! Attribute commands: `chmod`, `chown`, `chgrp`.

use std::io::Write;

use alluxio_client::{FileSystem, SetAttributeOptions};
use clap::Args;

use crate::args::{self, OwnerGroup};

/// Arguments of `alluxio fs chmod`.
#[derive(Args, Debug)]
pub struct ChmodArgs {
    /// Applies to everything under the path too.
    #[arg(short = 'R')]
    recursive: bool,
    /// Octal mode, e.g. 755.
    #[arg(value_parser = args::parse_mode)]
    mode: u32,
    /// Path to change.
    #[arg(value_parser = args::alluxio_path)]
    path: String,
}

/// Arguments of `alluxio fs chown`.
#[derive(Args, Debug)]
pub struct ChownArgs {
    /// Applies to everything under the path too.
    #[arg(short = 'R')]
    recursive: bool,
    /// OWNER or OWNER:GROUP.
    #[arg(value_name = "OWNER[:GROUP]", value_parser = args::parse_owner)]
    owner: OwnerGroup,
    /// Path to change.
    #[arg(value_parser = args::alluxio_path)]
    path: String,
}

/// Arguments of `alluxio fs chgrp`.
#[derive(Args, Debug)]
pub struct ChgrpArgs {
    /// Applies to everything under the path too.
    #[arg(short = 'R')]
    recursive: bool,
    /// New group.
    group: String,
    /// Path to change.
    #[arg(value_parser = args::alluxio_path)]
    path: String,
}

/// Runs `alluxio fs chmod`.
pub async fn chmod(fs: &FileSystem, args: ChmodArgs) -> anyhow::Result<()> {
    let change = SetAttributeOptions {
        mode: Some(args.mode),
        recursive: args.recursive,
        ..Default::default()
    };
    fs.set_attribute(&args.path, change).await?;
    writeln!(
        std::io::stdout(),
        "Changed permission of {} to {:o}",
        args.path,
        args.mode
    )?;
    Ok(())
}

/// Runs `alluxio fs chown`.
pub async fn chown(fs: &FileSystem, args: ChownArgs) -> anyhow::Result<()> {
    let OwnerGroup { owner, group } = args.owner;
    let change = SetAttributeOptions {
        owner: Some(owner.clone()),
        group: group.clone(),
        recursive: args.recursive,
        ..Default::default()
    };
    fs.set_attribute(&args.path, change).await?;
    let mut out = std::io::stdout();
    match group {
        Some(group) => writeln!(
            out,
            "Changed owner:group of {} to {owner}:{group}.",
            args.path
        )?,
        None => writeln!(out, "Changed owner of {} to {owner}.", args.path)?,
    }
    Ok(())
}

/// Runs `alluxio fs chgrp`.
pub async fn chgrp(fs: &FileSystem, args: ChgrpArgs) -> anyhow::Result<()> {
    if args.group.is_empty() || args.group.contains(char::is_whitespace) {
        anyhow::bail!("invalid group {:?}", args.group);
    }
    let change = SetAttributeOptions {
        group: Some(args.group.clone()),
        recursive: args.recursive,
        ..Default::default()
    };
    fs.set_attribute(&args.path, change).await?;
    writeln!(
        std::io::stdout(),
        "Changed group of {} to {}.",
        args.path,
        args.group
    )?;
    Ok(())
}
