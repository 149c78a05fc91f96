//! Running a worker: opens the block store, serves the block RPCs and the
//! web port, and keeps the master informed, until the shutdown future
//! resolves or the masters have been lost for longer than the heartbeat
//! timeout.
//!
//! On shutdown the worker stops accepting connections and lets in-flight
//! requests finish for a bounded time ([`SHUTDOWN_GRACE`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use alluxio_common::config::keys;
use alluxio_common::leader::MasterDiscovery;
use anyhow::{anyhow, Context};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::StreamExt;
use tracing::{info, warn};

use crate::block_store::BlockStore;
use crate::master_sync::MasterSync;
use crate::service::BlockWorkerService;
use crate::settings::WorkerSettings;

/// How long in-flight requests may take to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Runs the worker until `shutdown` resolves (`Ok`) or it must give up
/// (`Err`: the masters were unreachable too long, or the RPC server failed).
pub async fn run(
    settings: WorkerSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let store = BlockStore::open(&settings.tiers).context("opening the block store")?;
    let discovery = MasterDiscovery::new(settings.masters.clone());
    let masters = discovery.describe().to_string();
    let sync = Arc::new(MasterSync::new(&settings, store.clone(), discovery));
    crate::metrics::init();
    let pages = crate::metrics::pages(&settings, store.clone(), sync.clone());
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
            // A client that vanished (crashed host, partition: no FIN ever
            // comes) is found by unanswered pings, and its streams' space
            // freed.
            .http2_keepalive_interval(Some(settings.keepalive_time))
            .http2_keepalive_timeout(Some(settings.keepalive_timeout))
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
        () = shutdown => Ok(()),
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
