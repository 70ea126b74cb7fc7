//! Named queries, analysts' SQL, `as_of` and the API description through
//! the real router (in process).

use crate::common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use common::{Row, csv, fixture, tax_code};
use ecomshare::service::{App, AppOptions};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

struct Api {
    _dir: tempfile::TempDir,
    app: Arc<App>,
}

impl Api {
    async fn new(options: AppOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let app = Arc::new(App::open_with(dir.path().join("data"), options).unwrap());
        let api = Self { _dir: dir, app };
        api.ingest("sample_filings.csv").await;
        api
    }

    async fn ingest(&self, file: &str) -> Value {
        let text = std::fs::read(fixture(file)).unwrap();
        let req = Request::post(format!("/api/v1/filings?name={}", file.replace('/', "_")))
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(text))
            .unwrap();
        let (s, _, b) = self.send(req).await;
        assert_eq!(s, StatusCode::CREATED);
        serde_json::from_slice(&b).unwrap()
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        common::exchange(ecomshare::http::router(self.app.clone()), req).await
    }

    async fn get(&self, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = Request::get(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    async fn json(&self, uri: &str) -> (StatusCode, Value) {
        let (s, _, b) = self.get(uri, &[]).await;
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    async fn post_empty(&self, uri: &str) -> (StatusCode, Value) {
        let (s, _, b) = self.send(Request::post(uri).body(Body::empty()).unwrap()).await;
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    async fn sql(&self, content_type: &str, body: &str) -> (StatusCode, Value) {
        let req = Request::post("/api/v1/sql")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_string()))
            .unwrap();
        let (s, _, b) = self.send(req).await;
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }
}

fn province(v: &Value) -> &Value {
    v["rows"].as_array().unwrap().last().unwrap()
}

#[tokio::test]
async fn queries_are_listed_with_their_typed_parameters() {
    let api = Api::new(AppOptions::default()).await;
    let (s, v) = api.json("/api/v1/queries").await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = v["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    for expected in [
        "share_by_district",
        "share_by_sector",
        "share_by_district_sector",
        "monthly_trend",
        "yoy_by_district",
        "gap_to_target_by_district",
        "coverage_by_district",
        "revisions",
    ] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    let q = v["queries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "share_by_district")
        .unwrap();
    assert_eq!(q["title"]["vi"], "Tỷ trọng thương mại điện tử theo huyện");
    // In reading order: from, then to (from's default depends on to).
    assert_eq!(
        q["params"][0],
        json!({"name": "from", "type": "month", "default": "year_start(to)",
        "description": {"vi": "Từ tháng (YYYY-MM)", "en": "First month (YYYY-MM)"}})
    );
    assert_eq!(
        q["params"][1],
        json!({"name": "to", "type": "month", "default": "latest",
        "description": {"vi": "Đến tháng (YYYY-MM)", "en": "Last month (YYYY-MM)"}})
    );
    assert!(q["description_vi"].as_str().unwrap().starts_with("Với từng huyện"));
}

#[tokio::test]
async fn a_query_answers_in_every_format_with_its_version_and_etag() {
    let api = Api::new(AppOptions::default()).await;
    let uri = "/api/v1/queries/share_by_district?to=2025-03";
    let (s, h, b) = api.get(uri, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["x-dataset-version"], "1");
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["dataset_version"], 1);
    assert_eq!(v["params"], json!({"from": "2025-01", "to": "2025-03", "sector": ""}));
    // The same figures as the share API.
    let (_, share) = api.json("/api/v1/share?from=2025-01&to=2025-03").await;
    assert_eq!(province(&v)["total_revenue_vnd"], share["total"]["total_revenue_vnd"]);
    assert_eq!(
        province(&v)["ecommerce_revenue_vnd"],
        share["total"]["ecommerce_revenue_vnd"]
    );

    let etag = h[header::ETAG].to_str().unwrap().to_string();
    let (s, h304, b) = api.get(uri, &[("if-none-match", &etag)]).await;
    assert_eq!((s, b.len()), (StatusCode::NOT_MODIFIED, 0));
    assert_eq!(h304["x-dataset-version"], "1");

    let (s, h, b) = api.get(&format!("{uri}&format=csv"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(
        h[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("share_by_district-v1.csv")
    );
    let text = String::from_utf8(b).unwrap();
    assert!(text.starts_with("\u{feff}district_code,district_name,"), "{text}");
    assert!(text.contains("\r\n380,Thanh Hóa,5244765232,2331199233,"), "{text}");
    assert_ne!(h[header::ETAG], etag, "each format has its own validator");

    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let (s, h, b) = api.get(uri, &[("accept", xlsx)]).await;
    assert_eq!((s, h[header::CONTENT_TYPE].to_str().unwrap()), (StatusCode::OK, xlsx));
    assert_eq!(&b[..2], b"PK");

    let (s, _, b) = api.get(uri, &[("accept", "application/vnd.apache.arrow.stream")]).await;
    assert_eq!(s, StatusCode::OK);
    let reader = datafusion::arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(b), None).unwrap();
    assert_eq!(reader.schema().metadata()["ecomshare.dataset_version"], "1");
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(
        rows, 27,
        "the 26 districts of 2025 (Đông Sơn merged in 2024-12) and the province"
    );

    // Regression (found by schemathesis): `If-None-Match: *` answered 304 to
    // a request whose parameters are wrong, which has no representation.
    let (s, _, _) = api
        .get("/api/v1/queries/share_by_district?from=nil", &[("if-none-match", "*")])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (s, _, b) = api.get(&format!("{uri}&format=parquet"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    let reader =
        datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(b))
            .unwrap()
            .build()
            .unwrap();
    assert_eq!(reader.map(|b| b.unwrap().num_rows()).sum::<usize>(), 27);
}

#[tokio::test]
async fn bad_query_requests_get_the_error_shape() {
    let api = Api::new(AppOptions::default()).await;
    for (uri, headers, status, code) in [
        ("/api/v1/queries/nope", vec![], StatusCode::NOT_FOUND, "unknown_query"),
        (
            "/api/v1/queries/share_by_district?colour=red",
            vec![],
            StatusCode::BAD_REQUEST,
            "unknown_parameter",
        ),
        (
            "/api/v1/queries/share_by_district?to=2025-3",
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_period",
        ),
        (
            "/api/v1/queries/share_by_district?to=2025-01&from=2025-03",
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_range",
        ),
        (
            "/api/v1/queries/share_by_district?sector=NOPE",
            vec![],
            StatusCode::BAD_REQUEST,
            "unknown_sector",
        ),
        (
            "/api/v1/queries/share_by_district?to=2025-01&to=2025-02",
            vec![],
            StatusCode::BAD_REQUEST,
            "repeated_parameter",
        ),
        (
            "/api/v1/queries/share_by_district?format=pdf",
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_format",
        ),
        (
            "/api/v1/queries/share_by_district",
            vec![("accept", "image/png")],
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
        ),
        (
            "/api/v1/queries/share_by_district?as_of=9",
            vec![],
            StatusCode::NOT_FOUND,
            "unknown_version",
        ),
        (
            "/api/v1/queries/share_by_district?as_of=x",
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "/api/v1/queries/revisions?to_version=7",
            vec![],
            StatusCode::NOT_FOUND,
            "unknown_version",
        ),
    ] {
        let (s, _, b) = api.get(uri, &headers).await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!((s, v["error"]["code"].as_str().unwrap()), (status, code), "{uri}: {v}");
    }
}

/// A figure published at version 1 can be reproduced after a revision
/// changes it, by the share API, the named queries and SQL alike.
#[tokio::test]
async fn as_of_returns_the_old_figure_after_a_revision() {
    let api = Api::new(AppOptions::default()).await;
    let (_, before) = api.json("/api/v1/share?from=2025-01&to=2025-03&district=399").await;
    let (_, q_before) = api.json("/api/v1/queries/share_by_district?to=2025-03").await;
    let report = api.ingest("queries/v2_revisions.csv").await;
    assert_eq!(report["dataset_version"], 2);

    let (_, now) = api.json("/api/v1/share?from=2025-01&to=2025-03&district=399").await;
    assert_ne!(
        now["total"]["ecommerce_revenue_vnd"],
        before["total"]["ecommerce_revenue_vnd"]
    );
    assert_eq!(now["dataset_version"], 2);
    let (_, then) = api
        .json("/api/v1/share?from=2025-01&to=2025-03&district=399&as_of=1")
        .await;
    assert_eq!(then["dataset_version"], 1);
    assert_eq!(then["total"], before["total"]);

    let (s, h, b) = api
        .get("/api/v1/queries/share_by_district?to=2025-03&as_of=1", &[])
        .await;
    assert_eq!((s, h["x-dataset-version"].to_str().unwrap()), (StatusCode::OK, "1"));
    let q_then: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(q_then["rows"], q_before["rows"]);
    let (_, q_now) = api.json("/api/v1/queries/share_by_district?to=2025-03").await;
    assert_ne!(
        q_now["rows"], q_before["rows"],
        "the cached answer of version 1 is not served for version 2"
    );

    let (_, sql_then) = api
        .sql("application/json", r#"{"sql": "SELECT sum(weighted_ecommerce_vnd) AS e FROM filings WHERE district_code = '399' AND period BETWEEN '2025-01' AND '2025-03'", "as_of": 1}"#)
        .await;
    assert_eq!(sql_then["rows"][0]["e"], before["total"]["ecommerce_revenue_vnd"]);
    assert_eq!(sql_then["dataset_version"], 1);

    // A target changed after the fact changes current figures, not published ones.
    let reference = api._dir.path().join("data/reference");
    std::fs::create_dir_all(&reference).unwrap();
    std::fs::write(
        reference.join("targets.csv"),
        "year,scope,target_share,source\n2025,province,0.2,test\n",
    )
    .unwrap();
    let (_, now) = api.json("/api/v1/share?from=2025-01&to=2025-03").await;
    assert_eq!(now["total"]["target"], 0.2);
    let (_, then) = api.json("/api/v1/share?from=2025-01&to=2025-03&as_of=2").await;
    assert_eq!(
        then["total"]["target"], 0.1,
        "version 2 was committed under the 10 % target"
    );
    let (_, q_then2) = api.json("/api/v1/queries/share_by_district?to=2025-03&as_of=1").await;
    assert_eq!(q_then2["rows"], q_before["rows"]);

    let (_, rev) = api.json("/api/v1/queries/revisions").await;
    assert_eq!(rev["params"], json!({"from_version": "1", "to_version": "2"}));
    assert_eq!(rev["rows"][0]["unit_id"], "2801475143");
    assert_eq!(rev["rows"][0]["ecommerce_revenue_vnd_before"], 99582531);
    assert_eq!(rev["rows"][0]["ecommerce_revenue_vnd_after"], 120000000);
}

#[tokio::test]
async fn analysts_sql_runs_read_only_over_the_views() {
    let api = Api::new(AppOptions::default()).await;
    let (s, v) = api
        .sql(
            "application/json",
            r#"{"sql": "SELECT district_code, share_of(sum(weighted_ecommerce_vnd), sum(weighted_total_vnd)) AS share, target_status(sum(weighted_ecommerce_vnd), sum(weighted_total_vnd), 2025, district_code) AS status FROM filings WHERE period = $p GROUP BY district_code ORDER BY district_code", "params": {"p": "2025-01"}}"#,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["rows"][0]["district_code"], "380");
    assert_eq!(v["rows"][0]["status"], "met");
    let (s, v) = api
        .sql("application/sql", "SELECT d.district_name, count(*) AS n FROM filings f JOIN districts d USING (district_code) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")
        .await;
    assert_eq!((s, v["rows"][0]["n"].clone()), (StatusCode::OK, json!(6)), "{v}");
}

#[tokio::test]
async fn every_refused_sql_form_is_refused_before_it_runs() {
    let api = Api::new(AppOptions::default()).await;
    for (sql, code) in [
        ("CREATE TABLE t AS SELECT * FROM filings", "sql_refused"),
        ("CREATE VIEW v AS SELECT 1", "sql_refused"),
        ("DROP TABLE filings", "sql_refused"),
        ("INSERT INTO filings SELECT * FROM filings", "sql_refused"),
        ("UPDATE filings SET unit_id = 'x'", "sql_refused"),
        ("DELETE FROM filings", "sql_refused"),
        ("COPY (SELECT * FROM filings) TO '/tmp/leak.csv'", "sql_refused"),
        ("SET datafusion.execution.target_partitions = 1", "sql_refused"),
        (
            "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'",
            "sql_refused",
        ),
        ("SELECT 1; DROP TABLE filings", "sql_refused"),
        (
            "SELECT * FROM generate_series(1, 10000000000)",
            "table_function_refused",
        ),
        ("SELECT * FROM '/etc/passwd'", "unknown_table"),
        ("SELECT * FROM 'https://example.org/f.parquet'", "unknown_table"),
        ("SELECT * FROM superseded", "unknown_table"),
        ("SELECT * FROM information_schema.tables", "unknown_table"),
        ("SELECT nope FROM filings", "invalid_sql"),
        ("SELEC 1", "invalid_sql"),
    ] {
        let (s, v) = api.sql("application/sql", sql).await;
        assert_eq!(
            (s, v["error"]["code"].as_str().unwrap_or("")),
            (StatusCode::BAD_REQUEST, code),
            "{sql}: {v}"
        );
    }
    assert!(!std::path::Path::new("/tmp/leak.csv").exists());
    let (s, v) = api.sql("text/html", "SELECT 1").await;
    assert_eq!(
        (s, v["error"]["code"].as_str().unwrap()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_format")
    );
    let (s, v) = api
        .sql("application/json", r#"{"sql": "SELECT 1", "drop": true}"#)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, "invalid_body")
    );
    let (s, v) = api.sql("application/sql", "SELECT 1 AS a, 2 AS a").await;
    assert_eq!(
        (s, v["error"]["code"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, "invalid_sql")
    );
}

#[tokio::test]
async fn the_row_cap_memory_pool_and_timeout_protect_the_server() {
    let api = Api::new(AppOptions {
        sql_row_cap: 10,
        ..AppOptions::default()
    })
    .await;
    let (s, v) = api.sql("application/sql", "SELECT * FROM filings").await;
    assert_eq!(
        (s, v["error"]["code"].as_str().unwrap()),
        (StatusCode::UNPROCESSABLE_ENTITY, "result_too_large"),
        "{v}"
    );
    let (s, _) = api.sql("application/sql", "SELECT * FROM filings LIMIT 10").await;
    assert_eq!(s, StatusCode::OK);

    let mut options = AppOptions::default();
    options.limits.memory_bytes = 64 << 10;
    let api = Api::new(options).await;
    let (s, v) = api
        .sql("application/sql", "SELECT a.unit_name AS a, b.unit_name AS b, c.unit_name AS c FROM filing_history a, filing_history b, filing_history c ORDER BY 1, 2, 3 LIMIT 5")
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str().unwrap()),
        (StatusCode::UNPROCESSABLE_ENTITY, "memory_limit_exceeded"),
        "{v}"
    );

    let api = Api::new(AppOptions {
        query_timeout: std::time::Duration::from_millis(1),
        ..AppOptions::default()
    })
    .await;
    let (s, v) = api
        .sql(
            "application/sql",
            "SELECT count(*) AS n FROM filing_history a, filing_history b, filing_history c, filing_history d",
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str().unwrap()),
        (StatusCode::UNPROCESSABLE_ENTITY, "query_timeout"),
        "{v}"
    );
}

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_every_query() {
    let api = Api::new(AppOptions::default()).await;
    let (s, doc) = api.json("/api/v1/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/healthz",
        "/api/v1/share",
        "/api/v1/outlook",
        "/api/v1/filings",
        "/api/v1/reference/{table}",
        "/api/v1/queries",
        "/api/v1/queries/{name}",
        "/api/v1/sql",
        "/api/v1/reports",
        "/api/v1/reports/{month}/{file}",
        "/api/v1/reports/{month}",
        "/api/v1/deliveries",
        "/metrics",
        "/api/v1/openapi.json",
        "/api/v1/docs",
        "/charts/{file}",
        "/",
        "/districts/{code}",
        "/sectors/{code}",
        "/api/v1/queries/revisions",
    ] {
        assert!(paths.contains_key(p), "{p} is not documented");
    }
    let rev = &paths["/api/v1/queries/revisions"]["get"]["parameters"];
    assert_eq!(rev[0]["name"], "to_version");
    assert_eq!(rev[0]["schema"]["type"], "integer");
    // Every documented GET without path parameters is served.
    for (path, ops) in paths {
        if path.contains('{') || ops.get("get").is_none() {
            continue;
        }
        let (s, _, _) = api.get(path, &[]).await;
        assert_eq!(s, StatusCode::OK, "GET {path}");
    }
    // Every $ref resolves.
    let text = doc.to_string();
    for r in text.split("\"$ref\":\"#/components/").skip(1) {
        let target = r.split('"').next().unwrap();
        let mut node = &doc["components"];
        for part in target.split('/') {
            node = &node[part];
        }
        assert!(!node.is_null(), "dangling $ref {target}");
    }
    let (s, h, b) = api.get("/api/v1/docs", &[]).await;
    assert_eq!(
        (s, h[header::CONTENT_TYPE].to_str().unwrap()),
        (StatusCode::OK, "text/html; charset=utf-8")
    );
    let html = String::from_utf8(b).unwrap();
    assert!(html.contains("/api/v1/queries/{name}") && html.contains("share_by_district"));
}

/// A large result goes out batch by batch as it is produced, not built in
/// memory first: the body arrives in many frames, and every row is there.
#[tokio::test]
async fn large_results_stream_in_frames() {
    let api = Api::new(AppOptions::default()).await;
    let rows: Vec<Row> = (0..20_000u32)
        .map(|i| {
            let period = format!("2024-{:02}", i % 12 + 1);
            Row::new(
                &tax_code(1000 + i / 12),
                "380",
                "4711",
                &period,
                1000 + i64::from(i),
                10,
            )
        })
        .collect();
    let req = Request::post("/api/v1/filings?name=big.csv")
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(csv(&rows)))
        .unwrap();
    assert_eq!(api.send(req).await.0, StatusCode::CREATED);
    let queries = api._dir.path().join("data/queries");
    std::fs::create_dir_all(&queries).unwrap();
    std::fs::write(
        queries.join("all_filings.sql"),
        "-- title.vi: Tất cả báo cáo\n-- title.en: Every filing\nSELECT unit_id, period, total_revenue_vnd FROM filings\n",
    )
    .unwrap();
    let resp = ecomshare::http::router(api.app.clone())
        .oneshot(
            Request::get("/api/v1/queries/all_filings?format=csv")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let (mut frames, mut bytes) = (0, Vec::new());
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            frames += 1;
            bytes.extend_from_slice(&data);
        }
    }
    let lines = String::from_utf8(bytes).unwrap().lines().count();
    assert_eq!(
        lines,
        1 + 20_000 + 30,
        "the header, the big file, the sample's 30 filings in force"
    );
    assert!(frames >= 3, "{frames} frames");
}

#[tokio::test]
async fn reports_are_generated_archived_listed_and_served() {
    let api = Api::new(AppOptions::default()).await;
    let (s, v) = api.post_empty("/api/v1/reports/2025-03?lang=en").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["month"], "2025-03");
    assert_eq!(v["dataset_version"], 1);
    let (s, list) = api.json("/api/v1/reports").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["reports"][0]["content_sha256"], v["content_sha256"]);
    assert_eq!(list["reports"][0]["files"].as_array().unwrap().len(), 4);
    let (s, h, b) = api.get("/api/v1/reports/2025-03/report.pdf", &[]).await;
    assert_eq!(
        (s, h[header::CONTENT_TYPE].to_str().unwrap()),
        (StatusCode::OK, "application/pdf")
    );
    assert!(b.starts_with(b"%PDF-"));
    let (s, h, _) = api.get("/api/v1/reports/2025-03/report.html", &[]).await;
    assert_eq!(
        (s, h[header::CONTENT_TYPE].to_str().unwrap()),
        (StatusCode::OK, "text/html; charset=utf-8")
    );
    let (s, h, b) = api.get("/api/v1/reports/2025-03/report.json", &[]).await;
    assert_eq!(
        (s, h[header::CONTENT_TYPE].to_str().unwrap()),
        (StatusCode::OK, "application/json")
    );
    let report: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(report["language"], "en");
    assert_eq!(report["content_sha256"], v["content_sha256"]);
    let (s, _, b) = api.get("/api/v1/reports/2025-03/report.xlsx", &[]).await;
    assert_eq!((s, &b[..2]), (StatusCode::OK, &b"PK"[..]));
    for uri in [
        "/api/v1/reports/2025-03/manifest.json",
        "/api/v1/reports/2025-04/report.json",
        "/api/v1/reports/..%2F..%2Fmanifest/00000001.json",
    ] {
        assert_eq!(api.get(uri, &[]).await.0, StatusCode::NOT_FOUND, "{uri}");
    }
    // The same month, language and version again: kept as it was, not generated twice.
    let (s, again) = api.post_empty("/api/v1/reports/2025-03?lang=en").await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["content_sha256"], v["content_sha256"]);
    let (s, outbox) = api.json("/api/v1/deliveries").await;
    assert_eq!((s, outbox), (StatusCode::OK, serde_json::json!({"deliveries": []})));
    let (s, e) = api.json("/api/v1/deliveries?state=lost").await;
    assert_eq!(
        (s, e["error"]["code"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, "invalid_state")
    );
    let (s, v) = api.post_empty("/api/v1/reports/2025-13").await;
    assert_eq!(
        (s, v["error"]["code"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, "invalid_period")
    );
}
