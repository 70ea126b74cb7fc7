//! The filers' pages as HTML: the upload form (with the columns and rules
//! of a filing, and the reason an upload was not taken), the ingest report
//! of a batch (counts, and the rejected records with the column at fault,
//! the value given, a message and what to do), the batches a filer sent;
//! and the rejected records as CSV and XLSX under the template's headers, so
//! that the filer fixes them and sends the file again. Also the upload
//! form's script (progress while the file is sent), served by this service.
//!
//! Plain data in, bytes out: knows nothing of HTTP, sessions or the store.
//! Texts come from the label catalogue (`Filing`, `Rejection`, `Refusal`).

use super::labels::{self, Filing, Lang};
use super::locale;
use super::pages::esc;
use super::shell::{self, Frame};
use super::template::COLUMNS;
use crate::domain::RejectReason;
use crate::service::{RejectedRecord, vietnam_offset};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use std::fmt::Write;
use std::sync::OnceLock;

/// Rejected records shown on a report page (the downloads hold them all).
pub const SHOWN_REJECTIONS: usize = 1000;

/// The upload form's script.
pub const SCRIPT: &str = include_str!("assets/upload.js");

/// Where the page loads the script from: its content's hash in the URL, so
/// a browser may keep it as long as it likes.
pub fn script_href() -> &'static str {
    static HREF: OnceLock<String> = OnceLock::new();
    HREF.get_or_init(|| format!("/assets/upload.js?v={}", script_version()))
}

/// The first 16 hex digits of the script's SHA-256.
pub fn script_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        use sha2::{Digest, Sha256};
        crate::util::digest::hex(&Sha256::digest(SCRIPT.as_bytes()))[..16].to_string()
    })
}

fn texts(lang: Lang) -> &'static Filing {
    &labels::of(lang).filing
}

/// What the upload form says above itself after an upload that committed
/// nothing.
pub enum Notice<'a> {
    /// Every byte of the file is already in a dataset version.
    Duplicate { file: &'a str, version: u64 },
    /// The upload was refused: the error's code and the API's message.
    Refused { code: &'a str, detail: &'a str },
}

/// The upload form as the filer left it.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub sheet: String,
    pub encoding: String,
    pub delimiter: String,
    pub locale: String,
}

/// A size in bytes as people read it: MB from one mebibyte on.
fn size(bytes: usize, lang: Lang) -> String {
    let t = texts(lang);
    if bytes >= 1 << 20 {
        let n = locale::decimal(bytes as f64 / f64::from(1u32 << 20), 0, lang);
        labels::fill(t.size_mb, &[("n", &n)])
    } else {
        labels::fill(t.size_bytes, &[("n", &locale::integer(bytes as i128, lang))])
    }
}

/// The reason a whole upload was refused, in the reader's language; `other`
/// for a code the catalogue does not know.
pub fn refusal(code: &str, limit: usize, lang: Lang) -> String {
    let r = &labels::of(lang).refusal;
    let text = r
        .entries()
        .into_iter()
        .find(|(key, _)| *key == code)
        .map_or(r.other, |(_, text)| text);
    labels::fill(text, &[("limit", &size(limit, lang))])
}

/// A rejection's message and what to do, in the reader's language.
pub fn reason_texts(code: &str, lang: Lang) -> Option<(&'static str, &'static str)> {
    let entries = labels::of(lang).rejection.entries();
    let find = |key: &str| entries.iter().find(|(k, _)| *k == key).map(|(_, t)| *t);
    Some((find(code)?, find(&format!("{code}_fix"))?))
}

/// The column a rejected record is about (contract name), if any.
fn column_of(r: &RejectedRecord) -> Option<&'static str> {
    RejectReason::from_code(&r.reason)?.column_in(&r.message)
}

/// The template's header of a contract column.
fn header_of(column: &str) -> &'static str {
    COLUMNS
        .iter()
        .find(|(_, c)| *c == column)
        .map_or("", |(header, _)| header)
}

