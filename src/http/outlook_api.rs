//! The year's outlook over HTTP: `GET /api/v1/outlook` (JSON), with an ETag
//! naming the dataset version, the reference (the targets among it) and
//! the query with the caller's audience.

use super::{ApiError, audience, best_accepted, if_none_match};
use crate::access::tokens::Identity;
use crate::service::{App, Audience, OutlookParams};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

pub(super) const OUTLOOK_PARAMS: [&str; 4] = ["year", "district", "commune", "as_of"];

fn outlook_params(query: Option<&str>, audience: Audience) -> Result<OutlookParams, ApiError> {
    let [year, district, commune, as_of] = super::share_api::query_params(query, OUTLOOK_PARAMS)?;
    Ok(OutlookParams {
        audience,
        year,
        district,
        commune,
        as_of,
    })
}

pub(super) async fn outlook(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = outlook_params(query.as_deref(), audience(caller.as_ref()))?;
    best_accepted(
        &headers,
        |m| matches!(m, "application/json" | "application/*" | "*/*").then_some(()),
        (),
        "application/json",
    )?;
    let tag = app.state_tag()?;
    let version = crate::service::parse_as_of(params.as_of.as_deref())
        .ok()
        .flatten()
        .unwrap_or(tag.dataset_version);
    let etag = {
        let mut h = DefaultHasher::new();
        ("outlook", &params, tag).hash(&mut h);
        format!("\"v{version}-{:016x}\"", h.finish())
    };
    // An answer of another version than the tag's (a commit in between)
    // goes out without an ETag: the next request gets the right one.
    let mut answered = version;
    let mut response = if if_none_match(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let answer = app.outlook(&params).await?;
        answered = answer.dataset_version;
        Json(answer).into_response()
    };
    let h = response.headers_mut();
    if answered == version {
        h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("ASCII etag"));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(super::analysis::DATASET_VERSION, HeaderValue::from(answered));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_checked_by_name_and_once_each() {
        let p = outlook_params(Some("year=2026&district=380&as_of=3"), Audience::Protected).unwrap();
        assert_eq!(
            (p.year.as_deref(), p.district.as_deref(), p.commune, p.as_of.as_deref()),
            (Some("2026"), Some("380"), None, Some("3"))
        );
        assert_eq!(p.audience, Audience::Protected);
        assert_eq!(
            outlook_params(Some("year=2026&by=district"), Audience::Full)
                .unwrap_err()
                .code,
            "unknown_parameter"
        );
        assert_eq!(
            outlook_params(Some("year=2026&year=2025"), Audience::Full)
                .unwrap_err()
                .code,
            "repeated_parameter"
        );
    }
}
