//! The filers' pages: the upload form and its multipart POST (the file
//! streamed to a spool, then ingested as one batch on behalf of the
//! caller's token, as `POST /api/v1/filings` does), the ingest report of a
//! batch with its rejections (and their downloads as XLSX and CSV), the
//! batches sent, and the upload form's script.
//!
//! A filer sees its own batches only, an admin every one: the rule of
//! `GET /api/v1/ingests/{version}` (another filer's batch is not found).
//! Renders with `present::filing_pages`; reads through `App` only.

use super::filings::{ingest_spooled, own_ingests, spool_error, too_large};
use super::page::{self, PageContext};
use super::{ApiError, blocking, gate, if_none_match, spool};
use crate::access::tokens::Identity;
use crate::domain::Role;
use crate::present::filing_pages::{self as view, Choices, FileLine, Notice};
use crate::present::labels;
use crate::present::shell::Section;
use crate::service::{App, Rejected};
use axum::Extension;
use axum::extract::multipart::{Field, Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// Longest text field of the upload form (the anti-forgery token, the
/// sheet's name, the options).
const MAX_FIELD_BYTES: usize = 4096;

/// What a multipart form adds to its file: boundaries, part headers and
/// the small fields. A body declaring more than the limit and this is
/// refused before it is read.
const FORM_OVERHEAD: u64 = 64 << 10;

/// `GET /filings/upload`: the form.
pub(super) async fn upload_form(Extension(guard): Extension<Arc<gate::Guard>>, ctx: PageContext) -> Response {
    let title = labels::of(ctx.lang).filing.upload_title;
    let frame = ctx.frame(title, Section::Upload);
    page::html(view::upload(
        &frame,
        guard.options.max_upload_bytes,
        &Choices::default(),
        None,
    ))
}

/// The upload form again, answered `status`, with `notice` above it.
fn form_again(ctx: &PageContext, limit: usize, choices: &Choices, status: StatusCode, notice: &Notice<'_>) -> Response {
    let title = labels::of(ctx.lang).filing.upload_title;
    let frame = ctx.frame(title, Section::Upload);
    let mut response = page::html(view::upload(&frame, limit, choices, Some(notice)));
    *response.status_mut() = status;
    response
}

/// The form again with the reason an upload was refused (its status and
/// code as the API gives them).
fn refused(ctx: &PageContext, limit: usize, choices: &Choices, e: &ApiError) -> Response {
    let notice = Notice::Refused {
        code: e.code,
        detail: &e.message,
    };
    form_again(ctx, limit, choices, e.status, &notice)
}

/// The file's name as the browser gave it, without a folder (some browsers
/// send the whole path) or control characters.
fn file_name(given: Option<&str>) -> String {
    let name = given.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("").trim();
    name.chars().filter(|c| !c.is_control()).take(255).collect()
}

/// A small text field's value; `None` past `MAX_FIELD_BYTES` or when it is
/// not UTF-8.
async fn text_field(field: &mut Field<'_>) -> Result<Option<String>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(invalid_body)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_FIELD_BYTES {
            return Ok(None);
        }
    }
    Ok(String::from_utf8(bytes).ok())
}

fn invalid_body(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("invalid_body", format!("the form cannot be read: {e}"))
}