/// An RFC 3339 instant as a date and time in Asia/Ho_Chi_Minh, written as
/// the reader's language writes them (as given when it cannot be read).
pub fn local_time(rfc3339: &str, lang: Lang) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t
            .with_timezone(&vietnam_offset())
            .format(texts(lang).date_time)
            .to_string(),
        Err(_) => rfc3339.to_string(),
    }
}

/// `GET /filings/upload`: the form, the templates, the columns and rules;
/// `notice` above them after an upload that committed nothing.
pub fn upload(frame: &Frame<'_>, limit: usize, choices: &Choices, notice: Option<&Notice<'_>>) -> String {
    let lang = frame.lang;
    let t = texts(lang);
    let mut body = format!("<h1>{}</h1>", esc(t.upload_title));
    match notice {
        Some(Notice::Duplicate { file, version }) => {
            let v = version.to_string();
            let _ = write!(
                body,
                "<div class=\"ok\" role=\"status\"><p>{}</p><p><a href=\"/filings/ingests/{version}\">{}</a></p></div>",
                esc(&labels::fill(t.duplicate, &[("file", file), ("version", &v)])),
                esc(&labels::fill(t.duplicate_link, &[("version", &v)])),
            );
        }
        Some(Notice::Refused { code, detail }) => {
            let _ = write!(
                body,
                "<div class=\"alert\" role=\"alert\"><h2>{}</h2><p>{}</p><p>{}</p><p class=\"note\">{} <code>{}</code> <span lang=\"en\">{}</span></p></div>",
                esc(t.refused_title),
                esc(&refusal(code, limit, lang)),
                esc(t.refused_nothing),
                esc(t.refused_detail),
                esc(code),
                esc(detail),
            );
        }
        None => {}
    }
    let selected = |chosen: &str, value: &str| if chosen == value { " selected" } else { "" };
    let options = |chosen: &str, list: &[(&str, &str)]| {
        list.iter()
            .map(|(value, text)| {
                format!(
                    "<option value=\"{value}\"{}>{}</option>",
                    selected(chosen, value),
                    esc(text)
                )
            })
            .collect::<String>()
    };
    let accept = ".csv,.tsv,.txt,.json,.xlsx,.xls,.ods,text/csv,text/tab-separated-values,text/plain,application/json,\
                  application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,application/vnd.ms-excel,\
                  application/vnd.oasis.opendocument.spreadsheet";
    let _ = write!(
        body,
        "<p>{intro}</p>\
         <form id=\"upload-form\" class=\"params\" method=\"post\" enctype=\"multipart/form-data\" action=\"/filings/upload\" \
         data-limit=\"{limit}\" data-too-large=\"{too_large}\" data-progress=\"{progress}\" data-processing=\"{processing}\" data-failed=\"{failed}\">\
         {csrf}\
         <p><label for=\"file\">{file_label}</label> \
         <input type=\"file\" id=\"file\" name=\"file\" required accept=\"{accept}\" aria-describedby=\"file-hint\"></p>\
         <p class=\"note\" id=\"file-hint\">{file_hint}</p>\
         <fieldset><legend>{legend}</legend>\
         <label for=\"sheet\">{sheet_label}<input type=\"text\" id=\"sheet\" name=\"sheet\" maxlength=\"100\" value=\"{sheet}\" aria-describedby=\"sheet-hint\"></label>\
         <span class=\"note\" id=\"sheet-hint\">{sheet_hint}</span>\
         <label for=\"encoding\">{encoding_label}<select id=\"encoding\" name=\"encoding\">{encodings}</select></label>\
         <label for=\"delimiter\">{delimiter_label}<select id=\"delimiter\" name=\"delimiter\">{delimiters}</select></label>\
         <label for=\"locale\">{locale_label}<select id=\"locale\" name=\"locale\">{locales}</select></label>\
         </fieldset>\
         <p><button type=\"submit\">{submit}</button></p>\
         <div id=\"upload-progress\" hidden><label for=\"upload-bar\">{progress_label}</label> \
         <progress id=\"upload-bar\" max=\"100\" value=\"0\"></progress> <span id=\"upload-status\" role=\"status\"></span></div>\
         </form><div id=\"upload-alert\" class=\"alert\" role=\"alert\" hidden></div>",
        intro = esc(t.upload_intro),
        too_large = esc(&refusal("payload_too_large", limit, lang)),
        progress = esc(t.progress_percent),
        processing = esc(t.processing),
        failed = esc(t.upload_failed),
        csrf = shell::csrf_field(frame.csrf),
        file_label = esc(t.file_label),
        file_hint = esc(&labels::fill(t.file_hint, &[("limit", &size(limit, lang))])),
        legend = esc(t.options_legend),
        sheet_label = esc(t.sheet_label),
        sheet = esc(&choices.sheet),
        sheet_hint = esc(t.sheet_hint),
        encoding_label = esc(t.encoding_label),
        encodings = options(
            &choices.encoding,
            &[
                ("", t.encoding_auto),
                ("utf-8", "UTF-8"),
                ("utf-16le", "UTF-16 LE"),
                ("utf-16be", "UTF-16 BE"),
                ("windows-1258", "Windows-1258"),
            ]
        ),
        delimiter_label = esc(t.delimiter_label),
        delimiters = options(
            &choices.delimiter,
            &[
                ("", t.delimiter_auto),
                ("comma", t.delimiter_comma),
                ("semicolon", t.delimiter_semicolon),
                ("tab", t.delimiter_tab),
            ]
        ),
        locale_label = esc(t.locale_label),
        locales = options(&choices.locale, &[("", t.locale_plain), ("vi", t.locale_vi)]),
        submit = esc(t.submit),
        progress_label = esc(t.progress_label),
    );
    let _ = write!(
        body,
        "<h2>{}</h2><ul><li><a href=\"/api/v1/filings/template.xlsx\">{}</a></li><li><a href=\"/api/v1/filings/template.csv\">{}</a></li></ul>",
        esc(t.templates_heading),
        esc(t.template_xlsx),
        esc(t.template_csv),
    );
    let _ = write!(
        body,
        "<h2>{}</h2><table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        esc(t.columns_heading),
        esc(t.columns_caption),
        esc(t.column_header),
        esc(t.column_name),
        esc(t.column_required),
        esc(t.column_rule),
    );
    for (header, column) in COLUMNS {
        let required = if crate::ingest::REQUIRED.contains(&column) {
            t.required_yes
        } else {
            t.required_no
        };
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{}</th><td><code>{column}</code></td><td>{}</td><td>{}</td></tr>",
            esc(header),
            esc(required),
            esc(column_rule(column, lang)),
        );
    }
    let _ = write!(body, "</tbody></table><h2>{}</h2><ul>", esc(t.rules_heading));
    for rule in [t.rule_rows, t.rule_records, t.rule_whole_file, t.rule_revisions] {
        let _ = write!(body, "<li>{}</li>", esc(rule));
    }
    body.push_str("</ul>");
    let script = format!("<script src=\"{}\" defer></script>", script_href());
    shell::page(frame, &body, &script)
}

