//! Disclosure control applied to a share response: the response is laid
//! out as the table it is part of — the district × sector table (whose
//! cells, row and column totals and grand total are the two-way, district,
//! sector and plain answers, so all four agree), a line of groups with
//! their total (any other one-way breakdown), or a grid of the first
//! dimension by the others — each entry's enterprises are judged from the
//! contributions kept per month, district and VSIC code (bounds that decide
//! almost every entry), or, when those cannot decide an entry, from the
//! engine's exact per-enterprise totals; `domain::disclosure` decides which
//! entries to withhold. Withheld rows keep their keys and target; their
//! figures are emptied (written as nulls). Also withholds the same cells in
//! a named query's rows (Arrow batches, plain data).

use super::{AppError, ShareResponse, ShareRow};
use crate::domain::Dim;
use crate::domain::disclosure::{CellStats, Contributions, Entry, Rule, Shape, bounded_entry, protect_entries as plan};
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::{cast, nullif};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use std::collections::HashMap;
use std::sync::Arc;

type Key = Vec<Option<String>>;
type Totals = HashMap<String, i128>;
/// One enterprise's total in one entry of a table: the entry's key, the
/// enterprise, Σ weight × total revenue.
type EnterpriseTotal = (Key, String, i128);

/// What a table's entries are judged from: for each of its cells (keyed
/// as the table's entries are), either each enterprise's exact total, or
/// the contributions kept for a month × district × VSIC cell.
pub(super) enum Parts {
    Exact(Vec<EnterpriseTotal>),
    Kept(Vec<(Key, Contributions)>),
}

impl Parts {
    /// The parts of each value of the first key, keyed by the rest.
    fn split_first(self) -> std::collections::BTreeMap<String, Parts> {
        let mut out = std::collections::BTreeMap::new();
        match self {
            Parts::Exact(totals) => {
                for (key, e, t) in totals {
                    if let Some(first) = key[0].clone() {
                        match out.entry(first).or_insert_with(|| Parts::Exact(Vec::new())) {
                            Parts::Exact(v) => v.push((key[1..].to_vec(), e, t)),
                            Parts::Kept(_) => unreachable!("one kind of parts"),
                        }
                    }
                }
            }
            Parts::Kept(cells) => {
                for (key, c) in cells {
                    if let Some(first) = key[0].clone() {
                        match out.entry(first).or_insert_with(|| Parts::Kept(Vec::new())) {
                            Parts::Kept(v) => v.push((key[1..].to_vec(), c)),
                            Parts::Exact(_) => unreachable!("one kind of parts"),
                        }
                    }
                }
            }
        }
        out
    }
}

/// The contributions to one entry of a table, merged as entries add up.
trait Part: Default + Clone {
    fn add(&mut self, other: &Self);
    /// The entry, or `None` when this kind of part cannot decide it.
    fn entry(&self, rule: &Rule) -> Option<Entry>;
}

impl Part for Totals {
    fn add(&mut self, other: &Self) {
        for (e, v) in other {
            *self.entry(e.clone()).or_default() += v;
        }
    }

    fn entry(&self, rule: &Rule) -> Option<Entry> {
        Some(CellStats::from_totals(self.values().copied(), rule).entry(rule))
    }
}

/// The kept contributions of the month × district × VSIC cells of an entry.
#[derive(Default, Clone)]
struct Kept<'a>(Vec<&'a Contributions>);

impl Part for Kept<'_> {
    fn add(&mut self, other: &Self) {
        self.0.extend_from_slice(&other.0);
    }

    fn entry(&self, rule: &Rule) -> Option<Entry> {
        bounded_entry(&self.0, rule)
    }
}

pub(super) fn row_key(row: &ShareRow, by: &[Dim]) -> Key {
    by.iter()
        .map(|d| row.keys.get(d.key_field()).cloned().flatten())
        .collect()
}

/// The dimensions to count enterprises by for a breakdown `by`: district
/// and sector tables (and the plain total) are protected as parts of the
/// district × sector table — its cells, its margins, its grand total — so
/// that the figures of all four agree on what is withheld; any other
/// breakdown is protected as its own table.
pub(super) fn totals_dims(by: &[Dim]) -> Vec<Dim> {
    if by.iter().all(|d| matches!(d, Dim::District | Dim::Sector)) && by.len() <= 2 && !has_repeats(by) {
        vec![Dim::District, Dim::Sector]
    } else {
        by.to_vec()
    }
}

