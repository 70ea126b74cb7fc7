//! Filings as offices really send them: Vietnamese headers, semicolons and
//! tabs, UTF-16 from Excel's "Unicode text", Windows-1258 when declared,
//! decomposed Vietnamese, and vi-VN amounts when the upload says so.

mod common;

use common::{Env, tax_code};
use ecomshare::app::{App, IngestSource};
use ecomshare::ingest::{Format, InputOptions};
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
fn ingest(bytes: Vec<u8>, options: &InputOptions) -> (Result<ecomshare::app::IngestReport, String>, Vec<String>) {
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
        let request = ecomshare::app::SqlRequest {
            sql: "SELECT unit_name FROM filings ORDER BY unit_name".into(),
            ..Default::default()
        };
        let body = app
            .run_sql(&request, ecomshare::tabular::Format::Json)
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