/// How a contract column is written, from the catalogue.
pub fn column_rule(column: &str, lang: Lang) -> &'static str {
    let key = format!("col_{column}");
    texts(lang)
        .entries()
        .into_iter()
        .find(|(k, _)| *k == key)
        .map_or("", |(_, text)| text)
}

/// One file of a batch, as its ingest report counts it.
#[derive(Debug, Clone)]
pub struct FileLine {
    pub file: String,
    pub records: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// A file already received: the version that holds it.
    pub duplicate_of: Option<u64>,
}

/// The ingest report of the batch that made a dataset version.
pub struct Report<'a> {
    pub version: u64,
    /// When it was committed (RFC 3339).
    pub committed_at: &'a str,
    pub files: &'a [FileLine],
    /// The first rejected records (at most `SHOWN_REJECTIONS`).
    pub rejections: &'a [RejectedRecord],
    /// How many records the batch rejected in all.
    pub total_rejected: u64,
}

/// `GET /filings/ingests/{version}`: the counts of each file, the version
/// committed, and the rejected records with what to do about each.
pub fn report(frame: &Frame<'_>, r: &Report<'_>) -> String {
    let lang = frame.lang;
    let t = texts(lang);
    let v = r.version.to_string();
    let n = |x: u64| esc(&locale::integer(i128::from(x), lang));
    let mut body = format!(
        "<h1>{}</h1><p class=\"ok\" role=\"status\">{}</p>",
        esc(&labels::fill(t.report_title, &[("version", &v)])),
        esc(&labels::fill(
            t.committed,
            &[("version", &v), ("time", &local_time(r.committed_at, lang))]
        )),
    );
    let _ = write!(
        body,
        "<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\" class=\"n\">{}</th><th scope=\"col\" class=\"n\">{}</th><th scope=\"col\" class=\"n\">{}</th></tr></thead><tbody>",
        esc(t.files_caption),
        esc(t.file),
        esc(t.records),
        esc(t.accepted),
        esc(t.rejected),
    );
    for f in r.files {
        let name = match f.duplicate_of {
            Some(version) => format!(
                "{} <span class=\"note\">({})</span>",
                esc(&f.file),
                esc(&labels::fill(t.file_duplicate, &[("version", &version.to_string())]))
            ),
            None => esc(&f.file),
        };
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{name}</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            n(f.records),
            n(f.accepted),
            n(f.rejected),
        );
    }
    body.push_str("</tbody></table>");
    if r.total_rejected == 0 {
        let _ = write!(body, "<p>{}</p>", esc(t.all_accepted));
    } else {
        rejections_section(&mut body, r, lang);
    }
    let _ = write!(
        body,
        "<p><a href=\"/filings/upload\">{}</a> · <a href=\"/filings/history\">{}</a></p>",
        esc(t.upload_again),
        esc(labels::of(lang).nav.history),
    );
    shell::page(frame, &body, "")
}

