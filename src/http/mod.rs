//! HTTP: the REST API and the browser pages over axum.
//!
//! Thin handlers: read the request, call one `App` use case, encode the
//! result in the format the `Accept` header asks for, with conditional-GET
//! headers. The only module that knows axum. It never computes a figure,
//! never opens the store or the engine directly.
//!
//! Here: the route table (each route with the access it asks for and its
//! documentation, `doc`), the middleware (`gate`: who, whether, how much;
//! request logs), the metrics (`metrics`: `GET /metrics` and what the HTTP
//! layer records), what a page handler needs of a request (`page`), and the
//! helpers handlers share; the probes, the ops listener and the drain of a
//! shutdown (`lifecycle`). The handlers live by audience: `share_api`
//! (figures, charts, reference) and `outlook_api` (the year's outlook),
//! `dashboard_pages`, `filings` (uploads,
//! templates, ingest reports) and `filing_pages` (the filers' pages),
//! `analysis` (named queries, SQL) and `query_pages` (the officials' query
//! pages), `admin` (reports, deliveries) and `admin_pages`, and `signin`.

mod admin;
mod admin_pages;
mod analysis;
mod dashboard_pages;
pub mod doc;
mod error;
mod filing_pages;
mod filings;
pub mod gate;
mod lifecycle;
pub mod metrics;
mod outlook_api;
mod page;
mod query_pages;
mod share_api;
mod signin;
mod spool;

pub use error::ApiError;
pub use lifecycle::{ops_router, serve, serve_ops};
use page::page_lang;

use crate::access::tokens::Identity;
use crate::service::{App, Audience};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use std::hash::Hash;
use std::sync::Arc;
use std::time::Instant;

/// Largest accepted upload by default.
pub const MAX_UPLOAD_BYTES: usize = 256 << 20;

pub use gate::HttpOptions;

pub fn router(app: Arc<App>) -> Router {
    router_with(app, HttpOptions::default())
}

/// The router with another upload limit (tests use a small one).
pub fn router_with_upload_limit(app: Arc<App>, max_upload_bytes: usize) -> Router {
    router_with(
        app,
        HttpOptions {
            max_upload_bytes,
            ..HttpOptions::default()
        },
    )
}

