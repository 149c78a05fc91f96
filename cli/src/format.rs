//! `alluxio format`: (re)initializes the master journal folder. The master
//! refuses to start on an unformatted folder, so this is the first command
//! of a new cluster; `-s` makes it safe to run on every start.

use std::io::Write;

use std::collections::BTreeMap;

use alluxio_common::config::{keys, Config};
use alluxio_journal::format::{self as journal_format, FormatInfo};
use alluxio_journal::{JournalError, JournalStore};
use anyhow::Context;
use clap::Args;

/// Arguments of `alluxio format`.
#[derive(Args, Debug)]
pub struct FormatArgs {
    /// Formats only if the journal folder is not formatted yet (never erases
    /// an existing journal).
    #[arg(short = 's')]
    pub if_not_formatted: bool,
}

/// What [`ensure_formatted`] found or did.
pub enum Outcome {
    Formatted(FormatInfo),
    AlreadyFormatted(FormatInfo),
}

/// Runs `alluxio format`.
pub async fn run(conf: &Config, args: FormatArgs) -> anyhow::Result<()> {
    let folder = conf.get(keys::MASTER_JOURNAL_FOLDER)?;
    let options = journal_options(conf);
    if args.if_not_formatted {
        match ensure_formatted(&folder, &options).await? {
            Outcome::Formatted(info) => print_formatted(&folder, &info)?,
            Outcome::AlreadyFormatted(info) => writeln!(
                std::io::stdout(),
                "Journal folder {folder} is already formatted (cluster id {}); left unchanged.",
                info.cluster_id
            )?,
        }
        return Ok(());
    }
    let store = open(&folder, &options)?;
    let info = journal_format::format(&store)
        .await
        .with_context(|| format!("formatting journal folder {folder}"))?;
    print_formatted(&folder, &info)
}

/// Formats the journal at `folder` unless it already holds a valid marker.
/// A marker of another version is an error, never overwritten.
pub async fn ensure_formatted(
    folder: &str,
    options: &BTreeMap<String, String>,
) -> anyhow::Result<Outcome> {
    let store = open(folder, options)?;
    match journal_format::check(&store).await {
        Ok(info) => Ok(Outcome::AlreadyFormatted(info)),
        Err(JournalError::NotFormatted { .. }) => {
            let info = journal_format::format(&store)
                .await
                .with_context(|| format!("formatting journal folder {folder}"))?;
            Ok(Outcome::Formatted(info))
        }
        Err(err @ JournalError::WrongFormat { .. }) => Err(anyhow::anyhow!(
            "{err}; run `alluxio format` without -s to erase it and start afresh"
        )),
        Err(err) => Err(err).with_context(|| format!("checking journal folder {folder}")),
    }
}

/// Options for opening the journal folder (object-store credentials).
pub fn journal_options(conf: &Config) -> BTreeMap<String, String> {
    conf.ufs_options("alluxio.master.journal.ufs.option.")
}

fn open(folder: &str, options: &BTreeMap<String, String>) -> anyhow::Result<JournalStore> {
    JournalStore::open(folder, options).with_context(|| format!("opening journal folder {folder}"))
}

fn print_formatted(folder: &str, info: &FormatInfo) -> anyhow::Result<()> {
    writeln!(
        std::io::stdout(),
        "Formatted journal folder {folder} (format version {}, cluster id {}).",
        info.version,
        info.cluster_id
    )?;
    Ok(())
}