fn rejections_section(body: &mut String, r: &Report<'_>, lang: Lang) {
    let t = texts(lang);
    let n = |x: u64| locale::integer(i128::from(x), lang);
    let _ = write!(
        body,
        "<h2>{}</h2><p>{}</p><p><a href=\"/filings/ingests/{v}/rejections.xlsx\">{}</a> · <a href=\"/filings/ingests/{v}/rejections.csv\">{}</a></p>",
        esc(t.rejections_heading),
        esc(t.download_text),
        esc(t.download_xlsx),
        esc(t.download_csv),
        v = r.version,
    );
    if (r.rejections.len() as u64) < r.total_rejected {
        let _ = write!(
            body,
            "<p class=\"note\">{}</p>",
            esc(&labels::fill(
                t.rejections_shown,
                &[
                    ("shown", &n(r.rejections.len() as u64)),
                    ("total", &n(r.total_rejected))
                ]
            ))
        );
    }
    let several_files = r.files.iter().filter(|f| f.duplicate_of.is_none()).count() > 1;
    let _ = write!(
        body,
        "<table><caption>{}</caption><thead><tr>",
        esc(&labels::fill(t.rejections_caption, &[("total", &n(r.total_rejected))]))
    );
    if several_files {
        let _ = write!(body, "<th scope=\"col\">{}</th>", esc(t.file));
    }
    for h in [t.record, t.column, t.value, t.reason, t.message, t.fix] {
        let _ = write!(body, "<th scope=\"col\">{}</th>", esc(h));
    }
    body.push_str("</tr></thead><tbody>");
    for rec in r.rejections {
        body.push_str("<tr>");
        if several_files {
            let _ = write!(body, "<td>{}</td>", esc(&rec.file));
        }
        let column = column_of(rec);
        let (column_cell, value_cell) = match column {
            Some(c) => (
                format!("{}<br><span class=\"code\">{c}</span>", esc(header_of(c))),
                match rec.value(c).filter(|v| !v.is_empty()) {
                    Some(v) => format!("<code>{}</code>", esc(v)),
                    None => esc(t.empty_value),
                },
            ),
            None => (esc(t.whole_record), String::from("–")),
        };
        let (message, fix) = reason_texts(&rec.reason, lang).unwrap_or(("", ""));
        let _ = write!(
            body,
            "<th scope=\"row\" class=\"n\">{}</th><td>{column_cell}</td><td>{value_cell}</td><td><code>{}</code></td>\
             <td>{}<br><span class=\"code\" lang=\"en\">{}</span></td><td>{}</td></tr>",
            n(rec.record),
            esc(&rec.reason),
            esc(message),
            esc(&rec.message),
            esc(fix),
        );
    }
    body.push_str("</tbody></table>");
}

