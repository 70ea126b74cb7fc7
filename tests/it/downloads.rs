//! The dashboard tables' downloads through the real router: each table of
//! the overview, a district page and a sector page links to an XLSX and a
//! CSV of its rows, which hold the share API's figures for the same filters
//! and dataset version, withhold for a viewer exactly what the page
//! withholds, and stay as they were after a new ingest (`as_of` pinned).

use crate::common;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use calamine::{Data, Reader, Xlsx};
use common::tax_code;
use ecomshare::access::tokens::TokenStore;
use ecomshare::domain::{Role, Status};
use ecomshare::present::locale::{Lang, status_label};
use ecomshare::service::{App, IngestSource};
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use tower::ServiceExt;

const HEADER: &str =
    "unit_id,district_code,commune_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd,submitted_at,weight";

/// June 2025 by district, July by commune: 380 five even enterprises, 381
/// one (withheld for a viewer), 384 four small ones in June, 382 three
/// restaurants (another sector).
fn first_batch() -> String {
    let mut lines = vec![HEADER.to_string()];
    for i in 0..5 {
        let u = tax_code(100 + i);
        lines.push(format!("{u},380,,4711,2025-06,1000000,100000,,"));
        lines.push(format!("{u},,14758,4711,2025-07,1100000,150000,,"));
    }
    let u = tax_code(200);
    lines.push(format!("{u},381,,4711,2025-06,5000000,900000,,"));
    lines.push(format!("{u},,14818,4711,2025-07,5000000,1000000,,"));
    for i in 0..4 {
        lines.push(format!("{},384,,4711,2025-06,100000,10000,,", tax_code(300 + i)));
    }
    for i in 0..3 {
        let u = tax_code(400 + i);
        lines.push(format!("{u},382,,5610,2025-06,2000000,300000,,"));
        lines.push(format!("{u},,16516,5610,2025-07,2000000,350000,,"));
    }
    lines.join("\n") + "\n"
}

struct Site {
    _dir: tempfile::TempDir,
    app: Arc<App>,
    router: Router,
    viewer: String,
    admin: String,
}

impl Site {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let app = Arc::new(App::open(dir.path().join("data")).unwrap());
        let store = TokenStore::new(app.data_dir());
        let token = |role: Role| store.create(role, "t", None, chrono::Utc::now()).unwrap().1;
        let (viewer, admin) = (token(Role::Viewer), token(Role::Admin));
        let options = ecomshare::http::HttpOptions {
            rate_per_s: None,
            ..ecomshare::http::HttpOptions::default()
        };
        let router = ecomshare::http::router_with(app.clone(), options);
        let site = Self {
            _dir: dir,
            app,
            router,
            viewer,
            admin,
        };
        site.ingest("v1.csv", first_batch()).await;
        site
    }

    async fn ingest(&self, name: &str, text: String) {
        let app = self.app.clone();
        let name = name.to_string();
        tokio::task::spawn_blocking(move || {
            app.ingest(vec![IngestSource::Bytes {
                name,
                format: Some(ecomshare::ingest::Format::Csv),
                bytes: text.into_bytes(),
            }])
            .unwrap()
        })
        .await
        .unwrap();
    }

    async fn send(&self, uri: &str, token: &str, extra: Option<(&str, &str)>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
        if let Some((k, v)) = extra {
            req = req.header(k, v);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        (status, headers, body)
    }

    async fn get(&self, uri: &str, token: &str) -> Vec<u8> {
        let (status, _, body) = self.send(uri, token, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&body));
        body
    }

    async fn json(&self, uri: &str, token: &str) -> Value {
        serde_json::from_slice(&self.get(uri, token).await).unwrap()
    }
}

/// The download links of a page, `&amp;` undone, in page order.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| h.starts_with("/tables/"))
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

/// A link's table, format and query pairs.
fn parts(link: &str) -> (String, String, Vec<(String, String)>) {
    let (path, query) = link.split_once('?').unwrap();
    let (table, ext) = path.trim_start_matches("/tables/").split_once('.').unwrap();
    (
        table.to_string(),
        ext.to_string(),
        serde_urlencoded::from_str(query).unwrap(),
    )
}

/// The share API's URI for a link's filters and version, by `by`, with
/// `range` instead of the link's months when given.
fn api(pairs: &[(String, String)], by: &str, range: Option<(&str, &str)>) -> String {
    let mut q: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "lang" && (range.is_none() || (k != "from" && k != "to")))
        .cloned()
        .collect();
    if let Some((from, to)) = range {
        q.push(("from".into(), from.into()));
        q.push(("to".into(), to.into()));
    }
    q.push(("by".into(), by.into()));
    format!("/api/v1/share?{}", serde_urlencoded::to_string(&q).unwrap())
}

