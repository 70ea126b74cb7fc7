//! The report as an Excel workbook: one sheet per table, numbers stored as
//! numbers with vi-VN display formats. Reads a finished report only.

use super::model::Report;
use crate::present::export::{figure_cells, key_cell};
use crate::present::labels;
use crate::present::locale::{Lang, status_label};
use crate::present::table::{Align, Cell, Column, Format, Money, Table};
use crate::service::figures::ShareRow;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook, XlsxError};

/// The report as an Excel workbook: sheets Summary, Outlook, Target paths,
/// Districts, Sectors, District×Sector, (the annex by commune,) Monthly
/// trend and Methodology, numbers stored as numbers
/// with vi-VN display formats. Its document date is the dataset version's
/// commit time, so the same report gives the same bytes.
pub fn to_xlsx(report: &Report) -> Result<Vec<u8>, XlsxError> {
    let lang = report.lang();
    let mut wb = Workbook::new();
    wb.set_properties(&properties(report, lang)?);
    for sheet in sheets(report, lang) {
        sheet.write_sheet(&mut wb)?;
    }
    wb.save_to_buffer()
}

/// The workbook's title, and its date: the dataset version's commit time.
fn properties(report: &Report, lang: Lang) -> Result<DocProperties, XlsxError> {
    let l = &labels::of(lang).workbook;
    let created = chrono::DateTime::parse_from_rfc3339(&report.dataset_committed_at)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00".to_string());
    Ok(DocProperties::new()
        .set_title(l.title)
        .set_creation_datetime(&ExcelDateTime::parse_from_str(&created)?))
}

/// The sheets in order; the annex by commune only when the report has one.
fn sheets(report: &Report, lang: Lang) -> Vec<Table> {
    let mut out = vec![
        summary(report, lang),
        outlook(report, lang),
        paths(report, lang),
        districts(report, lang),
        sectors(report, lang),
        district_sector(report, lang),
    ];
    if !report.communes.is_empty() {
        out.push(communes(report, lang));
    }
    out.push(trend(report, lang));
    out.push(methodology(report, lang));
    out
}

/// How the sheets display figures: whole đồng, shares and points to two
/// decimals, empty cells left empty.
const FIGURES: Format = Format {
    align: Align::Right,
    places: 2,
    money: Money::Dong,
    missing: "",
};

/// A rank; an empty text without one, as the workbook has always had.
fn rank(rank: Option<usize>) -> Cell {
    rank.map_or(Cell::text(""), |r| Cell::Integer(r as u64))
}

/// A sheet without rows: `texts` columns (codes and names), the figure
/// columns, then any `extra` figure columns.
fn sheet(title: &'static str, texts: Vec<&'static str>, extra: Vec<&'static str>, lang: Lang) -> Table {
    let texts = texts.into_iter().map(|h| Column::new(h, FIGURES.left()));
    let figures = figure_headers(lang)
        .into_iter()
        .chain(extra)
        .map(|h| Column::new(h, FIGURES));
    Table {
        title,
        columns: texts.chain(figures).collect(),
        rows: Vec::new(),

        ..Table::default()
    }
}

fn figure_headers(lang: Lang) -> Vec<&'static str> {
    let l = &labels::of(lang).workbook;
    vec![
        l.total_retail,
        l.ecommerce,
        l.share,
        l.target,
        l.gap,
        l.status,
        l.filings,
        l.units,
    ]
}

fn figures(r: &ShareRow, lang: Lang) -> Vec<Cell> {
    figure_cells(r, status_label(r.status, lang))
}

/// `keys` of a row, then its figures.
fn keyed(r: &ShareRow, keys: &[&str], lang: Lang) -> Vec<Cell> {
    let mut row: Vec<Cell> = keys.iter().map(|k| key_cell(r, k)).collect();
    row.extend(figures(r, lang));
    row
}

fn summary(report: &Report, lang: Lang) -> Table {
    let l = &labels::of(lang).workbook;
    let mut lines = headline_lines(report, lang);
    lines.extend(quality_lines(report, lang));
    lines.push((l.sha256, Cell::text(report.content_sha256.clone())));
    let mut table = Table::labelled(l.summary, FIGURES, lines);
    table.columns[0].header = l.item.into();
    table.columns[1].header = l.value.into();
    table
}

