//! The administrators' pages through the real router, signed in with a
//! session cookie as a browser is: the report archive with links that
//! download, a month's report generated through the form, a failed
//! delivery shown with its attempts and sent again; a token created on the
//! page (shown once, working as a bearer token, never in a URL, a log or
//! a later page) and revoked there; every form refused without its
//! anti-forgery token, and the pages refused to other roles.

use crate::common::fixture;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use ecomshare::access::tokens::TokenStore;
use ecomshare::delivery::{
    AddressState, Channel, DEFAULT_MAX_IN_FLIGHT, Delivery, DeliveryOptions, Outbox, Recipient, ReportRef, RetryPolicy,
    Secret, Worker,
};
use ecomshare::domain::{Period, Role};
use ecomshare::http::HttpOptions;
use ecomshare::present::locale::Lang;
use ecomshare::service::{App, IngestSource};
use ecomshare::util::clock::{Clock, ManualClock};
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

struct Site {
    _dir: tempfile::TempDir,
    app: Arc<App>,
    router: Router,
    tokens: BTreeMap<Role, String>,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }

    fn location(&self) -> &str {
        self.headers[header::LOCATION].to_str().unwrap()
    }
}

impl Site {
    /// The sample filings and one token per role.
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let app = Arc::new(App::open(dir.path().join("data")).unwrap());
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
        let options = HttpOptions {
            rate_per_s: None,
            ..HttpOptions::default()
        };
        let router = ecomshare::http::router_with(app.clone(), options);
        Self {
            _dir: dir,
            app,
            router,
            tokens,
        }
    }

    async fn send(&self, req: Request<Body>) -> Answer {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        Answer { status, headers, body }
    }

    /// The session cookie (`name=value`) the role's token signs in to.
    async fn sign_in(&self, role: Role) -> String {
        let req = Request::post("/signin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={}", self.tokens[&role])))
            .unwrap();
        let a = self.send(req).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        a.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    }

    /// A page as the browser with `cookie` gets it.
    async fn page(&self, cookie: &str, uri: &str) -> Answer {
        let req = Request::get(uri)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    /// A form posted by the browser with `cookie`.
    async fn post(&self, cookie: &str, uri: &str, fields: &[(&str, &str)]) -> Answer {
        let req = Request::post(uri)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
            .unwrap();
        self.send(req).await
    }

    /// The API as a client with a bearer token.
    async fn api(&self, token: &str, uri: &str) -> Answer {
        let req = Request::get(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    fn admin(&self) -> &str {
        &self.tokens[&Role::Admin]
    }
}

/// The anti-forgery token in a page's forms.
fn csrf_of(html: &str) -> String {
    let mark = "name=\"csrf\" value=\"";
    let at = html.find(mark).expect("a form with the anti-forgery token") + mark.len();
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

fn assert_csrf_failed(a: &Answer, what: &str) {
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{what}: {}", a.text());
    assert_eq!(a.json()["error"]["code"], "csrf_failed", "{what}");
}

/// A webhook receiver on a loopback port: refuses the first request with
/// 400, accepts the others; keeps each request's idempotency key.
fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let keys: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = keys.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut length, mut key) = (0usize, String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim_end().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    match k.trim().to_ascii_lowercase().as_str() {
                        "content-length" => length = v.trim().parse().unwrap_or(0),
                        "idempotency-key" => key = v.trim().to_string(),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answered = {
                let mut keys = seen.lock().unwrap();
                keys.push(key);
                if keys.len() == 1 { 400 } else { 200 }
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {answered} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
            let _ = stream.flush();
        }
    });
    (url, keys)
}

fn deliveries(a: &Answer) -> Vec<Value> {
    a.json()["deliveries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_reports_page_downloads_generates_and_sends_a_failed_delivery_again() {
    let site = Site::new().await;
    let admin = site.sign_in(Role::Admin).await;
    let page = site.page(&admin, "/admin/reports").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("Chưa có báo cáo tháng nào trong kho lưu trữ."), "{html}");
    let csrf = csrf_of(&html);

    // Without the form's anti-forgery token nothing is generated.
    let a = site
        .post(&admin, "/admin/reports", &[("month", "2025-03"), ("report_lang", "vi")])
        .await;
    assert_csrf_failed(&a, "generating without csrf");
    let other = site.sign_in(Role::Analyst).await;
    let others_csrf = csrf_of(&site.page(&other, "/").await.text());
    let a = site
        .post(
            &admin,
            "/admin/reports",
            &[("csrf", &others_csrf), ("month", "2025-03"), ("report_lang", "vi")],
        )
        .await;
    assert_csrf_failed(&a, "generating with another session's csrf");
    let listed = site.api(site.admin(), "/api/v1/reports").await.json();
    assert_eq!(listed["reports"], serde_json::json!([]), "nothing archived");

    // Not a month: the page says so, nothing is archived.
    let a = site
        .post(&admin, "/admin/reports", &[("csrf", &csrf), ("month", "2025-13<b>")])
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let html = a.text();
    assert!(
        html.contains("role=\"alert\"") && html.contains("Tháng không hợp lệ"),
        "{html}"
    );
    assert!(
        !html.contains("2025-13<b>") && html.contains("2025-13&lt;b&gt;"),
        "the value given back, escaped"
    );

    // Generated through the form: archived as the API lists it.
    let a = site
        .post(
            &admin,
            "/admin/reports",
            &[("csrf", &csrf), ("month", "2025-03"), ("report_lang", "vi")],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
    assert_eq!(a.location(), "/admin/reports?done=generated&month=2025-03");
    let listed = site.api(site.admin(), "/api/v1/reports").await.json();
    let report = &listed["reports"][0];
    assert_eq!(
        (report["month"].as_str(), report["language"].as_str()),
        (Some("2025-03"), Some("vi"))
    );
    let version = report["dataset_version"].as_u64().unwrap();

    // The page lists it by month, language and version, and its links download.
    let html = site.page(&admin, a.location()).await.text();
    assert!(html.contains("Đã lập và lưu báo cáo tháng 3/2025."), "{html}");
    assert!(html.contains(&format!("Phiên bản {version}, chốt lúc")));
    assert!(
        html.contains("<th scope=\"row\">tháng 3/2025</th><td>Tiếng Việt</td>"),
        "{html}"
    );
    for (name, media) in [
        ("report.pdf", "application/pdf"),
        (
            "report.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("report.html", "text/html; charset=utf-8"),
        ("report.json", "application/json"),
    ] {
        let href = format!("/api/v1/reports/2025-03/{name}");
        assert!(html.contains(&format!("href=\"{href}\"")), "a link to {name}");
        let file = site.page(&admin, &href).await;
        assert_eq!(file.status, StatusCode::OK, "{href}");
        assert_eq!(file.headers[header::CONTENT_TYPE], media);
        let kept = std::fs::read(site.app.data_dir().join("reports/2025-03").join(name)).unwrap();
        assert_eq!(file.body, kept, "{name} downloads as archived");
    }

    // The same month again from the same version: kept as it was.
    let a = site
        .post(
            &admin,
            "/admin/reports",
            &[("csrf", &csrf), ("month", "2025-03"), ("report_lang", "vi")],
        )
        .await;
    assert_eq!(a.location(), "/admin/reports?done=kept&month=2025-03");

    // A delivery the receiver refuses fails for good after one attempt.
    let (url, keys) = receiver();
    let recipient = Recipient {
        name: "moit".into(),
        channel: Channel::Webhook {
            url,
            secret: Secret::new("s3cret"),
        },
        files: vec!["report.json".into()],
    };
    let options = DeliveryOptions {
        recipients: vec![recipient.clone()],
        smtp: None,
        retry: RetryPolicy::default(),
        max_in_flight: DEFAULT_MAX_IN_FLIGHT,
    };
    let generated = ecomshare::report::generate(
        &site.app,
        Period::parse("2025-03").unwrap(),
        Lang::Vi,
        &site.app.data_dir().join("reports"),
    )
    .await
    .unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let outbox = Outbox::new(site.app.data_dir());
    let delivery = Delivery::new(&ReportRef::from(&generated), &recipient, clock.now());
    outbox.enqueue(&delivery).unwrap();
    let worker = Worker::new(site.app.data_dir(), Arc::new(options), clock.clone());
    assert_eq!(worker.run_due().await.unwrap(), 1);
    let listed = deliveries(&site.api(site.admin(), "/api/v1/deliveries").await);
    assert_eq!(listed[0]["state"], "failed");

    let page = site.page(&admin, "/admin/reports").await;
    let html = page.text();
    let row = &html[html.find("<th scope=\"row\">moit").expect("the delivery's row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("<strong>Gửi không thành công</strong>"), "{row}");
    assert!(row.contains("<td class=\"n\">1</td>"), "one attempt: {row}");
    assert!(row.contains("mã phản hồi 400"), "the last error: {row}");
    let action = format!("/admin/deliveries/{}/retry", delivery.id);
    assert!(row.contains(&format!("action=\"{action}\"")), "a retry button: {row}");

    // Retrying needs the form's token; then the delivery is pending again.
    assert_csrf_failed(&site.post(&admin, &action, &[]).await, "retrying without csrf");
    let listed = deliveries(&site.api(site.admin(), "/api/v1/deliveries").await);
    assert_eq!(listed[0]["state"], "failed", "unchanged");
    let a = site.post(&admin, &action, &[("csrf", &csrf)]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
    assert_eq!(
        a.location(),
        format!("/admin/reports?done=retried&delivery={}", delivery.id)
    );
    let html = site.page(&admin, a.location()).await.text();
    assert!(
        html.contains("Đã đưa báo cáo tháng 3/2025 gửi moit trở lại hàng chờ gửi"),
        "{html}"
    );
    assert!(
        !html.contains(&format!("action=\"{action}\"")),
        "no retry button while pending"
    );
    let listed = deliveries(&site.api(site.admin(), "/api/v1/deliveries?state=pending").await);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["attempts"].as_array().unwrap().len(), 1, "its attempts kept");
    assert_eq!(listed[0]["idempotency_key"], delivery.idempotency_key.as_str());

    // A pending delivery is not retried again, an unknown one is not found.
    let a = site.post(&admin, &action, &[("csrf", &csrf)]).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert!(a.text().contains("role=\"alert\""));
    let a = site
        .post(
            &admin,
            "/admin/deliveries/2099-01-vi-v9-nobody/retry",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.text().contains("Không có lần gửi này"));

    // The worker sends it again, with the same idempotency key, and it arrives.
    clock.advance(chrono::Duration::minutes(1));
    assert_eq!(worker.run_due().await.unwrap(), 1);
    let listed = deliveries(&site.api(site.admin(), "/api/v1/deliveries").await);
    assert_eq!(listed[0]["state"], "delivered");
    assert_eq!(listed[0]["attempts"].as_array().unwrap().len(), 2);
    let keys = keys.lock().unwrap().clone();
    assert_eq!(keys, vec![delivery.idempotency_key.clone(); 2]);
    let html = site.page(&admin, "/admin/reports").await.text();
    let row = &html[html.find("<th scope=\"row\">moit").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("<strong>Đã gửi</strong>") && row.contains("<td class=\"n\">2</td>"),
        "{row}"
    );
    assert!(!row.contains("/retry"));

    // An e-mail whose server refused one address: the API and the page
    // show each address's state, the refused one with the server's reply.
    let mail = Recipient {
        name: "mst".into(),
        channel: Channel::Email {
            to: vec!["Vụ Kế hoạch <kehoach@mst.gov.vn>".into(), "sai@mst.gov.vn".into()],
        },
        files: vec!["report.pdf".into()],
    };
    let mut d = Delivery::new(&ReportRef::from(&generated), &mail, clock.now());
    d.state = ecomshare::delivery::State::Failed;
    d.addresses[0].state = AddressState::Delivered;
    d.addresses[0].code = Some(250);
    d.addresses[1].state = AddressState::Failed;
    d.addresses[1].code = Some(550);
    d.addresses[1].message = Some("5.1.1 <sai@mst.gov.vn>: mailbox unavailable".into());
    outbox.enqueue(&d).unwrap();
    let listed = deliveries(&site.api(site.admin(), "/api/v1/deliveries?state=failed").await);
    assert_eq!(listed.len(), 1);
    let addresses: Vec<(&str, &str, Option<u64>)> = listed[0]["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["address"].as_str().unwrap(),
                a["state"].as_str().unwrap(),
                a["code"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        addresses,
        [
            ("kehoach@mst.gov.vn", "delivered", Some(250)),
            ("sai@mst.gov.vn", "failed", Some(550))
        ]
    );
    let html = site.page(&admin, "/admin/reports").await.text();
    let row = &html[html.find("<th scope=\"row\">mst").expect("the e-mail's row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("<li>kehoach@mst.gov.vn: Đã gửi</li>"), "{row}");
    assert!(
        row.contains("<li>sai@mst.gov.vn: Gửi không thành công — mã phản hồi 550: 5.1.1 &lt;sai@mst.gov.vn&gt;: mailbox unavailable</li>"),
        "{row}"
    );
}

/// The new token shown in a creation page's read-only field.
fn new_token_of(html: &str) -> String {
    let at = html.find("id=\"new-token\"").expect("the new token's field");
    let field = &html[at..at + html[at..].find('>').unwrap()];
    let mark = "value=\"";
    let start = field.find(mark).unwrap() + mark.len();
    field[start..start + field[start..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn a_token_created_on_the_page_is_shown_once_works_and_is_revoked_there() {
    let site = Site::new().await;
    let admin = site.sign_in(Role::Admin).await;
    let page = site.page(&admin, "/admin/tokens").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    let csrf = csrf_of(&html);
    assert!(html.contains("test viewer") && html.contains("Đang hiệu lực"));
    assert!(
        html.contains("(mã của phiên đăng nhập này)"),
        "the admin's own token is marked"
    );
    let count = || TokenStore::new(site.app.data_dir()).list().unwrap().len();
    let before = count();

    // Refused without the form's token, or as filled wrongly: nothing created.
    let fields = |csrf: &'static str| vec![("csrf", csrf), ("role", "analyst"), ("name", "Phòng Thương mại")];
    let a = site.post(&admin, "/admin/tokens", &fields("")[1..]).await;
    assert_csrf_failed(&a, "creating without csrf");
    let a = site
        .post(
            &admin,
            "/admin/tokens",
            &[("csrf", &csrf), ("role", "analyst"), ("name", "  ")],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.text()
            .contains("role=\"alert\" class=\"alert\">Hãy đặt tên cho mã, từ 1 đến 200 ký tự.")
    );
    let a = site
        .post(
            &admin,
            "/admin/tokens",
            &[
                ("csrf", &csrf),
                ("role", "analyst"),
                ("name", "Sở <b>"),
                ("expires", "2000-01-01"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let html = a.text();
    assert!(
        html.contains("Ngày hết hạn đã qua") && html.contains("value=\"Sở &lt;b&gt;\""),
        "{html}"
    );
    assert!(
        html.contains("<option value=\"analyst\" selected>"),
        "the form as filled"
    );
    assert_eq!(count(), before);

    // Created: shown once, in a read-only field, never to be cached.
    let a = site
        .post(
            &admin,
            "/admin/tokens",
            &[
                ("csrf", &csrf),
                ("role", "analyst"),
                ("name", "Phòng Thương mại"),
                ("expires", ""),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    assert_eq!(a.headers[header::CACHE_CONTROL], "no-store");
    assert!(a.headers.get(header::LOCATION).is_none());
    let html = a.text();
    let token = new_token_of(&html);
    assert!(token.starts_with("esk_"), "{token}");
    assert_eq!(html.matches(&token).count(), 1, "shown once");
    assert!(html.contains("readonly") && html.contains("data-copy=\"new-token\""));
    assert!(html.contains("<script src=\"/assets/copy.js\" defer></script>"));
    assert_eq!(count(), before + 1);
    let id = token.split('_').nth(1).unwrap().to_string();

    // It works as a bearer token on the API, for its role.
    assert_eq!(site.api(&token, "/api/v1/queries").await.status, StatusCode::OK);
    assert_eq!(site.api(&token, "/api/v1/reports").await.status, StatusCode::FORBIDDEN);
    let stored = TokenStore::new(site.app.data_dir()).list().unwrap();
    let record = stored.iter().find(|t| t.id == id).unwrap();
    assert!(record.last_used_at.is_some(), "its use is written down");
    assert_eq!(record.role, Role::Analyst);

    // Later loads list it, never show it.
    let html = site.page(&admin, "/admin/tokens").await.text();
    assert!(!html.contains(&token) && !html.contains(&token[13..]));
    let row = &html[html.find("<th scope=\"row\">Phòng Thương mại").expect("its row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains(&format!("<code>{id}</code>")) && row.contains("Phân tích"),
        "{row}"
    );
    assert!(row.contains("Không hết hạn") && !row.contains("Chưa dùng"), "{row}");
    assert!(row.contains(&format!("action=\"/admin/tokens/{id}/revoke\"")));

    // The script the copy button runs is served here.
    let script = site
        .send(Request::get("/assets/copy.js").body(Body::empty()).unwrap())
        .await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(script.headers[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert!(script.text().contains("data-copy") || script.text().contains("dataset.copy"));

    // Revoking needs the form's token; then the API refuses the token.
    let revoke = format!("/admin/tokens/{id}/revoke");
    assert_csrf_failed(&site.post(&admin, &revoke, &[]).await, "revoking without csrf");
    assert_eq!(
        site.api(&token, "/api/v1/queries").await.status,
        StatusCode::OK,
        "still valid"
    );
    let a = site.post(&admin, &revoke, &[("csrf", &csrf)]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location(), format!("/admin/tokens?done=revoked&token={id}"));
    assert_eq!(
        site.api(&token, "/api/v1/queries").await.status,
        StatusCode::UNAUTHORIZED
    );
    let html = site.page(&admin, a.location()).await.text();
    assert!(
        html.contains(&format!("Đã thu hồi mã {id} (Phòng Thương mại)")),
        "{html}"
    );
    let row = &html[html.find("<th scope=\"row\">Phòng Thương mại").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("Đã thu hồi") && !row.contains("/revoke"), "{row}");
    let a = site
        .post(&admin, "/admin/tokens/ffffffff/revoke", &[("csrf", &csrf)])
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.text().contains("Không có mã truy cập này."));

    // The token is in no URL and no record: the audit trail names its id only.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let audit = std::fs::read_to_string(site.app.data_dir().join("audit/audit.jsonl")).unwrap();
    assert!(!audit.contains(&token[13..]), "the secret is not audited");
    assert!(audit.contains("page token create") && audit.contains(&id));
    let tokens_file = std::fs::read_to_string(site.app.data_dir().join("tokens.json")).unwrap();
    assert!(!tokens_file.contains(&token[13..]));
}

#[tokio::test]
async fn other_roles_get_the_refusal_page_and_change_nothing() {
    let site = Site::new().await;
    let admin = site.sign_in(Role::Admin).await;
    let admin_csrf = csrf_of(&site.page(&admin, "/admin/tokens").await.text());
    let before = TokenStore::new(site.app.data_dir()).list().unwrap().len();
    for role in [Role::Viewer, Role::Analyst, Role::Filer] {
        let cookie = site.sign_in(role).await;
        for uri in ["/admin/reports", "/admin/tokens"] {
            let a = site.page(&cookie, uri).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{role:?} {uri}");
            assert!(a.text().contains("Không được phép truy cập"), "{role:?} {uri}");
        }
        let csrf = csrf_of(&site.page(&cookie, "/admin/tokens").await.text());
        for (uri, fields) in [
            (
                "/admin/tokens",
                vec![("csrf", csrf.as_str()), ("role", "admin"), ("name", "x")],
            ),
            ("/admin/reports", vec![("csrf", csrf.as_str()), ("month", "2025-03")]),
        ] {
            let a = site.post(&cookie, uri, &fields).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{role:?} POST {uri}");
            assert_eq!(a.json()["error"]["code"], "forbidden", "{role:?} POST {uri}");
        }
        // Nor does the admin's form token help another role's session.
        let fields = [("csrf", admin_csrf.as_str()), ("role", "admin"), ("name", "x")];
        assert_eq!(
            site.post(&cookie, "/admin/tokens", &fields).await.status,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(TokenStore::new(site.app.data_dir()).list().unwrap().len(), before);
    assert_eq!(
        site.api(site.admin(), "/api/v1/reports").await.json()["reports"],
        serde_json::json!([])
    );
}

#[tokio::test]
async fn the_first_token_made_in_open_local_mode_is_shown_then_pages_ask_to_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(App::open(dir.path().join("data")).unwrap());
    let router = ecomshare::http::router(app.clone());
    let send = |req: Request<Body>| {
        let router = router.clone();
        async move {
            let resp = router.oneshot(req).await.unwrap();
            let (parts, body) = resp.into_parts();
            let body = body.collect().await.unwrap().to_bytes().to_vec();
            Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            }
        }
    };
    // No token yet: every caller is admin; the browser's forms are bound to its own cookie.
    let page = send(Request::get("/admin/tokens").body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("Khi có mã đầu tiên, mọi trang và API đều cần mã truy cập"),
        "{html}"
    );
    let binding = page.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let fields = [
        ("csrf", csrf_of(&html)),
        ("role", "admin".into()),
        ("name", "Quản trị".into()),
    ];
    let req = Request::post("/admin/tokens")
        .header(header::COOKIE, &binding)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
        .unwrap();
    let created = send(req).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let token = new_token_of(&created.text());
    // From now on a token is needed: the browser is sent to sign in, the token works.
    let again = send(
        Request::get("/admin/tokens")
            .header(header::COOKIE, &binding)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.location(), "/signin?next=%2Fadmin%2Ftokens");
    let req = Request::get("/api/v1/reports")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(req).await.status, StatusCode::OK);
}
