//! Each role's path through the site in headless Chromium, against the real
//! server binary (`webdriver::Site`), with the keyboard and the mouse as a
//! person would: an analyst runs a named query with changed parameters and
//! downloads it (the workbook's and the CSV's figures are the API's); a
//! filer uploads a file with rejected records, reads the report, downloads
//! the rejections, fixes one and sends it again (the revision counts in the
//! figures) and finds both batches in the history; an administrator
//! creates an access token on the page, uses it, revokes it, and generates
//! a month's report; a form without its anti-forgery field changes nothing.
//! Every page visited is screenshotted (`target/tmp/browser/walk-*.png`)
//! and checked by axe-core, in Vietnamese, and the main ones in English.
//!
//! Skipped without Chromium, chromedriver or axe-core; failed instead under
//! `CI`.

use crate::common::fixture;
use crate::webdriver::{Response, Session, Site, Tools, http, key};
use ecomshare::domain::Role;
use serde_json::Value;

/// The API as a client with a bearer token.
fn api(site: &Site, token: &str, path: &str) -> Response {
    http(
        site.port(),
        "GET",
        path,
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    )
}

fn api_json(site: &Site, role: Role, path: &str) -> Value {
    let r = api(site, site.token(role), path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

/// Follows the header's link to `href`, checking its text, and waits for the page.
fn open_from_header(b: &Session, href: &str, text: &str) {
    let link = b.find(&format!("header.site nav a[href='{href}']"));
    assert_eq!(link.text(), text, "the header's link to {href}");
    link.click();
    b.wait_for_url(|u| u == href);
    assert_eq!(
        b.find("header.site nav a[aria-current=page]").attr("href").as_deref(),
        Some(href),
        "the header marks the page"
    );
}

/// Switches the page to `lang` with the header's link and waits for it.
fn switch_language(b: &Session, lang: &str) {
    b.find(&format!("header.site a[hreflang={lang}]")).click();
    b.wait_for_url(|u| u.contains(&format!("lang={lang}")));
    assert_eq!(b.find("html").attr("lang").as_deref(), Some(lang));
}

/// Types a month into an `<input type=month>` as a person does: a click
/// (which lands on the year), back to the month with Shift+Tab, its
/// digits, Tab to the year, its digits.
fn type_month(b: &Session, css: &str, month: &str) {
    let (year, mm) = month.split_once('-').unwrap();
    let input = b.find(css);
    input.click();
    b.chord(&[key::SHIFT, key::TAB]);
    b.press(mm);
    b.press(key::TAB);
    b.press(year);
    assert_eq!(input.prop("value"), month, "{css} typed");
}

/// The cells of a CSV download (its byte order mark dropped).
fn csv_cells(bytes: &[u8]) -> Vec<Vec<String>> {
    let bytes = bytes.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(bytes);
    let records = ecomshare::util::csv::read_all(bytes);
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

/// A named query's JSON answer: its columns (name, type) and rows.
fn columns_of(answer: &Value) -> Vec<(String, String)> {
    answer["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().into(), c["type"].as_str().unwrap().into()))
        .collect()
}

/// The workbook's first sheet holds the answer's columns and rows.
fn same_as_xlsx(xlsx: Vec<u8>, answer: &Value) {
    use calamine::{Data, Reader};
    let columns = columns_of(answer);
    let rows = answer["rows"].as_array().unwrap();
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let mut sheet_rows = sheet.rows();
    let names: Vec<String> = sheet_rows.next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(names, columns.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>());
    assert_eq!(sheet.height() - 1, rows.len(), "one sheet row per row");
    for (i, (row, want)) in sheet_rows.zip(rows).enumerate() {
        for (cell, (name, _)) in row.iter().zip(&columns) {
            let want = &want[name.as_str()];
            match (cell, want) {
                (Data::Empty, Value::Null) => {}
                (Data::String(s), Value::String(w)) => assert_eq!(s, w, "row {i} {name}"),
                (Data::Float(f), w) => {
                    let w = w.as_f64().or_else(|| w.as_str().and_then(|s| s.parse().ok())).unwrap();
                    assert!((f - w).abs() <= w.abs() * 1e-12, "row {i} {name}: {f} vs {w}");
                }
                (Data::Int(n), w) => assert_eq!(*n as f64, w.as_f64().unwrap(), "row {i} {name}"),
                (Data::Bool(b), Value::Bool(w)) => assert_eq!(b, w, "row {i} {name}"),
                (c, w) => panic!("row {i} {name}: {c:?} in the workbook, {w} in the API"),
            }
        }
    }
}

/// The CSV holds the answer's columns and rows.
fn same_as_csv(csv: &[u8], answer: &Value) {
    let columns = columns_of(answer);
    let rows = answer["rows"].as_array().unwrap();
    let cells = csv_cells(csv);
    assert_eq!(cells[0], columns.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>());
    assert_eq!(cells.len() - 1, rows.len(), "one CSV record per row");
    for (i, (row, want)) in cells[1..].iter().zip(rows).enumerate() {
        for (cell, (name, ty)) in row.iter().zip(&columns) {
            match (ty.as_str(), &want[name.as_str()]) {
                (_, Value::Null) => assert_eq!(cell, "", "row {i} {name}"),
                ("decimal" | "string", Value::String(s)) => assert_eq!(cell, s, "row {i} {name}"),
                ("boolean", Value::Bool(b)) => assert_eq!(cell, &b.to_string(), "row {i} {name}"),
                (_, v) => {
                    let (got, w) = (cell.parse::<f64>().unwrap(), v.as_f64().unwrap());
                    assert!((got - w).abs() <= w.abs() * 1e-12, "row {i} {name}: {cell} vs {v}");
                }
            }
        }
    }
}

#[test]
fn an_analyst_runs_a_named_query_and_its_downloads_are_the_apis_figures() {
    let Some(tools) = Tools::find() else {
        return;
    };
    let site = Site::start();
    let b = site.browser(&tools);
    site.sign_in(&b, Role::Analyst, "/");
    assert_eq!(b.current_path(), "/", "an analyst lands on the dashboard");
    b.check_page("walk-analyst-dashboard");

    // The header leads to the list, the list to the query.
    open_from_header(&b, "/queries", "Truy vấn số liệu");
    b.check_page("walk-analyst-queries");
    b.find("a[href='/queries/share_by_district']").click();
    b.wait_for_url(|u| u == "/queries/share_by_district");
    assert!(
        b.try_find("table.result").is_none(),
        "nothing runs before the form is sent"
    );
    assert_eq!(b.find("#p-to").prop("value"), "2025-03", "the latest month by default");
    b.check_page("walk-analyst-query-form");

    // From February (typed), food only (chosen with the mouse), then run.
    type_month(&b, "#p-from", "2025-02");
    b.find("#p-sector").select("FOOD");
    b.find("form.params button[type=submit]").click();
    b.wait_for_url(|u| u.contains("run=1"));
    let url = b.current_path();
    assert!(
        url.contains("from=2025-02") && url.contains("sector=FOOD") && url.contains("to=2025-03"),
        "{url}"
    );
    assert_eq!(
        b.find("#p-from").prop("value"),
        "2025-02",
        "the form keeps what was given"
    );
    b.check_page("walk-analyst-query-result");

    // The table is the API's for the same parameters: its rows, their
    // count stated, and the version they come from.
    let params = "to=2025-03&from=2025-02&sector=FOOD";
    let answer = api_json(
        &site,
        Role::Analyst,
        &format!("/api/v1/queries/share_by_district?{params}"),
    );
    let version = answer["dataset_version"].as_u64().unwrap();
    let rows = answer["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    let result = b.find("section[aria-labelledby=result]").text();
    let count = answer["row_count"].as_u64().unwrap();
    assert!(result.contains(&format!("Tổng số dòng: {count}.")), "{result}");
    assert!(result.contains(&format!("phiên bản dữ liệu {version}")), "{result}");
    let shown = b.find_all("table.result tbody tr");
    assert_eq!(shown.len(), rows.len());
    let first_cells: Vec<String> = shown.iter().map(|tr| tr.find_within("td").unwrap().text()).collect();
    let want_first: Vec<String> = rows
        .iter()
        // The province's row last, its code empty even when its figures are withheld.
        .map(|r| r["district_code"].as_str().unwrap_or("–").to_string())
        .collect();
    assert_eq!(first_cells, want_first, "the districts in the API's order");

    // "Tải về Excel": the workbook the link gives, with the browser's
    // cookies, holds the API's figures for the version shown; the CSV too.
    let pinned = api_json(
        &site,
        Role::Analyst,
        &format!("/api/v1/queries/share_by_district?{params}&as_of={version}"),
    );
    assert_eq!(pinned["rows"], answer["rows"]);
    let links = b.find_all("section[aria-labelledby=result] nav a[download]");
    let link = |label: &str| {
        let a = links
            .iter()
            .find(|a| a.text().starts_with(label))
            .unwrap_or_else(|| panic!("no link {label:?}"));
        let href = a.attr("href").unwrap();
        assert!(
            href.contains(&format!("as_of={version}")) && href.contains("sector=FOOD"),
            "{href}"
        );
        href
    };
    let xlsx = b.fetch(&link("Tải về Excel"));
    assert_eq!(xlsx.status, 200, "{}", xlsx.text());
    assert_eq!(xlsx.header("x-dataset-version"), Some(version.to_string().as_str()));
    same_as_xlsx(xlsx.body, &pinned);
    let csv = b.fetch(&link("CSV"));
    assert_eq!(csv.status, 200, "{}", csv.text());
    same_as_csv(&csv.body, &pinned);

    // The same page in English, then the list.
    switch_language(&b, "en");
    assert!(
        b.find("section[aria-labelledby=result]")
            .text()
            .contains(&count.to_string())
    );
    b.check_page("walk-analyst-query-result-en");
    b.find("a[href='/queries']").click();
    b.wait_for_url(|u| u == "/queries");
    b.check_page("walk-analyst-queries-en");
}

#[test]
fn a_filer_uploads_reads_the_rejections_fixes_one_and_sends_it_again() {
    let Some(tools) = Tools::find() else {
        return;
    };
    let site = Site::start();
    let b = site.browser(&tools);
    let share = |site: &Site| {
        let s = api_json(site, Role::Admin, "/api/v1/share?from=2025-01&to=2025-01");
        let amount = |k: &str| s["total"][k].as_str().unwrap().parse::<i128>().unwrap();
        (amount("total_revenue_vnd"), amount("ecommerce_revenue_vnd"))
    };

    // Signing in lands on the upload page; it reads in English too.
    site.sign_in(&b, Role::Filer, "/");
    assert_eq!(b.current_path(), "/filings/upload");
    b.check_page("walk-filer-upload");
    switch_language(&b, "en");
    b.check_page("walk-filer-upload-en");
    switch_language(&b, "vi");

    // The file chosen in the form's file input and sent: the script shows
    // the progress, then the report page.
    b.find("#file").send_keys(fixture("bad_filings.csv").to_str().unwrap());
    b.find("#upload-form button[type=submit]").click();
    b.wait_for_url(|u| u.starts_with("/filings/ingests/"));
    let first: u64 = b.current_path()["/filings/ingests/".len()..].parse().unwrap();
    assert_eq!(first, 2, "the sample filings are version 1");
    b.check_page("walk-filer-report");
    // (Its one good record revised a sample filing: the figures from here.)
    let before = share(&site);

    // The page lists the rejections the API lists.
    let report = api_json(&site, Role::Filer, &format!("/api/v1/ingests/{first}"));
    let rejections = report["rejections"].as_array().unwrap();
    assert_eq!(rejections.len(), 15);
    let listed: Vec<String> = b
        .find_all("table tbody th.n[scope=row]")
        .iter()
        .map(|th| th.text())
        .collect();
    let want: Vec<String> = rejections.iter().map(|r| r["record"].to_string()).collect();
    assert_eq!(listed, want, "the records the API lists, in order");
    assert!(b.find("main").text().contains("bad_filings.csv"));

    // The rejections as a workbook and as CSV, with the browser's cookies.
    let xlsx = b.fetch(&b.find("a[href$='/rejections.xlsx']").attr("href").unwrap());
    assert_eq!(xlsx.status, 200, "{}", xlsx.text());
    {
        use calamine::Reader;
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx.body)).unwrap();
        let sheet = book.worksheet_range_at(0).unwrap().unwrap();
        assert_eq!(sheet.height(), 1 + rejections.len(), "a header and each rejection");
    }
    let csv = b.fetch(&b.find("a[href$='/rejections.csv']").attr("href").unwrap());
    assert_eq!(csv.status, 200, "{}", csv.text());

    // One record fixed (a district code in the catalogue), the file sent again.
    let mut rows = csv_cells(&csv.body);
    let at = |column: &str| {
        let header = ecomshare::present::template::COLUMNS
            .iter()
            .find(|(_, c)| *c == column)
            .unwrap()
            .0;
        rows[0].iter().position(|h| h == header).unwrap()
    };
    let (district, name) = (at("district_code"), at("unit_name"));
    let fixed = rows.iter().position(|r| r[name] == "Unknown district").unwrap();
    assert_eq!(rows[fixed][district], "999");
    rows[fixed][district] = "381".into();
    let text: String = rows.iter().map(|r| csv_line(r) + "\r\n").collect();
    let path = site.env.path("bad_filings_fixed.csv");
    std::fs::write(&path, text).unwrap();
    b.find("a[href='/filings/upload']").click();
    b.wait_for_url(|u| u == "/filings/upload");
    b.find("#file").send_keys(path.to_str().unwrap());
    b.find("#upload-form button[type=submit]").click();
    b.wait_for_url(|u| u.starts_with("/filings/ingests/") && !u.ends_with(&format!("/{first}")));
    let second: u64 = b.current_path()["/filings/ingests/".len()..].parse().unwrap();
    assert_eq!(second, first + 1);
    b.check_page("walk-filer-report-fixed");

    // The new report shows the fixed record accepted, and it counts.
    let summary: Vec<String> = b
        .find_all("main > table:first-of-type tbody tr > *")
        .iter()
        .map(|cell| cell.text())
        .collect();
    assert_eq!(
        summary,
        ["bad_filings_fixed.csv", "15", "1", "14"],
        "file, records, accepted, rejected"
    );
    let again = api_json(&site, Role::Filer, &format!("/api/v1/ingests/{second}"));
    assert_eq!(again["files"][0]["accepted"], 1, "{again}");
    assert_eq!(share(&site), (before.0 + 100, before.1 + 10), "the fixed record counts");

    // The history lists both batches, newest first (and not the CLI's).
    open_from_header(&b, "/filings/history", "Báo cáo đã nộp");
    let batches: Vec<String> = b
        .find_all("main table a[href^='/filings/ingests/']")
        .iter()
        .map(|a| a.attr("href").unwrap())
        .collect();
    assert_eq!(
        batches,
        [
            format!("/filings/ingests/{second}"),
            format!("/filings/ingests/{first}")
        ]
    );
    b.check_page("walk-filer-history");
}

#[test]
fn an_admin_creates_uses_and_revokes_a_token_and_generates_a_report() {
    let Some(tools) = Tools::find() else {
        return;
    };
    let site = Site::start();
    let b = site.browser(&tools);
    site.sign_in(&b, Role::Admin, "/");
    b.check_page("walk-admin-dashboard");

    // The tokens page, in English too.
    open_from_header(&b, "/admin/tokens", "Mã truy cập");
    b.check_page("walk-admin-tokens");
    switch_language(&b, "en");
    b.check_page("walk-admin-tokens-en");
    switch_language(&b, "vi");

    // An analyst's token created with the form: shown once, read-only.
    let name = "Phòng Thương mại";
    b.find("#token-role").select("analyst");
    // Enter in the name field sends the form.
    b.find("#token-name").send_keys(&format!("{name}{}", key::ENTER));
    b.wait_until("the new token", |b| b.try_find("#new-token").is_some());
    let field = b.find("#new-token");
    assert!(field.attr("readonly").is_some());
    let token = field.prop("value");
    assert!(token.starts_with("esk_"), "{token}");
    assert!(!b.current_url().contains(&token), "never in a URL");
    b.check_page("walk-admin-token-created");

    // It works on the API for its role.
    assert_eq!(api(&site, &token, "/api/v1/queries").status, 200);
    assert_eq!(api(&site, &token, "/api/v1/reports").status, 403);

    // Revoked with its row's button; then the API refuses it.
    let rows = b.find_all("main table tbody tr");
    let row = rows
        .iter()
        .find(|tr| tr.text().starts_with(name))
        .expect("the new token's row");
    let revoke = row
        .find_within("form[action$='/revoke'] button")
        .expect("a revoke button");
    assert!(
        revoke.text().contains(name),
        "the button names the token: {}",
        revoke.text()
    );
    revoke.click();
    b.wait_for_url(|u| u.contains("done=revoked"));
    assert!(!b.source().contains(&token), "not shown again");
    b.check_page("walk-admin-token-revoked");
    assert_eq!(api(&site, &token, "/api/v1/queries").status, 401);

    // A month's report generated with the form, archived with its four files.
    open_from_header(&b, "/admin/reports", "Báo cáo tháng");
    b.check_page("walk-admin-reports");
    type_month(&b, "#month", "2025-02");
    b.find("#report-lang").select("vi");
    b.find("form[action='/admin/reports'] button[type=submit]").click();
    b.wait_for_url(|u| u.contains("done=generated"));
    assert!(b.find("main").text().contains("Đã lập và lưu báo cáo tháng 2/2025."));
    b.check_page("walk-admin-report-generated");
    let row = b
        .find_all("main table tbody tr")
        .into_iter()
        .find(|tr| tr.text().starts_with("tháng 2/2025"))
        .expect("the month in the archive");
    let files: Vec<String> = ["report.pdf", "report.xlsx", "report.html", "report.json"]
        .iter()
        .map(|f| {
            row.find_within(&format!("ul.files a[href$='/{f}']"))
                .unwrap_or_else(|| panic!("a link to {f}"))
                .attr("href")
                .unwrap()
        })
        .collect();
    assert_eq!(files[0], "/api/v1/reports/2025-02/report.pdf");
    let pdf = b.fetch(&files[0]);
    assert_eq!(pdf.status, 200);
    assert!(pdf.body.starts_with(b"%PDF"));
    let archived = api_json(&site, Role::Admin, "/api/v1/reports");
    assert_eq!(archived["reports"][0]["month"], "2025-02");

    // An e-mail whose mail server refused one address: the row lists each
    // address with its state, the refused one with the server's reply.
    use ecomshare::delivery::{AddressState, Channel, Delivery, Outbox, Recipient, ReportRef, State};
    let report = ReportRef {
        month: "2025-02".into(),
        language: "vi".into(),
        dataset_version: 1,
        dataset_committed_at: "2025-03-02T00:00:00Z".into(),
        content_sha256: "ab".repeat(32),
        bundle: "2025-02-vi-v1-abababababab".into(),
    };
    let mail = Recipient {
        name: "mst".into(),
        channel: Channel::Email {
            to: vec!["Vụ Kế hoạch <kehoach@mst.gov.vn>".into(), "sai@mst.gov.vn".into()],
        },
        files: vec!["report.pdf".into()],
    };
    let mut d = Delivery::new(&report, &mail, chrono::Utc::now());
    d.state = State::Failed;
    d.addresses[0].state = AddressState::Delivered;
    d.addresses[1].state = AddressState::Failed;
    d.addresses[1].code = Some(550);
    d.addresses[1].message = Some("5.1.1 <sai@mst.gov.vn>: mailbox unavailable".into());
    Outbox::new(&site.env.data()).enqueue(&d).unwrap();
    b.goto("/admin/reports");
    let list = b.find("ul.addresses").text();
    assert!(list.contains("kehoach@mst.gov.vn: Đã gửi"), "{list}");
    assert!(
        list.contains("sai@mst.gov.vn: Gửi không thành công — mã phản hồi 550: 5.1.1 <sai@mst.gov.vn>"),
        "{list}"
    );
    b.check_page("walk-admin-reports-addresses");
}

/// The error code of the API's refusal the browser shows.
/// The refusal's stable code, as the error page shows it to a browser.
fn refusal(b: &Session) -> String {
    b.find("#error-code").text()
}

#[test]
fn a_form_sent_without_its_anti_forgery_field_is_refused_and_changes_nothing() {
    let Some(tools) = Tools::find() else {
        return;
    };
    let site = Site::start();
    let b = site.browser(&tools);
    let tokens = || {
        let r = site.env.run(&["token", "list"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.json()["tokens"].as_array().unwrap().len()
    };
    let before = tokens();

    // The token form, its hidden field removed, sent with its button.
    site.sign_in(&b, Role::Admin, "/admin/tokens");
    b.find("#token-name").send_keys("Giả mạo");
    b.execute(
        "document.querySelector(\"form[action='/admin/tokens'] input[name=csrf]\").remove();",
        &[],
    );
    b.find("form[action='/admin/tokens'] button[type=submit]").click();
    b.wait_until("the refusal", |b| b.source().contains("csrf_failed"));
    assert_eq!(b.status(), 403);
    assert_eq!(refusal(&b), "csrf_failed");
    assert_eq!(tokens(), before, "no token created");

    // The upload form likewise (its script sends it): nothing committed.
    let version = || api_json(&site, Role::Admin, "/api/v1/share")["dataset_version"].clone();
    let committed = version();
    let ingests = || api_json(&site, Role::Admin, "/api/v1/ingests")["ingests"].clone();
    let listed = ingests();
    b.goto("/filings/upload");
    b.wait_for_url(|u| u == "/filings/upload");
    b.execute("document.querySelector('#upload-form input[name=csrf]').remove();", &[]);
    b.find("#file").send_keys(fixture("bad_filings.csv").to_str().unwrap());
    b.find("#upload-form button[type=submit]").click();
    b.wait_until("the refusal", |b| b.source().contains("csrf_failed"));
    assert_eq!(refusal(&b), "csrf_failed");
    assert_eq!(version(), committed, "nothing committed");
    assert_eq!(ingests(), listed, "no batch");
}

/// A cell of a downloaded workbook as the page would write it: every form
/// a figure takes on the page (share, points, billions of đồng, a count),
/// or the text itself.
fn shown_forms(cell: &calamine::Data) -> Vec<String> {
    use calamine::Data;
    use ecomshare::present::locale::{self, Lang};
    let vi = Lang::Vi;
    match cell {
        Data::Float(v) => vec![
            locale::percent(*v, 1, vi),
            locale::points(*v, 1, vi),
            locale::decimal(*v / 1e9, 1, vi),
            locale::integer(v.round() as i128, vi),
        ],
        Data::Int(n) => vec![
            locale::integer(i128::from(*n), vi),
            locale::decimal(*n as f64 / 1e9, 1, vi),
        ],
        Data::Empty => vec!["–".into(), String::new()],
        other => vec![other.to_string()],
    }
}

#[test]
fn a_viewer_downloads_a_dashboard_table_and_the_workbook_holds_what_the_page_shows() {
    let Some(tools) = Tools::find() else {
        return;
    };
    let site = Site::start();
    let b = site.browser(&tools);
    site.sign_in(&b, Role::Viewer, "/");
    b.check_page("walk-viewer-dashboard-downloads");
    for table in ["districts", "sectors"] {
        let link = b.find(&format!("a[href^='/tables/{table}.xlsx']"));
        let href = link.attr("href").unwrap();
        assert!(href.contains("as_of="), "{href}: pinned to the page's version");
        assert!(
            link.attr("aria-label").unwrap().contains("Tải về Excel"),
            "the link names what it downloads"
        );
        // The rows the page shows, cell by cell, as a person reads them.
        let shown = b.execute(
            "const a = arguments[0];
             const t = [...document.querySelectorAll('table')].find(t => t.querySelector(`a[href='${a}']`));
             return [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.innerText.trim()));",
            &[Value::String(href.replace("&amp;", "&"))],
        );
        let shown = shown.as_array().unwrap();
        assert!(!shown.is_empty(), "{table}: rows on the page");

        let xlsx = b.fetch(&href.replace("&amp;", "&"));
        assert_eq!(xlsx.status, 200, "{href}");
        use calamine::Reader;
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx.body)).unwrap();
        let sheet = book.worksheet_range_at(0).unwrap().unwrap();
        let rows: Vec<Vec<Vec<String>>> = sheet.rows().map(|r| r.iter().map(shown_forms).collect()).collect();
        for page_row in shown {
            let cells: Vec<&str> = page_row
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            // The workbook's row of the same unit: it names it as the page does.
            let name = cells.iter().find(|c| c.chars().any(char::is_alphabetic)).unwrap();
            let row = rows
                .iter()
                .find(|r| r.iter().any(|forms| forms.iter().any(|f| f == name)))
                .unwrap_or_else(|| panic!("{table}: {name} is in the workbook"));
            for cell in &cells {
                assert!(
                    cell.is_empty() || row.iter().any(|forms| forms.iter().any(|f| f == cell)),
                    "{table}, {name}: {cell:?} shown on the page is not in the workbook's row {row:?}"
                );
            }
        }
    }
}
