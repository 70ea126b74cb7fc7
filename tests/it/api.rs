//! The HTTP API through the real router (in process), and once through a
//! real socket.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Row, csv, fixture, tax_code};
use ecomshare::service::App;
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

struct Api {
    _dir: tempfile::TempDir,
    app: Arc<App>,
}

impl Api {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let app = Arc::new(App::open(dir.path().join("data")).unwrap());
        Self { _dir: dir, app }
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        common::exchange(ecomshare::http::router(self.app.clone()), req).await
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let (s, _, b) = self.send(Request::get(uri).body(Body::empty()).unwrap()).await;
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    async fn post(&self, uri: &str, content_type: &str, body: impl Into<Body>) -> (StatusCode, Value) {
        let req = Request::post(uri)
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap();
        let (s, _, b) = self.send(req).await;
        (s, serde_json::from_slice(&b).unwrap())
    }

    async fn with_sample(self) -> Self {
        let text = std::fs::read(fixture("sample_filings.csv")).unwrap();
        let (s, v) = self.post("/api/v1/filings?name=sample.csv", "text/csv", text).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["rejections"], serde_json::json!([]), "the sample is valid");
        self
    }
}

#[tokio::test]
async fn post_filings_csv_and_json_give_the_ingest_report() {
    let api = Api::new();
    let text = csv(&[
        Row::new(&tax_code(1), "380", "4711", "2025-01", 1000, 70),
        Row::new("bad", "380", "4711", "2025-01", 1000, 70),
    ]);
    let (s, v) = api
        .post("/api/v1/filings?name=jan.csv", "text/csv; charset=utf-8", text)
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["dataset_version"], 1);
    assert_eq!(v["files"][0]["file"], "jan.csv");
    assert_eq!(v["files"][0]["accepted"], 1);
    assert_eq!(v["rejections"][0]["reason"], "invalid_unit_id");
    assert_eq!(v["rejections"][0]["record"], 2);

    let json = format!(
        r#"[{{"unit_id":"{}","district_code":"381","sector_code":"5610","period":"2025-01","total_revenue_vnd":"500","ecommerce_revenue_vnd":50,"weight":"2"}}]"#,
        tax_code(2)
    );
    let (s, v) = api.post("/api/v1/filings", "application/json", json).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["dataset_version"], 2);
    let (_, share) = api.get("/api/v1/share?from=2025-01&to=2025-01").await;
    assert_eq!(share["total"]["total_revenue_vnd"], "2000");
    assert_eq!(share["total"]["ecommerce_revenue_vnd"], "170");
    assert_eq!(share["total"]["share"], 0.085);
    // The months an upload changed have their disclosure contributions
    // counted after the answer, not at a viewer's first table.
    let kept = api.app.data_dir().join("cache/kept/2025-01-v2-k5.json");
    for _ in 0..200 {
        if kept.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(kept.exists(), "{} kept after the upload", kept.display());
}

#[tokio::test]
async fn every_reason_code_through_the_api() {
    let api = Api::new();
    let text = std::fs::read(fixture("bad_filings.csv")).unwrap();
    let (s, v) = api.post("/api/v1/filings?name=bad.csv", "text/csv", text).await;
    assert_eq!(s, StatusCode::CREATED);
    let reasons: Vec<(u64, &str)> = v["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["record"].as_u64().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    let codes: Vec<&str> = ecomshare::domain::RejectReason::ALL.iter().map(|r| r.code()).collect();
    let expected: Vec<(u64, &str)> = codes.iter().enumerate().map(|(i, c)| (i as u64 + 1, *c)).collect();
    assert_eq!(reasons, expected);
    assert_eq!(v["files"][0]["accepted"], 1);
}

#[tokio::test]
async fn answers_follow_each_new_dataset_version() {
    let api = Api::new().with_sample().await;
    let uri = "/api/v1/share?from=2025-03&to=2025-03";
    let (_, first) = api.get(uri).await;
    let (_, again) = api.get(uri).await;
    assert_eq!(first, again);
    // A revision of one filing (same key, later submission) changes the figures at once.
    let revision = format!(
        "{}\n2801079196,380,4711,2025-03,5,1,2026-01-01T00:00:00+07:00,,\n",
        common::HEADER
    );
    let (s, _) = api.post("/api/v1/filings", "text/csv", revision).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, after) = api.get(uri).await;
    assert_eq!(after["dataset_version"], 2);
    assert_ne!(after["total"]["total_revenue_vnd"], first["total"]["total_revenue_vnd"]);
    assert_eq!(
        after["total"]["filings"], first["total"]["filings"],
        "a revision replaces, it does not add"
    );
}

