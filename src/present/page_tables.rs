//! The dashboard's tables — trend, years, districts, district × sector,
//! sectors, communes — in the one table model: which rows a page lists, in which
//! order and with which ranks, and each figure's cell (a withheld figure
//! withheld, a missing one empty). The page renders these cells as HTML,
//! and a table's download (XLSX or CSV) is the same rows as a
//! `table::Table` with a heading naming the table, its period, the dataset
//! version and, when a figure is withheld, the disclosure note.
//!
//! Plain data in (`dashboard::Overview`, the request's `ShareParams`):
//! computes no figure and knows nothing of HTTP or HTML.

use crate::domain::Period;
use crate::domain::disclosure::Rule;
use crate::present::dashboard::{Overview, YearAnswer, grid};
use crate::present::labels::{self, Page};
use crate::present::locale::{self, Lang};
use crate::present::table::{Align, Cell, Column, Format, Money, Table};
use crate::service::figures::{ShareParams, ShareResponse, ShareRow};

/// The dashboard's tables, each downloadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Trend,
    Years,
    Districts,
    DistrictSector,
    Sectors,
    Communes,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Self::Trend,
        Self::Years,
        Self::Districts,
        Self::DistrictSector,
        Self::Sectors,
        Self::Communes,
    ];

    /// The table's name in a download's path (`/tables/{name}.xlsx`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Trend => "trend",
            Self::Years => "years",
            Self::Districts => "districts",
            Self::DistrictSector => "district_sector",
            Self::Sectors => "sectors",
            Self::Communes => "communes",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

fn texts(lang: Lang) -> &'static Page {
    &labels::of(lang).page
}

/// The answer a table shows (for the trend, the months' own; for the
/// years, the last year's with figures; for the communes, none when the
/// page has no communes table).
pub fn answer(o: &Overview, kind: Kind) -> Option<&ShareResponse> {
    match kind {
        Kind::Trend => Some(&o.trend_series.now),
        Kind::Years => o
            .year_series
            .years
            .iter()
            .rev()
            .find(|y| y.months.is_some())
            .or(o.year_series.years.first())
            .map(|y| &y.answer),
        Kind::Districts => Some(&o.districts),
        Kind::DistrictSector => Some(&o.district_sector),
        Kind::Sectors => Some(&o.sectors),
        Kind::Communes => o.communes.as_ref(),
    }
}

/// A table's caption as the page shows it (with its months); none for a
/// table the page does not show.
pub fn caption(o: &Overview, kind: Kind, lang: Lang) -> Option<String> {
    let t = texts(lang);
    let ranged = |name: &str, resp: &ShareResponse| {
        format!(
            "{name} ({} – {})",
            locale::month(&resp.from, lang),
            locale::month(&resp.to, lang)
        )
    };
    match kind {
        Kind::Trend => Some(o.trend.title.clone()),
        Kind::Years => Some(o.years.title.clone()),
        Kind::DistrictSector => Some(o.heatmap.title.clone()),
        Kind::Districts => Some(ranged(t.districts_table, &o.districts)),
        Kind::Sectors => Some(ranged(t.sectors_table, &o.sectors)),
        Kind::Communes => o.communes.as_ref().map(|c| ranged(t.communes_table, c)),
    }
}

/// The target governing the answer's year, with its programme, as a
/// table's caption and a download's heading say it: `Mục tiêu năm 2026:
/// 11,0 % theo 2326/QĐ-TTg`.
pub fn target_note(resp: &ShareResponse, lang: Lang) -> String {
    let l = &labels::of(lang).targets;
    let year = resp.to.get(..4).unwrap_or(&resp.to);
    match (resp.target, resp.target_program.as_deref()) {
        (Some(t), Some(p)) => labels::fill(
            l.note,
            &[
                ("year", year),
                ("target", &locale::percent(t, 1, lang)),
                ("program", &locale::program(p, lang)),
            ],
        ),
        _ => labels::fill(l.note_none, &[("year", year)]),
    }
}

/// A row of a share table as the page lists it.
#[derive(Debug, Clone, Copy)]
pub struct Listed<'a> {
    /// Among the rows with a share, highest first; none for the others and
    /// in a table that is not ranked.
    pub rank: Option<usize>,
    pub row: &'a ShareRow,
}

/// The rows of `resp` as the page lists them: `ranked`, by share, highest
/// first (rows without a share last, in the answer's order); otherwise in
/// the answer's order.
pub fn listed(resp: &ShareResponse, ranked: bool) -> Vec<Listed<'_>> {
    let mut rows: Vec<&ShareRow> = resp.rows.iter().collect();
    if ranked {
        rows.sort_by(|a, b| b.share.partial_cmp(&a.share).unwrap_or(std::cmp::Ordering::Equal));
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| Listed {
            rank: (ranked && row.share.is_some()).then_some(i + 1),
            row,
        })
        .collect()
}

/// Whether the page ranks a table's rows by share.
pub fn ranked(kind: Kind) -> bool {
    matches!(kind, Kind::Districts | Kind::Communes)
}

/// A row's key or name for `field`, empty when it has none.
pub fn key<'a>(r: &'a ShareRow, field: &str) -> &'a str {
    r.keys.get(field).and_then(|v| v.as_deref()).unwrap_or("")
}

/// A share of a row, withheld when the row is.
fn share_of(r: &ShareRow, x: Option<f64>) -> Cell {
    if r.suppressed { Cell::Withheld } else { Cell::share(x) }
}

