//! The administrators' pages: `/admin/reports` (the report archive,
//! generating a month's report, the deliveries and sending a failed one
//! again) and `/admin/tokens` (the access tokens, creating and revoking
//! one), and the copy button's script they use.
//!
//! Thin: a form's handler checks its anti-forgery token first (the gate
//! has checked the role), then parses the form, calls one use case — the
//! report generation the API uses (`admin::generate`), `Outbox::retry`,
//! the gate's `TokenStore` — and answers with a redirect back to the page
//! (303, the outcome named in the query by a fixed word and a month or an
//! id, never free text) or with the page and the reason it was refused.
//! A new token goes out once, in the answer to the form that created it:
//! never in a URL, a log or the audit trail, and never kept by a cache
//! (`Cache-Control: no-store`). Renders with `present::admin_pages`; owns
//! no figure, file format or token rule.

use super::admin::{self, archive};
use super::gate::Guard;
use super::page::{self, PageContext};
use super::{ApiError, blocking};
use crate::access::audit::{AuditLog, Event};
use crate::access::tokens::{self, AuthError, Identity, RequestProblem, TokenRecord};
use crate::delivery::{self, Delivery};
use crate::domain::{Period, Role};
use crate::present::admin_pages::{
    self as view, ReportsNotice, ReportsProblem, ReportsView, TokenForm, TokensProblem, TokensView,
};
use crate::present::labels::{self, Lang};
use crate::present::shell::Section;
use crate::service::App;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, Utc};
use std::sync::Arc;

/// A form's fields (`application/x-www-form-urlencoded`); a body that is
/// not one has none.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &str) -> Self {
        Self(serde_urlencoded::from_str(body).unwrap_or_default())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The page answered with `status`.
fn with_status(status: StatusCode, html: String) -> Response {
    let mut response = page::html(html);
    *response.status_mut() = status;
    response
}

/// `/admin/reports?done=…`: back to the page, saying what was done.
fn back_to_reports(query: &[(&str, &str)]) -> Response {
    let q = serde_urlencoded::to_string(query).unwrap_or_default();
    Redirect::to(&format!("/admin/reports?{q}")).into_response()
}

/// The month a report is usually generated for: the one before this one,
/// in Vietnam's time.
fn last_month() -> String {
    let now = Utc::now() + chrono::Duration::hours(7);
    Period::new(now.year() as u16, now.month() as u8)
        .and_then(|p| p.add_months(-1))
        .map(|p| p.to_string())
        .unwrap_or_default()
}

fn delivery_row(d: Delivery) -> view::DeliveryRow {
    let last = d.attempts.last();
    view::DeliveryRow {
        state: match d.state {
            delivery::State::Pending => view::DeliveryState::Pending,
            delivery::State::Sending => view::DeliveryState::Sending,
            delivery::State::Delivered => view::DeliveryState::Delivered,
            delivery::State::Failed => view::DeliveryState::Failed,
        },
        channel: match d.kind {
            delivery::Kind::Webhook => view::Channel::Webhook,
            delivery::Kind::Email => view::Channel::Email,
        },
        attempts: d.attempts.len(),
        last_attempt_at: last.map(|a| a.started_at.clone()),
        last_status: last.and_then(|a| a.status),
        last_error: last.and_then(|a| a.detail.clone()),
        id: d.id,
        recipient: d.recipient,
        month: d.report.month,
        language: d.report.language,
        dataset_version: d.report.dataset_version,
        next_attempt_at: d.next_attempt_at,
        delivered_at: d.delivered_at,
        addresses: d
            .addresses
            .into_iter()
            .map(|a| view::AddressRow {
                state: match a.state {
                    delivery::AddressState::Pending => view::DeliveryState::Pending,
                    delivery::AddressState::Delivered => view::DeliveryState::Delivered,
                    delivery::AddressState::Failed => view::DeliveryState::Failed,
                },
                address: a.address,
                code: a.code,
                message: a.message,
            })
            .collect(),
    }
}

