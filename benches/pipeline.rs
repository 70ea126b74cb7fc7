//! Criterion benches of the pipeline: ingest of a demo-sized file and a
//! district × sector share over the resulting dataset. Data generation and
//! the dataset build happen outside the timed loops.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ecomshare::cli::demo::{DemoOptions, generate};
use ecomshare::domain::Period;
use ecomshare::ingest::Format;
use ecomshare::service::{App, IngestSource, ShareParams};
use ecomshare::store::builtin_reference;
use std::hint::black_box;

fn demo_csv(units: u32) -> Vec<u8> {
    let options = DemoOptions {
        seed: 1,
        end: Period::new(2025, 12).expect("valid"),
        months: 36,
        units,
    };
    generate(&builtin_reference(), &options).filings.into_bytes()
}

fn ingest(c: &mut Criterion) {
    let bytes = demo_csv(3000);
    let records = bytes.iter().filter(|&&b| b == b'\n').count() - 1;
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    group.throughput(criterion::Throughput::Elements(records as u64));
    group.bench_function(format!("{records}_filings_csv"), |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("temp dir");
                let app = App::open(dir.path().join("data")).expect("open");
                (dir, app, bytes.clone())
            },
            |(dir, app, bytes)| {
                let report = app
                    .ingest(vec![IngestSource::Bytes {
                        name: "bench.csv".into(),
                        format: Some(Format::Csv),
                        bytes,
                    }])
                    .expect("ingest");
                black_box(report);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn share(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = App::open(dir.path().join("data")).expect("open");
    app.ingest(vec![IngestSource::Bytes {
        name: "bench.csv".into(),
        format: Some(Format::Csv),
        bytes: demo_csv(3000),
    }])
    .expect("ingest");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let params = ShareParams {
        from: Some("2025-01".into()),
        to: Some("2025-12".into()),
        by: Some("district,sector".into()),
        ..ShareParams::default()
    };
    // Warm the snapshot cache: the bench measures the query, not registration.
    runtime.block_on(app.share(&params)).expect("share");
    let mut group = c.benchmark_group("share");
    group.sample_size(10);
    group.bench_function("district_x_sector_one_year", |b| {
        b.iter(|| black_box(runtime.block_on(app.share_uncached(&params)).expect("share")))
    });
    group.finish();
}

criterion_group!(benches, ingest, share);
criterion_main!(benches);