/// A row's figures as the page shows them: total retail and e-commerce
/// (đồng), share, target, gap, filings and standing. A withheld row's
/// figures are withheld; its target (not a figure of the row) is shown.
pub fn figure_cells(r: &ShareRow, lang: Lang) -> Vec<Cell> {
    vec![
        Cell::money(&r.total_revenue_vnd),
        Cell::money(&r.ecommerce_revenue_vnd),
        share_of(r, r.share),
        Cell::share(r.target),
        if r.suppressed {
            Cell::Withheld
        } else {
            Cell::points(r.gap_pp)
        },
        Cell::count(r.filings, r.suppressed),
        Cell::coded(r.status.code(), locale::status_label(r.status, lang)),
    ]
}

/// How final a row's months are (its code for machines, its word for
/// people) and its response rate (withheld when the row is).
pub fn release_cells(r: &ShareRow, lang: Lang) -> [Cell; 2] {
    [
        Cell::coded(r.release.code(), locale::release_label(r.release, lang)),
        if r.suppressed {
            Cell::Withheld
        } else {
            Cell::share(r.response_rate())
        },
    ]
}

/// A month's share in the trend (none: no row), withheld when its row is.
pub fn trend_cell(row: Option<&ShareRow>) -> Cell {
    row.map_or(Cell::Empty, |r| share_of(r, r.share))
}

/// The trend's months, each with its share and the share of the same month
/// a year earlier.
pub fn trend_rows(o: &Overview) -> Vec<(Period, Cell, Cell)> {
    o.trend_series
        .rows()
        .map(|(p, now, before)| (p, trend_cell(now), trend_cell(before)))
        .collect()
}

/// A district × sector cell of the heat map's table (none: no row).
pub fn heat_cell(row: Option<&ShareRow>) -> Cell {
    trend_cell(row)
}

/// How the downloads' figures read as text: whole đồng, shares and points
/// to two decimals, empty cells empty (as the report's workbook).
const FIGURES: Format = Format {
    align: Align::Right,
    places: 2,
    money: Money::Dong,
    missing: "",
};

/// The table of `kind` as the page shows it for the filters of `params`,
/// ready for download; none for a table the page does not show.
pub fn table(o: &Overview, params: &ShareParams, kind: Kind, lang: Lang) -> Option<Table> {
    let resp = answer(o, kind)?;
    let t = texts(lang);
    let w = &labels::of(lang).workbook;
    let mut table = match kind {
        Kind::Trend => trend_table(o, t.trend_sheet, w.month, lang),
        Kind::Years => years_table(o, t.years_sheet, lang),
        Kind::DistrictSector => heat_table(o, t.district_sector_sheet, w.district_code, w.district),
        Kind::Districts => share_table(
            resp,
            t.districts_table,
            ("district_code", w.district_code),
            ("district_name", w.district),
            true,
            lang,
        ),
        Kind::Sectors => share_table(
            resp,
            t.sectors_table,
            ("sector_code", w.sector_code),
            ("sector_name", w.sector),
            false,
            lang,
        ),
        Kind::Communes => share_table(
            resp,
            t.communes_sheet,
            ("commune_code", w.commune_code),
            ("commune_name", w.commune),
            true,
            lang,
        ),
    };
    table.heading = heading(o, params, kind, lang, &table);
    if kind == Kind::Districts && o.districts.series_break.is_some() {
        table.notes.push(t.series_break.to_string());
    }
    Some(table)
}

/// The trend's months (`2025-06`), shares and shares a year earlier, and
/// last how final each month is and its response rate.
fn trend_table(o: &Overview, title: &'static str, month: &'static str, lang: Lang) -> Table {
    let legend = &o.trend.legend;
    let r = &labels::of(lang).release;
    Table {
        title,
        columns: vec![
            Column::keyed("period", month, FIGURES.left()),
            Column::keyed("share", legend.share.clone(), FIGURES),
            Column::keyed("share_last_year", legend.last_year.clone(), FIGURES),
            Column::keyed("release", r.column, FIGURES.left()),
            Column::keyed("response_rate", r.response_rate, FIGURES),
        ],
        rows: o
            .trend_series
            .rows()
            .map(|(p, now, before)| {
                let mut row = vec![Cell::text(p.to_string()), trend_cell(now), trend_cell(before)];
                row.extend(match now {
                    Some(r) => release_cells(r, lang),
                    None => [Cell::Empty, Cell::Empty],
                });
                row
            })
            .collect(),
        ..Table::default()
    }
}

/// The programmes with a target in a year of the yearly chart, oldest
/// first.
pub fn year_programs(o: &Overview) -> Vec<&str> {
    o.year_series
        .programs
        .iter()
        .filter(|p| {
            o.year_series
                .years
                .iter()
                .any(|y| y.answer.total.targets.iter().any(|t| t.program == **p))
        })
        .map(String::as_str)
        .collect()
}

/// `program`'s target for the year, as read (`12,0 %`, `11,0 %–12,0 %`,
/// `từ 10,0 % trở lên`); empty without one.
pub fn year_target(y: &YearAnswer, program: &str, lang: Lang) -> Cell {
    y.answer
        .total
        .targets
        .iter()
        .find(|t| t.program == program)
        .map_or(Cell::Empty, |t| Cell::text(locale::target_range(t.low, t.high, lang)))
}

