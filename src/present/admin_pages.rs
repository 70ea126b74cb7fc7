//! The administrators' pages: the archive of monthly reports with links to
//! their files, the form that generates a month's report, each delivery
//! with its state, attempts and (when it failed) a button to send it again;
//! the access tokens with their state, the form that creates one (the new
//! token shown once, in a read-only field with a copy button) and a button
//! to revoke each active one.
//!
//! Plain data in, HTML out: knows nothing of HTTP, the archive, the outbox
//! or the token store — `http::admin_pages` turns their records into the
//! rows here. Every text comes from the label catalogue; every value taken
//! from a record or a form is escaped. Times are shown in Vietnam's time
//! (UTC+7, no daylight saving).

use super::labels::{self, Admin, Lang};
use super::locale;
use super::pages::esc;
use super::shell::{self, Frame, csrf_field, role_label};
use crate::domain::{Period, Role};
use std::fmt::Write;

/// The path of the copy button's script, served by this service.
pub const COPY_SCRIPT_PATH: &str = "/assets/copy.js";

/// The copy button's script: shows the buttons marked `data-copy` (hidden
/// without JavaScript, where the read-only field is enough) and copies
/// their field's value, saying so in a live region.
pub const COPY_SCRIPT: &str = include_str!("assets/copy.js");

fn texts(lang: Lang) -> &'static Admin {
    &labels::of(lang).admin
}

/// One file of an archived report.
pub struct ReportFile {
    /// `report.pdf`, `report.xlsx`, `report.html` or `report.json`.
    pub name: String,
    pub href: String,
    pub bytes: u64,
}

/// A month's report in the archive.
pub struct ReportRow {
    pub month: String,
    /// `vi` or `en`.
    pub language: String,
    pub dataset_version: u64,
    /// RFC 3339.
    pub committed_at: String,
    pub files: Vec<ReportFile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Sending,
    Delivered,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Webhook,
    Email,
}

/// One report to one recipient.
pub struct DeliveryRow {
    pub id: String,
    pub recipient: String,
    pub channel: Channel,
    pub month: String,
    pub language: String,
    pub dataset_version: u64,
    pub state: DeliveryState,
    pub attempts: usize,
    /// When the last attempt started (RFC 3339).
    pub last_attempt_at: Option<String>,
    /// The receiver's status (HTTP) or reply code (SMTP) of the last attempt.
    pub last_status: Option<u16>,
    /// What went wrong at the last attempt, as the sender recorded it.
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    /// E-mail: each address with its state and the mail server's last
    /// reply about it (empty for a webhook).
    pub addresses: Vec<AddressRow>,
}

/// One address of an e-mail delivery.
pub struct AddressRow {
    pub address: String,
    /// Pending, delivered or failed (never sending).
    pub state: DeliveryState,
    /// The SMTP reply code.
    pub code: Option<u16>,
    /// The reply's text, or what went wrong before one came.
    pub message: Option<String>,
}

/// What the last change on the reports page did.
pub enum ReportsNotice {
    Generated(Period),
    /// The archive held the month's report of this version and language.
    Kept(Period),
    Retried {
        recipient: String,
        month: String,
    },
}