/// `POST /filings/upload` (multipart: csrf, file, sheet, encoding,
/// delimiter, locale): the file spooled as it arrives (bounded by the
/// upload limit) and ingested as one batch. A commit answers 303 to its
/// report; a duplicate file or a refused one gets the form again with why.
pub(super) async fn upload(
    State(app): State<Arc<App>>,
    Extension(guard): Extension<Arc<gate::Guard>>,
    caller: Option<Extension<Identity>>,
    ctx: PageContext,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    // A caller without a browser (a bearer token) has no form to send.
    if ctx.browser.is_none() {
        return gate::csrf_failed().into_response();
    }
    let limit = guard.options.max_upload_bytes;
    let mut choices = Choices::default();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64 + FORM_OVERHEAD) {
        return refused(&ctx, limit, &choices, &too_large(limit));
    }
    let mut form = match form {
        Ok(form) => form,
        Err(e) => return refused(&ctx, limit, &choices, &invalid_body(e.body_text())),
    };
    let (mut csrf, mut csrf_checked) = (None::<String>, false);
    let mut upload: Option<(String, spool::Spool)> = None;
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return refused(&ctx, limit, &choices, &invalid_body(e)),
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            if upload.is_some() {
                return refused(&ctx, limit, &choices, &invalid_body("more than one file"));
            }
            // The token comes before the file in the form: a forged form's
            // file is not even spooled.
            if csrf.is_some() {
                if let Err(e) = ctx.check_csrf(csrf.as_deref()) {
                    return e.into_response();
                }
                csrf_checked = true;
            }
            let given = file_name(field.file_name());
            match spool::receive_stream(&app, &mut field, limit).await {
                Ok(spooled) => upload = Some((given, spooled)),
                Err(e) => return refused(&ctx, limit, &choices, &spool_error(e, limit)),
            }
            continue;
        }
        let value = match text_field(&mut field).await {
            Ok(Some(v)) => v,
            Ok(None) => {
                return refused(
                    &ctx,
                    limit,
                    &choices,
                    &invalid_body(format!("field {name} is too long")),
                );
            }
            Err(e) => return refused(&ctx, limit, &choices, &e),
        };
        match name.as_str() {
            "csrf" => csrf = Some(value),
            "sheet" => choices.sheet = value.trim().to_string(),
            "encoding" => choices.encoding = value,
            "delimiter" => choices.delimiter = value,
            "locale" => choices.locale = value,
            _ => {}
        }
    }
    if !csrf_checked && let Err(e) = ctx.check_csrf(csrf.as_deref()) {
        return e.into_response();
    }
    let Some((name, spooled)) = upload.filter(|(name, _)| !name.is_empty()) else {
        let e = ApiError::bad_request("no_file", "the form carries no file");
        return refused(&ctx, limit, &choices, &e);
    };
    let nonempty = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
    let mut options = match crate::ingest::InputOptions::parse(
        nonempty(&choices.encoding).as_deref(),
        nonempty(&choices.delimiter).as_deref(),
        nonempty(&choices.locale).as_deref(),
    ) {
        Ok(options) => options,
        Err(m) => {
            return refused(
                &ctx,
                limit,
                &choices,
                &ApiError::bad_request("invalid_input_options", m),
            );
        }
    };
    options.sheet = nonempty(&choices.sheet);
    let submitted_by = caller.and_then(|Extension(i)| i.token_id);
    // The format is decided from the content and the name: what a browser
    // declares for a file is not to be trusted (Windows calls CSV Excel's).
    let report = match ingest_spooled(&app, spooled, name.clone(), None, options, submitted_by).await {
        Ok(report) => report,
        Err(e) => return refused(&ctx, limit, &choices, &e),
    };
    if report.committed {
        return Redirect::to(&format!("/filings/ingests/{}", report.dataset_version)).into_response();
    }
    let version = report
        .files
        .iter()
        .find_map(|f| f.duplicate_of_version)
        .unwrap_or(report.dataset_version);
    let notice = Notice::Duplicate { file: &name, version };
    form_again(&ctx, limit, &choices, StatusCode::OK, &notice)
}

/// The batch that made `version`, if the caller may read it (`whose`, as
/// `own_ingests` gives it): its commit time and its files' counts.
fn owned_batch(
    app: &App,
    version: u64,
    whose: Option<&str>,
) -> Result<Option<crate::store::BatchEntry>, crate::service::AppError> {
    let manifest = app.manifest()?;
    Ok(manifest
        .batches
        .into_iter()
        .find(|b| b.seq == version && whose.is_none_or(|w| b.submitted_by.as_deref() == Some(w))))
}

/// `GET /filings/ingests/{version}`: the ingest report as a page.
pub(super) async fn report(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    Path(version): Path<String>,
    ctx: PageContext,
) -> Result<Response, ApiError> {
    let whose = own_ingests(caller.as_ref())?;
    let version: u64 = version.parse().map_err(|_| ApiError::not_found())?;
    let found = blocking(move || {
        let Some((report, by)) = app.ingest_report(version)? else {
            return Ok(None);
        };
        // Another filer's batch is not found, as in the API.
        if whose.is_some() && whose != by {
            return Ok(None);
        }
        let committed_at = owned_batch(&app, version, None)?
            .map(|b| b.committed_at)
            .unwrap_or_default();
        let rejected = app
            .rejected_records(version, view::SHOWN_REJECTIONS)?
            .unwrap_or_default();
        Ok(Some((report, committed_at, rejected)))
    })
    .await?;
    let Some((report, committed_at, rejected)) = found else {
        return Err(ApiError::not_found());
    };
    let files = file_lines(&report["files"]);
    let title = labels::fill(
        labels::of(ctx.lang).filing.report_title,
        &[("version", &version.to_string())],
    );
    let frame = ctx.frame(&title, Section::History);
    Ok(page::html(view::report(
        &frame,
        &view::Report {
            version,
            committed_at: &committed_at,
            files: &files,
            rejections: &rejected.records,
            total_rejected: rejected.total,
        },
    )))
}

