//! Criterion benches of the dashboard's charts: building each chart's
//! figures through the share API (answers cached per dataset version, as for
//! a repeated request), and drawing it as SVG and PNG. The dataset
//! is ingested once, outside the timed loops.

use criterion::{Criterion, criterion_group, criterion_main};
use ecomshare::cli::demo::{DemoOptions, generate};
use ecomshare::domain::Period;
use ecomshare::ingest::Format as FileFormat;
use ecomshare::present::charts::{Format, Size, render};
use ecomshare::present::dashboard::{ChartKind, chart};
use ecomshare::present::locale::Lang;
use ecomshare::service::{App, IngestSource, ShareParams};
use ecomshare::store::builtin_reference;
use std::hint::black_box;

fn charts(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = App::open(dir.path().join("data")).expect("open");
    let options = DemoOptions {
        seed: 1,
        end: Period::new(2025, 12).expect("valid"),
        months: 36,
        units: 3000,
    };
    let files = generate(&builtin_reference(), &options);
    app.ingest(vec![IngestSource::Bytes {
        name: "bench.csv".into(),
        format: Some(FileFormat::Csv),
        bytes: files.filings.into_bytes(),
    }])
    .expect("ingest");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let params = ShareParams::default();
    let size = Size::new(960, 540).expect("size");
    let mut group = c.benchmark_group("charts");
    group.sample_size(20);
    for kind in ChartKind::ALL {
        let figures = runtime.block_on(chart(&app, kind, &params, Lang::Vi)).expect("chart");
        // Through the per-version cache of answers, as a repeated request is.
        group.bench_function(format!("{}_figures_cached", kind.name()), |b| {
            b.iter(|| black_box(runtime.block_on(chart(&app, kind, &params, Lang::Vi)).expect("chart")))
        });
        for format in [Format::Svg, Format::Png] {
            group.bench_function(format!("{}_{format:?}", kind.name()), |b| {
                b.iter(|| black_box(render(&figures, format, size, Lang::Vi).expect("render")))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, charts);
criterion_main!(benches);
