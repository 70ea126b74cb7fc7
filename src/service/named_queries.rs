//! Named queries and analysts' SQL as use cases: find the query, pick the
//! dataset version (`as_of`), bind the parameters, run it on the engine and
//! encode the rows in the format asked for — streaming, with a result cache
//! keyed like the ETag, which a new dataset version empties.

use super::versions::Loaded;
use super::{App, AppError, Audience, ShareParams, month_in_vietnam};
use crate::domain::{BindContext, BoundValue, Period};
use crate::engine::Rows;
use crate::engine::catalog::{Entry, Listing};
use crate::engine::tabular::{self, Encoder, Format, Meta};
use datafusion::arrow::array::RecordBatch;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Results larger than this are streamed but not kept.
const MAX_CACHED_RESULT: usize = 8 << 20;

/// Parses an `as_of` parameter: a dataset version number.
pub fn parse_as_of(v: Option<&str>) -> Result<Option<u64>, AppError> {
    match v.map(str::trim) {
        None => Ok(None),
        Some(s) => s.parse::<u64>().map(Some).map_err(|_| {
            AppError::bad(
                "invalid_parameter",
                format!("as_of={s:?} is not a dataset version (a whole number)"),
            )
        }),
    }
}

/// An encoded result kept for its ETag.
pub struct Cached {
    pub body: Vec<u8>,
    pub dataset_version: u64,
    /// Answered with `as_of`: the same for as long as the version exists.
    as_of: bool,
}

/// Encoded results by ETag, oldest evicted first past a byte budget.
pub struct ResultCache {
    max_bytes: usize,
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    entries: HashMap<String, Arc<Cached>>,
    order: VecDeque<String>,
    bytes: usize,
}

impl ResultCache {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            inner: Mutex::new(CacheInner::default()),
        }
    }

    fn get(&self, etag: &str) -> Option<Arc<Cached>> {
        self.inner.lock().expect("result cache").entries.get(etag).cloned()
    }

    fn put(&self, etag: String, cached: Cached) {
        let size = cached.body.len();
        if size > MAX_CACHED_RESULT || size > self.max_bytes {
            return;
        }
        let mut c = self.inner.lock().expect("result cache");
        if c.entries.contains_key(&etag) {
            return;
        }
        while c.bytes + size > self.max_bytes {
            let Some(old) = c.order.pop_front() else { break };
            if let Some(e) = c.entries.remove(&old) {
                c.bytes -= e.body.len();
            }
        }
        c.bytes += size;
        c.order.push_back(etag.clone());
        c.entries.insert(etag, Arc::new(cached));
    }

    /// Drops every result of the current version (a new one has arrived);
    /// results asked `as_of` a version stay true and stay.
    pub(super) fn retain_as_of(&self) {
        let mut c = self.inner.lock().expect("result cache");
        let CacheInner { entries, order, bytes } = &mut *c;
        entries.retain(|_, e| {
            if !e.as_of {
                *bytes -= e.body.len();
            }
            e.as_of
        });
        order.retain(|k| entries.contains_key(k));
    }
}

/// A named query about to run: enough to answer a conditional request
/// before any work is done.
pub struct QueryPlan {
    pub entry: Entry,
    pub params: BTreeMap<String, String>,
    pub as_of: Option<u64>,
    pub format: Format,
    /// The version the answer is of.
    pub dataset_version: u64,
    /// A strong validator of the answer: a hash of the version, the
    /// reference, the query text, the parameters, the format and the audience.
    pub etag: String,
    pub audience: Audience,
}

/// An analyst's SQL with its bound values.
#[derive(Debug, Clone, Default)]
pub struct SqlRequest {
    pub sql: String,
    pub params: Vec<(String, BoundValue)>,
    pub as_of: Option<u64>,
    /// Protected callers' SQL reads the disclosure-controlled `cells`
    /// instead of the filings (`engine::PROTECTED_VIEWS`).
    pub audience: Audience,
}

/// A result being encoded chunk by chunk.
pub struct QueryStream {
    pub dataset_version: u64,
    pub format: Format,
    /// The parameters as bound (after defaults).
    pub params: Vec<(String, String)>,
    source: Source,
    pending: VecDeque<Vec<u8>>,
    /// The bytes so far, while they may still be cached.
    keep: Option<(String, Vec<u8>, bool)>,
    cache: Option<Arc<ResultCache>>,
}

