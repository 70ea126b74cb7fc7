//! The filers' pages through the real router, as a browser would use them:
//! signed in with a session cookie, the anti-forgery token read from the
//! page, files sent as multipart forms. Upload, the ingest report and its
//! rejections (as the API lists them), the downloads, a fixed file sent
//! again as a revision, duplicates, limits, unreadable files, and one
//! filer's batches hidden from another.

use crate::common::fixture;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use ecomshare::access::tokens::TokenStore;
use ecomshare::domain::Role;
use ecomshare::http::HttpOptions;
use ecomshare::service::{App, IngestSource};
use serde_json::Value;
use std::sync::Arc;

/// The upload limit of these tests.
const LIMIT: usize = 16 << 10;

struct Site {
    _dir: tempfile::TempDir,
    app: Arc<App>,
    router: Router,
    admin: String,
    filers: [String; 2],
}

/// A browser signed in: its session cookie and its pages' anti-forgery token.
struct Browser {
    cookie: String,
    csrf: String,
}

impl Site {
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
        let token = |role: Role, name: &str| store.create(role, name, None, chrono::Utc::now()).unwrap().1;
        let admin = token(Role::Admin, "quản trị");
        let filers = [
            token(Role::Filer, "Chi cục Thống kê"),
            token(Role::Filer, "Phòng Kinh tế"),
        ];
        let options = HttpOptions {
            rate_per_s: None,
            max_upload_bytes: LIMIT,
            ..HttpOptions::default()
        };
        let router = ecomshare::http::router_with(app.clone(), options);
        Self {
            _dir: dir,
            app,
            router,
            admin,
            filers,
        }
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        crate::common::exchange(self.router.clone(), req).await
    }

    /// Signs a token in and reads the upload form's anti-forgery token.
    async fn browser(&self, token: &str) -> Browser {
        let req = Request::post("/signin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}")))
            .unwrap();
        let (status, headers, _) = self.send(req).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let cookie = headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let (status, _, body) = self.get(&cookie, "/filings/upload").await;
        assert_eq!(status, StatusCode::OK);
        let csrf = csrf_of(&String::from_utf8(body).unwrap());
        Browser { cookie, csrf }
    }

    async fn get(&self, cookie: &str, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let req = Request::get(uri)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    async fn api(&self, token: &str, uri: &str) -> (StatusCode, Value) {
        let req = Request::get(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = self.send(req).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Sends the upload form: `parts` in order, each a text field or the file.
    async fn upload(&self, browser: &Browser, parts: &[Part<'_>]) -> (StatusCode, HeaderMap, String) {
        let (content_type, body) = multipart(parts);
        let req = Request::post("/filings/upload")
            .header(header::COOKIE, browser.cookie.as_str())
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        let (status, headers, body) = self.send(req).await;
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    /// Uploads a file the way the form does (token first); the version
    /// its report page names after the redirect.
    async fn upload_ok(&self, browser: &Browser, name: &str, bytes: &[u8]) -> u64 {
        let (status, headers, body) = self
            .upload(browser, &[Part::Text("csrf", &browser.csrf), Part::File(name, bytes)])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let to = headers[header::LOCATION].to_str().unwrap();
        to.strip_prefix("/filings/ingests/").unwrap().parse().unwrap()
    }

    fn version(&self) -> u64 {
        self.app.dataset_version().unwrap()
    }
}

enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a str, &'a [u8]),
}

const BOUNDARY: &str = "----ecomshare-test-boundary";

fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Text(name, value) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}").as_bytes(),
            ),
            Part::File(name, bytes) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/vnd.ms-excel\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

fn csrf_of(html: &str) -> String {
    let mark = "name=\"csrf\" value=\"";
    let at = html.find(mark).expect("a form with the anti-forgery token") + mark.len();
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

/// The rejections an ingest report lists: (record, reason).
fn listed(report: &Value) -> Vec<(u64, String)> {
    report["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["record"].as_u64().unwrap(), r["reason"].as_str().unwrap().to_string()))
        .collect()
}

/// The rejections a report page shows: (record, reason), in its table's order.
fn shown(html: &str) -> Vec<(u64, String)> {
    let table = &html[html.rfind("<table>").unwrap()..];
    table
        .split("<th scope=\"row\" class=\"n\">")
        .skip(1)
        .map(|row| {
            let record = row[..row.find('<').unwrap()].replace('.', "").parse().unwrap();
            let cells: Vec<&str> = row.split("<td><code>").skip(1).collect();
            let reason = cells.last().unwrap();
            (record, reason[..reason.find('<').unwrap()].to_string())
        })
        .collect()
}

fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes.strip_prefix("\u{FEFF}".as_bytes()).expect("a byte order mark")).unwrap();
    let records = ecomshare::util::csv::read_all(text.as_bytes());
    (0..records.len())
        .map(|r| {
            (0..records.field_count(r))
                .map(|k| String::from_utf8(records.field(r, k).unwrap().to_vec()).unwrap())
                .collect()
        })
        .collect()
}

fn csv_line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    quoted.join(",")
}

