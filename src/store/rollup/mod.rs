//! Rollups: the exact aggregates of a dataset version's effective filings
//! by period × district × VSIC code — Σ weight × total revenue and
//! Σ weight × e-commerce revenue (micro-đồng, `i128`), the effective filing
//! count, and the set of reporting units as a roaring bitmap over a unit
//! dictionary, so that any union of cells counts distinct units exactly.
//!
//! Kept at each commit next to the raw data (`batches/N/rollup.parquet`, the
//! table of version N; `batches/N/units.parquet`, the units first seen in
//! batch N, whose positions across batches are the dictionary), in parts of
//! one row group each: a month's cells, and the same by quarter and by year
//! (unions of their months' cells), so that a slice of whole quarters or
//! years unites a few sets per group instead of one per month. Version N's
//! file holds the parts batch N changed and names the earlier files that
//! hold the others (at most `MAX_SOURCES` of them). Each version's table is
//! made from the previous version's: a batch's filings are added, the
//! filings they supersede subtracted, and each changed month's change
//! carried into its quarter and year. Parts are read when first needed, unit sets
//! decoded when first united. A cell's unit set only grows: a unit is
//! in a cell exactly when one of its keys (unit, district, VSIC code,
//! period) falls in the cell, and a key, once filed, always has a filing in
//! force. Any slice of the share API is answered from the cells, with the
//! same figures as the scan of the raw filings.
//!
//! Also sums one month's filings by cell and enterprise for disclosure
//! control (`EnterpriseTotals`).
//!
//! Plain data in and out (Arrow record batches, Parquet files); no engine,
//! no HTTP.
//!
//! This file owns the `Rollup` type, its error and the reading of its
//! parts; the rest is by job:
//!
//! - `cells`: a part's cells and their aggregates (`Agg`), the cell index
//!   and the fast hasher of the commit's lookups;
//! - `units`: the unit dictionary and a cell's unit set (a roaring bitmap);
//! - `parts`: the month, quarter and year parts, the parts that cover a
//!   range of months, and quarters and years kept up to date with their months;
//! - `apply`: a batch's filings added or subtracted, new units numbered;
//! - `storage`: the rollup file (one row group per part) and the units files;
//! - `columns`: the columns read from a record batch, and the input schema;
//! - `groups`: a breakdown's groups summed and their unit sets united, and
//!   months' sums without units;
//! - `response`: the response rates of a breakdown's rows, from each
//!   month's unit sets;
//! - `enterprise`: one month's totals by cell and enterprise, for
//!   disclosure control.

mod apply;
mod cells;
mod columns;
mod enterprise;
mod groups;
mod parts;
mod response;
mod storage;
mod units;

pub use cells::{Agg, CellCodes};
pub use columns::{INPUT_COLUMNS, input_schema};
pub use enterprise::EnterpriseTotals;
pub use groups::{MonthSums, group_of};
pub use units::{UnitDictionary, UnitHashes};

use crate::domain::Period;
use cells::{Cells, Codes};
use parts::{Part, Span};
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RollupError {
    #[error("rollup file {file}: {message}")]
    File { file: String, message: String },
    #[error("rollup input: {0}")]
    Input(String),
}

impl RollupError {
    pub fn code(&self) -> &'static str {
        "rollup_failed"
    }
}

fn file_err(path: &Path) -> impl Fn(String) -> RollupError + '_ {
    move |message| RollupError::File {
        file: path.display().to_string(),
        message,
    }
}

/// The aggregates of one dataset version: cells by period × district ×
/// commune × VSIC code, in parts by month, and the same by quarter and by
/// year so that a slice of whole quarters or years unites a few cells per
/// group instead of one per month.
#[derive(Debug, Clone, Default)]
pub struct Rollup {
    parts: BTreeMap<Span, Part>,
    /// Whether the quarter and year parts are there (files written before
    /// them have months only; the next commit adds them).
    levels: bool,
    /// The months of the filings applied since this rollup was read.
    touched: std::collections::BTreeSet<String>,
    /// The sums of each month changed since its quarter and year were last
    /// made, as they were before the change, by cell position: what those
    /// levels lose for the month's new sums (kept while `levels`).
    before: BTreeMap<Period, Vec<Sums>>,
}

/// A cell's sums without its units: Σ weighted total, Σ weighted
/// e-commerce, filings.
type Sums = (i128, i128, i64);

