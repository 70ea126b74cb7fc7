//! HTTP: the REST API over axum.
//!
//! Thin handlers: read the request, call one `App` use case, encode the
//! result in the format the `Accept` header asks for, with conditional-GET
//! headers. The only module that knows axum. It never computes a figure,
//! never opens the warehouse or the engine directly.

mod analysis;
pub mod doc;
mod error;
pub mod gate;
mod signin;
mod spool;

pub use error::ApiError;

use crate::access::tokens::Identity;
use crate::ingest::Format;
use crate::present::charts::{self, Format as ChartFormat, Size};
use crate::present::dashboard::{self, ChartKind};
use crate::present::export;
use crate::present::locale::Lang;
use crate::present::pages;
use crate::service::{App, Audience, IngestSource, ShareParams};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
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
        .get("/api/v1/share", Figures, doc::share, share)
        .route(
            "post",
            "/api/v1/filings",
            Filing,
            doc::filings,
            // The body is streamed to a spool file, bounded by the handler.
            post(post_filings).layer(DefaultBodyLimit::disable()),
        )
        .get("/api/v1/filings/template.csv", Public, doc::template_csv, template_csv)
        .get(
            "/api/v1/filings/template.xlsx",
            Public,
            doc::template_xlsx,
            template_xlsx,
        )
        .get("/api/v1/ingests", Filing, doc::ingests, ingests)
        .get("/api/v1/ingests/{version}", Filing, doc::ingest_report, ingest_report)
        .get("/api/v1/reference/{table}", Figures, doc::reference, reference)
        .get("/api/v1/queries", Analysis, doc::queries, analysis::list)
        .get("/api/v1/queries/{name}", Analysis, doc::query, analysis::run)
        .route(
            "post",
            "/api/v1/sql",
            Analysis,
            doc::sql,
            post(analysis::sql).layer(DefaultBodyLimit::max(crate::engine::sql_gate::MAX_SQL_BYTES + 4096)),
        )
        .get("/api/v1/reports", Admin, doc::reports, reports)
        .get("/api/v1/reports/{month}/{file}", Admin, doc::report_file, report_file)
        .post("/api/v1/reports/{month}", Admin, doc::post_report, post_report)
        .get("/api/v1/deliveries", Admin, doc::deliveries, deliveries)
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
        .get("/charts/{file}", Dashboard, doc::chart, chart)
        .get("/", Dashboard, doc::overview, overview)
        .get("/districts/{code}", Dashboard, doc::district_page, district_page)
        .get("/sectors/{code}", Dashboard, doc::sector_page, sector_page)
        .finish()
}

pub fn router_with(app: Arc<App>, options: HttpOptions) -> Router {
    let (router, ops) = routes();
    let guard = Arc::new(gate::Guard::new(app.clone(), options, &ops));
    router
        .layer(Extension(ops))
        .layer(Extension(guard.clone()))
        .layer(Extension(Arc::new(Bodies::default())))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this resource",
            )
        })
        .layer(middleware::from_fn_with_state(guard, gate::guard))
        .layer(middleware::from_fn(log_request))
        .with_state(app)
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    options: HttpOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    spool::clean(app.data_dir());
    // Answers go out as soon as written: without this, the last segment of
    // a larger body waits for the client's acknowledgement (Nagle).
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream: &mut tokio::net::TcpStream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(
        listener,
        router_with(app, options).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let response = next.run(req).await;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let status = response.status().as_u16();
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
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            ))
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

const SHARE_PARAMS: [&str; 7] = ["from", "to", "by", "district", "sector", "vsic", "as_of"];

/// Whose figures a caller sees: full for admins (and open local mode),
/// protected by disclosure control for everyone else.
fn audience(caller: Option<&Extension<Identity>>) -> Audience {
    match caller {
        Some(Extension(i)) if i.role.sees_unsuppressed() => Audience::Full,
        _ => Audience::Protected,
    }
}

