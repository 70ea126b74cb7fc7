//! The figures over HTTP: `GET /api/v1/share` (JSON or CSV by `Accept`,
//! with ETags naming the dataset version and a cache of encoded answers),
//! the charts under `/charts/` and the reference tables.

use super::{ApiError, Repr, analysis, audience, blocking, if_none_match, negotiate};
use crate::access::tokens::Identity;
use crate::present::charts::{self, Format as ChartFormat, Size};
use crate::present::dashboard::{self, ChartKind};
use crate::present::export;
use crate::present::locale::Lang;
use crate::service::{App, Audience, ShareParams};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

pub(super) const SHARE_PARAMS: [&str; 7] = ["from", "to", "by", "district", "sector", "vsic", "as_of"];

/// A query string's parameters, each one of `known` and given at most
/// once, in one slot per name (`None`: not given).
pub(super) fn query_params<const N: usize>(
    query: Option<&str>,
    known: [&'static str; N],
) -> Result<[Option<String>; N], ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", format!("the query string cannot be parsed: {e}")))?;
    let mut slots: [Option<String>; N] = std::array::from_fn(|_| None);
    for (k, v) in pairs {
        let Some(i) = known.iter().position(|n| *n == k) else {
            return Err(ApiError::bad_request(
                "unknown_parameter",
                format!("unknown parameter {k:?}; expected one of {}", known.join(", ")),
            ));
        };
        if slots[i].is_some() {
            return Err(ApiError::bad_request(
                "repeated_parameter",
                format!("parameter {k} is given more than once"),
            ));
        }
        slots[i] = Some(v);
    }
    Ok(slots)
}

pub(super) fn share_params(query: Option<&str>, audience: Audience) -> Result<ShareParams, ApiError> {
    let [from, to, by, district, sector, vsic, as_of] = query_params(query, SHARE_PARAMS)?;
    Ok(ShareParams {
        audience,
        from,
        to,
        by,
        district,
        sector,
        vsic,
        as_of,
        ..ShareParams::default()
    })
}

pub(super) async fn share(
    State(app): State<Arc<App>>,
    Extension(bodies): Extension<Arc<Bodies>>,
    caller: Option<Extension<Identity>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = share_params(query.as_deref(), audience(caller.as_ref()))?;
    let repr = negotiate(&headers)?;
    // A few `stat` calls once the data directory has settled (see
    // `App::state_tag`): cheaper here than a hand-off to a blocking thread.
    let tag = app.state_tag()?;
    let etag = {
        let mut h = DefaultHasher::new();
        (&params, repr, tag, app.time_tag()).hash(&mut h);
        format!("\"v{}-{:016x}\"", tag.dataset_version, h.finish())
    };
    // The version the body holds: the tag's, or — while the latest version
    // is being loaded or this answer computed for it — the one before
    // (`App::share_without_waiting`), sent without an ETag and not kept.
    let mut version = version_of(&params, tag);
    let mut latest = true;
    let mut response = if if_none_match(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = match bodies.get(&etag) {
            Some(body) => body,
            None => {
                let (figures, is_latest) = app.share_without_waiting(&params).await?;
                let body = match repr {
                    Repr::Json => axum::body::Bytes::from(serde_json::to_vec(&figures).map_err(|e| {
                        tracing::error!(error = %e, "encoding a share answer");
                        ApiError::internal()
                    })?),
                    Repr::Csv => axum::body::Bytes::from(export::share_csv(&figures)),
                };
                if is_latest && figures.dataset_version == version {
                    bodies.put(&etag, body.clone());
                } else {
                    (version, latest) = (figures.dataset_version, false);
                }
                body
            }
        };
        let content_type = match repr {
            Repr::Json => "application/json",
            Repr::Csv => "text/csv; charset=utf-8",
        };
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = response.headers_mut();
    if latest {
        h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("ASCII etag"));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    h.insert(analysis::DATASET_VERSION, HeaderValue::from(version));
    Ok(response)
}

/// Encoded share answers by ETag (which names the dataset version, the
/// reference, the parameters with the audience, the representation and
/// the release policy and epoch the release states depend on), so a repeated request is answered without encoding again.
/// Bounded: emptied when it would pass `Bodies::MAX_BYTES`.
#[derive(Default)]
pub struct Bodies {
    inner: std::sync::Mutex<(std::collections::HashMap<String, axum::body::Bytes>, usize)>,
}

impl Bodies {
    const MAX_BYTES: usize = 64 << 20;

    fn get(&self, etag: &str) -> Option<axum::body::Bytes> {
        let found = self.inner.lock().expect("bodies lock").0.get(etag).cloned();
        let result = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!("ecomshare_answer_cache_requests_total", "cache" => "share_bodies", "result" => result)
            .increment(1);
        found
    }

    fn put(&self, etag: &str, body: axum::body::Bytes) {
        let mut inner = self.inner.lock().expect("bodies lock");
        if inner.1 + body.len() > Self::MAX_BYTES {
            inner.0.clear();
            inner.1 = 0;
        }
        inner.1 += body.len();
        inner.0.insert(etag.to_string(), body);
    }
}

/// The dataset version an answer with `params` is of.
pub(super) fn version_of(params: &ShareParams, tag: crate::service::StateTag) -> u64 {
    crate::service::parse_as_of(params.as_of.as_deref())
        .ok()
        .flatten()
        .unwrap_or(tag.dataset_version)
}

/// Parses the chart query: the share filters (no `by`), `lang`, `width`, `height`.
pub(super) fn chart_params(query: Option<&str>, audience: Audience) -> Result<(ShareParams, Lang, Size), ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", format!("the query string cannot be parsed: {e}")))?;
    let mut share = Vec::new();
    let (mut lang, mut width, mut height) = (Lang::Vi, 960u32, 540u32);
    for (k, v) in pairs {
        match k.as_str() {
            "lang" => {
                lang = Lang::parse(&v).ok_or_else(|| ApiError::bad_request("invalid_lang", "lang must be vi or en"))?
            }
            "width" | "height" => {
                let n = v.parse::<u32>().map_err(|_| {
                    ApiError::bad_request("invalid_size", format!("{k}={v:?} is not a whole number of pixels"))
                })?;
                if k == "width" { width = n } else { height = n }
            }
            "by" => {
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    "charts choose their own breakdown; drop by",
                ));
            }
            _ => share.push((k, v)),
        }
    }
    // Every chart takes the same filters; one that a chart does not use
    // (the trend draws its own window up to `to`) is still checked.
    for (k, v) in &share {
        if (k == "from" || k == "to") && !v.trim().is_empty() && crate::domain::Period::parse(v.trim()).is_none() {
            return Err(ApiError::bad_request(
                "invalid_period",
                format!("{k}={v:?} is not a month written YYYY-MM"),
            ));
        }
    }
    let query = serde_urlencoded::to_string(&share).expect("pairs encode");
    let params = share_params(Some(&query), audience)?;
    let size = Size::new(width, height).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    Ok((params, lang, size))
}

