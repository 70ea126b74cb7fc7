//! Named queries: the header of a `queries/NAME.sql` file (titles,
//! description, typed parameters with defaults) and the binding of a
//! caller's raw parameters to typed values.
//!
//! Pure text in, values out. The SQL itself is not interpreted here beyond
//! finding its `$name` placeholders, so that a query naming a parameter it
//! does not declare is refused when it is loaded, not when it is run.
//! Parameter values are bound by the engine, never spliced into SQL text.

use super::period::Period;
use super::reference::Reference;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The type of a query parameter: what a caller may give and how it is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `YYYY-MM`, bound as text.
    Month,
    /// A calendar year, bound as an integer.
    Year,
    /// A district code from the reference, or empty for all; text.
    District,
    /// A commune code (the 2025 communes) from the reference, or empty for all; text.
    Commune,
    /// A retail sector group code from the reference, or empty for all; text.
    Sector,
    /// A VSIC code from the reference, or empty for all; text.
    Vsic,
    /// A dataset version of this warehouse, at most the one read; integer.
    Version,
    /// Any integer.
    Integer,
    /// Any text (at most 200 characters).
    Text,
}

impl ParamKind {
    pub const ALL: [ParamKind; 9] = [
        Self::Month,
        Self::Year,
        Self::District,
        Self::Commune,
        Self::Sector,
        Self::Vsic,
        Self::Version,
        Self::Integer,
        Self::Text,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Year => "year",
            Self::District => "district",
            Self::Commune => "commune",
            Self::Sector => "sector",
            Self::Vsic => "vsic",
            Self::Version => "version",
            Self::Integer => "integer",
            Self::Text => "text",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    fn is_code(self) -> bool {
        matches!(self, Self::District | Self::Commune | Self::Sector | Self::Vsic)
    }
}

/// A parameter's default, resolved against the dataset being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamDefault {
    /// A fixed value, checked like a caller's.
    Value(String),
    /// Month: the latest month with data, minus `n` months. Year: the year of
    /// the latest month with data. Version: the version read, minus `n`.
    Latest(u32),
    /// Month: January of the year of another month parameter's value
    /// (`year_start(to)`), or of the latest month (`year_start`).
    YearStart(Option<String>),
    /// Codes: empty, meaning every code.
    All,
}

impl ParamDefault {
    fn parse(kind: ParamKind, s: &str) -> Result<Self, String> {
        let s = s.trim();
        let latest = |rest: &str| -> Option<u32> {
            match rest {
                "" => Some(0),
                _ => rest.strip_prefix('-').and_then(|n| n.parse().ok()),
            }
        };
        let default = if let Some(n) = s.strip_prefix("latest").and_then(latest) {
            ParamDefault::Latest(n)
        } else if s == "year_start" {
            ParamDefault::YearStart(None)
        } else if let Some(of) = s.strip_prefix("year_start(").and_then(|r| r.strip_suffix(')')) {
            if !is_identifier(of.trim()) {
                return Err(format!("default {s:?}: year_start() takes a parameter name"));
            }
            ParamDefault::YearStart(Some(of.trim().to_string()))
        } else if s == "all" {
            ParamDefault::All
        } else {
            ParamDefault::Value(s.trim_matches('"').to_string())
        };
        let fits = match (&default, kind) {
            (ParamDefault::Latest(_), ParamKind::Month | ParamKind::Version) => true,
            (ParamDefault::Latest(0), ParamKind::Year) => true,
            (ParamDefault::YearStart(_), ParamKind::Month) => true,
            (ParamDefault::All, k) => k.is_code(),
            (ParamDefault::Value(_), _) => true,
            _ => false,
        };
        if fits {
            Ok(default)
        } else {
            Err(format!("default {s:?} does not apply to a {} parameter", kind.name()))
        }
    }
}

