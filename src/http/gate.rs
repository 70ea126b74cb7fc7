//! Who is calling, whether they may, and how much: one middleware in front
//! of every route.
//!
//! In order: the caller is identified (`Authorization: Bearer`, else the
//! session cookie, else anonymous; with no token configured at all — open
//! local mode — every caller is admin); the caller's bucket is charged (per
//! token, else per address; `X-Forwarded-For` counts only from a configured
//! trusted proxy); the route's [`Access`] is checked against the role; the
//! concurrent-query cap and the request timeout apply; the outcome of every
//! authenticated request and every refusal goes to the audit trail.
//!
//! Tokens, cookies and secrets are never logged: events carry the token's id.

use super::ApiError;
use crate::access::audit::{AuditLog, Event};
use crate::access::tokens::{Identity, Sessions, TokenStore};
use crate::domain::{Access, Role};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};

/// The session cookie's name.
pub const COOKIE: &str = "ecomshare_session";

/// Limits and switches of the HTTP layer.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpOptions {
    pub max_upload_bytes: usize,
    /// Longest a request may take (uploads excepted).
    pub request_timeout: Duration,
    /// Longest an upload of filings may take.
    pub upload_timeout: Duration,
    /// Requests per second per caller, sustained; `None`: no limit.
    pub rate_per_s: Option<f64>,
    /// Requests a caller may make at once before the rate applies.
    pub rate_burst: f64,
    /// Named queries and SQL running at once.
    pub max_concurrent_queries: usize,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// The dashboard and its charts without signing in (the API stays protected).
    pub public_dashboard: bool,
    /// The `Secure` attribute on the session cookie (off only for plain HTTP
    /// on a trusted network).
    pub cookie_secure: bool,
    /// How long requests in flight may take to finish once a shutdown
    /// begins, before they are cut.
    pub shutdown_grace: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            max_upload_bytes: super::MAX_UPLOAD_BYTES,
            request_timeout: Duration::from_secs(60),
            upload_timeout: Duration::from_secs(3600),
            rate_per_s: Some(50.0),
            rate_burst: 200.0,
            max_concurrent_queries: 8,
            trusted_proxies: Vec::new(),
            public_dashboard: false,
            cookie_secure: true,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets kept before idle ones are dropped.
const MAX_BUCKETS: usize = 100_000;

pub struct Guard {
    pub tokens: TokenStore,
    pub sessions: Sessions,
    pub options: HttpOptions,
    audit_dir: std::path::PathBuf,
    audit: OnceLock<mpsc::UnboundedSender<AuditMsg>>,
    buckets: Mutex<HashMap<String, Bucket>>,
    queries: Arc<Semaphore>,
    /// Each route's path with the access of each of its methods.
    policies: HashMap<&'static str, Vec<(Method, Access)>>,
    app: Arc<crate::service::App>,
    /// Requests in flight, and the cut that ends them when a shutdown's
    /// grace is over.
    drain: Arc<super::lifecycle::Drain>,
}

impl Guard {
    pub fn new(
        app: Arc<crate::service::App>,
        options: HttpOptions,
        ops: &[super::doc::Op],
        drain: Arc<super::lifecycle::Drain>,
    ) -> Self {
        let data = app.data_dir().to_path_buf();
        let mut policies: HashMap<&'static str, Vec<(Method, Access)>> = HashMap::new();
        for op in ops {
            let method = Method::from_bytes(op.method.to_ascii_uppercase().as_bytes()).expect("an HTTP method");
            policies.entry(op.path).or_default().push((method, op.access));
        }
        let sessions = Sessions::open(&data).unwrap_or_else(|e| {
            tracing::error!(code = e.code(), error = %e, "the session key cannot be kept; sessions end at restart");
            Sessions::ephemeral()
        });
        Self {
            tokens: TokenStore::new(&data),
            sessions,
            audit_dir: data,
            audit: OnceLock::new(),
            buckets: Mutex::new(HashMap::new()),
            queries: Arc::new(Semaphore::new(options.max_concurrent_queries.max(1))),
            options,
            policies,
            app,
            drain,
        }
    }

    /// Whether any token exists (otherwise: open local mode).
    pub fn open_mode(&self) -> bool {
        self.tokens.is_empty().unwrap_or(false)
    }

