//! Administrators' routes: the archive of monthly reports, generating a
//! month's report on demand, and the outbox of deliveries. The report
//! generation and the outbox access here are shared with the pages
//! (`admin_pages`).

use super::{ApiError, blocking};
use crate::present::locale::Lang;
use crate::service::App;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub(super) fn archive(app: &App) -> std::path::PathBuf {
    app.data_dir().join("reports")
}

/// `GET /api/v1/reports`: the archived monthly reports, newest first.
pub(super) async fn reports(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let list = blocking(move || Ok(crate::report::list(&archive(&app)))).await?;
    Ok(Json(serde_json::json!({ "reports": list })).into_response())
}

/// `GET /api/v1/reports/{month}/{file}`: one file of an archived report.
pub(super) async fn report_file(
    State(app): State<Arc<App>>,
    Path((month, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let found = blocking(move || Ok(crate::report::archived_file(&archive(&app), &month, &file))).await?;
    let (bytes, media) = found.ok_or_else(ApiError::not_found)?;
    Ok(([(header::CONTENT_TYPE, media)], bytes).into_response())
}

/// `POST /api/v1/reports/{month}?lang=vi|en`: (re)generates a month's report
/// from the current dataset version into the archive.
pub(super) async fn post_report(
    State(app): State<Arc<App>>,
    Path(month): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let period = crate::domain::Period::parse(&month)
        .ok_or_else(|| ApiError::bad_request("invalid_period", format!("{month:?} is not a month written YYYY-MM")))?;
    let mut lang = Lang::Vi;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?;
    for (k, v) in pairs {
        match k.as_str() {
            "lang" => {
                lang = Lang::parse(&v).ok_or_else(|| ApiError::bad_request("invalid_lang", "lang must be vi or en"))?
            }
            other => {
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    format!("unknown parameter {other:?}; expected lang"),
                ));
            }
        }
    }
    let generated = generate(&app, period, lang).await?;
    let status = if generated.generated {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let entry = blocking(move || Ok(crate::report::list(&archive(&app))))
        .await?
        .into_iter()
        .find(|r| r.month == month);
    Ok((status, Json(entry)).into_response())
}

/// A month's report generated from the current dataset version into the
/// archive (kept as it was when the archive holds it already): the use
/// case of `POST /api/v1/reports/{month}` and of the reports page's form.
pub(super) async fn generate(
    app: &App,
    period: crate::domain::Period,
    lang: Lang,
) -> Result<crate::report::Generated, ApiError> {
    crate::report::generate(app, period, lang, &archive(app))
        .await
        .map_err(|e| match e {
            crate::report::ReportError::App(e) => ApiError::from(e),
            e => {
                tracing::error!(code = e.code(), error = %e, "writing a report failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; the details are in the server log",
                )
            }
        })
}

/// `GET /api/v1/deliveries[?state=pending|sending|delivered|failed]`: the
/// outbox, each delivery with its state and attempts, oldest first.
pub(super) async fn deliveries(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?;
    let mut state = None;
    for (k, v) in pairs {
        match k.as_str() {
            "state" => {
                let parsed: crate::delivery::State = serde_json::from_value(serde_json::Value::String(v.clone()))
                    .map_err(|_| {
                        ApiError::bad_request(
                            "invalid_state",
                            format!("state {v:?} must be pending, sending, delivered or failed"),
                        )
                    })?;
                state = Some(parsed);
            }
            other => {
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    format!("unknown parameter {other:?}; expected state"),
                ));
            }
        }
    }
    let list = outbox(app, |outbox| outbox.list()).await?;
    let list: Vec<_> = list
        .into_iter()
        .filter(|d| state.is_none_or(|s| d.state == s))
        .collect();
    Ok(Json(serde_json::json!({ "deliveries": list })).into_response())
}

/// Runs `f` on the outbox off the async workers; a failure to read or
/// write it is logged and answered as an internal error, a delivery that
/// is unknown (404) or not failed (409) as such.
pub(super) async fn outbox<T: Send + 'static>(
    app: Arc<App>,
    f: impl FnOnce(&crate::delivery::Outbox) -> Result<T, crate::delivery::DeliveryError> + Send + 'static,
) -> Result<T, ApiError> {
    use crate::delivery::DeliveryError;
    tokio::task::spawn_blocking(move || f(&crate::delivery::Outbox::new(app.data_dir())))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "outbox task failed");
            ApiError::internal()
        })?
        .map_err(|e| match e {
            DeliveryError::Unknown(_) => ApiError::new(StatusCode::NOT_FOUND, e.code(), e.to_string()),
            DeliveryError::NotFailed { .. } => ApiError::new(StatusCode::CONFLICT, e.code(), e.to_string()),
            e => {
                tracing::error!(code = e.code(), error = %e, "the outbox failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; the details are in the server log",
                )
            }
        })
}
