//! Signing in from a browser: a form that takes a token and answers with a
//! session cookie (HttpOnly, SameSite=Strict, Secure unless configured
//! off), and signing out. The token itself is never put in the cookie,
//! logged or echoed back.

use super::gate::{COOKIE, Guard};
use super::page::{self, PageContext};
use super::{ApiError, page_lang};
use crate::present::locale::Lang;
use crate::present::shell::Section;
use crate::present::{labels, pages};
use axum::extract::Extension;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// Only a path on this site, never another site (`//host`, `https://…`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

/// `GET /signin[?next=/path][&lang=]`
pub async fn form(ctx: PageContext) -> Result<Response, ApiError> {
    let next = safe_next(ctx.param("next"));
    Ok(signin_page(&ctx, &next, false))
}

fn signin_page(ctx: &PageContext, next: &str, failed: bool) -> Response {
    // Whoever signs in here is not signed in yet, whatever the mode.
    let frame = crate::present::shell::Frame {
        role: None,
        ..ctx.frame(labels::of(ctx.lang).signin.submit, Section::Other)
    };
    page::html(pages::signin(&frame, next, failed))
}

/// `POST /signin` (form: token, next, lang): a session cookie and a redirect
/// to `next`, or the form again with 401.
pub async fn submit(
    Extension(guard): Extension<Arc<Guard>>,
    ctx: PageContext,
    headers: HeaderMap,
    body: String,
) -> Response {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let field = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut lang_pairs: Vec<(String, String)> = field("lang")
        .map(|l| vec![("lang".to_string(), l.to_string())])
        .unwrap_or_default();
    let lang = page_lang(&headers, &mut lang_pairs).unwrap_or(Lang::Vi);
    let next = safe_next(field("next"));
    let identity = field("token").and_then(|t| guard.tokens.verify(t.trim(), chrono::Utc::now()));
    let Some((token_id, role)) = identity.and_then(|i| Some((i.token_id?, i.role))) else {
        let ctx = ctx.in_lang(lang);
        let mut response = signin_page(&ctx, &next, true);
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return response;
    };
    // Nothing asked for: the first page the role may open.
    let next = if field("next").is_none() || next == "/" {
        crate::present::shell::Section::home(role).to_string()
    } else {
        next
    };
    let value = guard.sessions.issue(&token_id, chrono::Utc::now());
    let secure = if guard.options.cookie_secure { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        crate::access::tokens::SESSION_HOURS * 3600
    );
    let mut response = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// `POST /signout` (form: csrf): the session cookie cleared; 403
/// `csrf_failed` without the session's anti-forgery token.
pub async fn signout(Extension(guard): Extension<Arc<Guard>>, ctx: PageContext, body: String) -> Response {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let presented = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    if let Err(e) = ctx.check_csrf(presented) {
        return e.into_response();
    }
    let secure = if guard.options.cookie_secure { "; Secure" } else { "" };
    let mut response = Redirect::to("/signin").into_response();
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/districts/380?lang=en")), "/districts/380?lang=en");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "evil"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
