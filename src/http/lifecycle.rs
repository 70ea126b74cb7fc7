//! The server's lifecycle over HTTP: the probes (`/livez`, `/readyz`), the
//! ops router (the probes on a listener of their own, without a token),
//! and the drain of a shutdown: in-flight requests finish within the
//! grace, a write running is waited for, the rest is cut, the audit trail
//! is written out.
//!
//! Decides neither readiness (`App::readiness`, read per probe with no
//! I/O) nor when to stop (the caller's shutdown future: signals are the
//! command line's).

use super::{ApiError, gate};
use crate::service::{App, Readiness};
use crate::util::stop::{Stop, Stopper, stopper};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// After the cut, how long answers already being sent (a streamed query
/// result, a download) may go on before the process exits anyway.
const AFTER_CUT: Duration = Duration::from_secs(1);

/// Requests in flight (counted by the gate) and the cut that ends them.
pub struct Drain {
    in_flight: AtomicUsize,
    cutter: Stopper,
    cut: Stop,
}

/// A request counted in flight while it lives.
pub(super) struct InFlight<'a>(&'a Drain);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drain {
    pub(super) fn new() -> Self {
        let (cutter, cut) = stopper();
        Self {
            in_flight: AtomicUsize::new(0),
            cutter,
            cut,
        }
    }

    pub(super) fn enter(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self)
    }

    /// Completes when the requests in flight are to be cut.
    pub(super) fn cut_signal(&self) -> Stop {
        self.cut.clone()
    }

    fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }
}

/// `GET /livez`: the process answers.
pub(super) async fn livez() -> Response {
    probe(StatusCode::OK, serde_json::json!({"status": "live"}))
}

/// `GET /readyz`: 200 once the newest version is loaded and readied, 503
/// before and from the moment a shutdown begins.
pub(super) async fn readyz(State(app): State<Arc<App>>) -> Response {
    match app.readiness() {
        Readiness::Ready { dataset_version } => probe(
            StatusCode::OK,
            serde_json::json!({"status": "ready", "dataset_version": dataset_version}),
        ),
        Readiness::Loading => probe(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "not_ready", "reason": "loading"}),
        ),
        Readiness::ShuttingDown => probe(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "not_ready", "reason": "shutting_down"}),
        ),
    }
}

fn probe(status: StatusCode, body: serde_json::Value) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The ops listener's routes, without a token: the probes, one line each,
/// and the metrics (as the main listener's admins get them).
pub fn ops_router(app: Arc<App>) -> Router {
    Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/metrics", get(super::metrics::metrics))
        .fallback(|| async { ApiError::not_found() })
        .layer(middleware::from_fn(super::log_request))
        .with_state(app)
}

/// Serves [`ops_router`] until the process exits (so `/readyz` answers 503
/// there while the main listener drains).
pub async fn serve_ops(listener: tokio::net::TcpListener, app: Arc<App>) -> std::io::Result<()> {
    axum::serve(listener, ops_router(app)).await
}

/// Serves until `shutdown` completes, then shuts down in order:
/// readiness says so (`/readyz` 503) and no write begins; no connection is
/// accepted; requests in flight finish within `options.shutdown_grace`;
/// past it, a write running (a commit) finishes and its request is
/// answered, then the other requests are cut (answered 503
/// `shutting_down`, logged); last, every audit event is written and synced.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    options: gate::HttpOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    super::spool::clean(app.data_dir());
    let grace = options.shutdown_grace;
    let drain = Arc::new(Drain::new());
    let (router, guard) = super::router_parts(app.clone(), options, drain.clone());
    // Answers go out as soon as written: without this, the last segment of
    // a larger body waits for the client's acknowledgement (Nagle).
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream: &mut tokio::net::TcpStream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    let (signalled, began) = tokio::sync::oneshot::channel();
    let closing = app.clone();
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        // Before the listener closes: probes see it first.
        closing.begin_shutdown();
        let _ = signalled.send(());
    });
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        served = &mut server => return served,
        _ = began => {}
    }
    tracing::info!(
        in_flight = drain.in_flight(),
        commit_running = app.writing(),
        grace_s = grace.as_secs_f64(),
        "shutting down: /readyz answers 503, no connection is accepted and no ingest begins; requests in flight finish"
    );
    match tokio::time::timeout(grace, &mut server).await {
        Ok(served) => {
            served?;
            tracing::info!("every request in flight finished");
        }
        Err(_) => {
            if app.writing() {
                tracing::info!("the grace is over; a commit is running: waiting for it to finish");
            }
            app.writes_finished().await;
            let cut = drain.in_flight();
            drain.cutter.stop();
            if cut > 0 {
                tracing::warn!(
                    requests = cut,
                    grace_s = grace.as_secs_f64(),
                    "the grace is over: requests still in flight are cut (answered 503 shutting_down)"
                );
            }
            if tokio::time::timeout(AFTER_CUT, &mut server).await.is_err() {
                tracing::warn!("connections still sending an answer are closed on exit");
            }
        }
    }
    // A write begun for a request whose client went away meanwhile.
    if app.writing() {
        tracing::info!("a commit is running: waiting for it to finish");
    }
    app.writes_finished().await;
    guard.close_audit().await;
    Ok(())
}
