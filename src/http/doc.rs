//! The API description, generated from the code: every route is registered
//! through [`Api`], which records the operation's documentation next to
//! its handler, so the OpenAPI document lists exactly the routes the router
//! serves. Each named query of the catalog gets a path of its own with its
//! typed parameters. `/api/v1/docs` renders the same document as a page.

use crate::domain::{Access, ParamKind, Reference};
use crate::engine::catalog::Listing;
use crate::service::App;
use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodRouter, get, post};
use serde_json::{Value, json};
use std::sync::Arc;

/// One documented operation and the access it asks of its caller.
#[derive(Clone, Copy)]
pub struct Op {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub doc: fn() -> Value,
}

/// A router that documents what it routes.
pub struct Api {
    router: Router<Arc<App>>,
    ops: Vec<Op>,
}

impl Api {
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            ops: Vec::new(),
        }
    }

    pub fn get<H, T>(self, path: &'static str, access: Access, doc: fn() -> Value, handler: H) -> Self
    where
        H: Handler<T, Arc<App>>,
        T: 'static,
    {
        self.route("get", path, access, doc, get(handler))
    }

    pub fn post<H, T>(self, path: &'static str, access: Access, doc: fn() -> Value, handler: H) -> Self
    where
        H: Handler<T, Arc<App>>,
        T: 'static,
    {
        self.route("post", path, access, doc, post(handler))
    }

    /// A route whose method router carries layers of its own. Every route
    /// states the access it asks for: there is no route without a policy.
    pub fn route(
        mut self,
        method: &'static str,
        path: &'static str,
        access: Access,
        doc: fn() -> Value,
        method_router: MethodRouter<Arc<App>>,
    ) -> Self {
        self.router = self.router.route(path, method_router);
        self.ops.push(Op {
            method,
            path,
            access,
            doc,
        });
        self
    }

    pub fn finish(self) -> (Router<Arc<App>>, Arc<Vec<Op>>) {
        (self.router, Arc::new(self.ops))
    }
}

impl Default for Api {
    fn default() -> Self {
        Self::new()
    }
}

fn error_responses(codes: &[u16]) -> Value {
    let mut m = serde_json::Map::new();
    for c in codes {
        m.insert(c.to_string(), json!({"$ref": "#/components/responses/Error"}));
    }
    Value::Object(m)
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// A month, `YYYY-MM` with a year from 0001; empty means the default.
fn month_schema() -> Value {
    json!({"type": "string", "pattern": "^(([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(0[1-9]|1[0-2]))?$"})
}

/// A dataset version: row ids leave room for 2^23 − 1 of them.
fn version_schema() -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": crate::domain::provenance::MAX_BATCH})
}

fn as_of_param() -> Value {
    json!({"name": "as_of", "in": "query", "schema": version_schema(),
        "description": "Answer exactly as the warehouse stood at this dataset version (time travel over the manifest)."})
}

fn format_param() -> Value {
    json!({"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv", "xlsx", "arrow", "parquet"]},
        "description": "Result format; overrides Accept."})
}

fn if_none_match() -> Value {
    json!({"name": "If-None-Match", "in": "header", "schema": {"type": "string"}})
}

/// The media types of a tabular result.
fn tabular_content() -> Value {
    json!({
        "application/json": {"schema": {"$ref": "#/components/schemas/QueryResult"}},
        "text/csv": {"schema": {"type": "string"}, "description": "UTF-8 with a byte order mark, CRLF lines, a header row"},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}},
        "application/vnd.apache.arrow.stream": {"schema": {"type": "string", "format": "binary"}},
        "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}
    })
}

fn version_header() -> Value {
    json!({"X-Dataset-Version": {"schema": {"type": "integer"}, "description": "The dataset version the answer is of"}})
}

pub fn healthz() -> Value {
    json!({"operationId": "healthz", "tags": ["service"], "summary": "Liveness and the current dataset version",
        "responses": {"200": {"description": "Up", "content": {"application/json": {"schema": {
            "type": "object", "required": ["status", "dataset_version"],
            "properties": {"status": {"const": "ok"}, "dataset_version": {"type": "integer"}}}}}}}})
}

pub fn livez() -> Value {
    json!({"operationId": "livez", "tags": ["service"], "summary": "Liveness: the process answers",
        "description": "For a liveness probe: restart the process when it does not answer. Also served, without a token, on the ops listener (`metrics_addr`).",
        "responses": {"200": {"description": "Live", "content": {"application/json": {"schema": {
            "type": "object", "required": ["status"], "properties": {"status": {"const": "live"}}}}}}}})
}

pub fn readyz() -> Value {
    let not_ready = json!({"type": "object", "required": ["status", "reason"], "properties": {
        "status": {"const": "not_ready"},
        "reason": {"enum": ["loading", "shutting_down"], "description": "loading: the newest dataset version is not yet loaded and readied (the server is starting); shutting_down: a shutdown began (SIGTERM or SIGINT), requests in flight are finishing"}}});
    json!({"operationId": "readyz", "tags": ["service"], "summary": "Readiness: whether to send requests here",
        "description": "200 once the newest dataset version on disk at start is loaded and readied; it stays 200 while later versions are readied in the background (answers name their version). 503 before, and from the moment a shutdown begins. Answered from memory, without I/O. Also served, without a token, on the ops listener (`metrics_addr`).",
        "responses": {
            "200": {"description": "Ready", "content": {"application/json": {"schema": {
                "type": "object", "required": ["status", "dataset_version"],
                "properties": {"status": {"const": "ready"}, "dataset_version": {"type": "integer", "description": "The version answers come from"}}}}}},
            "503": {"description": "Not ready", "content": {"application/json": {"schema": not_ready}}}}})
}