/// One batch in a filer's history.
#[derive(Debug, Clone)]
pub struct Batch {
    pub version: u64,
    /// RFC 3339.
    pub committed_at: String,
    pub submitted_by: Option<String>,
    pub files: Vec<FileLine>,
    /// Whether its ingest report was kept (the report page exists).
    pub has_report: bool,
}

/// `GET /filings/history`: the batches, newest first, each linking to its
/// report; who sent each when `show_submitter` (an admin sees every one).
pub fn history(frame: &Frame<'_>, batches: &[Batch], show_submitter: bool) -> String {
    let lang = frame.lang;
    let t = texts(lang);
    let n = |x: u64| esc(&locale::integer(i128::from(x), lang));
    let mut body = format!("<h1>{}</h1>", esc(t.history_title));
    if batches.is_empty() {
        let _ = write!(
            body,
            "<p>{}</p><p><a href=\"/filings/upload\">{}</a></p>",
            esc(t.history_empty),
            esc(t.upload_again)
        );
        return shell::page(frame, &body, "");
    }
    let _ = write!(
        body,
        "<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>",
        esc(t.history_caption),
        esc(t.version),
        esc(t.committed_at),
    );
    if show_submitter {
        let _ = write!(body, "<th scope=\"col\">{}</th>", esc(t.submitted_by));
    }
    let _ = write!(
        body,
        "<th scope=\"col\">{}</th><th scope=\"col\" class=\"n\">{}</th><th scope=\"col\" class=\"n\">{}</th><th scope=\"col\" class=\"n\">{}</th></tr></thead><tbody>",
        esc(t.file),
        esc(t.records),
        esc(t.accepted),
        esc(t.rejected),
    );
    for b in batches {
        let v = b.version.to_string();
        let label = esc(&labels::fill(t.version_link, &[("version", &v)]));
        let version = if b.has_report {
            format!("<a href=\"/filings/ingests/{v}\">{label}</a>")
        } else {
            label
        };
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{version}</th><td>{}</td>",
            esc(&local_time(&b.committed_at, lang))
        );
        if show_submitter {
            let _ = write!(body, "<td>{}</td>", esc(b.submitted_by.as_deref().unwrap_or("–")));
        }
        let names: Vec<String> = b.files.iter().map(|f| esc(&f.file)).collect();
        let sum = |f: fn(&FileLine) -> u64| b.files.iter().map(f).sum::<u64>();
        let _ = write!(
            body,
            "<td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            names.join("<br>"),
            n(sum(|f| f.records)),
            n(sum(|f| f.accepted)),
            n(sum(|f| f.rejected)),
        );
    }
    body.push_str("</tbody></table>");
    shell::page(frame, &body, "")
}

/// The columns of a rejections download: the template's headers (which
/// the ingest reads back), `file` when the records come from several
/// files, then `record`, `reason` and `message` (which it ignores).
fn download_headers(records: &[RejectedRecord]) -> (Vec<&'static str>, bool) {
    let several = records
        .first()
        .is_some_and(|first| records.iter().any(|r| r.file != first.file));
    let mut headers: Vec<&'static str> = COLUMNS.iter().map(|(h, _)| *h).collect();
    if several {
        headers.push("file");
    }
    headers.extend(["record", "reason", "message"]);
    (headers, several)
}

