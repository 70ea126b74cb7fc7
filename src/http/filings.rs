//! Filers' routes: an upload of a filing file (streamed to a spool, then
//! ingested as one batch), the templates to fill in, and the ingest reports
//! a filer may read (its own) or an admin (every one).

use super::{ApiError, blocking, gate, spool};
use crate::access::tokens::Identity;
use crate::ingest::Format;
use crate::service::{App, IngestReport, IngestSource};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use std::sync::Arc;

pub(super) async fn post_filings(
    State(app): State<Arc<App>>,
    Extension(guard): Extension<Arc<gate::Guard>>,
    caller: Option<Extension<Identity>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let limit = guard.options.max_upload_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = upload_format(content_type)?;
    let (name, options) = upload_options(query.as_deref(), content_type, format)?;
    // The body goes to a spool file as it arrives, never whole in memory.
    let spool = spool::receive(&app, body, limit)
        .await
        .map_err(|e| spool_error(e, limit))?;
    let submitted_by = caller.and_then(|Extension(i)| i.token_id);
    let report = ingest_spooled(&app, spool, name, format, options, submitted_by).await?;
    let status = if report.committed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)).into_response())
}

/// The refusal of an upload that could not be spooled.
pub(super) fn spool_error(e: spool::Error, limit: usize) -> ApiError {
    match e {
        spool::Error::TooLarge => too_large(limit),
        spool::Error::ShuttingDown => ApiError::shutting_down(),
        spool::Error::Body(message) => ApiError::bad_request("invalid_body", message),
        spool::Error::Io(e) => {
            tracing::error!(error = %e, "spooling an upload failed");
            ApiError::internal()
        }
    }
}

/// Ingests a spooled upload as one batch on behalf of `submitted_by` (the
/// spool file goes when done), and publishes the version it made.
pub(super) async fn ingest_spooled(
    app: &Arc<App>,
    spool: spool::Spool,
    name: String,
    format: Option<Format>,
    options: crate::ingest::InputOptions,
    submitted_by: Option<String>,
) -> Result<IngestReport, ApiError> {
    let source = IngestSource::Spooled {
        name,
        format,
        path: spool.path().to_path_buf(),
    };
    // Held until the answer is made: a shutdown cuts no request whose
    // commit has landed (it waits for this permit), so an upload answered
    // 503 was never committed. Refused once a shutdown has begun.
    let write = app.write_permit()?;
    let committer = app.clone();
    let report = blocking(move || {
        let report = committer.ingest_with(vec![source], &options, submitted_by);
        drop(spool);
        report
    })
    .await?;
    if report.committed {
        // The submitter's next request sees the version it just made,
        // readied first (disclosure control's contributions of the months
        // it changed, the dashboard's answers) while the share API answers
        // from the version before. Not when shutting down: the next start
        // readies it.
        let mut shutting_down = app.shutdown_begun();
        tokio::select! {
            published = app.publish_latest() => { published?; }
            () = shutting_down.stopped() => {}
        }
    }
    drop(write);
    Ok(report)
}

/// `GET /api/v1/filings/template.csv`: the filing template, Vietnamese headers.
pub(super) async fn template_csv() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"mau-bao-cao-tmdt.csv\"",
            ),
        ],
        crate::present::template::csv(),
    )
        .into_response()
}