pub fn share() -> Value {
    json!({"operationId": "share", "tags": ["figures"],
        "summary": "E-commerce share of a slice, broken down by dimensions",
        "description": "Σ weight × e-commerce revenue / Σ weight × total revenue over the effective filings of the slice, with the target governing the year of `to`, the gap and the standing of every group and of the total. Targets come from programmes (the reference table targets): `target` is the governing programme's value (its low bound; met/below is judged against it), `target_program` names that programme, and `targets` lists every programme's value for the year and scope (a point target, or the year on a horizon's linear path from its baseline). The governing programme: the first of the configured `[targets] programs` with a value, else the provincial programme (-UBND), else the newest national one; a district's or commune's own targets before the province's. No point target is carried into a later year (the former three-column table, read as programme legacy, keeps its latest-year rule). Every row and the total carry `release` (estimate, preliminary or final: how final its months are, judged now) and `response_rate` (units that filed over units expected, those that filed in any of the three months before). The ETag changes with the targets table, and when a release state may change (at the end of a month's deadline day and at each month's start, Asia/Ho_Chi_Minh).",
        "parameters": [
            {"name": "from", "in": "query", "schema": month_schema(), "description": "First month; default 11 months before `to`"},
            {"name": "to", "in": "query", "schema": month_schema(), "description": "Last month; default the latest month with data"},
            {"name": "by", "in": "query", "schema": {"type": "string"}, "description": "Comma list of district, commune (from 2025-07), sector, vsic, period, quarter, year; empty gives only the total"},
            {"name": "district", "in": "query", "schema": {"type": "string"}, "description": "Comma list of district codes"},
            {"name": "sector", "in": "query", "schema": {"type": "string"}, "description": "Comma list of retail sector group codes"},
            {"name": "vsic", "in": "query", "schema": {"type": "string"}, "description": "Comma list of VSIC codes"},
            as_of_param(), if_none_match()],
        "responses": merge(json!({
            "200": {"description": "Figures", "headers": merge(version_header(), json!({"ETag": {"schema": {"type": "string"}}})),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Share"}},
                    "text/csv": {"schema": {"type": "string"}, "description": "One line per row, then a line with row=total"}}},
            "304": {"description": "Not modified (same dataset version, reference and query)"}}),
            error_responses(&[400, 404, 406, 500]))})
}

pub fn outlook() -> Value {
    json!({"operationId": "outlook", "tags": ["figures"],
        "summary": "The year's outlook: the share so far, the full year projected with an interval, the status against the target, the e-commerce needed per remaining month, the indicators and the programmes' paths to 2030",
        "description": "For the province, a district (its former area from the 2025 reform on) or a commune (from 2025-07). `through` is the last month of the year with data anywhere in the province. The projection: the remaining months follow last year's same months scaled by this year's growth so far, total and e-commerce revenue separately (January and February as one block for Tết; at January the trailing twelve months' growth); its 80 % interval from the same method replayed on earlier years at the same month (relative errors, split-conformal; fewer than two earlier years: status insufficient_history, no interval). Status: met or below for a complete year; on_track when the interval's low reaches the governing target's low, off_track when its high stays below it, at_risk in between. `needed_monthly_ecommerce_vnd`: per remaining month, to end the year on target at last year's pattern of total revenue (exact, rounded up to whole đồng). Indicators: e-commerce growth year to date (exact ratio of sums) and communes selling online (from 2025-07), each against its governing target. `path`: every programme's e-commerce share target for each year to the latest horizon. Amounts are exact decimal strings. Under disclosure control (every role but admin) the figures are withheld (status suppressed, nulls) when the share API withholds the scope's total in a range they come from. The ETag changes with the dataset version, the reference (targets included) and the query.",
        "parameters": [
            {"name": "year", "in": "query", "schema": {"type": "string", "pattern": "^([0-9]{4})?$"}, "description": "The year, YYYY; default the year of the latest month with data (400 invalid_year)"},
            {"name": "district", "in": "query", "schema": {"type": "string"}, "description": "A district code (400 unknown_district); not with commune (400 invalid_scope)"},
            {"name": "commune", "in": "query", "schema": {"type": "string"}, "description": "A commune code of the 2025 reform (400 unknown_commune)"},
            as_of_param(), if_none_match()],
        "responses": merge(json!({
            "200": {"description": "The outlook", "headers": merge(version_header(), json!({"ETag": {"schema": {"type": "string"}}})),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outlook"}}}},
            "304": {"description": "Not modified (same dataset version, reference and query)"}}),
            error_responses(&[400, 404, 406, 500]))})
}

pub fn filings() -> Value {
    json!({"operationId": "postFilings", "tags": ["filings"],
        "summary": "Ingest one filing file (CSV, tab-separated text, JSON, XLSX, XLS or ODS) as one batch",
        "description": "The format is the one the Content-Type declares (application/octet-stream: decided from the content), checked against the content (zip, OLE2 compound file, byte order mark, first line) and against the extension of `name`: a contradiction is refused (400 format_mismatch), a file that is no filing too (415 unsupported_format). text/plain is read as Excel's \"Unicode text\" (tab-separated, UTF-16 with its byte order mark or UTF-8). Workbooks are bounded before they are read (400 workbook_too_large, sheet_too_large). 503 busy (another ingest held the data directory too long), commit_conflict (another writer committed the dataset version first) or shutting_down (the server is stopping; an upload still arriving, or not yet begun, is not committed): nothing was committed; send it again after Retry-After.",
        "parameters": [{"name": "name", "in": "query", "schema": {"type": "string"}, "description": "The file's name in the ingest report; its extension (.csv, .tsv, .txt, .json, .xlsx, .xls, .ods) declares a format too"}],
        "requestBody": {"required": true, "content": {
            "text/csv": {"schema": {"type": "string"}},
            "text/tab-separated-values": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}},
            "application/vnd.ms-excel": {"schema": {"type": "string", "format": "binary"}},
            "application/vnd.oasis.opendocument.spreadsheet": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
        "responses": merge(json!({
            "201": {"description": "Committed as a new dataset version", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestReport"}}}},
            "200": {"description": "Nothing new (a duplicate file)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestReport"}}}}}),
            error_responses(&[400, 413, 415, 500, 503]))})
}