/// A year's share in the yearly table (none: a year without figures),
/// withheld when its row is.
pub fn year_share(y: &YearAnswer) -> Cell {
    trend_cell(y.row())
}

/// The yearly chart's years: the year, the first and last months of its
/// figures, its total
/// and e-commerce revenue, share, how final and the response rate, the
/// governing target and its programme, then each programme's target of
/// the year. A year without figures has its targets only.
fn years_table(o: &Overview, title: &'static str, lang: Lang) -> Table {
    let t = texts(lang);
    let l = labels::of(lang);
    let w = &l.workbook;
    let programs = year_programs(o);
    let mut columns = vec![
        Column::keyed("year", t.year, FIGURES.left()),
        Column::keyed("from", t.from_month, FIGURES.left()),
        Column::keyed("through", t.through_month, FIGURES.left()),
        Column::keyed("total_revenue_vnd", w.total_retail, FIGURES),
        Column::keyed("ecommerce_revenue_vnd", w.ecommerce, FIGURES),
        Column::keyed("share", w.share, FIGURES),
        Column::keyed("release", l.release.column, FIGURES.left()),
        Column::keyed("response_rate", l.release.response_rate, FIGURES),
        Column::keyed("target", w.target, FIGURES),
        Column::keyed("target_program", l.targets.column, FIGURES.left()),
    ];
    columns.extend(
        programs
            .iter()
            .map(|p| Column::keyed(p.to_string(), locale::program(p, lang), FIGURES.left())),
    );
    let rows = o
        .year_series
        .years
        .iter()
        .map(|y| {
            let mut row = vec![Cell::text(y.year.to_string())];
            match y.row() {
                Some(r) => {
                    row.extend([Cell::text(y.answer.from.clone()), Cell::text(y.answer.to.clone())]);
                    row.extend([
                        Cell::money(&r.total_revenue_vnd),
                        Cell::money(&r.ecommerce_revenue_vnd),
                        share_of(r, r.share),
                    ]);
                    row.extend(release_cells(r, lang));
                }
                None => row.extend(std::iter::repeat_n(Cell::Empty, 7)),
            }
            let total = &y.answer.total;
            row.push(Cell::share(total.target));
            row.push(Cell::text(
                total
                    .target_program
                    .as_deref()
                    .map(|p| locale::program(p, lang))
                    .unwrap_or_default(),
            ));
            row.extend(programs.iter().map(|p| year_target(y, p, lang)));
            row
        })
        .collect();
    Table {
        title,
        columns,
        rows,
        ..Table::default()
    }
}

/// The heat map's grid: a row per district (code and name), a column per
/// sector (its name, its code for machines), shares in the cells.
fn heat_table(o: &Overview, title: &'static str, code: &'static str, name: &'static str) -> Table {
    let g = grid(&o.district_sector);
    let mut columns = vec![
        Column::keyed("district_code", code, FIGURES.left()),
        Column::keyed("district_name", name, FIGURES.left()),
    ];
    columns.extend(
        g.columns
            .iter()
            .zip(&o.heatmap.columns)
            .map(|(code, label)| Column::keyed(code.to_string(), label.clone(), FIGURES)),
    );
    let rows = g
        .rows
        .iter()
        .zip(&o.heatmap.rows)
        .zip(&g.cells)
        .map(|((code, label), cells)| {
            let mut row = vec![Cell::text(*code), Cell::text(label.clone())];
            row.extend(cells.iter().map(|c| heat_cell(*c)));
            row
        })
        .collect();
    Table {
        title,
        columns,
        rows,
        ..Table::default()
    }
}

/// A share table: rank (when `ranked`), the row's code and name, its
/// figures, and a last row for the total.
fn share_table(
    resp: &ShareResponse,
    title: &'static str,
    (code_key, code_header): (&'static str, &'static str),
    (name_key, name_header): (&'static str, &'static str),
    ranked: bool,
    lang: Lang,
) -> Table {
    let w = &labels::of(lang).workbook;
    let mut columns = Vec::new();
    if ranked {
        columns.push(Column::keyed("rank", w.rank, FIGURES));
    }
    columns.push(Column::keyed(code_key, code_header, FIGURES.left()));
    columns.push(Column::keyed(name_key, name_header, FIGURES.left()));
    for (key, header) in [
        ("total_revenue_vnd", w.total_retail),
        ("ecommerce_revenue_vnd", w.ecommerce),
        ("share", w.share),
        ("target", w.target),
        ("gap_pp", w.gap),
        ("filings", w.filings),
    ] {
        columns.push(Column::keyed(key, header, FIGURES));
    }
    columns.push(Column::keyed("status", w.status, FIGURES.left()));
    // Added last: the columns before them keep their places.
    columns.push(Column::keyed(
        "target_program",
        labels::of(lang).targets.column,
        FIGURES.left(),
    ));
    let r = &labels::of(lang).release;
    columns.push(Column::keyed("release", r.column, FIGURES.left()));
    columns.push(Column::keyed("response_rate", r.response_rate, FIGURES));
    let line = |rank: Option<Cell>, code: &str, name: &str, r: &ShareRow| {
        let mut row: Vec<Cell> = rank.into_iter().collect();
        row.extend([Cell::text(code), Cell::text(name)]);
        row.extend(figure_cells(r, lang));
        row.push(Cell::text(
            r.target_program
                .as_deref()
                .map(|p| locale::program(p, lang))
                .unwrap_or_default(),
        ));
        row.extend(release_cells(r, lang));
        row
    };
    let mut rows: Vec<Vec<Cell>> = listed(resp, ranked)
        .into_iter()
        .map(|l| {
            let code = key(l.row, code_key);
            let name = Some(key(l.row, name_key)).filter(|n| !n.is_empty()).unwrap_or(code);
            let rank = ranked.then(|| l.rank.map_or(Cell::Empty, |r| Cell::Integer(r as u64)));
            line(rank, code, name, l.row)
        })
        .collect();
    let rank = ranked.then_some(Cell::Empty);
    rows.push(line(rank, "", texts(lang).province_total, &resp.total));
    Table {
        title,
        columns,
        rows,
        ..Table::default()
    }
}

