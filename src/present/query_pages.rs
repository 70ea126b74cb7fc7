//! The trade officials' query pages as HTML: the list of named queries, and
//! a query's page — a GET form generated from the parameters its header
//! declares, and, once run, the first rows of its result with the total
//! row count, the dataset version and links to the same result as files.
//!
//! Plain data in, HTML out. The rows shown are read back from the named
//! query API's own JSON answer ([`ResultReader`]), so the page shows what
//! the API gives for the same parameters, withheld cells included; this
//! module computes no figure, runs nothing and knows nothing of HTTP.

use crate::domain::disclosure::Rule;
use crate::domain::named_query::{ParamDef, ParamKind, QueryDef};
use crate::domain::{Reference, Status};
use crate::engine::catalog::{Listing, Source};
use crate::engine::tabular::Format;
use crate::present::labels::{self, Queries};
use crate::present::locale::{self, Lang};
use crate::present::pages::esc;
use crate::present::shell::{self, Frame};
use serde_json::Value;
use std::fmt::Write;

/// Rows a query page shows; the files hold them all.
pub const MAX_SHOWN_ROWS: usize = 500;

/// The formats offered for download, in the order the page lists them.
pub const DOWNLOADS: [Format; 5] = [Format::Xlsx, Format::Csv, Format::Parquet, Format::Arrow, Format::Json];

fn texts(lang: Lang) -> &'static Queries {
    &labels::of(lang).queries
}

/// A column of a result as the API's JSON header types it.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// `integer`, `number`, `decimal`, `boolean`, `timestamp` or `string`.
    pub json_type: String,
}

/// The part of a result a page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownResult {
    pub dataset_version: u64,
    /// The parameters as bound (defaults resolved), in the API's order.
    pub params: Vec<(String, String)>,
    pub columns: Vec<Column>,
    /// At most [`MAX_SHOWN_ROWS`] rows, each in column order.
    pub rows: Vec<Vec<Value>>,
    /// Every row of the result.
    pub row_count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Before `"rows":[`: the header is gathered.
    Head,
    /// Between rows, or inside one.
    Rows,
    /// After the rows' closing `]`.
    Tail,
}

/// Reads the named query API's JSON answer as it streams, chunk by chunk:
/// keeps the header and the first rows, counts the others without keeping
/// them, so a result of millions of rows costs the page no more memory
/// than its first rows.
pub struct ResultReader {
    keep: usize,
    phase: Phase,
    head: Vec<u8>,
    /// The row being read (only while it is kept).
    row: Vec<u8>,
    depth: u32,
    in_string: bool,
    escaped: bool,
    columns: Vec<Column>,
    dataset_version: u64,
    params: Vec<(String, String)>,
    rows: Vec<Vec<Value>>,
    count: u64,
    tail: Vec<u8>,
}

/// The mark that ends the header of the API's JSON answer. A raw `"`
/// never occurs inside a JSON string, and the header's values before the
/// rows are strings, numbers and objects of strings, so its first
/// occurrence is the rows' start.
const ROWS_MARK: &[u8] = b",\"rows\":[";

impl ResultReader {
    /// A reader keeping the first `keep` rows.
    pub fn new(keep: usize) -> Self {
        Self {
            keep,
            phase: Phase::Head,
            head: Vec::new(),
            row: Vec::new(),
            depth: 0,
            in_string: false,
            escaped: false,
            columns: Vec::new(),
            dataset_version: 0,
            params: Vec::new(),
            rows: Vec::new(),
            count: 0,
            tail: Vec::new(),
        }
    }