/// A CSV download's lines (RFC 4180 quoting), after its byte order mark.
fn csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a byte order mark");
    assert!(
        text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'),
        "CRLF lines"
    );
    let mut out = Vec::new();
    for line in text.split_terminator("\r\n") {
        let (mut fields, mut field, mut quoted, mut chars) =
            (Vec::new(), String::new(), false, line.chars().peekable());
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut field)),
                (c, _) => field.push(c),
            }
        }
        fields.push(field);
        out.push(fields);
    }
    out
}

/// The first sheet of an XLSX download: its heading lines, and the rows
/// from the header row to the first empty one (the notes follow it).
fn xlsx(bytes: &[u8]) -> (Vec<String>, Vec<Vec<Data>>) {
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    let rows: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
    // The header row is the first with a second cell; the heading's lines have one.
    let top = rows
        .iter()
        .position(|r| r.get(1).is_some_and(|c| *c != Data::Empty))
        .unwrap();
    let heading = rows[..top].iter().map(|r| r[0].to_string()).collect();
    let end = rows[top..]
        .iter()
        .position(|r| r.iter().all(|c| *c == Data::Empty))
        .map_or(rows.len(), |n| top + n);
    (heading, rows[top..end].to_vec())
}

/// A JSON figure as the CSV writes it: null empty, a string as is.
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn number(s: &str) -> Option<f64> {
    (!s.is_empty()).then(|| s.parse::<f64>().unwrap_or_else(|_| panic!("{s:?} is not a number")))
}

/// A CSV line's figures against a share row of the API.
fn same_figures(header: &[String], line: &[String], row: &Value, what: &str) {
    let at = |k: &str| &line[header.iter().position(|h| h == k).unwrap_or_else(|| panic!("no {k}"))];
    for k in [
        "total_revenue_vnd",
        "ecommerce_revenue_vnd",
        "filings",
        "status",
        "release",
    ] {
        assert_eq!(at(k), &text(&row[k]), "{what}: {k}");
    }
    for k in ["share", "target", "gap_pp", "response_rate"] {
        assert_eq!(number(at(k)), row[k].as_f64(), "{what}: {k}");
    }
}

/// A share table's CSV (rows keyed by `code`, then the total) against the
/// API's answer: the same rows, the same figures, ranked by share when
/// `ranked`. Returns the withheld rows' codes.
fn check_share_table(lines: &[Vec<String>], answer: &Value, code: &str, ranked: bool) -> BTreeSet<String> {
    let header = &lines[0];
    let (body, total) = (&lines[1..lines.len() - 1], &lines[lines.len() - 1]);
    let rows = answer["rows"].as_array().unwrap();
    assert_eq!(body.len(), rows.len(), "one line per row of {answer}");
    let ci = header.iter().position(|h| h == code).unwrap();
    for line in body {
        let row = rows.iter().find(|r| r[code] == line[ci].as_str()).unwrap();
        same_figures(header, line, row, &line[ci]);
    }
    same_figures(header, total, &answer["total"], "total");
    assert_eq!(total[ci], "", "the total has no code");
    if ranked {
        assert_eq!(header[0], "rank");
        let shares: Vec<Option<f64>> = body
            .iter()
            .map(|l| number(&l[header.iter().position(|h| h == "share").unwrap()]))
            .collect();
        let mut sorted = shares.clone();
        sorted.sort_by(|a, b| b.partial_cmp(a).unwrap());
        assert_eq!(shares, sorted, "ranked by share, highest first");
        for (i, l) in body.iter().enumerate() {
            let want = if shares[i].is_some() {
                (i + 1).to_string()
            } else {
                String::new()
            };
            assert_eq!(l[0], want, "rank");
        }
    }
    body.iter()
        .filter(|l| l[header.iter().position(|h| h == "status").unwrap()] == "suppressed")
        .map(|l| l[ci].clone())
        .collect()
}

