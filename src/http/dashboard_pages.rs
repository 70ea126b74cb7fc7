//! The steering committee's pages: the overview and the district and
//! sector pages, in the reader's language, rendered by `present::pages`.

use super::page::{self, PageContext};
use super::share_api::share_params;
use super::{ApiError, audience, blocking};
use crate::access::tokens::Identity;
use crate::present::shell::Section;
use crate::present::{dashboard, labels, pages};
use crate::service::{App, Audience};
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use std::sync::Arc;

pub(super) async fn overview(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    ctx: PageContext,
) -> Result<Response, ApiError> {
    dashboard_page(app, audience(caller.as_ref()), ctx, None).await
}

pub(super) async fn district_page(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    Path(code): Path<String>,
    ctx: PageContext,
) -> Result<Response, ApiError> {
    dashboard_page(app, audience(caller.as_ref()), ctx, Some(("district", code))).await
}

pub(super) async fn sector_page(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    Path(code): Path<String>,
    ctx: PageContext,
) -> Result<Response, ApiError> {
    dashboard_page(app, audience(caller.as_ref()), ctx, Some(("sector", code))).await
}

/// The overview page, or the page of one district or sector (`focus`).
pub(super) async fn dashboard_page(
    app: Arc<App>,
    audience: Audience,
    ctx: PageContext,
    focus: Option<(&'static str, String)>,
) -> Result<Response, ApiError> {
    let lang = ctx.lang;
    let mut pairs = ctx.pairs.clone();
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
    let frame = ctx.frame(labels::of(lang).nav.dashboard, Section::Dashboard);
    Ok(page::html(pages::page(&overview, &params, &frame, web_focus)))
}