/// Why the last change on the reports page was not made.
pub enum ReportsProblem {
    Month,
    /// The report could not be generated; the error's stable code.
    Generate(&'static str),
    UnknownDelivery,
    NotFailed,
}

pub struct ReportsView {
    pub reports: Vec<ReportRow>,
    /// Newest first.
    pub deliveries: Vec<DeliveryRow>,
    /// The version a report generated now is of.
    pub dataset_version: u64,
    /// The generation form's month (`YYYY-MM`) and language.
    pub month: String,
    pub language: Lang,
    pub notice: Option<ReportsNotice>,
    pub problem: Option<ReportsProblem>,
}

/// `GET /admin/reports`.
pub fn reports(frame: &Frame<'_>, v: &ReportsView) -> String {
    let lang = frame.lang;
    let t = texts(lang);
    let mut out = format!(
        "<h1>{}</h1><p class=\"sub\">{}</p>",
        esc(t.reports_title),
        esc(t.reports_intro)
    );
    if let Some(p) = &v.problem {
        let text = match p {
            ReportsProblem::Month => t.month_invalid.to_string(),
            ReportsProblem::Generate(code) => labels::fill(t.generate_failed, &[("code", code)]),
            ReportsProblem::UnknownDelivery => t.unknown_delivery.to_string(),
            ReportsProblem::NotFailed => t.not_failed.to_string(),
        };
        let _ = write!(out, "<p role=\"alert\" class=\"alert\">{}</p>", esc(&text));
    }
    if let Some(n) = &v.notice {
        let text = match n {
            ReportsNotice::Generated(p) => {
                labels::fill(t.generated, &[("month", &locale::month(&p.to_string(), lang))])
            }
            ReportsNotice::Kept(p) => labels::fill(t.kept, &[("month", &locale::month(&p.to_string(), lang))]),
            ReportsNotice::Retried { recipient, month } => labels::fill(
                t.retried,
                &[("recipient", recipient), ("month", &locale::month(month, lang))],
            ),
        };
        let _ = write!(out, "<p role=\"status\" class=\"ok\">{}</p>", esc(&text));
    }
    archive_table(&mut out, &v.reports, lang);
    generate_form(&mut out, frame, v);
    deliveries_table(&mut out, frame, &v.deliveries);
    let _ = write!(out, "<p class=\"note\">{}</p>", esc(t.times_note));
    shell::page(frame, &out, "")
}

fn archive_table(out: &mut String, reports: &[ReportRow], lang: Lang) {
    let t = texts(lang);
    let _ = write!(out, "<h2 id=\"archive\">{}</h2>", esc(t.archive_heading));
    if reports.is_empty() {
        let _ = write!(out, "<p>{}</p>", esc(t.archive_empty));
        return;
    }
    let _ = write!(
        out,
        "<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        esc(t.archive_caption),
        esc(t.col_month),
        esc(t.col_language),
        esc(t.col_version),
        esc(t.col_files)
    );
    for r in reports {
        let month = locale::month(&r.month, lang);
        let version = labels::fill(
            t.version_of,
            &[
                ("version", &r.dataset_version.to_string()),
                ("time", &locale::local_time(&r.committed_at, lang)),
            ],
        );
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td><ul class=\"files\">",
            esc(&month),
            esc(language_name(&r.language)),
            esc(&version)
        );
        for f in &r.files {
            let kind = match f.name.as_str() {
                "report.pdf" => t.file_pdf,
                "report.xlsx" => t.file_xlsx,
                "report.html" => t.file_html,
                "report.json" => t.file_json,
                _ => f.name.as_str(),
            };
            let size = labels::fill(
                t.size_kb,
                &[("n", &locale::integer(i128::from(f.bytes.div_ceil(1024)), lang))],
            );
            let _ = write!(
                out,
                "<li><a href=\"{}\">{}<span class=\"vh\"> — {}</span></a> ({})</li>",
                esc(&f.href),
                esc(kind),
                esc(&month),
                esc(&size)
            );
        }
        out.push_str("</ul></td></tr>");
    }
    out.push_str("</tbody></table>");
}

fn generate_form(out: &mut String, frame: &Frame<'_>, v: &ReportsView) {
    let lang = frame.lang;
    let t = texts(lang);
    let _ = write!(
        out,
        "<h2 id=\"generate\">{}</h2><form method=\"post\" action=\"/admin/reports\" class=\"params\">{}<fieldset><legend>{}</legend>\
         <p class=\"note\" id=\"generate-note\">{}</p>\
         <label for=\"month\">{}<input id=\"month\" name=\"month\" type=\"month\" required pattern=\"[0-9]{{4}}-[0-9]{{2}}\" placeholder=\"2025-03\" value=\"{}\" aria-describedby=\"generate-note\"></label>\
         <label for=\"report-lang\">{}<select id=\"report-lang\" name=\"report_lang\">",
        esc(t.generate_heading),
        csrf_field(frame.csrf),
        esc(t.generate_legend),
        esc(&labels::fill(
            t.generate_note,
            &[("version", &v.dataset_version.to_string())]
        )),
        esc(t.month_label),
        esc(&v.month),
        esc(t.language_label),
    );
    for choice in [Lang::Vi, Lang::En] {
        let selected = if choice == v.language { " selected" } else { "" };
        let _ = write!(
            out,
            "<option value=\"{}\"{selected}>{}</option>",
            choice.code(),
            esc(labels::of(choice).nav.language_name)
        );
    }
    let _ = write!(
        out,
        "</select></label><button type=\"submit\">{}</button></fieldset></form>",
        esc(t.generate_submit)
    );
}