pub fn reference() -> Value {
    json!({"operationId": "reference", "tags": ["reference"], "summary": "A reference table in force",
        "parameters": [{"name": "table", "in": "path", "required": true,
            "schema": {"type": "string", "enum": ["districts", "communes", "sectors", "vsic", "targets"]},
            "description": "targets: the rows of targets.csv (program, indicator, scope, year, kind point|horizon|baseline, low, high (null: at least low), source, and target_share = low for readers of the former table)"}],
        "responses": merge(json!({"200": {"description": "The rows", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}}),
            error_responses(&[404, 500]))})
}

pub fn queries() -> Value {
    json!({"operationId": "listQueries", "tags": ["queries"], "summary": "The named queries and their parameters",
        "responses": {"200": {"description": "Queries, and query files that were skipped with the reason",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/QueryListing"}}}}}})
}

pub fn query() -> Value {
    json!({"operationId": "runQuery", "tags": ["queries"], "summary": "Run a named query",
        "description": "Any other query-string parameter is one of the query's own (see the per-query paths below or GET /api/v1/queries); unknown ones are refused. A query that declares its cells (the share API's breakdown it matches) ends with two more columns: release and response_rate, each row's as the share API gives them for the same keys (the row with empty keys: the total's). The ETag changes when a release state may.",
        "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}},
            format_param(), as_of_param(), if_none_match()],
        "responses": merge(json!({
            "200": {"description": "The result, streamed", "headers": merge(version_header(), json!({"ETag": {"schema": {"type": "string"}}})), "content": tabular_content()},
            "304": {"description": "Not modified"}}),
            error_responses(&[400, 404, 406, 422, 500]))})
}

pub fn sql() -> Value {
    json!({"operationId": "sql", "tags": ["queries"], "summary": "Run an analyst's read-only SQL over the public views",
        "description": "One SELECT over the views filings, filing_history, districts, communes, sectors, vsic and targets (an admin) or cells, districts, communes, sectors, vsic and targets (an analyst: cells is the month × district × sector table under disclosure control, each month protected as the share API protects it, withheld rows with null figures and suppressed true), with the functions share_of, target_share, target_high, target_program, target_status, gap_pp and ecommerce_needed (each target function takes a year and a district or commune code, null for the province, and uses the governing programme). DDL, DML, COPY, SET, EXPLAIN, several statements, table functions and any other relation are refused before anything runs (400 sql_refused, table_function_refused, unknown_table). A memory pool, a timeout and a row cap apply (422 memory_limit_exceeded, query_timeout, result_too_large). Placeholders $name take values from params.",
        "parameters": [format_param(), as_of_param()],
        "requestBody": {"required": true, "content": {
            "application/json": {"schema": {"type": "object", "required": ["sql"], "additionalProperties": false, "properties": {
                "sql": {"type": "string", "pattern": "\\S"},
                "params": {"type": "object", "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
                    "additionalProperties": {"type": ["string", "integer"]}},
                "as_of": version_schema()}}},
            "application/sql": {"schema": {"type": "string", "pattern": "\\S"}}}},
        "responses": merge(json!({"200": {"description": "The result", "headers": version_header(), "content": tabular_content()}}),
            error_responses(&[400, 404, 406, 415, 422, 500]))})
}

fn month_path() -> Value {
    json!({"name": "month", "in": "path", "required": true,
        "schema": {"type": "string", "pattern": "^([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(0[1-9]|1[0-2])$"}})
}

fn archived_schema() -> Value {
    json!({"type": "object", "required": ["month", "dataset_version", "content_sha256", "files"], "properties": {
        "month": {"type": "string"}, "language": {"type": "string", "enum": ["vi", "en"]}, "dataset_version": {"type": "integer"},
        "dataset_committed_at": {"type": "string"}, "content_sha256": {"type": "string"},
        "files": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "bytes": {"type": "integer"}, "href": {"type": "string"}}}}}})
}

pub fn reports() -> Value {
    json!({"operationId": "listReports", "tags": ["reports"], "summary": "The archived monthly reports, newest first",
        "responses": {"200": {"description": "Reports", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"reports": {"type": "array", "items": archived_schema()}}}}}}}})
}

pub fn report_file() -> Value {
    json!({"operationId": "reportFile", "tags": ["reports"], "summary": "One file of an archived monthly report",
        "parameters": [month_path(),
            {"name": "file", "in": "path", "required": true, "schema": {"type": "string", "enum": ["report.json", "report.pdf", "report.html", "report.xlsx"]}}],
        "responses": merge(json!({"200": {"description": "The file", "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/html": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}}}}),
            error_responses(&[404, 500]))})
}

pub fn post_report() -> Value {
    json!({"operationId": "generateReport", "tags": ["reports"],
        "summary": "Generate (again) a month's report from the current dataset version into the archive",
        "parameters": [month_path(), {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]}}],
        "responses": merge(json!({"201": {"description": "Generated and archived", "content": {"application/json": {"schema": archived_schema()}}},
                "200": {"description": "The archive already held this month's report of the current dataset version, kept as it was", "content": {"application/json": {"schema": archived_schema()}}}}),
            error_responses(&[400, 500]))})
}