    /// Reads the next bytes of the answer.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), String> {
        if self.phase == Phase::Head {
            let seen = self.head.len();
            self.head.extend_from_slice(chunk);
            let from = seen.saturating_sub(ROWS_MARK.len());
            let Some(at) = self.head[from..]
                .windows(ROWS_MARK.len())
                .position(|w| w == ROWS_MARK)
                .map(|p| p + from)
            else {
                return Ok(());
            };
            let rest = self.head.split_off(at + ROWS_MARK.len());
            self.head.truncate(at);
            self.head.push(b'}');
            self.read_head()?;
            self.phase = Phase::Rows;
            return self.feed_rows(&rest);
        }
        if self.phase == Phase::Tail {
            self.tail.extend_from_slice(chunk);
            return Ok(());
        }
        self.feed_rows(chunk)
    }

    fn read_head(&mut self) -> Result<(), String> {
        let head: Value =
            serde_json::from_slice(&self.head).map_err(|e| format!("the answer's header is not JSON: {e}"))?;
        self.dataset_version = head["dataset_version"]
            .as_u64()
            .ok_or("the answer names no dataset version")?;
        self.params = head["params"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        self.columns = head["columns"]
            .as_array()
            .ok_or("the answer has no columns")?
            .iter()
            .map(|c| Column {
                name: c["name"].as_str().unwrap_or_default().to_string(),
                json_type: c["type"].as_str().unwrap_or("string").to_string(),
            })
            .collect();
        self.head = Vec::new();
        Ok(())
    }

    fn feed_rows(&mut self, bytes: &[u8]) -> Result<(), String> {
        let keeping = |s: &Self| s.rows.len() < s.keep;
        let mut start = None;
        for (i, &b) in bytes.iter().enumerate() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    if self.depth == 0 && keeping(self) {
                        start = Some(i);
                        self.row.clear();
                    }
                    self.depth += 1;
                }
                b'}' | b']' if self.depth == 0 => {
                    // The rows' closing bracket.
                    self.phase = Phase::Tail;
                    self.tail.extend_from_slice(&bytes[i + 1..]);
                    return Ok(());
                }
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        self.count += 1;
                        if keeping(self) {
                            let s = start.take().unwrap_or(0);
                            self.row.extend_from_slice(&bytes[s..=i]);
                            let row = std::mem::take(&mut self.row);
                            self.keep_row(&row)?;
                        }
                    }
                }
                _ => {}
            }
        }
        // A row continues in the next chunk.
        if self.depth > 0 && keeping(self) {
            self.row.extend_from_slice(&bytes[start.unwrap_or(0)..]);
        }
        Ok(())
    }

    fn keep_row(&mut self, row: &[u8]) -> Result<(), String> {
        let mut object: serde_json::Map<String, Value> =
            serde_json::from_slice(row).map_err(|e| format!("a row of the answer is not a JSON object: {e}"))?;
        let cells = self
            .columns
            .iter()
            .map(|c| object.remove(&c.name).unwrap_or(Value::Null))
            .collect();
        self.rows.push(cells);
        Ok(())
    }

    /// The result read, once the answer is complete.
    pub fn finish(self) -> Result<ShownResult, String> {
        if self.phase != Phase::Tail {
            return Err("the answer ended before its rows did".into());
        }
        let tail = String::from_utf8_lossy(&self.tail);
        let stated = tail.split("\"row_count\":").nth(1).and_then(|s| {
            s.trim_end_matches(|c: char| c == '}' || c.is_whitespace())
                .parse::<u64>()
                .ok()
        });
        if stated.is_some_and(|n| n != self.count) {
            return Err(format!("the answer states {stated:?} rows but holds {}", self.count));
        }
        Ok(ShownResult {
            dataset_version: self.dataset_version,
            params: self.params,
            columns: self.columns,
            rows: self.rows,
            row_count: self.count,
        })
    }
}

/// How a column's values are written, decided as the API's XLSX export
/// decides its number formats: by JSON type and column name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Đồng, exact, with thousands separators.
    Money,
    /// A fraction shown as a percentage.
    Share,
    /// Percentage points, signed.
    Points,
    /// A count, with thousands separators.
    Count,
    /// An integer that names something (a year, a version): as is.
    Plain,
    /// Any other number.
    Number,
    Bool,
    Time,
    Text,
}