fn deliveries_table(out: &mut String, frame: &Frame<'_>, deliveries: &[DeliveryRow]) {
    let lang = frame.lang;
    let t = texts(lang);
    let _ = write!(out, "<h2 id=\"deliveries\">{}</h2>", esc(t.deliveries_heading));
    if deliveries.is_empty() {
        let _ = write!(out, "<p>{}</p>", esc(t.deliveries_empty));
        return;
    }
    let _ = write!(
        out,
        "<table><caption>{}</caption><thead><tr>",
        esc(t.deliveries_caption)
    );
    for h in [
        t.col_recipient,
        t.col_report,
        t.col_state,
        t.col_attempts,
        t.col_last_attempt,
        t.col_last_error,
        t.col_action,
    ] {
        let class = if h == t.col_attempts { " class=\"n\"" } else { "" };
        let _ = write!(out, "<th scope=\"col\"{class}>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for d in deliveries {
        let channel = match d.channel {
            Channel::Webhook => t.channel_webhook,
            Channel::Email => t.channel_email,
        };
        let month = locale::month(&d.month, lang);
        let report = labels::fill(
            t.report_of,
            &[
                ("month", &month),
                ("language", language_name(&d.language)),
                ("version", &d.dataset_version.to_string()),
            ],
        );
        let state = state_text(t, d.state);
        let mut state_html = format!("<strong>{}</strong>", esc(state));
        let later = match d.state {
            DeliveryState::Pending => d
                .next_attempt_at
                .as_deref()
                .map(|at| labels::fill(t.next_attempt, &[("time", &locale::local_time(at, lang))])),
            DeliveryState::Delivered => d
                .delivered_at
                .as_deref()
                .map(|at| labels::fill(t.delivered_at, &[("time", &locale::local_time(at, lang))])),
            _ => None,
        };
        if let Some(later) = later {
            let _ = write!(state_html, "<br>{}", esc(&later));
        }
        addresses_list(&mut state_html, lang, &d.addresses);
        let last = d
            .last_attempt_at
            .as_deref()
            .map_or_else(|| t.not_attempted.to_string(), |at| locale::local_time(at, lang));
        let mut error = String::new();
        if let Some(status) = d.last_status.filter(|_| d.last_error.is_some()) {
            error = labels::fill(t.error_status, &[("status", &status.to_string())]);
        }
        if let Some(detail) = &d.last_error {
            if !error.is_empty() {
                error.push_str(" — ");
            }
            error.extend(detail.chars().take(MAX_ERROR_CHARS));
        }
        if error.is_empty() {
            error = t.no_error.to_string();
        }
        let action = if d.state == DeliveryState::Failed {
            format!(
                "<form method=\"post\" action=\"/admin/deliveries/{}/retry\">{}<button type=\"submit\">{}<span class=\"vh\"> — {}, {}</span></button></form>",
                esc(&d.id),
                csrf_field(frame.csrf),
                esc(t.retry),
                esc(&d.recipient),
                esc(&month)
            )
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}<br><span class=\"code\">{}</span></th><td>{}</td><td>{state_html}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
            esc(&d.recipient),
            esc(channel),
            esc(&report),
            d.attempts,
            esc(&last),
            esc(&error)
        );
    }
    out.push_str("</tbody></table>");
}

/// The most of a recorded error shown in the table.
const MAX_ERROR_CHARS: usize = 300;

fn state_text(t: &Admin, state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Pending => t.state_pending,
        DeliveryState::Sending => t.state_sending,
        DeliveryState::Delivered => t.state_delivered,
        DeliveryState::Failed => t.state_failed,
    }
}

/// An e-mail delivery's addresses, each with its state and, unless it took
/// the message, the mail server's reply.
fn addresses_list(out: &mut String, lang: Lang, addresses: &[AddressRow]) {
    if addresses.is_empty() {
        return;
    }
    let t = texts(lang);
    let _ = write!(
        out,
        "<ul class=\"addresses\" aria-label=\"{}\">",
        esc(t.addresses_label)
    );
    for a in addresses {
        let mut line = labels::fill(
            t.address_state,
            &[("address", &a.address), ("state", state_text(t, a.state))],
        );
        if a.state != DeliveryState::Delivered {
            if let Some(code) = a.code {
                line.push_str(" — ");
                line.push_str(&labels::fill(t.error_status, &[("status", &code.to_string())]));
            }
            if let Some(message) = a.message.as_deref().filter(|m| !m.is_empty()) {
                line.push_str(if a.code.is_some() { ": " } else { " — " });
                line.extend(message.chars().take(MAX_ERROR_CHARS));
            }
        }
        let _ = write!(out, "<li>{}</li>", esc(&line));
    }
    out.push_str("</ul>");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Expired,
    Revoked,
}

