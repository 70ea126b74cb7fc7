//! Engine: SQL over the Parquet warehouse with DataFusion.
//!
//! Takes the list of Parquet files of one dataset version, its rollup and
//! the reference tables, registers them, and answers share queries (from the
//! rollup, or with the SQL in `queries/internal/`), named queries and
//! analysts' SQL (over the public views only, parameters bound, under a
//! memory pool), returning plain domain values (`Cell`, `Figures`) or Arrow
//! batch streams, which `tabular` encodes in officials' formats (JSON, CSV,
//! XLSX, Arrow IPC, Parquet). At commit it finds what a batch supersedes.
//! The only
//! module that knows DataFusion. It never reads the manifest or the
//! reference files itself, never decides a status or a target on its own,
//! and knows nothing of HTTP.

use crate::domain::disclosure::Contributions;
use crate::domain::release::Responses;
use crate::domain::{BoundValue, Cell, Dim, Figures, Period, Reference, Slice, WeightedVnd};
pub use crate::store::rollup::MonthSums;
use crate::store::rollup::{CellCodes, Rollup};
use datafusion::arrow::array::{
    Array, ArrayRef, Decimal128Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::functions_aggregate::expr_fn::{count, count_distinct, grouping, max, min, sum};
use datafusion::logical_expr::GroupingSet;
use datafusion::prelude::*;
use datafusion::sql::parser::Statement as DfStatement;
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;

pub mod catalog;
pub mod functions;
pub mod sql_gate;
pub mod tabular;

pub const EFFECTIVE_FILINGS_SQL: &str = include_str!("../../queries/internal/effective_filings.sql");
pub const SHARE_BASE_SQL: &str = include_str!("../../queries/internal/share_base.sql");
pub const SUPERSEDED_BY_BATCH_SQL: &str = include_str!("../../queries/internal/superseded_by_batch.sql");
pub const FILING_HISTORY_SQL: &str = include_str!("../../queries/internal/filing_history.sql");
pub const PUBLIC_FILINGS_SQL: &str = include_str!("../../queries/internal/public_filings.sql");

/// The views named queries and analysts' SQL read; nothing else is
/// registered where they run.
pub const PUBLIC_VIEWS: [&str; 7] = [
    "filings",
    "filing_history",
    "districts",
    "communes",
    "sectors",
    "vsic",
    "targets",
];

/// The views analysts' SQL reads when figures are protected: the
/// disclosure-controlled table `cells` (given by the caller) and the
/// reference; no filing is registered where it runs.
pub const PROTECTED_VIEWS: [&str; 6] = ["cells", "districts", "communes", "sectors", "vsic", "targets"];

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("query failed: {0}")]
    Query(#[from] DataFusionError),
    #[error("unexpected result shape: {0}")]
    Shape(String),
    /// The caller's SQL is refused or cannot be planned or run (their fault).
    #[error("{message}")]
    Sql { code: &'static str, message: String },
    /// The query needed more memory than the pool allows.
    #[error("the query needs more memory than the {limit_mib} MiB allowed; aggregate more or select fewer rows")]
    Memory { limit_mib: usize },
}

impl EngineError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Query(_) | Self::Shape(_) => "query_failed",
            Self::Sql { code, .. } => code,
            Self::Memory { .. } => "memory_limit_exceeded",
        }
    }

    /// The caller can fix it (as opposed to a fault of ours).
    pub fn is_client_error(&self) -> bool {
        matches!(self, Self::Sql { .. } | Self::Memory { .. })
    }
}

/// Resources one snapshot's queries may use.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Memory pool shared by the named and analysts' queries of a snapshot.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { memory_bytes: 1 << 30 }
    }
}

/// One dataset version, registered and ready to query.
pub struct Snapshot {
    /// Internal tables and views (raw filings, superseded row ids, share base).
    ctx: SessionContext,
    /// Only the public views and the domain's functions, under a memory pool.
    public: SessionContext,
    limits: Limits,
    /// The version's rollup, when it has one: share breakdowns come from it.
    rollup: Option<Arc<Rollup>>,
    reference: Arc<Reference>,
}

/// A query's result, batch by batch.
pub struct Rows {
    schema: SchemaRef,
    stream: SendableRecordBatchStream,
    limit_mib: usize,
}