enum Source {
    Streaming {
        rows: Rows,
        encoder: Option<Box<dyn Encoder>>,
    },
    Done,
}

impl QueryStream {
    /// A whole result already encoded (a cache hit).
    fn ready(body: Vec<u8>, dataset_version: u64, format: Format, params: Vec<(String, String)>) -> Self {
        Self {
            dataset_version,
            format,
            params,
            source: Source::Done,
            pending: VecDeque::from([body]),
            keep: None,
            cache: None,
        }
    }

    /// The next bytes of the body; `None` at the end.
    pub async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, AppError>> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                if let Some((_, kept, _)) = &mut self.keep {
                    if kept.len() + chunk.len() > MAX_CACHED_RESULT {
                        self.keep = None;
                    } else {
                        kept.extend_from_slice(&chunk);
                    }
                }
                if chunk.is_empty() {
                    continue;
                }
                return Some(Ok(chunk));
            }
            let Source::Streaming { rows, encoder } = &mut self.source else {
                return None;
            };
            match rows.next().await {
                Some(Ok(batch)) => {
                    let e = encoder.as_mut().expect("the encoder lives until the end");
                    match e.batch(&batch) {
                        Ok(bytes) => self.pending.push_back(bytes),
                        Err(err) => return Some(Err(err.into())),
                    }
                }
                Some(Err(err)) => return Some(Err(err.into())),
                None => {
                    let e = encoder.take().expect("finished once");
                    self.source = Source::Done;
                    match e.finish() {
                        Ok(bytes) => self.pending.push_back(bytes),
                        Err(err) => return Some(Err(err.into())),
                    }
                    // Everything is in `pending`; keep it once it has gone out.
                    let tail: usize = self.pending.iter().map(Vec::len).sum();
                    if let (Some((etag, mut kept, as_of)), Some(cache)) = (self.keep.take(), self.cache.take())
                        && kept.len() + tail <= MAX_CACHED_RESULT
                    {
                        for p in &self.pending {
                            kept.extend_from_slice(p);
                        }
                        cache.put(
                            etag,
                            Cached {
                                body: kept,
                                dataset_version: self.dataset_version,
                                as_of,
                            },
                        );
                    }
                }
            }
        }
    }

    /// The whole body (CLI, tests).
    pub async fn collect(mut self) -> Result<Vec<u8>, AppError> {
        let mut out = Vec::new();
        while let Some(chunk) = self.next_chunk().await {
            out.extend(chunk?);
        }
        Ok(out)
    }
}

use crate::util::digest::hex;

impl App {
    /// The named queries in force.
    pub fn queries(&self) -> Arc<Listing> {
        self.catalog.listing()
    }

    /// Finds a query and works out the version and ETag of its answer,
    /// without running anything.
    pub fn query_plan(
        &self,
        name: &str,
        params: BTreeMap<String, String>,
        as_of: Option<u64>,
        format: Format,
    ) -> Result<QueryPlan, AppError> {
        self.query_plan_for(name, params, as_of, format, Audience::Full)
    }

    /// `query_plan` for an audience: protected answers of a query that
    /// declares its cells withhold the cells the share API withholds.
    pub fn query_plan_for(
        &self,
        name: &str,
        params: BTreeMap<String, String>,
        as_of: Option<u64>,
        format: Format,
        audience: Audience,
    ) -> Result<QueryPlan, AppError> {
        let entry = self.catalog.get(name).ok_or_else(|| {
            AppError::bad(
                "unknown_query",
                format!("there is no query {name:?}; GET /api/v1/queries lists them"),
            )
        })?;
        if audience == Audience::Protected && !entry.def.protectable() {
            return Err(AppError::bad(
                "full_access_required",
                format!(
                    "the query {name:?} shows figures disclosure control cannot protect (it declares neither cells nor counts only); it needs an admin token"
                ),
            ));
        }
        let (tag, _) = self.current()?;
        let dataset_version = match as_of {
            Some(v) if v > tag.dataset_version => {
                return Err(AppError::bad(
                    "unknown_version",
                    format!("as_of={v}: the warehouse is at version {}", tag.dataset_version),
                ));
            }
            Some(v) => v,
            None => tag.dataset_version,
        };
        let mut h = Sha256::new();
        h.update(format!(
            "v={dataset_version};ref={};q={name};digest={};as_of={};fmt={};time={:?};audience={:?}",
            tag.reference,
            entry.digest,
            as_of.is_some(),
            format.name(),
            self.time_tag(),
            audience,
        ));
        for (k, v) in &params {
            h.update([0]);
            h.update(k.as_bytes());
            h.update([1]);
            h.update(v.as_bytes());
        }
        let etag = format!("\"q-{}\"", &hex(&h.finalize())[..32]);
        Ok(QueryPlan {
            entry,
            params,
            as_of,
            format,
            dataset_version,
            etag,
            audience,
        })
    }