/// The reports page's data: the archive, the current version, the outbox
/// (newest first).
async fn reports_view(app: &Arc<App>) -> Result<ReportsView, ApiError> {
    let (reports, dataset_version) = {
        let app = app.clone();
        blocking(move || Ok((crate::report::list(&archive(&app)), app.dataset_version()?))).await?
    };
    let mut deliveries = admin::outbox(app.clone(), |o| o.list()).await?;
    deliveries.reverse();
    Ok(ReportsView {
        reports: reports
            .into_iter()
            .map(|r| view::ReportRow {
                month: r.month,
                language: r.language,
                dataset_version: r.dataset_version,
                committed_at: r.dataset_committed_at,
                files: r
                    .files
                    .into_iter()
                    .map(|f| view::ReportFile {
                        name: f.name,
                        href: f.href,
                        bytes: f.bytes,
                    })
                    .collect(),
            })
            .collect(),
        deliveries: deliveries.into_iter().map(delivery_row).collect(),
        dataset_version,
        month: last_month(),
        language: Lang::Vi,
        notice: None,
        problem: None,
    })
}

fn reports_html(ctx: &PageContext, v: &ReportsView) -> String {
    let title = labels::of(ctx.lang).admin.reports_title;
    view::reports(&ctx.frame(title, Section::Reports), v)
}

/// `GET /admin/reports[?done=generated|kept&month=YYYY-MM | ?done=retried&delivery=ID]`
pub(super) async fn reports_page(State(app): State<Arc<App>>, ctx: PageContext) -> Result<Response, ApiError> {
    let mut v = reports_view(&app).await?;
    let month = ctx.param("month").and_then(Period::parse);
    v.notice = match ctx.param("done") {
        Some("generated") => month.map(ReportsNotice::Generated),
        Some("kept") => month.map(ReportsNotice::Kept),
        Some("retried") => ctx.param("delivery").and_then(|id| {
            v.deliveries
                .iter()
                .find(|d| d.id == id)
                .map(|d| ReportsNotice::Retried {
                    recipient: d.recipient.clone(),
                    month: d.month.clone(),
                })
        }),
        _ => None,
    };
    Ok(page::html(reports_html(&ctx, &v)))
}

/// `POST /admin/reports` (form: csrf, month `YYYY-MM`, report_lang
/// `vi|en`): the month's report generated from the current version as
/// `POST /api/v1/reports/{month}` does, then back to the page (303); the
/// page with the reason when it cannot be.
pub(super) async fn generate(
    State(app): State<Arc<App>>,
    ctx: PageContext,
    body: String,
) -> Result<Response, ApiError> {
    let form = Form::parse(&body);
    ctx.check_csrf(form.get("csrf"))?;
    let language = form.get("report_lang").and_then(Lang::parse).unwrap_or(Lang::Vi);
    let month = form.get("month").unwrap_or("").trim();
    let refused = |v: &mut ReportsView, problem| {
        v.problem = Some(problem);
        v.month = month.to_string();
        v.language = language;
    };
    let Some(period) = Period::parse(month) else {
        let mut v = reports_view(&app).await?;
        refused(&mut v, ReportsProblem::Month);
        return Ok(with_status(StatusCode::BAD_REQUEST, reports_html(&ctx, &v)));
    };
    match admin::generate(&app, period, language).await {
        Ok(g) => {
            let done = if g.generated { "generated" } else { "kept" };
            Ok(back_to_reports(&[("done", done), ("month", &period.to_string())]))
        }
        Err(e) if e.status.is_client_error() => {
            let mut v = reports_view(&app).await?;
            refused(&mut v, ReportsProblem::Generate(e.code));
            Ok(with_status(e.status, reports_html(&ctx, &v)))
        }
        Err(e) => Err(e),
    }
}

/// `POST /admin/deliveries/{id}/retry` (form: csrf): a failed delivery
/// queued again — due now, its attempts and idempotency key kept — then
/// back to the page (303); the page with the reason when it is unknown
/// (404) or not failed (409).
pub(super) async fn retry_delivery(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    ctx: PageContext,
    body: String,
) -> Result<Response, ApiError> {
    ctx.check_csrf(Form::parse(&body).get("csrf"))?;
    let outcome = {
        let id = id.clone();
        // Due now by the clock the worker reads (a rehearsal's too).
        let now = app.clock().now();
        admin::outbox(app.clone(), move |o| o.retry(&id, now)).await
    };
    match outcome {
        Ok(d) => Ok(back_to_reports(&[("done", "retried"), ("delivery", &d.id)])),
        Err(e) if e.status.is_client_error() => {
            let problem = if e.code == "delivery_not_failed" {
                ReportsProblem::NotFailed
            } else {
                ReportsProblem::UnknownDelivery
            };
            let mut v = reports_view(&app).await?;
            v.problem = Some(problem);
            Ok(with_status(e.status, reports_html(&ctx, &v)))
        }
        Err(e) => Err(e),
    }
}