impl Rows {
    /// Batches already in memory, as a result stream.
    pub fn from_batches(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        let stream = futures::stream::iter(batches.into_iter().map(Ok));
        Self {
            schema: schema.clone(),
            stream: Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                schema, stream,
            )),
            limit_mib: 0,
        }
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The next batch, `None` at the end.
    pub async fn next(&mut self) -> Option<Result<RecordBatch, EngineError>> {
        use futures::StreamExt;
        let limit_mib = self.limit_mib;
        self.stream.next().await.map(|r| r.map_err(|e| run_error(e, limit_mib)))
    }
}

/// An error while running analysts' or named SQL: resource exhaustion and
/// value errors are the query's, the rest ours.
fn run_error(e: DataFusionError, limit_mib: usize) -> EngineError {
    match e.find_root() {
        DataFusionError::ResourcesExhausted(_) => EngineError::Memory { limit_mib },
        DataFusionError::ArrowError(_, _) | DataFusionError::Execution(_) => EngineError::Sql {
            code: "query_failed_on_data",
            message: e.to_string(),
        },
        _ => EngineError::Query(e),
    }
}

/// A planning error of analysts' SQL: theirs to fix.
fn plan_error(e: DataFusionError) -> EngineError {
    EngineError::Sql {
        code: "invalid_sql",
        message: e.strip_backtrace(),
    }
}

fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

fn scalar(v: &BoundValue) -> ScalarValue {
    match v {
        BoundValue::Text(s) => ScalarValue::Utf8(Some(s.clone())),
        BoundValue::Int(i) => ScalarValue::Int64(Some(*i)),
    }
}

fn param_values(params: &[(String, BoundValue)]) -> ParamValues {
    ParamValues::from(params.iter().map(|(k, v)| (k.clone(), scalar(v))).collect::<Vec<_>>())
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
        // Absent from files written before the 2025 reform's communes: null.
        s("commune_code", true),
    ]))
}

/// Superseded row ids and the version whose batch superseded them.
fn superseded_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("row_id", DataType::Int64, false),
        Field::new("superseded_in", DataType::Int64, false),
    ]))
}

fn session_config() -> SessionConfig {
    let partitions = std::thread::available_parallelism().map_or(2, |n| n.get());
    SessionConfig::new().with_target_partitions(partitions)
}

fn session() -> SessionContext {
    SessionContext::new_with_config(session_config())
}