/// A token as listed (never the token itself).
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// RFC 3339.
    pub created_at: String,
    /// The last day it is valid, `YYYY-MM-DD`.
    pub expires: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub state: TokenState,
    /// The token the reader is signed in with.
    pub current: bool,
}

/// A token just created: shown this once.
pub struct NewToken {
    pub id: String,
    pub name: String,
    pub token: String,
}

/// Why a token was not created or revoked.
pub enum TokensProblem {
    Role,
    Name,
    Expiry,
    ExpiryPast,
    UnknownToken,
}

/// The creation form's values, given back when it was refused.
#[derive(Default)]
pub struct TokenForm {
    pub role: Option<Role>,
    pub name: String,
    pub expires: String,
}

pub struct TokensView {
    pub tokens: Vec<TokenRow>,
    pub created: Option<NewToken>,
    /// A token just revoked: its id and name.
    pub revoked: Option<(String, String)>,
    pub problem: Option<TokensProblem>,
    pub form: TokenForm,
    /// The longest name a token may have.
    pub max_name_chars: usize,
    /// How often a token's use is written down at most, in minutes.
    pub last_use_every_min: i64,
}

/// `GET /admin/tokens`, and the answer to creating or revoking one.
pub fn tokens(frame: &Frame<'_>, v: &TokensView) -> String {
    let lang = frame.lang;
    let t = texts(lang);
    let mut out = format!(
        "<h1>{}</h1><p class=\"sub\">{}</p>",
        esc(t.tokens_title),
        esc(t.tokens_intro)
    );
    if let Some(p) = &v.problem {
        let text = match p {
            TokensProblem::Role => t.role_invalid.to_string(),
            TokensProblem::Name => labels::fill(t.name_invalid, &[("max", &v.max_name_chars.to_string())]),
            TokensProblem::Expiry => t.expiry_invalid.to_string(),
            TokensProblem::ExpiryPast => t.expiry_past.to_string(),
            TokensProblem::UnknownToken => t.unknown_token.to_string(),
        };
        let _ = write!(out, "<p role=\"alert\" class=\"alert\">{}</p>", esc(&text));
    }
    if let Some(new) = &v.created {
        let _ = write!(
            out,
            "<section class=\"ok\" aria-labelledby=\"created\"><h2 id=\"created\">{}</h2><p>{}</p>\
             <p><label for=\"new-token\">{}</label><br><input id=\"new-token\" type=\"text\" readonly size=\"80\" style=\"width:100%;max-width:52rem;font-family:monospace\" autocomplete=\"off\" spellcheck=\"false\" value=\"{}\"> \
             <button type=\"button\" data-copy=\"new-token\" data-done=\"{}\" data-failed=\"{}\" hidden>{}</button></p>\
             <p role=\"status\" id=\"copy-status\"></p></section>",
            esc(t.created_heading),
            esc(&labels::fill(t.created, &[("id", &new.id), ("name", &new.name)])),
            esc(t.new_token_label),
            esc(&new.token),
            esc(t.copied),
            esc(t.copy_failed),
            esc(t.copy)
        );
    }
    if let Some((id, name)) = &v.revoked {
        let _ = write!(
            out,
            "<p role=\"status\" class=\"ok\">{}</p>",
            esc(&labels::fill(t.revoked, &[("id", id), ("name", name)]))
        );
    }
    tokens_table(&mut out, frame, v);
    create_form(&mut out, frame, v);
    let _ = write!(out, "<p class=\"note\">{}</p>", esc(t.times_note));
    let head = if v.created.is_some() {
        format!("<script src=\"{COPY_SCRIPT_PATH}\" defer></script>")
    } else {
        String::new()
    };
    shell::page(frame, &out, &head)
}