pub(super) async fn chart(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    headers: HeaderMap,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (name, ext) = file.rsplit_once('.').ok_or_else(ApiError::not_found)?;
    let (Some(kind), Some(format)) = (ChartKind::parse(name), ChartFormat::parse(ext)) else {
        return Err(ApiError::not_found());
    };
    let (params, lang, size) = chart_params(query.as_deref(), audience(caller.as_ref()))?;
    let tag = {
        let app = app.clone();
        blocking(move || app.state_tag()).await?
    };
    let etag = {
        let mut h = DefaultHasher::new();
        (&params, kind, ext, size.width, size.height, lang == Lang::En, tag).hash(&mut h);
        app.time_tag().hash(&mut h);
        format!("\"v{}-{:016x}\"", tag.dataset_version, h.finish())
    };
    let mut response = if if_none_match(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let chart = dashboard::chart(&app, kind, &params, lang).await?;
        let bytes = tokio::task::spawn_blocking(move || charts::render(&chart, format, size, lang))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "chart task failed");
                ApiError::internal()
            })?
            .map_err(|e| {
                tracing::error!(error = %e, "chart rendering failed");
                ApiError::internal()
            })?;
        ([(header::CONTENT_TYPE, format.content_type())], bytes).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("ASCII etag"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(analysis::DATASET_VERSION, HeaderValue::from(version_of(&params, tag)));
    Ok(response)
}

pub(super) async fn reference(State(app): State<Arc<App>>, Path(table): Path<String>) -> Result<Response, ApiError> {
    let reference = blocking(move || app.reference()).await?;
    let body = match table.as_str() {
        // A district's code is in force until its own end or the district
        // level's (2025-06), whichever comes first.
        "districts" => serde_json::to_value(&reference.districts).map(|mut v| {
            for (row, d) in v.as_array_mut().into_iter().flatten().zip(&reference.districts) {
                row["valid_to"] = reference
                    .district_valid_to(&d.district_code)
                    .map(|p| p.to_string())
                    .into();
            }
            v
        }),
        "communes" => serde_json::to_value(&reference.communes),
        "sectors" => serde_json::to_value(&reference.sectors),
        "vsic" => serde_json::to_value(&reference.vsic),
        "targets" => serde_json::to_value(reference.targets.rows()),
        _ => return Err(ApiError::not_found()),
    }
    .map_err(|e| {
        tracing::error!(error = %e, "reference serialization");
        ApiError::internal()
    })?;
    Ok(Json(body).into_response())
}
