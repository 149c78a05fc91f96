//! `alluxio-worker`: runs the worker (`server.rs`) in the foreground until
//! SIGTERM or SIGINT (`alluxio_common::startup::run_daemon`: exit status 2
//! on a bad setting; losing the masters for longer than the heartbeat
//! timeout exits 1).

use std::process::ExitCode;

use alluxio_common::config::Process;
use alluxio_common::startup;
use alluxio_worker::settings::WorkerSettings;
use clap::Parser;

/// Alluxio worker: caches file blocks on local storage and serves them.
#[derive(Parser, Debug)]
#[command(
    name = "alluxio-worker",
    version = alluxio_common::version::VERSION,
    after_help = "Runs in the foreground until SIGTERM or Ctrl-C; logs go to stderr, or to a \
                  rotated file in alluxio.logs.dir when stderr leads nowhere (level: \
                  RUST_LOG or alluxio.logs.level). Settings come from alluxio-site.properties and \
                  alluxio-env.sh in $ALLUXIO_CONF_DIR, ~/.alluxio or /etc/alluxio, then the \
                  environment, then -D. Exits 2 on a bad setting."
)]
struct Cli {
    /// Sets a configuration property, overriding the site properties and the
    /// environment (repeatable), e.g. -Dalluxio.worker.rpc.port=29999.
    #[arg(short = 'D', value_name = "KEY=VALUE", value_parser = startup::parse_property)]
    properties: Vec<(String, String)>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    startup::run_daemon(
        "alluxio-worker",
        Process::Worker,
        "worker",
        cli.properties,
        |conf| Ok(WorkerSettings::from_config(conf)?),
        alluxio_worker::server::run,
    )
}