/// The reference as tables: the public `districts`, `sectors`, `vsic`,
/// `targets` (under internal names) and `ref_vsic`, which the share base joins.
fn reference_tables(r: &Reference) -> Result<Vec<(&'static str, RecordBatch)>, EngineError> {
    fn text<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
        Arc::new(StringArray::from_iter_values(values))
    }
    fn opt_text<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
        Arc::new(values.collect::<StringArray>())
    }
    let batch = |columns: Vec<(&str, ArrayRef)>| -> Result<RecordBatch, EngineError> {
        Ok(RecordBatch::try_from_iter(columns).map_err(DataFusionError::from)?)
    };
    let d = &r.districts;
    let districts = batch(vec![
        ("district_code", text(d.iter().map(|d| d.district_code.as_str()))),
        ("district_name", text(d.iter().map(|d| d.district_name.as_str()))),
        ("district_type", text(d.iter().map(|d| d.district_type.as_str()))),
        ("name_en", text(d.iter().map(|d| d.name_en.as_str()))),
        ("valid_from", opt_text(d.iter().map(|d| d.valid_from.as_deref()))),
        (
            "valid_to",
            Arc::new(
                d.iter()
                    .map(|d| r.district_valid_to(&d.district_code).map(|p| p.to_string()))
                    .collect::<StringArray>(),
            ),
        ),
        (
            "successor_code",
            opt_text(d.iter().map(|d| d.successor_code.as_deref())),
        ),
        // The district's area ends only with a merger (Đông Sơn); the end of
        // the district level does not end it (the communes continue it).
        ("area_valid_to", opt_text(d.iter().map(|d| d.valid_to.as_deref()))),
        ("lat", Arc::new(Float64Array::from_iter_values(d.iter().map(|d| d.lat)))),
        ("lon", Arc::new(Float64Array::from_iter_values(d.iter().map(|d| d.lon)))),
    ])?;
    let c = &r.communes;
    let communes = batch(vec![
        ("commune_code", text(c.iter().map(|c| c.commune_code.as_str()))),
        ("commune_name", text(c.iter().map(|c| c.commune_name.as_str()))),
        ("commune_type", text(c.iter().map(|c| c.commune_type.as_str()))),
        ("district_code", text(c.iter().map(|c| c.district_code.as_str()))),
        ("valid_from", text(c.iter().map(|c| c.valid_from.as_str()))),
    ])?;
    let s = &r.sectors;
    let sectors = batch(vec![
        ("sector_code", text(s.iter().map(|s| s.group_code.as_str()))),
        ("kind", text(s.iter().map(|s| s.kind.as_str()))),
        ("sector_name", text(s.iter().map(|s| s.group_name.as_str()))),
        ("name_en", text(s.iter().map(|s| s.name_en.as_str()))),
    ])?;
    let v = &r.vsic;
    let vsic = batch(vec![
        ("vsic_code", text(v.iter().map(|v| v.vsic_code.as_str()))),
        ("sector_code", text(v.iter().map(|v| v.group_code.as_str()))),
        ("vsic_name", text(v.iter().map(|v| v.vsic_name.as_str()))),
    ])?;
    // The rows of targets.csv as written (a horizon's yearly path is what
    // `target_share` gives); `target_share`, the former column, is `low`.
    let t = r.targets.rows();
    let fractions = |f: &dyn Fn(&crate::domain::TargetRow) -> Option<f64>| -> ArrayRef {
        Arc::new(t.iter().map(f).collect::<Float64Array>())
    };
    let targets = batch(vec![
        ("program", text(t.iter().map(|t| t.program.as_str()))),
        ("indicator", text(t.iter().map(|t| t.indicator.code()))),
        ("scope", text(t.iter().map(|t| t.scope.as_str()))),
        (
            "year",
            Arc::new(Int64Array::from_iter_values(t.iter().map(|t| i64::from(t.year)))),
        ),
        ("kind", text(t.iter().map(|t| t.kind.code()))),
        ("low", fractions(&|t| Some(t.low.value()))),
        ("high", fractions(&|t| t.high.map(|h| h.value()))),
        ("source", text(t.iter().map(|t| t.source.as_str()))),
        ("target_share", fractions(&|t| Some(t.low.value()))),
    ])?;
    Ok(vec![
        ("ref_districts", districts),
        ("ref_communes", communes),
        ("ref_sectors", sectors),
        ("ref_vsic", vsic),
        ("ref_targets", targets),
    ])
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
        let mut df = ctx.read_parquet(paths, ParquetReadOptions::default()).await?;
        // A column added to the format later (commune_code) is absent from
        // files written before it: it reads as null there. (Files with and
        // without it together are merged by the reader, nulls where absent.)
        for field in schema.fields().iter().filter(|f| f.is_nullable()) {
            if df.schema().field_with_unqualified_name(field.name()).is_err() {
                let null = ScalarValue::try_from(field.data_type())?;
                df = df.with_column(field.name(), lit(null))?;
            }
        }
        ctx.register_table(name, df.into_view())?;
    }
    Ok(())
}

