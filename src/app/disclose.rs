//! Disclosure control applied to a share response: the response is laid
//! out as the table it publishes — one figure, a line of groups with their
//! total, or a grid (the first dimension by the others) with its row and
//! column totals and grand total — each entry's enterprises are counted
//! from the engine's per-enterprise totals, and `domain::disclosure`
//! decides which entries to withhold. Withheld rows keep their keys and
//! target; their figures are emptied (written as nulls).

use super::{AppError, ShareResponse, ShareRow};
use crate::domain::Dim;
use crate::domain::disclosure::{CellStats, Rule, Shape, protect as plan};
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::{cast, nullif};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use std::collections::HashMap;
use std::sync::Arc;

type Key = Vec<Option<String>>;
type Totals = HashMap<String, i128>;

fn add(into: &mut Totals, from: &Totals) {
    for (e, v) in from {
        *into.entry(e.clone()).or_default() += v;
    }
}

fn row_key(row: &ShareRow, by: &[Dim]) -> Key {
    by.iter()
        .map(|d| row.keys.get(d.key_field()).cloned().flatten())
        .collect()
}

pub(super) fn protect(resp: &mut ShareResponse, by: &[Dim], totals: &[(Key, String, i128)], rule: &Rule) {
    let mut cells: HashMap<Key, Totals> = HashMap::new();
    for (key, enterprise, total) in totals {
        *cells
            .entry(key.clone())
            .or_default()
            .entry(enterprise.clone())
            .or_default() += total;
    }
    let mut all = Totals::new();
    for t in cells.values() {
        add(&mut all, t);
    }
    let stats = |t: Option<&Totals>| CellStats::from_totals(t.into_iter().flat_map(|t| t.values().copied()), rule);
    let empty = Totals::new();
    match by.len() {
        0 => {
            if plan(Shape::Single, &[stats(Some(&all))], rule)[0] {
                resp.total.suppress();
            }
        }
        1 => {
            let mut entries: Vec<CellStats> = resp.rows.iter().map(|r| stats(cells.get(&row_key(r, by)))).collect();
            entries.push(stats(Some(&all)));
            let s = plan(Shape::Line { cells: resp.rows.len() }, &entries, rule);
            for (row, hide) in resp.rows.iter_mut().zip(&s) {
                if *hide {
                    row.suppress();
                }
            }
            if s[resp.rows.len()] {
                resp.total.suppress();
            }
        }
        _ => {
            // Rows: the first dimension's values; columns: the others'.
            let mut row_values: Vec<Option<String>> = Vec::new();
            let mut col_values: Vec<Key> = Vec::new();
            for r in &resp.rows {
                let key = row_key(r, by);
                if !row_values.contains(&key[0]) {
                    row_values.push(key[0].clone());
                }
                if !col_values.contains(&key[1..].to_vec()) {
                    col_values.push(key[1..].to_vec());
                }
            }
            for key in cells.keys() {
                if !row_values.contains(&key[0]) {
                    row_values.push(key[0].clone());
                }
                if !col_values.contains(&key[1..].to_vec()) {
                    col_values.push(key[1..].to_vec());
                }
            }
            let (rows, cols) = (row_values.len(), col_values.len());
            let row_of: HashMap<&Option<String>, usize> = row_values.iter().enumerate().map(|(i, v)| (v, i)).collect();
            let col_of: HashMap<&[Option<String>], usize> =
                col_values.iter().enumerate().map(|(j, v)| (v.as_slice(), j)).collect();
            let mut row_totals = vec![Totals::new(); rows];
            let mut col_totals = vec![Totals::new(); cols];
            for (key, t) in &cells {
                add(&mut row_totals[row_of[&key[0]]], t);
                add(&mut col_totals[col_of[&key[1..]]], t);
            }
            let mut entries = Vec::with_capacity(rows * cols + rows + cols + 1);
            for r in &row_values {
                for c in &col_values {
                    let mut key = vec![r.clone()];
                    key.extend(c.iter().cloned());
                    entries.push(stats(Some(cells.get(&key).unwrap_or(&empty))));
                }
            }
            entries.extend(row_totals.iter().map(|t| stats(Some(t))));
            entries.extend(col_totals.iter().map(|t| stats(Some(t))));
            entries.push(stats(Some(&all)));
            let s = plan(Shape::Grid { rows, cols }, &entries, rule);
            for row in resp.rows.iter_mut() {
                let key = row_key(row, by);
                if s[row_of[&key[0]] * cols + col_of[&key[1..]]] {
                    row.suppress();
                }
            }
            if s[entries.len() - 1] {
                resp.total.suppress();
            }
        }
    }
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
    let key_columns = by
        .iter()
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
        .collect::<Result<Vec<_>, _>>()?;
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
        let keys = key_columns
            .iter()
            .map(|i| {
                cast(batch.column(*i), &DataType::Utf8)
                    .map_err(|e| AppError::bad("invalid_query", e.to_string()))
                    .map(|a| a.as_any().downcast_ref::<StringArray>().cloned().expect("cast to Utf8"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mask: BooleanArray = (0..batch.num_rows())
            .map(|row| {
                let key: Key = keys
                    .iter()
                    .map(|c| (!c.is_null(row) && !c.value(row).is_empty()).then(|| c.value(row).to_string()))
                    .collect();
                Some(if key.iter().all(Option::is_none) {
                    protected.total.suppressed
                } else {
                    withheld.contains(&key)
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