/// The files of an ingest report (or of a batch in `GET /api/v1/ingests`).
fn file_lines(files: &serde_json::Value) -> Vec<FileLine> {
    let count = |f: &serde_json::Value, k: &str| f[k].as_u64().unwrap_or(0);
    files
        .as_array()
        .map(|files| {
            files
                .iter()
                .map(|f| FileLine {
                    file: f["file"].as_str().unwrap_or_default().to_string(),
                    records: count(f, "records"),
                    accepted: count(f, "accepted"),
                    rejected: count(f, "rejected"),
                    duplicate_of: f["duplicate_of_version"].as_u64(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every rejected record of a batch the caller may read.
async fn all_rejections(
    app: Arc<App>,
    caller: Option<&Extension<Identity>>,
    version: &str,
) -> Result<(u64, Rejected), ApiError> {
    let whose = own_ingests(caller)?;
    let version: u64 = version.parse().map_err(|_| ApiError::not_found())?;
    let found = blocking(move || {
        if owned_batch(&app, version, whose.as_deref())?.is_none() {
            return Ok(None);
        }
        app.rejected_records(version, usize::MAX)
    })
    .await?;
    found.map(|r| (version, r)).ok_or_else(ApiError::not_found)
}

fn download(content_type: &'static str, name: String, bytes: Vec<u8>) -> Response {
    let mut response = ([(header::CONTENT_TYPE, content_type)], bytes).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    response
}

/// `GET /filings/ingests/{version}/rejections.csv`
pub(super) async fn rejections_csv(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    Path(version): Path<String>,
    ctx: PageContext,
) -> Result<Response, ApiError> {
    let (version, rejected) = all_rejections(app, caller.as_ref(), &version).await?;
    let bytes = view::rejections_csv(&rejected.records, ctx.lang);
    Ok(download(
        "text/csv; charset=utf-8",
        format!("ban-ghi-bi-tu-choi-{version}.csv"),
        bytes,
    ))
}

/// `GET /filings/ingests/{version}/rejections.xlsx`
pub(super) async fn rejections_xlsx(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    Path(version): Path<String>,
    ctx: PageContext,
) -> Result<Response, ApiError> {
    let (version, rejected) = all_rejections(app, caller.as_ref(), &version).await?;
    // A sheet holds 2^20 rows, its header one of them.
    if rejected.records.len() >= 1 << 20 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_rows_for_excel",
            "more rejected records than an Excel sheet holds; download the CSV",
        ));
    }
    let lang = ctx.lang;
    let bytes = tokio::task::spawn_blocking(move || view::rejections_xlsx(&rejected.records, lang))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(|e| {
            tracing::error!(error = %e, "writing the rejections workbook failed");
            ApiError::internal()
        })?;
    Ok(download(
        crate::ingest::XLSX_MEDIA_TYPE,
        format!("ban-ghi-bi-tu-choi-{version}.xlsx"),
        bytes,
    ))
}

/// `GET /filings/history`: the caller's batches (an admin's: all), newest
/// first, the data of `GET /api/v1/ingests`.
pub(super) async fn history(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    ctx: PageContext,
) -> Result<Response, ApiError> {
    let whose = own_ingests(caller.as_ref())?;
    let admin = whose.is_none();
    let list = blocking(move || app.ingests(whose.as_deref())).await?;
    let batches: Vec<view::Batch> = list
        .iter()
        .map(|b| view::Batch {
            version: b["dataset_version"].as_u64().unwrap_or(0),
            committed_at: b["committed_at"].as_str().unwrap_or_default().to_string(),
            submitted_by: b["submitted_by"].as_str().map(str::to_string),
            files: file_lines(&b["files"]),
            has_report: b["report"].is_string(),
        })
        .collect();
    let title = labels::of(ctx.lang).filing.history_title;
    let frame = ctx.frame(title, Section::History);
    let show_submitter = admin && ctx.role == Some(Role::Admin);
    Ok(page::html(view::history(&frame, &batches, show_submitter)))
}

/// `GET /assets/upload.js[?v=…]`: the upload form's script, kept by
/// browsers for a year (its URL changes with its content).
pub(super) async fn upload_script(headers: HeaderMap) -> Response {
    let etag = format!("\"{}\"", view::script_version());
    let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
    if if_none_match(&headers, &etag) {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        r.headers_mut().insert(header::CACHE_CONTROL, cache);
        return r;
    }
    let mut response = ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], view::SCRIPT).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, cache);
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_keeps_no_folder() {
        assert_eq!(file_name(Some("C:\\Users\\ke toan\\bao cao.xlsx")), "bao cao.xlsx");
        assert_eq!(file_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(file_name(Some(" báo\ncáo.csv ")), "báocáo.csv");
        assert_eq!(file_name(None), "");
    }
}
