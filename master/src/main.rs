//! `alluxio-master`: runs one master in the foreground until SIGTERM
//! (`alluxio_common::startup::run_daemon`: exit status 2 on a bad setting,
//! 1 on a failure while running).

use std::process::ExitCode;

use alluxio_common::config::Process;
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
    startup::run_daemon(
        "alluxio-master",
        Process::Master,
        "master",
        args.properties,
        |conf| Ok(MasterSettings::from_config(conf)?),
        alluxio_master::server::run,
    )
}
