//! Targets as programmes through the share API (the real router) and the
//! command line: 2026 answered under the governing programme's path, with
//! every programme's value; the configured priority; a data directory's
//! `reference/targets.csv` in the former three-column shape; ETags that
//! follow the targets table.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ecomshare::service::{App, AppOptions};
use serde_json::{Value, json};
use std::sync::Arc;

const HEADER: &str =
    "unit_id,district_code,commune_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd,submitted_at,weight";

/// Filings of 2026 by commune: (commune, month, total, e-commerce).
const FILINGS: [(&str, &str, i64, i64); 4] = [
    ("14758", "2026-01", 1_000_000, 150_000),
    ("15853", "2026-01", 1_000_000, 80_000),
    ("14758", "2026-02", 2_000_000, 200_000),
    ("15853", "2026-02", 2_000_000, 260_000),
];

fn filings_csv() -> String {
    let mut text = format!("{HEADER}\n");
    for (i, (commune, month, total, ecom)) in FILINGS.iter().enumerate() {
        let unit = common::tax_code(i as u32 % 2 + 1);
        text.push_str(&format!("{unit},,{commune},4711,{month},{total},{ecom},,\n"));
    }
    text
}

/// Σ e-commerce and Σ total of the filings, the naive way.
fn sums() -> (i64, i64) {
    FILINGS.iter().fold((0, 0), |(e, t), f| (e + f.3, t + f.2))
}

/// Met or below against `low` = num / den, decided on the integers.
fn standing(num: i64, den: i64) -> &'static str {
    let (e, t) = sums();
    if e * den >= t * num { "met" } else { "below" }
}

struct Api {
    dir: tempfile::TempDir,
    app: Arc<App>,
}

impl Api {
    async fn new(options: AppOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let app = Arc::new(App::open_with(dir.path().join("data"), options).unwrap());
        let api = Self { dir, app };
        let (s, _, b) = api
            .send(
                Request::post("/api/v1/filings?name=2026.csv")
                    .header(header::CONTENT_TYPE, "text/csv")
                    .body(Body::from(filings_csv()))
                    .unwrap(),
            )
            .await;
        let report: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(s, StatusCode::CREATED, "{report}");
        assert_eq!(report["rejections"], json!([]));
        api
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        common::exchange(ecomshare::http::router(self.app.clone()), req).await
    }