impl fmt::Display for ParamDefault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value(v) => write!(f, "{v}"),
            Self::Latest(0) => write!(f, "latest"),
            Self::Latest(n) => write!(f, "latest-{n}"),
            Self::YearStart(None) => write!(f, "year_start"),
            Self::YearStart(Some(p)) => write!(f, "year_start({p})"),
            Self::All => write!(f, "all"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamDef {
    pub name: String,
    pub kind: ParamKind,
    pub default: ParamDefault,
    pub description_vi: String,
    pub description_en: String,
}

/// A named query: its header and its SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryDef {
    pub name: String,
    pub title_vi: String,
    pub title_en: String,
    /// `description`: in English (a dropped-in file may give only this one).
    pub description: String,
    /// `description.vi`; empty when the file gives none.
    pub description_vi: String,
    pub params: Vec<ParamDef>,
    pub sql: String,
    /// `-- cells: by=district from=$from to=$to sector=$sector`: the rows are
    /// the cells of this share breakdown (and its total), so disclosure
    /// control can withhold the same cells the share API withholds.
    pub cells: Option<Cells>,
    /// `-- release: by=district from=$period to=$period`: the share
    /// breakdown whose release states and response rates the rows carry
    /// (columns `release` and `response_rate`, last), for a query whose
    /// rows are not cells disclosure control withholds (counts, changes,
    /// filings). A query with `cells` carries them from its cells.
    pub release: Option<Cells>,
    /// `-- disclosure: counts`: the rows publish counts of filings and units
    /// only, no revenue, so disclosure control has nothing to withhold.
    pub counts_only: bool,
}

impl QueryDef {
    /// Whether callers with protected figures may run the query: its rows
    /// are the cells of a share breakdown disclosure control can withhold,
    /// or they hold no revenue at all. Any other query (filing by filing,
    /// or figures of tables the share API does not publish) needs full
    /// access.
    pub fn protectable(&self) -> bool {
        self.cells.is_some() || self.counts_only
    }
}

/// The share breakdown a query's rows are the cells of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cells {
    pub by: Vec<super::Dim>,
    /// Share parameters (from, to, district, sector, vsic) as templates.
    pub params: Vec<(String, CellValue)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellValue {
    Literal(String),
    /// `$name`: the bound value of a parameter.
    Param(String),
    /// `year_start($name)`: January of a month parameter's year.
    YearStart(String),
}

impl Cells {
    fn parse(field: &str, value: &str, declared: &[ParamDef]) -> Result<Self, String> {
        let mut by = None;
        let mut params = Vec::new();
        for part in value.split_whitespace() {
            let (key, v) = part
                .split_once('=')
                .ok_or_else(|| format!("{field}: {part:?} is not key=value"))?;
            if key == "by" {
                let dims = v
                    .split(',')
                    .map(|d| super::Dim::parse(d).ok_or_else(|| format!("{field}: by={v}: {d:?} is not a dimension")))
                    .collect::<Result<Vec<_>, _>>()?;
                by = Some(dims);
                continue;
            }
            if !["from", "to", "district", "sector", "vsic"].contains(&key) {
                return Err(format!(
                    "{field}: {key:?} is not a share parameter (from, to, district, sector, vsic)"
                ));
            }
            let param = |name: &str| -> Result<String, String> {
                if declared.iter().any(|p| p.name == name) {
                    Ok(name.to_string())
                } else {
                    Err(format!("{field}: ${name} is not a declared parameter"))
                }
            };
            let value = if let Some(inner) = v.strip_prefix("year_start($").and_then(|r| r.strip_suffix(')')) {
                CellValue::YearStart(param(inner)?)
            } else if let Some(name) = v.strip_prefix('$') {
                CellValue::Param(param(name)?)
            } else {
                CellValue::Literal(v.to_string())
            };
            params.push((key.to_string(), value));
        }
        Ok(Self {
            by: by.ok_or_else(|| format!("{field}: give by=DIMENSIONS"))?,
            params,
        })
    }

    /// The share parameters for bound values: `(name, value)` pairs.
    pub fn resolve(&self, bound: &[(String, BoundValue)]) -> Vec<(String, String)> {
        let value_of = |name: &str| {
            bound
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        self.params
            .iter()
            .map(|(key, v)| {
                let value = match v {
                    CellValue::Literal(s) => s.clone(),
                    CellValue::Param(p) => value_of(p),
                    CellValue::YearStart(p) => {
                        let m = value_of(p);
                        format!("{}-01", m.get(..4).unwrap_or(""))
                    }
                };
                (key.clone(), value)
            })
            .collect()
    }
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BoundValue {
    Text(String),
    Int(i64),
}

impl fmt::Display for BoundValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(s) => write!(f, "{s}"),
            Self::Int(i) => write!(f, "{i}"),
        }
    }
}

