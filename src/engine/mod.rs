//! Engine: SQL over the Parquet warehouse with DataFusion.
//!
//! Takes the list of Parquet files of one dataset version and the reference
//! tables, registers them, and answers share queries with the named SQL in
//! `queries/`, returning plain domain values (`Cell`, `Figures`). The only
//! module that knows DataFusion. It never reads the manifest or the
//! reference files itself, never decides a status or a target, and knows
//! nothing of HTTP.

use crate::domain::{Cell, Figures, Period, Reference, Slice, WeightedVnd};
use datafusion::arrow::array::{Array, ArrayRef, Decimal128Array, Int32Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::functions_aggregate::expr_fn::{count, count_distinct, grouping, max, min, sum};
use datafusion::logical_expr::GroupingSet;
use datafusion::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;

pub const EFFECTIVE_FILINGS_SQL: &str = include_str!("../../queries/effective_filings.sql");
pub const SHARE_BASE_SQL: &str = include_str!("../../queries/share_base.sql");
pub const SUPERSEDED_BY_BATCH_SQL: &str = include_str!("../../queries/superseded_by_batch.sql");

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("query failed: {0}")]
    Query(#[from] DataFusionError),
    #[error("unexpected result shape: {0}")]
    Shape(String),
}

impl EngineError {
    pub fn code(&self) -> &'static str {
        "query_failed"
    }
}

/// One dataset version, registered and ready to query.
pub struct Snapshot {
    ctx: SessionContext,
}

/// The schema of stored filings, for a dataset with no files yet.
fn filings_schema() -> Arc<Schema> {
    let s = |n: &str, nullable| Field::new(n, DataType::Utf8, nullable);
    let i = |n: &str, t: DataType| Field::new(n, t, false);
    Arc::new(Schema::new(vec![
        s("unit_id", false),
        s("district_code", false),
        s("vsic_code", false),
        s("period", false),
        i("total_revenue_vnd", DataType::Int64),
        i("ecommerce_revenue_vnd", DataType::Int64),
        i("weight_micro", DataType::Int64),
        i("submitted_at_us", DataType::Int64),
        s("unit_name", true),
        i("batch_seq", DataType::Int64),
        i("file_index", DataType::Int32),
        i("record", DataType::Int64),
        i("row_id", DataType::Int64),
        i("key_hash", DataType::Int64),
    ]))
}

fn row_ids_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![Field::new("row_id", DataType::Int64, false)]))
}

fn session() -> SessionContext {
    let partitions = std::thread::available_parallelism().map_or(2, |n| n.get());
    SessionContext::new_with_config(SessionConfig::new().with_target_partitions(partitions))
}

/// Registers Parquet `files` as table `name`, or an empty table of `schema`
/// when there are none.
async fn register_files(
    ctx: &SessionContext,
    name: &str,
    files: &[PathBuf],
    schema: Arc<Schema>,
) -> Result<(), EngineError> {
    if files.is_empty() {
        ctx.register_table(name, Arc::new(MemTable::try_new(schema, vec![vec![]])?))?;
    } else {
        let paths: Vec<String> = files.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        let df = ctx.read_parquet(paths, ParquetReadOptions::default()).await?;
        ctx.register_table(name, df.into_view())?;
    }
    Ok(())
}

/// The row ids of filings that a batch being committed supersedes: of each
/// key the batch touches, every filing but the one in force from now on.
/// `filings` and `superseded` are the previous version's files, `staged` the
/// batch's accepted filings.
pub async fn superseded_by(
    filings: &[PathBuf],
    superseded: &[PathBuf],
    staged: &[PathBuf],
) -> Result<Vec<i64>, EngineError> {
    if staged.is_empty() {
        return Ok(Vec::new());
    }
    let ctx = session();
    register_files(&ctx, "filings", filings, filings_schema()).await?;
    register_files(&ctx, "superseded", superseded, row_ids_schema()).await?;
    register_files(&ctx, "staged", staged, filings_schema()).await?;
    let batches = ctx.sql(SUPERSEDED_BY_BATCH_SQL).await?.collect().await?;
    let mut ids = Vec::new();
    for batch in &batches {
        ids.extend(int_column(batch.column(0))?.values().iter().copied());
    }
    Ok(ids)
}

