//! `alluxio-master`: runs one master in the foreground until SIGTERM.
//!
//! A bad configuration value prints one line naming the key and exits 2
//! before anything starts; a failure while running is logged and exits 1.

use std::process::ExitCode;

use alluxio_common::config::Process;
use alluxio_common::logging::{self, LogSettings};
use alluxio_common::startup;
use alluxio_master::settings::MasterSettings;
use clap::Parser;

/// Runs an Alluxio master (namespace, journal, worker registry).
#[derive(Parser, Debug)]
#[command(
    name = "alluxio-master",
    version = alluxio_common::version::VERSION,
    after_help = "Runs in the foreground until SIGTERM or Ctrl-C; logs go to stderr, or to a \
                  rotated file in alluxio.logs.dir when stderr leads nowhere (level: \
                  RUST_LOG or alluxio.logs.level). Settings come from alluxio-site.properties and \
                  alluxio-env.sh in $ALLUXIO_CONF_DIR, ~/.alluxio or /etc/alluxio, then the \
                  environment, then -D. Exits 2 on a bad setting. Format a new journal once \
                  with `alluxio format`."
)]
struct Args {
    /// Sets a property, overriding files and environment (repeatable):
    /// -Dalluxio.master.rpc.port=19998
    #[arg(short = 'D', value_name = "KEY=VALUE", value_parser = startup::parse_property)]
    properties: Vec<(String, String)>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    startup::abort_on_panic();
    let (settings, logs) = match load_settings(args.properties) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("alluxio-master: invalid configuration: {e:#}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = logging::init_process("master", &logs) {
        eprintln!("alluxio-master: {e}");
        return ExitCode::from(2);
    }
    let runtime = match startup::runtime("alluxio-master", None) {
        Ok(runtime) => runtime,
        Err(e) => {
            startup::report_fatal(
                "alluxio-master",
                format_args!("cannot start the runtime: {e}"),
            );
            return ExitCode::FAILURE;
        }
    };
    let stop = async {
        let signal = startup::shutdown_signal().await;
        tracing::info!("received {signal}; shutting down");
    };
    match runtime.block_on(alluxio_master::server::run(settings, stop)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            startup::report_fatal("alluxio-master", e);
            ExitCode::FAILURE
        }
    }
}

fn load_settings(
    overrides: Vec<(String, String)>,
) -> anyhow::Result<(MasterSettings, LogSettings)> {
    let conf = startup::load_config(Process::Master, overrides)?;
    Ok((
        MasterSettings::from_config(&conf)?,
        LogSettings::from_config(&conf)?,
    ))
}