/// What defaults and checks depend on.
pub struct BindContext<'a> {
    /// The latest month with data (or the current month when there is none).
    pub latest_month: Period,
    /// The dataset version being read.
    pub version: u64,
    pub reference: &'a Reference,
}

/// Why a caller's parameters cannot be bound; `code` is the API's error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindError {
    pub code: &'static str,
    pub message: String,
}

impl BindError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Longest text a `text` parameter takes.
const MAX_TEXT: usize = 200;

/// Names a query file may not give a parameter: they steer the request.
pub const RESERVED_PARAMS: [&str; 3] = ["format", "as_of", "lang"];

/// True for a name made of lower-case ASCII letters, digits and `_`,
/// starting with a letter.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl QueryDef {
    /// Parses a query file. `name` is the file stem; a `-- name:` line, if
    /// any, must agree with it.
    ///
    /// The header is the leading run of `--` comment lines: `-- key: value`
    /// starts a field; a comment line indented by more than one space
    /// continues the previous one. Fields: `name`, `title.vi`, `title.en`,
    /// `description` (English), `description.vi`, and any number of
    /// `param: NAME TYPE = DEFAULT | mô tả | description`.
    pub fn parse(name: &str, text: &str) -> Result<Self, String> {
        if !is_identifier(name) {
            return Err(format!(
                "{name:?} is not a query name (lower-case letters, digits and _, starting with a letter)"
            ));
        }
        let (fields, sql) = split_header(text)?;
        if sql.is_empty() {
            return Err("the file has no SQL after its header".into());
        }
        let mut def = QueryDef {
            name: name.to_string(),
            title_vi: String::new(),
            title_en: String::new(),
            description: String::new(),
            description_vi: String::new(),
            params: Vec::new(),
            sql,
            cells: None,
            release: None,
            counts_only: false,
        };
        let (mut cells, mut release) = (None, None);
        for (key, value) in fields {
            match key.as_str() {
                "name" if value != name => {
                    return Err(format!("the header names {value:?} but the file is {name}.sql"));
                }
                "name" => {}
                "title.vi" => def.title_vi = value,
                "title.en" => def.title_en = value,
                "description" => def.description = value,
                "description.vi" => def.description_vi = value,
                "param" => {
                    let p = parse_param(&value)?;
                    if def.params.iter().any(|q| q.name == p.name) {
                        return Err(format!("parameter {} is declared twice", p.name));
                    }
                    def.params.push(p);
                }
                "cells" => cells = Some(value),
                "release" => release = Some(value),
                "disclosure" if value == "counts" => def.counts_only = true,
                "disclosure" => {
                    return Err(format!(
                        "disclosure: {value:?} is not known; the one value is \"counts\" (the rows hold no revenue)"
                    ));
                }
                other => return Err(format!("unknown header field {other:?}")),
            }
        }
        if let Some(value) = cells {
            def.cells = Some(Cells::parse("cells", &value, &def.params)?);
        }
        match (release, &def.cells) {
            (Some(_), Some(_)) => {
                return Err("give cells or release, not both: a query with cells carries its cells' release".into());
            }
            (Some(value), None) => def.release = Some(Cells::parse("release", &value, &def.params)?),
            (None, _) => {}
        }
        if def.title_vi.is_empty() || def.title_en.is_empty() {
            return Err("the header needs both title.vi and title.en".into());
        }
        def.check_params()?;
        Ok(def)
    }

    /// Every `year_start(p)` default names a month parameter with a
    /// default of its own kind, and the SQL uses exactly the declared
    /// parameters.
    fn check_params(&self) -> Result<(), String> {
        for p in &self.params {
            if let ParamDefault::YearStart(Some(of)) = &p.default {
                let refers = self.params.iter().find(|q| &q.name == of);
                if !refers.is_some_and(|q| {
                    q.kind == ParamKind::Month && !matches!(q.default, ParamDefault::YearStart(Some(_)))
                }) {
                    return Err(format!(
                        "param {}: year_start({of}) needs a month parameter {of} with a default of its own kind",
                        p.name
                    ));
                }
            }
        }
        let declared: BTreeSet<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
        let used = placeholders(&self.sql);
        if let Some(undeclared) = used.iter().find(|u| !declared.contains(u.as_str())) {
            return Err(format!("the SQL uses ${undeclared}, which the header does not declare"));
        }
        if let Some(unused) = declared.iter().find(|d| !used.contains(**d)) {
            return Err(format!(
                "parameter {unused} is declared but the SQL never uses ${unused}"
            ));
        }
        Ok(())
    }

    /// Binds a caller's raw parameters: every declared parameter gets the
    /// caller's value or its default, checked against its type. A name the
    /// query does not declare is refused.
    pub fn bind(
        &self,
        raw: &BTreeMap<String, String>,
        ctx: &BindContext<'_>,
    ) -> Result<Vec<(String, BoundValue)>, BindError> {
        if let Some(unknown) = raw.keys().find(|k| !self.params.iter().any(|p| &p.name == *k)) {
            let known: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
            return Err(BindError::new(
                "unknown_parameter",
                format!(
                    "query {} has no parameter {unknown:?}; it takes: {}",
                    self.name,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        // An empty month means its default (forms send empty fields); an
        // empty code or text is a value ("all", ""); other types need one.
        let given = |p: &ParamDef| {
            raw.get(&p.name)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty() || p.kind != ParamKind::Month)
        };
        // Parameters whose default names another are bound after the others.
        let mut values: BTreeMap<&str, BoundValue> = BTreeMap::new();
        for pass in 0..2 {
            for p in &self.params {
                let dependent = matches!(p.default, ParamDefault::YearStart(Some(_)));
                if dependent != (pass == 1) {
                    continue;
                }
                let value = match given(p) {
                    Some(v) => check(p, v, ctx)?,
                    None => resolve_default(p, ctx, &values)?,
                };
                values.insert(&p.name, value);
            }
        }
        check_ranges(&values)?;
        Ok(self
            .params
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    values.remove(p.name.as_str()).expect("every parameter is bound"),
                )
            })
            .collect())
    }
}

