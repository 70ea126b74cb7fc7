//! Criterion bench of the year's outlook answered from the rollup: the use
//! case (`App::outlook`, nothing cached between iterations) for the
//! province, a district and a commune, for an admin (full figures) and for
//! a viewer (disclosure control: the share answers it consults are kept
//! per version, as a server keeps them), and one whole request
//! (`GET /api/v1/outlook`) through the router. The snapshot is loaded
//! (and the rollup read whole, as a server reads it) before timing.
//!
//! `ECOMSHARE_BENCH_DATA=DIR` measures an existing data directory (the
//! 10M-filing one of `benches/queries.py`) instead of a generated one;
//! `ECOMSHARE_BENCH_TOKEN` is the token the request sends there (none:
//! open local mode, which needs a directory without tokens);
//! `ECOMSHARE_BENCH_YEAR`, `ECOMSHARE_BENCH_DISTRICT` and
//! `ECOMSHARE_BENCH_COMMUNE` choose the year (default: the latest with
//! data) and the scopes (default 380 and 14758). See benches/README.md.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{Criterion, criterion_group, criterion_main};
use ecomshare::access::tokens::TokenStore;
use ecomshare::cli::demo::{DemoOptions, generate};
use ecomshare::domain::Period;
use ecomshare::http::HttpOptions;
use ecomshare::ingest::Format;
use ecomshare::service::{App, Audience, IngestSource, OutlookParams};
use ecomshare::store::builtin_reference;
use http_body_util::BodyExt;
use std::hint::black_box;
use std::sync::Arc;
use tower::ServiceExt;

/// The app to measure, the token to send (if any), and the temporary
/// directory to keep alive.
fn site() -> (Arc<App>, Option<String>, Option<tempfile::TempDir>) {
    if let Ok(dir) = std::env::var("ECOMSHARE_BENCH_DATA") {
        let app = Arc::new(App::open(&dir).expect("open ECOMSHARE_BENCH_DATA"));
        let token = std::env::var("ECOMSHARE_BENCH_TOKEN").ok();
        let tokens = !TokenStore::new(app.data_dir())
            .is_empty()
            .expect("read the token store");
        assert!(
            token.is_some() || !tokens,
            "{dir} has tokens: give a viewer's or an admin's in ECOMSHARE_BENCH_TOKEN"
        );
        return (app, token, None);
    }
    // 3,000 demo units over 52 months to 2026-04 (about 150,000 filings and
    // their revisions): a year in progress with four years before it.
    let options = DemoOptions {
        seed: 1,
        end: Period::new(2026, 4).expect("valid"),
        months: 52,
        units: 3000,
    };
    let files = generate(&builtin_reference(), &options);
    let dir = tempfile::tempdir().expect("temp dir");
    let app = Arc::new(App::open(dir.path().join("data")).expect("open"));
    for (name, text) in [("filings.csv", files.filings), ("revisions.csv", files.revisions)] {
        app.ingest(vec![IngestSource::Bytes {
            name: name.into(),
            format: Some(Format::Csv),
            bytes: text.into_bytes(),
        }])
        .expect("ingest");
    }
    (app, None, Some(dir))
}

fn outlook(c: &mut Criterion) {
    let (app, token, _dir) = site();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    let year = std::env::var("ECOMSHARE_BENCH_YEAR").ok();
    let district = env("ECOMSHARE_BENCH_DISTRICT", "380");
    let commune = env("ECOMSHARE_BENCH_COMMUNE", "14758");
    let params = |audience: Audience, district: Option<&str>, commune: Option<&str>| OutlookParams {
        audience,
        year: year.clone(),
        district: district.map(str::to_string),
        commune: commune.map(str::to_string),
        as_of: None,
    };
    let cases = [
        ("province", params(Audience::Full, None, None)),
        ("district", params(Audience::Full, Some(&district), None)),
        ("commune", params(Audience::Full, None, Some(&commune))),
        ("province_protected", params(Audience::Protected, None, None)),
        ("district_protected", params(Audience::Protected, Some(&district), None)),
    ];
    // The first answers load the version and keep the share answers
    // disclosure control consults; their times are printed.
    for (name, p) in &cases {
        let started = std::time::Instant::now();
        let answer = runtime.block_on(app.outlook(p)).expect("outlook");
        eprintln!(
            "outlook/{name}: year {} through {:?}, status {}; first answer {:.1} ms",
            answer.outlook.year,
            answer.through,
            answer.outlook.status.code(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    let mut group = c.benchmark_group("outlook");
    for (name, p) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| black_box(runtime.block_on(app.outlook(p)).expect("outlook").through))
        });
    }

    let router = ecomshare::http::router_with(
        app.clone(),
        HttpOptions {
            rate_per_s: None,
            ..HttpOptions::default()
        },
    );
    let uri = match &year {
        Some(y) => format!("/api/v1/outlook?year={y}"),
        None => "/api/v1/outlook".to_string(),
    };
    let request = || {
        let mut r = Request::get(uri.as_str());
        if let Some(t) = &token {
            r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        r.body(Body::empty()).expect("request")
    };
    let _guard = runtime.enter();
    group.bench_function("request_province", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let resp = router.clone().oneshot(request()).await.expect("router");
                assert_eq!(resp.status(), StatusCode::OK, "{uri}");
                black_box(resp.into_body().collect().await.expect("body").to_bytes().len())
            })
        })
    });
    group.finish();
}

criterion_group!(benches, outlook);
criterion_main!(benches);
