//! `alluxio`: the command-line tool. `main` parses the arguments, loads the
//! configuration with the `-D` overrides on top, runs one command and turns
//! any failure into a single line on stderr and exit status 1.

mod args;
mod display;
mod format;
mod fs;
mod fsadmin;
mod get_conf;
mod local;
mod progress;

use std::io::Write;
use std::process::ExitCode;

use alluxio_common::config::{Config, Process};
use anyhow::Context;
use clap::{Parser, Subcommand};

/// Alluxio-compatible command-line tool: file-system commands, cluster
/// administration, journal formatting and a one-command local cluster.
#[derive(Parser, Debug)]
// Without arguments clap would print the whole help as an "error"; a missing
// command is reported on one line listing the commands instead.
#[command(
    name = "alluxio",
    version = alluxio_common::version::VERSION,
    propagate_version = true,
    arg_required_else_help = false
)]
struct Cli {
    /// Sets a configuration property, overriding the site properties and the
    /// environment (repeatable), e.g. -Dalluxio.master.rpc.port=19998.
    #[arg(
        short = 'D',
        global = true,
        value_name = "KEY=VALUE",
        value_parser = alluxio_common::startup::parse_property
    )]
    properties: Vec<(String, String)>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Formats the master journal folder (erases all metadata).
    Format(format::FormatArgs),
    /// Prints the effective value of a property, or of all of them.
    #[command(name = "getConf")]
    GetConf(get_conf::GetConfArgs),
    /// File-system commands (ls, cat, copyFromLocal, ...).
    #[command(arg_required_else_help = false)]
    Fs {
        #[command(subcommand)]
        command: fs::FsCommand,
    },
    /// Cluster administration commands.
    #[command(arg_required_else_help = false)]
    Fsadmin {
        #[command(subcommand)]
        command: fsadmin::FsadminCommand,
    },
    /// Starts a master and a worker on this machine, in the foreground,
    /// until Ctrl-C.
    Local(local::LocalArgs),
}

impl Command {
    /// The prefix of this command's error messages, as Alluxio prints them
    /// (`ls: path does not exist: /x`).
    fn error_prefix(&self) -> String {
        match self {
            Command::Fs { command } => command.name().to_string(),
            Command::Fsadmin { command } => format!("fsadmin {}", command.name()),
            _ => "alluxio".to_string(),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return args::report_parse_error(err),
    };
    alluxio_common::logging::init("warn");
    let prefix = cli.command.error_prefix();
    match run(cli) {
        Ok(code) => code,
        // The reader of our output went away (`alluxio fs cat f | head`): not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "{prefix}: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let overrides = cli.properties;
    match cli.command {
        Command::Format(a) => {
            let conf = load_config(Process::Master, &overrides)?;
            runtime.block_on(format::run(&conf, a))?;
        }
        Command::GetConf(a) => {
            // Not validated: getConf is how one inspects a bad value and its source.
            let conf = Config::load(Process::User, overrides.clone())?;
            get_conf::run(&conf, a)?;
        }
        Command::Fs { command } => {
            let conf = load_config(Process::User, &overrides)?;
            runtime.block_on(fs::run(&conf, command))?;
        }
        Command::Fsadmin { command } => {
            let conf = load_config(Process::User, &overrides)?;
            runtime.block_on(fsadmin::run(&conf, command))?;
        }
        Command::Local(a) => return runtime.block_on(local::run(overrides, a)),
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads and validates the configuration of `process` with the command-line
/// overrides on top.
pub(crate) fn load_config(
    process: Process,
    overrides: &[(String, String)],
) -> anyhow::Result<Config> {
    let conf = Config::load(process, overrides.to_vec())?;
    conf.validate()?;
    Ok(conf)
}

/// The error and its causes on one line: `a: b: c`.
fn one_line(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    text.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether `err` is a bare write error of a closed stdout. Local-file errors
/// always carry context, so a broken pipe there is still reported.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().count() == 1
        && err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