pub fn deliveries() -> Value {
    let attempt = json!({"type": "object", "required": ["number", "started_at"], "properties": {
        "number": {"type": "integer"}, "started_at": {"type": "string", "format": "date-time"},
        "finished_at": {"type": ["string", "null"], "format": "date-time"},
        "outcome": {"type": ["string", "null"], "enum": ["delivered", "retry", "failed", "interrupted", null]},
        "status": {"type": ["integer", "null"]}, "detail": {"type": ["string", "null"]}}});
    let address = json!({"type": "object", "required": ["address", "state"],
        "description": "One address of an e-mail delivery: delivered (the mail server took the message; never sent to it again), pending (asked for at the next attempt, after a temporary refusal such as 4xx) or failed (refused for good, 5xx, or out of attempts; sending the delivery again asks for it alone)",
        "properties": {
            "address": {"type": "string"},
            "state": {"type": "string", "enum": ["pending", "delivered", "failed"]},
            "code": {"type": ["integer", "null"], "description": "The mail server's last reply code for it"},
            "message": {"type": ["string", "null"], "description": "That reply's text, or what went wrong before one came"}}});
    let delivery = json!({"type": "object",
        "required": ["id", "idempotency_key", "recipient", "kind", "month", "dataset_version", "state", "attempts"],
        "properties": {
            "id": {"type": "string"}, "idempotency_key": {"type": "string"}, "recipient": {"type": "string"},
            "kind": {"type": "string", "enum": ["webhook", "email"]}, "month": {"type": "string"},
            "language": {"type": "string"}, "dataset_version": {"type": "integer"},
            "dataset_committed_at": {"type": "string"}, "content_sha256": {"type": "string"},
            "bundle": {"type": "string"}, "files": {"type": "array", "items": {"type": "string"}},
            "state": {"type": "string", "enum": ["pending", "sending", "delivered", "failed"]},
            "created_at": {"type": "string", "format": "date-time"},
            "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
            "delivered_at": {"type": ["string", "null"], "format": "date-time"},
            "addresses": {"type": "array", "items": address, "description": "E-mail: each address and what became of it; empty for a webhook"},
            "attempts": {"type": "array", "items": attempt}}});
    json!({"operationId": "listDeliveries", "tags": ["reports"],
        "summary": "The outbox of report deliveries: each delivery's state and attempts, oldest first",
        "parameters": [{"name": "state", "in": "query", "schema": {"type": "string", "enum": ["pending", "sending", "delivered", "failed"]}}],
        "responses": merge(json!({"200": {"description": "Deliveries", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"deliveries": {"type": "array", "items": delivery}}}}}}}),
            error_responses(&[400, 500]))})
}

pub fn metrics() -> Value {
    json!({"operationId": "metrics", "tags": ["service"],
        "summary": "The service's metrics in the Prometheus text format (requests, ingests, dataset versions, caches, queries, reports, deliveries, audit, process)",
        "responses": {"200": {"description": "Prometheus text exposition format 0.0.4",
            "content": {"text/plain": {"schema": {"type": "string"}}}}}})
}

pub fn template_csv() -> Value {
    json!({"operationId": "filingTemplateCsv", "tags": ["filings"],
        "summary": "The filing template as CSV: Vietnamese column headers (UTF-8 with a byte order mark)",
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}}})
}

pub fn template_xlsx() -> Value {
    json!({"operationId": "filingTemplateXlsx", "tags": ["filings"],
        "summary": "The filing template as an Excel workbook: Vietnamese headers, drop-down lists of district and VSIC codes, instructions",
        "responses": merge(json!({"200": {"description": "XLSX", "content": {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}}}}),
            error_responses(&[500]))})
}

pub fn ingests() -> Value {
    json!({"operationId": "listIngests", "tags": ["filings"],
        "summary": "The batches committed, newest first: a filer's own, every one for an admin",
        "responses": merge(json!({"200": {"description": "Batches", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"ingests": {"type": "array", "items": {"type": "object", "properties": {
                "dataset_version": {"type": "integer"}, "committed_at": {"type": "string"},
                "submitted_by": {"type": ["string", "null"]}, "report": {"type": ["string", "null"]},
                "files": {"type": "array", "items": {"type": "object"}}}}}}}}}}}),
            error_responses(&[500]))})
}

pub fn ingest_report() -> Value {
    json!({"operationId": "ingestReport", "tags": ["filings"],
        "summary": "The ingest report of the batch that made a dataset version, as returned when submitted (a filer's own only)",
        "parameters": [{"name": "version", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}],
        "responses": merge(json!({"200": {"description": "The ingest report", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestReport"}}}}}),
            error_responses(&[404, 500]))})
}

pub fn signin_form() -> Value {
    json!({"operationId": "signinForm", "tags": ["service"], "summary": "The sign-in form for browsers (a token in, a session cookie out)",
        "parameters": [{"name": "next", "in": "query", "schema": {"type": "string"}},
            {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]}}],
        "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}})
}

pub fn signin() -> Value {
    json!({"operationId": "signin", "tags": ["service"],
        "summary": "Turns a token into a session cookie (HttpOnly, SameSite=Strict, Secure) and redirects to next",
        "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object",
            "required": ["token"], "properties": {"token": {"type": "string"}, "next": {"type": "string"}, "lang": {"type": "string"}}}}}},
        "responses": {"303": {"description": "Signed in; Set-Cookie ecomshare_session"},
            "401": {"description": "The form again, with the reason", "content": {"text/html": {"schema": {"type": "string"}}}}}})
}

pub fn signout() -> Value {
    json!({"operationId": "signout", "tags": ["service"], "summary": "Clears the session cookie (a form of the pages: it carries the session's anti-forgery token)",
        "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object",
            "required": ["csrf"], "properties": {"csrf": {"type": "string", "description": "The anti-forgery token of the page's forms"}}}}}},
        "responses": {"303": {"description": "Signed out"}, "403": {"description": "csrf_failed: the anti-forgery token is missing or not this session's"}}})
}