fn share_params(query: Option<&str>, audience: Audience) -> Result<ShareParams, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", format!("the query string cannot be parsed: {e}")))?;
    let mut p = ShareParams {
        audience,
        ..ShareParams::default()
    };
    for (k, v) in pairs {
        let slot = match k.as_str() {
            "from" => &mut p.from,
            "to" => &mut p.to,
            "by" => &mut p.by,
            "district" => &mut p.district,
            "sector" => &mut p.sector,
            "vsic" => &mut p.vsic,
            "as_of" => &mut p.as_of,
            other => {
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    format!(
                        "unknown parameter {other:?}; expected one of {}",
                        SHARE_PARAMS.join(", ")
                    ),
                ));
            }
        };
        if slot.is_some() {
            return Err(ApiError::bad_request(
                "repeated_parameter",
                format!("parameter {k} is given more than once"),
            ));
        }
        *slot = Some(v);
    }
    Ok(p)
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

async fn share(
    State(app): State<Arc<App>>,
    Extension(bodies): Extension<Arc<Bodies>>,
    caller: Option<Extension<Identity>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = share_params(query.as_deref(), audience(caller.as_ref()))?;
    let repr = negotiate(&headers)?;
    // A few `stat` calls once the data directory has settled (see
    // `App::state_tag`): cheaper here than a hand-off to a blocking thread.
    let tag = app.state_tag()?;
    let etag = {
        let mut h = DefaultHasher::new();
        (&params, repr, tag, crate::service::month_in_vietnam(chrono::Utc::now())).hash(&mut h);
        format!("\"v{}-{:016x}\"", tag.dataset_version, h.finish())
    };
    // The version the body holds: the tag's, or — while the latest version
    // is being loaded or this answer computed for it — the one before
    // (`App::share_without_waiting`), sent without an ETag and not kept.
    let mut version = version_of(&params, tag);
    let mut latest = true;
    let mut response = if if_none_match(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = match bodies.get(&etag) {
            Some(body) => body,
            None => {
                let (figures, is_latest) = app.share_without_waiting(&params).await?;
                let body = match repr {
                    Repr::Json => axum::body::Bytes::from(serde_json::to_vec(&figures).map_err(|e| {
                        tracing::error!(error = %e, "encoding a share answer");
                        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
                    })?),
                    Repr::Csv => axum::body::Bytes::from(export::share_csv(&figures)),
                };
                if is_latest && figures.dataset_version == version {
                    bodies.put(&etag, body.clone());
                } else {
                    (version, latest) = (figures.dataset_version, false);
                }
                body
            }
        };
        let content_type = match repr {
            Repr::Json => "application/json",
            Repr::Csv => "text/csv; charset=utf-8",
        };
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = response.headers_mut();
    if latest {
        h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("ASCII etag"));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    h.insert(analysis::DATASET_VERSION, HeaderValue::from(version));
    Ok(response)
}

/// Encoded share answers by ETag (which names the dataset version, the
/// reference, the parameters with the audience, the representation and the
/// month), so a repeated request is answered without encoding again.
/// Bounded: emptied when it would pass `Bodies::MAX_BYTES`.
#[derive(Default)]
pub struct Bodies {
    inner: std::sync::Mutex<(std::collections::HashMap<String, axum::body::Bytes>, usize)>,
}

impl Bodies {
    const MAX_BYTES: usize = 64 << 20;

    fn get(&self, etag: &str) -> Option<axum::body::Bytes> {
        self.inner.lock().expect("bodies lock").0.get(etag).cloned()
    }

    fn put(&self, etag: &str, body: axum::body::Bytes) {
        let mut inner = self.inner.lock().expect("bodies lock");
        if inner.1 + body.len() > Self::MAX_BYTES {
            inner.0.clear();
            inner.1 = 0;
        }
        inner.1 += body.len();
        inner.0.insert(etag.to_string(), body);
    }
}

/// The dataset version an answer with `params` is of.
fn version_of(params: &ShareParams, tag: crate::service::StateTag) -> u64 {
    crate::service::parse_as_of(params.as_of.as_deref())
        .ok()
        .flatten()
        .unwrap_or(tag.dataset_version)
}

/// Parses the chart query: the share filters (no `by`), `lang`, `width`, `height`.
fn chart_params(query: Option<&str>, audience: Audience) -> Result<(ShareParams, Lang, Size), ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", format!("the query string cannot be parsed: {e}")))?;
    let mut share = Vec::new();
    let (mut lang, mut width, mut height) = (Lang::Vi, 960u32, 540u32);
    for (k, v) in pairs {
        match k.as_str() {
            "lang" => {
                lang = Lang::parse(&v).ok_or_else(|| ApiError::bad_request("invalid_lang", "lang must be vi or en"))?
            }
            "width" | "height" => {
                let n = v.parse::<u32>().map_err(|_| {
                    ApiError::bad_request("invalid_size", format!("{k}={v:?} is not a whole number of pixels"))
                })?;
                if k == "width" { width = n } else { height = n }
            }
            "by" => {
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    "charts choose their own breakdown; drop by",
                ));
            }
            _ => share.push((k, v)),
        }
    }
    // Every chart takes the same filters; one that a chart does not use
    // (the trend draws its own window up to `to`) is still checked.
    for (k, v) in &share {
        if (k == "from" || k == "to") && !v.trim().is_empty() && crate::domain::Period::parse(v.trim()).is_none() {
            return Err(ApiError::bad_request(
                "invalid_period",
                format!("{k}={v:?} is not a month written YYYY-MM"),
            ));
        }
    }
    let query = serde_urlencoded::to_string(&share).expect("pairs encode");
    let params = share_params(Some(&query), audience)?;
    let size = Size::new(width, height).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    Ok((params, lang, size))
}

