//! `alluxio-worker`: loads the configuration, opens the block store, serves
//! the block RPCs, and keeps the master informed until SIGTERM or SIGINT.
//!
//! Runs in the foreground. A bad configuration value prints one line naming
//! the key and exits non-zero before anything starts. A signal stops
//! accepting connections, lets in-flight requests finish (for a bounded time)
//! and exits 0; losing the masters for longer than the heartbeat timeout
//! exits non-zero.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use alluxio_common::config::{keys, Config, Process};
use alluxio_common::leader::{DiscoveryConfig, MasterDiscovery};
use alluxio_common::logging;
use alluxio_worker::block_store::BlockStore;
use alluxio_worker::master_client::{MasterLocator, StaticLocator, ZooKeeperLocator};
use alluxio_worker::master_sync::MasterSync;
use alluxio_worker::service::BlockWorkerService;
use alluxio_worker::settings::WorkerSettings;
use anyhow::{anyhow, Context};
use clap::Parser;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::StreamExt;
use tracing::{error, info, warn};

/// How long in-flight requests may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

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
    #[arg(short = 'D', value_name = "KEY=VALUE", value_parser = parse_property)]
    properties: Vec<(String, String)>,
}

fn parse_property(item: &str) -> Result<(String, String), String> {
    match item.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(format!("expected KEY=VALUE, got {item:?}")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A panicking task must not leave a half-working daemon behind.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        std::process::abort();
    }));

    let (settings, logs) = match load_settings(cli.properties) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("alluxio-worker: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = logging::init_process("worker", &logs) {
        eprintln!("alluxio-worker: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("alluxio-worker: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(settings)) {
        Ok(()) => {
            info!("alluxio-worker stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            error!("alluxio-worker failed: {e:#}");
            if logging::logs_to_file() {
                eprintln!("alluxio-worker failed: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

fn load_settings(
    overrides: Vec<(String, String)>,
) -> anyhow::Result<(WorkerSettings, logging::LogSettings)> {
    let config = logging::while_loading(|| Config::load(Process::Worker, overrides))?;
    config.validate()?;
    Ok((
        WorkerSettings::from_config(&config)?,
        logging::LogSettings::from_config(&config)?,
    ))
}

async fn run(settings: WorkerSettings) -> anyhow::Result<()> {
    let store = BlockStore::open(&settings.tiers).context("opening the block store")?;
    let locator: Arc<dyn MasterLocator> = match &settings.masters {
        DiscoveryConfig::Static(list) => Arc::new(StaticLocator::new(list.clone())),
        zookeeper @ DiscoveryConfig::ZooKeeper(_) => Arc::new(ZooKeeperLocator::new(
            MasterDiscovery::new(zookeeper.clone()),
        )),
    };
    let masters = locator.describe();
    let sync = Arc::new(MasterSync::new(&settings, store.clone(), locator));
    alluxio_worker::metrics::init();
    let pages = alluxio_worker::metrics::pages(&settings, store.clone(), sync.clone());
    let service = BlockWorkerService::new(store, sync.clone());

    let listener = TcpListener::bind(("0.0.0.0", settings.rpc_port))
        .await
        .with_context(|| format!("cannot listen on RPC port {}", settings.rpc_port))?;
    let port = listener.local_addr()?.port();
    let web = alluxio_common::web::bind(keys::WORKER_WEB_PORT, settings.web_port).await?;
    let web_port = web.local_addr()?.port();
    let web = alluxio_common::web::spawn(web, pages);
    let incoming = TcpListenerStream::new(listener).map(|conn| {
        if let Ok(stream) = &conn {
            let _ = stream.set_nodelay(true);
        }
        conn
    });
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let mut server = tokio::spawn(
        tonic::transport::Server::builder()
            // Large windows and frames for block streams (see the client's
            // channel settings).
            .initial_stream_window_size(16 << 20)
            .initial_connection_window_size(64 << 20)
            .max_frame_size(1 << 20)
            .layer(alluxio_common::metrics::rpc::RpcMetricsLayer)
            .add_service(service.into_server())
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stop_rx.await;
            }),
    );
    info!(
        "alluxio-worker serving on {}:{port} (web port {web_port})",
        settings.hostname
    );
    info!("looking for the leading master in {masters}");

    let mut sync_task = tokio::spawn(async move { sync.run().await });
    let outcome = tokio::select! {
        signal = shutdown_signal() => {
            info!("received {signal}; shutting down");
            Ok(())
        }
        result = &mut sync_task => match result {
            Ok(Ok(never)) => match never {},
            Ok(Err(e)) => Err(anyhow!(e)),
            Err(e) => Err(anyhow!("the master sync task failed: {e}")),
        },
        result = &mut server => {
            return match result {
                Ok(Ok(())) => Err(anyhow!("the RPC server stopped unexpectedly")),
                Ok(Err(e)) => Err(anyhow!("the RPC server failed: {e}")),
                Err(e) => Err(anyhow!("the RPC server task failed: {e}")),
            };
        }
    };
    sync_task.abort();
    web.abort();
    let _ = stop_tx.send(());
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => warn!("the RPC server failed while stopping: {e}"),
        Ok(Err(e)) => warn!("the RPC server task failed while stopping: {e}"),
        Err(_) => warn!("requests still running after {SHUTDOWN_GRACE:?}; stopping anyway"),
    }
    outcome
}

/// Waits for SIGTERM or SIGINT and names the one that came.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            warn!("cannot watch SIGTERM ({e}); only SIGINT stops the worker");
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    }
}