#[tokio::test]
async fn refused_uploads_use_the_error_shape_and_change_nothing() {
    let api = Api::new();
    let (s, v) = api.post("/api/v1/filings", "text/plain", "x").await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(v["error"]["code"], "unsupported_format");
    let (s, v) = api.post("/api/v1/filings", "text/csv", "unit_id,period\n1,2\n").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], "missing_columns");
    let (s, v) = api
        .post("/api/v1/filings", "application/json", "{\"not\":\"an array\"}")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], "invalid_json");
    // Too large for the upload limit: the same error shape.
    let small = ecomshare::http::router_with_upload_limit(api.app.clone(), 64);
    let big = std::fs::read(fixture("sample_filings.csv")).unwrap();
    let req = Request::post("/api/v1/filings")
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(big))
        .unwrap();
    let resp = small.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: Value = serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(v["error"]["code"], "payload_too_large");
    let (_, health) = api.get("/healthz").await;
    assert_eq!(health["dataset_version"], 0);
}

#[tokio::test]
async fn share_rows_carry_names_targets_and_status() {
    let api = Api::new().with_sample().await;
    let (s, v) = api.get("/api/v1/share?from=2025-01&to=2025-03&by=district").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["from"], "2025-01");
    assert_eq!(v["to"], "2025-03");
    assert_eq!(v["by"], serde_json::json!(["district"]));
    assert_eq!(v["target"], 0.1, "2025 target in force");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        26,
        "every district whose area existed in 2025 (Đông Sơn merged in 2024-12)"
    );
    assert!(!rows.iter().any(|r| r["district_code"] == "405"));
    let (_, v2024) = api.get("/api/v1/share?from=2024-12&to=2025-03&by=district").await;
    assert_eq!(
        v2024["rows"].as_array().unwrap().len(),
        27,
        "Đông Sơn is listed while it existed"
    );
    let codes: Vec<&str> = rows.iter().map(|r| r["district_code"].as_str().unwrap()).collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted, "sorted by key");
    let city = rows.iter().find(|r| r["district_code"] == "380").unwrap();
    assert_eq!(city["district_name"], "Thanh Hóa");
    assert!(city["share"].as_f64().unwrap() > 0.0);
    assert!(["met", "below"].contains(&city["status"].as_str().unwrap()));
    let gap = city["gap_pp"].as_f64().unwrap();
    assert!((gap - (city["share"].as_f64().unwrap() - 0.1) * 100.0).abs() < 1e-9);
    let empty = rows.iter().find(|r| r["district_code"] == "401").unwrap();
    assert_eq!(empty["status"], "no_data");
    assert_eq!(empty["share"], Value::Null);
    assert_eq!(empty["filings"], 0);
    assert_eq!(empty["total_revenue_vnd"], "0");
    // The total is the ratio of the sums, not a mean of row shares.
    let sum = |k: &str| {
        rows.iter()
            .map(|r| r[k].as_str().unwrap().parse::<f64>().unwrap())
            .sum::<f64>()
    };
    let ratio = sum("ecommerce_revenue_vnd") / sum("total_revenue_vnd");
    assert!((v["total"]["share"].as_f64().unwrap() - ratio).abs() < 1e-12);
}

#[tokio::test]
async fn breakdowns_by_quarter_year_vsic_and_filters() {
    let api = Api::new().with_sample().await;
    let (_, v) = api.get("/api/v1/share?from=2025-01&to=2025-03&by=quarter,year").await;
    assert_eq!(v["rows"][0]["quarter"], "2025-Q1");
    assert_eq!(v["rows"][0]["year"], "2025");
    let (_, v) = api
        .get("/api/v1/share?from=2025-01&to=2025-03&by=vsic&sector=OTHER_GOODS")
        .await;
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["vsic_code"], "4791");
    assert_eq!(
        rows[0]["vsic_name"],
        "Bán lẻ theo yêu cầu đặt hàng qua bưu điện hoặc internet"
    );
    let (_, v) = api
        .get("/api/v1/share?from=2025-02&to=2025-02&district=380&by=period")
        .await;
    assert_eq!(v["rows"].as_array().unwrap().len(), 1);
    assert_eq!(v["total"]["units"], 2);
    // Default range: the latest 12 months with data.
    let (_, v) = api.get("/api/v1/share").await;
    assert_eq!(
        (v["from"].as_str(), v["to"].as_str()),
        (Some("2024-04"), Some("2025-03"))
    );
}