async fn chart(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    headers: HeaderMap,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (name, ext) = file.rsplit_once('.').ok_or_else(ApiError::not_found)?;
    let (Some(kind), Some(format)) = (ChartKind::parse(name), ChartFormat::parse(ext)) else {
        return Err(ApiError::not_found());
    };
    let (params, lang, size) = chart_params(query.as_deref(), audience(caller.as_ref()))?;
    let tag = {
        let app = app.clone();
        blocking(move || app.state_tag()).await?
    };
    let etag = {
        let mut h = DefaultHasher::new();
        (&params, kind, ext, size.width, size.height, lang == Lang::En, tag).hash(&mut h);
        crate::service::month_in_vietnam(chrono::Utc::now()).hash(&mut h);
        format!("\"v{}-{:016x}\"", tag.dataset_version, h.finish())
    };
    let mut response = if if_none_match(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let chart = dashboard::chart(&app, kind, &params, lang).await?;
        let bytes = tokio::task::spawn_blocking(move || charts::render(&chart, format, size, lang))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "chart task failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
            })?
            .map_err(|e| {
                tracing::error!(error = %e, "chart rendering failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
            })?;
        ([(header::CONTENT_TYPE, format.content_type())], bytes).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("ASCII etag"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(analysis::DATASET_VERSION, HeaderValue::from(version_of(&params, tag)));
    Ok(response)
}

/// The language of a page: `?lang=` first, then `Accept-Language`, else Vietnamese.
fn page_lang(headers: &HeaderMap, pairs: &mut Vec<(String, String)>) -> Result<Lang, ApiError> {
    if let Some(i) = pairs.iter().position(|(k, _)| k == "lang") {
        let (_, v) = pairs.remove(i);
        return Lang::parse(&v).ok_or_else(|| ApiError::bad_request("invalid_lang", "lang must be vi or en"));
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut best = (0.0f32, Lang::Vi);
    for part in accept.split(',') {
        let mut it = part.split(';');
        let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .find_map(|p| p.trim().strip_prefix("q=")?.parse::<f32>().ok())
            .unwrap_or(1.0);
        let lang = if tag.starts_with("vi") {
            Lang::Vi
        } else if tag.starts_with("en") {
            Lang::En
        } else {
            continue;
        };
        if q > best.0 {
            best = (q, lang);
        }
    }
    Ok(best.1)
}

async fn overview(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    dashboard_page(app, audience(caller.as_ref()), headers, query, None).await
}

async fn district_page(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    headers: HeaderMap,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    dashboard_page(app, audience(caller.as_ref()), headers, query, Some(("district", code))).await
}

async fn sector_page(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    headers: HeaderMap,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    dashboard_page(app, audience(caller.as_ref()), headers, query, Some(("sector", code))).await
}

/// The overview page, or the page of one district or sector (`focus`).
async fn dashboard_page(
    app: Arc<App>,
    audience: Audience,
    headers: HeaderMap,
    query: Option<String>,
    focus: Option<(&'static str, String)>,
) -> Result<Response, ApiError> {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", format!("the query string cannot be parsed: {e}")))?;
    let lang = page_lang(&headers, &mut pairs)?;
    // Empty form fields mean "no filter"; the page's own district or sector wins.
    pairs.retain(|(k, v)| !v.trim().is_empty() && focus.as_ref().is_none_or(|(f, _)| f != k));
    if let Some((field, code)) = &focus {
        pairs.push((field.to_string(), code.clone()));
    }
    let reference = {
        let app = app.clone();
        blocking(move || app.reference()).await?
    };
    let web_focus = match &focus {
        Some(("district", code)) if reference.district(code).is_some() => pages::Focus::District(code),
        Some(("sector", code)) if reference.sector(code).is_some() => pages::Focus::Sector(code),
        Some(_) => return Err(ApiError::not_found()),
        None => pages::Focus::Province,
    };
    let params = share_params(
        Some(&serde_urlencoded::to_string(&pairs).expect("pairs encode")),
        audience,
    )?;
    let overview = dashboard::overview(&app, &params, lang).await?;
    let html = pages::page(&overview, &params, lang, web_focus);
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    Ok(response)
}

async fn post_filings(
    State(app): State<Arc<App>>,
    Extension(guard): Extension<Arc<gate::Guard>>,
    caller: Option<Extension<Identity>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let limit = guard.options.max_upload_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("uploads are limited to {limit} bytes; use the CLI for larger files"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = Format::from_content_type(content_type).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_format",
            format!(
                "Content-Type {content_type:?} is not text/csv, application/json or an XLSX workbook ({})",
                crate::ingest::XLSX_MEDIA_TYPE
            ),
        )
    })?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?;
    let mut name = None;
    // A charset in the Content-Type declares the encoding too; `encoding=` wins.
    let mut encoding = content_type
        .split(';')
        .skip(1)
        .find_map(|p| p.trim().strip_prefix("charset="))
        .map(|c| c.trim_matches('"').to_string());
    let (mut delimiter, mut locale, mut sheet) = (None, None, None);
    for (k, v) in pairs {
        match k.as_str() {
            "name" if !v.trim().is_empty() => name = Some(v.trim().to_string()),
            "name" => {}
            "encoding" => encoding = Some(v),
            "delimiter" => delimiter = Some(v),
            "locale" => locale = Some(v),
            "sheet" => sheet = Some(v),
            other => {
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    format!("unknown parameter {other:?}; expected name, encoding, delimiter, locale or sheet"),
                ));
            }
        }
    }
    let mut options = crate::ingest::InputOptions::parse(encoding.as_deref(), delimiter.as_deref(), locale.as_deref())
        .map_err(|m| ApiError::bad_request("invalid_input_options", m))?;
    options.sheet = sheet;
    let name = name.unwrap_or_else(|| match format {
        Format::Csv => "upload.csv".into(),
        Format::Json => "upload.json".into(),
        Format::Xlsx => "upload.xlsx".into(),
    });
    // The body goes to a spool file as it arrives, never whole in memory.
    let spool = spool::receive(app.data_dir(), body, limit).await.map_err(|e| match e {
        spool::Error::TooLarge => too_large(),
        spool::Error::Body(message) => ApiError::bad_request("invalid_body", message),
        spool::Error::Io(e) => {
            tracing::error!(error = %e, "spooling an upload failed");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
        }
    })?;
    let source = IngestSource::Spooled {
        name,
        format: Some(format),
        path: spool.path().to_path_buf(),
    };
    let submitted_by = caller.and_then(|Extension(i)| i.token_id);
    let committer = app.clone();
    let report = blocking(move || {
        let report = committer.ingest_with(vec![source], &options, submitted_by);
        drop(spool);
        report
    })
    .await?;
    if report.committed {
        // The submitter's next request sees the version it just made,
        // readied first (disclosure control's contributions of the months
        // it changed, the dashboard's answers) while the share API answers
        // from the version before.
        app.publish_latest().await?;
    }
    let status = if report.committed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)).into_response())
}

