//! The trade officials' query pages through the real router: the list, a
//! query's form generated from its parameters, a submitted form's table
//! against the API's JSON for the same parameters, downloads pinned to the
//! version shown, withheld cells, refused roles and parameters.

use crate::common;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use common::{Row, csv, fixture, tax_code};
use ecomshare::access::tokens::TokenStore;
use ecomshare::domain::Role;
use ecomshare::http::HttpOptions;
use ecomshare::service::{App, AppOptions, IngestSource};
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use tower::ServiceExt;

struct Site {
    _dir: tempfile::TempDir,
    app: Arc<App>,
    router: Router,
    tokens: BTreeMap<Role, String>,
}

impl Site {
    /// A site over `sources`, with one token per role.
    async fn new(sources: Vec<IngestSource>) -> Self {
        let http = HttpOptions {
            rate_per_s: None,
            ..HttpOptions::default()
        };
        Self::with(sources, http, AppOptions::default()).await
    }

    async fn with(sources: Vec<IngestSource>, http: HttpOptions, options: AppOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let app = Arc::new(App::open_with(dir.path().join("data"), options).unwrap());
        let ingest = app.clone();
        tokio::task::spawn_blocking(move || ingest.ingest(sources).unwrap())
            .await
            .unwrap();
        let store = TokenStore::new(app.data_dir());
        let tokens = Role::ALL
            .iter()
            .map(|r| (*r, store.create(*r, r.as_str(), None, chrono::Utc::now()).unwrap().1))
            .collect();
        let router = ecomshare::http::router_with(app.clone(), http);
        Self {
            _dir: dir,
            app,
            router,
            tokens,
        }
    }

    async fn sample() -> Self {
        Self::new(vec![IngestSource::Path(fixture("sample_filings.csv"))]).await
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        (status, headers, body)
    }

    async fn get(&self, uri: &str, role: Role) -> (StatusCode, HeaderMap, Vec<u8>) {
        let req = Request::get(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.tokens[&role]))
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    async fn page(&self, uri: &str, role: Role) -> (StatusCode, String) {
        let (status, headers, body) = self.get(uri, role).await;
        assert!(
            headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"),
            "{uri}: a page, not {:?}",
            headers[header::CONTENT_TYPE]
        );
        (status, String::from_utf8(body).unwrap())
    }

    async fn json(&self, uri: &str, role: Role) -> Value {
        let (status, _, body) = self.get(uri, role).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    }

    /// The session cookie (`name=value`) of `role` signed in.
    async fn sign_in(&self, role: Role) -> String {
        let req = Request::post("/signin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={}", self.tokens[&role])))
            .unwrap();
        let (status, headers, _) = self.send(req).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let set = headers[header::SET_COOKIE].to_str().unwrap();
        set.split(';').next().unwrap().to_string()
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The text between `from` and the next `to` after it.
fn between<'a>(html: &'a str, from: &str, to: &str) -> &'a str {
    let at = html.find(from).unwrap_or_else(|| panic!("{from:?} not in the page")) + from.len();
    &html[at..at + html[at..].find(to).unwrap()]
}

/// The attributes of the control named `name` (its whole tag).
fn control<'a>(html: &'a str, name: &str) -> &'a str {
    let mark = format!("name=\"{name}\"");
    let at = html.find(&mark).unwrap_or_else(|| panic!("no control {name}"));
    let start = html[..at].rfind('<').unwrap();
    &html[start..at + html[at..].find('>').unwrap() + 1]
}

fn value_of(tag: &str) -> &str {
    between(tag, "value=\"", "\"")
}

/// The rows of the result table, each cell's text.
fn table_rows(html: &str) -> Vec<Vec<String>> {
    let body = between(html, "<table class=\"result\">", "</table>");
    let body = between(body, "<tbody>", "</tbody>");
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td>")
                .skip(1)
                .map(|c| unescape(&c[..c.find("</td>").unwrap()]))
                .collect()
        })
        .collect()
}

/// The download links of the result, by format.
fn downloads(html: &str) -> BTreeMap<String, String> {
    html.split("<a href=\"")
        .skip(1)
        .map(|s| unescape(&s[..s.find('"').unwrap()]))
        .filter(|h| h.starts_with("/api/v1/queries/"))
        .map(|h| (h[h.find("format=").unwrap() + 7..].to_string(), h))
        .collect()
}

/// A vi-VN number as the page writes it (1.234.567,5; 7,25 %), as f64.
fn vi_number(s: &str) -> f64 {
    let s: String = s
        .trim_end_matches(" điểm %")
        .trim_end_matches(" %")
        .replace('.', "")
        .replace(',', ".")
        .replace('−', "-");
    s.parse().unwrap_or_else(|_| panic!("{s:?} is not a number"))
}

