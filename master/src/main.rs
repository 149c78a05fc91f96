//! `alluxio-master`: runs one master in the foreground until SIGTERM.

use alluxio_common::config::{Config, Process};
use alluxio_common::logging::{self, LogSettings};
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
                  environment, then -D. Format a new journal once with `alluxio format`."
)]
struct Args {
    /// Sets a property, overriding files and environment (repeatable):
    /// -Dalluxio.master.rpc.port=19998
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    properties: Vec<String>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            if logging::logs_to_file() {
                tracing::error!("alluxio-master: {e:#}");
            }
            eprintln!("alluxio-master: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn parse_overrides(items: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| anyhow::anyhow!("-D{kv}: expected KEY=VALUE"))
        })
        .collect()
}

fn run(args: Args) -> anyhow::Result<()> {
    let overrides = parse_overrides(&args.properties)?;
    let conf = logging::while_loading(|| Config::load(Process::Master, overrides))?;
    conf.validate()?;
    let settings = MasterSettings::from_config(&conf)?;
    logging::init_process("master", &LogSettings::from_config(&conf)?)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(alluxio_master::server::run(settings, shutdown_signal()))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down");
}