    /// Runs a planned query: from the result cache when it holds the
    /// answer, else on the engine, streaming.
    pub async fn run_query(&self, plan: &QueryPlan) -> Result<QueryStream, AppError> {
        let hit = self.results.get(&plan.etag);
        let result = if hit.is_some() { "hit" } else { "miss" };
        metrics::counter!("ecomshare_answer_cache_requests_total", "cache" => "query_results", "result" => result)
            .increment(1);
        if let Some(hit) = hit {
            return Ok(QueryStream::ready(
                hit.body.clone(),
                hit.dataset_version,
                plan.format,
                Vec::new(),
            ));
        }
        let loaded = self.load_at(plan.as_of).await?;
        let def = &plan.entry.def;
        let latest_month = self.latest_month(&loaded).await?;
        let bound = def
            .bind(
                &plan.params,
                &BindContext {
                    latest_month,
                    version: loaded.tag.dataset_version,
                    reference: &loaded.reference,
                },
            )
            .map_err(|e| AppError::bad(e.code, e.message))?;
        let mut rows = self.with_timeout(loaded.snapshot.run_named(&def.sql, &bound)).await?;
        if let Some(cells) = &def.cells {
            rows = self.cells_rows(rows, cells, true, &bound, plan).await?;
        } else if let Some(release) = &def.release {
            rows = self.cells_rows(rows, release, false, &bound, plan).await?;
        }
        let params: Vec<(String, String)> = bound.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
        let meta = Meta {
            query: def.name.clone(),
            dataset_version: loaded.tag.dataset_version,
            params: params.clone(),
        };
        self.stream(rows, plan.format, meta, Some((plan.etag.clone(), plan.as_of.is_some())))
            .await
    }

    /// The rows of a named query that declares its cells (or its release
    /// breakdown), with what the share API's answer for those cells adds:
    /// when `withhold`, for a protected audience, the cells it withholds
    /// withheld (figures null, `suppressed` true); for every audience,
    /// each row's `release` and `response_rate`, last.
    async fn cells_rows(
        &self,
        mut rows: Rows,
        cells: &crate::domain::named_query::Cells,
        withhold: bool,
        bound: &[(String, crate::domain::BoundValue)],
        plan: &QueryPlan,
    ) -> Result<Rows, AppError> {
        let mut share = ShareParams {
            audience: plan.audience,
            by: Some(cells.by.iter().map(|d| d.name()).collect::<Vec<_>>().join(",")),
            as_of: plan.as_of.map(|v| v.to_string()),
            ..ShareParams::default()
        };
        for (key, value) in cells.resolve(bound) {
            let value = Some(value).filter(|v| !v.is_empty());
            match key.as_str() {
                "from" => share.from = value,
                "to" => share.to = value,
                "district" => share.district = value,
                "sector" => share.sector = value,
                "vsic" => share.vsic = value,
                _ => {}
            }
        }
        let answer = self.share(&share).await?;
        let mut batches = Vec::new();
        while let Some(batch) = rows.next().await {
            batches.push(batch?);
        }
        let mut schema = rows.schema();
        if withhold && plan.audience == Audience::Protected {
            (schema, batches) = super::disclose::withhold_rows(schema, batches, &cells.by, &answer)?;
        }
        let (schema, batches) = annotate_rows(
            schema,
            batches,
            &cells.by,
            &answer,
            self.options.release,
            share.judged_at.unwrap_or_else(|| self.now()),
        )?;
        Ok(Rows::from_batches(schema, batches))
    }

