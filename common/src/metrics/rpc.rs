//! Counts and times every gRPC call a server answers, in one place: a tower
//! layer put in front of the tonic services (`Server::builder().layer(..)`),
//! so no handler has to remember to record itself.
//!
//! The method comes from the request path (`/<package>.<Service>/<Method>`).
//! The status code is the `grpc-status` header of the response, which tonic
//! sets on every error reply (trailers-only responses); a reply without it
//! succeeded as far as its headers go (a stream's final status is in its
//! trailers and is not looked at). Latency is the time until the response
//! headers: the whole call for unary methods, time to first message for
//! streams. Paths no service knows are counted as method `unknown`, so a
//! client cannot make up label values.

use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};
use std::time::Instant;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

type MethodLabels = [(&'static str, String); 2];
type CodeLabels = [(&'static str, String); 3];

struct RpcMetrics {
    requests: Family<CodeLabels, Counter>,
    latency: Family<MethodLabels, Histogram, fn() -> Histogram>,
}

static METRICS: LazyLock<RpcMetrics> = LazyLock::new(|| RpcMetrics {
    requests: super::register(
        "rpc_requests",
        "gRPC calls answered, by service, method and status code.",
        Family::default(),
    ),
    latency: super::register(
        "rpc_duration_seconds",
        "Time from receiving a gRPC call to sending its response headers.",
        Family::new_with_constructor(super::latency_histogram as fn() -> Histogram),
    ),
});

/// Makes the RPC metric families appear on `/metrics` before the first call.
pub fn init() {
    LazyLock::force(&METRICS);
}

/// The tower layer that records `alluxio_rpc_requests_total` and
/// `alluxio_rpc_duration_seconds` for the services behind it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcMetricsLayer;

impl<S> tower_layer::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        init();
        RpcMetricsService { inner }
    }
}

/// The service [`RpcMetricsLayer`] wraps around the tonic router.
#[derive(Debug, Clone)]
pub struct RpcMetricsService<S> {
    inner: S,
}

impl<S, B, R> tower_service::Service<http::Request<B>> for RpcMetricsService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (service, method) = split_path(request.uri().path());
        let started = Instant::now();
        let call = self.inner.call(request);
        Box::pin(async move {
            let result = call.await;
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or(tonic::Code::Ok, tonic::Code::from),
                Err(_) => tonic::Code::Unknown,
            };
            let method = if code == tonic::Code::Unimplemented {
                "unknown".to_string()
            } else {
                method
            };
            record(&service, &method, code, started.elapsed().as_secs_f64());
            result
        })
    }
}

fn record(service: &str, method: &str, code: tonic::Code, seconds: f64) {
    METRICS
        .requests
        .get_or_create(&[
            ("service", service.to_string()),
            ("method", method.to_string()),
            ("code", format!("{code:?}")),
        ])
        .inc();
    METRICS
        .latency
        .get_or_create(&[
            ("service", service.to_string()),
            ("method", method.to_string()),
        ])
        .observe(seconds);
}

/// `/alluxio.FileSystemMaster/CreateFile` → (`FileSystemMaster`,
/// `CreateFile`); anything else is (`unknown`, `unknown`).
fn split_path(path: &str) -> (String, String) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    match (parts.next(), parts.next()) {
        (Some(service), Some(method)) if !service.is_empty() && !method.is_empty() => {
            let service = service.rsplit('.').next().unwrap_or(service);
            (service.to_string(), method.to_string())
        }
        _ => ("unknown".to_string(), "unknown".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_service_and_method() {
        assert_eq!(
            split_path("/alluxio.FileSystemMaster/CreateFile"),
            ("FileSystemMaster".to_string(), "CreateFile".to_string())
        );
        assert_eq!(split_path("/"), ("unknown".into(), "unknown".into()));
        assert_eq!(split_path("/x"), ("unknown".into(), "unknown".into()));
    }
}
