//! Filings as offices really send them: Vietnamese headers, semicolons and
//! tabs, UTF-16 from Excel's "Unicode text", Windows-1258 when declared,
//! decomposed Vietnamese, and vi-VN amounts when the upload says so.

use crate::common;

use common::{Env, tax_code};
use ecomshare::ingest::{Format, InputOptions};
use ecomshare::service::{App, IngestSource};
use serde_json::Value;

const VI_HEADER: &str = "Mã số thuế;Mã huyện;Mã ngành VSIC;Kỳ báo cáo;Tổng doanh thu bán lẻ (đồng);Doanh thu thương mại điện tử (đồng);Thời điểm nộp;Trọng số;Tên đơn vị";

fn vi_file() -> String {
    format!(
        "{VI_HEADER}\n{};380;4711;2025-03;1.234.567;234.567;;0,5;Công ty TNHH Hòa Bình\n{};381;4711;2025-03;2000000;1000;;;Cửa hàng Thủy\n",
        tax_code(1),
        tax_code(2)
    )
}

/// Ingests bytes with options; the report, and the unit names stored.
fn ingest(bytes: Vec<u8>, options: &InputOptions) -> (Result<ecomshare::service::IngestReport, String>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(dir.path().join("data")).unwrap();
    let report = app
        .ingest_with(
            vec![IngestSource::Bytes {
                name: "upload.csv".into(),
                format: Some(Format::Csv),
                bytes,
            }],
            options,
            None,
        )
        .map_err(|e| e.code().to_string());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let names = rt.block_on(async {
        let request = ecomshare::service::SqlRequest {
            sql: "SELECT unit_name FROM filings ORDER BY unit_name".into(),
            ..Default::default()
        };
        let body = app
            .run_sql(&request, ecomshare::engine::tabular::Format::Json)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["unit_name"].as_str().unwrap_or("").to_string())
            .collect()
    });
    (report, names)
}

fn vi() -> InputOptions {
    InputOptions::parse(None, None, Some("vi")).unwrap()
}

#[test]
fn vietnamese_headers_semicolons_and_vi_vn_amounts_when_declared() {
    let (report, names) = ingest(vi_file().into_bytes(), &vi());
    let report = report.unwrap();
    assert_eq!(
        (report.files[0].accepted, report.files[0].rejected),
        (2, 0),
        "{:?}",
        report.rejections
    );
    assert_eq!(names, ["Công ty TNHH Hòa Bình", "Cửa hàng Thủy"]);
    // Without locale=vi, "1.234.567" is not an amount.
    let (report, _) = ingest(vi_file().into_bytes(), &InputOptions::default());
    let report = report.unwrap();
    assert_eq!(report.files[0].accepted, 1);
    assert_eq!(report.rejections[0].reason, "invalid_amount");
}

#[test]
fn excel_unicode_text_is_utf16_with_tabs() {
    let text = vi_file().replace(';', "\t");
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let (report, names) = ingest(bytes, &vi());
    assert_eq!(report.unwrap().files[0].accepted, 2);
    assert_eq!(names[0], "Công ty TNHH Hòa Bình");
    // Big-endian too.
    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    assert_eq!(ingest(be, &vi()).0.unwrap().files[0].accepted, 2);
}

#[test]
fn windows_1258_when_declared_is_decoded_to_nfc() {
    // "Hòa Bình" as Windows-1258 writes it: base letters and combining marks.
    let mut bytes = format!("unit_id,district_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd,unit_name\n{},380,4711,2025-03,100,10,H", tax_code(3)).into_bytes();
    bytes.extend([b'o', 0xCC, b'a', b' ', b'B', b'i', 0xCC, b'n', b'h', b'\n']);
    let options = InputOptions::parse(Some("windows-1258"), None, None).unwrap();
    let (report, names) = ingest(bytes.clone(), &options);
    assert_eq!(report.unwrap().files[0].accepted, 1);
    assert_eq!(names, ["Hòa Bình"]);
    assert!(names[0].chars().count() == 8, "composed (NFC), not decomposed");
    // Undeclared, the same bytes are not UTF-8: the file is refused whole.
    assert_eq!(ingest(bytes, &InputOptions::default()).0.unwrap_err(), "not_utf8");
}

