//! Access control through the real router: the authorization matrix (every
//! route × every role × anonymous, generated from the router), sign-in and
//! session cookies, the rate limit (and spoofed X-Forwarded-For), the
//! upload size limit, the request timeout, and the audit trail of it all.

use crate::common;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use common::{Env, fixture, http};
use ecomshare::access::tokens::TokenStore;
use ecomshare::domain::{Access, Role};
use ecomshare::http::HttpOptions;
use ecomshare::service::{App, IngestSource};
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

struct Site {
    _dir: tempfile::TempDir,
    app: Arc<App>,
    router: Router,
    tokens: BTreeMap<Role, String>,
}

impl Site {
    async fn new(options: HttpOptions) -> Self {
        Self::with(options, ecomshare::service::AppOptions::default()).await
    }

    /// The sample filings and one token per role.
    async fn with(options: HttpOptions, app_options: ecomshare::service::AppOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let app = Arc::new(App::open_with(dir.path().join("data"), app_options).unwrap());
        let ingest = app.clone();
        tokio::task::spawn_blocking(move || {
            ingest
                .ingest(vec![IngestSource::Path(fixture("sample_filings.csv"))])
                .unwrap()
        })
        .await
        .unwrap();
        let store = TokenStore::new(app.data_dir());
        let tokens = Role::ALL
            .iter()
            .map(|r| {
                let (_, t) = store
                    .create(*r, &format!("test {}", r.as_str()), None, chrono::Utc::now())
                    .unwrap();
                (*r, t)
            })
            .collect();
        let router = ecomshare::http::router_with(app.clone(), options);
        Self {
            _dir: dir,
            app,
            router,
            tokens,
        }
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        common::exchange(self.router.clone(), req).await
    }

    fn bearer(&self, role: Role) -> String {
        format!("Bearer {}", self.tokens[&role])
    }
}

fn no_rate_limit() -> HttpOptions {
    HttpOptions {
        rate_per_s: None,
        ..HttpOptions::default()
    }
}

/// The access each route asks for. A route added to the router without a
/// line here fails `every_route_for_every_role_and_anonymous`.
fn expected_access() -> BTreeMap<(&'static str, &'static str), Access> {
    use Access::*;
    BTreeMap::from([
        (("get", "/healthz"), Public),
        (("get", "/livez"), Public),
        (("get", "/readyz"), Public),
        (("get", "/api/v1/openapi.json"), Public),
        (("get", "/api/v1/docs"), Public),
        (("get", "/signin"), Public),
        (("post", "/signin"), Public),
        (("post", "/signout"), Public),
        (("get", "/"), Dashboard),
        (("get", "/districts/{code}"), Dashboard),
        (("get", "/sectors/{code}"), Dashboard),
        (("get", "/charts/{file}"), Dashboard),
        (("get", "/tables/{file}"), Dashboard),
        (("get", "/api/v1/share"), Figures),
        (("get", "/api/v1/outlook"), Figures),
        (("get", "/api/v1/reference/{table}"), Figures),
        (("get", "/api/v1/queries"), Analysis),
        (("get", "/api/v1/queries/{name}"), Analysis),
        (("post", "/api/v1/sql"), Analysis),
        (("post", "/api/v1/filings"), Filing),
        (("get", "/api/v1/filings/template.csv"), Public),
        (("get", "/api/v1/filings/template.xlsx"), Public),
        (("get", "/api/v1/ingests"), Filing),
        (("get", "/api/v1/ingests/{version}"), Filing),
        (("get", "/api/v1/reports"), Admin),
        (("get", "/api/v1/reports/{month}/{file}"), Admin),
        (("post", "/api/v1/reports/{month}"), Admin),
        (("get", "/api/v1/deliveries"), Admin),
        (("get", "/metrics"), Admin),
        // The filers' pages.
        (("get", "/filings/upload"), Filing),
        (("post", "/filings/upload"), Filing),
        (("get", "/filings/history"), Filing),
        (("get", "/filings/ingests/{version}"), Filing),
        (("get", "/filings/ingests/{version}/rejections.csv"), Filing),
        (("get", "/filings/ingests/{version}/rejections.xlsx"), Filing),
        (("get", "/assets/upload.js"), Public),
        // The administrators' pages.
        (("get", "/admin/reports"), Admin),
        (("post", "/admin/reports"), Admin),
        (("post", "/admin/deliveries/{id}/retry"), Admin),
        (("get", "/admin/tokens"), Admin),
        (("post", "/admin/tokens"), Admin),
        (("post", "/admin/tokens/{id}/revoke"), Admin),
        (("get", "/assets/copy.js"), Public),
        (("get", "/queries"), Analysis),
        (("get", "/queries/{name}"), Analysis),
    ])
}