/// Checks that the page's cell shows the API's value of a column of `ty`.
fn same_figure(page: &str, api: &Value, ty: &str, what: &str) {
    match (ty, api) {
        (_, Value::Null) => assert!(page == "–" || page == "x", "{what}: {page:?} for null"),
        ("decimal", Value::String(s)) => {
            // Exact: the đồng as the API gives them, with vi-VN separators.
            let digits = page.replace('.', "").replace(',', ".");
            assert_eq!(&digits, s, "{what}");
        }
        ("integer", v) => assert_eq!(vi_number(page), v.as_f64().unwrap(), "{what}"),
        ("number", v) if page.ends_with(" %") && !page.ends_with("điểm %") => {
            assert!(
                (vi_number(page) - v.as_f64().unwrap() * 100.0).abs() <= 0.005 + 1e-9,
                "{what}: {page} vs {v}"
            )
        }
        ("number", v) => assert!(
            (vi_number(page) - v.as_f64().unwrap()).abs() <= 0.005 + 1e-9,
            "{what}: {page} vs {v}"
        ),
        ("boolean", Value::Bool(b)) => assert_eq!(page, if *b { "Có" } else { "Không" }, "{what}"),
        ("string", Value::String(s)) if what.ends_with("status") => assert!(!page.is_empty(), "{what}: {s}"),
        ("string", Value::String(s)) => assert_eq!(page, s, "{what}"),
        (_, v) => panic!("{what}: unexpected {ty} {v}"),
    }
}

#[tokio::test]
async fn the_list_shows_each_query_with_its_title_and_access() {
    let site = Site::sample().await;
    let listing = site.app.queries();
    let cookie = site.sign_in(Role::Analyst).await;
    let req = Request::get("/queries")
        .header(header::COOKIE, cookie.as_str())
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = site.send(req).await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"vi\""));
    assert_eq!(html.matches("<h1>").count(), 1);
    for (name, entry) in &listing.queries {
        assert!(
            html.contains(&format!(
                "<a href=\"/queries/{name}\">{}</a>",
                escape(&entry.def.title_vi)
            )),
            "{name} with its Vietnamese title"
        );
    }
    assert!(html.contains("Số liệu được bảo mật") && html.contains("Số liệu đầy đủ"));
    assert!(html.contains("<caption>") && html.contains("<th scope=\"col\">"));
    let (_, english) = site.page("/queries?lang=en", Role::Analyst).await;
    let revisions = &listing.queries["revisions"].def;
    assert!(english.contains(&escape(&revisions.title_en)));
    assert!(english.contains("administrators only"), "full access explained");
}

#[tokio::test]
async fn a_broken_query_file_is_listed_for_admins_only() {
    let site = Site::sample().await;
    let dir = site.app.data_dir().join("queries");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("my_count.sql"),
        "-- title.vi: Đếm báo cáo\n-- title.en: Count filings\n-- disclosure: counts\nSELECT count(*) AS filings FROM filings\n",
    )
    .unwrap();
    std::fs::write(dir.join("half_done.sql"), "-- title.vi: Dở dang\nSELECT $nothing\n").unwrap();
    let (_, admin) = site.page("/queries", Role::Admin).await;
    let (_, analyst) = site.page("/queries", Role::Analyst).await;
    for html in [&admin, &analyst] {
        assert!(
            html.contains("<a href=\"/queries/my_count\">Đếm báo cáo</a>"),
            "a dropped-in query"
        );
        assert!(html.contains("Tệp bổ sung"));
    }
    assert!(
        admin.contains("half_done.sql") && admin.contains("title.en"),
        "the file and why"
    );
    assert!(!analyst.contains("half_done"), "not for analysts");
}

