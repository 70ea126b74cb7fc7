//! The trade officials' query pages: `GET /queries` lists the named
//! queries, `GET /queries/{name}` is a query's form and, once submitted,
//! its result.
//!
//! The form is a GET, so a result's address is a permalink. It carries a
//! hidden `run=1`: without it the page shows the form with the query's
//! defaults and runs nothing; with it the query runs. Every other field is
//! one of the query's parameters, but `as_of`, which pins the dataset
//! version as on the API. The result is the named query API's own
//! (`App::query_plan_for` and `App::run_query` with the caller's audience,
//! as JSON, through the same result cache), read back as it streams;
//! parameters the API refuses are shown with the API's message, with its
//! status. Renders with `present::query_pages`; computes no figure.

use super::page::{self, PageContext};
use super::{ApiError, audience, blocking};
use crate::access::tokens::Identity;
use crate::domain::named_query::{ParamDefault, ParamKind, QueryDef};
use crate::domain::{Access, BindContext, Period};
use crate::engine::tabular::Format;
use crate::present::query_pages::{self, MAX_SHOWN_ROWS, PageError, QueryView, ResultReader, ShownResult};
use crate::present::{labels, shell::Section};
use crate::service::{App, Audience, ShareParams, month_in_vietnam, parse_as_of};
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `GET /queries`
pub(super) async fn list(State(app): State<Arc<App>>, ctx: PageContext) -> Result<Response, ApiError> {
    let listing = blocking(move || Ok(app.queries())).await?;
    // Broken query files are for those who may fix them.
    let admin = ctx.role.is_some_and(|r| r.may(Access::Admin));
    let frame = ctx.frame(labels::of(ctx.lang).queries.list_title, Section::Queries);
    Ok(page::html(query_pages::list_page(&frame, &listing, admin)))
}

/// What a query page's address asks for.
struct Asked {
    params: BTreeMap<String, String>,
    run: bool,
    as_of: Option<String>,
}