/// The province's totals of January 2025 (full figures, as an admin sees them).
async fn january(site: &Site) -> (String, String) {
    let (status, share) = site.api(&site.admin, "/api/v1/share?from=2025-01&to=2025-01").await;
    assert_eq!(status, StatusCode::OK);
    (
        share["total"]["total_revenue_vnd"].as_str().unwrap().to_string(),
        share["total"]["ecommerce_revenue_vnd"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn the_upload_form_has_labelled_controls_the_token_and_its_own_script() {
    let site = Site::new().await;
    let filer = site.browser(&site.filers[0]).await;
    let (_, _, body) = site.get(&filer.cookie, "/filings/upload").await;
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("method=\"post\" enctype=\"multipart/form-data\" action=\"/filings/upload\""));
    let form = &html[html.find("<form id=\"upload-form\"").unwrap()..];
    let form = &form[..form.find("</form>").unwrap()];
    // The token comes first, before the file.
    assert!(form.find("name=\"csrf\"").unwrap() < form.find("type=\"file\"").unwrap());
    for id in ["file", "sheet", "encoding", "delimiter", "locale", "upload-bar"] {
        assert!(form.contains(&format!("<label for=\"{id}\">")), "{id} has a label");
        assert!(form.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(form.contains("accept=\".csv,.tsv,.txt,.json,.xlsx,.xls,.ods"));
    assert!(form.contains("<option value=\"windows-1258\">") && form.contains("<option value=\"vi\">"));
    assert!(form.contains("<progress id=\"upload-bar\""));
    for link in ["/api/v1/filings/template.xlsx", "/api/v1/filings/template.csv"] {
        assert!(html.contains(&format!("href=\"{link}\"")), "{link}");
    }
    // The columns of the template and the rules, in Vietnamese.
    for (header, column) in ecomshare::present::template::COLUMNS {
        assert!(html.contains(&format!("<th scope=\"row\">{header}</th><td><code>{column}</code>")));
    }
    assert!(html.contains("Báo cáo điều chỉnh"));
    assert_eq!(html.matches("<h1>").count(), 1);

    // The script is this service's, cached for long under a versioned URL.
    let mark = "<script src=\"";
    let at = html.find(mark).unwrap() + mark.len();
    let src = &html[at..at + html[at..].find('"').unwrap()];
    assert!(src.starts_with("/assets/upload.js?v="), "{src}");
    let (status, headers, script) = site.get(&filer.cookie, src).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    let script = String::from_utf8(script).unwrap();
    assert!(script.contains("xhr.upload.addEventListener(\"progress\"") && !script.contains("http"));
}

#[tokio::test]
async fn a_form_without_this_sessions_token_commits_nothing() {
    let site = Site::new().await;
    let filer = site.browser(&site.filers[0]).await;
    let other = site.browser(&site.filers[1]).await;
    let file = std::fs::read(fixture("bad_filings.csv")).unwrap();
    for parts in [
        vec![Part::File("bad.csv", &file)],
        vec![Part::Text("csrf", &other.csrf), Part::File("bad.csv", &file)],
        vec![Part::File("bad.csv", &file), Part::Text("csrf", "forged")],
    ] {
        let (status, _, body) = site.upload(&filer, &parts).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
            "csrf_failed"
        );
    }
    assert_eq!(site.version(), 1, "nothing committed");
    // A form whose file comes before its token: spooled, checked, then taken.
    let (status, _, body) = site
        .upload(&filer, &[Part::File("bad.csv", &file), Part::Text("csrf", &filer.csrf)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(site.version(), 2);
    let spooled = std::fs::read_dir(site.app.data_dir().join("uploads")).map_or(0, |d| d.count());
    assert_eq!(spooled, 0, "no spool file is left");
}

#[tokio::test]
async fn rejected_records_are_listed_downloaded_fixed_and_sent_again_as_a_revision() {
    let site = Site::new().await;
    let filer = site.browser(&site.filers[0]).await;
    let file = std::fs::read(fixture("bad_filings.csv")).unwrap();
    let version = site.upload_ok(&filer, "bad_filings.csv", &file).await;
    assert_eq!(version, 2);
    let before = january(&site).await;

    // The page lists the rejections the API lists.
    let (status, api) = site.api(&site.filers[0], &format!("/api/v1/ingests/{version}")).await;
    assert_eq!(status, StatusCode::OK);
    let want = listed(&api);
    assert_eq!(want.len(), 15);
    let (status, _, page) = site.get(&filer.cookie, &format!("/filings/ingests/{version}")).await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8(page).unwrap();
    assert_eq!(shown(&page), want);
    assert!(page.contains("bad_filings.csv"));
    assert!(page.contains(&format!("phiên bản dữ liệu {version}")));
    // The column at fault and the value given, and what to do.
    assert!(page.contains("Doanh thu thương mại điện tử (đồng)<br><span class=\"code\">ecommerce_revenue_vnd</span></td><td><code>-10</code>"));
    assert!(page.contains("Mã huyện<br><span class=\"code\">district_code</span></td><td><code>999</code>"));
    assert!(page.contains("Chọn mã huyện trong danh mục"));
    assert!(page.contains("/rejections.xlsx") && page.contains("/rejections.csv"));

    // The CSV: the template's columns as given, then record, reason, message.
    let (status, headers, csv) = site
        .get(&filer.cookie, &format!("/filings/ingests/{version}/rejections.csv"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let rows = csv_rows(&csv);
    let template: Vec<&str> = ecomshare::present::template::COLUMNS.iter().map(|(h, _)| *h).collect();
    assert_eq!(rows[0][..10], template[..]);
    assert_eq!(rows[0][10..], ["record", "reason", "message"]);
    let downloaded: Vec<(u64, String)> = rows[1..]
        .iter()
        .map(|r| (r[10].parse().unwrap(), r[11].clone()))
        .collect();
    assert_eq!(downloaded, want);
    let by_name = |name: &str| rows.iter().position(|r| r[9] == name).unwrap();
    assert_eq!(rows[by_name("Thousands separator")][5], "1.000");
    assert_eq!(rows[by_name("Unknown district")][1], "999");
    assert!(rows[by_name("Unknown district")][12].starts_with("Mã huyện không có trong danh mục"));

    // The workbook: the same records, codes as text, amounts as numbers.
    let (status, _, xlsx) = site
        .get(&filer.cookie, &format!("/filings/ingests/{version}/rejections.xlsx"))
        .await;
    assert_eq!(status, StatusCode::OK);
    {
        use calamine::{Data, Reader, Xlsx};
        let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.clone())).unwrap();
        let sheet = wb.worksheet_range_at(0).unwrap().unwrap();
        let header: Vec<String> = sheet.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
        assert_eq!(header, rows[0]);
        assert_eq!(sheet.height(), rows.len());
        let unknown = &sheet.rows().nth(by_name("Unknown district")).unwrap();
        assert_eq!(unknown[0], Data::String("2801079196".into()));
        assert_eq!(unknown[1], Data::String("999".into()));
        assert_eq!(unknown[3], Data::String("4711".into()));
        assert_eq!(unknown[4], Data::String("2025-01".into()));
        assert_eq!(unknown[5], Data::Float(100.0));
        assert_eq!(unknown[11], Data::String("unknown_district".into()));
        assert_eq!(
            sheet.rows().nth(by_name("Thousands separator")).unwrap()[5],
            Data::String("1.000".into())
        );
    }

    // The filer fixes two records in the CSV and sends the file again: the
    // one with an unknown district counts as a new filing, the one with
    // more online than in total revises the good record of the first file
    // (same unit, district, sector and month, submitted later); the others
    // are rejected again.
    let mut fixed = rows.clone();
    fixed[by_name("Unknown district")][1] = "381".into();
    fixed[by_name("More online than total")][6] = "50".into();
    let text: String = fixed.iter().map(|r| csv_line(r) + "\r\n").collect();
    let again = site.upload_ok(&filer, "bad_filings_fixed.csv", text.as_bytes()).await;
    assert_eq!(again, 3);
    let (_, report) = site.api(&site.filers[0], &format!("/api/v1/ingests/{again}")).await;
    assert_eq!(report["files"][0]["accepted"], 2, "{report}");
    assert_eq!(report["files"][0]["rejected"], 13);
    let after = january(&site).await;
    let plus = |a: &str, n: i128| (a.parse::<i128>().unwrap() + n).to_string();
    assert_eq!(
        after,
        (plus(&before.0, 100), plus(&before.1, 10 + 40)),
        "the new filing and the revision count"
    );

    // The workbook sent again as it is: its extra columns are ignored.
    let (status, _, body) = site
        .upload(
            &filer,
            &[Part::Text("csrf", &filer.csrf), Part::File("tu-choi.xlsx", &xlsx)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, report) = site.api(&site.filers[0], "/api/v1/ingests/4").await;
    assert_eq!(report["files"][0]["records"], 15, "{report}");
    let reasons: Vec<String> = listed(&report).into_iter().map(|(_, r)| r).collect();
    let first: Vec<String> = want
        .iter()
        .map(|(_, r)| r.clone())
        .filter(|r| r != "malformed_row")
        .collect();
    assert!(first.iter().all(|r| reasons.contains(r)), "{reasons:?}");
}

#[tokio::test]
async fn the_same_file_twice_is_already_received() {
    let site = Site::new().await;
    let filer = site.browser(&site.filers[0]).await;
    let file = std::fs::read(fixture("bad_filings.csv")).unwrap();
    let version = site.upload_ok(&filer, "bad_filings.csv", &file).await;
    let (status, _, body) = site
        .upload(
            &filer,
            &[Part::Text("csrf", &filer.csrf), Part::File("lan-hai.csv", &file)],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("đã được nhận trước đây"), "{body}");
    assert!(body.contains(&format!("href=\"/filings/ingests/{version}\"")));
    assert_eq!(site.version(), version, "nothing committed");
}

#[tokio::test]
async fn a_file_past_the_limit_or_unreadable_gets_the_reason_on_the_page() {
    let site = Site::new().await;
    let filer = site.browser(&site.filers[0]).await;
    let mut big = std::fs::read(fixture("bad_filings.csv")).unwrap();
    while big.len() <= LIMIT {
        big.extend_from_slice(b"2801079196,380,4711,2025-01,100,10,,,padding,\n");
    }
    let (status, headers, body) = site
        .upload(&filer, &[Part::Text("csrf", &filer.csrf), Part::File("big.csv", &big)])
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(
        body.contains("role=\"alert\"") && body.contains("lớn hơn giới hạn 16.384 byte"),
        "{body}"
    );
    assert!(body.contains("payload_too_large"));
    assert_eq!(site.version(), 1);
    let spooled = std::fs::read_dir(site.app.data_dir().join("uploads")).map_or(0, |d| d.count());
    assert_eq!(spooled, 0, "the spool file of a refused upload is gone");

    // No filing format: refused with the API's status, the reason in Vietnamese.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let (status, _, body) = site
        .upload(&filer, &[Part::Text("csrf", &filer.csrf), Part::File("anh.png", png)])
        .await;
    let req = Request::post("/api/v1/filings?name=anh.png")
        .header(header::AUTHORIZATION, format!("Bearer {}", site.filers[0]))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(png.to_vec()))
        .unwrap();
    let (api_status, _, _) = site.send(req).await;
    assert_eq!(status, api_status);
    assert!(status.is_client_error());
    assert!(body.contains("không thuộc các định dạng được nhận"), "{body}");
    // A workbook named as CSV; a header without the required columns.
    let (status, _, body) = site
        .upload(
            &filer,
            &[
                Part::Text("csrf", &filer.csrf),
                Part::File("ten.csv", b"Ghi chu,Tong\n1,2\n"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Dòng tiêu đề thiếu cột bắt buộc") && body.contains("missing_columns"));
    // No file chosen.
    let (status, _, body) = site
        .upload(&filer, &[Part::Text("csrf", &filer.csrf), Part::File("", b"")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Chưa chọn tệp"));
    assert_eq!(site.version(), 1, "nothing committed");
}

#[tokio::test]
async fn a_filer_sees_only_its_own_batches_and_an_admin_all() {
    let site = Site::new().await;
    let first = site.browser(&site.filers[0]).await;
    let second = site.browser(&site.filers[1]).await;
    let file = std::fs::read(fixture("bad_filings.csv")).unwrap();
    let version = site.upload_ok(&first, "bad_filings.csv", &file).await;
    let link = format!("href=\"/filings/ingests/{version}\"");

    let (status, _, mine) = site.get(&first.cookie, "/filings/history").await;
    assert_eq!(status, StatusCode::OK);
    let mine = String::from_utf8(mine).unwrap();
    assert!(mine.contains(&link) && mine.contains("bad_filings.csv"));
    assert!(
        !mine.contains("href=\"/filings/ingests/1\""),
        "the CLI's batch is not the filer's"
    );

    let (status, _, theirs) = site.get(&second.cookie, "/filings/history").await;
    assert_eq!(status, StatusCode::OK);
    let theirs = String::from_utf8(theirs).unwrap();
    assert!(!theirs.contains(&link) && !theirs.contains("bad_filings.csv"));
    assert!(theirs.contains("Chưa có đợt tiếp nhận nào"));
    let (api, _) = site.api(&site.filers[1], &format!("/api/v1/ingests/{version}")).await;
    for uri in [
        format!("/filings/ingests/{version}"),
        format!("/filings/ingests/{version}/rejections.csv"),
        format!("/filings/ingests/{version}/rejections.xlsx"),
    ] {
        let (status, _, _) = site.get(&second.cookie, &uri).await;
        assert_eq!(status, api, "{uri} answers as the API does");
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }

    let admin = site.browser(&site.admin).await;
    let (_, _, all) = site.get(&admin.cookie, "/filings/history").await;
    let all = String::from_utf8(all).unwrap();
    assert!(all.contains(&link) && all.contains("href=\"/filings/ingests/1\""));
    assert!(
        all.find(&link).unwrap() < all.find("href=\"/filings/ingests/1\"").unwrap(),
        "newest first"
    );
    let (status, _, _) = site.get(&admin.cookie, &format!("/filings/ingests/{version}")).await;
    assert_eq!(status, StatusCode::OK);
}