#[tokio::test]
async fn a_query_page_has_a_labelled_control_per_parameter_with_its_default() {
    let site = Site::sample().await;
    let (status, html) = site.page("/queries/share_by_district", Role::Analyst).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("method=\"get\" action=\"/queries/share_by_district\""));
    // `to` is the latest month with data, `from` January of its year, `sector` all.
    let to = control(&html, "to");
    assert!(to.contains("type=\"month\"") && value_of(to) == "2025-03", "{to}");
    assert_eq!(value_of(control(&html, "from")), "2025-01");
    let sector = between(&html, "<select id=\"p-sector\" name=\"sector\">", "</select>");
    assert!(sector.starts_with("<option value=\"\">Tất cả"), "{sector}");
    assert!(!sector.contains("selected"), "all, the default");
    assert!(sector.contains("(FOOD)"), "groups by name and code: {sector}");
    for p in ["to", "from", "sector"] {
        assert!(html.contains(&format!("<label for=\"p-{p}\">")), "{p} is labelled");
        assert!(html.contains(&format!("id=\"p-{p}\"")));
    }
    assert!(
        !html.contains("class=\"result\""),
        "nothing runs before the form is sent"
    );

    // Every kind of parameter gets its control and its default.
    let dir = site.app.data_dir().join("queries");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("every_kind.sql"),
        "-- title.vi: Mọi loại tham số\n-- title.en: Every kind of parameter\n-- disclosure: counts\n\
         -- param: y year = latest | Năm | Year\n-- param: d district = 380 | Huyện | District\n\
         -- param: c vsic = all | Mã ngành | VSIC code\n-- param: n integer = 7 | Số | Number\n\
         -- param: t text = abc | Chữ | Text\n-- param: v version = latest | Phiên bản | Version\n\
         SELECT count(*) AS filings FROM filings WHERE year = $y AND ($d = '' OR district_code = $d) \
         AND ($c = '' OR vsic_code = $c) AND $n > 0 AND $t <> '' AND $v > 0\n",
    )
    .unwrap();
    let (status, html) = site.page("/queries/every_kind", Role::Analyst).await;
    assert_eq!(status, StatusCode::OK);
    let year = control(&html, "y");
    assert!(year.contains("type=\"number\"") && value_of(year) == "2025", "{year}");
    let district = between(&html, "name=\"d\">", "</select>");
    assert!(district.contains("<option value=\"380\" selected>"), "{district}");
    let vsic = between(&html, "name=\"c\">", "</select>");
    assert!(vsic.contains("<optgroup label=") && vsic.contains("(4711)"), "{vsic}");
    assert_eq!(value_of(control(&html, "n")), "7");
    assert!(control(&html, "t").contains("type=\"text\"") && value_of(control(&html, "t")) == "abc");
    assert_eq!(value_of(control(&html, "v")), "1");
    let (status, html) = site
        .page("/queries/every_kind?y=2025&d=&c=4711&n=1&t=x&v=1&run=1", Role::Analyst)
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let api = site
        .json("/api/v1/queries/every_kind?y=2025&d=&c=4711&n=1&t=x&v=1", Role::Analyst)
        .await;
    assert_eq!(
        vi_number(&table_rows(&html)[0][0]),
        api["rows"][0]["filings"].as_f64().unwrap()
    );
}

