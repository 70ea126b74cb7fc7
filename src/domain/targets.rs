//! Targets as programmes: the rows of `targets.csv`
//! (`program,indicator,scope,year,kind,low,high,source`), each programme's
//! value for a year and a scope (a point target, or a year on a horizon's
//! linear path), and which programme governs. Also reads the former
//! three-column file (`year,scope,target_share,source`) as the programme
//! `legacy`. Owns the path rule and the programme choice; knows nothing of
//! districts or communes (the reference checks scopes) and reads no file.
//!
//! The rules, as the methodology states them:
//! - A `point` row is the target of its year only.
//! - A horizon's path runs linearly, for `low` and `high` separately, from
//!   the programme's `baseline` row (same indicator and scope) to the
//!   `horizon` value, over whole years: in year y between the baseline year
//!   b and the horizon year h, `v(y) = v(b) + (v(h) − v(b)) × (y − b) / (h − b)`,
//!   an exact fraction. The baseline year itself is the previous
//!   programme's (no value); years after the horizon keep the horizon
//!   value. Several horizons of one programme make a path through each in
//!   turn. A horizon without a baseline has a value from its year on. A
//!   point row of the same programme wins over its path in its year.
//!   `high` has a path only where both ends have one ("at least" else).
//! - The programme `legacy` keeps the former rule: its target for a year is
//!   its row with the greatest year not after it.
//! - The governing programme for a year and scope: a district's or
//!   commune's own rows first, then the province's; among the programmes
//!   with a value there, the first of the configured priority, else a
//!   provincial programme (an id ending in `-UBND`, the numbering of a
//!   provincial People's Committee's documents), else the newest national
//!   programme, else `legacy`. Newest is the programme whose first row
//!   comes later in the file: rows of newer programmes come after older
//!   ones.

use super::reference::{ReferenceError, Table};
use serde::Serialize;
use std::collections::HashSet;

/// The programme of the former three-column `targets.csv`.
pub const LEGACY: &str = "legacy";

/// What a target measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// E-commerce revenue over total retail revenue.
    EcommerceShare,
    /// Year-on-year growth of e-commerce revenue.
    EcommerceGrowth,
    /// Share of communes in force with at least one effective filing with
    /// e-commerce revenue above zero in the period.
    CommunesSellingOnline,
}

impl Indicator {
    pub const ALL: [Indicator; 3] = [Self::EcommerceShare, Self::EcommerceGrowth, Self::CommunesSellingOnline];

    pub fn code(self) -> &'static str {
        match self {
            Self::EcommerceShare => "ecommerce_share",
            Self::EcommerceGrowth => "ecommerce_growth",
            Self::CommunesSellingOnline => "communes_selling_online",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.code() == s)
    }
}

/// What a row of the table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// The target for that year.
    Point,
    /// To be reached by that year.
    Horizon,
    /// The starting value of a horizon's path.
    Baseline,
}

impl RowKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Point => "point",
            Self::Horizon => "horizon",
            Self::Baseline => "baseline",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Point, Self::Horizon, Self::Baseline]
            .into_iter()
            .find(|k| k.code() == s)
    }
}

/// How a programme's value for a year came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// A point row (for `legacy`, the latest not after the year).
    Point,
    /// A year on a horizon's path (or at or after its horizon).
    Path,
}

impl ValueKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Point => "point",
            Self::Path => "path",
        }
    }
}

/// An exact fraction in [0, 1], always reduced (so equal values are equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fraction {
    numerator: u64,
    denominator: u64,
}

impl Fraction {
    /// `n / d` reduced, `None` unless 0 ≤ n ≤ d, d > 0, and the reduced
    /// terms fit in 64 bits.
    pub fn new(n: u128, d: u128) -> Option<Self> {
        if d == 0 || n > d {
            return None;
        }
        let g = gcd(n, d).max(1);
        Some(Self {
            numerator: u64::try_from(n / g).ok()?,
            denominator: u64::try_from(d / g).ok()?,
        })
    }

    pub fn numerator(self) -> u64 {
        self.numerator
    }

    pub fn denominator(self) -> u64 {
        self.denominator
    }

    /// The nearest number, for display and JSON only (decisions use the terms).
    pub fn value(self) -> f64 {
        self.numerator as f64 / self.denominator as f64
    }