impl Kind {
    fn of(c: &Column) -> Self {
        let name = c.name.as_str();
        let money_name = name.ends_with("_vnd") || name.contains("revenue");
        match c.json_type.as_str() {
            "decimal" if name.starts_with("weight") && !name.starts_with("weighted") => Kind::Number,
            "decimal" => Kind::Money,
            "integer" if money_name => Kind::Money,
            "integer" if name == "year" || name.ends_with("_year") || name.contains("version") => Kind::Plain,
            "integer" => Kind::Count,
            "number" if name.contains("share") || name == "target" => Kind::Share,
            "number" if name.ends_with("_pp") => Kind::Points,
            "number" => Kind::Number,
            "boolean" => Kind::Bool,
            "timestamp" => Kind::Time,
            _ => Kind::Text,
        }
    }

    fn numeric(self) -> bool {
        matches!(
            self,
            Kind::Money | Kind::Share | Kind::Points | Kind::Count | Kind::Number | Kind::Plain
        )
    }

    /// The unit a column header names, if any.
    fn unit(self, t: &Queries) -> Option<&'static str> {
        match self {
            Kind::Money => Some(t.unit_dong),
            _ => None,
        }
    }
}

/// Exact decimal text (`-1234567.5`) with the language's separators.
fn exact(text: &str, lang: Lang) -> String {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let Ok(int) = int.parse::<i128>() else {
        return text.to_string();
    };
    let mut out = format!("{sign}{}", locale::integer(int, lang));
    if !frac.is_empty() {
        out.push_str(labels::of(lang).number.point);
        out.push_str(frac);
    }
    out
}

/// A cell as shown: `x` when disclosure control withheld it.
fn cell_text(v: &Value, kind: Kind, withheld: bool, lang: Lang) -> String {
    let t = texts(lang);
    if v.is_null() {
        return if withheld { locale::SUPPRESSED } else { "–" }.to_string();
    }
    let number_text = || match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match kind {
        Kind::Money | Kind::Count | Kind::Number => exact(&number_text(), lang),
        Kind::Plain => number_text(),
        Kind::Share => v.as_f64().map_or_else(number_text, |f| locale::percent(f, 2, lang)),
        Kind::Points => v.as_f64().map_or_else(number_text, |f| locale::points(f, 2, lang)),
        Kind::Bool => match v.as_bool() {
            Some(true) => t.yes.to_string(),
            Some(false) => t.no.to_string(),
            None => number_text(),
        },
        Kind::Time => locale::local_time(&number_text(), lang),
        Kind::Text => {
            let s = number_text();
            match STATUSES.iter().find(|st| st.code() == s) {
                Some(st) => locale::status_label(*st, lang).to_string(),
                None => s,
            }
        }
    }
}

const STATUSES: [Status; 5] = [
    Status::Met,
    Status::Below,
    Status::NoTarget,
    Status::NoData,
    Status::Suppressed,
];

/// A query's title in the reader's language.
fn title(def: &QueryDef, lang: Lang) -> &str {
    lang.name(&def.title_vi, &def.title_en)
}

/// The query's description in the reader's language, else the one it has.
fn description(def: &QueryDef, lang: Lang) -> &str {
    match lang.name(&def.description_vi, &def.description) {
        "" => &def.description,
        d => d,
    }
}

/// Who may run a query, in words.
fn access_text(def: &QueryDef, lang: Lang) -> &'static str {
    let t = texts(lang);
    if def.protectable() {
        t.access_protected
    } else {
        t.access_full
    }
}

fn access_name(def: &QueryDef, lang: Lang) -> &'static str {
    let t = texts(lang);
    if def.protectable() {
        t.access_protected_name
    } else {
        t.access_full_name
    }
}

/// `/queries/NAME`: where a query's page is.
pub fn page_href(name: &str) -> String {
    format!("/queries/{name}")
}