/// The routes, each with the access it asks for, and the documentation
/// recorded beside them.
pub fn routes() -> (Router<Arc<App>>, Arc<Vec<doc::Op>>) {
    use crate::domain::Access::{Admin, Analysis, Dashboard, Figures, Filing, Public};
    doc::Api::new()
        .get("/healthz", Public, doc::healthz, healthz)
        .get("/livez", Public, doc::livez, lifecycle::livez)
        .get("/readyz", Public, doc::readyz, lifecycle::readyz)
        .get("/api/v1/share", Figures, doc::share, share_api::share)
        .get("/api/v1/outlook", Figures, doc::outlook, outlook_api::outlook)
        .route(
            "post",
            "/api/v1/filings",
            Filing,
            doc::filings,
            // The body is streamed to a spool file, bounded by the handler.
            post(filings::post_filings).layer(DefaultBodyLimit::disable()),
        )
        .get(
            "/api/v1/filings/template.csv",
            Public,
            doc::template_csv,
            filings::template_csv,
        )
        .get(
            "/api/v1/filings/template.xlsx",
            Public,
            doc::template_xlsx,
            filings::template_xlsx,
        )
        .get("/api/v1/ingests", Filing, doc::ingests, filings::ingests)
        .get(
            "/api/v1/ingests/{version}",
            Filing,
            doc::ingest_report,
            filings::ingest_report,
        )
        .get(
            "/api/v1/reference/{table}",
            Figures,
            doc::reference,
            share_api::reference,
        )
        .get("/api/v1/queries", Analysis, doc::queries, analysis::list)
        .get("/api/v1/queries/{name}", Analysis, doc::query, analysis::run)
        .route(
            "post",
            "/api/v1/sql",
            Analysis,
            doc::sql,
            post(analysis::sql).layer(DefaultBodyLimit::max(crate::engine::sql_gate::MAX_SQL_BYTES + 4096)),
        )
        .get("/api/v1/reports", Admin, doc::reports, admin::reports)
        .get(
            "/api/v1/reports/{month}/{file}",
            Admin,
            doc::report_file,
            admin::report_file,
        )
        .post("/api/v1/reports/{month}", Admin, doc::post_report, admin::post_report)
        .get("/api/v1/deliveries", Admin, doc::deliveries, admin::deliveries)
        .get("/metrics", Admin, doc::metrics, metrics::metrics)
        .get("/api/v1/openapi.json", Public, doc::openapi, openapi)
        .get("/api/v1/docs", Public, doc::docs, docs)
        .get("/signin", Public, doc::signin_form, signin::form)
        .route(
            "post",
            "/signin",
            Public,
            doc::signin,
            post(signin::submit).layer(DefaultBodyLimit::max(16 << 10)),
        )
        .post("/signout", Public, doc::signout, signin::signout)
        .get("/charts/{file}", Dashboard, doc::chart, share_api::chart)
        .get("/", Dashboard, doc::overview, dashboard_pages::overview)
        .get(
            "/districts/{code}",
            Dashboard,
            doc::district_page,
            dashboard_pages::district_page,
        )
        .get(
            "/sectors/{code}",
            Dashboard,
            doc::sector_page,
            dashboard_pages::sector_page,
        )
        // The filers' pages.
        .get(
            "/filings/upload",
            Filing,
            doc::filing_upload_form,
            filing_pages::upload_form,
        )
        .route(
            "post",
            "/filings/upload",
            Filing,
            doc::filing_upload,
            // The file is streamed to a spool file, bounded by the handler.
            post(filing_pages::upload).layer(DefaultBodyLimit::disable()),
        )
        .get("/filings/history", Filing, doc::filing_history, filing_pages::history)
        .get(
            "/filings/ingests/{version}",
            Filing,
            doc::filing_report,
            filing_pages::report,
        )
        .get(
            "/filings/ingests/{version}/rejections.csv",
            Filing,
            doc::filing_rejections_csv,
            filing_pages::rejections_csv,
        )
        .get(
            "/filings/ingests/{version}/rejections.xlsx",
            Filing,
            doc::filing_rejections_xlsx,
            filing_pages::rejections_xlsx,
        )
        .get(
            "/assets/upload.js",
            Public,
            doc::upload_script,
            filing_pages::upload_script,
        )
        // The trade officials' query pages.
        .get("/queries", Analysis, doc::queries_page, query_pages::list)
        .get("/queries/{name}", Analysis, doc::query_page, query_pages::query)
        // The administrators' pages.
        .get("/admin/reports", Admin, doc::admin_reports, admin_pages::reports_page)
        .route(
            "post",
            "/admin/reports",
            Admin,
            doc::admin_generate,
            post(admin_pages::generate).layer(DefaultBodyLimit::max(16 << 10)),
        )
        .route(
            "post",
            "/admin/deliveries/{id}/retry",
            Admin,
            doc::admin_retry,
            post(admin_pages::retry_delivery).layer(DefaultBodyLimit::max(16 << 10)),
        )
        .get("/admin/tokens", Admin, doc::admin_tokens, admin_pages::tokens_page)
        .route(
            "post",
            "/admin/tokens",
            Admin,
            doc::admin_create_token,
            post(admin_pages::create_token).layer(DefaultBodyLimit::max(16 << 10)),
        )
        .route(
            "post",
            "/admin/tokens/{id}/revoke",
            Admin,
            doc::admin_revoke_token,
            post(admin_pages::revoke_token).layer(DefaultBodyLimit::max(16 << 10)),
        )
        .get("/assets/copy.js", Public, doc::copy_script, admin_pages::copy_script)
        .get(
            "/tables/{file}",
            Dashboard,
            doc::table_file,
            dashboard_pages::table_file,
        )
        .finish()
}

pub fn router_with(app: Arc<App>, options: HttpOptions) -> Router {
    router_parts(app, options, Arc::new(lifecycle::Drain::new())).0
}