fn parse_param(value: &str) -> Result<ParamDef, String> {
    let mut parts = value.split('|').map(str::trim);
    let signature = parts.next().unwrap_or("");
    let description_vi = parts.next().unwrap_or("").to_string();
    let description_en = parts.next().unwrap_or("").to_string();
    if parts.next().is_some() {
        return Err(format!("param {value:?}: at most `signature | vi | en`"));
    }
    let (decl, default) = signature
        .split_once('=')
        .ok_or_else(|| format!("param {signature:?} has no default (`NAME TYPE = DEFAULT`)"))?;
    let mut words = decl.split_whitespace();
    let (Some(name), Some(kind), None) = (words.next(), words.next(), words.next()) else {
        return Err(format!("param {signature:?} is not `NAME TYPE = DEFAULT`"));
    };
    if !is_identifier(name) {
        return Err(format!("param name {name:?} is not an identifier"));
    }
    if RESERVED_PARAMS.contains(&name) {
        return Err(format!("param name {name:?} is reserved"));
    }
    let kind = ParamKind::parse(kind).ok_or_else(|| {
        format!(
            "param {name}: type {kind:?} is not one of {}",
            ParamKind::ALL.map(ParamKind::name).join(", ")
        )
    })?;
    let default = ParamDefault::parse(kind, default).map_err(|e| format!("param {name}: {e}"))?;
    Ok(ParamDef {
        name: name.to_string(),
        kind,
        default,
        description_vi,
        description_en,
    })
}

/// The `$name` placeholders of `sql`, outside string literals, quoted
/// identifiers and comments.
pub fn placeholders(sql: &str) -> BTreeSet<String> {
    let b = sql.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'$' => {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
                    end += 1;
                }
                if end > start {
                    out.insert(sql[start..end].to_string());
                }
                i = end.max(i + 1);
            }
            _ => i += 1,
        }
    }
    out
}