/// The XLSX's rows against the CSV's: the same columns and rows, numbers as
/// numbers, a withheld figure `x` where the CSV has an empty cell and the
/// row is withheld (or the cell is). Returns the number of `x` cells.
fn check_sheet_against_csv(
    rows: &[Vec<Data>],
    lines: &[Vec<String>],
    withheld: impl Fn(usize, usize) -> bool,
) -> usize {
    assert_eq!(rows.len(), lines.len(), "the same lines");
    assert_eq!(rows[0].len(), lines[0].len(), "the same columns");
    let codes: Vec<(&str, &str)> = [
        Status::Met,
        Status::Below,
        Status::NoTarget,
        Status::NoData,
        Status::Suppressed,
    ]
    .iter()
    .map(|s| (s.code(), status_label(*s, Lang::Vi)))
    .chain(
        ecomshare::domain::Release::ALL
            .iter()
            .map(|r| (r.code(), ecomshare::present::locale::release_label(*r, Lang::Vi))),
    )
    .collect();
    let mut marks = 0;
    for (r, (row, line)) in rows.iter().zip(lines).enumerate().skip(1) {
        for (c, (cell, field)) in row.iter().zip(line).enumerate() {
            match cell {
                Data::Float(x) => assert_eq!(Some(*x), number(field), "row {r} column {c}"),
                Data::String(s) if s == "x" => {
                    assert!(
                        field.is_empty() && withheld(r, c),
                        "row {r} column {c}: x for {field:?}"
                    );
                    marks += 1;
                }
                Data::String(s) => {
                    let code = codes.iter().find(|(_, label)| label == s).map(|(code, _)| *code);
                    assert!(
                        s == field || code == Some(field.as_str()),
                        "row {r} column {c}: {s:?} for {field:?}"
                    );
                }
                Data::Empty => assert!(
                    field.is_empty() && !withheld(r, c),
                    "row {r} column {c}: empty for {field:?}"
                ),
                other => panic!("row {r} column {c}: {other:?}"),
            }
        }
    }
    marks
}

/// The district codes a page's districts table withholds (its rows whose
/// figures show `x`), in page order with them all.
fn page_districts(html: &str) -> (Vec<String>, BTreeSet<String>) {
    let start = html.find("<caption>Theo huyện (").expect("a districts table");
    let table = &html[start..start + html[start..].find("</table>").unwrap()];
    let body = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
    let mut order = Vec::new();
    let mut withheld = BTreeSet::new();
    for tr in body.split("<tr").skip(1) {
        let code = tr
            .split("href=\"/districts/")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        if tr.contains(">x</span>") {
            withheld.insert(code.clone());
        }
        order.push(code);
    }
    (order, withheld)
}

/// How many `x` marks a page's table with this caption start shows.
fn page_marks(html: &str, caption: &str) -> usize {
    let start = html
        .find(&format!("<caption>{caption}"))
        .unwrap_or_else(|| panic!("no {caption}"));
    let table = &html[start..start + html[start..].find("</table>").unwrap()];
    table.matches(">x</span>").count()
}

/// An exact decimal string of đồng (`"1234.5"`) in micro-đồng.
fn micro(s: &str) -> i128 {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    assert!(frac.len() <= 6, "{s}");
    let sign = if whole.starts_with('-') { -1 } else { 1 };
    let whole: i128 = whole.trim_start_matches('-').parse().unwrap();
    let frac: i128 = format!("{frac:0<6}").parse().unwrap();
    sign * (whole * 1_000_000 + frac)
}