/// `GET /api/v1/filings/template.csv`: the filing template, Vietnamese headers.
async fn template_csv() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"mau-bao-cao-tmdt.csv\"",
            ),
        ],
        crate::present::template::csv(),
    )
        .into_response()
}

/// `GET /api/v1/filings/template.xlsx`: the filing template as a workbook,
/// with drop-down lists of the reference's district and VSIC codes.
async fn template_xlsx(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let reference = blocking(move || app.reference()).await?;
    let bytes = crate::present::template::xlsx(&reference).map_err(|e| {
        tracing::error!(error = %e, "building the filing template failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    })?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"mau-bao-cao-tmdt.xlsx\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Whose ingests a caller may read: a filer its own, an admin every one.
fn own_ingests(caller: Option<&Extension<Identity>>) -> Option<Option<String>> {
    match caller {
        Some(Extension(i)) if i.role == crate::domain::Role::Admin => Some(None),
        Some(Extension(i)) => i.token_id.clone().map(Some),
        None => None,
    }
}

/// `GET /api/v1/ingests`: the batches committed, newest first — a filer's
/// own, or every one for an admin.
async fn ingests(State(app): State<Arc<App>>, caller: Option<Extension<Identity>>) -> Result<Response, ApiError> {
    let Some(whose) = own_ingests(caller.as_ref()) else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "sign in to read ingest reports",
        ));
    };
    let list = blocking(move || app.ingests(whose.as_deref())).await?;
    Ok(Json(serde_json::json!({ "ingests": list })).into_response())
}

/// `GET /api/v1/ingests/{version}`: the ingest report of the batch that
/// made a dataset version, as returned when it was submitted.
async fn ingest_report(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    Path(version): Path<String>,
) -> Result<Response, ApiError> {
    let Some(whose) = own_ingests(caller.as_ref()) else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "sign in to read ingest reports",
        ));
    };
    let version: u64 = version.parse().map_err(|_| ApiError::not_found())?;
    let found = blocking(move || app.ingest_report(version)).await?;
    match found {
        // Another filer's batch is not found, rather than forbidden: its existence is not disclosed.
        Some((report, by)) if whose.is_none() || whose == by => Ok(Json(report).into_response()),
        _ => Err(ApiError::not_found()),
    }
}