pub fn openapi() -> Value {
    json!({"operationId": "openapi", "tags": ["service"], "summary": "This document",
        "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}})
}

pub fn docs() -> Value {
    json!({"operationId": "docs", "tags": ["service"], "summary": "This document as a readable page",
        "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}})
}

pub fn chart() -> Value {
    json!({"operationId": "chart", "tags": ["dashboard"], "summary": "A dashboard chart drawn on the server",
        "description": "trend: the last 24 months' shares up to `to` (estimates and preliminary months hollow) and the same months a year earlier, the axis running on to December of the yearly view's last year, with every programme's e-commerce-share target of each year (a line for a single value or an 'at least' value, a band for a range) and the governing target dashed. years: each year's share from 2022 (earlier when the trend starts earlier) to 2030 (or the last year of a target or of the data), the share API's answer over the year's months with figures (a part year labelled by its months, a year not final hollow, none without figures), with the same targets. districts, heatmap, map, sectors: the selected range. txt: the chart's text alternative.",
        "parameters": [
            {"name": "file", "in": "path", "required": true, "schema": {"type": "string",
                "pattern": "^(trend|years|districts|heatmap|map|sectors)\\.(svg|png|txt)$"}},
            {"name": "from", "in": "query", "schema": month_schema()},
            {"name": "to", "in": "query", "schema": month_schema()},
            {"name": "district", "in": "query", "schema": {"type": "string"}},
            {"name": "sector", "in": "query", "schema": {"type": "string"}},
            {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]}},
            {"name": "width", "in": "query", "schema": {"type": "integer", "minimum": 200, "maximum": 4000}},
            {"name": "height", "in": "query", "schema": {"type": "integer", "minimum": 150, "maximum": 4000}},
            if_none_match()],
        "responses": merge(json!({"200": {"description": "The chart", "headers": version_header(), "content": {
                "image/svg+xml": {"schema": {"type": "string"}}, "image/png": {"schema": {"type": "string", "format": "binary"}},
                "text/plain": {"schema": {"type": "string"}, "description": "The chart's text alternative"}}},
            "304": {"description": "Not modified"}}), error_responses(&[400, 404, 500]))})
}

fn page(id: &str, summary: &str, path_param: Option<&str>) -> Value {
    let mut params = vec![
        json!({"name": "from", "in": "query", "schema": month_schema()}),
        json!({"name": "to", "in": "query", "schema": month_schema()}),
        json!({"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]}}),
    ];
    if let Some(p) = path_param {
        params.insert(
            0,
            json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}),
        );
    }
    json!({"operationId": id, "tags": ["dashboard"], "summary": summary, "parameters": params,
        "responses": merge(json!({"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}),
            error_responses(&[400, 404, 500]))})
}

pub fn overview() -> Value {
    page(
        "dashboard",
        "The target dashboard (Vietnamese; English with lang=en)",
        None,
    )
}

pub fn district_page() -> Value {
    page("districtPage", "One district's page", Some("code"))
}

pub fn sector_page() -> Value {
    page("sectorPage", "One sector group's page", Some("code"))
}

pub fn table_file() -> Value {
    json!({"operationId": "tableFile", "tags": ["dashboard"],
        "summary": "A dashboard table as Excel or CSV: the rows and figures the page with the same filters shows",
        "description": "The table of the overview, district or sector page with the same filters, computed as the page computes it for the caller (figures withheld by disclosure control for every role but admin, as on the page), as of the dataset version in as_of (the page's links carry it, so a download matches the table shown). XLSX: a title row naming the table and its months, the filters, the dataset version and, when a figure is withheld (x), the disclosure note; then a frozen header row, numbers stored as numbers with vi-VN formats. CSV: UTF-8 with a byte order mark, CRLF lines, a header row of column names, numbers unformatted, withheld and missing figures empty. communes exists when the page has a communes table (a range reaching July 2025), else 404.",
        "parameters": [
            {"name": "file", "in": "path", "required": true, "schema": {"type": "string",
                "pattern": "^(trend|years|districts|district_sector|sectors|communes)\\.(xlsx|csv)$"}},
            {"name": "from", "in": "query", "schema": month_schema()},
            {"name": "to", "in": "query", "schema": month_schema()},
            {"name": "district", "in": "query", "schema": {"type": "string"}, "description": "Comma list of district codes (a district page's own)"},
            {"name": "sector", "in": "query", "schema": {"type": "string"}, "description": "Comma list of sector group codes (a sector page's own)"},
            {"name": "vsic", "in": "query", "schema": {"type": "string"}, "description": "Comma list of VSIC codes"},
            {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]}},
            as_of_param(), if_none_match()],
        "responses": merge(json!({"200": {"description": "The table, as an attachment",
                "headers": merge(version_header(), json!({"ETag": {"schema": {"type": "string"}},
                    "Content-Disposition": {"schema": {"type": "string"}, "description": "attachment; filename=\"ty-trong-tmdt-{table}-{from}-{to}-v{version}.{ext}\""}})),
                "content": {
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}},
                    "text/csv": {"schema": {"type": "string"}, "description": "UTF-8 with a byte order mark, CRLF lines, a header row"}}},
            "304": {"description": "Not modified"}}), error_responses(&[400, 404, 500]))})
}

// The filers' pages.

