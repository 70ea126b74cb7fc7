//! The steering committee's pages: the overview and the district and
//! sector pages, in the reader's language, rendered by `present::pages`,
//! and their tables as downloads (`present::page_tables`).

use super::page::{self, PageContext};
use super::share_api::{share_params, version_of};
use super::{ApiError, analysis, audience, blocking, if_none_match, page_lang};
use crate::access::tokens::Identity;
use crate::present::page_tables::{self, Kind};
use crate::present::shell::Section;
use crate::present::{dashboard, labels, pages};
use crate::service::{App, Audience};
use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::hash::{DefaultHasher, Hash, Hasher};
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

/// The file formats a table is downloaded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TableFormat {
    Xlsx,
    Csv,
}

impl TableFormat {
    fn parse(ext: &str) -> Option<Self> {
        match ext {
            "xlsx" => Some(Self::Xlsx),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Xlsx => "xlsx",
            Self::Csv => "csv",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Xlsx => crate::ingest::XLSX_MEDIA_TYPE,
            Self::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// `GET /tables/{table}.{xlsx|csv}`: a table of the dashboard as the page
/// with the same filters shows it to this caller (the same overview
/// computed, the same disclosure control), as of the dataset version the
/// page names in its links (`as_of`).
pub(super) async fn table_file(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    headers: HeaderMap,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (name, ext) = file.rsplit_once('.').ok_or_else(ApiError::not_found)?;
    let (Some(kind), Some(format)) = (Kind::parse(name), TableFormat::parse(ext)) else {
        return Err(ApiError::not_found());
    };
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", format!("the query string cannot be parsed: {e}")))?;
    let lang = page_lang(&headers, &mut pairs)?;
    if pairs.iter().any(|(k, _)| k == "by") {
        return Err(ApiError::bad_request(
            "unknown_parameter",
            "a table has its own breakdown; drop by",
        ));
    }
    // Empty form fields mean "no filter", as on the page.
    pairs.retain(|(_, v)| !v.trim().is_empty());
    let params = share_params(
        Some(&serde_urlencoded::to_string(&pairs).expect("pairs encode")),
        audience(caller.as_ref()),
    )?;
    let tag = {
        let app = app.clone();
        blocking(move || app.state_tag()).await?
    };
    // With `as_of` (as the page's links have it) the table never changes:
    // its validator names that version whatever the latest one is.
    let version = version_of(&params, tag);
    let etag = {
        let mut h = DefaultHasher::new();
        (&params, kind, format, lang.code(), version, tag.reference).hash(&mut h);
        app.time_tag().hash(&mut h);
        format!("\"v{version}-{:016x}\"", h.finish())
    };
    let mut response = if if_none_match(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let overview = dashboard::overview(&app, &params, lang).await?;
        let table = page_tables::table(&overview, &params, kind, lang).ok_or_else(ApiError::not_found)?;
        let stem = page_tables::file_stem(&overview, &params, kind).ok_or_else(ApiError::not_found)?;
        let body = match format {
            TableFormat::Csv => table.to_csv_file().into_bytes(),
            TableFormat::Xlsx => tokio::task::spawn_blocking(move || {
                let mut workbook = rust_xlsxwriter::Workbook::new();
                table.write_sheet(&mut workbook)?;
                workbook.save_to_buffer()
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "table task failed");
                ApiError::internal()
            })?
            .map_err(|e| {
                tracing::error!(error = %e, "writing a table's workbook failed");
                ApiError::internal()
            })?,
        };
        let disposition = format!("attachment; filename=\"{stem}.{}\"", format.extension());
        let mut r = ([(header::CONTENT_TYPE, format.content_type())], body).into_response();
        r.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition).expect("ASCII file name"),
        );
        r
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("ASCII etag"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    h.insert(analysis::DATASET_VERSION, HeaderValue::from(version));
    Ok(response)
}