fn has_repeats(by: &[Dim]) -> bool {
    by.len() == 2 && by[0] == by[1]
}

/// A protected two-way table: its rows and columns (the distinct values with
/// contributions, sorted) and which of its entries are withheld.
struct Grid {
    rows: Vec<Option<String>>,
    cols: Vec<Key>,
    suppressed: Vec<bool>,
}

impl Grid {
    /// `None` when an entry cannot be decided from these parts.
    fn plan<S: Part>(cells: &HashMap<Key, S>, rule: &Rule) -> Option<Self> {
        let mut rows: Vec<Option<String>> = cells.keys().map(|k| k[0].clone()).collect();
        rows.sort();
        rows.dedup();
        let mut cols: Vec<Key> = cells.keys().map(|k| k[1..].to_vec()).collect();
        cols.sort();
        cols.dedup();
        let (r, c) = (rows.len(), cols.len());
        let row_of: HashMap<&Option<String>, usize> = rows.iter().enumerate().map(|(i, v)| (v, i)).collect();
        let col_of: HashMap<&[Option<String>], usize> =
            cols.iter().enumerate().map(|(j, v)| (v.as_slice(), j)).collect();
        let mut cell_parts = vec![S::default(); r * c];
        let mut row_parts = vec![S::default(); r];
        let mut col_parts = vec![S::default(); c];
        let mut all = S::default();
        for (key, t) in cells {
            let (i, j) = (row_of[&key[0]], col_of[&key[1..]]);
            cell_parts[i * c + j].add(t);
            row_parts[i].add(t);
            col_parts[j].add(t);
            all.add(t);
        }
        let entries: Vec<Entry> = cell_parts
            .iter()
            .chain(&row_parts)
            .chain(&col_parts)
            .chain(std::iter::once(&all))
            .map(|p| p.entry(rule))
            .collect::<Option<_>>()?;
        let suppressed = plan(Shape::Grid { rows: r, cols: c }, &entries);
        Some(Self { rows, cols, suppressed })
    }

    fn cell(&self, row: &Option<String>, col: &[Option<String>]) -> bool {
        match (
            self.rows.iter().position(|r| r == row),
            self.cols.iter().position(|c| c == col),
        ) {
            (Some(i), Some(j)) => self.suppressed[i * self.cols.len() + j],
            _ => false,
        }
    }

    fn row_total(&self, row: &Option<String>) -> bool {
        self.rows
            .iter()
            .position(|r| r == row)
            .is_some_and(|i| self.suppressed[self.rows.len() * self.cols.len() + i])
    }

    fn col_total(&self, col: &[Option<String>]) -> bool {
        let n = self.rows.len() * self.cols.len() + self.rows.len();
        self.cols
            .iter()
            .position(|c| c == col)
            .is_some_and(|j| self.suppressed[n + j])
    }

    fn grand_total(&self) -> bool {
        *self.suppressed.last().expect("a grid has a grand total")
    }
}

/// Withholds the entries of `resp` (a breakdown by `by`) that disclosure
/// control withholds, judged from `parts` keyed by `dims` (see
/// [`totals_dims`]). Returns false, with `resp` untouched, when the parts
/// cannot decide an entry (kept contributions whose bounds do not tell);
/// exact totals always decide.
pub(super) fn protect(resp: &mut ShareResponse, by: &[Dim], dims: &[Dim], parts: &Parts, rule: &Rule) -> bool {
    match parts {
        Parts::Exact(totals) => {
            let mut cells: HashMap<Key, Totals> = HashMap::new();
            for (key, enterprise, total) in totals {
                *cells
                    .entry(key.clone())
                    .or_default()
                    .entry(enterprise.clone())
                    .or_default() += total;
            }
            protect_with(resp, by, dims, &cells, rule)
        }
        Parts::Kept(kept) => {
            let mut cells: HashMap<Key, Kept<'_>> = HashMap::new();
            for (key, c) in kept {
                cells.entry(key.clone()).or_default().0.push(c);
            }
            protect_with(resp, by, dims, &cells, rule)
        }
    }
}