/// A request that exercises the route (its path parameters filled in).
fn request_for(method: &str, path: &str) -> Request<Body> {
    let uri = match path {
        "/districts/{code}" => "/districts/380".to_string(),
        "/sectors/{code}" => "/sectors/FOOD".to_string(),
        "/charts/{file}" => "/charts/trend.svg".to_string(),
        "/tables/{file}" => "/tables/districts.xlsx".to_string(),
        "/api/v1/reference/{table}" => "/api/v1/reference/districts".to_string(),
        "/api/v1/queries/{name}" => "/api/v1/queries/share_by_district".to_string(),
        "/api/v1/reports/{month}/{file}" => "/api/v1/reports/2025-03/report.json".to_string(),
        "/admin/deliveries/{id}/retry" => "/admin/deliveries/2025-03-vi-v1-moit/retry".to_string(),
        "/admin/tokens/{id}/revoke" => "/admin/tokens/00000000/revoke".to_string(),
        "/api/v1/reports/{month}" => "/api/v1/reports/2025-03".to_string(),
        "/api/v1/ingests/{version}" => "/api/v1/ingests/1".to_string(),
        "/queries/{name}" => "/queries/share_by_district?run=1".to_string(),
        "/filings/ingests/{version}" => "/filings/ingests/1".to_string(),
        "/filings/ingests/{version}/rejections.csv" => "/filings/ingests/1/rejections.csv".to_string(),
        "/filings/ingests/{version}/rejections.xlsx" => "/filings/ingests/1/rejections.xlsx".to_string(),
        other => other.to_string(),
    };
    let (content_type, body) = match path {
        "/api/v1/sql" => ("application/sql", "SELECT count(*) AS n FROM filings"),
        "/api/v1/filings" => (
            "text/csv",
            "unit_id,district_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd\n",
        ),
        "/signin" => ("application/x-www-form-urlencoded", "token=nothing"),
        "/filings/upload" => (
            "multipart/form-data; boundary=X",
            "--X\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n\
             unit_id,district_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd\n\r\n--X--\r\n",
        ),
        _ => ("text/plain", ""),
    };
    let builder = Request::builder().method(method.to_ascii_uppercase().as_str()).uri(uri);
    if method == "post" {
        builder
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    } else {
        builder.body(Body::empty()).unwrap()
    }
}