    /// Runs an analyst's SQL (see `engine::guard` for what is refused):
    /// at most `sql_row_cap` rows, within the query timeout.
    pub async fn run_sql(&self, request: &SqlRequest, format: Format) -> Result<QueryStream, AppError> {
        let loaded = self.load_at(request.as_of).await?;
        let cap = self.options.sql_row_cap;
        let protected = match request.audience {
            Audience::Full => None,
            Audience::Protected => Some(self.protected_cells(&loaded).await?),
        };
        let mut rows = self
            .with_timeout(loaded.snapshot.run_adhoc(&request.sql, &request.params, cap, protected))
            .await?;
        if format == Format::Json {
            let schema = rows.schema();
            let names: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
            if let Some(dup) = names
                .iter()
                .enumerate()
                .find(|(i, n)| names[..*i].contains(n))
                .map(|(_, n)| n)
            {
                return Err(AppError::bad(
                    "invalid_sql",
                    format!("the column name {dup:?} appears twice; JSON rows need distinct names (use AS)"),
                ));
            }
        }
        // Gather up to the cap before answering, so that a result that is
        // too large is refused whole rather than cut short mid-stream.
        let schema = rows.schema();
        let mut batches = Vec::new();
        let mut count = 0usize;
        let deadline = tokio::time::Instant::now() + self.options.query_timeout;
        loop {
            let next = tokio::time::timeout_at(deadline, rows.next())
                .await
                .map_err(|_| self.timeout_error())?;
            match next {
                Some(batch) => {
                    let batch = batch?;
                    count += batch.num_rows();
                    if count > cap {
                        count_refused("result_too_large");
                        return Err(AppError::bad(
                            "result_too_large",
                            format!("the result has more than {cap} rows; aggregate, filter or add LIMIT"),
                        ));
                    }
                    batches.push(batch);
                }
                None => break,
            }
        }
        let meta = Meta {
            query: "sql".into(),
            dataset_version: loaded.tag.dataset_version,
            params: request.params.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        };
        let body = tabular::encode_all(format, schema, meta.clone(), &batches)?;
        Ok(QueryStream::ready(
            body,
            loaded.tag.dataset_version,
            format,
            meta.params,
        ))
    }

    /// The disclosure-controlled table of `loaded`'s version: every month
    /// with filings by district and sector, each month protected as the
    /// share API protects it (see `disclose::monthly_cells`).
    async fn protected_cells(&self, loaded: &Loaded) -> Result<RecordBatch, AppError> {
        let batch = loaded
            .protected_cells
            .get_or_try_init(|| async {
                let (from, to) = match loaded.snapshot.period_range().await? {
                    Some((lo, hi)) => (lo, hi),
                    None => {
                        let now = month_in_vietnam(self.now());
                        (now, now)
                    }
                };
                let params = ShareParams {
                    by: Some("period,district,sector".into()),
                    from: Some(from.to_string()),
                    to: Some(to.to_string()),
                    ..ShareParams::default()
                };
                let full = self.compute_share(&params, loaded, false).await?;
                let slice = self.resolve(&params, loaded).await?;
                let rule = &self.options.disclosure;
                if self.options.kept_contributions
                    && let Some(cells) =
                        super::disclose::monthly_cells(&full, self.kept_parts(loaded, &slice).await?, rule)?
                {
                    return Ok(cells);
                }
                super::disclose::monthly_cells(&full, self.exact_parts(loaded, &slice).await?, rule)
                    .map(|c| c.expect("exact totals decide every entry"))
            })
            .await?;
        Ok(batch.clone())
    }