fn protect_with<S: Part>(
    resp: &mut ShareResponse,
    by: &[Dim],
    dims: &[Dim],
    cells: &HashMap<Key, S>,
    rule: &Rule,
) -> bool {
    if by.len() == 1 && dims == by {
        // A one-way table of its own: its groups and their total.
        let mut all = S::default();
        for t in cells.values() {
            all.add(t);
        }
        let empty = S::default();
        let entries: Option<Vec<Entry>> = resp
            .rows
            .iter()
            .map(|r| cells.get(&row_key(r, by)).unwrap_or(&empty).entry(rule))
            .chain(std::iter::once(all.entry(rule)))
            .collect();
        let Some(entries) = entries else {
            return false;
        };
        let s = plan(Shape::Line { cells: resp.rows.len() }, &entries);
        for (row, hide) in resp.rows.iter_mut().zip(&s) {
            if *hide {
                row.suppress();
            }
        }
        if s[resp.rows.len()] {
            resp.total.suppress();
        }
        return true;
    }
    // One two-way table, dims[0] by the rest; `by` is its cells, one of its
    // margins, or (no `by`) its grand total.
    let Some(grid) = Grid::plan(cells, rule) else {
        return false;
    };
    for row in resp.rows.iter_mut() {
        let key = row_key(row, by);
        let value = |d: Dim| by.iter().position(|b| *b == d).and_then(|i| key[i].clone());
        let hide = match by.len() {
            1 if by[0] == dims[0] => grid.row_total(&key[0]),
            1 => grid.col_total(&key),
            _ => {
                let c: Key = dims[1..].iter().map(|d| value(*d)).collect();
                grid.cell(&value(dims[0]), &c)
            }
        };
        if hide {
            row.suppress();
        }
    }
    if grid.grand_total() {
        resp.total.suppress();
    }
    true
}

/// Whether a result column describes a row (kept when the row is withheld)
/// rather than holding one of its figures.
fn describes(column: &str) -> bool {
    crate::domain::Dim::ALL
        .iter()
        .any(|d| d.key_field() == column || d.name_field() == Some(column))
        || column.starts_with("target")
}

/// A named query's rows with the cells `protected` withholds withheld: the
/// figure columns of those rows null, and a `suppressed` column added. The
/// row whose key columns are all empty is the total.
pub(super) fn withhold_rows(
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    by: &[Dim],
    protected: &ShareResponse,
) -> Result<(SchemaRef, Vec<RecordBatch>), AppError> {
    let withheld: std::collections::HashSet<Key> = protected
        .rows
        .iter()
        .filter(|r| r.suppressed)
        .map(|r| row_key(r, by))
        .collect();
    let key_columns = key_columns(&schema, by)?;
    let mut fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let f = f.as_ref().clone();
            if describes(f.name()) { f } else { f.with_nullable(true) }
        })
        .collect();
    fields.push(Field::new("suppressed", DataType::Boolean, false));
    let out_schema: SchemaRef = Arc::new(Schema::new(fields));
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let keys = batch_keys(&batch, &key_columns)?;
        let mask: BooleanArray = keys
            .iter()
            .map(|key| {
                Some(if key.iter().all(Option::is_none) {
                    protected.total.suppressed
                } else {
                    withheld.contains(key)
                })
            })
            .collect();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns() + 1);
        for (i, field) in schema.fields().iter().enumerate() {
            let column = batch.column(i).clone();
            columns.push(if describes(field.name()) {
                column
            } else {
                nullif(&column, &mask).map_err(|e| AppError::bad("invalid_query", e.to_string()))?
            });
        }
        columns.push(Arc::new(mask));
        out.push(
            RecordBatch::try_new(out_schema.clone(), columns)
                .map_err(|e| AppError::bad("invalid_query", e.to_string()))?,
        );
    }
    Ok((out_schema, out))
}

/// The positions of a named query's key columns for a breakdown `by`.
pub(super) fn key_columns(schema: &SchemaRef, by: &[Dim]) -> Result<Vec<usize>, AppError> {
    by.iter()
        .map(|d| {
            schema.index_of(d.key_field()).map_err(|_| {
                AppError::bad(
                    "invalid_query",
                    format!(
                        "the query declares cells by {} but has no {} column",
                        d.name(),
                        d.key_field()
                    ),
                )
            })
        })
        .collect()
}