/// The lines above a download's header: its caption (the table and its
/// months), the filters, the dataset version, and the disclosure note when
/// a figure is withheld.
fn heading(o: &Overview, params: &ShareParams, kind: Kind, lang: Lang, table: &Table) -> Vec<String> {
    let t = texts(lang);
    let mut out: Vec<String> = caption(o, kind, lang).into_iter().collect();
    if let Some(f) = filters(o, params, lang) {
        out.push(f);
    }
    if let Some(resp) = answer(o, kind) {
        out.push(target_note(resp, lang));
    }
    let version = answer(o, kind).map_or(o.districts.dataset_version, |r| r.dataset_version);
    out.push(format!("{} {version}", t.dataset));
    let withheld = table.rows.iter().flatten().any(|c| matches!(c, Cell::Withheld));
    if withheld {
        out.push(withheld_note(&o.disclosure, lang));
    }
    out
}

/// The filters of `params` in words (`Bộ lọc — Huyện: Thọ Xuân (392)`), none without.
fn filters(o: &Overview, params: &ShareParams, lang: Lang) -> Option<String> {
    let t = texts(lang);
    let codes = |v: &Option<String>| -> Vec<String> {
        v.as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    };
    let mut parts = Vec::new();
    let districts: Vec<String> = codes(&params.district)
        .into_iter()
        .map(|c| match o.reference.district(&c) {
            Some(d) => format!("{} ({c})", lang.name(&d.district_name, &d.name_en)),
            None => c,
        })
        .collect();
    if !districts.is_empty() {
        parts.push(format!("{}: {}", t.district, districts.join(", ")));
    }
    let sectors: Vec<String> = codes(&params.sector)
        .into_iter()
        .map(|c| match o.reference.sector(&c) {
            Some(s) => format!("{} ({c})", lang.name(&s.group_name, &s.name_en)),
            None => c,
        })
        .collect();
    if !sectors.is_empty() {
        parts.push(format!("{}: {}", t.sector, sectors.join(", ")));
    }
    let vsic = codes(&params.vsic);
    if !vsic.is_empty() {
        parts.push(format!("VSIC: {}", vsic.join(", ")));
    }
    (!parts.is_empty()).then(|| format!("{} — {}", t.filters, parts.join("; ")))
}

/// What a withheld figure means, under the rule that withholds it.
pub fn withheld_note(rule: &Rule, lang: Lang) -> String {
    labels::fill(
        texts(lang).withheld_note,
        &[
            ("withheld", locale::SUPPRESSED),
            ("min", &rule.min_enterprises.to_string()),
            ("largest", &rule.dominance_n.to_string()),
            ("percent", &rule.dominance_percent.to_string()),
        ],
    )
}

