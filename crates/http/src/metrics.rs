//! Prometheus metrics for the API listener.
//!
//! Metric names:
//! - `portcullis_api_requests_total{service,operation,status}`: requests answered.
//! - `portcullis_api_request_duration_seconds{service,operation}`: time to answer.
//! - `portcullis_api_auth_failures_total{reason}`: requests refused before reaching a service.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide Prometheus recorder once and returns its handle. When another
/// recorder was installed first (an embedding program), `/metrics` reports nothing.
pub fn handle() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .clone()
}

/// Renders the metrics in the Prometheus text format.
pub fn render() -> String {
    handle().map(|h| h.render()).unwrap_or_default()
}

/// Counts one answered request and its latency.
pub fn request(service: &'static str, operation: &str, status: u16, elapsed: Duration) {
    let op = if operation.is_empty() {
        "unknown"
    } else {
        operation
    };
    // Static labels are borrowed, not copied: this runs on every request.
    let status_label = match status {
        200 => metrics::SharedString::const_str("200"),
        400 => metrics::SharedString::const_str("400"),
        403 => metrics::SharedString::const_str("403"),
        404 => metrics::SharedString::const_str("404"),
        500 => metrics::SharedString::const_str("500"),
        503 => metrics::SharedString::const_str("503"),
        other => metrics::SharedString::from(other.to_string()),
    };
    let op = metrics::SharedString::from(op.to_owned());
    metrics::counter!("portcullis_api_requests_total", "service" => service,
        "operation" => op.clone(), "status" => status_label)
    .increment(1);
    metrics::histogram!("portcullis_api_request_duration_seconds", "service" => service,
        "operation" => op)
    .record(elapsed.as_secs_f64());
}

/// Counts one authentication failure.
pub fn auth_failure(reason: &'static str) {
    metrics::counter!("portcullis_api_auth_failures_total", "reason" => reason).increment(1);
}