    fn audit(&self, event: Event) {
        if self.audit_writer().send(AuditMsg::Event(event)).is_err() {
            tracing::warn!("an audit event came after the trail was closed for shutdown: not written");
        }
    }

    /// The audit writer's queue, the writer started on first use.
    fn audit_writer(&self) -> &mpsc::UnboundedSender<AuditMsg> {
        self.audit.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write_audit(rx, AuditLog::new(&self.audit_dir), self.app.clone()));
            tx
        })
    }

    /// Writes and syncs every audit event queued so far, then closes the
    /// trail to this server (a later event is logged, not written): the
    /// last step of a shutdown.
    pub async fn close_audit(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.audit_writer().send(AuditMsg::Close(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Charges the caller's bucket; `Err(wait)` when it is empty.
    fn charge(&self, key: &str) -> Result<(), Duration> {
        let Some(rate) = self.options.rate_per_s else {
            return Ok(());
        };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate buckets lock");
        if buckets.len() >= MAX_BUCKETS {
            let burst = self.options.rate_burst;
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let b = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: self.options.rate_burst,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(self.options.rate_burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }

    /// The caller's address: the peer, or the last address a trusted proxy
    /// added to `X-Forwarded-For`.
    fn address(&self, req: &Request) -> Option<IpAddr> {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())?;
        if !self.options.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        // Walk back past the trusted proxies; the first other hop is the client.
        forwarded
            .iter()
            .rev()
            .filter_map(|a| a.parse::<IpAddr>().ok())
            .find(|a| !self.options.trusted_proxies.contains(a))
            .or(Some(peer))
    }

    /// Who the request proves to be (everyone is admin in open local mode,
    /// `open`), and how. `Err` when it presents a bearer token that proves
    /// nothing.
    fn identify(&self, req: &Request, open: bool) -> Result<Option<(Identity, Via)>, ()> {
        let now = chrono::Utc::now();
        if let Some(auth) = req.headers().get(header::AUTHORIZATION) {
            let presented = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            return match presented.and_then(|t| self.tokens.verify(t, now)) {
                Some(identity) => Ok(Some((identity, Via::Bearer))),
                None => Err(()),
            };
        }
        if let Some(cookie) = cookie(req, COOKIE)
            && let Some(identity) = self.sessions.verify(&cookie, &self.tokens, now)
        {
            return Ok(Some((identity, Via::Session(cookie))));
        }
        if open {
            let identity = Identity {
                token_id: None,
                role: Role::Admin,
            };
            return Ok(Some((identity, Via::Open)));
        }
        Ok(None)
    }

    /// What the pages need to know of a browser (none for a bearer token's
    /// caller): the anti-forgery token of its forms, bound to its session,
    /// or to an anonymous browser cookie (made now, `Err`, when it has
    /// none).
    fn browser(&self, req: &Request, via: Option<&Via>) -> Option<Result<Browser, String>> {
        match via {
            Some(Via::Bearer) => None,
            Some(Via::Session(session)) => Some(Ok(Browser {
                csrf: self.sessions.csrf(session),
                signed_in: true,
            })),
            Some(Via::Open) | None => match cookie(req, BROWSER_COOKIE).filter(|b| b.len() >= 16) {
                Some(binding) => Some(Ok(Browser {
                    csrf: self.sessions.csrf(&binding),
                    signed_in: false,
                })),
                // A binding is made for a page only: a form comes from one.
                None if is_page(req) => Sessions::new_binding().ok().map(Err),
                None => None,
            },
        }
    }
}

/// How a caller proved who it is.
enum Via {
    Bearer,
    /// The session cookie's value.
    Session(String),
    /// Open local mode: nothing to prove.
    Open,
}

/// A browser as the pages see it: put in the request's extensions by the
/// gate for every caller without a bearer token.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The anti-forgery token its forms must carry (`csrf` field).
    pub csrf: String,
    /// Whether it holds a session it may end.
    pub signed_in: bool,
}

impl Browser {
    /// Whether a form's `csrf` field is this browser's token (in constant time).
    pub fn accepts(&self, presented: Option<&str>) -> bool {
        use subtle::ConstantTimeEq;
        !self.csrf.is_empty() && presented.is_some_and(|p| bool::from(self.csrf.as_bytes().ct_eq(p.as_bytes())))
    }
}

/// The cookie binding an anonymous browser's forms (open local mode, a
/// public dashboard) to it.
pub const BROWSER_COOKIE: &str = "ecomshare_browser";

/// The refusal of a form or change that lacks the browser's anti-forgery token.
pub fn csrf_failed() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf_failed",
        "the form's anti-forgery token is missing or not this session's: reload the page and submit it again",
    )
}