/// The list of named queries; `problems` (the query files that could not
/// be read) only for those who may fix them.
pub fn list_page(frame: &Frame<'_>, listing: &Listing, show_problems: bool) -> String {
    let lang = frame.lang;
    let t = texts(lang);
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<h1>{}</h1><p class=\"sub\">{}</p>",
        esc(t.list_title),
        esc(t.list_intro)
    );
    let _ = write!(
        out,
        "<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        esc(&labels::fill(
            t.list_caption,
            &[("n", &listing.queries.len().to_string())]
        )),
        esc(t.col_query),
        esc(t.col_description),
        esc(t.col_access),
        esc(t.col_source),
    );
    for entry in listing.queries.values() {
        let d = &entry.def;
        let _ = write!(
            out,
            "<tr><th scope=\"row\"><a href=\"{}\">{}</a> <span class=\"code\">{}</span></th><td>{}</td><td><strong>{}</strong>: {}</td><td>{}</td></tr>",
            esc(&page_href(&d.name)),
            esc(title(d, lang)),
            esc(&d.name),
            esc(description(d, lang)),
            esc(access_name(d, lang)),
            esc(access_text(d, lang)),
            esc(match entry.source {
                Source::Builtin => t.source_builtin,
                Source::File(_) => t.source_file,
            }),
        );
    }
    out.push_str("</tbody></table>");
    if show_problems && !listing.problems.is_empty() {
        let _ = write!(
            out,
            "<section aria-labelledby=\"problems\"><h2 id=\"problems\">{}</h2><p>{}</p><table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            esc(t.problems_title),
            esc(t.problems_intro),
            esc(t.problems_title),
            esc(t.col_file),
            esc(t.col_problem),
        );
        for p in &listing.problems {
            let file = p
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let _ = write!(
                out,
                "<tr><th scope=\"row\">{}</th><td lang=\"en\">{}</td></tr>",
                esc(&file),
                esc(&p.message)
            );
        }
        out.push_str("</tbody></table></section>");
    }
    shell::page(frame, &out, "")
}

/// Why a query page shows no result: the API's error, as it gives it.
#[derive(Debug, Clone)]
pub struct PageError {
    pub code: String,
    /// The API's message (English, as the API writes it).
    pub message: String,
}

/// Everything a query's page shows.
pub struct QueryView<'a> {
    pub def: &'a QueryDef,
    /// The value each control holds: the caller's, the bound one, or the
    /// resolved default.
    pub values: Vec<(String, String)>,
    pub reference: &'a Reference,
    /// The version a permalink pinned (kept in the form).
    pub as_of: Option<u64>,
    pub result: Option<&'a ShownResult>,
    pub error: Option<&'a PageError>,
    pub disclosure: Rule,
    /// The version in force, bounding version parameters.
    pub latest_version: u64,
}

/// The page of an unknown query: the API's message.
pub fn unknown_page(frame: &Frame<'_>, error: &PageError) -> String {
    let t = texts(frame.lang);
    let mut out = format!("<h1>{}</h1>", esc(t.unknown_title));
    alert(&mut out, t, error);
    let _ = write!(out, "<p><a href=\"/queries\">{}</a></p>", esc(t.back));
    shell::page(frame, &out, "")
}

fn alert(out: &mut String, t: &Queries, error: &PageError) {
    let _ = write!(
        out,
        "<div class=\"alert\" role=\"alert\"><p><strong>{}</strong> <span class=\"code\">{}</span></p><p lang=\"en\">{}</p></div>",
        esc(t.error_title),
        esc(&error.code),
        esc(&error.message)
    );
}

/// The query string of a query's bound parameters (empty values kept: an
/// empty code means "all").
fn params_query(params: &[(String, String)]) -> String {
    serde_urlencoded::to_string(params).unwrap_or_default()
}

/// The API address of a result as a file: the same parameters, pinned to
/// the version shown.
pub fn download_href(name: &str, params: &[(String, String)], version: u64, format: Format) -> String {
    let mut q = params_query(params);
    if !q.is_empty() {
        q.push('&');
    }
    let _ = write!(q, "as_of={version}&format={}", format.name());
    format!("/api/v1/queries/{name}?{q}")
}

