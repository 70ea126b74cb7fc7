//! Property: on random filings with weights and revisions spread over
//! several batches, the API's figures equal a naive computation written
//! independently here (effective filing by brute force, sums in i128).

use crate::common;

use ecomshare::ingest::Format;
use ecomshare::service::{App, IngestSource, ShareParams};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const UNITS: [u32; 4] = [11, 12, 13, 14];
const DISTRICTS: [&str; 3] = ["380", "381", "382"];
const VSIC: [(&str, &str); 4] = [
    ("4711", "FOOD"),
    ("4791", "OTHER_GOODS"),
    ("5610", "ACCOMMODATION_FOOD"),
    ("47732", "JEWELRY"),
];
/// Months that make whole quarters and years of some ranges (2024, 2025-Q1)
/// and split others, so rollup answers come from every kind of part.
const PERIODS: [&str; 6] = ["2024-01", "2024-05", "2024-12", "2025-01", "2025-02", "2025-03"];
const WEIGHTS: [(&str, i128); 6] = [
    ("", 1_000_000),
    ("1", 1_000_000),
    ("0.5", 500_000),
    ("2.25", 2_250_000),
    ("1000000", 1_000_000_000_000),
    ("0.000001", 1),
];

#[derive(Debug, Clone)]
struct Filing {
    unit: usize,
    district: usize,
    vsic: usize,
    period: usize,
    total: i64,
    ecom: i64,
    /// Hours after 2025-04-01T00:00Z, or None for "time of ingest".
    submitted: Option<(u8, bool)>,
    weight: usize,
}

fn filing() -> impl Strategy<Value = Filing> {
    (
        0..UNITS.len(),
        0..DISTRICTS.len(),
        0..VSIC.len(),
        0..PERIODS.len(),
        prop_oneof![0i64..1_000_000, 0i64..=1_000_000_000_000_000],
        0.0f64..=1.0,
        prop::option::weighted(0.8, (0u8..4, any::<bool>())),
        0..WEIGHTS.len(),
    )
        .prop_map(
            |(unit, district, vsic, period, total, frac, submitted, weight)| Filing {
                unit,
                district,
                vsic,
                period,
                total,
                ecom: ((total as f64) * frac).floor().min(total as f64) as i64,
                submitted,
                weight,
            },
        )
}

fn instant_text(hours: u8, vietnam: bool) -> String {
    if vietnam {
        format!("2025-04-01T{:02}:00:00+07:00", u32::from(hours) + 7)
    } else {
        format!("2025-04-01T{hours:02}:00:00Z")
    }
}

fn file_text(filings: &[Filing]) -> String {
    file_text_with(filings, &PERIODS)
}

/// The filings as a CSV file, their periods taken from `periods`.
fn file_text_with(filings: &[Filing], periods: &[&str]) -> String {
    let mut s = String::from(common::HEADER);
    s.push('\n');
    for f in filings {
        let submitted = f.submitted.map(|(h, v)| instant_text(h, v)).unwrap_or_default();
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},\n",
            common::tax_code(UNITS[f.unit]),
            DISTRICTS[f.district],
            VSIC[f.vsic].0,
            periods[f.period],
            f.total,
            f.ecom,
            submitted,
            WEIGHTS[f.weight].0
        ));
    }
    s
}

#[derive(Debug, Default, PartialEq, Eq, Clone)]
struct Sums {
    total: i128,
    ecom: i128,
    filings: u64,
    units: BTreeSet<usize>,
}