    /// The columns of each public view, for the API description.
    pub async fn view_columns(&self) -> Result<Vec<(String, Vec<(String, String)>)>, AppError> {
        let loaded = self.load().await?;
        let mut out = Vec::new();
        for view in crate::engine::PUBLIC_VIEWS {
            let schema = loaded.snapshot.view_schema(view).await?;
            let columns = schema
                .fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().to_string()))
                .collect();
            out.push((view.to_string(), columns));
        }
        Ok(out)
    }

    async fn latest_month(&self, loaded: &Loaded) -> Result<Period, AppError> {
        Ok(match loaded.snapshot.period_range().await? {
            Some((_, hi)) => hi,
            None => month_in_vietnam(self.now()),
        })
    }

    fn timeout_error(&self) -> AppError {
        count_refused("query_timeout");
        AppError::bad(
            "query_timeout",
            format!(
                "the query ran longer than {} s; aggregate more or narrow the period",
                self.options.query_timeout.as_secs()
            ),
        )
    }

    async fn with_timeout<T>(
        &self,
        f: impl std::future::Future<Output = Result<T, crate::engine::EngineError>>,
    ) -> Result<T, AppError> {
        match tokio::time::timeout(self.options.query_timeout, f).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(self.timeout_error()),
        }
    }

    /// Starts encoding `rows`: the header and the first batch are encoded
    /// before returning, so that an error in them is still an error
    /// response, not a broken body.
    async fn stream(
        &self,
        rows: Rows,
        format: Format,
        meta: Meta,
        cache_as: Option<(String, bool)>,
    ) -> Result<QueryStream, AppError> {
        let params = meta.params.clone();
        let dataset_version = meta.dataset_version;
        let mut encoder = tabular::encoder(format, rows.schema(), meta)?;
        let head = encoder.begin()?;
        let mut stream = QueryStream {
            dataset_version,
            format,
            params,
            source: Source::Streaming {
                rows,
                encoder: Some(encoder),
            },
            pending: VecDeque::from([head]),
            keep: cache_as.map(|(etag, as_of)| (etag, Vec::new(), as_of)),
            cache: Some(self.results.clone()),
        };
        // Pull the first batch now, within the timeout.
        if let Source::Streaming { rows, encoder } = &mut stream.source {
            let first = tokio::time::timeout(self.options.query_timeout, rows.next())
                .await
                .map_err(|_| self.timeout_error())?;
            match first {
                Some(batch) => {
                    let bytes = encoder.as_mut().expect("encoder").batch(&batch?)?;
                    stream.pending.push_back(bytes);
                }
                None => {
                    let e = encoder.take().expect("encoder");
                    stream.pending.push_back(e.finish()?);
                    stream.source = Source::Done;
                    if let Some((etag, kept, as_of)) = stream.keep.take() {
                        let mut body = kept;
                        for p in &stream.pending {
                            body.extend_from_slice(p);
                        }
                        self.results.put(
                            etag,
                            Cached {
                                body,
                                dataset_version,
                                as_of,
                            },
                        );
                    }
                }
            }
        }
        Ok(stream)
    }
}

/// A named query's rows with two columns added last: each row's `release`
/// and `response_rate`, as the share API's `answer` for the query's cells
/// (by `by`) gives them for the row with the same keys (the row whose keys
/// are all empty: the total). A row the answer lacks is as final as its
/// months (see `domain::release::row_months`) and has no response rate.
fn annotate_rows(
    schema: datafusion::arrow::datatypes::SchemaRef,
    batches: Vec<RecordBatch>,
    by: &[crate::domain::Dim],
    answer: &super::ShareResponse,
    policy: crate::domain::ReleasePolicy,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(datafusion::arrow::datatypes::SchemaRef, Vec<RecordBatch>), AppError> {
    use datafusion::arrow::array::{ArrayRef, Float64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let key_columns = super::disclose::key_columns(&schema, by)?;
    let rows: HashMap<Vec<Option<String>>, &super::ShareRow> = answer
        .rows
        .iter()
        .map(|r| (super::disclose::row_key(r, by), r))
        .collect();
    let range = (
        Period::parse(&answer.from).ok_or_else(|| AppError::bad("invalid_query", "the answer's first month"))?,
        Period::parse(&answer.to).ok_or_else(|| AppError::bad("invalid_query", "the answer's last month"))?,
    );
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("release", DataType::Utf8, false));
    fields.push(Field::new("response_rate", DataType::Float64, true));
    let out_schema = Arc::new(Schema::new(fields));
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let keys = super::disclose::batch_keys(&batch, &key_columns)?;
        let (mut release, mut rate) = (Vec::with_capacity(keys.len()), Vec::with_capacity(keys.len()));
        for key in &keys {
            let row = if key.iter().all(Option::is_none) {
                Some(&answer.total)
            } else {
                rows.get(key).copied()
            };
            match row {
                Some(r) => {
                    release.push(r.release.code());
                    rate.push(r.response_rate());
                }
                None => {
                    let (from, to) = crate::domain::release::row_months(by, key, range.0, range.1);
                    release.push(policy.range_release(from, to, now).code());
                    rate.push(None);
                }
            }
        }
        let mut columns = batch.columns().to_vec();
        columns.push(Arc::new(StringArray::from(release)) as ArrayRef);
        columns.push(Arc::new(Float64Array::from(rate)) as ArrayRef);
        out.push(
            RecordBatch::try_new(out_schema.clone(), columns)
                .map_err(|e| AppError::bad("invalid_query", e.to_string()))?,
        );
    }
    Ok((out_schema, out))
}

/// A query refused for what it asks (too slow, too large), in the metrics.
fn count_refused(reason: &'static str) {
    metrics::counter!("ecomshare_queries_refused_total", "reason" => reason).increment(1);
}