/// A page of the filers (HTML), with `lang` and the path parameters given.
fn filing_page(id: &str, summary: &str, path_params: &[&str], errors: &[u16]) -> Value {
    let mut params: Vec<Value> = path_params
        .iter()
        .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}))
        .collect();
    params.push(json!({"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]}}));
    json!({"operationId": id, "tags": ["filings"], "summary": summary, "parameters": params,
        "responses": merge(json!({"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}),
            error_responses(errors))})
}

pub fn filing_upload_form() -> Value {
    filing_page(
        "filingUploadForm",
        "The upload form for filers: the file, how it is written (sheet, encoding, delimiter, vi-VN numbers), the templates, the columns and rules",
        &[],
        &[400],
    )
}

pub fn filing_upload() -> Value {
    json!({"operationId": "filingUpload", "tags": ["filings"],
        "summary": "The upload form's POST: one filing file ingested as one batch on behalf of the signed-in filer (a form of the pages: it carries the session's anti-forgery token)",
        "description": "The format is decided from the file's content and name (as for application/octet-stream on POST /api/v1/filings). A commit redirects to the ingest report page; a file already received, or one refused whole (the status and code POST /api/v1/filings gives), answers the form again with the reason in the reader's language, nothing committed.",
        "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["csrf", "file"],
            "properties": {
                "csrf": {"type": "string", "description": "The anti-forgery token of the page's forms (before the file)"},
                "file": {"type": "string", "format": "binary", "description": "CSV, TSV, Unicode text (.txt), JSON, XLSX, XLS or ODS"},
                "sheet": {"type": "string", "description": "A workbook's sheet (default: the first)"},
                "encoding": {"type": "string", "enum": ["", "utf-8", "utf-16le", "utf-16be", "windows-1258"]},
                "delimiter": {"type": "string", "enum": ["", "comma", "semicolon", "tab"]},
                "locale": {"type": "string", "enum": ["", "vi"], "description": "vi: vi-VN numbers (1.234.567; 0,5)"}}}}}},
        "responses": {
            "303": {"description": "Committed: see the ingest report page /filings/ingests/{version}"},
            "200": {"description": "The file was already received: the form again, naming the version that holds it", "content": {"text/html": {"schema": {"type": "string"}}}},
            "400": {"description": "Refused whole (the reason on the page)", "content": {"text/html": {"schema": {"type": "string"}}}},
            "403": {"description": "csrf_failed: the anti-forgery token is missing or not this session's"},
            "413": {"description": "Larger than the upload limit (the reason on the page)", "content": {"text/html": {"schema": {"type": "string"}}}},
            "415": {"description": "Not a filing format (the reason on the page)", "content": {"text/html": {"schema": {"type": "string"}}}},
            "503": {"description": "Another ingest is running (the reason on the page)", "content": {"text/html": {"schema": {"type": "string"}}}}}})
}

pub fn filing_history() -> Value {
    filing_page(
        "filingHistory",
        "The batches a filer sent (an admin: every one), newest first, each linking to its ingest report page",
        &[],
        &[400, 500],
    )
}

pub fn filing_report() -> Value {
    filing_page(
        "filingReport",
        "The ingest report of a batch as a page (a filer's own only): counts, the version committed, the rejected records with the column, the value given, the reason and what to do",
        &["version"],
        &[400, 404, 500],
    )
}

fn rejections_download(id: &str, media: &str, summary: &str) -> Value {
    json!({"operationId": id, "tags": ["filings"], "summary": summary,
        "parameters": [{"name": "version", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}},
            {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]}, "description": "The language of the message column"}],
        "responses": merge(json!({"200": {"description": "The rejected records: the template's columns as given, then record, reason and message (ignored when the file is sent again)",
            "content": {media: {"schema": {"type": "string"}}}}}), error_responses(&[404, 422, 500]))})
}

pub fn filing_rejections_csv() -> Value {
    rejections_download(
        "filingRejectionsCsv",
        "text/csv",
        "A batch's rejected records as CSV (UTF-8 with a byte order mark), to fix and send again",
    )
}

pub fn filing_rejections_xlsx() -> Value {
    rejections_download(
        "filingRejectionsXlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "A batch's rejected records as an Excel workbook (codes as text, amounts as numbers, header frozen), to fix and send again",
    )
}

pub fn upload_script() -> Value {
    json!({"operationId": "uploadScript", "tags": ["filings"],
        "summary": "The upload form's script (progress while a file is sent); its URL carries its content's hash (v), so it is cached for a year",
        "parameters": [{"name": "v", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "JavaScript", "content": {"text/javascript": {"schema": {"type": "string"}}}},
            "304": {"description": "Not modified"}}})
}