/// `from` must not come after `to`, nor `from_X` after `to_X`.
fn check_ranges(values: &BTreeMap<&str, BoundValue>) -> Result<(), BindError> {
    for (name, from) in values {
        let Some(suffix) = name.strip_prefix("from") else {
            continue;
        };
        let Some(to) = values.get(format!("to{suffix}").as_str()) else {
            continue;
        };
        let after = match (from, to) {
            (BoundValue::Text(a), BoundValue::Text(b)) => a > b,
            (BoundValue::Int(a), BoundValue::Int(b)) => a > b,
            _ => false,
        };
        if after {
            return Err(BindError::new(
                "invalid_range",
                format!("{name}={from} is after to{suffix}={to}"),
            ));
        }
    }
    Ok(())
}

fn resolve_default(
    p: &ParamDef,
    ctx: &BindContext<'_>,
    bound: &BTreeMap<&str, BoundValue>,
) -> Result<BoundValue, BindError> {
    let latest = ctx.latest_month;
    Ok(match (&p.default, p.kind) {
        (ParamDefault::Value(v), _) => return check(p, v, ctx),
        (ParamDefault::Latest(n), ParamKind::Month) => {
            BoundValue::Text(latest.add_months(-(*n as i32)).unwrap_or(latest).to_string())
        }
        (ParamDefault::Latest(_), ParamKind::Year) => BoundValue::Int(i64::from(latest.year())),
        (ParamDefault::Latest(n), ParamKind::Version) => {
            BoundValue::Int(ctx.version.saturating_sub(u64::from(*n)) as i64)
        }
        (ParamDefault::YearStart(of), _) => {
            let year = match of.as_deref().and_then(|o| bound.get(o)) {
                Some(BoundValue::Text(month)) => Period::parse(month).map_or(latest.year(), Period::year),
                _ => latest.year(),
            };
            BoundValue::Text(Period::new(year, 1).expect("January of a valid year").to_string())
        }
        (ParamDefault::All, _) => BoundValue::Text(String::new()),
        (d, kind) => unreachable!("default {d} was checked against {}", kind.name()),
    })
}

fn check(p: &ParamDef, v: &str, ctx: &BindContext<'_>) -> Result<BoundValue, BindError> {
    let name = &p.name;
    let int = |v: &str| v.parse::<i64>().ok();
    match p.kind {
        ParamKind::Month => Period::parse(v)
            .map(|m| BoundValue::Text(m.to_string()))
            .ok_or_else(|| BindError::new("invalid_period", format!("{name}={v:?} is not a month written YYYY-MM"))),
        ParamKind::Year => match int(v) {
            Some(y) if (1..=9999).contains(&y) => Ok(BoundValue::Int(y)),
            _ => Err(BindError::new(
                "invalid_parameter",
                format!("{name}={v:?} is not a year (YYYY)"),
            )),
        },
        ParamKind::Version => match int(v) {
            Some(n) if n >= 0 && (n as u64) <= ctx.version => Ok(BoundValue::Int(n)),
            Some(n) if n >= 0 => Err(BindError::new(
                "unknown_version",
                format!("{name}={n}: the dataset read is at version {}", ctx.version),
            )),
            _ => Err(BindError::new(
                "invalid_parameter",
                format!("{name}={v:?} is not a dataset version (a whole number)"),
            )),
        },
        ParamKind::Integer => int(v)
            .map(BoundValue::Int)
            .ok_or_else(|| BindError::new("invalid_parameter", format!("{name}={v:?} is not a whole number"))),
        ParamKind::Text if v.chars().count() > MAX_TEXT => Err(BindError::new(
            "invalid_parameter",
            format!("{name} is longer than {MAX_TEXT} characters"),
        )),
        ParamKind::Text => Ok(BoundValue::Text(v.to_string())),
        ParamKind::District | ParamKind::Commune | ParamKind::Sector | ParamKind::Vsic => {
            let (known, code, what) = match p.kind {
                ParamKind::District => (ctx.reference.district(v).is_some(), "unknown_district", "district code"),
                ParamKind::Commune => (ctx.reference.commune(v).is_some(), "unknown_commune", "commune code"),
                ParamKind::Sector => (ctx.reference.sector(v).is_some(), "unknown_sector", "sector group code"),
                _ => (ctx.reference.vsic(v).is_some(), "unknown_vsic", "VSIC code"),
            };
            if v.is_empty() || known {
                Ok(BoundValue::Text(v.to_string()))
            } else {
                Err(BindError::new(code, format!("{name}={v:?} is not a known {what}")))
            }
        }
    }
}