#[tokio::test]
async fn a_submitted_form_shows_the_apis_figures_and_downloads_that_match_them() {
    let site = Site::sample().await;
    let params = "to=2025-02&from=2025-01&sector=";
    let (status, html) = site
        .page(&format!("/queries/share_by_district?{params}&run=1"), Role::Analyst)
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let api = site
        .json(&format!("/api/v1/queries/share_by_district?{params}"), Role::Analyst)
        .await;
    let version = api["dataset_version"].as_u64().unwrap();
    let columns: Vec<(String, String)> = api["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().into(), c["type"].as_str().unwrap().into()))
        .collect();
    let api_rows = api["rows"].as_array().unwrap();

    // The changed parameter stays in the form; the table is the API's.
    assert_eq!(value_of(control(&html, "to")), "2025-02");
    let rows = table_rows(&html);
    assert_eq!(rows.len(), api_rows.len());
    for (i, (row, want)) in rows.iter().zip(api_rows).enumerate() {
        assert_eq!(row.len(), columns.len());
        for (cell, (name, ty)) in row.iter().zip(&columns) {
            same_figure(cell, &want[name.as_str()], ty, &format!("row {i} {name}"));
        }
    }
    let count = api["row_count"].as_u64().unwrap();
    assert!(
        html.contains(&format!("Tổng số dòng: {count}.")),
        "the row count is stated"
    );
    assert!(
        html.contains(&format!("phiên bản dữ liệu {version}")),
        "and the version"
    );
    let header = between(&html, "<table class=\"result\">", "</thead>");
    assert!(header.contains("<caption>") && header.contains("<th scope=\"col\">total_revenue_vnd (đồng)</th>"));

    // Each download carries the parameters, as_of the version shown, and
    // gives the same figures.
    let links = downloads(&html);
    assert_eq!(
        links.keys().map(String::as_str).collect::<Vec<_>>(),
        ["arrow", "csv", "json", "parquet", "xlsx"]
    );
    for href in links.values() {
        assert!(href.contains(&format!("as_of={version}")), "{href}");
        assert!(href.contains("to=2025-02") && href.contains("from=2025-01"), "{href}");
    }
    let (status, headers, body) = site.get(&links["csv"], Role::Analyst).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-dataset-version"], version.to_string().as_str());
    let text = String::from_utf8(body).unwrap();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(head, columns.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>());
    let csv_rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(|c| c.trim_matches('"').to_string()).collect())
        .collect();
    assert_eq!(csv_rows.len(), api_rows.len());
    for (row, want) in csv_rows.iter().zip(api_rows) {
        for (cell, (name, ty)) in row.iter().zip(&columns) {
            let want = &want[name.as_str()];
            match (ty.as_str(), want) {
                (_, Value::Null) => assert_eq!(cell, ""),
                ("decimal" | "string", Value::String(s)) => assert_eq!(cell, s),
                ("boolean", Value::Bool(b)) => assert_eq!(cell, &b.to_string()),
                (_, v) => assert!((cell.parse::<f64>().unwrap() - v.as_f64().unwrap()).abs() < 1e-12),
            }
        }
    }

    let (status, _, body) = site.get(&links["xlsx"], Role::Analyst).await;
    assert_eq!(status, StatusCode::OK);
    use calamine::{Data, Reader};
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(body)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let mut sheet_rows = sheet.rows();
    let names: Vec<String> = sheet_rows.next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(names, columns.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>());
    let mut n = 0;
    for (row, want) in sheet_rows.zip(api_rows) {
        n += 1;
        for (cell, (name, _)) in row.iter().zip(&columns) {
            let want = &want[name.as_str()];
            match (cell, want) {
                (Data::Empty, Value::Null) => {}
                (Data::String(s), Value::String(w)) => assert_eq!(s, w, "{name}"),
                (Data::Float(f), w) => {
                    let w = w.as_f64().or_else(|| w.as_str().and_then(|s| s.parse().ok())).unwrap();
                    assert!((f - w).abs() <= w.abs() * 1e-12, "{name}: {f} vs {w}");
                }
                (Data::Bool(b), Value::Bool(w)) => assert_eq!(b, w, "{name}"),
                (Data::Int(i), w) => assert_eq!(*i as f64, w.as_f64().unwrap(), "{name}"),
                (c, w) => panic!("{name}: {c:?} vs {w}"),
            }
        }
    }
    assert_eq!(n, api_rows.len());

    // The permalink pins the version too, and gives the same table.
    let permalink = html
        .split("<a href=\"")
        .map(|s| unescape(&s[..s.find('"').unwrap_or(0)]))
        .find(|h| h.starts_with("/queries/share_by_district?") && h.contains("as_of="))
        .expect("a permalink");
    let (status, again) = site.page(&permalink, Role::Analyst).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(table_rows(&again), rows);
}

#[tokio::test]
async fn a_viewer_gets_the_refusal_page() {
    let site = Site::sample().await;
    for uri in ["/queries", "/queries/share_by_district?run=1"] {
        let (status, html) = site.page(uri, Role::Viewer).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}");
        assert!(html.contains("Không được phép truy cập"), "{uri}");
        assert!(!html.contains("class=\"result\""));
    }
}

/// March: 380 has five even enterprises, 381 one (withheld), 384 four
/// small ones (withheld beside it), as in `access.rs`.
async fn withheld_site() -> Site {
    let mut rows = Vec::new();
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
    Site::new(vec![IngestSource::Bytes {
        name: "sdc.csv".into(),
        format: Some(ecomshare::ingest::Format::Csv),
        bytes: csv(&rows).into_bytes(),
    }])
    .await
}