/// The yearly table's CSV (behind the yearly chart) against the share API,
/// year by year: each year with figures is the API's answer over the
/// months it has figures for — the sums of those months by period, exact,
/// and the same sums as the whole calendar year — with the answer's share,
/// release state, response rate and targets; a year without figures has
/// its targets only. The chart's text alternative reads the same shares.
/// Returns the withheld cells (line, column).
async fn check_years(
    site: &Site,
    token: &str,
    pairs: &[(String, String)],
    lines: &[Vec<String>],
) -> Vec<(usize, usize)> {
    let header = &lines[0];
    assert_eq!(
        header[..10],
        [
            "year",
            "from",
            "through",
            "total_revenue_vnd",
            "ecommerce_revenue_vnd",
            "share",
            "release",
            "response_rate",
            "target",
            "target_program"
        ]
    );
    let programs = &header[10..];
    let years: Vec<u16> = lines[1..].iter().map(|l| l[0].parse().unwrap()).collect();
    assert!(years.first() <= Some(&2022) && years.last() >= Some(&2030), "{years:?}");
    assert!(years.windows(2).all(|w| w[1] == w[0] + 1), "every year: {years:?}");
    // The share API without a breakdown over a range, the link's filters kept.
    let whole = |from: String, to: String| {
        let mut q: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| k != "lang" && k != "from" && k != "to")
            .cloned()
            .collect();
        q.extend([("from".into(), from), ("to".into(), to)]);
        format!("/api/v1/share?{}", serde_urlencoded::to_string(&q).unwrap())
    };
    let mut hidden = Vec::new();
    let mut shown = Vec::new();
    let mut with_figures = 0;
    for (i, l) in lines[1..].iter().enumerate() {
        let year = &l[0];
        let calendar = site
            .json(&whole(format!("{year}-01"), format!("{year}-12")), token)
            .await;
        let answer = if l[1].is_empty() {
            // No figures: the whole year's answer has none either.
            assert!(l[2..8].iter().all(String::is_empty), "{year}: {l:?}");
            assert_eq!(calendar["total"]["filings"], 0, "{year}");
            calendar.clone()
        } else {
            with_figures += 1;
            let (from, through) = (l[1].clone(), l[2].clone());
            assert!(from.starts_with(year.as_str()) && through.starts_with(year.as_str()));
            let answer = site.json(&whole(from.clone(), through.clone()), token).await;
            let total = &answer["total"];
            // The year's figures are the sums of its months, exact.
            let months = site.json(&api(pairs, "period", Some((&from, &through))), token).await;
            let rows = months["rows"].as_array().unwrap();
            if total["suppressed"] != true && rows.iter().all(|r| r["suppressed"] != true) {
                for k in ["total_revenue_vnd", "ecommerce_revenue_vnd"] {
                    let sum: i128 = rows.iter().map(|r| micro(r[k].as_str().unwrap_or("0"))).sum();
                    assert_eq!(
                        micro(&l[if k == "total_revenue_vnd" { 3 } else { 4 }]),
                        sum,
                        "{year}: {k}"
                    );
                    assert_eq!(total[k], calendar["total"][k], "{year}: the calendar year's {k}");
                }
                // No month with figures outside the range.
                let first = rows.iter().find(|r| r["filings"].as_u64() > Some(0)).unwrap();
                let last = rows.iter().rev().find(|r| r["filings"].as_u64() > Some(0)).unwrap();
                assert_eq!(
                    (first["period"].as_str(), last["period"].as_str()),
                    (Some(&*from), Some(&*through))
                );
            }
            assert_eq!(l[3], text(&total["total_revenue_vnd"]), "{year}");
            assert_eq!(l[4], text(&total["ecommerce_revenue_vnd"]), "{year}");
            assert_eq!(number(&l[5]), total["share"].as_f64(), "{year}: share");
            assert_eq!(l[6], text(&total["release"]), "{year}: release");
            assert_eq!(number(&l[7]), total["response_rate"].as_f64(), "{year}: response rate");
            if total["suppressed"] == true {
                hidden.extend([3, 4, 5, 7].map(|c| (i + 1, c)));
            } else if let Some(share) = total["share"].as_f64() {
                shown.push((l[1..3].to_vec(), share));
            }
            answer
        };
        let total = &answer["total"];
        assert_eq!(number(&l[8]), total["target"].as_f64(), "{year}: target");
        assert_eq!(l[9], text(&total["target_program"]), "{year}: its programme");
        // Every programme's target of the year, as the API lists them.
        for (p, cell) in programs.iter().zip(&l[10..]) {
            let t = total["targets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["program"] == p.as_str());
            let want = t.map_or(String::new(), |t| {
                ecomshare::present::locale::target_range(t["low"].as_f64().unwrap(), t["high"].as_f64(), Lang::Vi)
            });
            assert_eq!(cell, &want, "{year}: {p}");
        }
    }
    assert!(with_figures > 0, "a year with figures");
    // Each programme column has a target in some year.
    for (j, p) in programs.iter().enumerate() {
        assert!(lines[1..].iter().any(|l| !l[10 + j].is_empty()), "{p}");
    }
    // The chart: its text alternative reads each year's share, and the
    // drawing names every programme.
    let chart_query = |ext: &str| {
        let q: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "lang").cloned().collect();
        format!("/charts/years.{ext}?{}", serde_urlencoded::to_string(&q).unwrap())
    };
    let alt = String::from_utf8(site.get(&chart_query("txt"), token).await).unwrap();
    for (months, share) in &shown {
        let percent = ecomshare::present::locale::percent(*share, 1, Lang::Vi);
        let (from, through) = (&months[0], &months[1]);
        let label = if from.ends_with("-01") && through.ends_with("-12") {
            from[..4].to_string()
        } else if from == through {
            format!("{}/{}", from[5..].trim_start_matches('0'), &from[..4])
        } else {
            format!(
                "{}–{}/{}",
                from[5..].trim_start_matches('0'),
                through[5..].trim_start_matches('0'),
                &from[..4]
            )
        };
        assert!(
            alt.contains(&format!("{label}: {percent}")),
            "{label}: {percent} in {alt}"
        );
    }
    let (status, headers, svg) = site.send(&chart_query("svg"), token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml");
    let svg = String::from_utf8(svg).unwrap();
    for p in programs {
        assert!(
            svg.contains(&ecomshare::present::locale::program(p, Lang::Vi)),
            "{p} in the legend"
        );
    }
    hidden
}