/// A cookie's value.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    cookie_in(req.headers(), name)
}

/// A cookie's value among request headers.
pub fn cookie_in(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('=').map(str::to_string))
}

/// Events that arrive within this long of a batch's first go in the same
/// append: one lock, one fsync and one head rewrite per batch. Under load
/// (40k requests/s) appending as events came was about a quarter of the
/// server's CPU; this bounds appends to ten a second.
const AUDIT_WINDOW: std::time::Duration = std::time::Duration::from_millis(100);

/// Most events per append.
const AUDIT_BATCH: usize = 8192;

/// What the audit writer is sent.
enum AuditMsg {
    Event(Event),
    /// Write everything queued, answer, and take no more.
    Close(tokio::sync::oneshot::Sender<()>),
}

/// Appends events in batches, in the order they came; on `Close`, also
/// every event queued behind it, then stops.
async fn write_audit(mut rx: mpsc::UnboundedReceiver<AuditMsg>, log: AuditLog, app: Arc<crate::service::App>) {
    let log = Arc::new(log);
    let mut batch = Vec::new();
    let mut open = true;
    while open && rx.recv_many(&mut batch, AUDIT_BATCH).await > 0 {
        let deadline = tokio::time::Instant::now() + AUDIT_WINDOW;
        let closing = |batch: &[AuditMsg]| batch.iter().any(|m| matches!(m, AuditMsg::Close(_)));
        while batch.len() < AUDIT_BATCH && !closing(&batch) {
            let room = AUDIT_BATCH - batch.len();
            match tokio::time::timeout_at(deadline, rx.recv_many(&mut batch, room)).await {
                Ok(0) => {
                    // Every sender is gone (the server stops): write what came.
                    open = false;
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if closing(&batch) {
            // No event is taken from now on; those already queued are written.
            rx.close();
            while let Ok(m) = rx.try_recv() {
                batch.push(m);
            }
            open = false;
        }
        let mut events = Vec::new();
        let mut closers = Vec::new();
        for m in batch.drain(..) {
            match m {
                AuditMsg::Event(e) => events.push(e),
                AuditMsg::Close(reply) => closers.push(reply),
            }
        }
        let written = events.len();
        let log = log.clone();
        let app = app.clone();
        let done = tokio::task::spawn_blocking(move || {
            let version = app.dataset_version().ok();
            for e in &mut events {
                e.dataset_version = version;
            }
            log.append(&events)
        })
        .await;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(code = e.code(), error = %e, "writing the audit trail failed"),
            Err(e) => tracing::error!(error = %e, "the audit task failed"),
        }
        if !closers.is_empty() {
            tracing::info!(
                last_events = written,
                "audit trail closed: every event queued is written and synced"
            );
        }
        for reply in closers {
            let _ = reply.send(());
        }
    }
}

fn refuse(status: StatusCode, code: &'static str, message: &str) -> Response {
    ApiError::new(status, code, message).into_response()
}

/// Whether a request asks for a page a browser shows (a signed-out one is
/// sent to the sign-in form rather than answered 401; a refused role gets
/// a page saying so): any GET but the API, charts, downloads and the
/// metrics (a scraper is answered 401, not redirected).
fn is_page(req: &Request) -> bool {
    let path = req.uri().path();
    matches!(*req.method(), Method::GET | Method::HEAD)
        && path != "/metrics"
        && !["/api/", "/charts/", "/tables/"].iter().any(|p| path.starts_with(p))
}

pub async fn guard(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let _in_flight = guard.drain.enter();
    let (route, access) = guard.policy(&req);
    let address = guard.address(&req);
    // Whether any token exists: once per request (a `stat` of the token
    // file).
    let open = guard.open_mode();
    let record = Record {
        guard: &guard,
        verb: req.method().clone(),
        uri: req.uri().clone(),
        route,
        address,
    };
    let (identity, via) = match guard.identify(&req, open) {
        Ok(Some((identity, via))) => (Some(identity), Some(via)),
        Ok(None) => (None, None),
        Err(()) => return record.refused(None, invalid_token()),
    };
    let browser = guard.browser(&req, via.as_ref());
    let new_binding = match &browser {
        Some(Err(binding)) => Some(binding.clone()),
        _ => None,
    };
    let browser = browser.map(|b| {
        b.unwrap_or_else(|binding| Browser {
            csrf: guard.sessions.csrf(&binding),
            signed_in: false,
        })
    });
    let checks = guard
        .rate_limit(identity.as_ref(), address)
        .and_then(|()| guard.authorize(access, identity.as_ref(), browser.as_ref(), &req))
        .and_then(|()| session_change_checked(&req, via.as_ref(), browser.as_ref()))
        .and_then(|()| guard.query_permit(route));
    let _permit = match checks {
        Ok(permit) => permit,
        Err(response) => return record.refused(identity.as_ref(), *response),
    };
    let limit = if access == Access::Filing {
        guard.options.upload_timeout
    } else {
        guard.options.request_timeout
    };
    let mut req = req;
    if let Some(i) = &identity {
        req.extensions_mut().insert(i.clone());
    }
    if let Some(b) = &browser {
        req.extensions_mut().insert(b.clone());
    }
    let mut cut = guard.drain.cut_signal();
    let answered = tokio::select! {
        biased;
        answered = tokio::time::timeout(limit, next.run(req)) => answered,
        // A shutdown's grace is over: the handler is dropped (a write it
        // began has finished first: see `lifecycle::serve`).
        () = cut.stopped() => {
            let mut r = super::ApiError::shutting_down().into_response();
            r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            return record.refused(identity.as_ref(), r);
        }
    };
    let mut response = match answered {
        Ok(r) => r,
        Err(_) => {
            let mut r = refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "request_timeout",
                &format!("the request took longer than {} s", limit.as_secs()),
            );
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            return record.refused(identity.as_ref(), r);
        }
    };
    if !open {
        // What a response holds depends on who asked.
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("Authorization, Cookie"));
    }
    if let Some(binding) = new_binding
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
    {
        // The anonymous browser's binding, for the forms of the page it got.
        let secure = if guard.options.cookie_secure { "; Secure" } else { "" };
        let cookie = format!("{BROWSER_COOKIE}={binding}; Path=/; HttpOnly; SameSite=Strict{secure}");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    let status = response.status();
    if identity.is_some() || matches!(status.as_u16(), 401 | 403 | 413 | 429) {
        guard.audit(record.event(identity.as_ref(), status));
    }
    response
}

/// A change made through the API with a session cookie (not a bearer
/// token) carries the browser's anti-forgery token in `X-CSRF-Token`. The
/// pages' own forms are checked by their handlers (the `csrf` field).
fn session_change_checked(req: &Request, via: Option<&Via>, browser: Option<&Browser>) -> Result<(), Box<Response>> {
    let change = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !(change && matches!(via, Some(Via::Session(_))) && req.uri().path().starts_with("/api/")) {
        return Ok(());
    }
    let presented = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok());
    if browser.is_some_and(|b| b.accepts(presented)) {
        Ok(())
    } else {
        Err(Box::new(csrf_failed().into_response()))
    }
}

