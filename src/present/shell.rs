//! The frame every page shares: the document head with the one style
//! sheet, a link to skip to the content, the header with the pages the
//! signed-in role may open, the language switch and signing out, then the
//! page's own content in `<main>`.
//!
//! Takes plain data (the role, the anti-forgery token, the links) and gives
//! HTML; knows nothing of HTTP, sessions or how a role was proven. Loads
//! nothing from elsewhere: no script, font or style sheet from another site.

use super::labels::{self, Lang, Nav};
use super::pages::esc;
use crate::domain::{Access, Role};
use std::fmt::Write;

/// The places in the header's navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Dashboard,
    Queries,
    Upload,
    History,
    Reports,
    Tokens,
    /// A page that is none of them (sign-in, an error).
    Other,
}

impl Section {
    /// The header's entries in order: where each leads and what it asks for.
    const ALL: [(Section, &'static str, Access); 6] = [
        (Section::Dashboard, "/", Access::Dashboard),
        (Section::Queries, "/queries", Access::Analysis),
        (Section::Upload, "/filings/upload", Access::Filing),
        (Section::History, "/filings/history", Access::Filing),
        (Section::Reports, "/admin/reports", Access::Admin),
        (Section::Tokens, "/admin/tokens", Access::Admin),
    ];

    fn label(self, t: &Nav) -> &'static str {
        match self {
            Section::Dashboard => t.dashboard,
            Section::Queries => t.queries,
            Section::Upload => t.upload,
            Section::History => t.history,
            Section::Reports => t.reports,
            Section::Tokens => t.tokens,
            Section::Other => "",
        }
    }

    /// The first page a role may open: where signing in lands by default.
    pub fn home(role: Role) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, _, access)| role.may(*access))
            .map_or("/", |(_, href, _)| href)
    }
}

/// Who looks at the page and how they may leave it.
pub struct Frame<'a> {
    pub lang: Lang,
    /// The document's title (the page's `<h1>` is the page's own).
    pub title: &'a str,
    /// Where this page is in the navigation.
    pub section: Section,
    /// The role of the reader; `None`: not signed in (a public dashboard).
    pub role: Option<Role>,
    /// Whether the reader holds a session it can end (not in open local
    /// mode, not with a bearer token).
    pub signed_in: bool,
    /// The anti-forgery token of the reader's forms.
    pub csrf: &'a str,
    /// This page in the other language.
    pub other_lang_href: &'a str,
    /// Where signing in returns to (this page).
    pub here: &'a str,
}

/// The hidden form field that carries the anti-forgery token.
pub fn csrf_field(csrf: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(csrf))
}

/// A whole page: the frame around `body` (the page's content, from its
/// `<h1>` on). `head_extra` goes at the end of `<head>` (a page's own
/// script, served by this service).
pub fn page(frame: &Frame<'_>, body: &str, head_extra: &str) -> String {
    let t = &labels::of(frame.lang).nav;
    let mut out = String::with_capacity(body.len() + 8 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} — {}</title><style>{}</style>{head_extra}</head><body>",
        frame.lang.code(),
        esc(frame.title),
        esc(t.site),
        STYLE
    );
    let _ = write!(
        out,
        "<a class=\"skip\" href=\"#main\">{}</a><header class=\"site\"><p class=\"brand\"><a href=\"/\">{}</a></p><nav aria-label=\"{}\"><ul>",
        esc(t.skip),
        esc(t.site),
        esc(t.nav_label)
    );
    for (section, href, access) in Section::ALL {
        // Signed out, only the dashboard can be open (when it is public).
        let may = match frame.role {
            Some(role) => role.may(access),
            None => section == Section::Dashboard,
        };
        if !may {
            continue;
        }
        let current = if section == frame.section {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<li><a href=\"{href}\"{current}>{}</a></li>",
            esc(section.label(t))
        );
    }
    out.push_str("</ul></nav><div class=\"account\">");
    let other = frame.lang.other();
    let _ = write!(
        out,
        "<a href=\"{}\" hreflang=\"{}\" lang=\"{}\">{}</a>",
        esc(frame.other_lang_href),
        other.code(),
        other.code(),
        esc(labels::of(other).nav.language_name)
    );
    match frame.role {
        Some(role) => {
            let _ = write!(
                out,
                "<span class=\"role\">{}</span>",
                esc(&labels::fill(t.signed_in_as, &[("role", role_label(role, frame.lang))]))
            );
            if frame.signed_in {
                let _ = write!(
                    out,
                    "<form class=\"signout\" method=\"post\" action=\"/signout\">{}<button type=\"submit\">{}</button></form>",
                    csrf_field(frame.csrf),
                    esc(t.signout)
                );
            } else {
                let _ = write!(out, "<span class=\"role\">{}</span>", esc(t.open_mode));
            }
        }
        None => {
            let href = format!(
                "/signin?{}",
                serde_urlencoded::to_string([("next", frame.here)]).unwrap_or_default()
            );
            let _ = write!(out, "<a href=\"{}\">{}</a>", esc(&href), esc(t.signin));
        }
    }
    let _ = write!(out, "</div></header><main id=\"main\">{body}</main></body></html>");
    out
}

