//! `alluxio getConf`: shows the configuration this machine's clients see,
//! and with `--source` where each value came from (default, a site file, the
//! environment or the command line).

use std::io::Write;

use alluxio_common::config::{keys, Config, Source};
use clap::Args;

/// Arguments of `alluxio getConf`.
#[derive(Args, Debug)]
pub struct GetConfArgs {
    /// Also prints where each value came from.
    #[arg(long)]
    pub source: bool,
    /// The property to print; all of them when omitted.
    pub key: Option<String>,
}

/// Runs `alluxio getConf`.
pub fn run(conf: &Config, args: GetConfArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let Some(key) = args.key else {
        for (key, value, source) in conf.entries() {
            if args.source {
                writeln!(out, "{key}={value} ({source})")?;
            } else {
                writeln!(out, "{key}={value}")?;
            }
        }
        return Ok(());
    };
    let source = conf.source(&key);
    if source == Source::Unset {
        if keys::lookup(&key).is_some() {
            anyhow::bail!("{key} is not set");
        }
        anyhow::bail!("{key} is not a valid configuration key");
    }
    let value = conf.get(&key)?;
    if args.source {
        writeln!(out, "{value} ({source})")?;
    } else {
        writeln!(out, "{value}")?;
    }
    Ok(())
}