/// What the audit trail records of a request; the event's text is built
/// only when a request is audited.
struct Record<'a> {
    guard: &'a Guard,
    verb: Method,
    uri: axum::http::Uri,
    route: Option<&'static str>,
    address: Option<IpAddr>,
}

impl Record<'_> {
    fn event(&self, identity: Option<&Identity>, status: StatusCode) -> Event {
        Event {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            token_id: identity.and_then(|i| i.token_id.clone()),
            role: identity.map(|i| i.role.as_str().to_string()),
            action: format!("{} {}", self.verb, self.route.unwrap_or("(unrouted)")),
            params: serde_json::json!({"path": self.uri.path(), "query": self.uri.query()}),
            dataset_version: None,
            outcome: if status.is_server_error() {
                "failed".into()
            } else if status.is_client_error() {
                "refused".into()
            } else {
                "done".into()
            },
            status: Some(status.as_u16()),
            address: self.address.map(|a| a.to_string()),
        }
    }

    /// Audits a refusal and gives its response.
    fn refused(&self, identity: Option<&Identity>, response: Response) -> Response {
        self.guard.audit(self.event(identity, response.status()));
        response
    }
}

fn invalid_token() -> Response {
    let mut r = refuse(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "the bearer token is not valid (unknown, revoked or expired)",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    r
}

impl Guard {
    /// The route a request matched and the access it asks for. A route
    /// answers HEAD as GET; a method it lacks is refused as 405 by the
    /// router whatever the caller, so asks for nothing here.
    fn policy(&self, req: &Request) -> (Option<&'static str>, Access) {
        let method = if req.method() == Method::HEAD {
            Method::GET
        } else {
            req.method().clone()
        };
        req.extensions()
            .get::<MatchedPath>()
            .and_then(|p| self.policies.get_key_value(p.as_str()))
            .map(|(path, methods)| {
                let access = methods.iter().find(|(m, _)| *m == method).map(|(_, a)| *a);
                (Some(*path), access.unwrap_or(Access::Public))
            })
            .unwrap_or((None, Access::Public))
    }

    /// One request charged to the caller's token bucket (its token's, else
    /// its address's).
    fn rate_limit(&self, identity: Option<&Identity>, address: Option<IpAddr>) -> Result<(), Box<Response>> {
        let key = match (identity, address) {
            (Some(Identity { token_id: Some(id), .. }), _) => format!("token:{id}"),
            (_, Some(a)) => format!("address:{a}"),
            _ => "address:unknown".to_string(),
        };
        self.charge(&key).map_err(|wait| {
            let mut r = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; slow down and retry after the time in Retry-After",
            );
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            Box::new(r)
        })
    }

    /// Whether the caller may use a route of `access`: a signed-out browser
    /// asking for a page is sent to sign in, a signed-out client is asked
    /// for a token, a role that may not is refused (with a page, for a page).
    fn authorize(
        &self,
        access: Access,
        identity: Option<&Identity>,
        browser: Option<&Browser>,
        req: &Request,
    ) -> Result<(), Box<Response>> {
        let public = access == Access::Public || (access == Access::Dashboard && self.options.public_dashboard);
        if public {
            return Ok(());
        }
        match identity.map(|i| i.role) {
            None if is_page(req) => {
                let next = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
                let to = format!(
                    "/signin?{}",
                    serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
                );
                Err(Box::new(Redirect::to(&to).into_response()))
            }
            None => {
                let mut r = refuse(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "sign in: send Authorization: Bearer TOKEN",
                );
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                Err(Box::new(r))
            }
            Some(r) if !r.may(access) && is_page(req) => {
                let html = super::page::forbidden_page(req, r, browser);
                Err(Box::new((StatusCode::FORBIDDEN, html).into_response()))
            }
            Some(r) if !r.may(access) => Err(Box::new(refuse(
                StatusCode::FORBIDDEN,
                "forbidden",
                &format!("the {} role may not do this", r.as_str()),
            ))),
            Some(_) => Ok(()),
        }
    }

    /// A permit to run a query, for the routes that run one (counted as
    /// running while held); refused when as many queries as allowed are
    /// running.
    fn query_permit(
        &self,
        route: Option<&str>,
    ) -> Result<Option<(tokio::sync::OwnedSemaphorePermit, super::metrics::Running)>, Box<Response>> {
        if !route.is_some_and(|r| ["/api/v1/queries/{name}", "/api/v1/sql", "/queries/{name}"].contains(&r)) {
            return Ok(None);
        }
        let permit = self.queries.clone().try_acquire_owned();
        permit
            .map(|p| Some((p, super::metrics::Running::start())))
            .map_err(|_| {
                super::metrics::too_many_queries();
                let mut r = refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too_many_queries",
                    "as many queries as allowed are running; retry shortly",
                );
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1u64));
                Box::new(r)
            })
    }
}

/// The data directory's guard (tokens, sessions) for the CLI's checks.
pub fn tokens_configured(data: &Path) -> Result<bool, crate::access::tokens::AuthError> {
    Ok(!TokenStore::new(data).is_empty()?)
}
