//! The columns a rollup reads from a record batch, of filings or of its own
//! file: the input columns and their schema, string columns in either Arrow
//! form (or absent), integer columns, the period's error. Holds no state.

use super::RollupError;
use datafusion::arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray, StringViewArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use std::sync::Arc;

/// The columns a batch of filings must have to be added or subtracted:
/// unit_id, district_code, commune_code (null or empty before the 2025
/// reform), vsic_code, period, total_revenue_vnd, ecommerce_revenue_vnd,
/// weight_micro (by name, any order, more allowed).
pub const INPUT_COLUMNS: [&str; 8] = [
    "unit_id",
    "district_code",
    "commune_code",
    "vsic_code",
    "period",
    "total_revenue_vnd",
    "ecommerce_revenue_vnd",
    "weight_micro",
];

/// A string column, as stored (`Utf8`) or as DataFusion reads it
/// (`Utf8View`), or absent (every value empty). A null reads as empty.
pub(super) enum Text {
    Utf8(StringArray),
    View(StringViewArray),
    Absent(usize),
}

impl Text {
    pub(super) fn value(&self, i: usize) -> &str {
        match self {
            Text::Utf8(a) if a.is_valid(i) => a.value(i),
            Text::View(a) if a.is_valid(i) => a.value(i),
            _ => "",
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Text::Utf8(a) => a.len(),
            Text::View(a) => a.len(),
            Text::Absent(n) => *n,
        }
    }
}

pub(super) fn strings(a: &ArrayRef) -> Result<Text, RollupError> {
    if let Some(v) = a.as_any().downcast_ref::<StringViewArray>() {
        return Ok(Text::View(v.clone()));
    }
    let utf8 = cast(a, &DataType::Utf8).map_err(|e| RollupError::Input(e.to_string()))?;
    Ok(Text::Utf8(
        utf8.as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8 gives a StringArray")
            .clone(),
    ))
}

pub(super) fn ints<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a Int64Array, RollupError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| RollupError::Input(format!("no BIGINT column {name}")))
}

pub(super) fn text(batch: &RecordBatch, name: &str) -> Result<Text, RollupError> {
    strings(
        batch
            .column_by_name(name)
            .ok_or_else(|| RollupError::Input(format!("no column {name}")))?,
    )
}

/// A column written only since the 2025 reform's communes: empty when absent.
pub(super) fn commune_text(batch: &RecordBatch) -> Result<Text, RollupError> {
    match batch.column_by_name("commune_code") {
        Some(c) => strings(c),
        None => Ok(Text::Absent(batch.num_rows())),
    }
}

/// The key columns of a batch: period, district, commune, VSIC code.
pub(super) fn key_columns(batch: &RecordBatch) -> Result<[Text; 4], RollupError> {
    Ok([
        text(batch, "period")?,
        text(batch, "district_code")?,
        commune_text(batch)?,
        text(batch, "vsic_code")?,
    ])
}

pub(super) fn bad_period(name: &str) -> RollupError {
    RollupError::Input(format!("period {name:?} is not a month, quarter or year"))
}

/// The schema `apply` reads (for callers that build input batches).
pub fn input_schema() -> Arc<Schema> {
    let s = |n: &str| Field::new(n, DataType::Utf8, false);
    let i = |n: &str| Field::new(n, DataType::Int64, false);
    Arc::new(Schema::new(vec![
        s("unit_id"),
        s("district_code"),
        s("vsic_code"),
        s("period"),
        i("total_revenue_vnd"),
        i("ecommerce_revenue_vnd"),
        i("weight_micro"),
    ]))
}