    /// The JSON answer and its ETag.
    async fn share(&self, query: &str) -> (Value, String) {
        let (s, h, b) = self
            .send(
                Request::get(format!("/api/v1/share?{query}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let etag = h[header::ETAG].to_str().unwrap().to_string();
        (serde_json::from_slice(&b).unwrap(), etag)
    }

    fn write_targets(&self, text: &str) {
        let dir = self.dir.path().join("data/reference");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("targets.csv"), text).unwrap();
    }
}

#[tokio::test]
async fn in_2026_the_newest_national_programmes_path_governs_and_every_programme_is_listed() {
    let api = Api::new(AppOptions::default()).await;
    let (v, _) = api.share("from=2026-01&to=2026-02&by=commune").await;
    // No provincial programme has a 2026 value: 2326/QĐ-TTg, issued after
    // 1568/QĐ-BCT, governs with the low end of its 11–12 % path.
    assert_eq!(v["target"], 0.11);
    assert_eq!(v["target_program"], "2326/QĐ-TTg");
    let every = json!([
        {"program": "1568/QĐ-BCT", "low": 0.12, "high": 0.12, "kind": "path"},
        {"program": "2326/QĐ-TTg", "low": 0.11, "high": 0.12, "kind": "path"},
    ]);
    assert_eq!(v["targets"], every);
    let total = &v["total"];
    assert_eq!(
        (&total["target"], &total["target_program"], &total["targets"]),
        (&json!(0.11), &json!("2326/QĐ-TTg"), &every)
    );
    assert_eq!(total["status"], standing(11, 100));
    for row in v["rows"].as_array().unwrap() {
        assert_eq!(row["target_program"], "2326/QĐ-TTg", "{row}");
        assert_eq!(row["targets"], every);
    }
    // 10 % (645/QĐ-TTg, 134/KH-UBND) is not carried into 2026.
    assert!(!v.to_string().contains("645/QĐ-TTg"));

    // The CSV ends each line with the programme.
    let (s, _, b) = api
        .send(
            Request::get("/api/v1/share?from=2026-01&to=2026-02")
                .header(header::ACCEPT, "text/csv")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let csv = String::from_utf8(b).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .ends_with(",row,target_program,release,response_rate"),
        "{csv}"
    );
    assert!(lines.next().unwrap().contains(",total,2326/QĐ-TTg,"), "{csv}");

    // 2025: the provincial programme, 10 %.
    let (v, _) = api.share("from=2025-01&to=2025-03").await;
    assert_eq!(
        (&v["target"], &v["target_program"]),
        (&json!(0.1), &json!("134/KH-UBND"))
    );
}

#[tokio::test]
async fn the_configured_priority_puts_1568_first() {
    let options = AppOptions {
        target_programs: vec!["1568/QĐ-BCT".into()],
        ..AppOptions::default()
    };
    let api = Api::new(options).await;
    let (v, _) = api.share("from=2026-01&to=2026-02").await;
    assert_eq!(
        (&v["target"], &v["target_program"]),
        (&json!(0.12), &json!("1568/QĐ-BCT"))
    );
    assert_eq!(v["total"]["status"], standing(12, 100));
    assert_eq!(v["targets"].as_array().unwrap().len(), 2);
    // 2025: 1568/QĐ-BCT has no value (its baseline year): the default rule.
    let (v, _) = api.share("from=2025-01&to=2025-03").await;
    assert_eq!(v["target_program"], "134/KH-UBND");
}

#[tokio::test]
async fn a_data_directorys_targets_file_in_either_shape_governs_and_changes_the_etag() {
    let api = Api::new(AppOptions::default()).await;
    let (_, built_in) = api.share("from=2026-01&to=2026-02").await;

    // The former three-column shape: the programme `legacy`, its latest
    // row carried forward as before.
    api.write_targets("year,scope,target_share,source\n2022,province,0.07,a\n2025,province,0.115,local plan\n");
    let (v, legacy) = api.share("from=2026-01&to=2026-02").await;
    assert_ne!(legacy, built_in, "the ETag follows the targets table");
    assert_eq!((&v["target"], &v["target_program"]), (&json!(0.115), &json!("legacy")));
    assert_eq!(
        v["targets"],
        json!([{"program": "legacy", "low": 0.115, "high": 0.115, "kind": "point"}])
    );
    assert_eq!(v["total"]["status"], standing(115, 1000));

    // The new shape with a provincial 2026 row and a district's own row.
    let text = format!(
        "{}134/KH-UBND,ecommerce_share,province,2026,point,0.13,,Kế hoạch 2026\n\
         2326/QĐ-TTg,ecommerce_share,380,2026,point,0.125,0.14,district plan\n",
        std::fs::read_to_string(common::fixture("reference/targets.csv")).unwrap()
    );
    api.write_targets(&text);
    let (v, provincial) = api.share("from=2026-01&to=2026-02&by=district").await;
    assert_ne!(provincial, legacy);
    assert_eq!(
        (&v["target"], &v["target_program"]),
        (&json!(0.13), &json!("134/KH-UBND"))
    );
    assert_eq!(v["targets"].as_array().unwrap().len(), 3);
    let row = |code: &str| {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["district_code"] == code)
            .unwrap()
            .clone()
    };
    // 380's own row comes before the province's.
    let city = row("380");
    assert_eq!(
        (&city["target"], &city["target_program"]),
        (&json!(0.125), &json!("2326/QĐ-TTg"))
    );
    assert!(
        city["targets"]
            .as_array()
            .unwrap()
            .contains(&json!({"program": "2326/QĐ-TTg", "low": 0.125, "high": 0.14, "kind": "point"}))
    );
    assert_eq!(row("381")["target_program"], "134/KH-UBND");

    // A broken file is refused with its line and column.
    api.write_targets(
        "program,indicator,scope,year,kind,low,high,source\nP,ecommerce_share,province,2026,point,0.3,0.2,x\n",
    );
    let (s, _, b) = api
        .send(
            Request::get("/api/v1/share?from=2026-01&to=2026-02")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{}", String::from_utf8_lossy(&b));
    let error = api.app.reference().unwrap_err().to_string();
    assert!(
        error.contains("targets.csv, line 2, column high: high 0.2 is below low 0.3"),
        "{error}"
    );
}

#[test]
fn the_command_line_takes_the_priority_from_the_environment() {
    let env = common::Env::new();
    let file = env.write("2026.csv", &filings_csv());
    assert_eq!(env.ingest(&[&file]).code, 0);
    let run = |programs: Option<&str>| {
        let mut c = env.cmd();
        if let Some(p) = programs {
            c.env("ECOMSHARE_TARGET_PROGRAMS", p);
        }
        let out = common::Run::from(
            c.args(["share", "--from", "2026-01", "--to", "2026-02"])
                .output()
                .unwrap(),
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.json()
    };
    let v = run(None);
    assert_eq!(
        (&v["target"], &v["target_program"]),
        (&json!(0.11), &json!("2326/QĐ-TTg"))
    );
    let v = run(Some("1568/QĐ-BCT, 2326/QĐ-TTg"));
    assert_eq!(
        (&v["target"], &v["target_program"]),
        (&json!(0.12), &json!("1568/QĐ-BCT"))
    );
    // The flag over the environment.
    let mut c = env.cmd();
    c.env("ECOMSHARE_TARGET_PROGRAMS", "1568/QĐ-BCT").args([
        "--target-programs",
        "2326/QĐ-TTg",
        "share",
        "--from",
        "2026-01",
        "--to",
        "2026-02",
    ]);
    let v = common::Run::from(c.output().unwrap()).json();
    assert_eq!(v["target_program"], "2326/QĐ-TTg");
}
