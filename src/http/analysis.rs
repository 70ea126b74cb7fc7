//! Handlers of the named queries and of analysts' SQL: format negotiation
//! (`Accept` or `format=`), conditional GET, and streamed bodies.

use super::{ApiError, best_accepted, blocking};
use crate::domain::BoundValue;
use crate::engine::tabular::Format;
use crate::service::{App, QueryStream, SqlRequest, parse_as_of};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The header naming the dataset version a response is of.
pub const DATASET_VERSION: &str = "x-dataset-version";

/// Picks a result format: `format=` wins, else `Accept` (q-values honoured),
/// else JSON.
pub fn negotiate(headers: &HeaderMap, format: Option<&str>) -> Result<Format, ApiError> {
    if let Some(f) = format {
        return Format::parse(f.trim()).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_format",
                format!(
                    "format={f:?} is not one of {}",
                    Format::ALL.map(Format::name).join(", ")
                ),
            )
        });
    }
    let pick = |media: &str| match media {
        "*/*" | "application/*" => Some(Format::Json),
        "text/*" => Some(Format::Csv),
        m => Format::from_media_type(m),
    };
    let offered = Format::ALL.map(Format::media_type).join(", ");
    best_accepted(headers, pick, Format::Json, &offered)
}

fn extension(format: Format) -> &'static str {
    format.name()
}

/// The response for a result stream: status 200, the format's media type,
/// the dataset version, and a download name for the file formats.
fn stream_response(stream: QueryStream, name: &str) -> Response {
    let format = stream.format;
    let version = stream.dataset_version;
    let body = Body::from_stream(futures::stream::unfold(stream, |mut s| async move {
        let chunk = s.next_chunk().await?;
        let item = chunk.map(Bytes::from).map_err(|e| {
            // The status is already sent: cut the body short so the client
            // sees an incomplete transfer, and say why in the log.
            tracing::error!(code = e.code(), error = %e, "result stream failed");
            std::io::Error::other(e.to_string())
        });
        Some((item, s))
    }));
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
    h.insert(DATASET_VERSION, HeaderValue::from(version));
    if format != Format::Json {
        let disposition = format!("attachment; filename=\"{name}-v{version}.{}\"", extension(format));
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition).expect("ASCII file name"),
        );
    }
    response
}

/// `GET /api/v1/queries`
pub async fn list(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let listing = blocking(move || Ok(app.queries())).await?;
    Ok(Json(listing.to_json()).into_response())
}

/// A query's own parameters, and the reserved `format` and `as_of`.
type Split = (BTreeMap<String, String>, Option<String>, Option<String>);

/// Splits a query string into the query's parameters and the reserved
/// `format` and `as_of`.
fn split_query(query: Option<&str>) -> Result<Split, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", format!("the query string cannot be parsed: {e}")))?;
    let (mut params, mut format, mut as_of) = (BTreeMap::new(), None, None);
    for (k, v) in pairs {
        let slot = match k.as_str() {
            "format" => &mut format,
            "as_of" => &mut as_of,
            _ => {
                if params.insert(k.clone(), v).is_some() {
                    return Err(repeated(&k));
                }
                continue;
            }
        };
        if slot.replace(v).is_some() {
            return Err(repeated(&k));
        }
    }
    Ok((params, format, as_of))
}

fn repeated(k: &str) -> ApiError {
    ApiError::bad_request("repeated_parameter", format!("parameter {k} is given more than once"))
}

/// `GET /api/v1/queries/{name}`
pub async fn run(
    State(app): State<Arc<App>>,
    caller: Option<axum::Extension<crate::access::tokens::Identity>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (params, format, as_of) = split_query(query.as_deref())?;
    let format = negotiate(&headers, format.as_deref())?;
    let as_of = parse_as_of(as_of.as_deref())?;
    let audience = super::audience(caller.as_ref());
    let plan = {
        let app = app.clone();
        let name = name.clone();
        blocking(move || app.query_plan_for(&name, params, as_of, format, audience)).await
    }
    .map_err(|e| match e.code {
        "unknown_query" => ApiError::new(StatusCode::NOT_FOUND, e.code, e.message),
        _ => e,
    })?;
    // Only this answer's own validator counts: `*` would also match a
    // request whose parameters are wrong, which has no representation.
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == plan.etag));
    let mut response = if matches {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        r.headers_mut()
            .insert(DATASET_VERSION, HeaderValue::from(plan.dataset_version));
        r
    } else {
        let stream = app.run_query(&plan).await?;
        stream_response(stream, &name)
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(&plan.etag).expect("ASCII etag"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(response)
}

/// The JSON body of `POST /api/v1/sql`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlBody {
    sql: String,
    #[serde(default)]
    params: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    as_of: Option<u64>,
}

fn bound(name: &str, v: serde_json::Value) -> Result<BoundValue, ApiError> {
    if !crate::domain::named_query::is_identifier(name) {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!("parameter name {name:?} is not an identifier (lower-case letters, digits, _)"),
        ));
    }
    match v {
        serde_json::Value::String(s) => Ok(BoundValue::Text(s)),
        serde_json::Value::Number(n) if n.is_i64() => Ok(BoundValue::Int(n.as_i64().expect("i64"))),
        other => Err(ApiError::bad_request(
            "invalid_parameter",
            format!("parameter {name} must be a string or a whole number, not {other}"),
        )),
    }
}

/// `POST /api/v1/sql`: `{"sql": "…", "params": {…}, "as_of": N}` as JSON, or
/// the bare SQL as `application/sql` (then `as_of` in the query string).
pub async fn sql(
    State(app): State<Arc<App>>,
    caller: Option<axum::Extension<crate::access::tokens::Identity>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| ApiError::new(e.status(), "invalid_body", e.body_text()))?;
    let (extra, format, as_of) = split_query(query.as_deref())?;
    if let Some(k) = extra.keys().next() {
        return Err(ApiError::bad_request(
            "unknown_parameter",
            format!(
                "unknown parameter {k:?}; the query string takes format and as_of, SQL parameters go in the JSON body"
            ),
        ));
    }
    let format = negotiate(&headers, format.as_deref())?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let text = || {
        String::from_utf8(body.to_vec())
            .map_err(|_| ApiError::bad_request("invalid_body", "the body is not UTF-8 text"))
    };
    let mut request = match content_type.as_str() {
        "application/json" => {
            let b: SqlBody = serde_json::from_slice(&body).map_err(|e| {
                ApiError::bad_request("invalid_body", format!("the body is not {{\"sql\": …}} JSON: {e}"))
            })?;
            let params = b
                .params
                .into_iter()
                .map(|(k, v)| Ok((k.clone(), bound(&k, v)?)))
                .collect::<Result<Vec<_>, ApiError>>()?;
            SqlRequest {
                sql: b.sql,
                params,
                as_of: b.as_of,
                ..SqlRequest::default()
            }
        }
        "application/sql" | "text/plain" => SqlRequest {
            sql: text()?,
            ..SqlRequest::default()
        },
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_format",
                format!("Content-Type {other:?} is not application/json or application/sql"),
            ));
        }
    };
    if let Some(v) = parse_as_of(as_of.as_deref())? {
        if request.as_of.is_some_and(|b| b != v) {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "as_of is given in the query string and the body with different values",
            ));
        }
        request.as_of = Some(v);
    }
    request.audience = super::audience(caller.as_ref());
    let stream = app.run_sql(&request, format).await?;
    let mut response = stream_response(stream, "sql");
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