#[tokio::test]
async fn withheld_cells_show_x_for_an_analyst_and_figures_for_an_admin() {
    let site = withheld_site().await;
    let uri = "/queries/share_by_district?from=2025-03&to=2025-03&run=1";
    let row_of = |html: &str, code: &str| {
        table_rows(html)
            .into_iter()
            .find(|r| r[0] == code)
            .unwrap_or_else(|| panic!("no row {code}"))
    };
    let (status, analyst) = site.page(uri, Role::Analyst).await;
    assert_eq!(status, StatusCode::OK);
    let api = site
        .json(
            "/api/v1/queries/share_by_district?from=2025-03&to=2025-03",
            Role::Analyst,
        )
        .await;
    let withheld: Vec<&str> = api["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["suppressed"] == true)
        .map(|r| r["district_code"].as_str().unwrap())
        .collect();
    assert_eq!(withheld, ["381", "384"]);
    for code in withheld {
        let row = row_of(&analyst, code);
        // Code, name and target shown; revenue, share, gap, status,
        // filings and units withheld.
        for i in [2, 3, 4, 6, 7, 8, 9] {
            assert_eq!(row[i], "x", "{code}: {row:?}");
        }
        assert_ne!(row[5], "x", "the target is no secret");
    }
    assert_eq!(row_of(&analyst, "380")[2], "5.000.000");
    assert!(
        analyst.contains("Ô ghi x: ẩn số liệu (bảo mật)."),
        "the disclosure note"
    );

    let (status, admin) = site.page(uri, Role::Admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(row_of(&admin, "381")[2], "5.000.000");
    assert!(!admin.contains(">x<"), "nothing withheld for an admin");
}

#[tokio::test]
async fn refused_parameters_give_the_apis_message_on_the_page() {
    let site = Site::sample().await;
    for params in [
        "to=2025-13",
        "nope=1",
        "from=2025-03&to=2025-01",
        "sector=NOPE",
        "to=2025-01&to=2025-02",
    ] {
        let (status, html) = site
            .page(&format!("/queries/share_by_district?{params}&run=1"), Role::Analyst)
            .await;
        let (api_status, _, body) = site
            .get(&format!("/api/v1/queries/share_by_district?{params}"), Role::Analyst)
            .await;
        let api: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{params}");
        assert_eq!(api_status, StatusCode::BAD_REQUEST, "{params}");
        let alert = between(&html, "role=\"alert\">", "</div>");
        let message = api["error"]["message"].as_str().unwrap();
        assert!(alert.contains(&escape(message)), "{params}: {alert} lacks {message}");
        assert!(
            html.contains("<form class=\"params\""),
            "{params}: the form stays to be corrected"
        );
        assert!(!html.contains("class=\"result\""));
    }
    // What was given stays in the form.
    let (_, html) = site
        .page("/queries/share_by_district?to=2025-13&run=1", Role::Analyst)
        .await;
    assert_eq!(value_of(control(&html, "to")), "2025-13");

    let (status, html) = site.page("/queries/no_such_query?run=1", Role::Analyst).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("role=\"alert\"") && html.contains("no_such_query"));

    // A query needing full access tells an analyst so, and runs for an admin.
    let (status, html) = site.page("/queries/revisions?run=1", Role::Analyst).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("role=\"alert\"") && html.contains("full_access_required"));
    let (status, html) = site.page("/queries/revisions?run=1", Role::Admin).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Tổng số dòng: 0."));
}

#[tokio::test]
async fn a_large_result_shows_its_first_rows_and_states_them_all() {
    let site = Site::sample().await;
    let dir = site.app.data_dir().join("queries");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("many.sql"),
        "-- title.vi: Nhiều dòng\n-- title.en: Many rows\n-- disclosure: counts\n\
         SELECT value AS n FROM generate_series(1, 1234) ORDER BY value\n",
    )
    .unwrap();
    let (status, html) = site.page("/queries/many?run=1", Role::Analyst).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let rows = table_rows(&html);
    assert_eq!(rows.len(), 500);
    assert_eq!((rows[0][0].as_str(), rows[499][0].as_str()), ("1", "500"));
    assert!(html.contains("Tổng số dòng: 1.234."));
    assert!(html.contains("500 dòng đầu trong tổng số 1.234 dòng"));
    assert!(html.len() < 300 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_page_waits_for_no_slot_beyond_the_concurrent_query_cap() {
    let site = Site::with(
        vec![IngestSource::Path(fixture("sample_filings.csv"))],
        HttpOptions {
            max_concurrent_queries: 1,
            rate_per_s: None,
            ..HttpOptions::default()
        },
        AppOptions {
            query_timeout: std::time::Duration::from_secs(3),
            ..AppOptions::default()
        },
    )
    .await;
    // Billions of joined rows hold the one slot until the timeout ends them.
    let slow = Request::post("/api/v1/sql")
        .header(header::AUTHORIZATION, format!("Bearer {}", site.tokens[&Role::Admin]))
        .header(header::CONTENT_TYPE, "application/sql")
        .body(Body::from(
            "SELECT count(*) AS n FROM filings a, filings b, filings c, filings d, filings e, filings f",
        ))
        .unwrap();
    let slow = tokio::spawn(site.router.clone().oneshot(slow));
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let (status, headers, body) = site.get("/queries/share_by_district?run=1", Role::Analyst).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(headers[header::RETRY_AFTER], "1");
    // The list runs no query.
    assert_eq!(site.get("/queries", Role::Analyst).await.0, StatusCode::OK);
    slow.await.unwrap().unwrap();
    let (status, _) = site.page("/queries/share_by_district?run=1", Role::Analyst).await;
    assert_eq!(status, StatusCode::OK, "the slot is free again");
}
