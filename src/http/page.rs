//! What every page handler needs of a request, read once: the reader's
//! language (`?lang=`, else the language it chose before, kept in a
//! cookie, else `Accept-Language`), role, and browser (its anti-forgery
//! token and session); the shared frame drawn from them; the answer a page
//! goes out as; and the page a refused role gets.

use super::ApiError;
use super::gate::{Browser, cookie_in};
use crate::access::tokens::Identity;
use crate::domain::Role;
use crate::present::locale::Lang;
use crate::present::shell::{self, Frame, Section};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The cookie that keeps the language a reader chose with `?lang=`.
pub const LANG_COOKIE: &str = "ecomshare_lang";

/// A page request as its handler sees it.
pub struct PageContext {
    pub lang: Lang,
    /// `None`: not signed in (a public dashboard, the sign-in page).
    pub role: Option<Role>,
    pub browser: Option<Browser>,
    /// The query's pairs but `lang`.
    pub pairs: Vec<(String, String)>,
    path: String,
    here: String,
    other_lang_href: String,
}

impl PageContext {
    fn of(
        uri: &Uri,
        headers: &HeaderMap,
        identity: Option<&Identity>,
        browser: Option<Browser>,
    ) -> Result<Self, ApiError> {
        let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
            .map_err(|e| ApiError::bad_request("invalid_query", format!("the query string cannot be parsed: {e}")))?;
        let lang = page_lang(headers, &mut pairs)?;
        let path = uri.path();
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        let here = if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        };
        Ok(Self {
            lang,
            role: identity.map(|i| i.role),
            browser,
            pairs,
            path: path.to_string(),
            here,
            other_lang_href: String::new(),
        }
        .in_lang(lang))
    }

    /// The page in `lang` (a form's own language field wins over the request's).
    pub fn in_lang(mut self, lang: Lang) -> Self {
        let mut other = self.pairs.clone();
        other.push(("lang".into(), lang.other().code().into()));
        self.other_lang_href = format!(
            "{}?{}",
            self.path,
            serde_urlencoded::to_string(&other).unwrap_or_default()
        );
        self.lang = lang;
        self
    }

    /// The frame of this page, titled `title`, at `section` of the header.
    pub fn frame<'a>(&'a self, title: &'a str, section: Section) -> Frame<'a> {
        Frame {
            lang: self.lang,
            title,
            section,
            role: self.role,
            signed_in: self.browser.as_ref().is_some_and(|b| b.signed_in),
            csrf: self.browser.as_ref().map_or("", |b| b.csrf.as_str()),
            other_lang_href: &self.other_lang_href,
            here: &self.here,
        }
    }

    /// The first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether a form's `csrf` field is this browser's anti-forgery token.
    pub fn check_csrf(&self, presented: Option<&str>) -> Result<(), ApiError> {
        if self.browser.as_ref().is_some_and(|b| b.accepts(presented)) {
            Ok(())
        } else {
            Err(super::gate::csrf_failed())
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Self::of(
            &parts.uri,
            &parts.headers,
            parts.extensions.get::<Identity>(),
            parts.extensions.get::<Browser>().cloned(),
        )
    }
}

/// A page as an answer: HTML, never stored by a shared cache (it holds the
/// reader's anti-forgery token), varying with the language and the reader.
pub fn html(body: String) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language, Cookie"));
    response
}

/// The page a role gets for a page it may not open (answered 403).
pub fn forbidden_page(req: &Request, role: Role, browser: Option<&Browser>) -> Response {
    let identity = Identity { token_id: None, role };
    match PageContext::of(req.uri(), req.headers(), Some(&identity), browser.cloned()) {
        Ok(ctx) => {
            let title = crate::present::labels::of(ctx.lang).nav.forbidden_title;
            html(shell::forbidden(&ctx.frame(title, Section::Other)))
        }
        Err(e) => e.into_response(),
    }
}

/// A refusal or failure of a page or a page's form, said as a page to a
/// browser (it asks for `text/html`): the frame, what went wrong in the
/// reader's language where the code is known, and the code. API clients and
/// the API's routes keep the JSON error shape.
pub async fn error_pages(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let browser_page = !["/api/", "/charts/", "/tables/", "/assets/"]
        .iter()
        .any(|p| path.starts_with(p))
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    if !browser_page {
        return next.run(req).await;
    }
    let (uri, headers) = (req.uri().clone(), req.headers().clone());
    let identity = req.extensions().get::<Identity>().cloned();
    let browser = req.extensions().get::<Browser>().cloned();
    let response = next.run(req).await;
    let Some(said) = response.extensions().get::<super::error::Said>().cloned() else {
        return response;
    };
    let status = response.status();
    // A page whose own query string is refused still gets a page (its path alone).
    let bare = Uri::try_from(uri.path()).unwrap_or_default();
    let ctx = PageContext::of(&uri, &headers, identity.as_ref(), browser.clone())
        .or_else(|_| PageContext::of(&bare, &headers, identity.as_ref(), browser));
    let Ok(ctx) = ctx else {
        return response;
    };
    let t = &crate::present::labels::of(ctx.lang).nav;
    let html = shell::error(&ctx.frame(t.error_title, Section::Other), said.code, &said.message);
    let mut page = self::html(html);
    *page.status_mut() = status;
    for name in [header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(v) = response.headers().get(&name) {
            page.headers_mut().insert(name, v.clone());
        }
    }
    page
}

/// Keeps the language a reader chose (`?lang=` on a page) for the pages
/// it opens next.
pub async fn remember_lang(req: Request, next: Next) -> Response {
    let chosen = req
        .uri()
        .query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "lang"))
        .and_then(|(_, v)| Lang::parse(&v));
    let kept = cookie_in(req.headers(), LANG_COOKIE);
    let mut response = next.run(req).await;
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if let Some(lang) = chosen.filter(|l| is_page && kept.as_deref() != Some(l.code())) {
        let cookie = format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", lang.code());
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// The language of a page: `?lang=` first (taken out of `pairs`), then
/// the language cookie, then `Accept-Language`, else Vietnamese.
pub fn page_lang(headers: &HeaderMap, pairs: &mut Vec<(String, String)>) -> Result<Lang, ApiError> {
    if let Some(i) = pairs.iter().position(|(k, _)| k == "lang") {
        let (_, v) = pairs.remove(i);
        return Lang::parse(&v).ok_or_else(|| ApiError::bad_request("invalid_lang", "lang must be vi or en"));
    }
    if let Some(lang) = cookie_in(headers, LANG_COOKIE).and_then(|v| Lang::parse(&v)) {
        return Ok(lang);
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut best = (0.0f32, Lang::Vi);
    for part in accept.split(',') {
        let mut it = part.split(';');
        let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .find_map(|p| p.trim().strip_prefix("q=")?.parse::<f32>().ok())
            .unwrap_or(1.0);
        let lang = if tag.starts_with("vi") {
            Lang::Vi
        } else if tag.starts_with("en") {
            Lang::En
        } else {
            continue;
        };
        if q > best.0 {
            best = (q, lang);
        }
    }
    Ok(best.1)
}