    /// Parses a decimal in [0, 1] with at most 12 fractional digits.
    pub fn parse_decimal(s: &str) -> Option<Self> {
        let (n, d) = super::reference::parse_fraction(s)?;
        Self::new(u128::from(n), u128::from(d))
    }

    /// The value `k / span` of the way from `a` to `b`, exactly:
    /// (a × (span − k) + b × k) / span, with 0 ≤ k ≤ span.
    fn between(a: Self, b: Self, k: u128, span: u128) -> Option<Self> {
        if span == 0 || k > span {
            return None;
        }
        // Denominators divide 10^12 and span < 2^16: every product fits in u128.
        let (an, ad) = (u128::from(a.numerator), u128::from(a.denominator));
        let (bn, bd) = (u128::from(b.numerator), u128::from(b.denominator));
        let num = an.checked_mul(bd)?.checked_mul(span - k)? + bn.checked_mul(ad)?.checked_mul(k)?;
        Self::new(num, ad.checked_mul(bd)?.checked_mul(span)?)
    }
}

impl PartialOrd for Fraction {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Fraction {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let l = u128::from(self.numerator) * u128::from(other.denominator);
        let r = u128::from(other.numerator) * u128::from(self.denominator);
        l.cmp(&r)
    }
}

impl Serialize for Fraction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.value())
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A row of `targets.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRow {
    /// The document's number (`1568/QĐ-BCT`), or [`LEGACY`].
    pub program: String,
    pub indicator: Indicator,
    /// `province`, a district code or a commune code.
    pub scope: String,
    pub year: u16,
    pub kind: RowKind,
    pub low: Fraction,
    /// `None`: at least `low`.
    pub high: Option<Fraction>,
    pub source: String,
    /// The row's line in the file (1 is the header), for error messages.
    pub line: usize,
}

impl Serialize for TargetRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("TargetRow", 9)?;
        st.serialize_field("program", &self.program)?;
        st.serialize_field("indicator", &self.indicator)?;
        st.serialize_field("scope", &self.scope)?;
        st.serialize_field("year", &self.year)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("low", &self.low)?;
        st.serialize_field("high", &self.high)?;
        st.serialize_field("source", &self.source)?;
        // The former column, kept for readers of the three-column table.
        st.serialize_field("target_share", &self.low)?;
        st.end()
    }
}

/// A programme's value of an indicator for a year and a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub program: String,
    pub indicator: Indicator,
    /// The scope whose rows gave the value (`province` or a code).
    pub scope: String,
    /// The year the value is for.
    pub year: u16,
    pub kind: ValueKind,
    pub low: Fraction,
    /// `None`: at least `low`.
    pub high: Option<Fraction>,
    /// The source of the row the value comes from (a path's: its horizon's).
    pub source: String,
}

impl Target {
    /// `low` as a number, for display (met/below is decided on `low`'s terms).
    pub fn share(&self) -> f64 {
        self.low.value()
    }
}

/// The rows of `targets.csv` and the programmes' priority.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    rows: Vec<TargetRow>,
    /// Programmes in the order of their first row.
    programs: Vec<String>,
    /// The configured priority (`[targets] programs`), first first.
    priority: Vec<String>,
}

impl Targets {
    pub fn rows(&self) -> &[TargetRow] {
        &self.rows
    }

    /// The programmes, oldest (first row earliest in the file) first.
    pub fn programs(&self) -> &[String] {
        &self.programs
    }

    pub fn priority(&self) -> &[String] {
        &self.priority
    }

    /// The same rows with `priority` as the configured priority.
    pub fn with_priority(mut self, priority: Vec<String>) -> Self {
        self.priority = priority;
        self
    }

    /// Configured programmes the table does not have (they never govern).
    pub fn unknown_priorities(&self) -> impl Iterator<Item = &str> {
        self.priority
            .iter()
            .filter(|p| !self.programs.contains(p))
            .map(String::as_str)
    }

    /// Parses `targets.csv` in the programmes' shape, or in the former
    /// three-column shape as the programme [`LEGACY`].
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        const FILE: &str = "targets.csv";
        let table = Table::parse(FILE, text)?;
        let rows = if table.has_column("program") {
            table.rows(
                &["program", "indicator", "scope", "year", "kind", "low", "high", "source"],
                |f, v| {
                    let get = |n: &str| v.get(n);
                    let program = get("program");
                    if program.is_empty() {
                        return Err(f.at("program", "a programme is named (its document's number)".into()));
                    }
                    let indicator = Indicator::parse(get("indicator")).ok_or_else(|| {
                        f.at(
                            "indicator",
                            format!(
                                "{:?} is not an indicator: ecommerce_share, ecommerce_growth or communes_selling_online",
                                get("indicator")
                            ),
                        )
                    })?;
                    let kind = RowKind::parse(get("kind")).ok_or_else(|| {
                        f.at(
                            "kind",
                            format!("{:?} is not a kind: point, horizon or baseline", get("kind")),
                        )
                    })?;
                    let low = fraction(f, "low", get("low"))?;
                    let high = match get("high") {
                        "" => None,
                        h => Some(fraction(f, "high", h)?),
                    };
                    if high.is_some_and(|h| h < low) {
                        return Err(f.at(
                            "high",
                            format!("high {} is below low {}", get("high"), get("low")),
                        ));
                    }
                    Ok(TargetRow {
                        program: program.to_string(),
                        indicator,
                        scope: scope(f, get("scope"))?,
                        year: year(f, get("year"))?,
                        kind,
                        low,
                        high,
                        source: get("source").to_string(),
                        line: f.line,
                    })
                },
            )?
        } else if table.has_column("target_share") {
            table.rows(&["year", "scope", "target_share", "source"], |f, v| {
                let share = fraction(f, "target_share", v.get("target_share"))?;
                Ok(TargetRow {
                    program: LEGACY.to_string(),
                    indicator: Indicator::EcommerceShare,
                    scope: scope(f, v.get("scope"))?,
                    year: year(f, v.get("year"))?,
                    kind: RowKind::Point,
                    low: share,
                    high: Some(share),
                    source: v.get("source").to_string(),
                    line: f.line,
                })
            })?
        } else {
            return Err(ReferenceError::Invalid {
                file: FILE,
                message: "the header names neither program,indicator,scope,year,kind,low,high,source nor the former year,scope,target_share,source".into(),
            });
        };
        Self::check(&rows)?;
        let mut programs: Vec<String> = Vec::new();
        for r in &rows {
            if !programs.contains(&r.program) {
                programs.push(r.program.clone());
            }
        }
        Ok(Self {
            rows,
            programs,
            priority: Vec::new(),
        })
    }

    /// One row per programme, indicator, scope, year and kind; a baseline
    /// before each of its programme's horizons, and never alone.
    fn check(rows: &[TargetRow]) -> Result<(), ReferenceError> {
        let err = |r: &TargetRow, column: &'static str, message: String| ReferenceError::Field {
            file: "targets.csv",
            line: r.line,
            column,
            message,
        };
        let mut seen = HashSet::new();
        for r in rows {
            if !seen.insert((&r.program, r.indicator, &r.scope, r.year, r.kind)) {
                return Err(err(
                    r,
                    "year",
                    format!(
                        "a second {} row of {} for {} {} in {}",
                        r.kind.code(),
                        r.program,
                        r.indicator.code(),
                        r.scope,
                        r.year
                    ),
                ));
            }
        }
        let same =
            |a: &TargetRow, b: &TargetRow| a.program == b.program && a.indicator == b.indicator && a.scope == b.scope;
        for b in rows.iter().filter(|r| r.kind == RowKind::Baseline) {
            if let Some(other) = rows
                .iter()
                .find(|o| o.kind == RowKind::Baseline && same(o, b) && o.line != b.line)
            {
                return Err(err(
                    other.max_by_line(b),
                    "kind",
                    format!("{} has two baselines for {} {}", b.program, b.indicator.code(), b.scope),
                ));
            }
            let horizons: Vec<&TargetRow> = rows
                .iter()
                .filter(|h| h.kind == RowKind::Horizon && same(h, b))
                .collect();
            if horizons.is_empty() {
                return Err(err(
                    b,
                    "kind",
                    format!(
                        "a baseline of {} for {} {} has no horizon",
                        b.program,
                        b.indicator.code(),
                        b.scope
                    ),
                ));
            }
            if let Some(h) = horizons.iter().find(|h| h.year <= b.year) {
                return Err(err(
                    h,
                    "year",
                    format!(
                        "the horizon {} of {} is not after its baseline {}",
                        h.year, h.program, b.year
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `program`'s value of `indicator` for `year` from the rows of `scope`.
    pub fn value(&self, program: &str, indicator: Indicator, scope: &str, year: u16) -> Option<Target> {
        let mine = || {
            self.rows
                .iter()
                .filter(move |r| r.program == program && r.indicator == indicator && r.scope == scope)
        };
        let make = |r: &TargetRow, kind: ValueKind, low: Fraction, high: Option<Fraction>| Target {
            program: r.program.clone(),
            indicator,
            scope: r.scope.clone(),
            year,
            kind,
            low,
            high,
            source: r.source.clone(),
        };
        let points = mine().filter(|r| r.kind == RowKind::Point);
        let point = if program == LEGACY {
            points.filter(|r| r.year <= year).max_by_key(|r| r.year)
        } else {
            points.into_iter().find(|r| r.year == year)
        };
        if let Some(r) = point {
            return Some(make(r, ValueKind::Point, r.low, r.high));
        }
        // The path: baseline and horizons by year.
        let mut knots: Vec<&TargetRow> = mine().filter(|r| r.kind != RowKind::Point).collect();
        knots.sort_by_key(|r| r.year);
        let last = *knots.last()?;
        if last.kind == RowKind::Baseline {
            return None;
        }
        if year >= last.year {
            return Some(make(last, ValueKind::Path, last.low, last.high));
        }
        let i = knots.iter().position(|r| r.year >= year)?;
        let b = knots[i];
        if b.year == year && b.kind == RowKind::Horizon {
            return Some(make(b, ValueKind::Path, b.low, b.high));
        }
        // Before the first knot (a baseline's own year included): none.
        let a = *knots.get(i.checked_sub(1)?)?;
        let span = u128::from(b.year - a.year);
        let k = u128::from(year - a.year);
        let low = Fraction::between(a.low, b.low, k, span)?;
        let high = match (a.high, b.high) {
            (Some(x), Some(y)) => Some(Fraction::between(x, y, k, span)?),
            _ => None,
        };
        Some(make(b, ValueKind::Path, low, high))
    }

    /// Every programme's value of `indicator` for `year`, in the order of
    /// the programmes' first rows: each from the first of `scopes` (most
    /// specific first) with one, else the province's.
    pub fn all(&self, indicator: Indicator, year: u16, scopes: &[&str]) -> Vec<Target> {
        self.programs
            .iter()
            .filter_map(|p| {
                scopes
                    .iter()
                    .copied()
                    .chain(["province"])
                    .find_map(|s| self.value(p, indicator, s, year))
            })
            .collect()
    }

    /// The governing value of `indicator` for `year`: the rows of the first
    /// of `scopes` (most specific first), then the province's, that give
    /// any programme a value; among those programmes, the one
    /// [`Targets::choose`] picks.
    pub fn governing(&self, indicator: Indicator, year: u16, scopes: &[&str]) -> Option<Target> {
        for scope in scopes.iter().copied().chain(["province"]) {
            let candidates: Vec<Target> = self
                .programs
                .iter()
                .filter_map(|p| self.value(p, indicator, scope, year))
                .collect();
            if let Some(i) = self.choose(&candidates) {
                return candidates.into_iter().nth(i);
            }
        }
        None
    }

    /// Which of `candidates` (in the programmes' order) governs: the first
    /// of the configured priority; else the newest provincial programme;
    /// else the newest national one; else `legacy`.
    fn choose(&self, candidates: &[Target]) -> Option<usize> {
        let position = |name: &str| candidates.iter().position(|t| t.program == name);
        if let Some(i) = self.priority.iter().find_map(|p| position(p)) {
            return Some(i);
        }
        let newest = |pick: &dyn Fn(&str) -> bool| candidates.iter().rposition(|t| pick(&t.program));
        newest(&|p| is_provincial(p))
            .or_else(|| newest(&|p| p != LEGACY && !is_provincial(p)))
            .or_else(|| position(LEGACY))
    }
}

/// A provincial People's Committee's document: its number ends in `-UBND`
/// (`134/KH-UBND`).
pub fn is_provincial(program: &str) -> bool {
    program.ends_with("-UBND")
}

impl TargetRow {
    fn max_by_line<'a>(&'a self, other: &'a TargetRow) -> &'a TargetRow {
        if self.line >= other.line { self } else { other }
    }
}

fn fraction(f: &super::reference::RowCtx, column: &'static str, v: &str) -> Result<Fraction, ReferenceError> {
    Fraction::parse_decimal(v).ok_or_else(|| {
        f.at(
            column,
            format!("{v:?} is not a decimal fraction in [0, 1] (at most 12 decimals, a point before them)"),
        )
    })
}

fn year(f: &super::reference::RowCtx, v: &str) -> Result<u16, ReferenceError> {
    match v.parse::<u16>() {
        Ok(y) if v.len() == 4 && v.bytes().all(|b| b.is_ascii_digit()) => Ok(y),
        _ => Err(f.at("year", format!("{v:?} is not a year written YYYY"))),
    }
}

fn scope(f: &super::reference::RowCtx, v: &str) -> Result<String, ReferenceError> {
    if v.is_empty() {
        Err(f.at("scope", "empty: province, a district code or a commune code".into()))
    } else {
        Ok(v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "program,indicator,scope,year,kind,low,high,source\n";

    fn shipped() -> Targets {
        Targets::parse(include_str!("../../fixtures/reference/targets.csv")).unwrap()
    }

    fn frac(s: &str) -> Fraction {
        Fraction::parse_decimal(s).unwrap()
    }

    fn share(t: &Targets, program: &str, year: u16) -> Option<(Fraction, Option<Fraction>, ValueKind)> {
        t.value(program, Indicator::EcommerceShare, "province", year)
            .map(|v| (v.low, v.high, v.kind))
    }

    #[test]
    fn the_1568_path_climbs_two_points_a_year_to_twenty_percent() {
        let t = shipped();
        for (year, pct) in [
            (2026, "0.12"),
            (2027, "0.14"),
            (2028, "0.16"),
            (2029, "0.18"),
            (2030, "0.20"),
        ] {
            assert_eq!(
                share(&t, "1568/QĐ-BCT", year),
                Some((frac(pct), Some(frac(pct)), ValueKind::Path)),
                "{year}"
            );
        }
        // After the horizon: the horizon value; the baseline's year is 645's.
        assert_eq!(share(&t, "1568/QĐ-BCT", 2033).unwrap().0, frac("0.2"));
        assert_eq!(share(&t, "1568/QĐ-BCT", 2025), None);
        assert_eq!(share(&t, "1568/QĐ-BCT", 2024), None);
    }

    #[test]
    fn the_2326_path_is_a_band_low_and_high_each_linear() {
        let t = shipped();
        assert_eq!(
            share(&t, "2326/QĐ-TTg", 2026),
            Some((frac("0.11"), Some(frac("0.12")), ValueKind::Path))
        );
        assert_eq!(
            share(&t, "2326/QĐ-TTg", 2028),
            Some((frac("0.13"), Some(frac("0.16")), ValueKind::Path))
        );
        assert_eq!(
            share(&t, "2326/QĐ-TTg", 2030),
            Some((frac("0.15"), Some(frac("0.2")), ValueKind::Path))
        );
    }

    #[test]
    fn a_path_over_years_that_do_not_divide_evenly_is_exact() {
        let t = Targets::parse(&format!(
            "{HEADER}P,ecommerce_share,province,2024,baseline,0.1,,b\nP,ecommerce_share,province,2027,horizon,0.2,0.3,h\n"
        ))
        .unwrap();
        let v = t.value("P", Indicator::EcommerceShare, "province", 2025).unwrap();
        // 0.1 + 0.1 / 3 = 2/15; the baseline has no high: "at least".
        assert_eq!((v.low.numerator(), v.low.denominator()), (2, 15));
        assert_eq!(v.high, None);
        assert_eq!(v.source, "h");
        assert_eq!(
            t.value("P", Indicator::EcommerceShare, "province", 2027).unwrap().high,
            Some(frac("0.3"))
        );
    }

    #[test]
    fn several_horizons_make_a_path_through_each_and_a_point_wins_its_year() {
        let t = Targets::parse(&format!(
            "{HEADER}P,ecommerce_share,province,2020,baseline,0.1,0.1,b\nP,ecommerce_share,province,2022,horizon,0.2,0.2,h1\n\
             P,ecommerce_share,province,2024,horizon,0.24,0.24,h2\nP,ecommerce_share,province,2023,point,0.3,,p\n\
             Q,ecommerce_share,province,2030,horizon,0.5,,q\n"
        ))
        .unwrap();
        let low = |p: &str, y: u16| t.value(p, Indicator::EcommerceShare, "province", y).map(|v| v.low);
        assert_eq!(low("P", 2021), Some(frac("0.15")));
        assert_eq!(low("P", 2022), Some(frac("0.2")));
        assert_eq!(low("P", 2023), Some(frac("0.3")));
        assert_eq!(low("P", 2024), Some(frac("0.24")));
        // No baseline: from the horizon's year on.
        assert_eq!(low("Q", 2029), None);
        assert_eq!(low("Q", 2031), Some(frac("0.5")));
    }

    #[test]
    fn point_targets_hold_for_their_year_only_but_legacy_carries_forward() {
        let t = shipped();
        assert_eq!(share(&t, "645/QĐ-TTg", 2025).unwrap().0, frac("0.1"));
        assert_eq!(share(&t, "645/QĐ-TTg", 2026), None);
        assert_eq!(share(&t, "UBQGCĐS-2023", 2024), None);
        let legacy = Targets::parse(
            "year,scope,target_share,source\n2022,province,0.07,a\n2023,province,0.085,b\n2025,province,0.10,c\n",
        )
        .unwrap();
        assert_eq!(legacy.programs(), [LEGACY]);
        assert_eq!(share(&legacy, LEGACY, 2021), None);
        assert_eq!(share(&legacy, LEGACY, 2024).unwrap().0, frac("0.085"));
        let v = legacy.governing(Indicator::EcommerceShare, 2026, &[]).unwrap();
        assert_eq!(
            (v.program.as_str(), v.low, v.high, v.kind),
            (LEGACY, frac("0.1"), Some(frac("0.1")), ValueKind::Point)
        );
    }

    #[test]
    fn by_default_the_provincial_programme_then_the_newest_national_one_governs() {
        let t = shipped();
        let governing = |year| {
            t.governing(Indicator::EcommerceShare, year, &[])
                .map(|v| (v.program, v.low))
        };
        assert_eq!(governing(2022), Some(("UBQGCĐS-2022".into(), frac("0.07"))));
        assert_eq!(governing(2023), Some(("UBQGCĐS-2023".into(), frac("0.085"))));
        assert_eq!(governing(2024), None, "no programme set a target for 2024");
        // 134/KH-UBND (provincial) over 645/QĐ-TTg, both 10 %.
        assert_eq!(governing(2025), Some(("134/KH-UBND".into(), frac("0.1"))));
        // 2326/QĐ-TTg comes after 1568/QĐ-BCT: the newest national programme.
        assert_eq!(governing(2026), Some(("2326/QĐ-TTg".into(), frac("0.11"))));
        assert_eq!(governing(2030), Some(("2326/QĐ-TTg".into(), frac("0.15"))));
        let all: Vec<_> = t
            .all(Indicator::EcommerceShare, 2026, &[])
            .into_iter()
            .map(|v| (v.program, v.kind))
            .collect();
        assert_eq!(
            all,
            [
                ("1568/QĐ-BCT".to_string(), ValueKind::Path),
                ("2326/QĐ-TTg".to_string(), ValueKind::Path)
            ]
        );
        assert_eq!(t.all(Indicator::EcommerceShare, 2025, &[]).len(), 2);
    }

    #[test]
    fn the_configured_priority_goes_first_then_the_default() {
        let t = shipped().with_priority(vec!["nope".into(), "1568/QĐ-BCT".into()]);
        assert_eq!(t.unknown_priorities().collect::<Vec<_>>(), ["nope"]);
        let governing = |year| {
            t.governing(Indicator::EcommerceShare, year, &[])
                .map(|v| (v.program, v.low))
        };
        assert_eq!(governing(2026), Some(("1568/QĐ-BCT".into(), frac("0.12"))));
        // 1568 has no value for 2025: the default rule.
        assert_eq!(governing(2025), Some(("134/KH-UBND".into(), frac("0.1"))));
        let t = shipped().with_priority(vec!["645/QĐ-TTg".into()]);
        assert_eq!(
            t.governing(Indicator::EcommerceShare, 2025, &[]).unwrap().program,
            "645/QĐ-TTg"
        );
    }

    #[test]
    fn a_provincial_programme_with_a_value_wins_over_national_ones() {
        let text = format!(
            "{}134/KH-UBND,ecommerce_share,province,2026,point,0.115,,plan 2026\n",
            include_str!("../../fixtures/reference/targets.csv")
        );
        let t = Targets::parse(&text).unwrap();
        let v = t.governing(Indicator::EcommerceShare, 2026, &[]).unwrap();
        assert_eq!(
            (v.program.as_str(), v.low, v.kind),
            ("134/KH-UBND", frac("0.115"), ValueKind::Point)
        );
        assert_eq!(t.all(Indicator::EcommerceShare, 2026, &[]).len(), 3);
    }

    #[test]
    fn a_districts_own_rows_come_before_the_provinces() {
        let text = format!(
            "{}1568/QĐ-BCT,ecommerce_share,399,2026,point,0.09,,district plan\n",
            include_str!("../../fixtures/reference/targets.csv")
        );
        let t = Targets::parse(&text).unwrap().with_priority(vec!["2326/QĐ-TTg".into()]);
        let v = t.governing(Indicator::EcommerceShare, 2026, &["399"]).unwrap();
        assert_eq!(
            (v.program.as_str(), v.scope.as_str(), v.low),
            ("1568/QĐ-BCT", "399", frac("0.09"))
        );
        // Another district: the province's rows.
        let v = t.governing(Indicator::EcommerceShare, 2026, &["380"]).unwrap();
        assert_eq!((v.program.as_str(), v.scope.as_str()), ("2326/QĐ-TTg", "province"));
        // Every programme: the district's own value where it has one.
        let all: Vec<_> = t
            .all(Indicator::EcommerceShare, 2026, &["399"])
            .into_iter()
            .map(|v| (v.program, v.scope))
            .collect();
        assert_eq!(
            all,
            [
                ("1568/QĐ-BCT".to_string(), "399".to_string()),
                ("2326/QĐ-TTg".to_string(), "province".to_string())
            ]
        );
    }

    #[test]
    fn other_indicators_are_kept_apart() {
        let t = shipped();
        let g = t.governing(Indicator::EcommerceGrowth, 2027, &[]).unwrap();
        assert_eq!(
            (g.program.as_str(), g.low, g.high),
            ("1568/QĐ-BCT", frac("0.2"), Some(frac("0.3")))
        );
        let c = t.governing(Indicator::CommunesSellingOnline, 2030, &[]).unwrap();
        assert_eq!((c.low, c.high), (frac("0.6"), None));
        assert_eq!(t.governing(Indicator::CommunesSellingOnline, 2029, &[]), None);
    }

    #[test]
    fn errors_name_the_line_and_the_column() {
        let err = |body: &str| Targets::parse(&format!("{HEADER}{body}")).unwrap_err().to_string();
        assert_eq!(
            err("P,ecommerce_share,province,2026,point,0.1,,a\nP,share,province,2026,point,0.1,,a\n"),
            "targets.csv, line 3, column indicator: \"share\" is not an indicator: ecommerce_share, ecommerce_growth or communes_selling_online"
        );
        assert!(err("P,ecommerce_share,province,2026,point,1.5,,a\n").starts_with("targets.csv, line 2, column low:"));
        assert!(
            err("P,ecommerce_share,province,2026,point,0.2,0.1,a\n")
                .starts_with("targets.csv, line 2, column high: high 0.1 is below low 0.2")
        );
        assert!(err("P,ecommerce_share,province,26,point,0.2,,a\n").starts_with("targets.csv, line 2, column year:"));
        assert!(err("P,ecommerce_share,province,2026,goal,0.2,,a\n").starts_with("targets.csv, line 2, column kind:"));
        assert!(
            err(",ecommerce_share,province,2026,point,0.2,,a\n").starts_with("targets.csv, line 2, column program:")
        );
        assert!(err("P,ecommerce_share,,2026,point,0.2,,a\n").starts_with("targets.csv, line 2, column scope:"));
        // A quoted source over two lines: the next row's line is counted.
        assert!(
            err("P,ecommerce_share,province,2026,point,0.2,,\"two\nlines\"\nP,ecommerce_share,province,2027,point,x,,a\n")
                .starts_with("targets.csv, line 4, column low:")
        );
        assert!(
            err("P,ecommerce_share,province,2026,point,0.1,,a\nP,ecommerce_share,province,2026,point,0.2,,b\n")
                .starts_with("targets.csv, line 3, column year: a second point row")
        );
        assert!(
            err("P,ecommerce_share,province,2025,baseline,0.1,,a\n").contains("has no horizon"),
            "a baseline alone"
        );
        assert!(
            err("P,ecommerce_share,province,2025,baseline,0.1,,a\nP,ecommerce_share,province,2024,horizon,0.2,,b\n")
                .starts_with("targets.csv, line 3, column year: the horizon 2024 of P is not after its baseline 2025")
        );
        assert!(
            err("P,ecommerce_share,province,2025,baseline,0.1,,a\nP,ecommerce_share,province,2024,baseline,0.1,,a\nP,ecommerce_share,province,2030,horizon,0.2,,b\n")
                .starts_with("targets.csv, line 3, column kind:")
        );
        let old = Targets::parse("year,scope,target_share,source\n2022,province,0.07,a\n2023,province,8.5,b\n")
            .unwrap_err()
            .to_string();
        assert!(old.starts_with("targets.csv, line 3, column target_share:"), "{old}");
        let neither = Targets::parse("year,scope,share\n2022,province,0.07\n")
            .unwrap_err()
            .to_string();
        assert!(neither.contains("neither"), "{neither}");
        let missing = Targets::parse("program,indicator,scope,year,kind,low,source\n")
            .unwrap_err()
            .to_string();
        assert!(missing.contains("missing column high"), "{missing}");
    }

    #[test]
    fn fractions_compare_and_interpolate_exactly() {
        assert!(frac("0.085") < frac("0.1"));
        assert_eq!(frac("0.10"), frac("0.1"));
        assert_eq!(Fraction::between(frac("0.1"), frac("0.2"), 1, 5), Some(frac("0.12")));
        assert_eq!(Fraction::between(frac("0.1"), frac("0.2"), 0, 5), Some(frac("0.1")));
        assert_eq!(Fraction::between(frac("0.1"), frac("0.2"), 6, 5), None);
        // Twelve decimals at both ends over the widest span still fit.
        let a = frac("0.000000000001");
        let b = frac("0.999999999999");
        let v = Fraction::between(a, b, 1, 65_535).unwrap();
        assert!(v > a && v < b);
        assert_eq!(Fraction::new(3, 2), None);
        assert_eq!(Fraction::new(0, 0), None);
    }

    proptest::proptest! {
        /// The path against a naive oracle: exact rationals as (num, den) in
        /// i128, the textbook formula, compared by cross-multiplication.
        #[test]
        fn the_path_is_the_textbook_linear_interpolation(
            b_low in 0u32..=1000, h_low in 0u32..=1000, base in 2000u16..2040, span in 1u16..20, k in 0u16..25,
        ) {
            let text = format!(
                "{HEADER}P,ecommerce_share,province,{base},baseline,{},,b\nP,ecommerce_share,province,{},horizon,{},,h\n",
                f64::from(b_low) / 1000.0,
                base + span,
                f64::from(h_low) / 1000.0,
            );
            let t = Targets::parse(&text).unwrap();
            let year = base + k;
            let got = t.value("P", Indicator::EcommerceShare, "province", year);
            if k == 0 {
                proptest::prop_assert!(got.is_none());
            } else {
                let k = i128::from(k.min(span));
                let (bl, hl, s) = (i128::from(b_low), i128::from(h_low), i128::from(span));
                // v = b + (h − b) × k / s, over 1000 × s.
                let num = bl * s + (hl - bl) * k;
                let den = 1000 * s;
                let v = got.unwrap().low;
                proptest::prop_assert_eq!(i128::from(v.numerator()) * den, num * i128::from(v.denominator()));
            }
        }
    }
}
