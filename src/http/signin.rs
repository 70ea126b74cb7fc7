//! Signing in from a browser: a form that takes a token and answers with a
//! session cookie (HttpOnly, SameSite=Strict, Secure unless configured
//! off), and signing out. The token itself is never put in the cookie,
//! logged or echoed back.

use super::gate::{COOKIE, Guard};
use super::{ApiError, page_lang};
use crate::present::locale::Lang;
use crate::present::pages;
use axum::extract::{Extension, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::sync::Arc;

/// Only a path on this site, never another site (`//host`, `https://…`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

/// `GET /signin[?next=/path][&lang=]`
pub async fn form(headers: HeaderMap, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?;
    let lang = page_lang(&headers, &mut pairs)?;
    let next = safe_next(pairs.iter().find(|(k, _)| k == "next").map(|(_, v)| v.as_str()));
    Ok(Html(pages::signin(lang, &next, false)).into_response())
}

/// `POST /signin` (form: token, next, lang): a session cookie and a redirect
/// to `next`, or the form again with 401.
pub async fn submit(Extension(guard): Extension<Arc<Guard>>, headers: HeaderMap, body: String) -> Response {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let field = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut lang_pairs: Vec<(String, String)> = field("lang")
        .map(|l| vec![("lang".to_string(), l.to_string())])
        .unwrap_or_default();
    let lang = page_lang(&headers, &mut lang_pairs).unwrap_or(Lang::Vi);
    let next = safe_next(field("next"));
    let identity = field("token").and_then(|t| guard.tokens.verify(t.trim(), chrono::Utc::now()));
    let Some(token_id) = identity.and_then(|i| i.token_id) else {
        return (StatusCode::UNAUTHORIZED, Html(pages::signin(lang, &next, true))).into_response();
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

/// `POST /signout`: the session cookie cleared.
pub async fn signout(Extension(guard): Extension<Arc<Guard>>) -> Response {
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