/// The summary's month, dataset version and headline figures.
fn headline_lines(report: &Report, lang: Lang) -> Vec<(&'static str, Cell)> {
    let l = &labels::of(lang).workbook;
    let h = &report.headline;
    let needed = h.year_to_date.ecommerce_needed_vnd.as_deref();
    vec![
        (l.report_month, Cell::text(report.month.clone())),
        (l.version, Cell::Integer(report.dataset_version)),
        (l.committed_at, Cell::text(report.dataset_committed_at.clone())),
        (l.year_target, Cell::share(report.target)),
        (
            labels::of(lang).targets.column,
            super::shown::program_cell(report, lang),
        ),
        (l.month_share, Cell::share(h.month.share)),
        (l.month_total, Cell::money(&h.month.total_revenue_vnd)),
        (l.month_ecommerce, Cell::money(&h.month.ecommerce_revenue_vnd)),
        (l.ytd_share, Cell::share(h.year_to_date.share)),
        (l.ytd_gap, Cell::points(h.year_to_date.gap_pp)),
        (l.ytd_status, Cell::text(status_label(h.year_to_date.status, lang))),
        (l.needed, needed.map_or(Cell::text(""), Cell::money)),
        (l.on_previous_month, Cell::points(h.change_on_previous_month_pp)),
        (l.on_last_year, Cell::points(h.change_on_last_year_pp)),
        (
            labels::of(lang).release.column,
            Cell::text(crate::present::locale::release_label(h.month.release, lang)),
        ),
        (
            labels::of(lang).release.response_rate,
            Cell::share(h.month.response_rate()),
        ),
        (
            labels::of(lang).release.not_final_heading,
            Cell::text(super::shown::release_note(report, lang)),
        ),
    ]
}

/// The summary's counts of filings and records.
fn quality_lines(report: &Report, lang: Lang) -> Vec<(&'static str, Cell)> {
    let l = &labels::of(lang).workbook;
    let q = &report.quality;
    vec![
        (l.effective_filings, Cell::Integer(q.filings)),
        (l.reporting_units, Cell::Integer(q.units)),
        (l.previous_filings, Cell::Integer(q.previous_month_filings)),
        (l.rejected, Cell::Integer(q.records_rejected)),
        (
            l.revised,
            q.revisions_since_previous_report.map_or(Cell::text("—"), Cell::Integer),
        ),
    ]
}

fn districts(report: &Report, lang: Lang) -> Table {
    let l = &labels::of(lang).workbook;
    let mut table = sheet(
        l.districts,
        vec![l.district_code, l.district],
        vec![l.rank, l.change_previous, l.change_last_year],
        lang,
    );
    table.rows = report
        .districts
        .iter()
        .map(|d| {
            let mut row = keyed(&d.figures, &["district_code", "district_name"], lang);
            row.push(rank(d.rank));
            row.push(Cell::points(d.change_on_previous_month_pp));
            row.push(Cell::points(d.change_on_last_year_pp));
            row
        })
        .collect();
    table
}

fn sectors(report: &Report, lang: Lang) -> Table {
    let l = &labels::of(lang).workbook;
    let mut table = sheet(l.sectors, vec![l.sector_code, l.sector], Vec::new(), lang);
    let keys = ["sector_code", "sector_name"];
    table.rows = report.sectors.iter().map(|r| keyed(r, &keys, lang)).collect();
    table
}

fn district_sector(report: &Report, lang: Lang) -> Table {
    let l = &labels::of(lang).workbook;
    let mut table = sheet(
        l.district_sector,
        vec![l.district_code, l.district, l.sector_code, l.sector],
        Vec::new(),
        lang,
    );
    let keys = ["district_code", "district_name", "sector_code", "sector_name"];
    table.rows = report.district_sector.iter().map(|r| keyed(r, &keys, lang)).collect();
    table
}

fn communes(report: &Report, lang: Lang) -> Table {
    let l = &labels::of(lang).workbook;
    let mut table = sheet(
        l.communes,
        vec![l.commune_code, l.commune, l.former_district],
        vec![l.rank],
        lang,
    );
    table.rows = report
        .communes
        .iter()
        .map(|c| {
            let f = &c.figures;
            let mut row = vec![
                key_cell(f, "commune_code"),
                key_cell(f, "commune_name"),
                Cell::text(c.former_district.clone()),
            ];
            row.extend(figures(f, lang));
            row.push(rank(c.rank));
            row
        })
        .collect();
    table
}

/// The province month by month, each month with its release state and
/// response rate.
fn trend(report: &Report, lang: Lang) -> Table {
    let l = &labels::of(lang).workbook;
    let r = &labels::of(lang).release;
    let mut table = sheet(l.trend, vec![l.month], vec![r.column, r.response_rate], lang);
    table.rows = report
        .trend
        .iter()
        .map(|row| {
            let mut cells = keyed(row, &["period"], lang);
            cells.push(Cell::text(crate::present::locale::release_label(row.release, lang)));
            cells.push(Cell::share(row.response_rate()));
            cells
        })
        .collect();
    table
}

