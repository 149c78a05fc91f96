//! `alluxio-worker`: loads the configuration and runs the worker
//! (`server.rs`) in the foreground until SIGTERM or SIGINT.
//!
//! A bad configuration value prints one line naming the key and exits 2
//! before anything starts. A signal stops the worker and exits 0; losing the
//! masters for longer than the heartbeat timeout exits non-zero.

use std::process::ExitCode;

use alluxio_common::config::Process;
use alluxio_common::logging::{self, LogSettings};
use alluxio_common::startup;
use alluxio_worker::settings::WorkerSettings;
use clap::Parser;
use tracing::info;

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
    startup::abort_on_panic();
    let (settings, logs) = match load_settings(cli.properties) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("alluxio-worker: invalid configuration: {e:#}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = logging::init_process("worker", &logs) {
        eprintln!("alluxio-worker: {e}");
        return ExitCode::from(2);
    }
    let runtime = match startup::runtime("alluxio-worker", None) {
        Ok(runtime) => runtime,
        Err(e) => {
            startup::report_fatal(
                "alluxio-worker",
                format_args!("cannot start the runtime: {e}"),
            );
            return ExitCode::FAILURE;
        }
    };
    let stop = async {
        let signal = startup::shutdown_signal().await;
        info!("received {signal}; shutting down");
    };
    match runtime.block_on(alluxio_worker::server::run(settings, stop)) {
        Ok(()) => {
            info!("alluxio-worker stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            startup::report_fatal("alluxio-worker", e);
            ExitCode::FAILURE
        }
    }
}

fn load_settings(
    overrides: Vec<(String, String)>,
) -> anyhow::Result<(WorkerSettings, LogSettings)> {
    let config = startup::load_config(Process::Worker, overrides)?;
    Ok((
        WorkerSettings::from_config(&config)?,
        LogSettings::from_config(&config)?,
    ))
}