/// A download's file name without its extension, in ASCII: the table, the
/// filters, its months and the dataset version
/// (`ty-trong-tmdt-districts-2025-01-2025-06-v12`).
pub fn file_stem(o: &Overview, params: &ShareParams, kind: Kind) -> Option<String> {
    let resp = answer(o, kind)?;
    let mut out = format!("ty-trong-tmdt-{}", kind.name().replace('_', "-"));
    for (what, value) in [
        ("district", &params.district),
        ("sector", &params.sector),
        ("vsic", &params.vsic),
    ] {
        // Codes as they are; anything else one `_` a run.
        let mut ascii = String::new();
        for c in value.as_deref().unwrap_or("").chars().take(40) {
            if c.is_ascii_alphanumeric() {
                ascii.push(c);
            } else if !ascii.ends_with('_') {
                ascii.push('_');
            }
        }
        let value = ascii.trim_matches('_');
        if !value.is_empty() {
            out.push_str(&format!("-{what}-{value}"));
        }
    }
    let month = |m: &str| -> String { m.chars().filter(|c| c.is_ascii_digit() || *c == '-').collect() };
    // The years' table runs from its first year.
    let from = match kind {
        Kind::Years => o.year_series.years.first().map_or(&resp.from, |y| &y.answer.from),
        _ => &resp.from,
    };
    out.push_str(&format!(
        "-{}-{}-v{}",
        month(from),
        month(&resp.to),
        resp.dataset_version
    ));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;
    use crate::present::charts::{Heatmap, TargetPaths, Trend, TrendLegend, Years, YearsLegend};
    use crate::present::dashboard::{TrendSeries, YearSeries};
    use crate::service::figures::TargetValue;
    use std::collections::BTreeMap;

    fn row(keys: &[(&'static str, &str)], total: &str, ecom: &str, share: Option<f64>) -> ShareRow {
        ShareRow {
            keys: keys
                .iter()
                .map(|(k, v)| (*k, Some(v.to_string())))
                .collect::<BTreeMap<_, _>>(),
            total_revenue_vnd: total.into(),
            ecommerce_revenue_vnd: ecom.into(),
            share,
            target: Some(0.1),
            target_program: Some("134/KH-UBND".into()),
            targets: Vec::new().into(),
            gap_pp: share.map(|s| (s - 0.1) * 100.0),
            ecommerce_needed_vnd: None,
            status: match share {
                Some(s) if s >= 0.1 => Status::Met,
                Some(_) => Status::Below,
                None => Status::NoData,
            },
            filings: 4,
            units: 4,
            suppressed: false,
            release: crate::domain::Release::Final,
            response: crate::domain::Response::default(),
        }
    }

    fn withheld(keys: &[(&'static str, &str)]) -> ShareRow {
        ShareRow {
            total_revenue_vnd: String::new(),
            ecommerce_revenue_vnd: String::new(),
            gap_pp: None,
            status: Status::Suppressed,
            filings: 0,
            units: 0,
            suppressed: true,
            ..row(keys, "", "", None)
        }
    }

    fn answer(by: Vec<&'static str>, from: &str, rows: Vec<ShareRow>) -> ShareResponse {
        ShareResponse {
            from: from.into(),
            to: "2025-08".into(),
            by,
            dataset_version: 7,
            target: Some(0.1),
            target_program: Some("134/KH-UBND".into()),
            targets: Vec::new(),
            rows,
            total: row(&[], "3000000", "240000", Some(0.08)),
            series_break: None,
        }
    }

    fn district(code: &str, name: &str) -> [(&'static str, String); 2] {
        [("district_code", code.into()), ("district_name", name.into())]
    }

    fn keys<'a, const N: usize>(pairs: &'a [(&'static str, String); N]) -> Vec<(&'static str, &'a str)> {
        pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    /// Districts 380 (5 %), 381 withheld, 384 (12 %); FOOD and CLOTH by
    /// district; the communes from the reform; two months of trend.
    fn overview() -> Overview {
        let (d380, d381, d384) = (
            district("380", "Thanh Hóa"),
            district("381", "Bỉm Sơn"),
            district("384", "Mường Lát"),
        );
        let districts = answer(
            vec!["district"],
            "2025-01",
            vec![
                row(&keys(&d380), "2000000", "100000", Some(0.05)),
                withheld(&keys(&d381)),
                crate::service::ShareRow {
                    release: crate::domain::Release::Preliminary,
                    response: crate::domain::Response {
                        responding: 3,
                        expected: 4,
                    },
                    ..row(&keys(&d384), "1000000", "120000", Some(0.12))
                },
            ],
        );
        let sector = |code: &str| ("sector_code", code.to_string());
        let cell = |d: &[(&'static str, String); 2], s: &str, share: Option<f64>| {
            let mut k = keys(d);
            let s = sector(s);
            k.push((s.0, &s.1));
            let mut r = row(&k, "1000", "100", share);
            r.keys.insert("sector_code", Some(s.1.clone()));
            if share.is_none() {
                r.filings = 0;
            }
            r
        };
        let mut hidden = withheld(&keys(&d381));
        hidden.keys.insert("sector_code", Some("FOOD".into()));
        let district_sector = answer(
            vec!["district", "sector"],
            "2025-01",
            vec![
                cell(&d380, "FOOD", Some(0.05)),
                cell(&d380, "CLOTH", None),
                hidden,
                cell(&d384, "FOOD", Some(0.12)),
                cell(&d384, "CLOTH", Some(0.2)),
            ],
        );
        let period = |p: &str, share: Option<f64>| row(&[("period", p)], "1000", "100", share);
        let july = withheld(&[("period", "2025-07")]);
        let august = crate::service::ShareRow {
            release: crate::domain::Release::Estimate,
            response: crate::domain::Response {
                responding: 1,
                expected: 2,
            },
            ..period("2025-08", Some(0.09))
        };
        let now = answer(vec!["period"], "2025-07", vec![july, august]);
        let year_before = answer(vec!["period"], "2024-07", vec![period("2024-07", Some(0.07))]);
        let months = vec![Period::parse("2025-07").unwrap(), Period::parse("2025-08").unwrap()];
        let reference = std::sync::Arc::new(crate::store::builtin_reference());
        let heatmap = Heatmap {
            title: "Heat".into(),
            rows: vec!["Thanh Hóa".into(), "Bỉm Sơn".into(), "Mường Lát".into()],
            columns: vec!["Quần áo".into(), "Lương thực".into()],
            values: Vec::new(),
        };
        Overview {
            latest_month: districts.clone(),
            year_to_date: districts.clone(),
            same_period_last_year: districts.clone(),
            change_pp: None,
            sectors: answer(
                vec!["sector"],
                "2025-01",
                vec![row(&[("sector_code", "FOOD")], "5", "1", Some(0.2))],
            ),
            communes: None,
            rank: None,
            trend: Trend {
                title: "Trend".into(),
                months: Vec::new(),
                share: Vec::new(),
                provisional: Vec::new(),
                last_year: Vec::new(),
                start: (2025, 7),
                targets: TargetPaths::default(),
                legend: TrendLegend {
                    share: "Tỷ trọng TMĐT".into(),
                    last_year: "Cùng kỳ năm trước".into(),
                    target: "Mục tiêu".into(),
                    provisional: "Điểm rỗng: số ước tính hoặc sơ bộ".into(),
                },
            },
            trend_series: TrendSeries {
                months,
                now,
                year_before,
            },
            years: Years {
                title: "Tỷ trọng TMĐT theo năm".into(),
                years: Vec::new(),
                targets: TargetPaths::default(),
                legend: YearsLegend {
                    share: "Tỷ trọng TMĐT của năm".into(),
                    target: "Mục tiêu áp dụng từng năm".into(),
                    provisional: "Cột rỗng".into(),
                    partial: Vec::new(),
                },
            },
            year_series: year_series(),
            heatmap,
            district_sector,
            districts,
            reference,
            disclosure: Rule::default(),
            outlook: None,
        }
    }

    fn target(program: &str, low: f64, high: Option<f64>, kind: crate::domain::ValueKind) -> TargetValue {
        TargetValue {
            program: program.into(),
            low,
            high,
            kind,
        }
    }

    /// 2024 whole and final; 2025 to August, an estimate; 2026 without
    /// figures (its targets only). The programmes as the table has them,
    /// one of them without a target in these years.
    fn year_series() -> YearSeries {
        use crate::domain::ValueKind::{Path, Point};
        let year = |from: &str, to: &str, total: &str, ecom: &str, share: Option<f64>, targets: Vec<TargetValue>| {
            let mut a = answer(Vec::new(), from, Vec::new());
            a.to = to.into();
            a.total = ShareRow {
                targets: targets.into(),
                ..row(&[], total, ecom, share)
            };
            a
        };
        let (p2024, p2025) = (
            (Period::parse("2024-01").unwrap(), Period::parse("2024-12").unwrap()),
            (Period::parse("2025-01").unwrap(), Period::parse("2025-08").unwrap()),
        );
        let mut y2025 = year(
            "2025-01",
            "2025-08",
            "8000",
            "560",
            Some(0.07),
            vec![
                target("645/QĐ-TTg", 0.1, Some(0.1), Point),
                target("134/KH-UBND", 0.1, None, Point),
            ],
        );
        y2025.total.release = crate::domain::Release::Estimate;
        let mut y2026 = year(
            "2026-01",
            "2026-12",
            "0",
            "0",
            None,
            vec![
                target("1568/QĐ-BCT", 0.12, Some(0.12), Path),
                target("2326/QĐ-TTg", 0.11, Some(0.12), Path),
            ],
        );
        y2026.total.target = Some(0.11);
        y2026.total.target_program = Some("2326/QĐ-TTg".into());
        YearSeries {
            through: p2025.1,
            years: vec![
                crate::present::dashboard::YearAnswer {
                    year: 2024,
                    months: Some(p2024),
                    answer: year("2024-01", "2024-12", "10000", "600", Some(0.06), Vec::new()),
                },
                crate::present::dashboard::YearAnswer {
                    year: 2025,
                    months: Some(p2025),
                    answer: y2025,
                },
                crate::present::dashboard::YearAnswer {
                    year: 2026,
                    months: None,
                    answer: y2026,
                },
            ],
            programs: ["645/QĐ-TTg", "134/KH-UBND", "1568/QĐ-BCT", "2326/QĐ-TTg", "legacy"]
                .map(String::from)
                .to_vec(),
        }
    }

    fn params() -> ShareParams {
        ShareParams {
            district: Some("380,381,384".into()),
            ..ShareParams::default()
        }
    }

    #[test]
    fn names_are_the_paths() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.name()), Some(k));
        }
        assert_eq!(Kind::parse("heatmap"), None);
    }

    #[test]
    fn ranked_rows_put_the_highest_share_first_and_leave_rows_without_one_unranked() {
        let o = overview();
        let l = listed(&o.districts, true);
        let order: Vec<(&str, Option<usize>)> = l.iter().map(|l| (key(l.row, "district_code"), l.rank)).collect();
        assert_eq!(order, [("384", Some(1)), ("380", Some(2)), ("381", None)]);
        let plain: Vec<&str> = listed(&o.districts, false)
            .iter()
            .map(|l| key(l.row, "district_code"))
            .collect();
        assert_eq!(plain, ["380", "381", "384"]);
    }

    #[test]
    fn the_districts_table_is_the_pages_rows_with_withheld_figures_withheld() {
        let o = overview();
        let t = table(&o, &params(), Kind::Districts, Lang::Vi).unwrap();
        let keys: Vec<&str> = t.columns.iter().map(|c| c.key.as_ref()).collect();
        assert_eq!(
            keys,
            [
                "rank",
                "district_code",
                "district_name",
                "total_revenue_vnd",
                "ecommerce_revenue_vnd",
                "share",
                "target",
                "gap_pp",
                "filings",
                "status",
                "target_program",
                "release",
                "response_rate"
            ]
        );
        assert_eq!(t.columns[11].header, "Mức độ số liệu");
        assert_eq!(t.rows[0][11].raw(), "preliminary");
        assert_eq!(Format::show(&FIGURES, &t.rows[0][11], Lang::Vi), "sơ bộ");
        assert_eq!(Format::show(&FIGURES, &t.rows[0][12], Lang::Vi), "75,00 %");
        assert!(
            matches!(t.rows[2][12], Cell::Withheld),
            "a withheld row's response rate"
        );
        assert_eq!(t.columns[3].header, "Tổng mức bán lẻ (đồng)");
        assert_eq!(t.columns[10].header, "Chương trình mục tiêu");
        assert_eq!(t.rows[2][10].raw(), "134/KH-UBND", "the programme is not withheld");
        let codes: Vec<String> = t.rows.iter().map(|r| r[1].raw()).collect();
        assert_eq!(
            codes,
            ["384", "380", "381", ""],
            "ranked as on the page, the total last"
        );
        let hidden = &t.rows[2];
        for c in [3, 4, 5, 7, 8] {
            assert!(matches!(hidden[c], Cell::Withheld), "column {c}: {:?}", hidden[c]);
        }
        assert!(matches!(hidden[0], Cell::Empty), "no rank");
        assert!(
            matches!(hidden[6], Cell::Share(x) if x == 0.1),
            "the target is not withheld"
        );
        assert_eq!(hidden[9].raw(), "suppressed");
        assert_eq!(t.rows[0][9].raw(), "met");
        assert_eq!(Format::show(&FIGURES, &t.rows[0][9], Lang::Vi), "Đạt");
        assert_eq!(t.rows[3][2].raw(), "Toàn tỉnh");
        assert_eq!(t.title, "Theo huyện");
        assert_eq!(
            t.heading,
            [
                "Theo huyện (tháng 1/2025 – tháng 8/2025)".to_string(),
                "Bộ lọc — Huyện: Thanh Hóa (380), Bỉm Sơn (381), Mường Lát (384)".to_string(),
                "Mục tiêu năm 2025: 10,0 % theo 134/KH-UBND".to_string(),
                "Phiên bản dữ liệu 7".to_string(),
                withheld_note(&Rule::default(), Lang::Vi),
            ]
        );
        assert!(t.heading[4].starts_with("x: ") && t.heading[4].contains("dưới 3 doanh nghiệp"));
        assert!(t.notes.is_empty());

        // The same rows for machines: a BOM, the keys, CRLF, withheld empty.
        let csv = t.to_csv_file();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "\u{feff}rank,district_code,district_name,total_revenue_vnd,ecommerce_revenue_vnd,share,target,gap_pp,filings,status,target_program,release,response_rate"
        );
        let gap = |s: f64| (s - 0.1) * 100.0;
        assert_eq!(
            lines[1],
            format!(
                "1,384,Mường Lát,1000000,120000,0.12,0.1,{},4,met,134/KH-UBND,preliminary,0.75",
                gap(0.12)
            )
        );
        assert_eq!(lines[3], ",381,Bỉm Sơn,,,,0.1,,,suppressed,134/KH-UBND,final,");
        assert_eq!(
            lines[4],
            format!(
                ",,Toàn tỉnh,3000000,240000,0.08,0.1,{},4,below,134/KH-UBND,final,",
                gap(0.08)
            )
        );
        assert_eq!(lines[5], "");
    }

    #[test]
    fn a_table_without_withheld_figures_has_no_note_and_the_districts_carry_the_series_break() {
        let mut o = overview();
        o.districts.rows.remove(1);
        o.districts.series_break = Some("2025-07");
        let t = table(&o, &ShareParams::default(), Kind::Districts, Lang::En).unwrap();
        assert_eq!(
            t.heading,
            [
                "By district (1/2025 – 8/2025)",
                "Target for 2025: 10.0% under 134/KH-UBND",
                "Dataset version 7"
            ]
            .map(String::from)
        );
        assert_eq!(t.notes, [labels::of(Lang::En).page.series_break.to_string()]);
        assert_eq!(t.columns[3].header, "Total retail sales (VND)");
    }

    #[test]
    fn the_heat_table_is_the_grid_with_withheld_and_missing_cells_apart() {
        let o = overview();
        let t = table(&o, &params(), Kind::DistrictSector, Lang::Vi).unwrap();
        let keys: Vec<&str> = t.columns.iter().map(|c| c.key.as_ref()).collect();
        assert_eq!(keys, ["district_code", "district_name", "CLOTH", "FOOD"]);
        let headers: Vec<&str> = t.headers().collect();
        assert_eq!(headers, ["Mã huyện", "Huyện", "Quần áo", "Lương thực"]);
        let shown: Vec<Vec<String>> = t.shown_rows(Lang::Vi);
        assert_eq!(shown[0], ["380", "Thanh Hóa", "", "5,00 %"], "no filing: empty");
        assert_eq!(shown[1], ["381", "Bỉm Sơn", "", "x"], "withheld: x");
        assert_eq!(shown[2], ["384", "Mường Lát", "20,00 %", "12,00 %"]);
        assert!(t.heading.iter().any(|l| l.starts_with("x: ")));
        assert_eq!(t.title, "Theo huyện và ngành");
    }

    #[test]
    fn the_trend_table_names_its_months_and_withholds_a_withheld_month() {
        let o = overview();
        let t = table(&o, &ShareParams::default(), Kind::Trend, Lang::Vi).unwrap();
        assert_eq!(
            t.to_csv_file(),
            "\u{feff}period,share,share_last_year,release,response_rate\r\n2025-07,,0.07,final,\r\n2025-08,0.09,,estimate,0.5\r\n"
        );
        assert!(matches!(t.rows[0][1], Cell::Withheld));
        assert!(matches!(t.rows[1][2], Cell::Empty));
        assert_eq!(t.heading[0], "Trend");
        assert_eq!(t.heading[1], "Mục tiêu năm 2025: 10,0 % theo 134/KH-UBND");
        assert_eq!(t.heading[2], "Phiên bản dữ liệu 7");
    }

    #[test]
    fn the_years_table_is_each_years_answer_with_every_programmes_target() {
        let o = overview();
        let t = table(&o, &ShareParams::default(), Kind::Years, Lang::Vi).unwrap();
        assert_eq!(
            t.to_csv_file(),
            "\u{feff}year,from,through,total_revenue_vnd,ecommerce_revenue_vnd,share,release,response_rate,target,target_program,645/QĐ-TTg,134/KH-UBND,1568/QĐ-BCT,2326/QĐ-TTg\r\n\
             2024,2024-01,2024-12,10000,600,0.06,final,,0.1,134/KH-UBND,,,,\r\n\
             2025,2025-01,2025-08,8000,560,0.07,estimate,,0.1,134/KH-UBND,\"10,0 %\",\"từ 10,0 % trở lên\",,\r\n\
             2026,,,,,,,,0.11,2326/QĐ-TTg,,,\"12,0 %\",\"11,0 %–12,0 %\"\r\n"
        );
        // The figures are the answers', exact; a year without figures has none.
        for (row, y) in t.rows.iter().zip(&o.year_series.years) {
            match y.row() {
                Some(r) => {
                    assert!(matches!(&row[3], Cell::Money(v) if *v == r.total_revenue_vnd));
                    assert!(matches!(&row[4], Cell::Money(v) if *v == r.ecommerce_revenue_vnd));
                    assert!(matches!(row[5], Cell::Share(x) if Some(x) == r.share));
                }
                None => assert!(row[1..8].iter().all(|c| matches!(c, Cell::Empty))),
            }
        }
        assert_eq!(t.heading[0], "Tỷ trọng TMĐT theo năm");
        // The governing target of the last year with figures.
        assert_eq!(t.heading[1], "Mục tiêu năm 2025: 10,0 % theo 134/KH-UBND");
        let en = table(&o, &ShareParams::default(), Kind::Years, Lang::En).unwrap();
        assert_eq!(en.columns[10].header, "645/QĐ-TTg");
        assert!(matches!(&en.rows[1][11], Cell::Text(t) if t == "at least 10.0%"));
        assert_eq!(
            file_stem(&o, &ShareParams::default(), Kind::Years).unwrap(),
            "ty-trong-tmdt-years-2024-01-2025-08-v7"
        );
    }

    #[test]
    fn no_communes_table_without_communes_and_file_names_are_ascii() {
        let o = overview();
        assert!(table(&o, &params(), Kind::Communes, Lang::Vi).is_none());
        assert!(file_stem(&o, &params(), Kind::Communes).is_none());
        assert_eq!(
            file_stem(&o, &params(), Kind::DistrictSector).unwrap(),
            "ty-trong-tmdt-district-sector-district-380_381_384-2025-01-2025-08-v7"
        );
        let odd = ShareParams {
            sector: Some("\"Lương\";/..".into()),
            ..ShareParams::default()
        };
        let stem = file_stem(&o, &odd, Kind::Trend).unwrap();
        assert_eq!(stem, "ty-trong-tmdt-trend-sector-L_ng-2025-07-2025-08-v7");
        assert!(stem.is_ascii());
    }

    #[test]
    fn a_downloaded_sheet_has_its_heading_above_a_frozen_header_and_numbers_as_numbers() {
        use calamine::{Data, Reader, Xlsx};
        let o = overview();
        let t = table(&o, &params(), Kind::Districts, Lang::Vi).unwrap();
        let mut wb = rust_xlsxwriter::Workbook::new();
        t.write_sheet(&mut wb).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let mut x: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.clone())).unwrap();
        let range = x.worksheet_range("Theo huyện").unwrap();
        let at = |r: u32, c: u32| range.get_value((r, c)).cloned().unwrap_or(Data::Empty);
        assert_eq!(at(0, 0), Data::String(t.heading[0].clone()));
        assert_eq!(
            at(2, 0),
            Data::String("Mục tiêu năm 2025: 10,0 % theo 134/KH-UBND".into())
        );
        assert_eq!(at(3, 0), Data::String("Phiên bản dữ liệu 7".into()));
        assert_eq!(at(5, 1), Data::String("Mã huyện".into()));
        assert_eq!(at(6, 0), Data::Float(1.0));
        assert_eq!(at(6, 3), Data::Float(1_000_000.0));
        assert_eq!(at(6, 5), Data::Float(0.12));
        assert_eq!(at(6, 10), Data::String("134/KH-UBND".into()));
        assert_eq!(at(8, 3), Data::String("x".into()));
        assert_eq!(at(9, 2), Data::String("Toàn tỉnh".into()));
        // The header row is frozen under the heading.
        let sheet = String::from_utf8_lossy(&unzip(&bytes, "xl/worksheets/sheet1.xml")).to_string();
        assert!(sheet.contains("ySplit=\"6\""), "{sheet}");
        assert!(sheet.contains("topLeftCell=\"A7\""), "{sheet}");
    }

    fn unzip(bytes: &[u8], name: &str) -> Vec<u8> {
        use std::io::Read;
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut out = Vec::new();
        z.by_name(name).unwrap().read_to_end(&mut out).unwrap();
        out
    }
}
