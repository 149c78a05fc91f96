//! The web port every server (and optionally the FUSE daemon) serves:
//! `/metrics` in the OpenMetrics text format for Prometheus, and a short
//! plain-text status page at `/` for people.
//!
//! Served over HTTP/1.1 with the hyper that tonic already builds; there is
//! no web framework. The server runs as detached tokio tasks beside the
//! gRPC server: it shares nothing with it but the runtime, and it is simply
//! dropped with the runtime at exit, so it never holds up a shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Why the web port could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Another process holds the port, or it is privileged.
    #[error("cannot listen on web port {port} ({key}) at {addr}; set {key} to a free port")]
    Bind {
        /// The property naming the port.
        key: &'static str,
        /// The port.
        port: u16,
        /// The address tried.
        addr: SocketAddr,
        /// The error from bind(2).
        #[source]
        source: std::io::Error,
    },
}

/// Produces the status page text.
pub type StatusFn = Arc<dyn Fn() -> String + Send + Sync>;

/// Brings gauges that are read rather than pushed (tier usage, live
/// workers) up to date just before `/metrics` is encoded.
pub type RefreshFn = Arc<dyn Fn() + Send + Sync>;

/// What the web port shows.
#[derive(Clone)]
pub struct Pages {
    /// The status page.
    pub status: StatusFn,
    /// Called before each `/metrics` scrape.
    pub refresh: Option<RefreshFn>,
}

/// Binds the web port on all interfaces (as Alluxio's web servers do).
/// `key` names the property the port came from, for the error.
pub async fn bind(key: &'static str, port: u16) -> Result<TcpListener, WebError> {
    let addr = SocketAddr::from(([0, 0, 0, 0], port));
    TcpListener::bind(addr)
        .await
        .map_err(|source| WebError::Bind {
            key,
            port,
            addr,
            source,
        })
}

/// Serves `pages` on `listener` until the runtime stops.
pub fn spawn(listener: TcpListener, pages: Pages) -> tokio::task::JoinHandle<()> {
    tokio::spawn(serve(listener, pages))
}

async fn serve(listener: TcpListener, pages: Pages) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                tracing::warn!("web port: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let pages = pages.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let response = respond(&pages, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!("web port: connection ended: {e}");
            }
        });
    }
}

fn respond<B>(pages: &Pages, request: &Request<B>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET\n".into(),
            "text/plain",
        );
    }
    match request.uri().path() {
        "/metrics" => {
            if let Some(refresh) = &pages.refresh {
                refresh();
            }
            text(
                StatusCode::OK,
                crate::metrics::encode(),
                crate::metrics::CONTENT_TYPE,
            )
        }
        "/" => text(
            StatusCode::OK,
            (pages.status)(),
            "text/plain; charset=utf-8",
        ),
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try / or /metrics\n".into(),
            "text/plain",
        ),
    }
}

fn text(status: StatusCode, body: String, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(port: u16, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn serves_status_and_metrics_and_names_the_key_on_bind_failure() {
        let listener = bind("alluxio.test.web.port", 0).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let pages = Pages {
            status: Arc::new(|| "role: TEST\n".to_string()),
            refresh: None,
        };
        let server = spawn(listener, pages);
        let status = get(port, "/").await;
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        assert!(status.ends_with("role: TEST\n"), "{status}");
        let metrics = get(port, "/metrics").await;
        assert!(
            metrics.contains("application/openmetrics-text"),
            "{metrics}"
        );
        assert!(metrics.ends_with("# EOF\n"), "{metrics}");
        assert!(get(port, "/nope").await.starts_with("HTTP/1.1 404"));

        let err = bind("alluxio.test.web.port", port).await.unwrap_err();
        let message = err.to_string();
        assert!(message.contains("alluxio.test.web.port"), "{message}");
        assert!(message.contains(&port.to_string()), "{message}");
        server.abort();
    }
}