fn tokens_table(out: &mut String, frame: &Frame<'_>, v: &TokensView) {
    let lang = frame.lang;
    let t = texts(lang);
    let _ = write!(out, "<h2 id=\"list\">{}</h2>", esc(t.tokens_heading));
    if v.tokens.is_empty() {
        let _ = write!(out, "<p>{}</p>", esc(t.tokens_empty));
        return;
    }
    let _ = write!(out, "<table><caption>{}</caption><thead><tr>", esc(t.tokens_caption));
    for h in [
        t.col_name,
        t.col_id,
        t.col_role,
        t.col_created,
        t.col_expires,
        t.col_last_used,
        t.col_state,
        t.col_action,
    ] {
        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in &v.tokens {
        let expires = r
            .expires
            .as_deref()
            .map_or_else(|| t.never_expires.to_string(), |d| locale::local_date(d, lang));
        let last_used = r
            .last_used_at
            .as_deref()
            .map_or_else(|| t.never_used.to_string(), |at| locale::local_time(at, lang));
        let mut state = esc(match r.state {
            TokenState::Active => t.token_active,
            TokenState::Expired => t.token_expired,
            TokenState::Revoked => t.token_revoked,
        });
        if let Some(at) = r.revoked_at.as_deref().filter(|_| r.state == TokenState::Revoked) {
            let _ = write!(state, "<br>{}", esc(&locale::local_time(at, lang)));
        }
        let mut name = esc(&r.name);
        if r.current {
            let _ = write!(name, " <em>{}</em>", esc(t.current_token));
        }
        let action = if r.state == TokenState::Active {
            format!(
                "<form method=\"post\" action=\"/admin/tokens/{}/revoke\">{}<button type=\"submit\">{}<span class=\"vh\"> — {}</span></button></form>",
                esc(&r.id),
                csrf_field(frame.csrf),
                esc(t.revoke),
                esc(&r.name)
            )
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{name}</th><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{state}</td><td>{action}</td></tr>",
            esc(&r.id),
            esc(role_label(r.role, lang)),
            esc(&locale::local_time(&r.created_at, lang)),
            esc(&expires),
            esc(&last_used),
        );
    }
    let _ = write!(
        out,
        "</tbody></table><p class=\"note\">{}</p>",
        esc(&labels::fill(
            t.last_used_note,
            &[("minutes", &v.last_use_every_min.to_string())]
        ))
    );
}

fn create_form(out: &mut String, frame: &Frame<'_>, v: &TokensView) {
    let lang = frame.lang;
    let t = texts(lang);
    let _ = write!(
        out,
        "<h2 id=\"create\">{}</h2><form method=\"post\" action=\"/admin/tokens\" class=\"params\">{}<fieldset><legend>{}</legend>\
         <label for=\"token-role\">{}<select id=\"token-role\" name=\"role\" required>",
        esc(t.create_heading),
        csrf_field(frame.csrf),
        esc(t.create_legend),
        esc(t.role_label),
    );
    for role in Role::ALL {
        let selected = if v.form.role == Some(role) { " selected" } else { "" };
        let _ = write!(
            out,
            "<option value=\"{}\"{selected}>{}</option>",
            role.as_str(),
            esc(role_label(role, lang))
        );
    }
    let _ = write!(
        out,
        "</select></label><label for=\"token-name\">{}<input id=\"token-name\" name=\"name\" type=\"text\" required maxlength=\"{}\" size=\"40\" value=\"{}\"></label>\
         <label for=\"token-expires\">{}<input id=\"token-expires\" name=\"expires\" type=\"date\" value=\"{}\"></label>\
         <button type=\"submit\">{}</button></fieldset></form>",
        esc(t.name_label),
        v.max_name_chars,
        esc(&v.form.name),
        esc(t.expires_label),
        esc(&v.form.expires),
        esc(t.create_submit)
    );
    if v.tokens.is_empty() {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(t.first_token_note));
    }
}