/// The router, and its gate (which holds the audit trail's writer), with
/// the drain a shutdown cuts requests through.
fn router_parts(app: Arc<App>, options: HttpOptions, drain: Arc<lifecycle::Drain>) -> (Router, Arc<gate::Guard>) {
    crate::telemetry::install();
    let (router, ops) = routes();
    let guard = Arc::new(gate::Guard::new(app.clone(), options, &ops, drain));
    let router = router
        .layer(Extension(ops))
        .layer(Extension(guard.clone()))
        .layer(Extension(Arc::new(share_api::Bodies::default())))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this resource",
            )
        })
        .layer(middleware::from_fn(page::error_pages))
        .layer(middleware::from_fn_with_state(guard.clone(), gate::guard))
        .layer(middleware::from_fn(page::remember_lang))
        .layer(middleware::from_fn(log_request))
        .with_state(app);
    (router, guard)
}

async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched
        .as_ref()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let response = next.run(req).await;
    let elapsed = started.elapsed();
    let ms = elapsed.as_secs_f64() * 1e3;
    let status = response.status().as_u16();
    metrics::record_request(matched.as_ref().map(MatchedPath::as_str), &method, status, elapsed);
    // Reads that went well and fast are tens of thousands a second under
    // load: logged at debug. Changes, refusals, failures and slow answers
    // are always logged.
    if (method == Method::GET || method == Method::HEAD) && status < 400 && ms < SLOW_REQUEST_MS {
        tracing::debug!(%method, route, status, ms, "request");
    } else {
        tracing::info!(%method, route, status, ms, "request");
    }
    response
}

/// A request that took this long is logged whatever it was.
const SLOW_REQUEST_MS: f64 = 500.0;

/// Runs a blocking use case off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::service::AppError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => {
            tracing::error!(error = %e, "blocking task failed");
            Err(ApiError::internal())
        }
    }
}

async fn healthz(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let manifest = blocking(move || app.manifest()).await?;
    Ok(Json(serde_json::json!({"status": "ok", "dataset_version": manifest.version})).into_response())
}

/// The API description as it stands now (the catalog and reference included).
async fn current_document(app: Arc<App>, ops: Arc<Vec<doc::Op>>) -> Result<serde_json::Value, ApiError> {
    blocking(move || {
        let reference = app.reference()?;
        Ok(doc::document(&ops, &app.queries(), &reference))
    })
    .await
}

async fn openapi(
    State(app): State<Arc<App>>,
    Extension(ops): Extension<Arc<Vec<doc::Op>>>,
) -> Result<Response, ApiError> {
    Ok(Json(current_document(app, ops).await?).into_response())
}

async fn docs(State(app): State<Arc<App>>, Extension(ops): Extension<Arc<Vec<doc::Op>>>) -> Result<Response, ApiError> {
    let html = doc::page_html(&current_document(app, ops).await?);
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}

/// The representations a resource offers, first is the default.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Repr {
    Json,
    Csv,
}

/// Picks a representation from `Accept` (q-values honoured; none means JSON).
fn negotiate(headers: &HeaderMap) -> Result<Repr, ApiError> {
    let pick = |media: &str| match media {
        "application/json" | "application/*" | "*/*" => Some(Repr::Json),
        "text/csv" | "text/*" => Some(Repr::Csv),
        _ => None,
    };
    best_accepted(headers, pick, Repr::Json, "application/json or text/csv")
}

/// The representation `Accept` prefers among those `pick` maps its media
/// types to (q-values honoured; no header gives `default`); 406 naming
/// `offered` when none is acceptable.
fn best_accepted<T: Copy>(
    headers: &HeaderMap,
    pick: impl Fn(&str) -> Option<T>,
    default: T,
    offered: &str,
) -> Result<T, ApiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(default);
    };
    let mut best: Option<(f32, T)> = None;
    for part in accept.split(',') {
        let mut it = part.split(';');
        let media = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let Some(repr) = pick(&media) else { continue };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, repr));
        }
    }
    best.map(|(_, r)| r).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            format!("this resource is available as {offered}"),
        )
    })
}

/// Whose figures a caller sees: full for admins (and open local mode),
/// protected by disclosure control for everyone else.
fn audience(caller: Option<&Extension<Identity>>) -> Audience {
    match caller {
        Some(Extension(i)) if i.role.sees_unsuppressed() => Audience::Full,
        _ => Audience::Protected,
    }
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}
