//! `GET /metrics`: the process's metrics in the Prometheus text format
//! (`telemetry`), with the figures read at scrape time (dataset versions,
//! the outbox by state); and what the HTTP layer records of each request
//! (by route template, method and status) and of the queries it runs.
//! Never labels a metric with a path, a query string or a token.

use super::ApiError;
use crate::service::App;
use axum::extract::State;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;

/// The metrics as Prometheus text, the dataset versions and the outbox
/// read now: what `GET /metrics` answers, for any listener to serve.
pub async fn metrics_text(app: Arc<App>) -> String {
    let observed = tokio::task::spawn_blocking(move || {
        if let Err(e) = app.observe_versions() {
            tracing::warn!(code = e.code(), error = %e, "metrics: the dataset versions could not be read");
        }
        if let Err(e) = crate::delivery::Outbox::new(app.data_dir()).observe_states() {
            tracing::warn!(code = e.code(), error = %e, "metrics: the outbox could not be read");
        }
        crate::telemetry::render()
    })
    .await;
    observed.unwrap_or_else(|e| {
        tracing::error!(error = %e, "the metrics task failed");
        String::new()
    })
}

/// `GET /metrics` (admins; its text as [`metrics_text`] gives it).
pub async fn metrics(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let text = metrics_text(app).await;
    Ok(([(header::CONTENT_TYPE, crate::telemetry::CONTENT_TYPE)], text).into_response())
}

/// One request answered: its route template (`None`: no route matched),
/// method and status.
pub(super) fn record_request(route: Option<&str>, method: &Method, status: u16, elapsed: Duration) {
    let route = route.unwrap_or("unmatched").to_string();
    let method = method_label(method);
    metrics::counter!(
        "ecomshare_http_requests_total",
        "route" => route.clone(),
        "method" => method,
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!("ecomshare_http_request_duration_seconds", "route" => route, "method" => method)
        .record(elapsed);
}

/// A method as a label: the standard ones by name, any other as `other`
/// (a client may send any token as a method).
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .iter()
        .find(|m| **m == method.as_str())
        .copied()
        .unwrap_or("other")
}

/// A query refused because as many as allowed are running.
pub(super) fn too_many_queries() {
    metrics::counter!("ecomshare_queries_refused_total", "reason" => "too_many_queries").increment(1);
}

/// Counts a query running while it is held (`ecomshare_queries_running`).
pub(super) struct Running(());

impl Running {
    pub(super) fn start() -> Self {
        metrics::gauge!("ecomshare_queries_running").increment(1.0);
        Self(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        metrics::gauge!("ecomshare_queries_running").decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_label_is_one_of_a_fixed_few() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"PROPFIND").unwrap()), "other");
    }
}