#[tokio::test]
async fn bad_parameters_get_400_with_a_stable_code() {
    let api = Api::new().with_sample().await;
    for (query, code) in [
        ("from=2025-1", "invalid_period"),
        ("to=2025-13", "invalid_period"),
        ("from=2025-03&to=2025-01", "invalid_range"),
        ("by=district,month", "invalid_dimension"),
        ("district=380,999", "unknown_district"),
        ("sector=FOOD,GROCERIES", "unknown_sector"),
        ("vsic=4610", "unknown_vsic"),
        ("distrct=380", "unknown_parameter"),
        ("by=district&by=sector", "repeated_parameter"),
    ] {
        let (s, v) = api.get(&format!("/api/v1/share?{query}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(v["error"]["code"], code, "{query}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }
    let (s, v) = api.get("/api/v1/nothing").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "not_found");
}

#[tokio::test]
async fn conditional_get_and_csv_by_accept() {
    let api = Api::new().with_sample().await;
    let uri = "/api/v1/share?from=2025-01&to=2025-03&by=sector";
    let (s, h, _) = api.send(Request::get(uri).body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    let etag = h[header::ETAG].to_str().unwrap().to_string();
    let (s, _, body) = api
        .send(
            Request::get(uri)
                .header(header::IF_NONE_MATCH, &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    // A new dataset version changes the tag.
    let more = csv(&[Row::new(&tax_code(9), "380", "4711", "2025-03", 10, 1)]);
    api.post("/api/v1/filings", "text/csv", more).await;
    let (s, h, _) = api
        .send(
            Request::get(uri)
                .header(header::IF_NONE_MATCH, &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(h[header::ETAG].to_str().unwrap(), etag);
    // CSV when asked for.
    let (s, h, body) = api
        .send(
            Request::get(uri)
                .header(header::ACCEPT, "text/csv")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(h[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    assert!(String::from_utf8(body).unwrap().starts_with("sector_code,sector_name,"));
    let (s, _, _) = api
        .send(
            Request::get(uri)
                .header(header::ACCEPT, "image/png")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn reference_tables_and_openapi() {
    let api = Api::new();
    let (s, v) = api.get("/api/v1/reference/districts").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 27);
    assert_eq!(v[0]["district_code"], "380");
    let (_, v) = api.get("/api/v1/reference/targets").await;
    assert_eq!(v[0]["target_share"], 0.07);
    let (_, v) = api.get("/api/v1/reference/sectors").await;
    assert_eq!(v.as_array().unwrap().len(), 15);
    let (_, v) = api.get("/api/v1/reference/vsic").await;
    assert!(v.as_array().unwrap().iter().any(|r| r["vsic_code"] == "47732"));
    let (s, _) = api.get("/api/v1/reference/provinces").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = api.get("/api/v1/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["openapi"], "3.1.0");
    for path in [
        "/api/v1/share",
        "/api/v1/filings",
        "/api/v1/reference/{table}",
        "/healthz",
        "/charts/{file}",
        "/",
        "/districts/{code}",
        "/sectors/{code}",
    ] {
        assert!(v["paths"].get(path).is_some(), "{path} documented");
    }
}

#[tokio::test]
async fn charts_in_svg_and_png_with_etags() {
    let api = Api::new().with_sample().await;
    for name in ["trend", "districts", "heatmap", "map", "sectors"] {
        let (s, h, body) = api
            .send(Request::get(format!("/charts/{name}.svg")).body(Body::empty()).unwrap())
            .await;
        assert_eq!(s, StatusCode::OK, "{name}.svg");
        assert_eq!(h[header::CONTENT_TYPE], "image/svg+xml");
        let svg = String::from_utf8(body).unwrap();
        assert!(svg.starts_with("<svg"), "{name}");
        assert!(
            svg.contains("TMĐT") && svg.contains("tháng"),
            "{name}: Vietnamese title"
        );
        let (s, h, body) = api
            .send(
                Request::get(format!("/charts/{name}.png?width=640&height=400"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{name}.png");
        assert_eq!(h[header::CONTENT_TYPE], "image/png");
        assert_eq!(&body[..8], b"\x89PNG\r\n\x1a\n");
        let etag = h[header::ETAG].to_str().unwrap().to_string();
        let (s, _, _) = api
            .send(
                Request::get(format!("/charts/{name}.png?width=640&height=400"))
                    .header(header::IF_NONE_MATCH, &etag)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_MODIFIED, "{name}");
    }
    // The text alternative lists every value.
    let (s, h, body) = api
        .send(Request::get("/charts/districts.txt").body(Body::empty()).unwrap())
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(h[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
    let text = String::from_utf8(body).unwrap();
    assert!(text.starts_with("Tỷ trọng TMĐT theo huyện"));
    assert_eq!(text.matches("; ").count(), 26, "27 districts: {text}");
    let (_, _, body) = api
        .send(
            Request::get("/charts/districts.svg?lang=en")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let svg = String::from_utf8(body).unwrap();
    assert!(svg.contains("E-commerce share by district"));
    assert!(svg.contains("Thanh Hoa City"));
    for (uri, status, code) in [
        (
            "/charts/districts.svg?width=50",
            StatusCode::BAD_REQUEST,
            "invalid_size",
        ),
        ("/charts/districts.svg?lang=fr", StatusCode::BAD_REQUEST, "invalid_lang"),
        // Regression (found by schemathesis): the trend ignored a malformed `from`.
        ("/charts/trend.svg?from=null", StatusCode::BAD_REQUEST, "invalid_period"),
        (
            "/charts/districts.svg?by=sector",
            StatusCode::BAD_REQUEST,
            "unknown_parameter",
        ),
        (
            "/charts/districts.svg?district=999",
            StatusCode::BAD_REQUEST,
            "unknown_district",
        ),
        ("/charts/pie.svg", StatusCode::NOT_FOUND, "not_found"),
        ("/charts/districts.gif", StatusCode::NOT_FOUND, "not_found"),
    ] {
        let (s, v) = api.get(uri).await;
        assert_eq!(s, status, "{uri}");
        assert_eq!(v["error"]["code"], code, "{uri}");
    }
}

#[tokio::test]
async fn the_dashboard_shows_the_apis_figures_in_vietnamese_and_english() {
    let api = Api::new().with_sample().await;
    let (s, h, body) = api.send(Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("<html lang=\"vi\">"));
    assert!(html.contains(
        "Tỷ trọng doanh thu thương mại điện tử trong tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng"
    ));
    // The headline tiles carry the share API's figures, in vi-VN style.
    let (_, month) = api.get("/api/v1/share?from=2025-03&to=2025-03").await;
    let (_, ytd) = api.get("/api/v1/share?from=2025-01&to=2025-03").await;
    let vi = |x: f64| ecomshare::present::locale::percent(x, 1, ecomshare::present::locale::Lang::Vi);
    assert!(html.contains(&format!(
        "<div class=\"value\">{}</div>",
        vi(month["total"]["share"].as_f64().unwrap())
    )));
    assert!(html.contains(&format!(
        "<div class=\"value\">{}</div>",
        vi(ytd["total"]["share"].as_f64().unwrap())
    )));
    assert!(html.contains("10,0 %"), "the 2025 target");
    // Every district has a row; the charts are on the page with text alternatives.
    assert_eq!(html.matches("href=\"/districts/").count(), 27);
    for name in ["trend", "districts", "map", "heatmap", "sectors"] {
        assert!(html.contains(&format!("src=\"/charts/{name}.svg?")), "{name}");
    }
    assert!(!html.contains("alt=\"\""));
    // The tables behind the trend and the heat map.
    assert!(html.contains("<caption>Tỷ trọng TMĐT hằng tháng"));
    assert!(html.contains("<table class=\"heat\"><caption>Tỷ trọng TMĐT theo huyện và ngành"));
    assert_eq!(
        html.matches("<abbr title=").count(),
        7,
        "one column per sector with data in the sample"
    );
    // Self-contained: nothing loaded from elsewhere, no script.
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<script"));
    // English by parameter and by Accept-Language.
    let (_, _, body) = api.send(Request::get("/?lang=en").body(Body::empty()).unwrap()).await;
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("E-commerce share of total retail sales")
    );
    let (_, _, body) = api
        .send(
            Request::get("/")
                .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9,vi;q=0.5")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(String::from_utf8(body).unwrap().contains("<html lang=\"en\">"));
    // Filters are query parameters; a bad one gets the error shape.
    let (_, _, body) = api
        .send(Request::get("/?district=380&from=&to=").body(Body::empty()).unwrap())
        .await;
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("<option value=\"380\" selected>")
    );
    let (s, v) = api.get("/?district=999").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], "unknown_district");
}

#[tokio::test]
async fn warming_the_default_views_works_on_an_empty_and_a_filled_dataset() {
    let api = Api::new();
    ecomshare::present::dashboard::warm(&api.app).await.unwrap();
    let (s, _, _) = api.send(Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK, "the page of an empty dataset");
    let api = api.with_sample().await;
    ecomshare::present::dashboard::warm(&api.app).await.unwrap();
}

#[tokio::test]
async fn district_and_sector_pages() {
    let api = Api::new().with_sample().await;
    let (s, _, body) = api
        .send(Request::get("/districts/380").body(Body::empty()).unwrap())
        .await;
    assert_eq!(s, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    // Thanh Hóa city has the highest share of the sample's districts.
    assert!(html.contains("<h2>thành phố Thanh Hóa — xếp hạng 1/"), "{html}");
    assert!(html.contains("src=\"/charts/trend.svg?district=380\""));
    let (s, _, body) = api
        .send(Request::get("/sectors/FOOD?lang=en").body(Body::empty()).unwrap())
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("<h2>Sector: Food and foodstuff</h2>")
    );
    for uri in ["/districts/999", "/sectors/NOPE"] {
        let (s, v) = api.get(uri).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(v["error"]["code"], "not_found");
    }
}

#[tokio::test]
async fn the_dashboard_weighs_under_300_kb_with_its_charts() {
    let api = Api::new().with_sample().await;
    let (_, _, page) = api.send(Request::get("/").body(Body::empty()).unwrap()).await;
    let html = String::from_utf8(page.clone()).unwrap();
    let mut total = page.len();
    for src in html
        .split("src=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().replace("&amp;", "&"))
    {
        let (s, _, body) = api.send(Request::get(src.as_str()).body(Body::empty()).unwrap()).await;
        assert_eq!(s, StatusCode::OK, "{src}");
        total += body.len();
    }
    assert!(total < 300 * 1024, "page and charts weigh {total} bytes");
}

#[tokio::test]
async fn a_real_server_on_a_socket() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let api = Api::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let options = ecomshare::http::HttpOptions::default();
    let server = tokio::spawn(ecomshare::http::serve(listener, api.app.clone(), options, async {
        let _ = rx.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"dataset_version\":0"));
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_a_new_answer_compute_it_once() {
    let api = Api::new().with_sample().await;
    // A viewer's answer is protected: disclosure control's scan of the
    // filings makes its computation wait on the engine, where callers meet.
    let (_, viewer) = ecomshare::access::tokens::TokenStore::new(api.app.data_dir())
        .create(ecomshare::domain::Role::Viewer, "v", None, chrono::Utc::now())
        .unwrap();
    let router = ecomshare::http::router(api.app.clone());
    let before = api.app.share_answers_computed();
    let uri = "/api/v1/share?by=district,sector&from=2025-01&to=2025-03";
    let asks = (0..16).map(|_| {
        let router = router.clone();
        let bearer = format!("Bearer {viewer}");
        tokio::spawn(async move {
            let req = Request::get(uri)
                .header(header::AUTHORIZATION, bearer)
                .body(Body::empty())
                .unwrap();
            let resp = router.oneshot(req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.into_body().collect().await.unwrap().to_bytes()
        })
    });
    let bodies: Vec<_> = futures::future::join_all(asks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every caller gets the same answer"
    );
    assert_eq!(
        api.app.share_answers_computed() - before,
        1,
        "sixteen callers at once, one computation"
    );
}

/// Requests schemathesis found against the OpenAPI document (kept in
/// `fixtures/bad/requests.json` with the outcome each must have): hostile
/// parameters, odd `If-None-Match` headers and empty bodies get the status
/// and error code recorded there, over the sample filings.
#[tokio::test]
async fn the_requests_schemathesis_found_keep_their_outcomes() {
    let api = Api::new().with_sample().await;
    let cases: Vec<Value> = serde_json::from_slice(&std::fs::read(fixture("bad/requests.json")).unwrap()).unwrap();
    assert!(!cases.is_empty());
    for case in &cases {
        let what = case["what"].as_str().unwrap();
        let mut req = Request::builder()
            .method(case["method"].as_str().unwrap())
            .uri(case["path"].as_str().unwrap());
        for (name, value) in case["headers"].as_object().unwrap() {
            req = req.header(name.as_str(), value.as_str().unwrap());
        }
        let body = case["body"]
            .as_str()
            .map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let (status, _, bytes) = api.send(req.body(body).unwrap()).await;
        let code = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .map(|v| v["error"]["code"].clone());
        let got = serde_json::json!({"status": status.as_u16(), "code": code.unwrap_or(Value::Null)});
        if std::env::var_os("PRINT_OUTCOMES").is_some() {
            println!("{what}: {got}");
            continue;
        }
        assert_eq!(got, case["outcome"], "{what}");
    }
}