/// The filings that a batch being committed supersedes: of each key the
/// batch touches, every filing but the one in force from now on — their row
/// ids and the columns a rollup subtracts ([`crate::store::rollup::INPUT_COLUMNS`]).
/// `filings` and `superseded` are the previous version's files, `staged` the
/// batch's accepted filings.
///
/// A filing can only be superseded by one of its own month, so the batch
/// is resolved in parts of consecutive months holding up to `part_rows` of
/// its filings each (a larger month alone, split further by key hash), and
/// each part reads only its months of the batch and of the earlier filings:
/// Parquet's statistics let the scans skip the rest (files are written in
/// input order, and filers file month by month). The hash tables of one run
/// then hold about `part_rows` filings' keys, however large the batch, and
/// every filing is read about once.
pub async fn superseded_by(
    filings: &[PathBuf],
    superseded: &[PathBuf],
    staged: &[PathBuf],
    part_rows: u64,
) -> Result<Vec<RecordBatch>, EngineError> {
    if staged.is_empty() {
        return Ok(Vec::new());
    }
    let ctx = session();
    register_files(&ctx, "all_staged", staged, filings_schema()).await?;
    register_files(&ctx, "all_filings", filings, filings_schema()).await?;
    register_files(&ctx, "superseded", superseded, superseded_schema()).await?;
    let counts = ctx
        .sql("SELECT period, count(*) AS n FROM all_staged GROUP BY period ORDER BY period")
        .await?
        .collect()
        .await?;
    let mut months: Vec<(String, u64)> = Vec::new();
    for batch in &counts {
        let period = string_column(batch.column(0))?;
        let n = int_column(batch.column(1))?;
        for i in 0..batch.num_rows() {
            months.push((period.value(i).to_string(), n.value(i).max(0) as u64));
        }
    }
    let part_rows = part_rows.max(1);
    let mut out = Vec::new();
    let mut at = 0;
    while at < months.len() {
        // Consecutive months while they fit in one part (at least one).
        let (first, mut rows, mut end) = (months[at].0.clone(), months[at].1, at + 1);
        while end < months.len() && rows + months[end].1 <= part_rows {
            rows += months[end].1;
            end += 1;
        }
        let last = months[end - 1].0.clone();
        at = end;
        let in_range = || col("period").between(lit(first.clone()), lit(last.clone()));
        for (name, all) in [("staged", "all_staged"), ("filings", "all_filings")] {
            ctx.deregister_table(name)?;
            let view = ctx.table(all).await?.filter(in_range())?;
            ctx.register_table(name, view.into_view())?;
        }
        let parts = i64::try_from(rows.div_ceil(part_rows).max(1)).unwrap_or(i64::MAX);
        for part in 0..parts {
            let params = ParamValues::from(vec![
                ("parts".to_string(), ScalarValue::Int64(Some(parts))),
                ("part".to_string(), ScalarValue::Int64(Some(part))),
            ]);
            let df = ctx.sql(SUPERSEDED_BY_BATCH_SQL).await?.with_param_values(params)?;
            out.extend(df.collect().await?);
        }
    }
    Ok(out)
}

/// The row ids of `superseded_by`'s answer.
pub fn row_ids(batches: &[RecordBatch]) -> Result<Vec<i64>, EngineError> {
    let mut ids = Vec::new();
    for batch in batches {
        let column = batch
            .column_by_name("row_id")
            .ok_or_else(|| EngineError::Shape("no row_id column".into()))?;
        ids.extend(int_column(column)?.values().iter().copied());
    }
    Ok(ids)
}

/// The rollup input columns of Parquet filings `files`, batch by batch.
pub async fn scan_filings(files: &[PathBuf]) -> Result<Rows, EngineError> {
    scan_columns(files, &crate::store::rollup::INPUT_COLUMNS).await
}

/// `columns` of Parquet filings `files`, batch by batch.
pub async fn scan_columns(files: &[PathBuf], columns: &[&str]) -> Result<Rows, EngineError> {
    let ctx = session();
    register_files(&ctx, "filings", files, filings_schema()).await?;
    let df = ctx.table("filings").await?.select_columns(columns)?;
    stream(df, usize::MAX).await
}

/// The rollup input columns of a version's effective filings, batch by batch
/// (to build a rollup from scratch).
pub async fn scan_effective(files: &[PathBuf], superseded: &[PathBuf]) -> Result<Rows, EngineError> {
    let ctx = session();
    register_files(&ctx, "filings", files, filings_schema()).await?;
    register_files(&ctx, "superseded", superseded, superseded_schema()).await?;
    let columns: Vec<&str> = crate::store::rollup::INPUT_COLUMNS.to_vec();
    let df = ctx.sql(EFFECTIVE_FILINGS_SQL).await?.select_columns(&columns)?;
    stream(df, usize::MAX).await
}

async fn stream(df: DataFrame, limit_bytes: usize) -> Result<Rows, EngineError> {
    let limit_mib = limit_bytes >> 20;
    let task = Arc::new(df.task_ctx());
    let plan = df.create_physical_plan().await.map_err(|e| run_error(e, limit_mib))?;
    // The physical plan's schema is the batches' own (nullability included).
    let schema: SchemaRef = plan.schema();
    let stream = datafusion::physical_plan::execute_stream(plan, task).map_err(|e| run_error(e, limit_mib))?;
    Ok(Rows {
        schema,
        stream,
        limit_mib,
    })
}