/// Runs `f` on the gate's token store off the async workers; an unknown
/// token is 404, a store that cannot be read or written a logged 500.
async fn with_tokens<T: Send + 'static>(
    guard: &Arc<Guard>,
    f: impl FnOnce(&tokens::TokenStore) -> Result<T, AuthError> + Send + 'static,
) -> Result<T, ApiError> {
    let guard = guard.clone();
    tokio::task::spawn_blocking(move || f(&guard.tokens))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "token task failed");
            ApiError::internal()
        })?
        .map_err(|e| match e {
            AuthError::UnknownToken(_) => ApiError::new(StatusCode::NOT_FOUND, e.code(), e.to_string()),
            AuthError::Invalid(_) => ApiError::bad_request(e.code(), e.to_string()),
            e => {
                tracing::error!(code = e.code(), error = %e, "the token store failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; the details are in the server log",
                )
            }
        })
}

fn token_row(r: TokenRecord, today: chrono::NaiveDate, current: Option<&str>) -> view::TokenRow {
    view::TokenRow {
        state: match r.state_on(today) {
            tokens::TokenState::Active => view::TokenState::Active,
            tokens::TokenState::Expired => view::TokenState::Expired,
            tokens::TokenState::Revoked => view::TokenState::Revoked,
        },
        current: current == Some(r.id.as_str()),
        id: r.id,
        name: r.name,
        role: r.role,
        created_at: r.created_at,
        expires: r.expires,
        last_used_at: r.last_used_at,
        revoked_at: r.revoked_at,
    }
}

/// The tokens page's data: every token (never a token itself or its hash).
async fn tokens_view(guard: &Arc<Guard>, caller: Option<&Identity>) -> Result<TokensView, ApiError> {
    let list = with_tokens(guard, |store| store.list()).await?;
    let today = Utc::now().date_naive();
    let current = caller.and_then(|i| i.token_id.as_deref());
    Ok(TokensView {
        tokens: list.into_iter().map(|r| token_row(r, today, current)).collect(),
        created: None,
        revoked: None,
        problem: None,
        form: TokenForm::default(),
        max_name_chars: tokens::MAX_NAME_CHARS,
        last_use_every_min: tokens::LAST_USE_EVERY_S / 60,
    })
}

fn tokens_html(ctx: &PageContext, v: &TokensView) -> String {
    let title = labels::of(ctx.lang).admin.tokens_title;
    view::tokens(&ctx.frame(title, Section::Tokens), v)
}

/// `GET /admin/tokens[?done=revoked&token=ID]`
pub(super) async fn tokens_page(
    Extension(guard): Extension<Arc<Guard>>,
    caller: Option<Extension<Identity>>,
    ctx: PageContext,
) -> Result<Response, ApiError> {
    let mut v = tokens_view(&guard, caller.as_deref()).await?;
    if ctx.param("done") == Some("revoked") {
        v.revoked = ctx.param("token").and_then(|id| {
            v.tokens
                .iter()
                .find(|t| t.id == id && t.state == view::TokenState::Revoked)
                .map(|t| (t.id.clone(), t.name.clone()))
        });
    }
    Ok(page::html(tokens_html(&ctx, &v)))
}