/// An administrators' page: HTML in the reader's language.
fn admin_page(id: &str, summary: &str, query: Value) -> Value {
    let mut params = vec![json!({"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]}})];
    params.extend(query.as_array().cloned().unwrap_or_default());
    json!({"operationId": id, "tags": ["admin pages"], "summary": summary, "parameters": params,
        "responses": merge(json!({"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}),
            error_responses(&[400, 500]))})
}

/// A form of the administrators' pages: its fields (the anti-forgery token
/// first) and its answers.
fn admin_form(id: &str, summary: &str, path_param: Option<&str>, fields: Value, responses: Value) -> Value {
    let mut properties =
        json!({"csrf": {"type": "string", "description": "The anti-forgery token of the page's forms"}});
    if let (Some(p), Some(f)) = (properties.as_object_mut(), fields.as_object()) {
        p.extend(f.clone());
    }
    let params: Vec<Value> = path_param
        .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
        .into_iter()
        .collect();
    json!({"operationId": id, "tags": ["admin pages"], "summary": summary, "parameters": params,
        "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object",
            "required": ["csrf"], "properties": properties}}}},
        "responses": merge(merge(responses,
            json!({"403": {"description": "csrf_failed: the anti-forgery token is missing or not this session's (a bearer token's caller has none)"}})),
            error_responses(&[500]))})
}

fn html_reason(description: &str) -> Value {
    json!({"description": description, "content": {"text/html": {"schema": {"type": "string"}}}})
}

pub fn admin_reports() -> Value {
    admin_page(
        "adminReportsPage",
        "The report archive with its files, a form to generate a month's report, and each delivery with its attempts and a button to send a failed one again",
        json!([{"name": "done", "in": "query", "schema": {"type": "string", "enum": ["generated", "kept", "retried"]},
                "description": "What the last form did (shown as a message)"},
            {"name": "month", "in": "query", "schema": month_schema()},
            {"name": "delivery", "in": "query", "schema": {"type": "string"}}]),
    )
}

pub fn admin_generate() -> Value {
    admin_form(
        "adminGenerateReport",
        "Generates a month's report from the current dataset version into the archive (as POST /api/v1/reports/{month})",
        None,
        json!({"month": month_schema(), "report_lang": {"type": "string", "enum": ["vi", "en"]}}),
        json!({"303": {"description": "Done: back to /admin/reports?done=generated|kept&month=…"},
            "400": html_reason("The page with the reason (not a month, or the report cannot be made)")}),
    )
}

pub fn admin_retry() -> Value {
    admin_form(
        "adminRetryDelivery",
        "Queues a failed delivery again, due now, with its attempts and idempotency key kept",
        Some("id"),
        json!({}),
        json!({"303": {"description": "Queued: back to /admin/reports?done=retried&delivery=…"},
            "404": html_reason("The page, saying there is no such delivery"),
            "409": html_reason("The page, saying the delivery is not failed")}),
    )
}

pub fn admin_tokens() -> Value {
    admin_page(
        "adminTokensPage",
        "The access tokens with role, name, creation, expiry, last use and state; forms to create and revoke one",
        json!([{"name": "done", "in": "query", "schema": {"type": "string", "enum": ["revoked"]}},
            {"name": "token", "in": "query", "schema": {"type": "string"}, "description": "The id of the token just revoked"}]),
    )
}

pub fn admin_create_token() -> Value {
    admin_form(
        "adminCreateToken",
        "Creates an access token and shows it once, in this answer only (Cache-Control: no-store)",
        None,
        json!({"role": {"type": "string", "enum": ["viewer", "analyst", "filer", "admin"]},
            "name": {"type": "string", "minLength": 1, "maxLength": crate::access::tokens::MAX_NAME_CHARS},
            "expires": {"type": "string", "description": "The last valid day, YYYY-MM-DD; empty: never"}}),
        json!({"201": html_reason("The tokens page with the new token in a read-only field"),
            "400": html_reason("The page with the reason and the form as filled")}),
    )
}

pub fn admin_revoke_token() -> Value {
    admin_form(
        "adminRevokeToken",
        "Revokes an access token (its sessions end with it)",
        Some("id"),
        json!({}),
        json!({"303": {"description": "Revoked: back to /admin/tokens?done=revoked&token=…"},
            "404": html_reason("The page, saying there is no such token")}),
    )
}

pub fn copy_script() -> Value {
    json!({"operationId": "copyScript", "tags": ["admin pages"], "summary": "The script of the copy buttons (the pages work without it)",
        "responses": {"200": {"description": "JavaScript", "content": {"text/javascript": {"schema": {"type": "string"}}}}}})
}

pub fn queries_page() -> Value {
    json!({"operationId": "queriesPage", "tags": ["queries"],
        "summary": "The named queries as a page: titles and descriptions in the reader's language, access (protected or full); broken query files for admins",
        "parameters": [{"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]}}],
        "responses": merge(json!({"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}),
            error_responses(&[400, 500]))})
}

pub fn query_page() -> Value {
    json!({"operationId": "queryPage", "tags": ["queries"],
        "summary": "A named query's page: a form of its parameters (GET, so the address is a permalink); with run=1 the first 500 rows of the result as GET /api/v1/queries/{name} gives it, the total row count, the dataset version and downloads pinned to it (as_of)",
        "description": "Any other query-string parameter is one of the query's own. Refused parameters give the page with the API's message and status.",
        "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}},
            {"name": "run", "in": "query", "schema": {"type": "string", "enum": ["1"]}, "description": "run the query; without it the form alone, with the defaults"},
            as_of_param(),
            {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]}}],
        "responses": merge(json!({"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}),
            error_responses(&[400, 403, 404, 422, 500, 503]))})
}

fn param_schema(kind: ParamKind, reference: &Reference) -> Value {
    let codes = |codes: Vec<&str>| {
        let mut all = vec![""];
        all.extend(codes);
        json!({"type": "string", "enum": all, "description": "empty: all"})
    };
    match kind {
        ParamKind::District => codes(reference.districts.iter().map(|d| d.district_code.as_str()).collect()),
        ParamKind::Commune => codes(reference.communes.iter().map(|c| c.commune_code.as_str()).collect()),
        ParamKind::Sector => codes(reference.sectors.iter().map(|s| s.group_code.as_str()).collect()),
        ParamKind::Vsic => codes(reference.vsic.iter().map(|v| v.vsic_code.as_str()).collect()),
        ParamKind::Month => month_schema(),
        ParamKind::Year => json!({"type": "integer", "minimum": 1, "maximum": 9999}),
        ParamKind::Version => version_schema(),
        ParamKind::Integer => json!({"type": "integer"}),
        ParamKind::Text => json!({"type": "string", "maxLength": 200}),
    }
}

fn schemas() -> Value {
    let base: Value = serde_json::from_str(include_str!("schemas.json")).expect("schemas.json is JSON");
    merge(
        base,
        json!({
            "QueryResult": {"type": "object", "required": ["query", "dataset_version", "params", "columns", "rows", "row_count"],
                "properties": {
                    "query": {"type": "string"},
                    "dataset_version": {"type": "integer"},
                    "params": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Every parameter as bound, defaults included"},
                    "columns": {"type": "array", "items": {"type": "object", "properties": {
                        "name": {"type": "string"}, "type": {"enum": ["integer", "number", "decimal", "boolean", "timestamp", "string"]}}}},
                    "rows": {"type": "array", "items": {"type": "object", "description": "Decimals as exact decimal strings"}},
                    "row_count": {"type": "integer"}}},
            "QueryListing": {"type": "object", "properties": {
                "queries": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "title": {"type": "object"}, "description": {"type": "string"},
                    "params": {"type": "array", "items": {"type": "object"}}, "source": {"enum": ["builtin", "file"]},
                    "access": {"enum": ["protected", "full"], "description": "protected: any analyst, figures under disclosure control; full: admins only (403 full_access_required otherwise)"},
                    "href": {"type": "string"}}}},
                "problems": {"type": "array", "items": {"type": "object"}}}}
        }),
    )
}

/// The OpenAPI 3.1 document of `ops` and of the named queries in `listing`
/// (code parameters listing the codes of `reference`).
pub fn document(ops: &[Op], listing: &Listing, reference: &Reference) -> Value {
    let mut paths = serde_json::Map::new();
    for op in ops {
        let entry = paths.entry(op.path).or_insert_with(|| json!({}));
        entry[op.method] = secured((op.doc)(), op.access);
    }
    for e in listing.queries.values() {
        let d = &e.def;
        let mut params: Vec<Value> = d
            .params
            .iter()
            .map(|p| {
                json!({"name": p.name, "in": "query", "schema": param_schema(p.kind, reference),
                    "description": format!("{} ({}; default {})", p.description_en, p.kind.name(), p.default)})
            })
            .collect();
        params.extend([format_param(), as_of_param(), if_none_match()]);
        let op = merge(
            secured(query(), Access::Analysis),
            json!({"operationId": format!("query_{}", d.name), "summary": d.title_en,
                "description": format!("{} — {}", d.title_vi, d.description), "parameters": params}),
        );
        paths.insert(format!("/api/v1/queries/{}", d.name), json!({"get": op}));
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "ecomshare", "version": env!("CARGO_PKG_VERSION"),
            "summary": "E-commerce share of total retail sales against the national target, Thanh Hóa province",
            "description": "Tỷ trọng doanh thu thương mại điện tử trong tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng. Errors share one shape: {\"error\": {\"code\", \"message\"}} with a stable code."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                    "description": "A token from `ecomshare token create` (esk_…). Roles: viewer, analyst, filer, admin."},
                "session": {"type": "apiKey", "in": "cookie", "name": "ecomshare_session",
                    "description": "Set by POST /signin for browsers."}
            },
            "responses": {"Error": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
            "schemas": schemas()
        }
    })
}