impl PartialEq for Rollup {
    fn eq(&self, other: &Self) -> bool {
        match (self.sorted(), other.sorted()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

impl Rollup {
    /// The number of month cells (without reading any part).
    pub fn cells(&self) -> usize {
        self.parts
            .iter()
            .filter(|(span, _)| matches!(span, Span::Month(_)))
            .map(|(_, part)| self.rows(part))
            .sum()
    }

    /// The files its parts are read from (0 for one made in memory).
    pub fn files(&self) -> usize {
        let files: std::collections::BTreeSet<&Path> = self
            .parts
            .values()
            .filter_map(|p| p.at.as_ref())
            .map(|at| at.file.path())
            .collect();
        files.len()
    }

    /// A part's number of cells, from the file's metadata while not read.
    fn rows(&self, part: &Part) -> usize {
        match (part.cells.get(), &part.at) {
            (Some(cells), _) => cells.aggs.iter().filter(|a| a.filings != 0).count(),
            (None, Some(at)) => at.file.metadata.metadata().row_group(at.row_group).num_rows() as usize,
            _ => 0,
        }
    }

    /// A part's cells, read from the file on first use.
    fn part<'a>(&self, part: &'a Part) -> Result<&'a Cells, RollupError> {
        if let Some(cells) = part.cells.get() {
            return Ok(cells);
        }
        let Some(at) = &part.at else {
            return Ok(part.cells.get_or_init(Cells::default));
        };
        let batch = at.file.read_row_group(at.row_group)?;
        let cells = Cells::from_batch(&batch, 0..batch.num_rows())?;
        Ok(part.cells.get_or_init(|| cells))
    }

    /// A part's cells to change, read first if need be.
    fn part_mut(&mut self, span: Span) -> Result<&mut Cells, RollupError> {
        if let Some(part) = self.parts.get(&span) {
            self.part(part)?;
        }
        let part = self.parts.entry(span).or_default();
        let cells = part.cells.get_or_init(Cells::default);
        if let Span::Month(month) = span
            && self.levels
        {
            self.before
                .entry(month)
                .or_insert_with(|| cells.aggs.iter().map(|a| (a.total, a.ecommerce, a.filings)).collect());
        }
        // Changed from here on: the next write writes it.
        part.at = None;
        Ok(part.cells.get_mut().expect("loaded just above"))
    }

    /// Reads every part not read yet (a server does this once per version,
    /// off the threads that answer).
    pub fn load_all(&self) -> Result<(), RollupError> {
        for part in self.parts.values() {
            self.part(part)?;
        }
        Ok(())
    }

    /// Every cell with an effective filing of every part (months, then
    /// quarters and years), in key order: what a file holds.
    fn sorted(&self) -> Result<Vec<(String, &Codes, &Agg)>, RollupError> {
        let mut cells = Vec::new();
        for (span, part) in &self.parts {
            let name = span.name();
            let part = self.part(part)?;
            let mut these: Vec<(String, &Codes, &Agg)> = part
                .codes
                .iter()
                .zip(&part.aggs)
                .filter(|(_, a)| a.filings != 0)
                .map(|(c, a)| (name.clone(), c, a))
                .collect();
            these.sort_by(|a, b| a.1.cmp(b.1));
            cells.extend(these);
        }
        Ok(cells)
    }

    /// The first and last month with an effective filing (a file holds no
    /// cell without one).
    pub fn period_range(&self) -> Option<(Period, Period)> {
        let mut months = self.parts.iter().filter_map(|(span, part)| match span {
            Span::Month(m) if self.rows(part) > 0 => Some(*m),
            _ => None,
        });
        let first = months.next()?;
        Some((first, months.last().unwrap_or(first)))
    }
}

#[cfg(test)]
mod tests {
    use super::storage::{read_row_groups, write_parquet};
    use super::*;
    use crate::domain::{Dim, Quarter, Slice};
    use crate::store::builtin_reference;
    use datafusion::arrow::array::{ArrayRef, BinaryArray, Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::compute::concat_batches;
    use std::sync::Arc;

    type Filing<'a> = (&'a str, &'a str, &'a str, &'a str, i64, i64, i64);

    fn filings(rows: &[Filing<'_>]) -> RecordBatch {
        let text = |v: Vec<&str>| -> ArrayRef { Arc::new(StringArray::from_iter_values(v)) };
        let int = |v: Vec<i64>| -> ArrayRef { Arc::new(Int64Array::from_iter_values(v)) };
        RecordBatch::try_new(
            input_schema(),
            vec![
                text(rows.iter().map(|r| r.0).collect()),
                text(rows.iter().map(|r| r.1).collect()),
                text(rows.iter().map(|r| r.2).collect()),
                text(rows.iter().map(|r| r.3).collect()),
                int(rows.iter().map(|r| r.4).collect()),
                int(rows.iter().map(|r| r.5).collect()),
                int(rows.iter().map(|r| r.6).collect()),
            ],
        )
        .unwrap()
    }

    #[test]
    fn a_revision_subtracts_what_it_supersedes_and_units_stay_exact() {
        let mut units = UnitDictionary::default();
        let mut r = Rollup::default();
        let v1 = filings(&[
            ("u1", "380", "4711", "2025-01", 1000, 100, 1_000_000),
            ("u2", "380", "4711", "2025-01", 500, 50, 2_500_000),
            ("u1", "381", "4711", "2025-02", 700, 7, 1_000_000),
        ]);
        r.apply(&v1, &mut units, 1).unwrap();
        // u1 revises its January filing.
        let revised = filings(&[("u1", "380", "4711", "2025-01", 2000, 300, 1_000_000)]);
        let superseded = filings(&[("u1", "380", "4711", "2025-01", 1000, 100, 1_000_000)]);
        r.apply(&revised, &mut units, 1).unwrap();
        r.apply(&superseded, &mut units, -1).unwrap();
        r.settle_units(&mut units).unwrap();

        let reference = builtin_reference();
        let slice = Slice {
            from: Period::parse("2025-01").unwrap(),
            to: Period::parse("2025-02").unwrap(),
            by: vec![Dim::District],
            districts: vec![],
            sectors: vec![],
            vsic: vec![],
        };
        let b = r.breakdown(&slice, &reference).unwrap();
        assert_eq!(b.cells.len(), 2);
        let jan = &b.cells[0].figures;
        assert_eq!(jan.total.micro(), 2000 * 1_000_000 + 500 * 2_500_000);
        assert_eq!(jan.ecommerce.micro(), 300 * 1_000_000 + 50 * 2_500_000);
        assert_eq!((jan.filings, jan.units), (2, 2));
        assert_eq!((b.total.filings, b.total.units), (3, 2), "u1 counted once across cells");

        // The table survives a round trip through its file.
        let dir = tempfile::tempdir().unwrap();
        r.write(&dir.path().join("r.parquet")).unwrap();
        assert_eq!(Rollup::read(&dir.path().join("r.parquet")).unwrap(), r);
        units.write_added(&dir.path().join("u.parquet")).unwrap();
        let mut again = UnitDictionary::read(&[dir.path().join("u.parquet")]).unwrap();
        assert_eq!(again.index_of("u2").unwrap(), 1);
        assert_eq!(again.added(), 0);
    }

    /// Filings of three units over the twelve months of 2024.
    fn a_year() -> RecordBatch {
        let months: Vec<String> = (1..=12).map(|m| format!("2024-{m:02}")).collect();
        let mut rows = Vec::new();
        for (m, month) in months.iter().enumerate() {
            let m = m as i64;
            rows.push(("u1", "380", "4711", month.as_str(), 1000 + m, 10 * m, 1_000_000));
            rows.push(("u2", "381", "4791", month.as_str(), 500, 50 + m, 2_500_000));
            if m % 4 == 0 {
                rows.push(("u3", "380", "4791", month.as_str(), 70, 7, 1_000_000));
            }
        }
        filings(&rows)
    }

    fn slice(from: &str, to: &str, by: Vec<Dim>) -> Slice {
        Slice {
            from: Period::parse(from).unwrap(),
            to: Period::parse(to).unwrap(),
            by,
            districts: vec![],
            sectors: vec![],
            vsic: vec![],
        }
    }

    #[test]
    fn a_rollup_file_from_before_parts_is_read_whole_and_gains_them_at_the_next_write() {
        let (mut units, mut r) = (UnitDictionary::default(), Rollup::default());
        r.apply(&a_year(), &mut units, 1).unwrap();
        r.settle_units(&mut units).unwrap();
        let dir = tempfile::tempdir().unwrap();
        r.write(&dir.path().join("now.parquet")).unwrap();
        // The layout before parts: one row group of month cells, unnamed.
        let months: Vec<RecordBatch> = r
            .parts
            .iter()
            .filter(|(span, _)| matches!(span, Span::Month(_)))
            .map(|(span, part)| r.part_batch(*span, r.part(part).unwrap()).unwrap())
            .collect();
        let before = dir.path().join("before.parquet");
        write_parquet(&before, &concat_batches(&months[0].schema(), &months).unwrap()).unwrap();

        let mut old = Rollup::read(&before).unwrap();
        assert!(!old.levels && old.parts.len() == 12, "months only");
        let reference = builtin_reference();
        let slices = [
            slice("2024-01", "2024-12", vec![Dim::District]),
            slice("2024-01", "2024-12", vec![Dim::Sector, Dim::Quarter]),
            slice("2024-02", "2024-11", vec![]),
            slice("2024-01", "2024-06", vec![Dim::Year, Dim::Vsic]),
        ];
        for s in &slices {
            assert_eq!(
                old.breakdown(s, &reference).unwrap(),
                r.breakdown(s, &reference).unwrap()
            );
        }
        // The next write adds the quarters and years, as a commit's does.
        old.write(&dir.path().join("after.parquet")).unwrap();
        let after = Rollup::read(&dir.path().join("after.parquet")).unwrap();
        assert!(after.levels && after.parts.len() == 12 + 4 + 1);
        assert_eq!(after, r);
        for s in &slices {
            assert_eq!(
                after.breakdown(s, &reference).unwrap(),
                r.breakdown(s, &reference).unwrap()
            );
        }
        // A whole year is answered from the year's cells: 3 instead of 28.
        let year = after.cover(
            Period::parse("2024-01").unwrap(),
            Period::parse("2024-12").unwrap(),
            Dim::Year,
        );
        assert_eq!(year, vec![Span::Year(2024)]);
        assert_eq!(after.part(&after.parts[&Span::Year(2024)]).unwrap().codes.len(), 3);
        let cover = after.cover(
            Period::parse("2024-02").unwrap(),
            Period::parse("2024-11").unwrap(),
            Dim::Quarter,
        );
        let names: Vec<String> = cover.into_iter().map(Span::name).collect();
        assert_eq!(
            names,
            ["2024-02", "2024-03", "2024-Q2", "2024-Q3", "2024-10", "2024-11"]
        );
    }

    #[test]
    fn a_commit_writes_the_months_it_changed_and_names_where_the_others_are() {
        let (mut units, mut whole) = (UnitDictionary::default(), Rollup::default());
        whole.apply(&a_year(), &mut units, 1).unwrap();
        whole.settle_units(&mut units).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = |n: usize| {
            let d = dir.path().join(format!("{n:08}"));
            std::fs::create_dir_all(&d).unwrap();
            d.join("rollup.parquet")
        };
        whole.write(&file(0)).unwrap();
        let reference = builtin_reference();
        let slices = [
            slice("2024-01", "2024-12", vec![Dim::District]),
            slice("2024-01", "2024-12", vec![Dim::Sector, Dim::Quarter]),
            slice("2024-04", "2024-06", vec![Dim::Vsic]),
            slice("2024-01", "2024-12", vec![Dim::Year]),
        ];
        // 60 commits, each adding a filing to one month, every sixth one
        // also revising the previous commit's filing, each read from the
        // previous one's file as a commit does.
        let (mut dictionary, mut expected) = (units.clone(), whole.clone());
        let mut whole_again = 0;
        let mut previous: Option<(String, String, i64)> = None;
        for n in 1..=60usize {
            // Months of three years, in an order that spreads the parts
            // over many files.
            let k = (n * 7) % 36;
            let month = format!("{}-{:02}", 2022 + k / 12, k % 12 + 1);
            let unit = format!("u{}", 10 + n % 7);
            let (n64, mut rows, mut gone) = (n as i64, Vec::new(), Vec::new());
            rows.push((unit.as_str(), "381", "4711", month.as_str(), 10 * n64, n64, 1_000_000));
            if let Some((unit, month, amount)) = previous.as_ref().filter(|_| n % 6 == 0) {
                gone.push((
                    unit.as_str(),
                    "381",
                    "4711",
                    month.as_str(),
                    *amount,
                    *amount / 10,
                    1_000_000,
                ));
                rows.push((unit.as_str(), "381", "4711", month.as_str(), 3 * n64, 2, 1_000_000));
            }
            let (more, gone) = (filings(&rows), filings(&gone));
            let mut r = Rollup::read(&file(n - 1)).unwrap();
            r.apply(&more, &mut dictionary, 1).unwrap();
            r.apply(&gone, &mut dictionary, -1).unwrap();
            r.settle_units(&mut dictionary).unwrap();
            expected.apply(&more, &mut units, 1).unwrap();
            expected.apply(&gone, &mut units, -1).unwrap();
            expected.settle_units(&mut units).unwrap();
            expected.settle_levels().unwrap();
            r.write(&file(n)).unwrap();
            previous = Some((unit, month, 10 * n64));

            let back = Rollup::read(&file(n)).unwrap();
            assert_eq!(back, expected, "commit {n}");
            assert_levels_as_remade(&back, &format!("commit {n}"));
            for s in &slices {
                assert_eq!(
                    back.breakdown(s, &reference).unwrap(),
                    expected.breakdown(s, &reference).unwrap()
                );
            }
            assert!(
                back.files() <= storage::MAX_SOURCES + 1,
                "commit {n}: {} files",
                back.files()
            );
            whole_again += usize::from(n > 1 && back.files() == 1);
            let written = storage::read_row_groups(&file(n), None).unwrap();
            let rows: usize = written.iter().map(|b| b.num_rows()).sum();
            if n == 1 {
                // The month, its quarter and the year; the other months
                // and quarters stay in the first file.
                assert_eq!(back.files(), 2);
                assert!(rows < whole.sorted().unwrap().len() / 2, "{rows} rows written");
            }
        }
        assert!(whole_again > 0, "past MAX_SOURCES files a commit writes every part");
    }

    /// Each quarter and year of `r`, brought up to date by its months'
    /// changes, equals the same made again from its months.
    fn assert_levels_as_remade(r: &Rollup, when: &str) {
        let effective = |c: &Cells| {
            let mut v: Vec<(Codes, Agg)> = c
                .codes
                .iter()
                .cloned()
                .zip(c.aggs.iter().cloned())
                .filter(|(_, a)| a.filings != 0)
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        for (span, part) in r.parts.iter().filter(|(s, _)| !matches!(s, Span::Month(_))) {
            let remade = r.level(*span).unwrap();
            assert_eq!(
                effective(r.part(part).unwrap()),
                effective(&remade),
                "{when}, {}",
                span.name()
            );
        }
    }

    #[test]
    fn a_month_cell_that_loses_its_last_filing_leaves_its_quarter_and_year_as_if_made_again() {
        let (mut units, mut r) = (UnitDictionary::default(), Rollup::default());
        r.apply(&a_year(), &mut units, 1).unwrap();
        // u4 shares u3's cell in February.
        r.apply(
            &filings(&[("u4", "380", "4791", "2024-02", 40, 4, 1_000_000)]),
            &mut units,
            1,
        )
        .unwrap();
        r.settle_units(&mut units).unwrap();
        let dir = tempfile::tempdir().unwrap();
        r.write(&dir.path().join("1.parquet")).unwrap();
        let mut r = Rollup::read(&dir.path().join("1.parquet")).unwrap();
        // u3's January filing, alone in its month's cell, goes (its quarter's
        // cell keeps u4's filing, but not u3); u1's March changes.
        r.apply(
            &filings(&[("u3", "380", "4791", "2024-01", 70, 7, 1_000_000)]),
            &mut units,
            -1,
        )
        .unwrap();
        r.apply(
            &filings(&[("u1", "380", "4711", "2024-03", 5, 1, 1_000_000)]),
            &mut units,
            1,
        )
        .unwrap();
        r.settle_units(&mut units).unwrap();
        r.write(&dir.path().join("2.parquet")).unwrap();
        let back = Rollup::read(&dir.path().join("2.parquet")).unwrap();
        assert_levels_as_remade(&back, "after");
        let q1 = back
            .part(&back.parts[&Span::Quarter(Quarter::parse("2024-Q1").unwrap())])
            .unwrap();
        let cell = q1
            .codes
            .iter()
            .position(|c| c[0].as_ref() == "380" && c[2].as_ref() == "4791");
        let u4 = units.index_of("u4").unwrap();
        let cell = &q1.aggs[cell.expect("u4's filing is in the quarter")];
        assert_eq!(
            (cell.filings, cell.units.get().unwrap().iter().collect::<Vec<_>>()),
            (1, vec![u4])
        );
    }

    /// Regression: unit sets are decoded when first needed, so a damaged
    /// one must fail the answer that needs it with an error, not a panic.
    #[test]
    fn a_damaged_unit_set_fails_the_answer_with_an_error() {
        let (mut units, mut r) = (UnitDictionary::default(), Rollup::default());
        r.apply(&a_year(), &mut units, 1).unwrap();
        r.settle_units(&mut units).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.parquet");
        r.write(&path).unwrap();
        let parts = read_row_groups(&path, None).unwrap();
        let batch = concat_batches(&parts[0].schema(), &parts).unwrap();
        let garbage = BinaryArray::from_iter_values((0..batch.num_rows()).map(|_| b"not a bitmap".as_slice()));
        let mut columns = batch.columns().to_vec();
        columns[batch.schema().index_of("units").unwrap()] = Arc::new(garbage);
        write_parquet(&path, &RecordBatch::try_new(batch.schema(), columns).unwrap()).unwrap();

        let damaged = Rollup::read(&path).unwrap();
        let err = damaged
            .breakdown(&slice("2024-01", "2024-03", vec![Dim::District]), &builtin_reference())
            .unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
    }
}