impl Snapshot {
    /// Registers one version's files (absolute paths of its filings and
    /// superseded-row-ids Parquet files) and the reference's VSIC mapping.
    pub async fn load(files: &[PathBuf], superseded: &[PathBuf], reference: &Reference) -> Result<Self, EngineError> {
        let ctx = session();
        register_files(&ctx, "filings", files, filings_schema()).await?;
        register_files(&ctx, "superseded", superseded, row_ids_schema()).await?;
        let vsic_schema = Arc::new(Schema::new(vec![
            Field::new("vsic_code", DataType::Utf8, false),
            Field::new("group_code", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            vsic_schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(
                    reference.vsic.iter().map(|v| v.vsic_code.as_str()),
                )),
                Arc::new(StringArray::from_iter_values(
                    reference.vsic.iter().map(|v| v.group_code.as_str()),
                )),
            ],
        )
        .map_err(DataFusionError::from)?;
        ctx.register_table("ref_vsic", Arc::new(MemTable::try_new(vsic_schema, vec![vec![batch]])?))?;
        let effective = ctx.sql(EFFECTIVE_FILINGS_SQL).await?;
        ctx.register_table("effective_filings", effective.into_view())?;
        let base = ctx.sql(SHARE_BASE_SQL).await?;
        ctx.register_table("share_base", base.into_view())?;
        Ok(Self { ctx })
    }

    /// The first and last month with any filing.
    pub async fn period_range(&self) -> Result<Option<(Period, Period)>, EngineError> {
        let batches = self
            .ctx
            .table("filings")
            .await?
            .aggregate(
                vec![],
                vec![min(col("period")).alias("lo"), max(col("period")).alias("hi")],
            )?
            .collect()
            .await?;
        let batch = batches
            .first()
            .ok_or_else(|| EngineError::Shape("no row from min/max".into()))?;
        let lo = string_column(batch.column(0))?;
        let hi = string_column(batch.column(1))?;
        if lo.is_null(0) || hi.is_null(0) {
            return Ok(None);
        }
        let parse = |s: &str| Period::parse(s).ok_or_else(|| EngineError::Shape(format!("stored period {s:?}")));
        Ok(Some((parse(lo.value(0))?, parse(hi.value(0))?)))
    }

    /// The exact figures of every group of `slice.by` that has effective
    /// filings, sorted by keys, and of the whole slice — in one pass (one
    /// aggregation with grouping sets), so the total's distinct units are
    /// counted over the slice, not added up.
    pub async fn breakdown(&self, slice: &Slice) -> Result<Breakdown, EngineError> {
        let mut df = self
            .ctx
            .table("share_base")
            .await?
            .filter(col("period").between(lit(slice.from.to_string()), lit(slice.to.to_string())))?;
        for (column, values) in [
            ("district_code", &slice.districts),
            ("sector_code", &slice.sectors),
            ("vsic_code", &slice.vsic),
        ] {
            if !values.is_empty() {
                df = df.filter(col(column).in_list(values.iter().map(|v| lit(v.clone())).collect(), false))?;
            }
        }
        let keys: Vec<Expr> = slice.by.iter().map(|d| col(d.key_field())).collect();
        let mut aggregates = vec![
            sum(col("weighted_total")).alias("total"),
            sum(col("weighted_ecommerce")).alias("ecommerce"),
            count(lit(1)).alias("filings"),
            count_distinct(col("unit_id")).alias("units"),
        ];
        df = match keys.first() {
            None => df.aggregate(vec![], aggregates)?,
            Some(first) => {
                // 1 on the row of the empty grouping set (the total), 0 on the groups.
                aggregates.push(grouping(first.clone()).alias("is_total"));
                let sets = Expr::GroupingSet(GroupingSet::GroupingSets(vec![keys.clone(), vec![]]));
                df.aggregate(vec![sets], aggregates)?
                    .sort(keys.into_iter().map(|k| k.sort(true, false)).collect())?
            }
        };
        let batches = df.collect().await?;
        let n_keys = slice.by.len();
        let mut out = Breakdown::default();
        for batch in &batches {
            let key_cols: Vec<StringArray> = (0..n_keys)
                .map(|k| string_column(batch.column(k)))
                .collect::<Result<_, _>>()?;
            let total = decimal_column(batch.column(n_keys))?;
            let ecommerce = decimal_column(batch.column(n_keys + 1))?;
            let filings = int_column(batch.column(n_keys + 2))?;
            let units = int_column(batch.column(n_keys + 3))?;
            let is_total = match n_keys {
                0 => None,
                _ => Some(
                    batch
                        .column(n_keys + 4)
                        .as_any()
                        .downcast_ref::<Int32Array>()
                        .ok_or_else(|| EngineError::Shape("expected an Int32 grouping flag".into()))?,
                ),
            };
            let decimal = |a: &Decimal128Array, row: usize| {
                WeightedVnd::from_micro(if a.is_null(row) { 0 } else { a.value(row) })
            };
            for row in 0..batch.num_rows() {
                let figures = Figures {
                    total: decimal(total, row),
                    ecommerce: decimal(ecommerce, row),
                    filings: filings.value(row) as u64,
                    units: units.value(row) as u64,
                };
                if is_total.is_none_or(|t| t.value(row) != 0) {
                    out.total = figures;
                } else {
                    out.cells.push(Cell {
                        keys: key_cols
                            .iter()
                            .map(|c| (!c.is_null(row)).then(|| c.value(row).to_string()))
                            .collect(),
                        figures,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// The groups of a slice and its total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breakdown {
    pub cells: Vec<Cell>,
    pub total: Figures,
}

fn string_column(a: &ArrayRef) -> Result<StringArray, EngineError> {
    let utf8 = cast(a, &DataType::Utf8).map_err(DataFusionError::from)?;
    utf8.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| EngineError::Shape("expected a string column".into()))
}

fn decimal_column(a: &ArrayRef) -> Result<&Decimal128Array, EngineError> {
    match a.data_type() {
        DataType::Decimal128(_, 0) => a
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .ok_or_else(|| EngineError::Shape("expected a decimal column".into())),
        other => Err(EngineError::Shape(format!("expected DECIMAL(_, 0) sums, got {other}"))),
    }
}

fn int_column(a: &ArrayRef) -> Result<&Int64Array, EngineError> {
    a.as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| EngineError::Shape(format!("expected an Int64 count, got {}", a.data_type())))
}
