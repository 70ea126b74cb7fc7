//! The monthly report's outlook section, paths and release marks against
//! the APIs, on four years and more of filings up to the month before the
//! real current one (ingest refuses later months), so that the last months
//! are not final at the version's commit:
//! - the report's JSON holds the very document `GET /api/v1/outlook?year=`
//!   gives a viewer, and its HTML, PDF (read back with pdftotext) and
//!   workbook show those figures, formatted here from the API's JSON;
//! - the paths table has a row for every year from the report's to 2030
//!   and a column for every programme the reference's targets give an
//!   e-commerce share value in those years (read from the file itself);
//! - every month of the report's trend that is not final at the version's
//!   commit is listed with its state and the share API's response rate.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ecomshare::access::tokens::TokenStore;
use ecomshare::domain::{Period, Release, ReleasePolicy, Role};
use ecomshare::http::HttpOptions;
use ecomshare::present::labels;
use ecomshare::present::locale::{Lang, month, percent, release_label, target_range, ty_dong};
use ecomshare::service::{App, IngestSource};
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use tower::ServiceExt;

/// Units: (former district, commune from the 2025 reform, VSIC code).
const UNITS: [(&str, &str, &str); 12] = [
    ("380", "14758", "4711"),
    ("380", "14758", "4791"),
    ("380", "14797", "5610"),
    ("380", "14797", "4711"),
    ("380", "15853", "4791"),
    ("380", "15853", "4711"),
    ("382", "16516", "4711"),
    ("382", "16516", "4791"),
    ("382", "16531", "5610"),
    ("382", "16531", "4711"),
    ("380", "15925", "4711"),
    ("382", "16516", "5610"),
];

/// From January four years before the last month's year to the month
/// before the current one: every unit every month (the last unit skips
/// the last month), amounts growing, seasonal and a little noisy.
fn filings(last: Period) -> String {
    let first = Period::new(last.year() - 4, 1).unwrap();
    let mut csv = String::from(
        "unit_id,district_code,commune_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd,submitted_at,weight\n",
    );
    let mut seed: u64 = 7;
    let mut noise = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % 30
    };
    let mut p = first;
    while p <= last {
        let years = i64::from(p.year() - first.year());
        let season = match p.month() {
            1 | 2 => 150,
            12 => 130,
            _ => 100,
        };
        for (i, (district, commune, vsic)) in UNITS.iter().enumerate() {
            if p == last && i == UNITS.len() - 1 {
                continue;
            }
            let total =
                (2_000_000 + 50_000 * i as i64) * season / 100 * (100 + 12 * years) / 100 * (85 + noise() as i64) / 100;
            let ecommerce = total * (4 + 2 * years + (noise() % 5) as i64) / 100;
            let (district, commune) = if p >= ecomshare::domain::reference::REFORM {
                ("", *commune)
            } else {
                (*district, "")
            };
            csv.push_str(&format!(
                "{},{district},{commune},{vsic},{p},{total},{ecommerce},,\n",
                common::tax_code(i as u32 + 1)
            ));
        }
        p = p.add_months(1).unwrap();
    }
    csv
}