/// A query file's header fields (`-- key: value`, continuation lines
/// joined) and the SQL after them.
fn split_header(text: &str) -> Result<(Vec<(String, String)>, String), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut body_start = text.len();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        let Some(comment) = trimmed.strip_prefix("--") else {
            if trimmed.trim().is_empty() && fields.is_empty() {
                offset += line.len();
                continue;
            }
            body_start = offset;
            break;
        };
        offset += line.len();
        if comment.starts_with("  ") || comment.starts_with('\t') {
            match fields.last_mut() {
                Some((_, value)) => {
                    value.push(' ');
                    value.push_str(comment.trim());
                }
                None => return Err("a continuation line before any header field".into()),
            }
            continue;
        }
        let comment = comment.trim();
        if comment.is_empty() {
            continue;
        }
        let (key, value) = comment
            .split_once(':')
            .ok_or_else(|| format!("header line {comment:?} is not `key: value`"))?;
        fields.push((key.trim().to_string(), value.trim().to_string()));
    }
    let sql = text[body_start.min(text.len())..].trim().to_string();
    Ok((fields, sql))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::builtin_reference;

    const HEADER: &str = "-- name: demo\n-- title.vi: Thử\n-- title.en: Demo\n-- description: One line\n--   and its continuation.\n-- param: to month = latest | Đến tháng | Last month\n-- param: from month = year_start(to) | Từ tháng | First month\n-- param: district district = all | Huyện | District\n-- param: v version = latest-1\nSELECT 1 WHERE $to >= $from AND ($district = '' OR 'x' = $district) AND $v >= 0 AND '$not' = '--$no'\n";

    fn ctx(r: &Reference) -> BindContext<'_> {
        BindContext {
            latest_month: Period::parse("2025-03").unwrap(),
            version: 7,
            reference: r,
        }
    }

    #[test]
    fn a_header_parses_into_titles_and_typed_params() {
        let d = QueryDef::parse("demo", HEADER).unwrap();
        assert_eq!(d.title_vi, "Thử");
        assert_eq!(d.description, "One line and its continuation.");
        assert_eq!(d.params.len(), 4);
        assert_eq!(d.params[1].default, ParamDefault::YearStart(Some("to".into())));
        assert_eq!(d.params[2].kind, ParamKind::District);
        assert_eq!(d.params[0].description_en, "Last month");
        assert!(d.sql.starts_with("SELECT 1"));
    }

    #[test]
    fn a_description_in_vietnamese_and_a_commune_parameter() {
        let text = "-- name: demo\n-- title.vi: Thử\n-- title.en: Demo\n-- description.vi: Một dòng\n--   và phần tiếp.\n-- description: One line\n-- param: c commune = all | Xã | Commune\nSELECT $c AS c\n";
        let d = QueryDef::parse("demo", text).unwrap();
        assert_eq!(d.description_vi, "Một dòng và phần tiếp.");
        assert_eq!(d.description, "One line");
        assert_eq!(d.params[0].kind, ParamKind::Commune);
        let r = builtin_reference();
        let commune = r.communes[0].commune_code.clone();
        let bind = |v: &str| d.bind(&BTreeMap::from([("c".to_string(), v.to_string())]), &ctx(&r));
        assert!(bind(&commune).is_ok());
        assert!(bind("").is_ok(), "empty: all");
        assert_eq!(bind("99999").unwrap_err().code, "unknown_commune");
    }

    #[test]
    fn a_query_is_protectable_by_its_cells_or_by_holding_counts_only() {
        let plain = QueryDef::parse("demo", HEADER).unwrap();
        assert!(!plain.protectable(), "neither cells nor counts: admins only");
        let head = "-- name: demo\n-- title.vi: Thử\n-- title.en: Test\n";
        let counts = QueryDef::parse("demo", &format!("{head}-- disclosure: counts\nSELECT 1")).unwrap();
        assert!(counts.counts_only && counts.protectable());
        let unknown = QueryDef::parse("demo", &format!("{head}-- disclosure: none\nSELECT 1")).unwrap_err();
        assert!(unknown.contains("\"counts\""), "{unknown}");
    }

    #[test]
    fn a_release_breakdown_annotates_without_making_a_query_protectable() {
        let head =
            "-- name: demo\n-- title.vi: Thử\n-- title.en: Test\n-- param: period month = latest | Tháng | Month\n";
        let d = QueryDef::parse(
            "demo",
            &format!("{head}-- release: by=district from=$period to=$period\nSELECT $period"),
        )
        .unwrap();
        let release = d.release.as_ref().expect("parsed");
        assert_eq!(release.by, vec![crate::domain::Dim::District]);
        assert!(
            d.cells.is_none() && !d.protectable(),
            "a release breakdown withholds nothing"
        );
        let both =
            format!("{head}-- cells: by=district from=$period to=$period\n-- release: by=district\nSELECT $period");
        assert!(QueryDef::parse("demo", &both).unwrap_err().contains("not both"));
        let unknown = QueryDef::parse(
            "demo",
            &format!("{head}-- release: by=district to=$month\nSELECT $period"),
        )
        .unwrap_err();
        assert_eq!(unknown, "release: $month is not a declared parameter");
    }

    #[test]
    fn defaults_resolve_against_the_dataset() {
        let r = builtin_reference();
        let d = QueryDef::parse("demo", HEADER).unwrap();
        let bound = d.bind(&BTreeMap::new(), &ctx(&r)).unwrap();
        assert_eq!(
            bound,
            vec![
                ("to".into(), BoundValue::Text("2025-03".into())),
                ("from".into(), BoundValue::Text("2025-01".into())),
                ("district".into(), BoundValue::Text(String::new())),
                ("v".into(), BoundValue::Int(6)),
            ]
        );
    }

    #[test]
    fn callers_values_are_checked_by_type() {
        let r = builtin_reference();
        let d = QueryDef::parse("demo", HEADER).unwrap();
        let bind = |k: &str, v: &str| d.bind(&BTreeMap::from([(k.to_string(), v.to_string())]), &ctx(&r));
        assert_eq!(bind("to", "2025-13").unwrap_err().code, "invalid_period");
        assert_eq!(bind("district", "999").unwrap_err().code, "unknown_district");
        assert_eq!(bind("v", "8").unwrap_err().code, "unknown_version");
        assert_eq!(bind("v", "x").unwrap_err().code, "invalid_parameter");
        assert_eq!(bind("nope", "1").unwrap_err().code, "unknown_parameter");
        assert_eq!(bind("district", "380").unwrap()[2].1, BoundValue::Text("380".into()));
        // `from` defaults to January of the `to` given, and may not pass it.
        assert_eq!(bind("to", "2024-06").unwrap()[1].1, BoundValue::Text("2024-01".into()));
        assert_eq!(bind("from", "2025-04").unwrap_err().code, "invalid_range");
        // An injection attempt is a value like any other: it is not a month.
        assert_eq!(bind("to", "2025-01' OR 1=1 --").unwrap_err().code, "invalid_period");
    }

    #[test]
    fn placeholders_skip_strings_and_comments() {
        let p = placeholders("SELECT $a, '$b', \"$c\" -- $d\n /* $e */ FROM t WHERE x = $f_2 AND y = 'it''s $g'");
        assert_eq!(p.into_iter().collect::<Vec<_>>(), vec!["a", "f_2"]);
    }

    #[test]
    fn broken_headers_are_refused_with_the_reason() {
        let parse = |t: &str| QueryDef::parse("q", t).unwrap_err();
        assert!(parse("-- title.vi: a\nSELECT 1").contains("title.en"));
        assert!(parse("-- title.vi: a\n-- title.en: b\nSELECT $x").contains("$x"));
        assert!(parse("-- title.vi: a\n-- title.en: b\n-- param: x month = latest\nSELECT 1").contains("never uses"));
        assert!(parse("-- title.vi: a\n-- title.en: b\n-- param: x colour = red\nSELECT $x").contains("type"));
        assert!(parse("-- title.vi: a\n-- title.en: b\n-- param: x year = year_start\nSELECT $x").contains("default"));
        assert!(
            parse("-- title.vi: a\n-- title.en: b\n-- param: format text = a\nSELECT $format").contains("reserved")
        );
        assert!(parse("-- name: other\n-- title.vi: a\n-- title.en: b\nSELECT 1").contains("other"));
        assert!(QueryDef::parse("Bad-Name", "SELECT 1").is_err());
    }
}