async fn reference(State(app): State<Arc<App>>, Path(table): Path<String>) -> Result<Response, ApiError> {
    let reference = blocking(move || app.reference()).await?;
    let body = match table.as_str() {
        // A district's code is in force until its own end or the district
        // level's (2025-06), whichever comes first.
        "districts" => serde_json::to_value(&reference.districts).map(|mut v| {
            for (row, d) in v.as_array_mut().into_iter().flatten().zip(&reference.districts) {
                row["valid_to"] = reference
                    .district_valid_to(&d.district_code)
                    .map(|p| p.to_string())
                    .into();
            }
            v
        }),
        "communes" => serde_json::to_value(&reference.communes),
        "sectors" => serde_json::to_value(&reference.sectors),
        "vsic" => serde_json::to_value(&reference.vsic),
        "targets" => serde_json::to_value(&reference.targets),
        _ => return Err(ApiError::not_found()),
    }
    .map_err(|e| {
        tracing::error!(error = %e, "reference serialization");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    })?;
    Ok(Json(body).into_response())
}

fn archive(app: &App) -> std::path::PathBuf {
    app.data_dir().join("reports")
}

/// `GET /api/v1/reports`: the archived monthly reports, newest first.
async fn reports(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let list = blocking(move || Ok(crate::report::list(&archive(&app)))).await?;
    Ok(Json(serde_json::json!({ "reports": list })).into_response())
}