async fn get(router: &axum::Router, uri: &str, token: &str) -> Value {
    let req = Request::get(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// The programmes with an e-commerce share value in some year of
/// `from..=to`, from the shipped targets file itself: a point in those
/// years, or a path (a horizon with its baseline) overlapping them.
fn programmes(from: u16, to: u16) -> BTreeSet<String> {
    let text = std::fs::read_to_string(common::fixture("reference/targets.csv")).unwrap();
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .map(|l| l.splitn(8, ',').map(str::to_string).collect())
        .filter(|c: &Vec<String>| c[1] == "ecommerce_share" && c[2] == "province")
        .collect();
    let mut out = BTreeSet::new();
    for r in &rows {
        let year: u16 = r[3].parse().unwrap();
        let with_baseline = || rows.iter().any(|b| b[0] == r[0] && b[4] == "baseline");
        let counts = match r[4].as_str() {
            "point" => (from..=to).contains(&year),
            "horizon" => year >= from && with_baseline(),
            _ => false,
        };
        if counts {
            out.insert(r[0].clone());
        }
    }
    out
}

/// A status code in the report's words (the catalogue's).
fn status_words(code: &str) -> &'static str {
    let l = labels::of(Lang::Vi);
    match code {
        "met" => l.standing.met,
        "below" => l.standing.below,
        "on_track" => l.outlook.on_track,
        "at_risk" => l.outlook.at_risk,
        "off_track" => l.outlook.off_track,
        "insufficient_history" => l.outlook.insufficient_history,
        "no_target" => l.standing.no_target,
        "no_data" => l.standing.no_data,
        other => panic!("unexpected status {other}"),
    }
}

/// A month with its state and response rate, as the report writes it.
fn month_release(period: Period, state: Release, rate: Option<f64>) -> String {
    let name = month(&period.to_string(), Lang::Vi);
    let state = release_label(state, Lang::Vi);
    match rate {
        Some(r) => format!("{name} ({state}; tỷ lệ phản hồi {})", percent(r, 1, Lang::Vi)),
        None => format!("{name} ({state})"),
    }
}

/// The rows of the HTML table under the heading `h2`, each as its cells' text.
fn html_table(html: &str, h2: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("<h2>{h2}</h2><table>"))
        .unwrap_or_else(|| panic!("no section {h2:?}"));
    let table = &html[start..];
    let table = &table[..table.find("</table>").unwrap()];
    let cells = |row: &str| {
        let mut out = Vec::new();
        let mut rest = row;
        while let Some(open) = rest.find("<t") {
            let body = &rest[open..];
            let body = &body[body.find('>').unwrap() + 1..];
            let close = body.find("</t").unwrap();
            out.push(
                body[..close]
                    .replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&"),
            );
            rest = &body[close + 3..];
        }
        out
    };
    table.split("<tr>").skip(1).map(cells).collect()
}