/// A query's page: its form, and the result when one was asked for.
pub fn query_page(frame: &Frame<'_>, v: &QueryView<'_>) -> String {
    let lang = frame.lang;
    let t = texts(lang);
    let def = v.def;
    let mut out = String::with_capacity(32 * 1024);
    let _ = write!(
        out,
        "<p><a href=\"/queries\">{}</a></p><h1>{}</h1><p class=\"sub\"><span class=\"code\">{}</span> · <strong>{}</strong>: {}</p>",
        esc(t.back),
        esc(title(def, lang)),
        esc(&def.name),
        esc(access_name(def, lang)),
        esc(access_text(def, lang)),
    );
    if !description(def, lang).is_empty() {
        let _ = write!(out, "<p>{}</p>", esc(description(def, lang)));
    }
    form(&mut out, v, lang, t);
    if let Some(e) = v.error {
        alert(&mut out, t, e);
    }
    let mut head = String::new();
    match v.result {
        Some(r) => head = result(&mut out, v, r, lang, t),
        None if v.error.is_none() => {
            let _ = write!(out, "<p>{}</p>", esc(t.not_run));
        }
        None => {}
    }
    shell::page(frame, &out, &head)
}

fn form(out: &mut String, v: &QueryView<'_>, lang: Lang, t: &Queries) {
    let _ = write!(
        out,
        "<form class=\"params\" method=\"get\" action=\"{}\"><fieldset><legend>{}</legend>",
        esc(&page_href(&v.def.name)),
        esc(t.params_legend)
    );
    let value_of = |name: &str| {
        v.values
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, val)| val.as_str())
    };
    for p in &v.def.params {
        control(out, p, value_of(&p.name), v, lang, t);
    }
    if let Some(version) = v.as_of {
        let _ = write!(out, "<input type=\"hidden\" name=\"as_of\" value=\"{version}\">");
    }
    let _ = write!(
        out,
        "<input type=\"hidden\" name=\"run\" value=\"1\"><button type=\"submit\">{}</button></fieldset></form>",
        esc(t.run)
    );
}

/// One control for a declared parameter, inside its label.
fn control(out: &mut String, p: &ParamDef, value: &str, v: &QueryView<'_>, lang: Lang, t: &Queries) {
    let id = format!("p-{}", p.name);
    let described = lang.name(&p.description_vi, &p.description_en);
    let label = if described.is_empty() {
        p.name.as_str()
    } else {
        described
    };
    let _ = write!(
        out,
        "<label for=\"{id}\">{} <span class=\"code\">{}</span> ",
        esc(label),
        esc(&p.name)
    );
    let name = esc(&p.name);
    let raw = value;
    let value = esc(value);
    match p.kind {
        ParamKind::Month => {
            let _ = write!(
                out,
                "<input type=\"month\" id=\"{id}\" name=\"{name}\" value=\"{value}\" pattern=\"[0-9]{{4}}-[0-9]{{2}}\">"
            );
        }
        ParamKind::Year => {
            let _ = write!(
                out,
                "<input type=\"number\" id=\"{id}\" name=\"{name}\" value=\"{value}\" min=\"2000\" max=\"2100\" step=\"1\" required>"
            );
        }
        ParamKind::Version => {
            let _ = write!(
                out,
                "<input type=\"number\" id=\"{id}\" name=\"{name}\" value=\"{value}\" min=\"0\" max=\"{}\" step=\"1\" required>",
                v.as_of.unwrap_or(v.latest_version)
            );
        }
        ParamKind::Integer => {
            let _ = write!(
                out,
                "<input type=\"number\" id=\"{id}\" name=\"{name}\" value=\"{value}\" step=\"1\" required>"
            );
        }
        ParamKind::Text => {
            let _ = write!(
                out,
                "<input type=\"text\" id=\"{id}\" name=\"{name}\" value=\"{value}\" maxlength=\"200\">"
            );
        }
        ParamKind::District => {
            let options = v
                .reference
                .districts
                .iter()
                .map(|d| (d.district_code.as_str(), lang.name(&d.district_name, &d.name_en), None));
            select(out, &id, &name, t.all_districts, options, raw);
        }
        ParamKind::Commune => {
            // Grouped under their former district.
            let options = v.reference.communes.iter().map(|c| {
                let district = v
                    .reference
                    .district(&c.district_code)
                    .map(|d| lang.name(&d.district_name, &d.name_en));
                (c.commune_code.as_str(), c.commune_name.as_str(), district)
            });
            select(out, &id, &name, t.all_communes, options, raw);
        }
        ParamKind::Sector => {
            let options = v
                .reference
                .sectors
                .iter()
                .map(|s| (s.group_code.as_str(), lang.name(&s.group_name, &s.name_en), None));
            select(out, &id, &name, t.all_sectors, options, raw);
        }
        ParamKind::Vsic => {
            // Grouped under their sector group.
            let options = v.reference.vsic.iter().map(|c| {
                let group = v
                    .reference
                    .sector(&c.group_code)
                    .map(|s| lang.name(&s.group_name, &s.name_en));
                (c.vsic_code.as_str(), c.vsic_name.as_str(), group)
            });
            select(out, &id, &name, t.all_vsic, options, raw);
        }
    }
    out.push_str("</label>");
}

