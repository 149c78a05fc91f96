//! gRPC channels with the transport settings every connection of the
//! project uses (masters and workers alike): bounded connection set-up, no
//! Nagle delay, HTTP/2 windows sized for block streams, keep-alives that
//! notice a dead peer.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::{FsError, FsResult};

/// HTTP/2 flow-control window of one stream (servers use the same).
pub const STREAM_WINDOW: u32 = 16 << 20;
/// HTTP/2 flow-control window of one connection.
pub const CONNECTION_WINDOW: u32 = 64 << 20;
/// How long to wait for a TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A lazily connecting channel to `addr` (`host:port`); the connection is
/// made at the first request (within [`CONNECT_TIMEOUT`]) and again after
/// it breaks. `rpc_timeout` bounds every request on it.
pub fn channel(addr: &str, rpc_timeout: Option<Duration>) -> FsResult<Channel> {
    let mut endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| FsError::InvalidArgument(format!("bad address {addr:?}: {e}")))?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        // Block streams move megabytes per call: HTTP/2's 64 KiB default
        // windows would stall every stream on flow-control round trips.
        .initial_stream_window_size(Some(STREAM_WINDOW))
        .initial_connection_window_size(Some(CONNECTION_WINDOW))
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(20));
    if let Some(timeout) = rpc_timeout {
        endpoint = endpoint.timeout(timeout);
    }
    Ok(endpoint.connect_lazy())
}