/// The oracle: for each key, the filing with the greatest (instant, batch,
/// record), where "time of ingest" is later than every explicit instant and
/// grows with the batch.
fn oracle(batches: &[Vec<Filing>]) -> BTreeMap<(usize, &'static str, usize), Sums> {
    let mut cells: BTreeMap<(usize, &'static str, usize), Sums> = BTreeMap::new();
    for f in effective(batches) {
        let w = WEIGHTS[f.weight].1;
        let c = cells.entry((f.district, VSIC[f.vsic].1, f.period)).or_default();
        c.total += i128::from(f.total) * w;
        c.ecom += i128::from(f.ecom) * w;
        c.filings += 1;
        c.units.insert(f.unit);
    }
    cells
}

/// The effective filings: for each key, the filing with the greatest
/// (instant, batch, record), where "time of ingest" is later than every
/// explicit instant and grows with the batch.
fn effective(batches: &[Vec<Filing>]) -> Vec<&Filing> {
    // key (unit, district, vsic, period) → (rank (instant, batch, record), filing)
    type Key = (usize, usize, usize, usize);
    type Rank = (i64, usize, usize);
    let mut best: BTreeMap<Key, (Rank, &Filing)> = BTreeMap::new();
    for (b, batch) in batches.iter().enumerate() {
        for (r, f) in batch.iter().enumerate() {
            let instant = match f.submitted {
                Some((h, _)) => i64::from(h),
                None => 1_000_000 + b as i64,
            };
            let rank = (instant, b, r);
            let key = (f.unit, f.district, f.vsic, f.period);
            if best.get(&key).is_none_or(|(old, _)| rank > *old) {
                best.insert(key, (rank, f));
            }
        }
    }
    best.into_values().map(|(_, f)| f).collect()
}

/// Months of the response-rate property: consecutive but for a gap
/// (2025-03), so that a month's three months before reach across the gap
/// and back before the range asked (2024-12 to 2025-04).
const RESPONSE_PERIODS: [&str; 6] = ["2024-10", "2024-11", "2024-12", "2025-01", "2025-02", "2025-04"];

/// The naive response of the months `months` within `scope`: for each
/// month, the units with an effective filing for it among the units with
/// one in any of the three months before, summed, and the latter summed.
fn naive_response(eff: &[&Filing], scope: &dyn Fn(&Filing) -> bool, months: &[String]) -> (u64, u64) {
    let units = |m: &str| -> BTreeSet<usize> {
        eff.iter()
            .filter(|f| RESPONSE_PERIODS[f.period] == m && scope(f))
            .map(|f| f.unit)
            .collect()
    };
    let (mut responding, mut expected) = (0, 0);
    for m in months {
        let p = ecomshare::domain::Period::parse(m).unwrap();
        let before: BTreeSet<usize> = (1..=3)
            .flat_map(|k| units(&p.add_months(-k).unwrap().to_string()))
            .collect();
        expected += before.len() as u64;
        responding += units(m).intersection(&before).count() as u64;
    }
    (responding, expected)
}

fn exact(micro: i128) -> String {
    ecomshare::domain::WeightedVnd::from_micro(micro).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, .. ProptestConfig::default() })]

    /// With the commit's search for superseded filings split in any number
    /// of parts (a part of 1 to 12 filings of a batch), as for large batches.
    #[test]
    fn api_figures_equal_the_naive_oracle(
        batches in prop::collection::vec(prop::collection::vec(filing(), 1..12), 1..5),
        part_rows in prop_oneof![Just(4_000_000u64), 1..12u64],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let options = ecomshare::service::AppOptions { supersession_part_rows: part_rows, ..Default::default() };
        let app = App::open_with(dir.path().join("data"), options).unwrap();
        for (b, batch) in batches.iter().enumerate() {
            let report = app.ingest(vec![IngestSource::Bytes {
                name: format!("batch{b}.csv"),
                format: Some(Format::Csv),
                bytes: file_text(batch).into_bytes(),
            }]).unwrap();
            prop_assert_eq!(report.rejections.len(), 0);
        }
        let rt = runtime();
        let params = ShareParams {
            from: Some("2024-01".into()),
            to: Some("2025-03".into()),
            by: Some("district,sector,period".into()),
            ..ShareParams::default()
        };
        let resp = rt.block_on(app.share(&params)).unwrap();
        let expected = oracle(&batches);

        let mut seen = 0;
        for row in &resp.rows {
            let key = |k: &str| row.keys[k].clone().unwrap();
            let d = DISTRICTS.iter().position(|x| *x == key("district_code"));
            let p = PERIODS.iter().position(|x| *x == key("period")).unwrap();
            let cell = d.and_then(|d| expected.get(&(d, VSIC.iter().find(|v| v.1 == key("sector_code")).unwrap().1, p)));
            match cell {
                Some(c) => {
                    seen += 1;
                    prop_assert_eq!(&row.total_revenue_vnd, &exact(c.total));
                    prop_assert_eq!(&row.ecommerce_revenue_vnd, &exact(c.ecom));
                    prop_assert_eq!(row.filings, c.filings);
                    prop_assert_eq!(row.units, c.units.len() as u64);
                    let share = (c.total != 0).then(|| c.ecom as f64 / c.total as f64);
                    match (row.share, share) {
                        (Some(a), Some(b)) => prop_assert!((a - b).abs() <= 1e-12 * b.abs().max(1e-300)),
                        (a, b) => prop_assert_eq!(a, b),
                    }
                }
                None => {
                    prop_assert_eq!(row.filings, 0);
                    prop_assert_eq!(row.status.code(), "no_data");
                }
            }
        }
        prop_assert_eq!(seen, expected.len());

        // The total: sums of every cell, units distinct over the whole slice.
        let all = expected.values().fold(Sums::default(), |mut acc, c| {
            acc.total += c.total;
            acc.ecom += c.ecom;
            acc.filings += c.filings;
            acc.units.extend(&c.units);
            acc
        });
        prop_assert_eq!(&resp.total.total_revenue_vnd, &exact(all.total));
        prop_assert_eq!(&resp.total.ecommerce_revenue_vnd, &exact(all.ecom));
        prop_assert_eq!(resp.total.filings, all.filings);
        prop_assert_eq!(resp.total.units, all.units.len() as u64);
    }

    /// Rollups answer exactly as the scan of the raw filings, for any
    /// breakdown and filter, after revisions and with weights.
    #[test]
    fn rollup_answers_equal_the_raw_scan(
        batches in prop::collection::vec(prop::collection::vec(filing(), 1..12), 1..5),
        queries in prop::collection::vec(share_params(), 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(dir.path().join("data")).unwrap();
        for (b, batch) in batches.iter().enumerate() {
            app.ingest(vec![IngestSource::Bytes {
                name: format!("batch{b}.csv"),
                format: Some(Format::Csv),
                bytes: file_text(batch).into_bytes(),
            }]).unwrap();
        }
        let rt = runtime();
        prop_assert!(rt.block_on(app.has_rollup()).unwrap());
        for params in &queries {
            let rolled = rt.block_on(app.share_uncached(params)).unwrap();
            let scanned = rt.block_on(app.share_from_filings(params)).unwrap();
            prop_assert_eq!(rolled, scanned, "{:?}", params);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Response rates of every row and of the total, for breakdowns by
    /// place, by time and by both, with a district filter or none, equal
    /// the naive count over the effective filings (revisions, several
    /// batches).
    #[test]
    fn response_rates_equal_the_naive_oracle(
        batches in prop::collection::vec(prop::collection::vec(filing(), 1..14), 1..4),
        by in prop::sample::select(vec!["", "district", "sector", "period", "district,quarter", "sector,period", "year"]),
        district in prop::option::of(prop::sample::select(DISTRICTS.to_vec())),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(dir.path().join("data")).unwrap();
        for (b, batch) in batches.iter().enumerate() {
            let report = app.ingest(vec![IngestSource::Bytes {
                name: format!("batch{b}.csv"),
                format: Some(Format::Csv),
                bytes: file_text_with(batch, &RESPONSE_PERIODS).into_bytes(),
            }]).unwrap();
            prop_assert_eq!(report.rejections.len(), 0);
        }
        let (from, to) = ("2024-12", "2025-04");
        let range: Vec<String> = (0..5)
            .map(|k| ecomshare::domain::Period::parse(from).unwrap().add_months(k).unwrap().to_string())
            .collect();
        let params = ShareParams {
            from: Some(from.into()),
            to: Some(to.into()),
            by: Some(by.into()),
            district: district.map(str::to_string),
            ..ShareParams::default()
        };
        let rt = runtime();
        let resp = rt.block_on(app.share(&params)).unwrap();
        let eff = effective(&batches);
        let in_filter = |f: &Filing| district.is_none_or(|d| DISTRICTS[f.district] == d);

        for row in &resp.rows {
            let key = |k: &str| row.keys.get(k).cloned().flatten();
            let (d, s) = (key("district_code"), key("sector_code"));
            let scope = |f: &Filing| {
                in_filter(f)
                    && d.as_deref().is_none_or(|d| DISTRICTS[f.district] == d)
                    && s.as_deref().is_none_or(|s| VSIC[f.vsic].1 == s)
            };
            let months: Vec<String> = range
                .iter()
                .filter(|m| key("period").is_none_or(|p| **m == p))
                .filter(|m| key("year").is_none_or(|y| m.starts_with(&y)))
                .filter(|m| {
                    key("quarter").is_none_or(|q| {
                        ecomshare::domain::Period::parse(m).unwrap().quarter().to_string() == q
                    })
                })
                .cloned()
                .collect();
            let (responding, expected) = naive_response(&eff, &scope, &months);
            prop_assert_eq!((row.response.responding, row.response.expected), (responding, expected), "{:?}", row.keys);
            prop_assert_eq!(row.response_rate(), (expected > 0).then(|| responding as f64 / expected as f64));
        }
        let (responding, expected) = naive_response(&eff, &in_filter, &range);
        prop_assert_eq!((resp.total.response.responding, resp.total.response.expected), (responding, expected));
        // The scan of the raw filings agrees with the rollup's bitmaps.
        let scanned = rt.block_on(app.share_from_filings(&params)).unwrap();
        prop_assert_eq!(&scanned.total.response, &resp.total.response);
        let rows = |r: &ecomshare::service::ShareResponse| r.rows.iter().map(|x| x.response).collect::<Vec<_>>();
        prop_assert_eq!(rows(&scanned), rows(&resp));
    }
}

/// Share parameters over the generated filings' periods, dimensions and codes.
fn share_params() -> impl Strategy<Value = ShareParams> {
    let dims = prop::sample::subsequence(vec!["district", "sector", "vsic", "period", "quarter", "year"], 0..4);
    let months =
        (0usize..PERIODS.len(), 0usize..PERIODS.len()).prop_map(|(a, b)| (PERIODS[a.min(b)], PERIODS[a.max(b)]));
    let district = prop::option::of(prop::sample::select(DISTRICTS.to_vec()));
    let vsic = prop::option::of(prop::sample::select(VSIC.iter().map(|v| v.0).collect::<Vec<_>>()));
    let sector = prop::option::of(prop::sample::select(VSIC.iter().map(|v| v.1).collect::<Vec<_>>()));
    (dims, months, district, vsic, sector).prop_map(|(dims, (from, to), district, vsic, sector)| ShareParams {
        audience: Default::default(),
        from: Some(from.to_string()),
        to: Some(to.to_string()),
        by: Some(dims.join(",")),
        district: district.map(str::to_string),
        vsic: vsic.map(str::to_string),
        sector: sector.map(str::to_string),
        as_of: None,
        judged_at: None,
    })
}

/// A data directory written before rollups existed has none: its figures
/// come from the raw scan, and the next commit builds the rollup from the
/// effective filings, then adds the batch.
#[test]
fn a_version_from_before_rollups_gets_one_at_the_next_commit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let fixture = |f: &str| {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(f)
    };
    {
        let app = App::open(&data).unwrap();
        app.ingest(vec![IngestSource::Path(fixture("sample_filings.csv"))])
            .unwrap();
    }
    // Make version 1 look like it came from before rollups.
    // (its batch, as the commit's `ecomshare` metadata in the Delta log, without them)
    let entry = data.join("_delta_log/00000000000000000001.json");
    let lines: Vec<String> = std::fs::read_to_string(&entry)
        .unwrap()
        .lines()
        .map(|line| {
            let mut action: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(batch) = action.pointer_mut("/commitInfo/ecomshare/batch") {
                for key in ["rollup", "units"] {
                    batch.as_object_mut().unwrap().remove(key).unwrap();
                }
            }
            action.to_string()
        })
        .collect();
    std::fs::write(&entry, lines.join("\n") + "\n").unwrap();
    for f in ["rollup.parquet", "units.parquet"] {
        std::fs::remove_file(data.join("batches/00000001").join(f)).unwrap();
    }
    let app = App::open(&data).unwrap();
    let rt = runtime();
    assert!(!rt.block_on(app.has_rollup()).unwrap());
    let params = ShareParams {
        by: Some("district,period".into()),
        from: Some("2025-01".into()),
        to: Some("2025-03".into()),
        ..ShareParams::default()
    };
    let before = rt.block_on(app.share(&params)).unwrap();

    app.ingest(vec![IngestSource::Path(fixture("queries/v2_revisions.csv"))])
        .unwrap();
    assert!(rt.block_on(app.has_rollup()).unwrap());
    let rolled = rt.block_on(app.share_uncached(&params)).unwrap();
    assert_eq!(rolled, rt.block_on(app.share_from_filings(&params)).unwrap());
    assert_ne!(rolled.total, before.total, "version 2 revises figures of version 1");
}

/// Units of the disclosure property: six enterprises, the last two units
/// dependent units of one parent.
fn sdc_unit(i: usize) -> String {
    match i {
        0..=5 => common::tax_code(30 + i as u32),
        _ => format!("{}-00{}", common::tax_code(40), i - 5),
    }
}

fn sdc_enterprise(i: usize) -> usize {
    i.min(6)
}

/// Whether unknown `k` is fixed by the table's equations (exact rational
/// elimination; `equations` rows over the unknowns).
fn determined(equations: &[Vec<i128>], k: usize) -> bool {
    fn gcd(a: i128, b: i128) -> i128 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    fn rank(m: &[Vec<i128>]) -> usize {
        let mut m = m.to_vec();
        let width = m.first().map_or(0, Vec::len);
        let mut rank = 0;
        for c in 0..width {
            let Some(p) = (rank..m.len()).find(|r| m[*r][c] != 0) else {
                continue;
            };
            m.swap(rank, p);
            let pivot = m[rank].clone();
            for (r, row) in m.iter_mut().enumerate() {
                if r != rank && row[c] != 0 {
                    let b = row[c];
                    for (x, p) in row.iter_mut().zip(&pivot) {
                        *x = *x * pivot[c] - p * b;
                    }
                    let g = row.iter().fold(0i128, |g, x| gcd(g, x.abs()));
                    if g > 1 {
                        row.iter_mut().for_each(|x| *x /= g);
                    }
                }
            }
            rank += 1;
        }
        rank
    }
    let mut with = equations.to_vec();
    let mut unit = vec![0i128; equations.first().map_or(k + 1, Vec::len)];
    unit[k] = 1;
    with.push(unit);
    rank(&with) == rank(equations)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// The district × sector table a viewer can assemble from the protected
    /// answers — cells, district totals, sector totals, the grand total —
    /// hides every sensitive entry, and no hidden entry can be computed
    /// exactly from the published ones.
    #[test]
    fn protected_tables_never_let_a_withheld_entry_be_computed(
        filings in prop::collection::vec((0usize..8, 0..DISTRICTS.len(), 0..VSIC.len(), 1i64..1_000_000), 1..25),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(dir.path().join("data")).unwrap();
        let mut text = String::from(common::HEADER);
        text.push('\n');
        for (u, d, v, t) in &filings {
            text.push_str(&format!("{},{},{},2025-01,{t},0,,,\n", sdc_unit(*u), DISTRICTS[*d], VSIC[*v].0));
        }
        app.ingest(vec![IngestSource::Bytes { name: "sdc.csv".into(), format: Some(Format::Csv), bytes: text.into_bytes() }]).unwrap();
        // The oracle: the last record of each key counts; totals by enterprise.
        let mut effective: BTreeMap<(usize, usize, usize), i64> = BTreeMap::new();
        for (u, d, v, t) in &filings {
            effective.insert((*u, *d, *v), *t);
        }
        let mut by_cell: BTreeMap<(&str, &str), BTreeMap<usize, i128>> = BTreeMap::new();
        for ((u, d, v), t) in &effective {
            *by_cell.entry((DISTRICTS[*d], VSIC[*v].1)).or_default().entry(sdc_enterprise(*u)).or_default() += i128::from(*t);
        }
        let rule = ecomshare::domain::disclosure::Rule::default();
        let sensitive = |parts: Vec<&BTreeMap<usize, i128>>| {
            let mut merged: BTreeMap<usize, i128> = BTreeMap::new();
            for p in parts {
                for (e, t) in p {
                    *merged.entry(*e).or_default() += t;
                }
            }
            ecomshare::domain::disclosure::CellStats::from_totals(merged.values().copied(), &rule).sensitive(&rule)
        };

        let rt = runtime();
        let ask = |by: Option<&str>| rt.block_on(app.share(&ShareParams {
            audience: ecomshare::service::Audience::Protected,
            from: Some("2025-01".into()),
            to: Some("2025-01".into()),
            by: by.map(str::to_string),
            ..ShareParams::default()
        })).unwrap();
        let (plain, districts, sectors, grid) = (ask(None), ask(Some("district")), ask(Some("sector")), ask(Some("district,sector")));
        let rows: Vec<&str> = by_cell.keys().map(|k| k.0).collect::<BTreeSet<_>>().into_iter().collect();
        let cols: Vec<&str> = by_cell.keys().map(|k| k.1).collect::<BTreeSet<_>>().into_iter().collect();
        let find = |resp: &ecomshare::service::ShareResponse, keys: &[(&str, &str)]| {
            resp.rows.iter().find(|r| keys.iter().all(|(f, v)| r.keys.get(f).cloned().flatten().as_deref() == Some(*v))).cloned()
        };
        // Entries: cells, district totals, sector totals, grand total — hidden or not.
        let mut hidden = Vec::new();
        let mut must_hide = Vec::new();
        for d in &rows {
            for s in &cols {
                let row = find(&grid, &[("district_code", d), ("sector_code", s)]);
                hidden.push(row.is_some_and(|r| r.suppressed));
                must_hide.push(by_cell.get(&(*d, *s)).is_some_and(|c| sensitive(vec![c])));
            }
        }
        for d in &rows {
            hidden.push(find(&districts, &[("district_code", d)]).unwrap().suppressed);
            must_hide.push(sensitive(by_cell.iter().filter(|(k, _)| k.0 == *d).map(|(_, c)| c).collect()));
        }
        for s in &cols {
            hidden.push(find(&sectors, &[("sector_code", s)]).unwrap().suppressed);
            must_hide.push(sensitive(by_cell.iter().filter(|(k, _)| k.1 == *s).map(|(_, c)| c).collect()));
        }
        hidden.push(plain.total.suppressed);
        must_hide.push(sensitive(by_cell.values().collect()));
        prop_assert_eq!(plain.total.suppressed, districts.total.suppressed, "the same total everywhere");
        prop_assert_eq!(plain.total.suppressed, grid.total.suppressed);
        for (i, (h, m)) in hidden.iter().zip(&must_hide).enumerate() {
            prop_assert!(!m || *h, "sensitive entry {} is shown", i);
        }
        // The equations: each district's cells sum to its total, each
        // sector's to its total, the totals to the grand total.
        let (r, c) = (rows.len(), cols.len());
        let unknowns: Vec<usize> = (0..hidden.len()).filter(|i| hidden[*i]).collect();
        let col_of = |e: usize| unknowns.iter().position(|u| *u == e);
        let mut equations = Vec::new();
        let mut equation = |members: Vec<(usize, i128)>| {
            let mut row = vec![0i128; unknowns.len()];
            for (e, sign) in members {
                if let Some(k) = col_of(e) {
                    row[k] += sign;
                }
            }
            equations.push(row);
        };
        let cell = |i: usize, j: usize| i * c + j;
        let (row_total, col_total, grand) = (|i: usize| r * c + i, |j: usize| r * c + r + j, r * c + r + c);
        for i in 0..r {
            equation((0..c).map(|j| (cell(i, j), 1)).chain([(row_total(i), -1)]).collect());
        }
        for j in 0..c {
            equation((0..r).map(|i| (cell(i, j), 1)).chain([(col_total(j), -1)]).collect());
        }
        equation((0..r).map(|i| (row_total(i), 1)).chain([(grand, -1)]).collect());
        equation((0..c).map(|j| (col_total(j), 1)).chain([(grand, -1)]).collect());
        for (k, e) in unknowns.iter().enumerate() {
            prop_assert!(!determined(&equations, k), "hidden entry {} can be computed; hidden {:?}", e, hidden);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    /// Protected answers judged from the contributions kept per month (with
    /// the exact count only where their bounds cannot decide) are the
    /// answers judged from every enterprise's exact totals: months, weights,
    /// dependent units and revisions in a second batch included.
    #[test]
    fn kept_contributions_protect_as_the_exact_totals_do(
        first in prop::collection::vec((0usize..9, 0..DISTRICTS.len(), 0..VSIC.len(), 0..PERIODS.len(), 0i64..1_000_000, 0..WEIGHTS.len()), 1..40),
        second in prop::collection::vec((0usize..9, 0..DISTRICTS.len(), 0..VSIC.len(), 0..PERIODS.len(), 0i64..1_000_000, 0..WEIGHTS.len()), 0..12),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let kept = App::open(&data).unwrap();
        let exact = App::open_with(&data, ecomshare::service::AppOptions { kept_contributions: false, ..Default::default() }).unwrap();
        let unit = |i: usize| match i {
            0..=6 => common::tax_code(50 + i as u32),
            _ => format!("{}-00{}", common::tax_code(60), i - 6),
        };
        let rt = runtime();
        // Asked after each batch (so a month kept for version 1 must not
        // answer for version 2 once the second batch revises it), and as of
        // version 1 at the end.
        let compare = |as_of: Option<&str>| -> Result<(), TestCaseError> {
            for by in [None, Some("district"), Some("sector"), Some("district,sector"), Some("period"), Some("vsic"), Some("quarter,district"), Some("period,district,sector")] {
                let params = ShareParams {
                    audience: ecomshare::service::Audience::Protected,
                    from: Some("2024-01".into()),
                    to: Some("2025-03".into()),
                    by: by.map(str::to_string),
                    as_of: as_of.map(str::to_string),
                    ..ShareParams::default()
                };
                let a = rt.block_on(kept.share_uncached(&params)).unwrap();
                let b = rt.block_on(exact.share_uncached(&params)).unwrap();
                prop_assert_eq!(a, b, "by={:?} as_of={:?}", by, as_of);
            }
            Ok(())
        };
        for (n, batch) in [first, second].iter().enumerate() {
            if batch.is_empty() {
                continue;
            }
            let mut text = String::from(common::HEADER);
            text.push('\n');
            for (u, d, v, p, t, w) in batch {
                text.push_str(&format!("{},{},{},{},{t},{},,{},\n", unit(*u), DISTRICTS[*d], VSIC[*v].0, PERIODS[*p], t / 3, WEIGHTS[*w].0));
            }
            kept.ingest(vec![IngestSource::Bytes { name: format!("b{n}.csv"), format: Some(Format::Csv), bytes: text.into_bytes() }]).unwrap();
            compare(None)?;
        }
        compare(Some("1"))?;
    }
}

/// Regression (issue 8): a viewer's breakdown counted every enterprise from
/// the raw filings, 15–63 s per table at 100M filings. On realistic data
/// (the demo's, with revisions) the kept contributions decide every entry
/// of the dashboard's tables, and decide them as the exact count does.
#[test]
fn the_dashboards_protected_tables_are_decided_without_counting_every_filing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let kept = App::open(&data).unwrap();
    let exact = App::open_with(
        &data,
        ecomshare::service::AppOptions {
            kept_contributions: false,
            ..Default::default()
        },
    )
    .unwrap();
    let reference = ecomshare::store::builtin_reference();
    let demo = ecomshare::cli::demo::generate(
        &reference,
        &ecomshare::cli::demo::DemoOptions {
            seed: 7,
            end: ecomshare::domain::Period::parse("2025-06").unwrap(),
            months: 12,
            units: 2000,
        },
    );
    for (name, text) in [("filings.csv", demo.filings), ("revisions.csv", demo.revisions)] {
        kept.ingest(vec![IngestSource::Bytes {
            name: name.into(),
            format: Some(Format::Csv),
            bytes: text.into_bytes(),
        }])
        .unwrap();
    }
    let rt = runtime();
    let mut withheld = 0;
    for by in [
        None,
        Some("district"),
        Some("sector"),
        Some("district,sector"),
        Some("period"),
        Some("period,district"),
    ] {
        let params = ShareParams {
            audience: ecomshare::service::Audience::Protected,
            from: Some("2024-07".into()),
            to: Some("2025-06".into()),
            by: by.map(str::to_string),
            ..ShareParams::default()
        };
        let a = rt.block_on(kept.share_uncached(&params)).unwrap();
        assert_eq!(a, rt.block_on(exact.share_uncached(&params)).unwrap(), "by={by:?}");
        withheld += a.rows.iter().filter(|r| r.suppressed).count();
    }
    assert_eq!(
        kept.disclosure_exact_counts(),
        0,
        "every table decided from the kept contributions"
    );
    assert_eq!(exact.disclosure_exact_counts(), 6);
    assert!(withheld > 0, "the demo data has cells to withhold: {withheld}");

    // The contributions are kept on disk: a restarted app reads them rather
    // than counting every month again, and answers the same; a damaged file
    // is counted again.
    let dir = data.join("cache").join("kept");
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 12, "one file per month");
    let written: Vec<_> = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().modified().unwrap())
        .collect();
    std::fs::write(&files[0], b"{not json").unwrap();
    let restarted = App::open(&data).unwrap();
    let params = ShareParams {
        audience: ecomshare::service::Audience::Protected,
        from: Some("2024-07".into()),
        to: Some("2025-06".into()),
        by: Some("district,sector".into()),
        ..ShareParams::default()
    };
    let a = rt.block_on(restarted.share_uncached(&params)).unwrap();
    assert_eq!(a, rt.block_on(exact.share_uncached(&params)).unwrap());
    for (f, before) in files.iter().zip(&written).skip(1) {
        assert_eq!(
            std::fs::metadata(f).unwrap().modified().unwrap(),
            *before,
            "{} read, not rewritten",
            f.display()
        );
    }
    let repaired = std::fs::read(&files[0]).unwrap();
    assert!(
        serde_json::from_slice::<serde_json::Value>(&repaired).is_ok(),
        "the damaged month counted again"
    );
}