/// The `message` cell of a download: the reason and what to do, in the
/// reader's language.
fn download_message(r: &RejectedRecord, lang: Lang) -> String {
    match reason_texts(&r.reason, lang) {
        Some((message, fix)) => format!("{message} {fix}"),
        None => r.message.clone(),
    }
}

/// The rejected records as CSV: UTF-8 with a byte order mark (so Excel
/// opens it with its diacritics), CRLF lines, the values as given.
pub fn rejections_csv(records: &[RejectedRecord], lang: Lang) -> Vec<u8> {
    let mut out = String::from("\u{FEFF}");
    let (headers, several) = download_headers(records);
    out.push_str(&headers.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
    for r in records {
        let mut fields: Vec<String> = COLUMNS
            .iter()
            .map(|(_, c)| csv_field(r.value(c).unwrap_or("")))
            .collect();
        if several {
            fields.push(csv_field(&r.file));
        }
        fields.push(r.record.to_string());
        fields.push(csv_field(&r.reason));
        fields.push(csv_field(&download_message(r, lang)));
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// Quotes a CSV field when it holds a separator, a quote, a line break or
/// surrounding white space.
fn csv_field(s: &str) -> String {
    if s.contains([',', ';', '"', '\n', '\r', '\t']) || s.trim() != s {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// An amount written as a plain whole number that a spreadsheet holds
/// exactly (below 2^53).
fn plain_amount(s: &str) -> Option<f64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().map(|n| n as f64)
}

/// The rejected records as an Excel workbook: one sheet, the header row
/// frozen; codes, periods and every other value as text (as given), the
/// amounts as numbers when they are plain whole numbers.
pub fn rejections_xlsx(records: &[RejectedRecord], lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let t = texts(lang);
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold().set_text_wrap();
    let text = Format::new().set_num_format("@");
    let amount = Format::new().set_num_format("#,##0");
    let ws = wb.add_worksheet().set_name(t.rejections_sheet)?;
    let (headers, several) = download_headers(records);
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
        ws.set_column_width(c as u16, (h.chars().count() as f64 * 1.1).clamp(12.0, 40.0))?;
    }
    ws.set_freeze_panes(1, 0)?;
    for (i, r) in records.iter().enumerate() {
        let row = i as u32 + 1;
        for (c, (_, column)) in COLUMNS.iter().enumerate() {
            let c = c as u16;
            let Some(v) = r.value(column).filter(|v| !v.is_empty()) else {
                continue;
            };
            let is_amount = matches!(*column, "total_revenue_vnd" | "ecommerce_revenue_vnd");
            match plain_amount(v).filter(|_| is_amount) {
                Some(x) => ws.write_number_with_format(row, c, x, &amount)?,
                None => ws.write_string_with_format(row, c, v, &text)?,
            };
        }
        let mut c = COLUMNS.len() as u16;
        if several {
            ws.write_string(row, c, &r.file)?;
            c += 1;
        }
        ws.write_number(row, c, r.record as f64)?;
        ws.write_string(row, c + 1, &r.reason)?;
        ws.write_string(row, c + 2, download_message(r, lang))?;
    }
    ws.set_column_width(headers.len() as u16 - 1, 80)?;
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_a_message_and_a_fix_in_both_languages() {
        for lang in [Lang::Vi, Lang::En] {
            for reason in RejectReason::ALL {
                let (message, fix) =
                    reason_texts(reason.code(), lang).unwrap_or_else(|| panic!("{} in {lang:?}", reason.code()));
                assert!(!message.is_empty() && !fix.is_empty(), "{}", reason.code());
            }
            // Nothing else in the group: each key is a reason or its fix.
            for (key, _) in labels::of(lang).rejection.entries() {
                let code = key.strip_suffix("_fix").unwrap_or(key);
                assert!(RejectReason::from_code(code).is_some(), "{key} is no reason code");
            }
        }
    }

    #[test]
    fn every_column_is_explained_and_every_rule_column_is_a_filing_column() {
        for lang in [Lang::Vi, Lang::En] {
            for (_, column) in COLUMNS {
                assert!(!column_rule(column, lang).is_empty(), "{column} in {lang:?}");
            }
        }
        for reason in RejectReason::ALL {
            for c in reason.columns() {
                assert!(crate::ingest::COLUMNS.contains(c), "{c}");
                assert!(!header_of(c).is_empty(), "{c} has a template header");
            }
        }
    }

    #[test]
    fn whole_file_refusals_are_explained() {
        let codes = [
            "not_utf8",
            "invalid_encoding",
            "invalid_workbook",
            "unknown_sheet",
            "workbook_too_large",
            "sheet_too_large",
            "empty_file",
            "missing_columns",
            "duplicate_column",
            "invalid_json",
            "unsupported_format",
            "format_mismatch",
            "too_many_records",
            "payload_too_large",
        ];
        let other = refusal("no such code", 1024, Lang::Vi);
        for code in codes {
            assert_ne!(refusal(code, 1 << 20, Lang::Vi), other, "{code}");
        }
        assert!(refusal("payload_too_large", 256 << 20, Lang::Vi).contains("256 MB"));
    }

    fn record(reason: &str, message: &str, values: &[(&str, &str)]) -> RejectedRecord {
        RejectedRecord {
            file: "a.csv".into(),
            record: 7,
            reason: reason.into(),
            message: message.into(),
            values: crate::ingest::COLUMNS
                .iter()
                .map(|c| values.iter().find(|(k, _)| k == c).map(|(_, v)| v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn the_csv_download_reads_back_as_the_contract_columns() {
        let r = record(
            "invalid_amount",
            "total_revenue_vnd \"1.000\" is not a whole number",
            &[
                ("unit_id", "2801079196"),
                ("total_revenue_vnd", "1.000"),
                ("unit_name", "Hòa, \"Bình\""),
            ],
        );
        let bytes = rejections_csv(&[r], Lang::Vi);
        let text = std::str::from_utf8(crate::util::csv::strip_bom(&bytes)).unwrap();
        let records = crate::util::csv::read_all(text.as_bytes());
        let field = |row: usize, k: usize| std::str::from_utf8(records.field(row, k).unwrap()).unwrap().to_string();
        let header: Vec<String> = (0..records.field_count(0)).map(|k| field(0, k)).collect();
        assert_eq!(header.len(), 13);
        assert_eq!(&header[10..], ["record", "reason", "message"]);
        for (k, (_, contract)) in COLUMNS.iter().enumerate() {
            assert_eq!(crate::ingest::text::column_of(&header[k]), Some(*contract));
        }
        assert_eq!(field(1, 5), "1.000");
        assert_eq!(field(1, 9), "Hòa, \"Bình\"");
        assert_eq!(field(1, 10), "7");
        assert!(field(1, 12).starts_with(reason_texts("invalid_amount", Lang::Vi).unwrap().0));
    }

    #[test]
    fn a_rejection_shows_the_column_at_fault_and_the_value_given() {
        let frame = Frame {
            lang: Lang::Vi,
            title: "x",
            section: shell::Section::Upload,
            role: Some(crate::domain::Role::Filer),
            signed_in: true,
            csrf: "c",
            other_lang_href: "/",
            here: "/",
        };
        let records = [record(
            "negative_amount",
            "ecommerce_revenue_vnd \"-10\" is negative",
            &[("ecommerce_revenue_vnd", "-10")],
        )];
        let files = [FileLine {
            file: "a.csv".into(),
            records: 2,
            accepted: 1,
            rejected: 1,
            duplicate_of: None,
        }];
        let html = report(
            &frame,
            &Report {
                version: 3,
                committed_at: "2025-04-05T02:00:00Z",
                files: &files,
                rejections: &records,
                total_rejected: 1,
            },
        );
        assert!(html.contains("Doanh thu thương mại điện tử (đồng)"));
        assert!(html.contains("<code>-10</code>"));
        assert!(html.contains("05/04/2025 09:00"));
        assert!(html.contains("/filings/ingests/3/rejections.xlsx"));
        assert_eq!(html.matches("<h1>").count(), 1);
    }
}
