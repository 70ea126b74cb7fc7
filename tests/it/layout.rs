//! The warehouse's layout of accepted filings: each row group of a filings
//! Parquet file holds one period (so a filter on period skips the others by
//! their statistics), periods come in order, and rows are sorted by district
//! and VSIC code within a group; the codes are dictionary-encoded.

use crate::common;

use common::Env;
use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::Encoding;
use datafusion::parquet::file::statistics::Statistics;
use std::fs::File;

fn text(s: &Statistics) -> (String, String) {
    match s {
        Statistics::ByteArray(v) => (
            String::from_utf8(v.min_opt().unwrap().data().to_vec()).unwrap(),
            String::from_utf8(v.max_opt().unwrap().data().to_vec()).unwrap(),
        ),
        other => panic!("period statistics are not bytes: {other:?}"),
    }
}

#[test]
fn filings_are_stored_one_period_per_row_group_sorted_by_district_and_vsic() {
    let env = Env::new();
    // Demo filings over 6 months, written in an order that is neither by
    // period nor by district.
    let out = env.path("demo");
    let run = env.run(&[
        "demo",
        "--out",
        out.to_str().unwrap(),
        "--units",
        "200",
        "--months",
        "6",
        "--seed",
        "7",
        "--end",
        "2025-06",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text_in = std::fs::read_to_string(out.join("filings.csv")).unwrap();
    let mut lines: Vec<&str> = text_in.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    let shuffled = env.write("shuffled.csv", &format!("{header}\n{}\n", lines.join("\n")));
    let run = env.ingest(&[&shuffled]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let file = env.data().join("batches/00000001/filings_0.parquet");
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&file).unwrap()).unwrap();
    let meta = builder.metadata().clone();
    let schema = meta.file_metadata().schema_descr();
    let column = |name: &str| {
        (0..schema.num_columns())
            .find(|i| schema.column(*i).name() == name)
            .unwrap()
    };
    let (period, district, vsic) = (column("period"), column("district_code"), column("vsic_code"));
    let mut periods = Vec::new();
    for g in meta.row_groups() {
        let (lo, hi) = text(g.column(period).statistics().unwrap());
        assert_eq!(lo, hi, "a row group holds one period");
        periods.push(lo);
        for c in [district, vsic] {
            assert!(
                g.column(c).encodings().any(|e| e == Encoding::RLE_DICTIONARY),
                "{} is dictionary-encoded",
                schema.column(c).name()
            );
        }
    }
    assert_eq!(periods.len(), 6, "one row group per period: {periods:?}");
    assert!(periods.windows(2).all(|w| w[0] < w[1]), "periods in order: {periods:?}");

    let mut rows = 0;
    for batch in builder.build().unwrap() {
        let batch = batch.unwrap();
        let col = |name: &str| {
            cast(batch.column_by_name(name).unwrap(), &DataType::Utf8)
                .unwrap()
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone()
        };
        let (p, d, v) = (col("period"), col("district_code"), col("vsic_code"));
        for i in 1..batch.num_rows() {
            let key = |j: usize| (p.value(j), d.value(j), v.value(j));
            assert!(key(i - 1) <= key(i), "rows sorted by period, district, VSIC at {i}");
        }
        rows += batch.num_rows();
    }
    assert_eq!(
        rows as u64,
        run.json()["files"][0]["accepted"].as_u64().unwrap(),
        "every accepted filing is stored"
    );
}