/// An operation with the roles it admits (`x-roles`), its security
/// requirement and the guard's refusals.
fn secured(mut op: Value, access: Access) -> Value {
    let roles: Vec<&str> = crate::domain::Role::ALL
        .iter()
        .filter(|r| r.may(access))
        .map(|r| r.as_str())
        .collect();
    op["x-access"] = json!(access);
    op["x-roles"] = json!(roles);
    if access == Access::Public {
        op["security"] = json!([]);
    } else {
        op["security"] = json!([{"bearer": []}, {"session": []}]);
        let refusals = error_responses(&[401, 403, 429]);
        if let (Some(responses), Some(extra)) = (op["responses"].as_object_mut(), refusals.as_object()) {
            for (k, v) in extra {
                responses.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    op
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The document as a self-contained HTML page.
pub fn page_html(doc: &Value) -> String {
    let mut h = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ecomshare API</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>\
         body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}\
         h2{margin-top:2.2rem;border-bottom:1px solid #ccc}code{background:#f3f3f3;padding:0 .25rem}\
         .m{display:inline-block;min-width:3.5rem;font-weight:bold;text-transform:uppercase}\
         table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}\
         </style></head><body>",
    );
    let info = &doc["info"];
    h.push_str(&format!(
        "<h1>ecomshare API {}</h1><p>{}</p><p>{}</p><p>Machine-readable: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a> (OpenAPI 3.1).</p>",
        esc(info["version"].as_str().unwrap_or("")),
        esc(info["summary"].as_str().unwrap_or("")),
        esc(info["description"].as_str().unwrap_or(""))
    ));
    if let Some(paths) = doc["paths"].as_object() {
        for (path, methods) in paths {
            for (method, op) in methods.as_object().into_iter().flatten() {
                h.push_str(&format!(
                    "<h2 id=\"{}\"><span class=\"m\">{}</span> <code>{}</code></h2><p><strong>{}</strong></p>",
                    esc(op["operationId"].as_str().unwrap_or("")),
                    esc(method),
                    esc(path),
                    esc(op["summary"].as_str().unwrap_or(""))
                ));
                if let Some(d) = op["description"].as_str() {
                    h.push_str(&format!("<p>{}</p>", esc(d)));
                }
                if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
                    h.push_str("<table><tr><th>Parameter</th><th>In</th><th>Schema</th><th>Description</th></tr>");
                    for p in params {
                        h.push_str(&format!(
                            "<tr><td><code>{}</code>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                            esc(p["name"].as_str().unwrap_or("")),
                            if p["required"] == json!(true) { " *" } else { "" },
                            esc(p["in"].as_str().unwrap_or("")),
                            esc(&p["schema"].to_string()),
                            esc(p["description"].as_str().unwrap_or(""))
                        ));
                    }
                    h.push_str("</table>");
                }
                if let Some(responses) = op["responses"].as_object() {
                    let codes: Vec<String> = responses
                        .iter()
                        .map(|(code, r)| {
                            let types: Vec<&str> = r["content"]
                                .as_object()
                                .map(|c| c.keys().map(String::as_str).collect())
                                .unwrap_or_default();
                            format!("<code>{}</code> {}", esc(code), esc(&types.join(", ")))
                        })
                        .collect();
                    h.push_str(&format!("<p>Responses: {}</p>", codes.join(" · ")));
                }
            }
        }
    }
    h.push_str("</body></html>");
    h
}