impl Snapshot {
    /// Registers one version's files (absolute paths of its filings and
    /// superseded-row-ids Parquet files) and the reference tables.
    pub async fn load(
        files: &[PathBuf],
        superseded: &[PathBuf],
        reference: Arc<Reference>,
        limits: Limits,
        rollup: Option<Arc<Rollup>>,
    ) -> Result<Self, EngineError> {
        let ctx = session();
        let functions = functions::all(reference.clone());
        for f in &functions {
            ctx.register_udf(f.clone());
        }
        register_files(&ctx, "filings", files, filings_schema()).await?;
        register_files(&ctx, "superseded", superseded, superseded_schema()).await?;
        for (name, batch) in reference_tables(&reference)? {
            ctx.register_table(name, Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?))?;
        }
        for (name, sql) in [
            ("effective_filings", EFFECTIVE_FILINGS_SQL),
            ("share_base", SHARE_BASE_SQL),
            ("filing_history", FILING_HISTORY_SQL),
            ("public_filings", PUBLIC_FILINGS_SQL),
        ] {
            let view = ctx.sql(sql).await?;
            ctx.register_table(name, view.into_view())?;
        }
        // The public context sees the public views under their own names,
        // and nothing else: analysts' SQL cannot reach internal tables even
        // past the guard.
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(limits.memory_bytes, 1.0)
            .build_arc()?;
        let public = SessionContext::new_with_config_rt(session_config(), runtime);
        for f in functions {
            public.register_udf(f);
        }
        for (public_name, internal) in [
            ("filings", "public_filings"),
            ("filing_history", "filing_history"),
            ("districts", "ref_districts"),
            ("communes", "ref_communes"),
            ("sectors", "ref_sectors"),
            ("vsic", "ref_vsic"),
            ("targets", "ref_targets"),
        ] {
            public.register_table(public_name, ctx.table_provider(internal).await?)?;
        }
        Ok(Self {
            ctx,
            public,
            limits,
            rollup,
            reference,
        })
    }

    /// The columns of a public view, for documentation.
    pub async fn view_schema(&self, view: &str) -> Result<SchemaRef, EngineError> {
        Ok(self.public.table_provider(view).await?.schema())
    }

    /// Runs a named query (trusted SQL from a query file) with its bound
    /// parameters, read-only, over the public views.
    pub async fn run_named(&self, sql: &str, params: &[(String, BoundValue)]) -> Result<Rows, EngineError> {
        let df = self
            .public
            .sql_with_options(sql, read_only())
            .await
            .map_err(plan_error)?
            .with_param_values(param_values(params))
            .map_err(plan_error)?;
        self.stream(df).await
    }

    /// Runs an analyst's SQL: refused before planning unless it is one
    /// read-only query over the public views (see [`sql_gate`]); at most
    /// `row_cap + 1` rows are produced, so the caller can tell a result
    /// that is too large. With `protected` cells, the query runs in a
    /// session of its own that holds only [`PROTECTED_VIEWS`]: those cells
    /// as `cells` and the reference.
    pub async fn run_adhoc(
        &self,
        sql: &str,
        params: &[(String, BoundValue)],
        row_cap: usize,
        protected: Option<RecordBatch>,
    ) -> Result<Rows, EngineError> {
        let (session, allowed): (SessionContext, &[&str]) = match protected {
            None => (self.public.clone(), &PUBLIC_VIEWS),
            Some(cells) => (self.protected_session(cells).await?, &PROTECTED_VIEWS),
        };
        let statement: DfStatement = sql_gate::check(sql, allowed).map_err(|r| EngineError::Sql {
            code: r.code,
            message: r.message,
        })?;
        let state = session.state();
        let plan = state.statement_to_plan(statement).await.map_err(plan_error)?;
        read_only().verify_plan(&plan).map_err(|e| EngineError::Sql {
            code: "sql_refused",
            message: e.strip_backtrace(),
        })?;
        let df = DataFrame::new(state, plan)
            .with_param_values(param_values(params))
            .map_err(plan_error)?
            .limit(0, Some(row_cap.saturating_add(1)))
            .map_err(plan_error)?;
        self.stream(df).await
    }

    /// A session with the reference views, the domain's functions and
    /// `cells`, under the same memory pool as the public one.
    async fn protected_session(&self, cells: RecordBatch) -> Result<SessionContext, EngineError> {
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(self.limits.memory_bytes, 1.0)
            .build_arc()?;
        let ctx = SessionContext::new_with_config_rt(session_config(), runtime);
        for f in functions::all(self.reference.clone()) {
            ctx.register_udf(f);
        }
        for name in &PROTECTED_VIEWS[1..] {
            ctx.register_table(*name, self.public.table_provider(*name).await?)?;
        }
        ctx.register_table("cells", Arc::new(MemTable::try_new(cells.schema(), vec![vec![cells]])?))?;
        Ok(ctx)
    }

    async fn stream(&self, df: DataFrame) -> Result<Rows, EngineError> {
        stream(df, self.limits.memory_bytes).await
    }

    /// Whether breakdowns come from the version's rollup.
    pub fn has_rollup(&self) -> bool {
        self.rollup.is_some()
    }

    /// The first and last month with any filing.
    pub async fn period_range(&self) -> Result<Option<(Period, Period)>, EngineError> {
        if let Some(r) = &self.rollup {
            return Ok(r.period_range());
        }
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
        match &self.rollup {
            Some(r) => r
                .breakdown(slice, &self.reference)
                .map_err(|e| EngineError::Shape(e.to_string())),
            None => self.breakdown_raw(slice).await,
        }
    }

    /// The exact sums of every month of `from..=to` with an effective
    /// filing in `districts` (all when empty), by commune too when
    /// `by_commune`, sorted by month then commune: from the rollup without
    /// counting units (see [`Rollup::month_sums`]), or from the filings.
    pub async fn month_sums(
        &self,
        from: Period,
        to: Period,
        districts: &[String],
        by_commune: bool,
    ) -> Result<Vec<MonthSums>, EngineError> {
        match &self.rollup {
            Some(r) => r
                .month_sums(from, to, districts, by_commune)
                .map_err(|e| EngineError::Shape(e.to_string())),
            None => self.month_sums_raw(from, to, districts, by_commune).await,
        }
    }

    /// `month_sums` from a scan of the raw filings (tests compare the two).
    pub async fn month_sums_raw(
        &self,
        from: Period,
        to: Period,
        districts: &[String],
        by_commune: bool,
    ) -> Result<Vec<MonthSums>, EngineError> {
        let slice = Slice {
            from,
            to,
            by: if by_commune {
                vec![Dim::Period, Dim::Commune]
            } else {
                vec![Dim::Period]
            },
            districts: districts.to_vec(),
            sectors: Vec::new(),
            vsic: Vec::new(),
        };
        let mut out = Vec::new();
        for cell in self.breakdown_raw(&slice).await?.cells {
            let period = cell.keys[0]
                .as_deref()
                .and_then(Period::parse)
                .ok_or_else(|| EngineError::Shape(format!("stored period {:?}", cell.keys[0])))?;
            out.push(MonthSums {
                period,
                commune: cell.keys.get(1).cloned().flatten().filter(|c| !c.is_empty()),
                total: cell.figures.total.micro(),
                ecommerce: cell.figures.ecommerce.micro(),
                filings: cell.figures.filings as i64,
            });
        }
        out.sort_by(|a, b| (a.period, &a.commune).cmp(&(b.period, &b.commune)));
        Ok(out)
    }

    /// The response of every row of `slice`'s breakdown and of its total
    /// (see `domain::release`): from the version's rollup when it has one.
    pub async fn responses(&self, slice: &Slice) -> Result<Responses, EngineError> {
        match &self.rollup {
            Some(r) => r
                .responses(slice, &self.reference)
                .map_err(|e| EngineError::Shape(e.to_string())),
            None => self.responses_raw(slice).await,
        }
    }

    /// `responses` from a scan of the raw filings: each scope's distinct
    /// units of each month, from `LOOKBACK` months before the slice.
    pub async fn responses_raw(&self, slice: &Slice) -> Result<Responses, EngineError> {
        use crate::domain::release::{self, LOOKBACK};
        let scope: Vec<&str> = slice
            .by
            .iter()
            .filter(|d| !release::is_time(**d))
            .map(|d| d.key_field())
            .collect();
        let looked = Slice {
            from: slice.from.add_months(-LOOKBACK).unwrap_or(slice.from),
            ..slice.clone()
        };
        let mut columns = scope.clone();
        columns.extend(["period", "unit_id"]);
        let batches = self
            .slice_base(&looked)
            .await?
            .select_columns(&columns)?
            .distinct()?
            .collect()
            .await?;
        let mut units: std::collections::HashMap<
            Vec<Option<String>>,
            std::collections::BTreeMap<Period, std::collections::HashSet<String>>,
        > = Default::default();
        let width = scope.len();
        for batch in &batches {
            let cols: Vec<StringArray> = (0..width + 2)
                .map(|k| string_column(batch.column(k)))
                .collect::<Result<_, _>>()?;
            for row in 0..batch.num_rows() {
                let key = cols[..width]
                    .iter()
                    .map(|c| (!c.is_null(row)).then(|| c.value(row).to_string()))
                    .collect();
                let period = cols[width].value(row);
                let month =
                    Period::parse(period).ok_or_else(|| EngineError::Shape(format!("stored period {period:?}")))?;
                units
                    .entry(key)
                    .or_default()
                    .entry(month)
                    .or_default()
                    .insert(cols[width + 1].value(row).to_string());
            }
        }
        Ok(release::responses(&slice.by, slice.from, slice.to, units))
    }

    /// The effective filings of a slice's periods and filters, with every
    /// breakdown key and the weighted amounts.
    async fn slice_base(&self, slice: &Slice) -> Result<DataFrame, EngineError> {
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
        Ok(df)
    }

    /// For disclosure control: each enterprise's weighted total revenue in
    /// each group of the slice's breakdown (keys in `by` order), exact in
    /// micro-đồng. A dependent unit (`XXXXXXXXXX-NNN`) counts under its
    /// parent tax code.
    pub async fn enterprise_totals(
        &self,
        slice: &Slice,
    ) -> Result<Vec<(Vec<Option<String>>, String, i128)>, EngineError> {
        let df = self.slice_base(slice).await?;
        let mut keys: Vec<Expr> = slice.by.iter().map(|d| col(d.key_field())).collect();
        keys.push(
            datafusion::functions::string::expr_fn::split_part(col("unit_id"), lit("-"), lit(1i64)).alias("enterprise"),
        );
        let n_keys = slice.by.len();
        let batches = df
            .aggregate(keys, vec![sum(col("weighted_total")).alias("total")])?
            .collect()
            .await?;
        let mut out = Vec::new();
        for batch in &batches {
            let key_cols: Vec<StringArray> = (0..=n_keys)
                .map(|k| string_column(batch.column(k)))
                .collect::<Result<_, _>>()?;
            let total = decimal_column(batch.column(n_keys + 1))?;
            for row in 0..batch.num_rows() {
                let keys = key_cols[..n_keys]
                    .iter()
                    .map(|c| (!c.is_null(row)).then(|| c.value(row).to_string()))
                    .collect();
                let enterprise = key_cols[n_keys].value(row).to_string();
                let value = if total.is_null(row) { 0 } else { total.value(row) };
                out.push((keys, enterprise, value));
            }
        }
        Ok(out)
    }

    /// For disclosure control without the raw filings: each district ×
    /// commune × VSIC cell of month `period`, with its enterprises' count and total
    /// and the `k` largest enterprise totals (see
    /// [`crate::domain::disclosure::Contributions`]). One scan of the
    /// month's row groups, summed as the filings stream by
    /// ([`crate::store::rollup::EnterpriseTotals`]).
    pub async fn month_contributions(
        &self,
        period: Period,
        k: usize,
    ) -> Result<Vec<(CellCodes, Contributions)>, EngineError> {
        use futures::StreamExt;
        let mut stream = self
            .ctx
            .table("effective_filings")
            .await?
            .filter(col("period").eq(lit(period.to_string())))?
            .select_columns(&[
                "unit_id",
                "district_code",
                "commune_code",
                "vsic_code",
                "total_revenue_vnd",
                "weight_micro",
            ])?
            .execute_stream()
            .await?;
        let mut totals = crate::store::rollup::EnterpriseTotals::default();
        while let Some(batch) = stream.next().await {
            totals.add(&batch?).map_err(|e| EngineError::Shape(e.to_string()))?;
        }
        Ok(totals.finish(k))
    }

    /// `breakdown` from a scan of the raw filings, rollup or not (tests
    /// compare the two).
    pub async fn breakdown_raw(&self, slice: &Slice) -> Result<Breakdown, EngineError> {
        let mut df = self.slice_base(slice).await?;
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

pub use crate::domain::Breakdown;

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