/// `GET /api/v1/filings/template.xlsx`: the filing template as a workbook,
/// with drop-down lists of the reference's district and VSIC codes.
pub(super) async fn template_xlsx(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let reference = blocking(move || app.reference()).await?;
    let bytes = crate::present::template::xlsx(&reference).map_err(|e| {
        tracing::error!(error = %e, "building the filing template failed");
        ApiError::internal()
    })?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"mau-bao-cao-tmdt.xlsx\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Whose ingests a caller may read: a filer its own, an admin every one.
/// Refused (403) to a caller without a token.
pub(super) fn own_ingests(caller: Option<&Extension<Identity>>) -> Result<Option<String>, ApiError> {
    let whose = match caller {
        Some(Extension(i)) if i.role == crate::domain::Role::Admin => Some(None),
        Some(Extension(i)) => i.token_id.clone().map(Some),
        None => None,
    };
    whose.ok_or_else(|| ApiError::new(StatusCode::FORBIDDEN, "forbidden", "sign in to read ingest reports"))
}

/// `GET /api/v1/ingests`: the batches committed, newest first — a filer's
/// own, or every one for an admin.
pub(super) async fn ingests(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
) -> Result<Response, ApiError> {
    let whose = own_ingests(caller.as_ref())?;
    let list = blocking(move || app.ingests(whose.as_deref())).await?;
    Ok(Json(serde_json::json!({ "ingests": list })).into_response())
}

/// `GET /api/v1/ingests/{version}`: the ingest report of the batch that
/// made a dataset version, as returned when it was submitted.
pub(super) async fn ingest_report(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    Path(version): Path<String>,
) -> Result<Response, ApiError> {
    let whose = own_ingests(caller.as_ref())?;
    let version: u64 = version.parse().map_err(|_| ApiError::not_found())?;
    let found = blocking(move || app.ingest_report(version)).await?;
    match found {
        // Another filer's batch is not found, rather than forbidden: its existence is not disclosed.
        Some((report, by)) if whose.is_none() || whose == by => Ok(Json(report).into_response()),
        _ => Err(ApiError::not_found()),
    }
}

pub(super) fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("uploads are limited to {limit} bytes; use the CLI for larger files"),
    )
}

/// The filing format a `Content-Type` declares: `None` for
/// `application/octet-stream`, whose format is decided from its name and
/// content (as every upload's is checked against them).
fn upload_format(content_type: &str) -> Result<Option<Format>, ApiError> {
    if Format::is_undeclared(content_type) {
        return Ok(None);
    }
    Format::from_content_type(content_type).map(Some).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_format",
            format!(
                "Content-Type {content_type:?} is not a filing format: text/csv, {}, text/plain (Excel's Unicode text, tab-separated), \
                 application/json, an XLSX workbook ({}), an Excel 97-2003 workbook ({}), an OpenDocument spreadsheet ({}), \
                 or {} to have it decided from the content",
                crate::ingest::TSV_MEDIA_TYPE,
                crate::ingest::XLSX_MEDIA_TYPE,
                crate::ingest::XLS_MEDIA_TYPE,
                crate::ingest::ODS_MEDIA_TYPE,
                crate::ingest::ANY_MEDIA_TYPE,
            ),
        )
    })
}

/// The upload's file name and how it is written, from the query string
/// (`name`, `encoding`, `delimiter`, `locale`, `sheet`) and the charset of
/// its `Content-Type`.
fn upload_options(
    query: Option<&str>,
    content_type: &str,
    format: Option<Format>,
) -> Result<(String, crate::ingest::InputOptions), ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?;
    let mut name = None;
    // A charset in the Content-Type declares the encoding too; `encoding=` wins.
    let mut encoding = content_type
        .split(';')
        .skip(1)
        .find_map(|p| p.trim().strip_prefix("charset="))
        .map(|c| c.trim_matches('"').to_string());
    let (mut delimiter, mut locale, mut sheet) = (None, None, None);
    for (k, v) in pairs {
        match k.as_str() {
            "name" if !v.trim().is_empty() => name = Some(v.trim().to_string()),
            "name" => {}
            "encoding" => encoding = Some(v),
            "delimiter" => delimiter = Some(v),
            "locale" => locale = Some(v),
            "sheet" => sheet = Some(v),
            other => {
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    format!("unknown parameter {other:?}; expected name, encoding, delimiter, locale or sheet"),
                ));
            }
        }
    }
    let mut options = crate::ingest::InputOptions::parse(encoding.as_deref(), delimiter.as_deref(), locale.as_deref())
        .map_err(|m| ApiError::bad_request("invalid_input_options", m))?;
    options.sheet = sheet;
    let name = name.unwrap_or_else(|| format!("upload{}", format.map_or("", Format::extension)));
    Ok((name, options))
}