/// Follows every download link of `page` as `token` and checks each table
/// against the share API; returns the page, the districts' withheld codes
/// (page, CSV, XLSX) and the districts CSV's link.
async fn follow(site: &Site, page: &str, token: &str, version: u64) -> (String, [BTreeSet<String>; 3], String) {
    let html = String::from_utf8(site.get(page, token).await).unwrap();
    let found = links(&html);
    let tables: Vec<(String, String)> = found
        .iter()
        .map(|l| {
            let (t, e, _) = parts(l);
            (t, e)
        })
        .collect();
    let want: Vec<(String, String)> = ["trend", "years", "district_sector", "districts", "sectors", "communes"]
        .iter()
        .flat_map(|t| ["xlsx", "csv"].map(|e| (t.to_string(), e.to_string())))
        .collect();
    assert_eq!(tables, want, "{page}: every table's two links, in page order");
    assert!(html.contains(">Tải về Excel</a>") && html.contains("aria-label=\"Tải về Excel, bảng Theo huyện ("));
    let (page_order, page_withheld) = page_districts(&html);
    let mut csv_withheld = BTreeSet::new();
    let mut xlsx_withheld = BTreeSet::new();
    let mut districts_link = String::new();
    for pair in found.chunks(2) {
        let (table, _, pairs) = parts(&pair[1]);
        assert_eq!(parts(&pair[0]).2, pairs, "the same query for both formats");
        let as_of = pairs.iter().find(|(k, _)| k == "as_of").map(|(_, v)| v.clone());
        assert_eq!(as_of, Some(version.to_string()), "{page}: pinned to the page's version");
        assert!(pairs.contains(&("lang".into(), "vi".into())));
        let (status, headers, body) = site.send(&pair[1], token, None).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}: {}",
            pair[1],
            String::from_utf8_lossy(&body)
        );
        assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
        assert_eq!(headers["x-dataset-version"].to_str().unwrap(), version.to_string());
        let disposition = headers[header::CONTENT_DISPOSITION].to_str().unwrap();
        assert!(
            disposition.starts_with(&format!(
                "attachment; filename=\"ty-trong-tmdt-{}-",
                table.replace('_', "-")
            )) && disposition.ends_with(&format!("-v{version}.csv\"")),
            "{disposition}"
        );
        let lines = csv(&body);
        let xlsx_body = site.get(&pair[0], token).await;
        let (heading, rows) = xlsx(&xlsx_body);
        assert!(heading.contains(&format!("Phiên bản dữ liệu {version}")), "{heading:?}");
        let districts = site.json(&api(&pairs, "district", None), token).await;
        match table.as_str() {
            "districts" | "sectors" | "communes" => {
                let (by, code, answer) = match table.as_str() {
                    "districts" => ("district", "district_code", districts.clone()),
                    "sectors" => (
                        "sector",
                        "sector_code",
                        site.json(&api(&pairs, "sector", None), token).await,
                    ),
                    _ => {
                        let from = districts["from"].as_str().unwrap().max("2025-07");
                        let to = districts["to"].as_str().unwrap();
                        (
                            "commune",
                            "commune_code",
                            site.json(&api(&pairs, "commune", Some((from, to))), token).await,
                        )
                    }
                };
                assert_eq!(answer["dataset_version"], version, "{by}");
                let withheld = check_share_table(&lines, &answer, code, by != "sector");
                let col = |k: &str| lines[0].iter().position(|h| h == k).unwrap();
                let figures = [
                    "total_revenue_vnd",
                    "ecommerce_revenue_vnd",
                    "share",
                    "gap_pp",
                    "filings",
                    "response_rate",
                ]
                .map(col);
                let marks = check_sheet_against_csv(&rows, &lines, |r, c| {
                    lines[r][col("status")] == "suppressed" && figures.contains(&c)
                });
                assert_eq!(
                    marks,
                    withheld.len() * 6,
                    "{by}: five figures and the response rate withheld per withheld row"
                );
                // The last two columns: how final, and the response rate.
                assert_eq!(lines[0][lines[0].len() - 2..], ["release", "response_rate"]);
                if table == "districts" {
                    let order: Vec<String> = lines[1..lines.len() - 1].iter().map(|l| l[1].clone()).collect();
                    assert_eq!(order, page_order, "{page}: the page's order");
                    let label = heading[0].clone();
                    assert!(
                        html.contains(&format!("<caption>{label}<span")),
                        "the page's caption: {label}"
                    );
                    if !withheld.is_empty() {
                        assert!(
                            heading.iter().any(|l| l.starts_with("x: ")),
                            "the disclosure note: {heading:?}"
                        );
                    }
                    assert_eq!(page_marks(&html, &label), withheld.len() * 5);
                    csv_withheld = withheld;
                    xlsx_withheld = rows[1..rows.len() - 1]
                        .iter()
                        .filter(|r| r[3] == Data::String("x".into()))
                        .map(|r| r[1].to_string())
                        .collect();
                    districts_link = pair[1].clone();
                }
            }
            "trend" => {
                assert_eq!(
                    lines[0],
                    ["period", "share", "share_last_year", "release", "response_rate"]
                );
                let months: Vec<&str> = lines[1..].iter().map(|l| l[0].as_str()).collect();
                assert_eq!(months.len(), 24);
                let (first, last) = (months[0], months[23]);
                let now = site.json(&api(&pairs, "period", Some((first, last))), token).await;
                let year_ago = |m: &str| format!("{}{}", m[..4].parse::<u32>().unwrap() - 1, &m[4..]);
                let before = site
                    .json(&api(&pairs, "period", Some((&year_ago(first), &year_ago(last)))), token)
                    .await;
                let find = |answer: &Value, month: &str| {
                    answer["rows"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|r| r["period"] == month)
                        .cloned()
                };
                let mut hidden = Vec::new();
                for (i, l) in lines[1..].iter().enumerate() {
                    for (col, answer, month) in [(1, &now, l[0].clone()), (2, &before, year_ago(&l[0]))] {
                        let row = find(answer, &month);
                        assert_eq!(
                            number(&l[col]),
                            row.as_ref().and_then(|r| r["share"].as_f64()),
                            "{month}"
                        );
                        if row.is_some_and(|r| r["suppressed"] == true) {
                            hidden.push((i + 1, col));
                        }
                    }
                    // Last, the month's release state and response rate
                    // (withheld with its share).
                    let row = find(&now, &l[0]);
                    assert_eq!(l[3], row.as_ref().map_or("", |r| r["release"].as_str().unwrap()));
                    assert_eq!(
                        number(&l[4]),
                        row.as_ref().and_then(|r| r["response_rate"].as_f64()),
                        "{}",
                        l[0]
                    );
                    if row.is_some_and(|r| r["suppressed"] == true) {
                        hidden.push((i + 1, 4));
                    }
                }
                let marks = check_sheet_against_csv(&rows, &lines, |r, c| hidden.contains(&(r, c)));
                assert_eq!(marks, hidden.len());
                assert_eq!(
                    page_marks(&html, &heading[0]),
                    hidden.iter().filter(|(_, c)| *c != 4).count(),
                    "the page withholds the same months"
                );
            }
            "years" => {
                let hidden = check_years(site, token, &pairs, &lines).await;
                let marks = check_sheet_against_csv(&rows, &lines, |r, c| hidden.contains(&(r, c)));
                assert_eq!(marks, hidden.len());
                assert_eq!(
                    page_marks(&html, &heading[0]),
                    hidden.iter().filter(|(_, c)| *c == 5).count(),
                    "the page withholds the same years' shares"
                );
            }
            "district_sector" => {
                let answer = site.json(&api(&pairs, "district,sector", None), token).await;
                let header = &lines[0];
                assert_eq!(header[..2], ["district_code", "district_name"]);
                let mut hidden = Vec::new();
                let mut seen = 0;
                for (i, l) in lines[1..].iter().enumerate() {
                    for (c, sector) in header.iter().enumerate().skip(2) {
                        let row = answer["rows"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|r| r["district_code"] == l[0].as_str() && r["sector_code"] == sector.as_str());
                        assert_eq!(
                            number(&l[c]),
                            row.and_then(|r| r["share"].as_f64()),
                            "{} × {sector}",
                            l[0]
                        );
                        if row.is_some_and(|r| r["suppressed"] == true) {
                            hidden.push((i + 1, c));
                        }
                        seen += usize::from(
                            row.is_some_and(|r| r["filings"].as_u64() > Some(0) || r["suppressed"] == true),
                        );
                    }
                }
                let shown = answer["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["filings"].as_u64() > Some(0) || r["suppressed"] == true)
                    .count();
                assert_eq!(seen, shown, "every cell with a filing or withheld is in the grid");
                let marks = check_sheet_against_csv(&rows, &lines, |r, c| hidden.contains(&(r, c)));
                assert_eq!(marks, hidden.len());
                assert_eq!(
                    page_marks(&html, &heading[0]),
                    marks,
                    "the page withholds the same cells"
                );
            }
            other => panic!("{other}"),
        }
    }
    (html, [page_withheld, csv_withheld, xlsx_withheld], districts_link)
}