/// Each row's keys (columns `key_columns`, as text; an empty one is none),
/// as the share API's rows are keyed (see `row_key`).
pub(super) fn batch_keys(batch: &RecordBatch, key_columns: &[usize]) -> Result<Vec<Key>, AppError> {
    let columns = key_columns
        .iter()
        .map(|i| {
            cast(batch.column(*i), &DataType::Utf8)
                .map_err(|e| AppError::bad("invalid_query", e.to_string()))
                .map(|a| a.as_any().downcast_ref::<StringArray>().cloned().expect("cast to Utf8"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((0..batch.num_rows())
        .map(|row| {
            columns
                .iter()
                .map(|c| (!c.is_null(row) && !c.value(row).is_empty()).then(|| c.value(row).to_string()))
                .collect()
        })
        .collect())
}

/// The table analysts' SQL reads when figures are protected (`cells`): one
/// row per month × district × sector of `resp` (a breakdown by period,
/// district and sector), each month protected as its own district × sector
/// table with margins — the same table, and so the same withheld cells, as
/// the share API gives for that month. A withheld row keeps its keys; its
/// amounts and counts are null and `suppressed` is true.
/// `None` when `parts` cannot decide an entry (see [`protect`]).
pub(super) fn monthly_cells(resp: &ShareResponse, parts: Parts, rule: &Rule) -> Result<Option<RecordBatch>, AppError> {
    let grid = [Dim::District, Dim::Sector];
    let mut months: std::collections::BTreeMap<String, ShareResponse> = Default::default();
    for row in &resp.rows {
        let Some(Some(month)) = row.keys.get(Dim::Period.key_field()) else {
            continue;
        };
        let entry = months.entry(month.clone()).or_insert_with(|| {
            // The month's table: the rows are gathered below (cloning the
            // whole response per month would copy every month's rows).
            ShareResponse {
                from: resp.from.clone(),
                to: resp.to.clone(),
                by: resp.by.clone(),
                dataset_version: resp.dataset_version,
                target: resp.target,
                target_program: resp.target_program.clone(),
                targets: resp.targets.clone(),
                rows: Vec::new(),
                total: resp.total.clone(),
                series_break: resp.series_break,
            }
        });
        entry.rows.push(row.clone());
    }
    let mut parts = parts.split_first();
    let mut rows = Vec::new();
    for (m, mut month) in months {
        let month_parts = parts.remove(&m).unwrap_or(Parts::Exact(Vec::new()));
        if !protect(&mut month, &grid, &grid, &month_parts, rule) {
            return Ok(None);
        }
        rows.extend(month.rows);
    }
    let text = |field: &str| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|r| r.keys.get(field).cloned().flatten())
                .collect::<StringArray>(),
        )
    };
    let amount = |f: fn(&ShareRow) -> &String| -> Result<ArrayRef, AppError> {
        let strings: StringArray = rows.iter().map(|r| (!r.suppressed).then(|| f(r).as_str())).collect();
        cast(&strings, &DataType::Decimal128(38, 6)).map_err(|e| shape(e.to_string()))
    };
    let count = |f: fn(&ShareRow) -> u64| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|r| (!r.suppressed).then(|| f(r) as i64))
                .collect::<datafusion::arrow::array::Int64Array>(),
        )
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("period", DataType::Utf8, true),
        Field::new("district_code", DataType::Utf8, true),
        Field::new("district_name", DataType::Utf8, true),
        Field::new("sector_code", DataType::Utf8, true),
        Field::new("sector_name", DataType::Utf8, true),
        Field::new("weighted_total_vnd", DataType::Decimal128(38, 6), true),
        Field::new("weighted_ecommerce_vnd", DataType::Decimal128(38, 6), true),
        Field::new("filings", DataType::Int64, true),
        Field::new("units", DataType::Int64, true),
        Field::new("suppressed", DataType::Boolean, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        text("period"),
        text("district_code"),
        text("district_name"),
        text("sector_code"),
        text("sector_name"),
        amount(|r| &r.total_revenue_vnd)?,
        amount(|r| &r.ecommerce_revenue_vnd)?,
        count(|r| r.filings),
        count(|r| r.units),
        Arc::new(rows.iter().map(|r| Some(r.suppressed)).collect::<BooleanArray>()),
    ];
    RecordBatch::try_new(schema, columns)
        .map(Some)
        .map_err(|e| shape(e.to_string()))
}

fn shape(message: String) -> AppError {
    AppError::Engine(crate::engine::EngineError::Shape(message))
}