/// The value of the labelled line `label` in a labelled table's rows.
fn line<'a>(rows: &'a [Vec<String>], label: &str) -> &'a str {
    &rows
        .iter()
        .find(|r| r.first().is_some_and(|c| c == label))
        .unwrap_or_else(|| panic!("no line {label:?} in {rows:?}"))[1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_outlook_is_the_outlook_apis_with_every_programmes_path_and_the_months_not_final() {
    let this = ecomshare::service::month_in_vietnam(chrono::Utc::now());
    let last = this.add_months(-1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(App::open(dir.path().join("data")).unwrap());
    let ingest = {
        let app = app.clone();
        let text = filings(last);
        tokio::task::spawn_blocking(move || {
            app.ingest(vec![IngestSource::Bytes {
                name: "filings.csv".into(),
                format: Some(ecomshare::ingest::Format::Csv),
                bytes: text.into_bytes(),
            }])
            .unwrap()
        })
        .await
        .unwrap()
    };
    assert!(
        ingest.committed && ingest.rejections.is_empty(),
        "{:?}",
        ingest.rejections
    );
    let (_, viewer) = TokenStore::new(app.data_dir())
        .create(Role::Viewer, "v", None, chrono::Utc::now())
        .unwrap();
    let router = ecomshare::http::router_with(
        app.clone(),
        HttpOptions {
            rate_per_s: None,
            ..HttpOptions::default()
        },
    );

    let report = ecomshare::report::build(&app, last, Lang::Vi).await.unwrap();
    let year = last.year();
    let api = get(&router, &format!("/api/v1/outlook?year={year}"), &viewer).await;
    let json: Value = serde_json::from_str(&ecomshare::report::to_json(&report)).unwrap();

    // The JSON holds the API's document itself.
    assert_eq!(json["outlook"], api, "the report's outlook is GET /api/v1/outlook's");
    assert!(
        api["status"] != "suppressed" && api["ytd"]["share"].is_number(),
        "{api}"
    );

    // The HTML shows the API's figures, formatted.
    let html = ecomshare::report::to_html(&report);
    let l = labels::of(Lang::Vi);
    let rows = html_table(&html, &format!("Triển vọng năm {year}"));
    let through = Period::new(year, api["through"].as_u64().unwrap() as u8).unwrap();
    assert_eq!(through, last, "the data reach the report's month");
    let committed = chrono::DateTime::parse_from_rfc3339(&report.dataset_committed_at)
        .unwrap()
        .to_utc();
    let policy = ReleasePolicy::default();
    let rate_of = |share: &Value| share["total"]["response_rate"].as_f64();
    let share_of = |p: Period| {
        let router = router.clone();
        let viewer = viewer.clone();
        async move { get(&router, &format!("/api/v1/share?from={p}&to={p}"), &viewer).await }
    };
    let through_share = share_of(through).await;
    let rate = rate_of(&through_share).expect("a response rate");
    assert!(
        (rate - 11.0 / 12.0).abs() < 1e-12,
        "one unit of twelve has not filed: {rate}"
    );
    assert_eq!(
        line(&rows, l.outlook.through),
        month_release(through, policy.release(through, committed), Some(rate))
    );
    let projection = &api["projection"];
    let shown_projection = line(&rows, l.outlook.projection);
    let p = |key: &str| percent(projection[key].as_f64().unwrap(), 1, Lang::Vi);
    assert!(shown_projection.starts_with(&p("share")), "{shown_projection}");
    if through.month() < 12 {
        assert!(projection["backtest_years"].as_u64().unwrap() >= 2, "{api}");
        for part in [
            p("low"),
            p("high"),
            format!("kiểm định trên {} năm trước", projection["backtest_years"]),
        ] {
            assert!(shown_projection.contains(&part), "{part:?} not in {shown_projection:?}");
        }
    }
    let target = &api["target"];
    assert_eq!(
        line(&rows, l.outlook.target),
        format!(
            "{} theo {}",
            target_range(target["low"].as_f64().unwrap(), target["high"].as_f64(), Lang::Vi),
            target["program"].as_str().unwrap()
        )
    );
    assert_eq!(report.target_program.as_deref(), target["program"].as_str());
    assert_eq!(
        line(&rows, l.outlook.status),
        status_words(api["status"].as_str().unwrap())
    );
    let needed = api["needed_monthly_ecommerce_vnd"]
        .as_str()
        .map(|v| v.parse::<f64>().unwrap());
    if through.month() < 12 {
        assert_eq!(
            line(&rows, l.report.needed_monthly),
            ty_dong(needed.expect("a target and a projection"), 2, Lang::Vi)
        );
    }
    for indicator in api["indicators"].as_array().unwrap() {
        let label = match indicator["indicator"].as_str().unwrap() {
            "ecommerce_growth" => l.outlook.growth,
            _ => l.outlook.communes,
        };
        let shown = line(&rows, label);
        assert!(
            shown.starts_with(&percent(indicator["value"].as_f64().unwrap(), 1, Lang::Vi)),
            "{shown}"
        );
        assert!(
            shown.ends_with(status_words(indicator["status"].as_str().unwrap())),
            "{shown}"
        );
    }

    // The paths: a row for every year to 2030, a column for every programme.
    let path = api["path"].as_array().unwrap();
    let paths = html_table(&html, &format!("Lộ trình mục tiêu tỷ trọng TMĐT, {year}–2030"));
    let header = &paths[0];
    let want: BTreeSet<String> = programmes(year, 2030);
    assert!(!want.is_empty());
    let columns: BTreeSet<String> = header[1..].iter().cloned().collect();
    assert_eq!(columns, want, "a column for every programme");
    let years: Vec<String> = paths[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(years, (year..=2030).map(|y| y.to_string()).collect::<Vec<_>>());
    for v in path {
        let row = &paths[1 + (v["year"].as_u64().unwrap() as usize - usize::from(year))];
        let col = header.iter().position(|h| h == v["program"].as_str().unwrap()).unwrap();
        assert_eq!(
            row[col],
            target_range(v["low"].as_f64().unwrap(), v["high"].as_f64(), Lang::Vi),
            "{v}"
        );
    }
    for p in &want {
        assert!(
            path.iter().any(|v| v["program"] == p.as_str() && v["year"] == 2030),
            "{p} reaches 2030"
        );
    }

    // The months not final: each with its state and the share API's rate.
    let mut not_final = Vec::new();
    for k in (0..ecomshare::report::TREND_MONTHS).rev() {
        let m = last.add_months(-k).unwrap();
        let state = policy.release(m, committed);
        if state != Release::Final {
            not_final.push(month_release(m, state, rate_of(&share_of(m).await)));
        }
    }
    assert!(not_final.len() >= 2, "the last months are not final: {not_final:?}");
    let note = format!("Số liệu chưa chính thức: {}.", not_final.join(", "));
    assert!(html.contains(&note), "{note} not in the HTML");
    let json_months: Vec<&str> = json["not_final"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["month"].as_str().unwrap())
        .collect();
    assert_eq!(json_months.len(), not_final.len());

    // The methodology explains the projection and says how many years.
    let years_used = format!("Năm {year}: kiểm định trên {} năm trước.", projection["backtest_years"]);
    assert!(
        report.methodology.iter().any(|m| m.contains(&years_used)),
        "{years_used}"
    );
    assert!(report.methodology.iter().any(|m| m.contains("Tết Nguyên đán")));

    // The workbook: the outlook and the paths as numbers, the trend's release.
    {
        use calamine::{Data, Reader, Xlsx};
        let bytes = ecomshare::report::to_xlsx(&report).unwrap();
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let w = &l.workbook;
        let sheet = book.worksheet_range(w.outlook).unwrap();
        let value = |label: &str| {
            sheet
                .rows()
                .find(|r| r[0] == Data::String(label.to_string()))
                .unwrap_or_else(|| panic!("no line {label}"))[1]
                .clone()
        };
        assert_eq!(value(w.projection), Data::Float(projection["share"].as_f64().unwrap()));
        assert_eq!(
            value(w.backtest_years),
            Data::Float(projection["backtest_years"].as_f64().unwrap())
        );
        if let Some(n) = needed {
            assert_eq!(value(w.needed_monthly), Data::Float(n));
        }
        let sheet = book.worksheet_range(w.paths).unwrap();
        assert_eq!(sheet.rows().count(), path.len() + 1);
        let trend = book.worksheet_range(w.trend).unwrap();
        let last_row = trend.rows().next_back().unwrap();
        assert_eq!(last_row[0], Data::String(last.to_string()));
        let state = release_label(policy.release(last, committed), Lang::Vi);
        assert!(last_row.contains(&Data::String(state.to_string())), "{last_row:?}");
    }

    // The PDF's text, when poppler's pdftotext is at hand.
    let Some(pdftotext) = common::require_tool("pdftotext", "pdftotext", "apt-get install poppler-utils") else {
        return;
    };
    let pdf = ecomshare::report::pdf::render(&report).unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new(pdftotext)
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let section = &text[text
        .find(&format!("Triển vọng năm {year}"))
        .expect("the outlook section")..];
    let pdf_line = |label: &str| {
        section
            .lines()
            .find(|x| x.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label:?} in\n{section}"))
            .to_string()
    };
    assert!(pdf_line(l.outlook.projection).contains(&p("share")));
    assert!(pdf_line(l.outlook.status).contains(status_words(api["status"].as_str().unwrap())));
    assert!(pdf_line(l.outlook.through).contains(&month(&through.to_string(), Lang::Vi)));
    if let Some(n) = needed {
        assert!(pdf_line(l.report.needed_monthly).contains(&ty_dong(n, 2, Lang::Vi)));
    }
    for y in year..=2030 {
        let row = pdf_line(&y.to_string());
        for v in path.iter().filter(|v| v["year"] == y) {
            let cell = target_range(v["low"].as_f64().unwrap(), v["high"].as_f64(), Lang::Vi);
            assert!(row.contains(&cell), "{cell:?} not in {row:?}");
        }
    }
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(&note), "{note} not in the PDF");
}