/// `POST /admin/tokens` (form: csrf, role, name, expires `YYYY-MM-DD` or
/// empty): a new token, shown once in the page this answers with (201,
/// not stored by any cache); the page with the reason and the form as
/// filled when refused (400).
pub(super) async fn create_token(
    State(app): State<Arc<App>>,
    Extension(guard): Extension<Arc<Guard>>,
    caller: Option<Extension<Identity>>,
    ctx: PageContext,
    body: String,
) -> Result<Response, ApiError> {
    let form = Form::parse(&body);
    ctx.check_csrf(form.get("csrf"))?;
    let caller = caller.map(|Extension(i)| i);
    let role = form.get("role").and_then(Role::parse);
    let name = form.get("name").unwrap_or("").trim().to_string();
    let expires_text = form.get("expires").unwrap_or("").trim().to_string();
    let now = Utc::now();
    let expires = if expires_text.is_empty() {
        Ok(None)
    } else {
        chrono::NaiveDate::parse_from_str(&expires_text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| TokensProblem::Expiry)
    };
    let checked = match (role, expires) {
        (None, _) => Err(TokensProblem::Role),
        (_, Err(p)) => Err(p),
        (Some(role), Ok(expires)) => tokens::check_request(&name, expires, now)
            .map(|()| (role, expires))
            .map_err(|p| match p {
                RequestProblem::Name => TokensProblem::Name,
                RequestProblem::ExpiryPast => TokensProblem::ExpiryPast,
            }),
    };
    let (role, expires) = match checked {
        Ok(ok) => ok,
        Err(problem) => {
            let mut v = tokens_view(&guard, caller.as_ref()).await?;
            v.problem = Some(problem);
            v.form = TokenForm {
                role,
                name,
                expires: expires_text,
            };
            return Ok(with_status(StatusCode::BAD_REQUEST, tokens_html(&ctx, &v)));
        }
    };
    let (record, token) = {
        let name = name.clone();
        with_tokens(&guard, move |store| store.create(role, &name, expires, now)).await?
    };
    audit_creation(&app, caller.as_ref(), &record).await;
    let mut v = tokens_view(&guard, caller.as_ref()).await?;
    v.created = Some(view::NewToken {
        id: record.id,
        name: record.name,
        token,
    });
    let mut response = with_status(StatusCode::CREATED, tokens_html(&ctx, &v));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The audit trail's record of a token created on the page: who created
/// which (its id, role, name and last day; never the token). The request
/// itself is audited by the gate; this names the token it made, as
/// `ecomshare token create` does.
async fn audit_creation(app: &Arc<App>, caller: Option<&Identity>, record: &TokenRecord) {
    let event = Event {
        time: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        token_id: caller.and_then(|i| i.token_id.clone()),
        role: caller.map(|i| i.role.as_str().to_string()),
        action: "page token create".into(),
        params: serde_json::json!({"id": record.id, "role": record.role.as_str(), "name": record.name, "expires": record.expires}),
        dataset_version: None,
        outcome: "done".into(),
        status: Some(StatusCode::CREATED.as_u16()),
        address: None,
    };
    let data = app.data_dir().to_path_buf();
    match tokio::task::spawn_blocking(move || AuditLog::new(&data).append(&[event])).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(code = e.code(), error = %e, "writing the audit trail failed"),
        Err(e) => tracing::error!(error = %e, "the audit task failed"),
    }
}

/// `POST /admin/tokens/{id}/revoke` (form: csrf): the token revoked (its
/// sessions end with it), then back to the page (303); the page with the
/// reason for an unknown token (404).
pub(super) async fn revoke_token(
    Extension(guard): Extension<Arc<Guard>>,
    caller: Option<Extension<Identity>>,
    Path(id): Path<String>,
    ctx: PageContext,
    body: String,
) -> Result<Response, ApiError> {
    ctx.check_csrf(Form::parse(&body).get("csrf"))?;
    let outcome = {
        let id = id.clone();
        with_tokens(&guard, move |store| store.revoke(&id, Utc::now())).await
    };
    match outcome {
        Ok(record) => {
            let q =
                serde_urlencoded::to_string([("done", "revoked"), ("token", record.id.as_str())]).unwrap_or_default();
            Ok(Redirect::to(&format!("/admin/tokens?{q}")).into_response())
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            let mut v = tokens_view(&guard, caller.as_deref()).await?;
            v.problem = Some(TokensProblem::UnknownToken);
            Ok(with_status(StatusCode::NOT_FOUND, tokens_html(&ctx, &v)))
        }
        Err(e) => Err(e),
    }
}

/// `GET /assets/copy.js`: the copy button's script.
pub(super) async fn copy_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        view::COPY_SCRIPT,
    )
        .into_response()
}