#[tokio::test]
async fn every_table_downloads_as_the_page_shows_it_and_as_the_api_answers() {
    let site = Site::new().await;
    for page in ["/", "/districts/380", "/sectors/FOOD", "/?from=2025-06&to=2025-07"] {
        // A viewer: figures protected, the same cells withheld everywhere.
        let (_, [page_withheld, csv_withheld, xlsx_withheld], _) = follow(&site, page, &site.viewer, 1).await;
        assert_eq!(csv_withheld, page_withheld, "{page}");
        assert_eq!(xlsx_withheld, page_withheld, "{page}");
        if page == "/" {
            assert_eq!(
                page_withheld.iter().next().map(String::as_str),
                Some("381"),
                "381 has one enterprise: {page_withheld:?}"
            );
        }
        // An admin: nothing withheld.
        let (_, [page_withheld, csv_withheld, xlsx_withheld], _) = follow(&site, page, &site.admin, 1).await;
        assert!(page_withheld.is_empty() && csv_withheld.is_empty() && xlsx_withheld.is_empty());
    }
}

#[tokio::test]
async fn a_withheld_year_is_withheld_in_the_years_table_its_downloads_and_chart() {
    let site = Site::new().await;
    // District 381 has one enterprise: its year is withheld for a viewer.
    let pairs: Vec<(String, String)> = [("district", "381"), ("as_of", "1"), ("lang", "vi")]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec();
    let query = serde_urlencoded::to_string(&pairs).unwrap();
    let chart = "/charts/years.txt?district=381&as_of=1";
    for (token, withheld) in [(&site.viewer, true), (&site.admin, false)] {
        let lines = csv(&site.get(&format!("/tables/years.csv?{query}"), token).await);
        let hidden = check_years(&site, token, &pairs, &lines).await;
        let line = lines.iter().position(|l| l[0] == "2025").unwrap();
        assert_eq!(
            (lines[line][1].as_str(), lines[line][2].as_str()),
            ("2025-06", "2025-07")
        );
        let (_, rows) = xlsx(&site.get(&format!("/tables/years.xlsx?{query}"), token).await);
        assert_eq!(
            check_sheet_against_csv(&rows, &lines, |r, c| hidden.contains(&(r, c))),
            hidden.len()
        );
        let html = String::from_utf8(site.get("/districts/381?as_of=1", token).await).unwrap();
        let alt = String::from_utf8(site.get(chart, token).await).unwrap();
        if withheld {
            assert_eq!(
                hidden,
                [3, 4, 5, 7].map(|c| (line, c)),
                "the year's sums, share and response rate"
            );
            assert_eq!(page_marks(&html, "Tỷ trọng TMĐT theo năm"), 1, "its share on the page");
            // The year only in its axis label's note, without a share.
            assert_eq!(alt.matches("6–7/2025:").count(), 1, "{alt}");
            assert!(!alt.contains(". ."), "{alt}");
        } else {
            assert!(hidden.is_empty());
            assert!(!lines[line][5].is_empty());
            assert_eq!(page_marks(&html, "Tỷ trọng TMĐT theo năm"), 0);
            assert_eq!(alt.matches("6–7/2025:").count(), 2, "{alt}");
        }
    }
}

