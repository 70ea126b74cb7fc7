//! The steering committee's pages: the overview and the district and
//! sector pages, in the reader's language, rendered by `present::pages`.

use super::share_api::share_params;
use super::{ApiError, audience, blocking, page_lang};
use crate::access::tokens::Identity;
use crate::present::{dashboard, pages};
use crate::service::{App, Audience};
use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub(super) async fn overview(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    dashboard_page(app, audience(caller.as_ref()), headers, query, None).await
}

pub(super) async fn district_page(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    headers: HeaderMap,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    dashboard_page(app, audience(caller.as_ref()), headers, query, Some(("district", code))).await
}

pub(super) async fn sector_page(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    headers: HeaderMap,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    dashboard_page(app, audience(caller.as_ref()), headers, query, Some(("sector", code))).await
}

/// The overview page, or the page of one district or sector (`focus`).
pub(super) async fn dashboard_page(
    app: Arc<App>,
    audience: Audience,
    headers: HeaderMap,
    query: Option<String>,
    focus: Option<(&'static str, String)>,
) -> Result<Response, ApiError> {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", format!("the query string cannot be parsed: {e}")))?;
    let lang = page_lang(&headers, &mut pairs)?;
    // Empty form fields mean "no filter"; the page's own district or sector wins.
    pairs.retain(|(k, v)| !v.trim().is_empty() && focus.as_ref().is_none_or(|(f, _)| f != k));
    if let Some((field, code)) = &focus {
        pairs.push((field.to_string(), code.clone()));
    }
    let reference = {
        let app = app.clone();
        blocking(move || app.reference()).await?
    };
    let web_focus = match &focus {
        Some(("district", code)) if reference.district(code).is_some() => pages::Focus::District(code),
        Some(("sector", code)) if reference.sector(code).is_some() => pages::Focus::Sector(code),
        Some(_) => return Err(ApiError::not_found()),
        None => pages::Focus::Province,
    };
    let params = share_params(
        Some(&serde_urlencoded::to_string(&pairs).expect("pairs encode")),
        audience,
    )?;
    let overview = dashboard::overview(&app, &params, lang).await?;
    let html = pages::page(&overview, &params, lang, web_focus);
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    Ok(response)
}