/// A version's rollup keeps the parts its batch did not change in earlier
/// batches' rollup files. When one of them is lost, the versions that need
/// it are answered from the raw filings, with the same figures, and the next
/// commit builds its rollup from the effective filings.
#[test]
fn a_lost_rollup_file_is_answered_from_the_filings_and_rebuilt_at_the_next_commit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let fixture = common::fixture;
    // Version 2 brings a unit that sorts before every earlier one in its
    // cell, so numbering all units afresh would move every position.
    let sample = std::fs::read_to_string(fixture("sample_filings.csv")).unwrap();
    let header = sample.lines().next().unwrap();
    let first = sample
        .lines()
        .find(|l| l.starts_with("2801079196,380,4711,2025-01"))
        .unwrap();
    let unit = (1..).map(common::tax_code).find(|c| c.as_str() < "2801079196").unwrap();
    let newcomer = format!("{header}\n{}\n", first.replacen("2801079196", &unit, 1));
    {
        let app = App::open(&data).unwrap();
        app.ingest(vec![IngestSource::Path(fixture("sample_filings.csv"))])
            .unwrap();
        app.ingest(vec![
            IngestSource::Path(fixture("queries/v2_revisions.csv")),
            IngestSource::Bytes {
                name: "newcomer.csv".into(),
                format: Some(Format::Csv),
                bytes: newcomer.into_bytes(),
            },
        ])
        .unwrap();
    }
    // Version 2's file names parts that stay in version 1's.
    let v2 = std::fs::read(data.join("batches/00000002/rollup.parquet")).unwrap();
    assert!(
        v2.windows(26).any(|w| w == b"ecomshare.rollup.elsewhere"),
        "version 2 keeps the months it did not change in version 1's file"
    );
    std::fs::remove_file(data.join("batches/00000001/rollup.parquet")).unwrap();

    let app = App::open(&data).unwrap();
    let rt = runtime();
    assert!(!rt.block_on(app.has_rollup()).unwrap());
    let params = ShareParams {
        by: Some("district,period".into()),
        from: Some("2024-01".into()),
        to: Some("2025-12".into()),
        ..ShareParams::default()
    };
    let scanned = rt.block_on(app.share_from_filings(&params)).unwrap();
    assert_eq!(rt.block_on(app.share(&params)).unwrap(), scanned);

    app.ingest(vec![IngestSource::Path(fixture("queries/v3_revisions.csv"))])
        .unwrap();
    assert!(rt.block_on(app.has_rollup()).unwrap());
    let rolled = rt.block_on(app.share_uncached(&params)).unwrap();
    assert_eq!(rolled, rt.block_on(app.share_from_filings(&params)).unwrap());
    assert_ne!(rolled.total, scanned.total, "version 3 revises a figure");

    // Regression: the rebuilt rollup numbered units afresh, so the next
    // commit's dictionary (the units files end to end) gave a unit already
    // counted another position, and its cell counted it twice.
    let again = std::fs::read_to_string(fixture("queries/v3_revisions.csv"))
        .unwrap()
        .replace("2025-06-02T09:00", "2025-06-03T09:00")
        .replace("2400000000", "2500000000");
    app.ingest(vec![IngestSource::Bytes {
        name: "v4.csv".into(),
        format: Some(Format::Csv),
        bytes: again.into_bytes(),
    }])
    .unwrap();
    let by_district = ShareParams {
        by: Some("district".into()),
        from: Some("2025-01".into()),
        to: Some("2025-01".into()),
        ..ShareParams::default()
    };
    for p in [&params, &by_district] {
        assert_eq!(
            rt.block_on(app.share_uncached(p)).unwrap(),
            rt.block_on(app.share_from_filings(p)).unwrap()
        );
    }
}

/// A runtime for the async service calls of one test.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