#[test]
fn decomposed_utf8_is_stored_composed() {
    let text = format!(
        "unit_id,district_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd,unit_name\n{},380,4711,2025-03,100,10,Ho\u{300}a Bi\u{300}nh\n",
        tax_code(4)
    );
    let (_, names) = ingest(text.into_bytes(), &InputOptions::default());
    assert_eq!(names, ["Hòa Bình"]);
}

#[test]
fn declared_options_are_checked() {
    assert!(
        InputOptions::parse(Some("latin-9"), None, None)
            .unwrap_err()
            .contains("encoding")
    );
    assert!(
        InputOptions::parse(None, Some("pipe"), None)
            .unwrap_err()
            .contains("delimiter")
    );
    assert!(
        InputOptions::parse(None, None, Some("fr"))
            .unwrap_err()
            .contains("locale")
    );
    // On the command line: exit 2 and the error on stdout.
    let env = Env::new();
    let f = env.write("f.csv", &vi_file());
    let r = env.run(&["ingest", "--encoding", "latin-9", f.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = env.run(&[
        "ingest",
        "--locale",
        "vi",
        "--delimiter",
        "semicolon",
        f.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["files"][0]["accepted"], 2);
}

/// A router on a fresh data directory (open local mode).
fn router(dir: &tempfile::TempDir) -> (std::sync::Arc<App>, axum::Router) {
    let app = std::sync::Arc::new(App::open(dir.path().join("data")).unwrap());
    (app.clone(), ecomshare::http::router(app))
}

async fn send(router: &axum::Router, req: axum::http::Request<axum::body::Body>) -> (u16, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

#[tokio::test]
async fn the_templates_download_and_a_filled_csv_template_is_accepted_over_http() {
    use axum::body::Body;
    use axum::http::Request;
    let dir = tempfile::tempdir().unwrap();
    let (app, router) = router(&dir);
    let (status, csv) = send(
        &router,
        Request::get("/api/v1/filings/template.csv")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        csv.starts_with(b"\xEF\xBB\xBF\"M\xC3\xA3 s\xE1\xBB\x91 thu\xE1\xBA\xBF\""),
        "a BOM, then Mã số thuế"
    );
    // An office fills it in Excel and saves it with semicolons and vi-VN numbers.
    let mut filled = String::from_utf8(csv).unwrap().replace(',', ";");
    filled.push_str(&format!(
        "{};380;;4711;2025-03;1.500.000;300.000;;;Hợp tác xã Quảng Phú\r\n",
        tax_code(9)
    ));
    // From the 2025 reform the office names the commune and leaves the district empty.
    filled.push_str(&format!(
        "{};;14758;4711;2025-08;2.500.000;500.000;;;Hợp tác xã Quảng Phú\r\n",
        tax_code(9)
    ));
    let req = Request::post("/api/v1/filings?name=mau.csv&locale=vi")
        .header("content-type", "text/csv; charset=utf-8")
        .body(Body::from(filled))
        .unwrap();
    let (status, body) = send(&router, req).await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let report: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(report["files"][0]["accepted"], 2, "{report}");
    assert_eq!(app.dataset_version().unwrap(), 1);
    // A declared option that is not one is refused with the API's error shape.
    let req = Request::post("/api/v1/filings?name=x.csv&encoding=latin-9")
        .header("content-type", "text/csv")
        .body(Body::from("unit_id\n"))
        .unwrap();
    let (status, body) = send(&router, req).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("invalid_input_options"));

    // The workbook: three sheets, drop-down lists of districts and VSIC codes.
    let (status, xlsx) = send(
        &router,
        Request::get("/api/v1/filings/template.xlsx")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut read = |name: &str| {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut archive.by_name(name).unwrap(), &mut text).unwrap();
        text
    };
    let workbook = read("xl/workbook.xml");
    for sheet in ["Báo cáo", "Danh mục", "Hướng dẫn"] {
        assert!(workbook.contains(sheet), "{sheet} in {workbook}");
    }
    let first = read("xl/worksheets/sheet1.xml");
    assert!(first.contains("'Danh mục'!$A$2:$A$"), "a district list: {first}");
    assert!(first.contains("'Danh mục'!$D$2:$D$"), "a VSIC list");
    let lists = read("xl/sharedStrings.xml");
    assert!(lists.contains("Thanh Hóa") && lists.contains("Mã ngành VSIC"));
}

/// A workbook as offices send them: a title row, Vietnamese headers on the
/// third row, codes and amounts as numbers, a period as a date, a second
/// sheet.
fn workbook() -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Workbook};
    let mut wb = Workbook::new();
    let notes = wb.add_worksheet().set_name("Ghi chú").unwrap();
    notes.write_string(0, 0, "Không phải báo cáo").unwrap();
    let s = wb.add_worksheet().set_name("Tháng 3").unwrap();
    s.write_string(0, 0, "BÁO CÁO DOANH THU BÁN LẺ THÁNG 3/2025").unwrap();
    for (c, h) in [
        "Mã số thuế",
        "Mã huyện",
        "Mã ngành VSIC",
        "Kỳ báo cáo",
        "Tổng doanh thu bán lẻ (đồng)",
        "Doanh thu thương mại điện tử (đồng)",
        "Tên đơn vị",
    ]
    .iter()
    .enumerate()
    {
        s.write_string(2, c as u16, *h).unwrap();
    }
    let unit: f64 = tax_code(5).parse().unwrap();
    s.write_number(3, 0, unit).unwrap();
    s.write_number(3, 1, 380).unwrap();
    s.write_number(3, 2, 4711).unwrap();
    let month = rust_xlsxwriter::Format::new().set_num_format("mm/yyyy");
    s.write_datetime_with_format(3, 3, ExcelDateTime::parse_from_str("2025-03-01").unwrap(), &month)
        .unwrap();
    s.write_number(3, 4, 1_500_000).unwrap();
    s.write_number(3, 5, 300_000).unwrap();
    s.write_string(3, 6, "Siêu thị Hòa Bình").unwrap();
    // An empty row, then a record with text cells.
    s.write_string(5, 0, tax_code(6)).unwrap();
    s.write_string(5, 1, "381").unwrap();
    s.write_string(5, 2, "4711").unwrap();
    s.write_string(5, 3, "2025-03").unwrap();
    s.write_string(5, 4, "2000000").unwrap();
    s.write_string(5, 5, "2500000").unwrap();
    wb.save_to_buffer().unwrap()
}

#[test]
fn a_workbook_sheet_is_read_by_header_names_with_numbers_dates_and_text() {
    let env = Env::new();
    let path = env.path("bao-cao.xlsx");
    std::fs::write(&path, workbook()).unwrap();
    // The first sheet has no header.
    let r = env.run(&["ingest", path.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert_eq!(r.json()["error"]["code"], "missing_columns");
    let r = env.run(&["ingest", "--sheet", "Tháng 3", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(
        (
            report["files"][0]["accepted"].as_u64(),
            report["files"][0]["rejected"].as_u64()
        ),
        (Some(1), Some(1)),
        "{report}"
    );
    // The second record sits three rows below the header: record 3.
    assert_eq!(report["rejections"][0]["record"], 3);
    assert_eq!(report["rejections"][0]["reason"], "ecommerce_exceeds_total");
    let share = env.share(&["--from", "2025-03", "--to", "2025-03"]);
    assert_eq!(share["total"]["total_revenue_vnd"], "1500000");
    let r = env.run(&["ingest", "--sheet", "Tháng 4", path.to_str().unwrap()]);
    assert_eq!(r.json()["error"]["code"], "unknown_sheet");
}

#[test]
fn a_small_workbook_declaring_cell_xfd1048576_is_refused_at_once() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let s = wb.add_worksheet();
    s.write_string(0, 0, "unit_id").unwrap();
    s.write_string(1_048_575, 16_383, "x").unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    assert!(bytes.len() < 10_000);
    let started = std::time::Instant::now();
    let (report, _) = ingest_format(bytes, Format::Xlsx);
    assert_eq!(report.unwrap_err(), "sheet_too_large");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// `ingest` of bytes in a given format.
fn ingest_format(bytes: Vec<u8>, format: Format) -> (Result<ecomshare::service::IngestReport, String>, ()) {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(dir.path().join("data")).unwrap();
    let report = app
        .ingest(vec![IngestSource::Bytes {
            name: "upload".into(),
            format: Some(format),
            bytes,
        }])
        .map_err(|e| e.code().to_string());
    (report, ())
}

#[test]
fn json_keys_may_be_the_vietnamese_headers_too() {
    let records = serde_json::json!([
        {"Mã số thuế": tax_code(7), "Mã huyện": "380", "Mã ngành VSIC": "4711", "Kỳ báo cáo": "2025-03",
         "Tổng doanh thu bán lẻ (đồng)": 1000, "Doanh thu thương mại điện tử (đồng)": 100, "Tên đơn vị": "Quán Ho\u{300}a"},
        {"unit_id": tax_code(8), "Mã số thuế": tax_code(8), "district_code": "380", "sector_code": "4711",
         "period": "2025-03", "total_revenue_vnd": 1, "ecommerce_revenue_vnd": 0}
    ]);
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(dir.path().join("data")).unwrap();
    let report = app
        .ingest(vec![IngestSource::Bytes {
            name: "vi.json".into(),
            format: Some(Format::Json),
            bytes: records.to_string().into_bytes(),
        }])
        .unwrap();
    assert_eq!((report.files[0].accepted, report.files[0].rejected), (1, 1));
    assert_eq!(report.rejections[0].reason, "malformed_row", "a column given twice");
}

/// The same records in each input format (`fixtures/formats/`, written by
/// `fixtures/bad/make_formats.py`).
const FORMATS: [&str; 6] = [
    "filings.csv",
    "filings.txt",
    "filings_utf8.txt",
    "filings.tsv",
    "filings.xls",
    "filings.ods",
];

/// What an ingest of one file gives: its counts, each rejection's record
/// and reason, the filings stored and the figures by month.
fn outcome_of(app: &App, source: IngestSource) -> Result<Value, String> {
    let report = app.ingest(vec![source]).map_err(|e| format!("{}: {e}", e.code()))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sql = |sql: &str| -> Value {
        rt.block_on(async {
            let request = ecomshare::service::SqlRequest {
                sql: sql.into(),
                ..Default::default()
            };
            let body = app
                .run_sql(&request, ecomshare::engine::tabular::Format::Json)
                .await
                .unwrap()
                .collect()
                .await
                .unwrap();
            serde_json::from_slice::<Value>(&body).unwrap()["rows"].clone()
        })
    };
    Ok(serde_json::json!({
        "records": report.files[0].records,
        "accepted": report.files[0].accepted,
        "rejected": report.files[0].rejected,
        "rejections": report.rejections.iter().map(|r| (r.record, r.reason)).collect::<Vec<_>>(),
        "filings": sql("SELECT unit_id, unit_name, district_code, commune_code, vsic_code, period, total_revenue_vnd, \
            ecommerce_revenue_vnd, weight, submitted_at FROM filings ORDER BY period, unit_id, total_revenue_vnd, unit_name"),
        "figures": sql("SELECT period, sum(weighted_total_vnd) AS total, sum(weighted_ecommerce_vnd) AS ecommerce \
            FROM filings GROUP BY period ORDER BY period"),
    }))
}

#[test]
fn every_input_format_gives_the_csv_counts_rejections_and_figures() {
    let csv = {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(dir.path().join("data")).unwrap();
        outcome_of(&app, IngestSource::Path(common::fixture("formats/filings.csv"))).unwrap()
    };
    assert_eq!(csv["accepted"], 32, "{csv}");
    assert_eq!(csv["rejected"], 14, "{csv}");
    for file in FORMATS {
        let path = common::fixture(&format!("formats/{file}"));
        // From a path: the extension declares, the content agrees.
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(dir.path().join("data")).unwrap();
        let got = outcome_of(&app, IngestSource::Path(path.clone())).unwrap();
        assert_eq!(got, csv, "{file}");
        // As bytes with no name nor media type: the content alone decides.
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(dir.path().join("data")).unwrap();
        let source = IngestSource::Bytes {
            name: "upload".into(),
            format: None,
            bytes: std::fs::read(&path).unwrap(),
        };
        assert_eq!(outcome_of(&app, source).unwrap(), csv, "{file} without a name");
    }
}

#[test]
fn a_workbook_sheet_is_chosen_by_name_in_xls_and_ods_too() {
    for file in ["filings.xls", "filings.ods"] {
        let env = Env::new();
        let path = common::fixture(&format!("formats/{file}"));
        let r = env.run(&["ingest", "--sheet", "Tháng 13", path.to_str().unwrap()]);
        assert_eq!(r.code, 3, "{file}: {}", r.stdout);
        assert_eq!(r.json()["error"]["code"], "unknown_sheet", "{file}");
        let sheet = if file.ends_with(".xls") { "Bao cao" } else { "Báo cáo" };
        let r = env.run(&["ingest", "--sheet", sheet, path.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        assert_eq!(r.json()["files"][0]["accepted"], 32, "{file}");
    }
}

#[test]
fn the_command_line_decides_from_the_content_when_the_name_says_nothing() {
    let env = Env::new();
    // An .xls saved without its extension, and Excel's Unicode text as .dat.
    let xls = env.path("bao-cao");
    std::fs::copy(common::fixture("formats/filings.xls"), &xls).unwrap();
    let text = env.path("bao-cao.dat");
    std::fs::copy(common::fixture("formats/filings.txt"), &text).unwrap();
    let r = env.ingest(&[&xls, &text]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["files"][0]["accepted"], 32, "{report}");
    assert_eq!(report["files"][1]["accepted"], 32, "{report}");
    // A workbook named as CSV is refused whole, and nothing is committed.
    let renamed = env.path("bao-cao.csv");
    std::fs::copy(common::fixture("formats/filings.ods"), &renamed).unwrap();
    let r = env.ingest(&[&renamed]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    let error = &r.json()["error"];
    assert_eq!(error["code"], "format_mismatch");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("its name declares CSV text, but its content is an OpenDocument spreadsheet (.ods)"),
        "{error}"
    );
}

#[tokio::test]
async fn uploads_in_each_format_by_media_type_or_decided_from_the_content() {
    use axum::body::Body;
    use axum::http::Request;
    let uploads = [
        ("filings.txt", "text/plain"),
        ("filings.tsv", "text/tab-separated-values"),
        ("filings.xls", "application/vnd.ms-excel"),
        ("filings.ods", "application/vnd.oasis.opendocument.spreadsheet"),
        ("filings.xls", "application/octet-stream"),
        ("filings.ods", "application/octet-stream"),
        ("filings_utf8.txt", "application/octet-stream"),
    ];
    for (file, media_type) in uploads {
        let dir = tempfile::tempdir().unwrap();
        let (app, router) = router(&dir);
        let req = Request::post("/api/v1/filings")
            .header("content-type", media_type)
            .body(Body::from(
                std::fs::read(common::fixture(&format!("formats/{file}"))).unwrap(),
            ))
            .unwrap();
        let (status, body) = send(&router, req).await;
        assert_eq!(
            status,
            201,
            "{file} as {media_type}: {}",
            String::from_utf8_lossy(&body)
        );
        let report: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (&report["files"][0]["accepted"], &report["files"][0]["rejected"]),
            (&Value::from(32), &Value::from(14)),
            "{file} as {media_type}: {report}"
        );
        // Without a name, the report names the upload by its media type.
        let expected_name = match media_type {
            "application/octet-stream" => "upload".to_string(),
            _ => format!("upload{}", &file[file.rfind('.').unwrap()..]),
        };
        assert_eq!(report["files"][0]["file"], expected_name.as_str());
        assert_eq!(app.dataset_version().unwrap(), 1);
    }
}

#[tokio::test]
async fn an_upload_whose_content_contradicts_its_declared_type_is_refused() {
    use axum::body::Body;
    use axum::http::Request;
    let dir = tempfile::tempdir().unwrap();
    let (app, router) = router(&dir);
    let csv = std::fs::read(common::fixture("formats/filings.csv")).unwrap();
    let ods = std::fs::read(common::fixture("formats/filings.ods")).unwrap();
    let refused = [
        // CSV sent as a legacy workbook: the content says text.
        (
            "/api/v1/filings?name=bao-cao.xls",
            "application/vnd.ms-excel",
            csv.clone(),
        ),
        // An OpenDocument spreadsheet sent as XLSX.
        (
            "/api/v1/filings",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ods.clone(),
        ),
        // The media type agrees, the name does not.
        (
            "/api/v1/filings?name=bao-cao.xlsx",
            "application/vnd.oasis.opendocument.spreadsheet",
            ods,
        ),
        // Tab-separated text without a tab.
        ("/api/v1/filings", "text/tab-separated-values", csv),
    ];
    for (uri, media_type, body) in refused {
        let req = Request::post(uri)
            .header("content-type", media_type)
            .body(Body::from(body))
            .unwrap();
        let (status, body) = send(&router, req).await;
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (400, Some("format_mismatch")),
            "{uri} {media_type}: {v}"
        );
        assert!(v["error"]["message"].as_str().unwrap().contains("declares"), "{v}");
    }
    // A media type that is no filing format is refused before the body is read.
    let req = Request::post("/api/v1/filings")
        .header("content-type", "application/pdf")
        .body(Body::from("%PDF-1.7"))
        .unwrap();
    let (status, body) = send(&router, req).await;
    assert_eq!(status, 415, "{}", String::from_utf8_lossy(&body));
    // Nor is a PDF sent as "decide from the content" taken for a filing.
    let req = Request::post("/api/v1/filings")
        .header("content-type", "application/octet-stream")
        .body(Body::from("%PDF-1.7\n"))
        .unwrap();
    let (status, body) = send(&router, req).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (415, Some("unsupported_format")),
        "{v}"
    );
    assert_eq!(app.dataset_version().unwrap(), 0, "nothing was committed");
}

/// A file of several chunks: its reader runs on a thread of its own, a
/// chunk ahead of validation (issue 23). Every record is counted as the
/// sequential dry run (`ingest::check`) counts it, the file's hash is its
/// bytes' SHA-256, and a byte that is not UTF-8 in a later chunk is refused
/// with its record number, with no thread left waiting.
#[test]
fn a_file_read_ahead_in_chunks_counts_hashes_and_refuses_as_read_in_one_go() {
    use sha2::Digest;
    let reference = ecomshare::store::builtin_reference();
    let ctx = common::file_context(&reference);
    let options = InputOptions::default();
    let records = ecomshare::ingest::CHUNK_RECORDS + 1000;
    let mut text = String::from(common::HEADER);
    text.push('\n');
    for i in 0..records {
        // Every fifth row refused (a total below its e-commerce part).
        let (total, ecom) = if i % 5 == 0 { (10, 20) } else { (1000 + i, 10) };
        let district = ["380", "381", "382"][i % 3];
        text.push_str(&format!(
            "{},{district},4711,2025-03,{total},{ecom},,,\n",
            tax_code(i as u32 % 5000)
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let (filings, rejections) = (dir.path().join("f.parquet"), dir.path().join("r.parquet"));
    let read = ecomshare::ingest::ingest_file(
        text.as_bytes(),
        Format::Csv,
        &options,
        "big.csv",
        &ctx,
        &filings,
        &rejections,
    )
    .unwrap();
    let dry = ecomshare::ingest::check(text.as_bytes(), Format::Csv, &options, "big.csv", &ctx).unwrap();
    assert_eq!((read.records, read.accepted, read.rejected), dry);
    assert_eq!(read.records, records as u64);
    assert!(read.rejected >= (records / 5) as u64);
    assert_eq!(read.sha256, format!("{:x}", sha2::Sha256::digest(text.as_bytes())));

    // A byte that is not UTF-8 in the second chunk's 10th record.
    let mut bytes = text.into_bytes();
    let line_start = |n: usize| {
        // Data record n (1-based) starts after the header and n − 1 lines.
        let mut seen = 0;
        bytes.iter().position(|&b| {
            seen += usize::from(b == b'\n');
            seen == n
        })
    };
    let bad_record = ecomshare::ingest::CHUNK_RECORDS + 10;
    let at = line_start(bad_record).unwrap() + 1;
    bytes[at + 3] = 0xff;
    let err = ecomshare::ingest::ingest_file(
        &bytes[..],
        Format::Csv,
        &options,
        "big.csv",
        &ctx,
        &filings,
        &rejections,
    )
    .unwrap_err();
    assert_eq!(err.code(), "not_utf8", "{err}");
    assert!(err.to_string().contains(&format!("record {bad_record}")), "{err}");
}