/// `GET /api/v1/reports/{month}/{file}`: one file of an archived report.
async fn report_file(
    State(app): State<Arc<App>>,
    Path((month, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let found = blocking(move || Ok(crate::report::archived_file(&archive(&app), &month, &file))).await?;
    let (bytes, media) = found.ok_or_else(ApiError::not_found)?;
    Ok(([(header::CONTENT_TYPE, media)], bytes).into_response())
}

/// `POST /api/v1/reports/{month}?lang=vi|en`: (re)generates a month's report
/// from the current dataset version into the archive.
async fn post_report(
    State(app): State<Arc<App>>,
    Path(month): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let period = crate::domain::Period::parse(&month)
        .ok_or_else(|| ApiError::bad_request("invalid_period", format!("{month:?} is not a month written YYYY-MM")))?;
    let mut lang = Lang::Vi;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?;
    for (k, v) in pairs {
        match k.as_str() {
            "lang" => {
                lang = Lang::parse(&v).ok_or_else(|| ApiError::bad_request("invalid_lang", "lang must be vi or en"))?
            }
            other => {
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    format!("unknown parameter {other:?}; expected lang"),
                ));
            }
        }
    }
    let generated = crate::report::generate(&app, period, lang, &archive(&app))
        .await
        .map_err(|e| match e {
            crate::report::ReportError::App(e) => ApiError::from(e),
            e => {
                tracing::error!(code = e.code(), error = %e, "writing a report failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; the details are in the server log",
                )
            }
        })?;
    let status = if generated.generated {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let entry = blocking(move || Ok(crate::report::list(&archive(&app))))
        .await?
        .into_iter()
        .find(|r| r.month == month);
    Ok((status, Json(entry)).into_response())
}

/// `GET /api/v1/deliveries[?state=pending|sending|delivered|failed]`: the
/// outbox, each delivery with its state and attempts, oldest first.
async fn deliveries(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?;
    let mut state = None;
    for (k, v) in pairs {
        match k.as_str() {
            "state" => {
                let parsed: crate::delivery::State = serde_json::from_value(serde_json::Value::String(v.clone()))
                    .map_err(|_| {
                        ApiError::bad_request(
                            "invalid_state",
                            format!("state {v:?} must be pending, sending, delivered or failed"),
                        )
                    })?;
                state = Some(parsed);
            }
            other => {
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    format!("unknown parameter {other:?}; expected state"),
                ));
            }
        }
    }
    let list = tokio::task::spawn_blocking(move || crate::delivery::Outbox::new(app.data_dir()).list())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "outbox task failed");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
        })?
        .map_err(|e| {
            tracing::error!(code = e.code(), error = %e, "reading the outbox failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; the details are in the server log",
            )
        })?;
    let list: Vec<_> = list
        .into_iter()
        .filter(|d| state.is_none_or(|s| d.state == s))
        .collect();
    Ok(Json(serde_json::json!({ "deliveries": list })).into_response())
}
