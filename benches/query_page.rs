//! Criterion bench of a cached query page through the router: the time to
//! the response head (the first byte a server would send) and to the end
//! of the body of `GET /queries/share_by_district?…&run=1`, the result
//! already in the result cache. The page's size is printed and given as
//! the throughput. Generating and ingesting the data, and the first
//! (uncached) request, happen outside the timed loops.
//!
//! `ECOMSHARE_BENCH_DATA=DIR` measures an existing data directory (the
//! 10M-filing one of `benches/queries.py`) instead of a generated one;
//! `ECOMSHARE_BENCH_TOKEN` is the token to send there (none: open local
//! mode, which needs a directory without tokens); `ECOMSHARE_BENCH_QUERY`
//! replaces the page's query string. See benches/README.md.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ecomshare::access::tokens::TokenStore;
use ecomshare::cli::demo::{DemoOptions, generate};
use ecomshare::domain::{Period, Role};
use ecomshare::http::HttpOptions;
use ecomshare::ingest::Format;
use ecomshare::service::{App, IngestSource};
use ecomshare::store::builtin_reference;
use http_body_util::BodyExt;
use std::hint::black_box;
use std::sync::Arc;
use tower::ServiceExt;

const DEFAULT_QUERY: &str = "from=2025-01&to=2025-12&sector=&run=1";

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
            "{dir} has tokens: give an analyst's in ECOMSHARE_BENCH_TOKEN"
        );
        return (app, token, None);
    }
    // 3,000 demo units over 36 months to 2025-12 (about 100,000 filings),
    // as benches/pipeline.rs.
    let options = DemoOptions {
        seed: 1,
        end: Period::new(2025, 12).expect("valid"),
        months: 36,
        units: 3000,
    };
    let filings = generate(&builtin_reference(), &options).filings.into_bytes();
    let dir = tempfile::tempdir().expect("temp dir");
    let app = Arc::new(App::open(dir.path().join("data")).expect("open"));
    app.ingest(vec![IngestSource::Bytes {
        name: "bench.csv".into(),
        format: Some(Format::Csv),
        bytes: filings,
    }])
    .expect("ingest");
    // An analyst: the page's reader, figures under disclosure control.
    let (_, token) = TokenStore::new(app.data_dir())
        .create(Role::Analyst, "bench", None, chrono::Utc::now())
        .expect("token");
    (app, Some(token), Some(dir))
}

fn query_page(c: &mut Criterion) {
    let (app, token, _dir) = site();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let router = ecomshare::http::router_with(
        app,
        HttpOptions {
            rate_per_s: None,
            ..HttpOptions::default()
        },
    );
    let query = std::env::var("ECOMSHARE_BENCH_QUERY").unwrap_or_else(|_| DEFAULT_QUERY.into());
    let uri = format!("/queries/share_by_district?{query}");
    let request = || {
        let mut r = Request::get(uri.as_str());
        if let Some(t) = &token {
            r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        r.body(Body::empty()).expect("request")
    };
    // The first request loads the version, computes the result and caches it.
    let _guard = runtime.enter();
    let size = runtime.block_on(async {
        let started = std::time::Instant::now();
        let resp = router.clone().oneshot(request()).await.expect("router");
        assert_eq!(resp.status(), StatusCode::OK, "{uri}");
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        eprintln!(
            "{uri}: {} bytes; first request (uncached) {:.1} ms",
            body.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
        body.len()
    });
    let mut group = c.benchmark_group("query_page");
    group.throughput(Throughput::Bytes(size as u64));
    group.bench_function("first_byte", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let resp = router.clone().oneshot(request()).await.expect("router");
                black_box(resp.status())
            })
        })
    });
    group.bench_function("whole_body", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let resp = router.clone().oneshot(request()).await.expect("router");
                black_box(resp.into_body().collect().await.expect("body").to_bytes().len())
            })
        })
    });
    group.finish();
}

criterion_group!(benches, query_page);
criterion_main!(benches);