/// A language's own name from its code (`vi`, `en`); the code itself if
/// it is neither.
fn language_name(code: &str) -> &str {
    Lang::parse(code).map_or(code, |l| labels::of(l).nav.language_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::present::shell::Section;

    fn frame(lang: Lang) -> Frame<'static> {
        Frame {
            lang,
            title: "x",
            section: Section::Reports,
            role: Some(Role::Admin),
            signed_in: true,
            csrf: "c0ffee",
            other_lang_href: "/admin/reports?lang=en",
            here: "/admin/reports",
        }
    }

    fn delivery(state: DeliveryState) -> DeliveryRow {
        DeliveryRow {
            id: "2025-03-vi-v1-moit".into(),
            recipient: "moit".into(),
            channel: Channel::Webhook,
            month: "2025-03".into(),
            language: "vi".into(),
            dataset_version: 1,
            state,
            attempts: 1,
            last_attempt_at: Some("2025-04-05T01:00:00.000Z".into()),
            last_status: Some(400),
            last_error: Some("HTTP 400 <refused>".into()),
            next_attempt_at: None,
            delivered_at: None,
            addresses: Vec::new(),
        }
    }

    fn view(deliveries: Vec<DeliveryRow>) -> ReportsView {
        ReportsView {
            reports: vec![ReportRow {
                month: "2025-03".into(),
                language: "vi".into(),
                dataset_version: 1,
                committed_at: "2025-04-02T17:30:00Z".into(),
                files: vec![ReportFile {
                    name: "report.pdf".into(),
                    href: "/api/v1/reports/2025-03/report.pdf".into(),
                    bytes: 2048,
                }],
            }],
            deliveries,
            dataset_version: 1,
            month: "2025-03".into(),
            language: Lang::Vi,
            notice: None,
            problem: None,
        }
    }

    #[test]
    fn a_failed_delivery_has_a_retry_form_and_its_error_escaped() {
        let html = reports(&frame(Lang::Vi), &view(vec![delivery(DeliveryState::Failed)]));
        assert!(html.contains("action=\"/admin/deliveries/2025-03-vi-v1-moit/retry\""));
        assert!(html.contains("HTTP 400 &lt;refused&gt;") && !html.contains("<refused>"));
        // Vietnam's time: 01:00 UTC is 08:00 there; dates day first.
        assert!(html.contains("08:00 ngày 05/04/2025"), "{html}");
        assert!(
            html.contains("00:30 ngày 03/04/2025"),
            "the commit time in Vietnam's time"
        );
        assert!(html.contains("href=\"/api/v1/reports/2025-03/report.pdf\""));
        assert_eq!(html.matches("<h1>").count(), 1);
        let delivered = reports(&frame(Lang::Vi), &view(vec![delivery(DeliveryState::Delivered)]));
        assert!(!delivered.contains("/retry\""));
    }

    #[test]
    fn an_e_mail_shows_each_address_and_the_refusal_of_each() {
        let mut d = delivery(DeliveryState::Failed);
        d.channel = Channel::Email;
        d.addresses = vec![
            AddressRow {
                address: "kehoach@mst.gov.vn".into(),
                state: DeliveryState::Delivered,
                code: Some(250),
                message: Some("queued".into()),
            },
            AddressRow {
                address: "sai@mst.gov.vn".into(),
                state: DeliveryState::Failed,
                code: Some(550),
                message: Some("<sai@mst.gov.vn>: mailbox unavailable".into()),
            },
        ];
        let html = reports(&frame(Lang::Vi), &view(vec![d]));
        assert!(
            html.contains("<ul class=\"addresses\" aria-label=\"Từng địa chỉ thư\">"),
            "{html}"
        );
        assert!(html.contains("<li>kehoach@mst.gov.vn: Đã gửi</li>"), "{html}");
        assert!(
            html.contains(
                "<li>sai@mst.gov.vn: Gửi không thành công — mã phản hồi 550: &lt;sai@mst.gov.vn&gt;: mailbox unavailable</li>"
            ),
            "{html}"
        );
        let webhook = reports(&frame(Lang::En), &view(vec![delivery(DeliveryState::Failed)]));
        assert!(!webhook.contains("class=\"addresses\""));
    }

    #[test]
    fn a_new_token_is_in_a_read_only_field_with_a_copy_button_for_scripts() {
        let v = TokensView {
            tokens: Vec::new(),
            created: Some(NewToken {
                id: "0a1b2c3d".into(),
                name: "Sở <Công Thương>".into(),
                token: "esk_0a1b2c3d_ff".into(),
            }),
            revoked: None,
            problem: None,
            form: TokenForm::default(),
            max_name_chars: 200,
            last_use_every_min: 60,
        };
        let html = tokens(&frame(Lang::En), &v);
        assert!(html.contains("readonly") && html.contains("value=\"esk_0a1b2c3d_ff\""));
        assert!(html.contains("data-copy=\"new-token\"") && html.contains(" hidden>"));
        assert!(html.contains("<script src=\"/assets/copy.js\" defer></script>"));
        assert!(html.contains("Sở &lt;Công Thương&gt;"));
        let mut without = v;
        without.created = None;
        assert!(!tokens(&frame(Lang::En), &without).contains("<script"));
    }
}