/// The year's outlook as labelled lines, numbers as numbers: the last month
/// with data and how final it is, the projection and its interval, the
/// governing target and programme, the status, the e-commerce needed per
/// remaining month (whole đồng) and the indicators with their targets.
/// Withheld figures read as withheld.
fn outlook(report: &Report, lang: Lang) -> Table {
    use crate::present::locale::{release_label, target_range};
    use crate::present::outlook::{indicator_label, status};
    let all = labels::of(lang);
    let (l, o) = (&all.workbook, &all.outlook);
    let r = &report.outlook;
    let x = &r.outlook;
    let p = &x.projection;
    let figure = |v: Option<f64>| if r.suppressed { Cell::Withheld } else { Cell::share(v) };
    let through = report.outlook_through.as_ref();
    let mut lines = vec![
        (l.year, Cell::text(x.year.to_string())),
        (
            l.through,
            through.map_or(Cell::text(""), |m| Cell::text(m.month.clone())),
        ),
        (
            all.release.column,
            through.map_or(Cell::text(""), |m| Cell::text(release_label(m.release, lang))),
        ),
        (
            all.release.response_rate,
            Cell::share(through.and_then(|m| m.response_rate)),
        ),
        (l.projection, figure(p.share)),
        (l.interval_level, Cell::Share(p.level)),
        (l.interval_low, figure(p.low)),
        (l.interval_high, figure(p.high)),
        (l.backtest_years, Cell::Integer(p.backtest_years as u64)),
        (l.target_low, Cell::share(x.target.as_ref().map(|t| t.low.value()))),
        (
            l.target_high,
            Cell::share(x.target.as_ref().and_then(|t| t.high.map(|h| h.value()))),
        ),
        (
            all.targets.column,
            x.target.as_ref().map_or(Cell::text(""), |t| {
                Cell::text(crate::present::locale::program(&t.program, lang))
            }),
        ),
        (o.status, Cell::text(status(x.status, lang))),
        (
            l.needed_monthly,
            match x.needed_monthly_ecommerce_vnd {
                _ if r.suppressed => Cell::Withheld,
                Some(v) => Cell::Money(v.to_string()),
                None => Cell::text(""),
            },
        ),
    ];
    for i in &x.indicators {
        let (target, standing) = match crate::domain::targets::Indicator::parse(i.indicator) {
            Some(crate::domain::targets::Indicator::CommunesSellingOnline) => (l.communes_target, l.communes_status),
            _ => (l.growth_target, l.growth_status),
        };
        lines.push((indicator_label(i, lang), figure(i.value)));
        lines.push((
            target,
            i.target_low
                .map_or(Cell::text(""), |low| Cell::text(target_range(low, i.target_high, lang))),
        ));
        lines.push((standing, Cell::text(status(i.status, lang))));
    }
    let mut table = Table::labelled(l.outlook, FIGURES, lines);
    table.columns[0].header = l.item.into();
    table.columns[1].header = l.value.into();
    table
}

/// Every programme's e-commerce share target for each year of the path, a
/// row each: the year, the programme, its low and high bounds (high empty:
/// at least the low).
fn paths(report: &Report, lang: Lang) -> Table {
    let l = &labels::of(lang).workbook;
    Table {
        title: l.paths,
        columns: vec![
            Column::new(l.year, FIGURES.left()),
            Column::new(labels::of(lang).outlook.program, FIGURES.left()),
            Column::new(l.low, FIGURES),
            Column::new(l.high, FIGURES),
        ],
        rows: report
            .outlook
            .path
            .iter()
            .map(|p| {
                vec![
                    // A year, not a count: no thousands separator.
                    Cell::text(p.year.to_string()),
                    Cell::text(crate::present::locale::program(&p.program, lang)),
                    Cell::Share(p.low),
                    Cell::share(p.high),
                ]
            })
            .collect(),
        ..Table::default()
    }
}

fn methodology(report: &Report, lang: Lang) -> Table {
    let l = &labels::of(lang).workbook;
    Table {
        title: l.methodology,
        columns: vec![Column::new(l.methodology_column, FIGURES.left())],
        rows: report.methodology.iter().map(|m| vec![Cell::text(m.clone())]).collect(),

        ..Table::default()
    }
}