/// A role's name in the reader's language.
pub fn role_label(role: Role, lang: Lang) -> &'static str {
    let t = &labels::of(lang).nav;
    match role {
        Role::Viewer => t.role_viewer,
        Role::Analyst => t.role_analyst,
        Role::Filer => t.role_filer,
        Role::Admin => t.role_admin,
    }
}

/// The page a signed-in role is refused: what happened, and the pages it
/// may open in the header.
pub fn forbidden(frame: &Frame<'_>) -> String {
    let t = &labels::of(frame.lang).nav;
    let role = frame.role.map_or("", |r| role_label(r, frame.lang));
    let body = format!(
        "<h1>{}</h1><p>{}</p>",
        esc(t.forbidden_title),
        esc(&labels::fill(t.forbidden_text, &[("role", role)]))
    );
    page(frame, &body, "")
}

/// The page saying a request was refused or failed: what happened in the
/// reader's language where the code is one the catalogue explains, else
/// the service's own message; the stable code, for whoever helps.
pub fn error(frame: &Frame<'_>, code: &str, message: &str) -> String {
    let t = &labels::of(frame.lang).nav;
    let explained = match code {
        "csrf_failed" => Some(t.error_csrf_failed),
        "not_found" => Some(t.error_not_found),
        "internal" => Some(t.error_internal),
        _ => None,
    };
    let said = explained.unwrap_or(message);
    let body = format!(
        "<h1>{}</h1><p role=\"alert\" class=\"alert\">{}</p><p>{} <code id=\"error-code\">{}</code></p><p><a href=\"/\">{}</a></p>",
        esc(t.error_title),
        esc(said),
        esc(t.error_code),
        esc(code),
        esc(t.error_home)
    );
    page(frame, &body, "")
}