#[tokio::test]
async fn an_old_link_keeps_its_figures_after_a_new_ingest() {
    let site = Site::new().await;
    let (_, _, link) = follow(&site, "/", &site.viewer, 1).await;
    let before = site.get(&link, &site.viewer).await;
    let (_, headers, _) = site.send(&link, &site.viewer, None).await;
    let etag = headers[header::ETAG].to_str().unwrap().to_string();
    let xlsx_link = link.replace(".csv?", ".xlsx?");
    let (_, sheet_before) = xlsx(&site.get(&xlsx_link, &site.viewer).await);

    let more = format!(
        "{HEADER}\n{},,14758,4711,2025-07,3000000,900000,,\n{},,14758,4711,2025-07,3000000,100000,,\n",
        tax_code(110),
        tax_code(111)
    );
    site.ingest("v2.csv", more).await;
    // (Right after an ingest the API may still answer from the version
    // before while it readies the new one: ask for it by name.)
    let now = site.json("/api/v1/share?by=district&as_of=2", &site.viewer).await;
    assert_eq!(now["dataset_version"], 2);
    let old = site.json("/api/v1/share?by=district&as_of=1", &site.viewer).await;
    assert_ne!(now["rows"], old["rows"], "the new batch changed the figures");

    assert_eq!(site.get(&link, &site.viewer).await, before, "the same bytes");
    let (_, sheet_after) = xlsx(&site.get(&xlsx_link, &site.viewer).await);
    assert_eq!(sheet_after, sheet_before);
    check_share_table(&csv(&before), &old, "district_code", true);
    // Immutable: the validator of the pinned version still holds.
    let (status, _, body) = site.send(&link, &site.viewer, Some(("if-none-match", &etag))).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    // The page now links to the new version, whose tables are the new figures.
    let (_, _, new_link) = follow(&site, "/", &site.viewer, 2).await;
    assert!(new_link.contains("as_of=2"), "{new_link}");
    check_share_table(
        &csv(&site.get(&new_link, &site.viewer).await),
        &now,
        "district_code",
        true,
    );
}