#[tokio::test]
async fn every_route_for_every_role_and_anonymous() {
    let site = Site::new(no_rate_limit()).await;
    // As `serve` does at start: `/readyz` answers 200 from then on.
    site.app.publish_latest().await.unwrap();
    let (_, ops) = ecomshare::http::routes();
    let expected = expected_access();
    let routed: Vec<(&str, &str)> = ops.iter().map(|op| (op.method, op.path)).collect();
    for op in ops.iter() {
        let want = expected.get(&(op.method, op.path)).unwrap_or_else(|| {
            panic!(
                "{} {} has no expected access in this test: decide who may use it",
                op.method, op.path
            )
        });
        assert_eq!(op.access, *want, "{} {}", op.method, op.path);
    }
    for key in expected.keys() {
        assert!(routed.contains(key), "{key:?} is expected but not routed");
    }

    let mut checked = 0;
    for op in ops.iter() {
        let callers: Vec<Option<Role>> = std::iter::once(None).chain(Role::ALL.into_iter().map(Some)).collect();
        for caller in callers {
            let mut req = request_for(op.method, op.path);
            if let Some(role) = caller {
                req.headers_mut()
                    .insert(header::AUTHORIZATION, site.bearer(role).parse().unwrap());
            }
            let (status, headers, body) = site.send(req).await;
            let what = format!("{} {} as {caller:?}", op.method, op.path);
            let allowed = op.access == Access::Public || caller.is_some_and(|r| r.may(op.access));
            // The metrics are for a scraper: 401, not the sign-in page.
            let page = op.method == "get"
                && op.path != "/metrics"
                && !["/api/", "/charts/", "/tables/"].iter().any(|p| op.path.starts_with(p));
            let form = op.method == "post" && !op.path.starts_with("/api/") && op.path != "/signin";
            if allowed && form {
                // A form of the pages: its role checked first, then the
                // anti-forgery token it cannot carry without a page.
                assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
                let e: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(e["error"]["code"], "csrf_failed", "{what}");
            } else if allowed {
                assert!(
                    ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&status)
                        || op.path == "/signin" && status == StatusCode::UNAUTHORIZED,
                    "{what}: {status} {}",
                    String::from_utf8_lossy(&body)
                );
                assert!(!status.is_server_error(), "{what}: {status}");
            } else if caller.is_none() {
                if page {
                    assert_eq!(status, StatusCode::SEE_OTHER, "{what}: pages send browsers to sign in");
                    assert!(headers[header::LOCATION].to_str().unwrap().starts_with("/signin?next="));
                } else {
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
                    let e: Value = serde_json::from_slice(&body).unwrap();
                    assert_eq!(e["error"]["code"], "unauthorized", "{what}");
                }
            } else if page {
                // A page says so as a page, with the pages the role may open.
                assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
                let html = String::from_utf8_lossy(&body);
                assert!(
                    html.contains("<nav") && html.contains("Không được phép truy cập"),
                    "{what}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
                let e: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(e["error"]["code"], "forbidden", "{what}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ops.len() * 5);

    // A bearer token that proves nothing is refused even on a public route.
    let req = Request::get("/healthz")
        .header(header::AUTHORIZATION, "Bearer esk_00000000_ffff")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = site.send(req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    assert!(String::from_utf8_lossy(&body).contains("invalid_token"));

    // The OpenAPI document states each operation's roles.
    let (_, _, doc) = site.send(request_for("get", "/api/v1/openapi.json")).await;
    let doc: Value = serde_json::from_slice(&doc).unwrap();
    assert_eq!(
        doc["paths"]["/api/v1/sql"]["post"]["x-roles"],
        serde_json::json!(["analyst", "admin"])
    );
    assert_eq!(doc["paths"]["/healthz"]["get"]["security"], serde_json::json!([]));
}

#[tokio::test]
async fn a_public_dashboard_keeps_the_api_protected() {
    let site = Site::new(HttpOptions {
        public_dashboard: true,
        ..no_rate_limit()
    })
    .await;
    assert_eq!(site.send(request_for("get", "/")).await.0, StatusCode::OK);
    assert_eq!(site.send(request_for("get", "/charts/{file}")).await.0, StatusCode::OK);
    assert_eq!(
        site.send(request_for("get", "/api/v1/share")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

fn form(token: &str, next: &str) -> Request<Body> {
    Request::post("/signin")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={}&next={}", token, next.replace('/', "%2F"))))
        .unwrap()
}

#[tokio::test]
async fn signing_in_gives_a_strict_http_only_cookie_that_dies_with_its_token() {
    let site = Site::new(no_rate_limit()).await;
    let (status, _, body) = site.send(form("esk_deadbeef_00", "/")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(String::from_utf8_lossy(&body).contains("không hợp lệ"));

    let viewer = site.tokens[&Role::Viewer].clone();
    let (status, headers, _) = site.send(form(&viewer, "/districts/380")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/districts/380");
    let set = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains(&viewer), "the cookie is not the token");
    let cookie = set.split(';').next().unwrap().to_string();
    let with_cookie = |uri: &str| {
        Request::get(uri)
            .header(header::COOKIE, cookie.as_str())
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(site.send(with_cookie("/")).await.0, StatusCode::OK);
    assert_eq!(site.send(with_cookie("/api/v1/share")).await.0, StatusCode::OK);
    assert_eq!(site.send(with_cookie("/api/v1/queries")).await.0, StatusCode::FORBIDDEN);
    // Another site is never the place signing in sends a browser to.
    let (_, headers, _) = site.send(form(&viewer, "//evil.example/")).await;
    assert_eq!(headers[header::LOCATION], "/");

    let id = viewer.split('_').nth(1).unwrap();
    TokenStore::new(site.app.data_dir())
        .revoke(id, chrono::Utc::now())
        .unwrap();
    assert_eq!(site.send(with_cookie("/")).await.0, StatusCode::SEE_OTHER);
    assert_eq!(
        site.send(with_cookie("/api/v1/share")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

/// The session cookie (`name=value`) a token signs in to, and where signing in went.
async fn sign_in(site: &Site, role: Role, next: Option<&str>) -> (String, String) {
    let body = match next {
        Some(n) => format!("token={}&next={}", site.tokens[&role], n.replace('/', "%2F")),
        None => format!("token={}", site.tokens[&role]),
    };
    let req = Request::post("/signin")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let (status, headers, _) = site.send(req).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (cookie, headers[header::LOCATION].to_str().unwrap().to_string())
}

/// The anti-forgery token in a page's forms.
fn csrf_of(html: &str) -> String {
    let mark = "name=\"csrf\" value=\"";
    let at = html.find(mark).expect("a form with the anti-forgery token") + mark.len();
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

fn with(cookie: &str, req: axum::http::request::Builder, body: &str) -> Request<Body> {
    req.header(header::COOKIE, cookie)
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn each_role_gets_its_pages_and_changes_need_the_sessions_anti_forgery_token() {
    let site = Site::new(no_rate_limit()).await;
    // Signing in with nowhere asked for lands on the role's first page.
    let (filer, to) = sign_in(&site, Role::Filer, None).await;
    assert_eq!(to, "/filings/upload");
    let (analyst, to) = sign_in(&site, Role::Analyst, Some("/")).await;
    assert_eq!(to, "/");

    let (status, _, body) = site.send(with(&analyst, Request::get("/"), "")).await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    let nav = &html[html.find("<nav").unwrap()..html.find("</nav>").unwrap()];
    assert!(nav.contains("href=\"/queries\"") && !nav.contains("/admin/tokens") && !nav.contains("/filings/upload"));
    let token = csrf_of(&html);

    // A filer opening the dashboard is told so on a page with its own pages.
    let (status, _, body) = site.send(with(&filer, Request::get("/"), "")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("href=\"/filings/upload\"") && html.contains("Không được phép"));
    let filer_token = csrf_of(&html);
    assert_ne!(filer_token, token, "bound to the session");

    // A change through the API with the session cookie carries the token.
    let sql = |t: Option<&str>| {
        let mut r = Request::post("/api/v1/sql").header(header::CONTENT_TYPE, "application/sql");
        if let Some(t) = t {
            r = r.header("x-csrf-token", t);
        }
        with(&analyst, r, "SELECT count(*) AS n FROM districts")
    };
    let (status, _, body) = site.send(sql(None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["error"]["code"],
        "csrf_failed"
    );
    assert_eq!(site.send(sql(Some(&filer_token))).await.0, StatusCode::FORBIDDEN);
    let (status, _, body) = site.send(sql(Some(&token))).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));

    // Signing out: refused without this session's token, done with it.
    let signout = |body: String| {
        with(
            &analyst,
            Request::post("/signout").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            &body,
        )
    };
    for bad in [String::new(), format!("csrf={filer_token}")] {
        let (status, _, body) = site.send(signout(bad)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["error"]["code"],
            "csrf_failed"
        );
    }
    let (status, headers, _) = site.send(signout(format!("csrf={token}"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn a_browser_is_told_of_a_refusal_on_a_page_and_a_client_in_json() {
    let site = Site::new(no_rate_limit()).await;
    let (viewer, _) = sign_in(&site, Role::Viewer, Some("/")).await;
    let html = |r: axum::http::request::Builder| r.header(header::ACCEPT, "text/html,application/xhtml+xml");
    // A form sent without its anti-forgery token…
    let req = with(
        &viewer,
        html(Request::post("/signout").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")),
        "",
    );
    let (status, headers, body) = site.send(req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("<code id=\"error-code\">csrf_failed</code>") && page.contains("Hãy tải lại trang"));
    assert!(page.contains("<nav"), "in the frame, with the reader's pages");
    // … an unknown district…
    let (status, _, body) = site.send(with(&viewer, html(Request::get("/districts/999")), "")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("<code id=\"error-code\">not_found</code>")
    );
    // … and the API, or a client not asking for HTML, keep the JSON shape.
    let (status, _, body) = site
        .send(with(&viewer, html(Request::get("/api/v1/share?by=nothing")), ""))
        .await;
    assert!(status.is_client_error(), "{status}");
    assert!(serde_json::from_slice::<Value>(&body).unwrap()["error"]["code"].is_string());
    let (status, _, body) = site.send(with(&viewer, Request::get("/districts/999"), "")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["error"]["code"],
        "not_found"
    );
}

#[tokio::test]
async fn a_chosen_language_stays_for_the_next_pages() {
    let site = Site::new(no_rate_limit()).await;
    let (viewer, _) = sign_in(&site, Role::Viewer, Some("/")).await;
    let (_, headers, body) = site.send(with(&viewer, Request::get("/?lang=en"), "")).await;
    assert!(String::from_utf8_lossy(&body).starts_with("<!DOCTYPE html><html lang=\"en\""));
    let kept = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("ecomshare_lang="))
        .expect("the language is kept");
    assert_eq!(kept, "ecomshare_lang=en");
    let both = format!("{viewer}; {kept}");
    let (_, _, body) = site.send(with(&both, Request::get("/districts/380"), "")).await;
    let html = String::from_utf8(body).unwrap();
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"en\""));
    // The switch back names the other language explicitly.
    assert!(html.contains("href=\"/districts/380?lang=vi\""));
}

fn from(addr: &str, uri: &str, forwarded: Option<&str>) -> Request<Body> {
    let mut req = Request::get(uri);
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let mut req = req.body(Body::empty()).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(addr.parse::<SocketAddr>().unwrap()));
    req
}

#[tokio::test]
async fn the_rate_limit_answers_429_per_caller_and_ignores_spoofed_forwarding() {
    let options = HttpOptions {
        rate_per_s: Some(0.5),
        rate_burst: 3.0,
        trusted_proxies: vec!["10.0.0.9".parse().unwrap()],
        ..HttpOptions::default()
    };
    let site = Site::new(options).await;
    for i in 0..3 {
        let (s, _, _) = site
            .send(from("192.0.2.1:5000", "/healthz", Some(&format!("203.0.113.{i}"))))
            .await;
        assert_eq!(s, StatusCode::OK, "request {i} is within the burst");
    }
    // A forged X-Forwarded-For from a caller that is not a trusted proxy changes nothing.
    let (s, headers, body) = site
        .send(from("192.0.2.1:5001", "/healthz", Some("198.51.100.77")))
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers[header::RETRY_AFTER].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert!(String::from_utf8_lossy(&body).contains("rate_limited"));
    // Another address has its own bucket.
    assert_eq!(
        site.send(from("192.0.2.2:5000", "/healthz", None)).await.0,
        StatusCode::OK
    );
    // Behind the trusted proxy, each forwarded client has its own bucket.
    for i in 0..4 {
        let (s, _, _) = site
            .send(from("10.0.0.9:443", "/healthz", Some(&format!("198.51.100.{i}"))))
            .await;
        assert_eq!(s, StatusCode::OK, "client {i}");
    }
    // A token's bucket is the token's, wherever it calls from.
    let analyst = site.bearer(Role::Analyst);
    for i in 0..4 {
        let mut req = from(&format!("192.0.2.{}:1", 10 + i), "/api/v1/share?by=district", None);
        req.headers_mut()
            .insert(header::AUTHORIZATION, analyst.parse().unwrap());
        let want = if i < 3 {
            StatusCode::OK
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(site.send(req).await.0, want, "token request {i}");
    }
}

#[tokio::test]
async fn uploads_past_the_limit_get_413_and_stalled_ones_time_out() {
    let site = Site::new(HttpOptions {
        max_upload_bytes: 1024,
        upload_timeout: Duration::from_millis(300),
        ..no_rate_limit()
    })
    .await;
    let filer = site.bearer(Role::Filer);
    let big = std::fs::read(fixture("sample_filings.csv")).unwrap();
    assert!(big.len() > 1024);
    let req = Request::post("/api/v1/filings?name=big.csv")
        .header(header::AUTHORIZATION, filer.as_str())
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(big))
        .unwrap();
    let (s, _, body) = site.send(req).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(String::from_utf8_lossy(&body).contains("payload_too_large"));
    assert_eq!(site.app.dataset_version().unwrap(), 1, "nothing was committed");

    // Without a length, the limit is enforced while the body streams in.
    let chunks = futures::stream::iter((0..8).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; 512]))));
    let req = Request::post("/api/v1/filings?name=streamed.csv")
        .header(header::AUTHORIZATION, filer.as_str())
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from_stream(chunks))
        .unwrap();
    assert_eq!(site.send(req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let spooled = || {
        std::fs::read_dir(site.app.data_dir().join("uploads"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(spooled(), 0, "the spool file of a refused upload is gone");

    // A body that starts and then stalls.
    let head = futures::stream::once(async { Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"unit_id,")) });
    let stalled = futures::StreamExt::chain(head, futures::stream::pending());
    let req = Request::post("/api/v1/filings?name=slow.csv")
        .header(header::AUTHORIZATION, filer.as_str())
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from_stream(stalled))
        .unwrap();
    let (s, headers, body) = site.send(req).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(String::from_utf8_lossy(&body).contains("request_timeout"));
    assert!(headers.contains_key(header::RETRY_AFTER));
    assert_eq!(site.app.dataset_version().unwrap(), 1);
    assert_eq!(spooled(), 0, "the spool file of a timed-out upload is gone");
}

#[tokio::test]
async fn actions_and_refusals_go_to_the_audit_trail_without_secrets() {
    let site = Site::new(no_rate_limit()).await;
    let mut req = request_for("get", "/api/v1/share");
    req.headers_mut()
        .insert(header::AUTHORIZATION, site.bearer(Role::Viewer).parse().unwrap());
    assert_eq!(site.send(req).await.0, StatusCode::OK);
    let mut req = request_for("post", "/api/v1/sql");
    req.headers_mut()
        .insert(header::AUTHORIZATION, site.bearer(Role::Viewer).parse().unwrap());
    assert_eq!(site.send(req).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        site.send(request_for("get", "/api/v1/share")).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Anonymous requests that are allowed are not actions of anyone.
    assert_eq!(site.send(request_for("get", "/healthz")).await.0, StatusCode::OK);

    let path = site.app.data_dir().join("audit/audit.jsonl");
    let mut lines = Vec::new();
    for _ in 0..100 {
        lines = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect();
        if lines.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let summary: Vec<(String, Option<String>, u64, String)> = lines
        .iter()
        .map(|l| {
            (
                l["action"].as_str().unwrap().to_string(),
                l["role"].as_str().map(str::to_string),
                l["status"].as_u64().unwrap(),
                l["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("GET /api/v1/share".into(), Some("viewer".into()), 200, "done".into()),
            ("POST /api/v1/sql".into(), Some("viewer".into()), 403, "refused".into()),
            ("GET /api/v1/share".into(), None, 401, "refused".into()),
        ]
    );
    let viewer_id = site.tokens[&Role::Viewer].split('_').nth(1).unwrap().to_string();
    assert_eq!(lines[0]["token_id"], viewer_id.as_str());
    assert_eq!(lines[0]["dataset_version"], 1);
    let text = std::fs::read_to_string(&path).unwrap();
    for token in site.tokens.values() {
        assert!(!text.contains(&token[13..]), "no token secret in the audit trail");
    }
    assert_eq!(
        ecomshare::access::audit::AuditLog::new(site.app.data_dir())
            .verify()
            .unwrap()
            .lines,
        3
    );
}

#[test]
fn the_cli_manages_tokens_and_verifies_the_trail_and_serve_refuses_an_open_network_address() {
    let env = Env::new();
    let r = env.run(&["serve", "--no-demo", "--addr", "0.0.0.0:0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("without access tokens")
    );

    let r = env.run(&[
        "token",
        "create",
        "--role",
        "analyst",
        "--name",
        "Phòng Thương mại điện tử",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let created = r.json();
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("esk_"));
    assert_eq!(created["role"], "analyst");
    let listed = env.run(&["token", "list"]).json();
    assert_eq!(listed["tokens"][0]["id"], created["id"]);
    assert!(
        !listed.to_string().contains(&token[13..]),
        "listing never shows a token"
    );
    assert_eq!(env.run(&["token", "revoke", "nope"]).code, 2);
    let r = env.run(&["token", "revoke", created["id"].as_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.json()["revoked_at"].is_string());

    let r = env.run(&["audit", "verify"]);
    assert_eq!((r.code, r.json()["lines"].as_u64()), (0, Some(2)), "{}", r.stderr);
    // Someone edits the trail.
    let path = env.data().join("audit/audit.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("analyst", "admin")).unwrap();
    let r = env.run(&["audit", "verify"]);
    assert_eq!(r.code, 5);
    assert_eq!(r.json()["error"]["code"], "audit_broken");
}

#[test]
fn no_token_cookie_or_secret_reaches_the_logs() {
    let env = Env::new();
    assert_eq!(env.ingest(&[&fixture("sample_filings.csv")]).code, 0);
    let viewer = env
        .run(&["token", "create", "--role", "viewer", "--name", "ban chỉ đạo"])
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let port = common::free_port();
    let log_path = env.path("serve.log");
    let mut child = env
        .cmd()
        .args([
            "serve",
            "--no-demo",
            "--no-warm",
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .env("ECOMSHARE_LOG", "debug")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    common::wait_for_port(port);
    let r = http(
        port,
        &format!(
            "GET /api/v1/share HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {viewer}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    // The same id with another last digit of the secret.
    let last = if viewer.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &viewer[..viewer.len() - 1]);
    let r = http(
        port,
        &format!("GET /api/v1/share HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {wrong}\r\nConnection: close\r\n\r\n"),
    );
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    let body = format!("token={viewer}&next=%2F");
    let r = http(
        port,
        &format!(
            "POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(r.starts_with("HTTP/1.1 303"), "{r}");
    let cookie = r
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let r = http(
        port,
        &format!("GET / HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"),
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{}", &r[..200.min(r.len())]);
    let _ = child.kill();
    let _ = child.wait();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("request"), "the server logged its requests:\n{log}");
    let secret = &viewer[13..];
    let session = cookie.split_once('=').unwrap().1;
    for (what, s) in [
        ("token", secret),
        ("wrong token", &wrong[13..]),
        ("session cookie", session),
    ] {
        assert!(!log.contains(s), "the {what} is in the log:\n{log}");
    }
}

/// Filings whose district tables need disclosure control: March, 380 five
/// even enterprises, 381 one enterprise, 384 four small ones; February,
/// 385 three units of two enterprises, 386 dominated by one enterprise.
async fn sdc_app() -> (tempfile::TempDir, Arc<App>) {
    use common::{Row, csv, tax_code};
    let mut rows = Vec::new();
    // March: 380 five even enterprises; 381 one enterprise (too few); 384
    // four small enterprises (the cheapest cell to withhold beside it).
    for i in 0..5 {
        rows.push(Row::new(
            &tax_code(100 + i),
            "380",
            "4711",
            "2025-03",
            1_000_000,
            100_000,
        ));
    }
    rows.push(Row::new(&tax_code(200), "381", "4711", "2025-03", 5_000_000, 900_000));
    for i in 0..4 {
        rows.push(Row::new(&tax_code(300 + i), "384", "4711", "2025-03", 100_000, 10_000));
    }
    // February: 385 has three units of two enterprises (two dependent units
    // of one parent); 386 three enterprises, the two largest holding 95 %.
    for i in 0..5 {
        rows.push(Row::new(
            &tax_code(100 + i),
            "380",
            "4711",
            "2025-02",
            1_000_000,
            100_000,
        ));
    }
    let parent = tax_code(400);
    rows.push(Row::new(
        &format!("{parent}-001"),
        "385",
        "4711",
        "2025-02",
        1_000_000,
        0,
    ));
    rows.push(Row::new(
        &format!("{parent}-002"),
        "385",
        "4711",
        "2025-02",
        1_000_000,
        0,
    ));
    rows.push(Row::new(&tax_code(401), "385", "4711", "2025-02", 1_000_000, 0));
    rows.push(Row::new(&tax_code(500), "386", "4711", "2025-02", 9_000_000, 0));
    rows.push(Row::new(&tax_code(501), "386", "4711", "2025-02", 500_000, 0));
    rows.push(Row::new(&tax_code(502), "386", "4711", "2025-02", 500_000, 0));
    let data_dir = tempfile::tempdir().unwrap();
    let app = Arc::new(App::open(data_dir.path().join("data")).unwrap());
    let ingest = app.clone();
    let text = csv(&rows);
    tokio::task::spawn_blocking(move || {
        ingest
            .ingest(vec![IngestSource::Bytes {
                name: "sdc.csv".into(),
                format: Some(ecomshare::ingest::Format::Csv),
                bytes: text.into_bytes(),
            }])
            .unwrap()
    })
    .await
    .unwrap();
    (data_dir, app)
}

#[tokio::test]
async fn viewers_get_protected_figures_admins_the_full_ones_and_reports_are_protected() {
    let (_data_dir, app) = sdc_app().await;
    let store = TokenStore::new(app.data_dir());
    let (_, viewer) = store.create(Role::Viewer, "v", None, chrono::Utc::now()).unwrap();
    let (_, admin) = store.create(Role::Admin, "a", None, chrono::Utc::now()).unwrap();
    let router = ecomshare::http::router_with(app.clone(), no_rate_limit());
    let get = |uri: &str, token: &str| {
        let req = Request::get(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let router = router.clone();
        async move {
            let resp = router.oneshot(req).await.unwrap();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            serde_json::from_slice::<Value>(&body).unwrap()
        }
    };
    let hidden = |v: &Value| -> Vec<String> {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["suppressed"] == true)
            .map(|r| r["district_code"].as_str().unwrap().to_string())
            .collect()
    };
    let march = "/api/v1/share?by=district&from=2025-03&to=2025-03";
    let seen = get(march, &viewer).await;
    assert_eq!(
        hidden(&seen),
        ["381", "384"],
        "381 has one enterprise; 384 is withheld beside it"
    );
    let row = |v: &Value, code: &str| {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["district_code"] == code)
            .unwrap()
            .clone()
    };
    let r381 = row(&seen, "381");
    for field in [
        "total_revenue_vnd",
        "ecommerce_revenue_vnd",
        "share",
        "gap_pp",
        "filings",
        "units",
    ] {
        assert!(r381[field].is_null(), "{field} of a suppressed cell is null: {r381}");
    }
    assert_eq!(r381["status"], "suppressed");
    assert_eq!(row(&seen, "380")["filings"], 5, "a safe cell is shown");
    assert_eq!(seen["total"]["suppressed"], false);
    // The admin sees everything.
    let full = get(march, &admin).await;
    assert!(hidden(&full).is_empty());
    assert_eq!(row(&full, "381")["total_revenue_vnd"], "5000000");

    // An analyst's export of a named query withholds the same cells.
    let (_, analyst) = store.create(Role::Analyst, "an", None, chrono::Utc::now()).unwrap();
    let export = get("/api/v1/queries/share_by_district?from=2025-03&to=2025-03", &analyst).await;
    let rows = export["rows"].as_array().unwrap();
    let withheld: Vec<&str> = rows
        .iter()
        .filter(|r| r["suppressed"] == true)
        .map(|r| r["district_code"].as_str().unwrap())
        .collect();
    assert_eq!(withheld, ["381", "384"], "{export}");
    let r381 = rows.iter().find(|r| r["district_code"] == "381").unwrap();
    for field in [
        "total_revenue_vnd",
        "ecommerce_revenue_vnd",
        "share",
        "gap_pp",
        "status",
        "filings",
        "units",
    ] {
        assert_eq!(r381.get(field), Some(&Value::Null), "{field} of {r381}");
    }
    assert!(r381["target"].is_number(), "the target is not a figure of the cell");
    assert_eq!(r381["district_name"], "Bỉm Sơn");
    let full = get("/api/v1/queries/share_by_district?from=2025-03&to=2025-03", &admin).await;
    assert!(
        full["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("suppressed").is_none())
    );
    let grid = get(
        "/api/v1/queries/share_by_district_sector?from=2025-03&to=2025-03",
        &analyst,
    )
    .await;
    assert!(
        grid["rows"].as_array().unwrap().iter().any(|r| r["suppressed"] == true),
        "the two-way table is protected too"
    );

    let feb = get("/api/v1/share?by=district&from=2025-02&to=2025-02", &viewer).await;
    assert_eq!(
        hidden(&feb),
        ["385", "386"],
        "two dependent units count as one enterprise; two enterprises holding 95 % dominate"
    );

    // The report is a publication: protected whoever generates it.
    let req = Request::post("/api/v1/reports/2025-03")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(router.clone().oneshot(req).await.unwrap().status(), StatusCode::CREATED);
    let report: Value =
        serde_json::from_slice(&std::fs::read(app.data_dir().join("reports/2025-03/report.json")).unwrap()).unwrap();
    let withheld: Vec<&str> = report["districts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["suppressed"] == true)
        .map(|d| d["district_code"].as_str().unwrap())
        .collect();
    assert_eq!(withheld, ["381", "384"]);
    assert!(report["methodology"].to_string().contains("dưới 3 doanh nghiệp"));
}

#[tokio::test]
async fn an_analysts_sql_reads_protected_cells_and_unprotectable_queries_need_an_admin() {
    let (_data_dir, app) = sdc_app().await;
    let store = TokenStore::new(app.data_dir());
    let (_, analyst) = store.create(Role::Analyst, "an", None, chrono::Utc::now()).unwrap();
    let (_, admin) = store.create(Role::Admin, "a", None, chrono::Utc::now()).unwrap();
    let router = ecomshare::http::router_with(app.clone(), no_rate_limit());
    let call = |req: Request<Body>| {
        let router = router.clone();
        async move {
            let resp = router.oneshot(req).await.unwrap();
            let status = resp.status();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice::<Value>(&body).unwrap())
        }
    };
    let sql = |text: &str, token: &str| {
        Request::post("/api/v1/sql")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/sql")
            .body(Body::from(text.to_string()))
            .unwrap()
    };
    let get = |uri: &str, token: &str| {
        Request::get(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };

    // The filings themselves are not there for an analyst, only for an admin.
    let (status, body) = call(sql("SELECT unit_id, total_revenue_vnd FROM filings", &analyst)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "unknown_table");
    let (status, body) = call(sql("SELECT count(*) AS n FROM filings", &admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"][0]["n"], 21);

    // The analyst's `cells` withhold what the share API withholds for the
    // same month's district × sector table, figures and counts alike.
    let (status, cells) = call(sql(
        "SELECT period, district_code, sector_code, weighted_total_vnd, filings, units, suppressed \
         FROM cells ORDER BY period, district_code, sector_code",
        &analyst,
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{cells}");
    let cells = cells["rows"].as_array().unwrap().clone();
    for month in ["2025-02", "2025-03"] {
        let (_, share) = call(get(
            &format!("/api/v1/share?by=district,sector&from={month}&to={month}"),
            &analyst,
        ))
        .await;
        let withheld = |rows: &[Value]| -> Vec<(String, String)> {
            rows.iter()
                .filter(|r| r["suppressed"] == true)
                .map(|r| {
                    (
                        r["district_code"].as_str().unwrap().to_string(),
                        r["sector_code"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        };
        let in_month: Vec<Value> = cells.iter().filter(|c| c["period"] == month).cloned().collect();
        let shared: Vec<Value> = share["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["filings"] != 0)
            .cloned()
            .collect();
        assert_eq!(withheld(&in_month), withheld(&shared), "{month}");
        assert!(!withheld(&in_month).is_empty(), "{month} has cells to withhold");
        for c in &in_month {
            let hidden = c["suppressed"] == true;
            for field in ["weighted_total_vnd", "filings", "units"] {
                assert_eq!(c[field].is_null(), hidden, "{field} of {c}");
            }
        }
    }
    let r380 = cells
        .iter()
        .find(|c| c["period"] == "2025-03" && c["district_code"] == "380")
        .unwrap();
    assert_eq!(r380["filings"], 5);
    assert_eq!(
        r380["weighted_total_vnd"].as_str().map(|v| v.starts_with("5000000")),
        Some(true),
        "{r380}"
    );
    // A sum over the cells cannot bring a withheld one back: the province
    // total of March from the analyst's cells leaves out 381 and 384.
    let (_, sum) = call(sql(
        "SELECT sum(weighted_total_vnd) AS t FROM cells WHERE period = '2025-03'",
        &analyst,
    ))
    .await;
    assert!(sum["rows"][0]["t"].as_str().unwrap().starts_with("5000000"), "{sum}");

    // Named queries: a query of cells or of counts is the analyst's; one that
    // lists filings, or figures of tables the share API does not publish,
    // needs full access. The list says which is which.
    let (_, listing) = call(get("/api/v1/queries", &analyst)).await;
    let access_of = |name: &str| {
        listing["queries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == name)
            .map(|q| q["access"].clone())
    };
    for (name, analyst_status) in [
        ("share_by_district", StatusCode::OK),
        ("coverage_by_district", StatusCode::OK),
        ("revisions", StatusCode::FORBIDDEN),
        ("yoy_by_district", StatusCode::FORBIDDEN),
    ] {
        let uri = format!("/api/v1/queries/{name}");
        let (status, body) = call(get(&uri, &analyst)).await;
        assert_eq!(status, analyst_status, "{name}: {body}");
        let listed = if status == StatusCode::OK { "protected" } else { "full" };
        assert_eq!(access_of(name), Some(Value::from(listed)), "{name}");
        if status == StatusCode::FORBIDDEN {
            assert_eq!(body["error"]["code"], "full_access_required", "{name}");
        }
        let (status, body) = call(get(&uri, &admin)).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrent_query_cap_answers_503_while_other_routes_still_answer() {
    let site = Site::with(
        HttpOptions {
            max_concurrent_queries: 1,
            ..no_rate_limit()
        },
        ecomshare::service::AppOptions {
            query_timeout: Duration::from_secs(3),
            ..Default::default()
        },
    )
    .await;
    let router = site.router.clone();
    let admin = site.tokens[&Role::Admin].clone();
    let sql = |text: &str| {
        Request::post("/api/v1/sql")
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, "application/sql")
            .body(Body::from(text.to_string()))
            .unwrap()
    };
    // Billions of joined rows: it holds the one slot until the query
    // timeout ends it.
    let slow = tokio::spawn(router.clone().oneshot(sql(
        "SELECT count(*) AS n FROM filings a, filings b, filings c, filings d, filings e, filings f",
    )));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let resp = router
        .clone()
        .oneshot(sql("SELECT count(*) AS n FROM districts"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
    let body: Value = serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["error"]["code"], "too_many_queries");
    // Other routes are not queries and do not wait for the slot.
    let share = Request::get("/api/v1/share")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(router.clone().oneshot(share).await.unwrap().status(), StatusCode::OK);
    let slow = slow.await.unwrap().unwrap();
    assert_eq!(
        slow.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the slow query ends at its timeout"
    );
    // The slot is free again.
    let resp = router
        .clone()
        .oneshot(sql("SELECT count(*) AS n FROM districts"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_filer_reads_its_own_ingest_reports_only() {
    use common::{Row, csv, tax_code};
    let site = Site::new(no_rate_limit()).await;
    let store = TokenStore::new(site.app.data_dir());
    let (_, other) = store
        .create(Role::Filer, "Chi cục Thống kê Nghi Sơn", None, chrono::Utc::now())
        .unwrap();
    let filer = site.tokens[&Role::Filer].clone();
    let submit = |token: String, n: u32| {
        let body = csv(&[Row::new(&tax_code(n), "381", "4711", "2025-03", 1000, 10)]);
        Request::post(format!("/api/v1/filings?name=f{n}.csv"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(body))
            .unwrap()
    };
    assert_eq!(site.send(submit(filer.clone(), 71)).await.0, StatusCode::CREATED);
    assert_eq!(site.send(submit(other.clone(), 72)).await.0, StatusCode::CREATED);
    let get = |uri: &str, token: &str| {
        Request::get(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let (s, _, body) = site.send(get("/api/v1/ingests", &filer)).await;
    assert_eq!(s, StatusCode::OK);
    let mine: Value = serde_json::from_slice(&body).unwrap();
    let versions: Vec<u64> = mine["ingests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["dataset_version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [2], "only the filer's own batch");
    let (s, _, body) = site.send(get("/api/v1/ingests/2", &filer)).await;
    assert_eq!(s, StatusCode::OK);
    let report: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (report["dataset_version"].as_u64(), report["files"][0]["file"].as_str()),
        (Some(2), Some("f71.csv"))
    );
    assert_eq!(
        site.send(get("/api/v1/ingests/3", &filer)).await.0,
        StatusCode::NOT_FOUND,
        "another filer's batch"
    );
    let (_, _, body) = site.send(get("/api/v1/ingests", &site.tokens[&Role::Admin])).await;
    let all: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        all["ingests"].as_array().unwrap().len(),
        3,
        "the admin sees every batch"
    );
    assert_eq!(
        site.send(get("/api/v1/ingests", &site.tokens[&Role::Viewer])).await.0,
        StatusCode::FORBIDDEN
    );
}