/// The one style sheet: readable type, visible focus, print without chrome.
pub const STYLE: &str = "body{font-family:system-ui,'Segoe UI',Roboto,'Noto Sans',Arial,sans-serif;margin:0 auto;max-width:1200px;padding:0 1rem 1rem;color:#1a1a1a;line-height:1.4}\
a{color:#0b57a4}a:focus-visible,button:focus-visible,input:focus-within,select:focus-visible,summary:focus-visible{outline:3px solid #0b57a4;outline-offset:2px}\
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.4rem}.skip:focus{left:.5rem}\
header.site{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1.2rem;border-bottom:2px solid #0b57a4;padding:.5rem 0;margin-bottom:.8rem}\
header.site .brand{margin:0;font-weight:700}header.site .brand a{text-decoration:none}\
header.site nav ul{display:flex;flex-wrap:wrap;gap:.2rem 1rem;list-style:none;margin:0;padding:0}\
header.site nav a[aria-current]{font-weight:700;text-decoration:underline 3px}\
header.site .account{margin-left:auto;display:flex;gap:.8rem;align-items:center;font-size:.9rem}\
header.site form{margin:0}button{font:inherit;padding:.3rem .9rem;cursor:pointer;white-space:nowrap}\
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}\
h1{font-size:1.35rem;margin:.2rem 0}h2{font-size:1.15rem}main>p.sub{margin:.2rem 0 1rem;color:#444}\
.filters fieldset,form.params fieldset{display:flex;flex-wrap:wrap;gap:.8rem;align-items:end;border:1px solid #ccc}\
.filters label,form.params label{display:flex;flex-direction:column;font-size:.85rem}\
input,select{font:inherit}\
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:.8rem;margin:1rem 0}\
.tile{border:1px solid #ccc;border-left:6px solid #0072B2;padding:.6rem}.tile.met{border-left-color:#009E73}.tile.below{border-left-color:#D55E00}.tile.risk{border-left-color:#E69F00}\
.tile .label{font-size:.8rem;color:#444}.tile .value{font-size:1.6rem;font-weight:600;margin:.2rem 0}.tile .note{font-size:.8rem;color:#444}\
.mark{display:inline-block;font-size:.75rem;font-weight:600;border:1px dashed #555;border-radius:3px;padding:0 .3rem;margin-left:.4rem;vertical-align:middle;color:#333}\
.charts figure{margin:1rem 0}.charts img{max-width:100%;height:auto;border:1px solid #eee}\
table{border-collapse:collapse;width:100%;margin:1rem 0;font-size:.85rem}caption{text-align:left;font-weight:600;padding:.3rem 0}\
th,td{border-bottom:1px solid #ddd;padding:.25rem .4rem;text-align:left}th.n,td.n{text-align:right;font-variant-numeric:tabular-nums}\
tr.met td:last-child{color:#00734f}tr.below td:last-child{color:#a84300}\
table.heat{font-size:.75rem}table.heat td{padding:.15rem .25rem}\
footer{margin-top:1rem;font-size:.8rem;color:#555}p.note{font-size:.85rem;color:#444}span.code{color:#595959;font-size:.8em}\
.alert{border:1px solid #a00;background:#fff4f4;padding:.5rem .8rem}.ok{border:1px solid #00734f;background:#f2fbf7;padding:.5rem .8rem}\
@media print{header.site,.filters,.skip{display:none}.charts img{break-inside:avoid}a{color:inherit;text-decoration:none}}";

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(role: Option<Role>, signed_in: bool) -> Frame<'static> {
        Frame {
            lang: Lang::Vi,
            title: "Trang",
            section: Section::Dashboard,
            role,
            signed_in,
            csrf: "c0ffee",
            other_lang_href: "/?lang=en",
            here: "/",
        }
    }

    fn links(html: &str) -> Vec<&str> {
        let nav = &html[html.find("<nav").unwrap()..html.find("</nav>").unwrap()];
        nav.split("<a href=\"")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
            .collect()
    }

    #[test]
    fn each_role_sees_the_pages_it_may_open() {
        let cases = [
            (Role::Viewer, vec!["/"]),
            (Role::Analyst, vec!["/", "/queries"]),
            (Role::Filer, vec!["/filings/upload", "/filings/history"]),
            (
                Role::Admin,
                vec![
                    "/",
                    "/queries",
                    "/filings/upload",
                    "/filings/history",
                    "/admin/reports",
                    "/admin/tokens",
                ],
            ),
        ];
        for (role, want) in cases {
            assert_eq!(links(&page(&frame(Some(role), true), "", "")), want, "{role:?}");
        }
        assert_eq!(links(&page(&frame(None, false), "", "")), vec!["/"]);
    }

    #[test]
    fn signing_out_is_a_form_with_the_anti_forgery_token() {
        let html = page(&frame(Some(Role::Viewer), true), "<h1>x</h1>", "");
        assert!(html.contains("action=\"/signout\""));
        assert!(html.contains("name=\"csrf\" value=\"c0ffee\""));
        assert!(html.contains("aria-current=\"page\""));
        // Open local mode has no session to end; a signed-out reader is offered to sign in.
        assert!(!page(&frame(Some(Role::Admin), false), "", "").contains("/signout"));
        assert!(page(&frame(None, false), "", "").contains("/signin?next=%2F"));
    }

    #[test]
    fn a_role_lands_on_its_first_page() {
        assert_eq!(Section::home(Role::Viewer), "/");
        assert_eq!(Section::home(Role::Filer), "/filings/upload");
        assert_eq!(Section::home(Role::Admin), "/");
    }
}