/// A `<select>` with "all" (the empty code) first, then each code by name
/// and code, in `<optgroup>`s when options carry a group.
fn select<'a>(
    out: &mut String,
    id: &str,
    name: &str,
    all: &str,
    options: impl Iterator<Item = (&'a str, &'a str, Option<&'a str>)>,
    selected: &str,
) {
    let _ = write!(
        out,
        "<select id=\"{id}\" name=\"{name}\"><option value=\"\">{}</option>",
        esc(all)
    );
    let mut group: Option<&str> = None;
    for (code, text, in_group) in options {
        if in_group != group {
            if group.is_some() {
                out.push_str("</optgroup>");
            }
            if let Some(g) = in_group {
                let _ = write!(out, "<optgroup label=\"{}\">", esc(g));
            }
            group = in_group;
        }
        let mark = if code == selected { " selected" } else { "" };
        let _ = write!(
            out,
            "<option value=\"{}\"{mark}>{} ({})</option>",
            esc(code),
            esc(text),
            esc(code)
        );
    }
    if group.is_some() {
        out.push_str("</optgroup>");
    }
    out.push_str("</select>");
}

/// The result: version, count, the table, the downloads; returns the
/// page's own style (the numeric columns right-aligned).
fn result(out: &mut String, v: &QueryView<'_>, r: &ShownResult, lang: Lang, t: &Queries) -> String {
    let name = &v.def.name;
    let version = r.dataset_version.to_string();
    let total = locale::integer(i128::from(r.row_count), lang);
    let shown = locale::integer(r.rows.len() as i128, lang);
    let _ = write!(
        out,
        "<section aria-labelledby=\"result\"><h2 id=\"result\">{}</h2>",
        esc(t.result_title)
    );
    let _ = write!(
        out,
        "<p>{} {}</p>",
        esc(&labels::fill(t.computed_from, &[("version", &version)])),
        esc(&labels::fill(t.row_count, &[("total", &total)])),
    );
    let mut permalink = params_query(&r.params);
    if !permalink.is_empty() {
        permalink.push('&');
    }
    let _ = write!(permalink, "as_of={version}&run=1");
    let _ = write!(
        out,
        "<p><a href=\"{}\">{}</a></p>",
        esc(&format!("{}?{permalink}", page_href(name))),
        esc(&labels::fill(t.permalink, &[("version", &version)]))
    );
    // Downloads before the table: a keyboard user reaches them without
    // walking 500 rows.
    let _ = write!(
        out,
        "<nav aria-labelledby=\"downloads\"><h3 id=\"downloads\">{}</h3><p>{}</p><ul>",
        esc(t.downloads),
        esc(&labels::fill(t.downloads_note, &[("version", &version)]))
    );
    for f in DOWNLOADS {
        let _ = write!(
            out,
            "<li><a href=\"{}\" download>{}</a></li>",
            esc(&download_href(name, &r.params, r.dataset_version, f)),
            esc(format_label(f, t))
        );
    }
    out.push_str("</ul></nav>");
    let kinds: Vec<Kind> = r.columns.iter().map(Kind::of).collect();
    let suppressed_at = r
        .columns
        .iter()
        .position(|c| c.name == "suppressed" && c.json_type == "boolean");
    let withheld_rows = suppressed_at.map_or(0, |i| r.rows.iter().filter(|row| row[i] == Value::Bool(true)).count());
    if withheld_rows > 0 {
        let rule = v.disclosure;
        let _ = write!(
            out,
            "<p class=\"note\" id=\"withheld\">{} {}</p>",
            esc(&labels::fill(t.withheld_note, &[("withheld", locale::SUPPRESSED)])),
            esc(&labels::fill(
                labels::of(lang).report.method_disclosure,
                &[
                    ("min", &rule.min_enterprises.to_string()),
                    ("largest", &rule.dominance_n.to_string()),
                    ("percent", &rule.dominance_percent.to_string()),
                    ("withheld", locale::SUPPRESSED),
                ],
            ))
        );
    }
    let caption = if (r.rows.len() as u64) < r.row_count {
        labels::fill(
            t.caption_part,
            &[("title", title(v.def, lang)), ("shown", &shown), ("total", &total)],
        )
    } else {
        labels::fill(t.caption_all, &[("title", title(v.def, lang)), ("total", &total)])
    };
    let _ = write!(
        out,
        // A region the keyboard can scroll when the table is wider than the page.
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"result\"><table class=\"result\"><caption>{}</caption><thead><tr>",
        esc(&caption)
    );
    for (c, kind) in r.columns.iter().zip(&kinds) {
        match kind.unit(t) {
            Some(unit) => {
                let _ = write!(out, "<th scope=\"col\">{} ({})</th>", esc(&c.name), esc(unit));
            }
            None => {
                let _ = write!(out, "<th scope=\"col\">{}</th>", esc(&c.name));
            }
        }
    }
    out.push_str("</tr></thead><tbody>");
    // The columns that describe a row (its codes, names, target) are never
    // withheld: an empty one is the total row's code, not an x.
    let describing: Vec<bool> = r.columns.iter().map(|c| describes(&c.name)).collect();
    for row in &r.rows {
        let withheld = suppressed_at.is_some_and(|i| row[i] == Value::Bool(true));
        out.push_str("<tr>");
        for ((cell, kind), describes) in row.iter().zip(&kinds).zip(&describing) {
            let text = cell_text(cell, *kind, withheld && !describes, lang);
            let _ = write!(out, "<td>{}</td>", esc(&text));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    if r.rows.is_empty() {
        let _ = write!(out, "<p>{}</p>", esc(t.no_rows));
    } else if (r.rows.len() as u64) < r.row_count {
        let _ = write!(
            out,
            "<p class=\"note\">{}</p>",
            esc(&labels::fill(t.truncated, &[("shown", &shown), ("total", &total)]))
        );
    }
    out.push_str("</section>");
    // Right-align the numeric columns by position: one rule for the page
    // instead of a class on every cell.
    let numeric: Vec<String> = kinds
        .iter()
        .enumerate()
        .filter(|(_, k)| k.numeric())
        .map(|(i, _)| {
            format!(
                "table.result td:nth-child({n}),table.result thead th:nth-child({n})",
                n = i + 1
            )
        })
        .collect();
    let mut style = String::from(
        "<style>div.scroll{overflow-x:auto}div.scroll:focus-visible{outline:3px solid #0b57a4;outline-offset:2px}table.result td{white-space:nowrap}",
    );
    if !numeric.is_empty() {
        let _ = write!(
            style,
            "{}{{text-align:right;font-variant-numeric:tabular-nums}}",
            numeric.join(",")
        );
    }
    style.push_str("</style>");
    style
}

/// Whether a column describes its row rather than holding a figure, as
/// disclosure control decides what it withholds (`service::disclose`).
fn describes(column: &str) -> bool {
    crate::domain::Dim::ALL
        .iter()
        .any(|d| d.key_field() == column || d.name_field() == Some(column))
        || column.starts_with("target")
}

fn format_label(f: Format, t: &Queries) -> &'static str {
    match f {
        Format::Xlsx => t.format_xlsx,
        Format::Csv => t.format_csv,
        Format::Parquet => t.format_parquet,
        Format::Arrow => t.format_arrow,
        Format::Json => t.format_json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = r#"{"columns":[{"name":"district_code","type":"string"},{"name":"total_revenue_vnd","type":"decimal"},{"name":"share","type":"number"},{"name":"filings","type":"integer"},{"name":"suppressed","type":"boolean"}],"dataset_version":3,"params":{"from":"2025-01","to":"2025-03"},"query":"q","rows":[{"district_code":"380","total_revenue_vnd":"1234567.5","share":0.0725,"filings":1200,"suppressed":false},{"district_code":"38\"}]","total_revenue_vnd":null,"share":null,"filings":null,"suppressed":true},{"district_code":null,"total_revenue_vnd":"9","share":null,"filings":3,"suppressed":false}],"row_count":3}
"#;

    fn read(chunk: usize, keep: usize) -> ShownResult {
        let mut r = ResultReader::new(keep);
        for part in ANSWER.as_bytes().chunks(chunk) {
            r.feed(part).unwrap();
        }
        r.finish().unwrap()
    }

    #[test]
    fn the_answer_is_read_whatever_its_chunks_and_only_the_first_rows_kept() {
        let whole = read(ANSWER.len(), 10);
        assert_eq!(whole.dataset_version, 3);
        assert_eq!(
            whole.params,
            vec![("from".into(), "2025-01".into()), ("to".into(), "2025-03".into())]
        );
        assert_eq!(whole.row_count, 3);
        assert_eq!(whole.rows[1][0], Value::String("38\"}]".into()));
        for chunk in [1, 2, 7, 64] {
            assert_eq!(read(chunk, 10), whole, "chunks of {chunk}");
        }
        let two = read(5, 2);
        assert_eq!((two.rows.len(), two.row_count), (2, 3));
        assert_eq!(two.rows[..], whole.rows[..2]);
        let mut cut = ResultReader::new(5);
        cut.feed(&ANSWER.as_bytes()[..ANSWER.len() / 2]).unwrap();
        assert!(cut.finish().is_err(), "a cut answer is no result");
    }

    #[test]
    fn cells_are_written_in_the_readers_style_and_withheld_ones_as_x() {
        let r = read(ANSWER.len(), 10);
        let kinds: Vec<Kind> = r.columns.iter().map(Kind::of).collect();
        assert_eq!(kinds[..4], [Kind::Text, Kind::Money, Kind::Share, Kind::Count]);
        assert_eq!(cell_text(&r.rows[0][1], kinds[1], false, Lang::Vi), "1.234.567,5");
        assert_eq!(cell_text(&r.rows[0][1], kinds[1], false, Lang::En), "1,234,567.5");
        assert_eq!(cell_text(&r.rows[0][2], kinds[2], false, Lang::Vi), "7,25 %");
        assert_eq!(cell_text(&r.rows[0][3], kinds[3], false, Lang::Vi), "1.200");
        assert_eq!(cell_text(&r.rows[1][1], kinds[1], true, Lang::Vi), "x");
        assert_eq!(cell_text(&r.rows[2][2], kinds[2], false, Lang::Vi), "–");
        assert_eq!(exact("-1000.25", Lang::Vi), "-1.000,25");
        let year = Column {
            name: "year".into(),
            json_type: "integer".into(),
        };
        assert_eq!(cell_text(&Value::from(2025), Kind::of(&year), false, Lang::Vi), "2025");
        let status = Column {
            name: "status".into(),
            json_type: "string".into(),
        };
        assert_eq!(
            cell_text(&Value::from("met"), Kind::of(&status), false, Lang::Vi),
            "Đạt"
        );
    }

    #[test]
    fn a_withheld_rows_codes_names_and_target_are_not_withheld() {
        for column in [
            "district_code",
            "district_name",
            "sector_code",
            "vsic_code",
            "target",
            "target_share",
        ] {
            assert!(describes(column), "{column}");
        }
        for column in ["total_revenue_vnd", "share", "gap_pp", "status", "filings", "units"] {
            assert!(!describes(column), "{column}");
        }
    }

    #[test]
    fn downloads_carry_the_parameters_and_the_version_shown() {
        let params = vec![
            ("to".to_string(), "2025-03".to_string()),
            ("sector".to_string(), String::new()),
        ];
        assert_eq!(
            download_href("share_by_district", &params, 7, Format::Xlsx),
            "/api/v1/queries/share_by_district?to=2025-03&sector=&as_of=7&format=xlsx"
        );
    }
}
