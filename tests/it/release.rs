//! Release states and response rates through the real router with an
//! injected clock (`App::with_clock`), and through the command line with
//! `ECOMSHARE_CLOCK_START`: a month's figures are an estimate until the end
//! of the 20th of the month after it in Vietnam, preliminary until three
//! months after its end, then final; the share answer, its CSV, a named
//! query's rows and the ETags follow the clock across those instants.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use ecomshare::service::{App, AppOptions};
use ecomshare::util::clock::ManualClock;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use tower::ServiceExt;

/// Filings: (unit, month). Unit 1 files every month, unit 2 skips March,
/// unit 3 starts in February.
const FILINGS: [(u32, &str); 7] = [
    (1, "2025-01"),
    (2, "2025-01"),
    (1, "2025-02"),
    (3, "2025-02"),
    (1, "2025-03"),
    (2, "2025-03"),
    (3, "2025-03"),
];

fn filings_csv() -> String {
    let rows: Vec<common::Row> = FILINGS
        .iter()
        .map(|(unit, month)| common::Row::new(&common::tax_code(*unit), "380", "4711", month, 1_000_000, 100_000))
        .collect();
    common::csv(&rows)
}

/// The naive response over `months`: for each, the units that filed in it
/// among those that filed in any of the three months before, summed, over
/// the latter summed.
fn naive_rate(months: &[&str]) -> Option<f64> {
    let units = |m: &str| -> BTreeSet<u32> { FILINGS.iter().filter(|f| f.1 == m).map(|f| f.0).collect() };
    let before = |m: &str| -> Vec<String> {
        let p = ecomshare::domain::Period::parse(m).unwrap();
        (1..=3).map(|k| p.add_months(-k).unwrap().to_string()).collect()
    };
    let (mut responding, mut expected) = (0, 0);
    for m in months {
        let expect: BTreeSet<u32> = before(m).iter().flat_map(|b| units(b)).collect();
        expected += expect.len();
        responding += units(m).intersection(&expect).count();
    }
    (expected > 0).then(|| responding as f64 / expected as f64)
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

struct Api {
    _dir: tempfile::TempDir,
    app: Arc<App>,
    clock: Arc<ManualClock>,
}

impl Api {
    async fn new(now: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(at(now)));
        let app = Arc::new(
            App::open_with(dir.path().join("data"), AppOptions::default())
                .unwrap()
                .with_clock(clock.clone()),
        );
        let api = Self { _dir: dir, app, clock };
        let (s, _, b) = api
            .send(
                Request::post("/api/v1/filings?name=q1.csv")
                    .header(header::CONTENT_TYPE, "text/csv")
                    .body(Body::from(filings_csv()))
                    .unwrap(),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
        api
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let resp = ecomshare::http::router(self.app.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        (status, headers, body)
    }

    /// A GET's status, ETag and body, with `If-None-Match` when given.
    async fn get(&self, uri: &str, if_none_match: Option<&str>) -> (StatusCode, String, Vec<u8>) {
        let mut req = Request::get(uri);
        if let Some(etag) = if_none_match {
            req = req.header(header::IF_NONE_MATCH, etag);
        }
        let (s, h, b) = self.send(req.body(Body::empty()).unwrap()).await;
        let etag = h
            .get(header::ETAG)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (s, etag, b)
    }

    async fn share(&self, query: &str) -> (Value, String) {
        let (s, etag, b) = self.get(&format!("/api/v1/share?{query}"), None).await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
        (serde_json::from_slice(&b).unwrap(), etag)
    }
}

fn releases(v: &Value) -> Vec<(String, String)> {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["period"].as_str().unwrap().into(),
                r["release"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[tokio::test]
async fn release_and_etag_change_as_the_clock_passes_the_deadline_in_vietnam() {
    let api = Api::new("2025-04-20T23:59:59+07:00").await;
    let march = "from=2025-03&to=2025-03";
    let (before, etag) = api.share(march).await;
    assert_eq!(before["total"]["release"], "estimate", "the last second of the 20th");
    // Nothing changes within the epoch: the same ETag, 304 to it.
    api.clock.set(at("2025-04-20T12:00:00+07:00"));
    let (s, same, _) = api.get(&format!("/api/v1/share?{march}"), Some(&etag)).await;
    assert_eq!((s, same.as_str()), (StatusCode::NOT_MODIFIED, etag.as_str()));

    // 00:00 on the 21st in Hanoi is 17:00 on the 20th in Greenwich.
    api.clock.set(at("2025-04-20T17:00:00Z"));
    let (s, after_etag, body) = api.get(&format!("/api/v1/share?{march}"), Some(&etag)).await;
    assert_eq!(s, StatusCode::OK, "the old ETag no longer matches");
    assert_ne!(after_etag, etag);
    let after: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(after["total"]["release"], "preliminary");
    assert_eq!(after["dataset_version"], before["dataset_version"], "the same version");
    assert_eq!(
        after["total"]["share"], before["total"]["share"],
        "and the same figures"
    );

    // By month: each month its own state; the total its weakest month's.
    let q1 = "from=2025-01&to=2025-03&by=period";
    api.clock.set(at("2025-04-30T23:59:59+07:00"));
    let (v, _) = api.share(q1).await;
    assert_eq!(
        releases(&v),
        pairs(&[
            ("2025-01", "preliminary"),
            ("2025-02", "preliminary"),
            ("2025-03", "preliminary")
        ])
    );
    api.clock.set(at("2025-05-01T00:00:00+07:00"));
    let (v, _) = api.share(q1).await;
    assert_eq!(
        releases(&v),
        pairs(&[
            ("2025-01", "final"),
            ("2025-02", "preliminary"),
            ("2025-03", "preliminary")
        ])
    );
    assert_eq!(v["total"]["release"], "preliminary");
    let (v, _) = api.share("from=2025-01&to=2025-03&by=quarter").await;
    assert_eq!(v["rows"][0]["release"], "preliminary", "a quarter as its weakest month");

    // The CSV ends with both columns.
    let (s, _, csv) = api
        .send(
            Request::get(format!("/api/v1/share?{q1}"))
                .header(header::ACCEPT, "text/csv")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].ends_with(",target_program,release,response_rate"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("2025-01,") && lines[1].ends_with(",final,"),
        "{}",
        lines[1]
    );
    assert!(lines[2].ends_with(",preliminary,0.5"), "{}", lines[2]);

    // A named query's rows: the same states, the ETag following them.
    let uri = "/api/v1/queries/monthly_trend?from=2025-01&to=2025-03";
    let (s, q_etag, body) = api.get(uri, None).await;
    assert_eq!(s, StatusCode::OK);
    let q: Value = serde_json::from_slice(&body).unwrap();
    let columns: Vec<&str> = q["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns[columns.len() - 2..], ["release", "response_rate"]);
    let states: Vec<&str> = q["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["release"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["final", "preliminary", "preliminary"]);
    api.clock.set(at("2025-06-01T00:00:00+07:00"));
    let (s, q_etag_later, body) = api.get(uri, Some(&q_etag)).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(q_etag_later, q_etag);
    let q: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(q["rows"][1]["release"], "final", "2025-02 is final from 1 June");
}

/// A named query's JSON rows as maps, and its column names.
fn query_rows(body: &[u8]) -> (Vec<String>, Vec<Value>) {
    let q: Value = serde_json::from_slice(body).unwrap();
    let columns = q["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    (columns, q["rows"].as_array().unwrap().clone())
}

/// Queries whose rows are counts, changes or filings (`-- release:`, not
/// `-- cells:`) carry the release and response rate of the share API's
/// answer for their breakdown, last, as the cell queries do.
#[tokio::test]
async fn coverage_yoy_and_revisions_rows_carry_the_share_answers_release_and_response_rate() {
    // 10 April: March is an estimate (deadline 20 April), February preliminary.
    let api = Api::new("2025-04-10T12:00:00+07:00").await;
    let later = vec![common::Row::new(
        &common::tax_code(1),
        "380",
        "4711",
        "2025-02",
        2_000_000,
        300_000,
    )];
    let (s, _, b) = api
        .send(
            Request::post("/api/v1/filings?name=revision.csv")
                .header(header::CONTENT_TYPE, "text/csv")
                .body(Body::from(common::csv(&later)))
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let check = |columns: &[String], rows: &[Value], share: &Value, key: &str| {
        assert_eq!(columns[columns.len() - 2..], ["release", "response_rate"]);
        assert!(!rows.is_empty());
        for row in rows {
            let want = match row[key].as_str() {
                None => &share["total"],
                Some(k) => share["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r[key] == row[key])
                    .unwrap_or_else(|| panic!("no share row for {k}")),
            };
            assert_eq!(row["release"], want["release"], "{row}");
            assert_eq!(row["response_rate"], want["response_rate"], "{row}");
        }
    };
    let (s, _, body) = api
        .get("/api/v1/queries/coverage_by_district?period=2025-03", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let (columns, rows) = query_rows(&body);
    let (share, _) = api.share("from=2025-03&to=2025-03&by=district").await;
    assert_eq!(share["total"]["release"], "estimate");
    check(&columns, &rows, &share, "district_code");

    let (s, _, body) = api
        .get("/api/v1/queries/yoy_by_district?from=2025-02&to=2025-03", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let (columns, rows) = query_rows(&body);
    let (share, _) = api.share("from=2025-02&to=2025-03&by=district").await;
    check(&columns, &rows, &share, "district_code");

    let (s, _, body) = api.get("/api/v1/queries/revisions", None).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let (columns, rows) = query_rows(&body);
    assert_eq!(rows.len(), 1, "unit 1's February revised");
    let (share, _) = api.share("by=period").await;
    check(&columns, &rows, &share, "period");
    assert_eq!(rows[0]["release"], "preliminary");
}

#[tokio::test]
async fn response_rates_count_the_units_expected_from_the_three_months_before() {
    let api = Api::new("2025-06-01T00:00:00+07:00").await;
    let (v, _) = api.share("from=2025-01&to=2025-03&by=period").await;
    let rate = |i: usize| v["rows"][i]["response_rate"].as_f64();
    assert_eq!(rate(0), naive_rate(&["2025-01"]), "nothing before January");
    assert_eq!(v["rows"][0]["response_rate"], Value::Null);
    assert_eq!(rate(1), naive_rate(&["2025-02"]));
    assert_eq!(rate(2), naive_rate(&["2025-03"]));
    assert_eq!(
        v["total"]["response_rate"].as_f64(),
        naive_rate(&["2025-01", "2025-02", "2025-03"]),
        "Σ responding / Σ expected over the months, not a mean of rates"
    );
    // A month nobody has filed for yet: every expected unit missing.
    let (v, _) = api.share("from=2025-04&to=2025-04").await;
    assert_eq!(v["total"]["response_rate"], json!(0.0));
    assert_eq!(v["total"]["release"], "preliminary", "its deadline, 20 May, has passed");
}

#[test]
fn the_command_line_reads_its_clock_and_its_deadline_from_the_environment() {
    let env = common::Env::new();
    let file = env.write("q1.csv", &filings_csv());
    assert_eq!(env.ingest(&[&file]).code, 0);
    let share = |clock: &str, extra: &[(&str, &str)]| {
        let mut c = env.cmd();
        c.env("ECOMSHARE_CLOCK_START", clock);
        for (k, v) in extra {
            c.env(k, v);
        }
        common::Run::from(
            c.args(["share", "--from", "2025-03", "--to", "2025-03"])
                .output()
                .unwrap(),
        )
    };
    let release = |r: common::Run| {
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.json()["total"]["release"].as_str().unwrap().to_string()
    };
    assert_eq!(release(share("2025-04-20T23:59:00+07:00", &[])), "estimate");
    assert_eq!(release(share("2025-04-21T00:00:00+07:00", &[])), "preliminary");
    // An earlier deadline; a shorter wait for final figures.
    let day_10 = [("ECOMSHARE_RELEASE_DEADLINE_DAY", "10")];
    assert_eq!(release(share("2025-04-11T00:00:00+07:00", &day_10)), "preliminary");
    let one_month = [("ECOMSHARE_RELEASE_FINAL_AFTER_MONTHS", "1")];
    assert_eq!(release(share("2025-05-01T00:00:00+07:00", &one_month)), "final");
    assert_eq!(release(share("2025-05-01T00:00:00+07:00", &[])), "preliminary");
    // Out of bounds: refused before anything runs.
    let bad = share("2025-05-01T00:00:00+07:00", &[("ECOMSHARE_RELEASE_DEADLINE_DAY", "31")]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("deadline_day"), "{}", bad.stderr);
}

/// Circles drawn hollow in an SVG (a stroke, no fill).
fn hollow_circles(svg: &str) -> usize {
    svg.lines()
        .filter(|l| l.starts_with("<circle") && l.contains("fill=\"none\""))
        .count()
}

#[tokio::test]
async fn the_dashboard_marks_estimates_and_the_trend_draws_them_hollow() {
    // 10 April: March an estimate, January and February preliminary.
    let api = Api::new("2025-04-10T09:00:00+07:00").await;
    let (s, _, page) = api.get("/", None).await;
    assert_eq!(s, StatusCode::OK);
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains("<span class=\"mark estimate\">ước tính</span>"),
        "the latest month's tile"
    );
    let (s, _, page_en) = api.get("/?lang=en", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8(page_en).unwrap().contains(">estimate</span>"));
    let (s, etag, svg) = api.get("/charts/trend.svg", None).await;
    assert_eq!(s, StatusCode::OK);
    let svg = String::from_utf8(svg).unwrap();
    // Three months with data, none final; and the legend's hollow point.
    assert_eq!(hollow_circles(&svg), 3 + 1, "{svg}");
    assert!(svg.contains("Điểm rỗng: số ước tính hoặc sơ bộ"));

    // 1 July: March is final, and so every month before it.
    api.clock.set(at("2025-07-01T00:00:00+07:00"));
    let (_, _, page) = api.get("/", None).await;
    let page = String::from_utf8(page).unwrap();
    assert!(!page.contains("class=\"mark "), "no mark on final figures");
    let (s, later, svg) = api.get("/charts/trend.svg", Some(&etag)).await;
    assert_eq!(s, StatusCode::OK, "the chart's ETag follows the release states");
    assert_ne!(later, etag);
    let svg = String::from_utf8(svg).unwrap();
    assert_eq!(hollow_circles(&svg), 0);
    assert!(!svg.contains("Điểm rỗng"));
}

/// The monthly report judges release states at its dataset version's
/// commit time (its date), not by the clock: the same version gives the
/// same report whenever it is made, and it says which months are not final.
#[test]
fn the_report_judges_release_at_its_version_s_commit_time_and_lists_the_months_not_final() {
    use ecomshare::domain::{Period, Release, ReleasePolicy};
    use ecomshare::present::locale::Lang;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The four months before the real current one (ingest refuses future
    // months by the real clock): the last of them cannot be final yet.
    let this = ecomshare::service::month_in_vietnam(Utc::now());
    let months: Vec<Period> = (1..=4).rev().map(|k| this.add_months(-k).unwrap()).collect();
    // By commune: months from the 2025 reform have communes.
    let mut csv = String::from(
        "unit_id,district_code,commune_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd,submitted_at,weight\n",
    );
    for m in &months {
        for u in 1..=4 {
            csv.push_str(&format!("{},,14758,4711,{m},1000000,50000,,\n", common::tax_code(u)));
        }
    }
    let far = Arc::new(ManualClock::new(at("2099-01-01T00:00:00+07:00")));
    let app = App::open(&data).unwrap().with_clock(far);
    let report = app
        .ingest(vec![ecomshare::service::IngestSource::Bytes {
            name: "months.csv".into(),
            format: Some(ecomshare::ingest::Format::Csv),
            bytes: csv.into_bytes(),
        }])
        .unwrap();
    assert!(
        report.committed && report.rejections.is_empty(),
        "{:?}",
        report.rejections
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let month = *months.last().unwrap();
    let built = rt.block_on(ecomshare::report::build(&app, month, Lang::Vi)).unwrap();

    let committed = at(&built.dataset_committed_at);
    let policy = ReleasePolicy::default();
    let expected: Vec<(String, Release)> = months
        .iter()
        .map(|m| (m.to_string(), policy.release(*m, committed)))
        .filter(|(_, r)| *r != Release::Final)
        .collect();
    assert!(!expected.is_empty(), "the month reported is not final at its commit");
    let listed: Vec<(String, Release)> = built.not_final.iter().map(|m| (m.month.clone(), m.release)).collect();
    assert_eq!(listed, expected, "judged at {committed}, not by the clock (2099)");
    assert_eq!(built.headline.month.release, policy.release(month, committed));
    let html = ecomshare::report::to_html(&built);
    assert!(
        html.contains("Số liệu chưa chính thức: "),
        "the report says which months"
    );
    assert!(
        built
            .methodology
            .iter()
            .any(|m| m.contains("hết ngày 20 của tháng sau")),
        "the methodology explains the states"
    );
    assert!(built.methodology.iter().any(|m| m.starts_with("Tỷ lệ phản hồi")));

    // Another clock, the same version: the same report.
    let app = App::open(&data)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(committed)));
    let again = rt.block_on(ecomshare::report::build(&app, month, Lang::Vi)).unwrap();
    assert_eq!(again.content_sha256, built.content_sha256);
}