#[tokio::test]
async fn bad_requests_are_refused_with_stable_codes() {
    let site = Site::new().await;
    let viewer = site.viewer.clone();
    for (uri, status, code) in [
        ("/tables/nope.csv", StatusCode::NOT_FOUND, "not_found"),
        ("/tables/districts.pdf", StatusCode::NOT_FOUND, "not_found"),
        ("/tables/districts", StatusCode::NOT_FOUND, "not_found"),
        ("/tables/heatmap.xlsx", StatusCode::NOT_FOUND, "not_found"),
        // Before the 2025 reform the page has no communes table.
        (
            "/tables/communes.csv?to=2025-06&as_of=1",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/tables/districts.csv?from=2025-13",
            StatusCode::BAD_REQUEST,
            "invalid_period",
        ),
        (
            "/tables/districts.csv?by=sector",
            StatusCode::BAD_REQUEST,
            "unknown_parameter",
        ),
        (
            "/tables/districts.csv?colour=red",
            StatusCode::BAD_REQUEST,
            "unknown_parameter",
        ),
        (
            "/tables/districts.csv?from=2025-01&from=2025-02",
            StatusCode::BAD_REQUEST,
            "repeated_parameter",
        ),
        ("/tables/districts.csv?lang=fr", StatusCode::BAD_REQUEST, "invalid_lang"),
        (
            "/tables/districts.csv?as_of=one",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "/tables/districts.csv?as_of=9",
            StatusCode::NOT_FOUND,
            "unknown_version",
        ),
    ] {
        let (got, _, body) = site.send(uri, &viewer, None).await;
        assert_eq!(got, status, "{uri}: {}", String::from_utf8_lossy(&body));
        let e: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(e["error"]["code"], code, "{uri}");
    }
    // Empty filters are no filters, as on the page; the communes exist from July 2025.
    let (status, _, _) = site
        .send("/tables/communes.csv?from=&district=&as_of=1", &viewer, None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn english_pages_link_to_english_tables() {
    let site = Site::new().await;
    let html = String::from_utf8(site.get("/?lang=en", &site.admin).await).unwrap();
    assert!(html.contains(">Download Excel</a>"), "{html}");
    assert!(html.contains("aria-label=\"CSV, table By sector ("));
    let link = links(&html)
        .into_iter()
        .find(|l| l.starts_with("/tables/sectors.xlsx"))
        .unwrap();
    assert!(link.ends_with("as_of=1&lang=en"), "{link}");
    let (heading, rows) = xlsx(&site.get(&link, &site.admin).await);
    assert!(heading[0].starts_with("By sector ("), "{heading:?}");
    assert!(heading[1].starts_with("Target for 2025: "), "{heading:?}");
    assert_eq!(heading[2], "Dataset version 1");
    assert_eq!(rows[0][0], Data::String("Sector code".into()));
    assert!(rows.iter().any(|r| r[0] == Data::String("FOOD".into())));
}