/// Splits the page's pairs as the API splits its query string: a
/// parameter given twice is refused with the API's message.
fn asked(pairs: &[(String, String)]) -> Result<Asked, ApiError> {
    let mut out = Asked {
        params: BTreeMap::new(),
        run: false,
        as_of: None,
    };
    let mut seen = std::collections::BTreeSet::new();
    for (k, v) in pairs {
        if !seen.insert(k.as_str()) {
            return Err(ApiError::bad_request(
                "repeated_parameter",
                format!("parameter {k} is given more than once"),
            ));
        }
        match k.as_str() {
            "run" => out.run = true,
            "as_of" => out.as_of = Some(v.clone()),
            _ => {
                out.params.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(out)
}

fn internal(detail: String) -> ApiError {
    tracing::error!(error = %detail, "reading a query's answer for its page failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error; the details are in the server log",
    )
}

/// Runs the query as the API runs it, as JSON, and keeps the rows a page shows.
async fn run(
    app: &Arc<App>,
    name: &str,
    asked: &Asked,
    as_of: Option<u64>,
    audience: Audience,
) -> Result<Option<ShownResult>, ApiError> {
    let plan = {
        let (app, name, params) = (app.clone(), name.to_string(), asked.params.clone());
        blocking(move || app.query_plan_for(&name, params, as_of, Format::Json, audience)).await?
    };
    if !asked.run {
        return Ok(None);
    }
    let mut stream = app.run_query(&plan).await?;
    let mut reader = ResultReader::new(MAX_SHOWN_ROWS);
    while let Some(chunk) = stream.next_chunk().await {
        reader.feed(&chunk?).map_err(internal)?;
    }
    reader.finish().map(Some).map_err(internal)
}

/// The query's defaults resolved as binding would resolve them now: the
/// latest month with data is the share API's default last month.
async fn defaults(
    app: &Arc<App>,
    def: &QueryDef,
    audience: Audience,
    as_of: Option<u64>,
    version: u64,
) -> BTreeMap<String, String> {
    let needs_month = def.params.iter().any(|p| {
        matches!(p.kind, ParamKind::Month | ParamKind::Year)
            && matches!(p.default, ParamDefault::Latest(_) | ParamDefault::YearStart(_))
    });
    let mut latest = None;
    if needs_month {
        let params = ShareParams {
            audience,
            as_of: as_of.map(|v| v.to_string()),
            ..ShareParams::default()
        };
        match app.share(&params).await {
            Ok(answer) => latest = Period::parse(&answer.to),
            Err(e) => tracing::debug!(code = e.code(), "the latest month for a query form's defaults"),
        }
    }
    let reference = match app.reference() {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(code = e.code(), "the reference for a query form's defaults");
            return BTreeMap::new();
        }
    };
    let ctx = BindContext {
        latest_month: latest.unwrap_or_else(|| month_in_vietnam(app.now())),
        version: as_of.unwrap_or(version),
        reference: &reference,
    };
    match def.bind(&BTreeMap::new(), &ctx) {
        Ok(bound) => bound.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
        // A default the reference no longer takes: shown as declared, and
        // running says what is wrong with it.
        Err(_) => def
            .params
            .iter()
            .map(|p| {
                let v = match &p.default {
                    ParamDefault::Value(v) => v.clone(),
                    _ => String::new(),
                };
                (p.name.clone(), v)
            })
            .collect(),
    }
}

/// `GET /queries/{name}`
pub(super) async fn query(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Identity>>,
    Path(name): Path<String>,
    ctx: PageContext,
) -> Result<Response, ApiError> {
    let audience = audience(caller.as_ref());
    let (listing, reference, version) = {
        let app = app.clone();
        blocking(move || Ok((app.queries(), app.reference()?, app.dataset_version()?))).await?
    };
    let parsed = asked(&ctx.pairs).and_then(|a| {
        let as_of = parse_as_of(a.as_of.as_deref())?;
        Ok((a, as_of))
    });
    let outcome = match &parsed {
        Ok((a, as_of)) => run(&app, &name, a, *as_of, audience).await,
        Err(e) => Err(ApiError::new(e.status, e.code, e.message.clone())),
    };
    let (given, as_of) = match parsed {
        Ok((a, as_of)) => (a.params, as_of),
        Err(_) => (BTreeMap::new(), None),
    };
    let Some(entry) = listing.queries.get(&name) else {
        let e = outcome.err().unwrap_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_query",
                format!("there is no query {name:?}; GET /api/v1/queries lists them"),
            )
        });
        let error = PageError {
            code: e.code.to_string(),
            message: e.message,
        };
        let frame = ctx.frame(labels::of(ctx.lang).queries.unknown_title, Section::Queries);
        return Ok((e.status, page::html(query_pages::unknown_page(&frame, &error))).into_response());
    };
    let def = &entry.def;
    let (status, result, error) = match outcome {
        Ok(result) => (StatusCode::OK, result, None),
        Err(e) => (
            e.status,
            None,
            Some(PageError {
                code: e.code.to_string(),
                message: e.message,
            }),
        ),
    };
    let values: Vec<(String, String)> = match &result {
        Some(r) => r.params.clone(),
        None => {
            let mut values = defaults(&app, def, audience, as_of, version).await;
            // What the reader gave stays in the form, to be corrected.
            values.extend(given);
            values.into_iter().collect()
        }
    };
    let view = QueryView {
        def,
        values,
        reference: &reference,
        as_of,
        result: result.as_ref(),
        error: error.as_ref(),
        disclosure: app.disclosure_rule(),
        latest_version: version,
    };
    let title = ctx.lang.name(&def.title_vi, &def.title_en);
    let frame = ctx.frame(title, Section::Queries);
    Ok((status, page::html(query_pages::query_page(&frame, &view))).into_response())
}
