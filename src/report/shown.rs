//! The report as text for people: the sections the HTML page and the PDF
//! both show, labelled and formatted once in the report's language. Reads a
//! finished report only.

use super::model::Report;
use crate::present::export::key_cell;
use crate::present::labels;
use crate::present::locale::{Lang, status_label};
use crate::present::table::{Align, Cell, Column, Format, Money, Table};

/// The report as text for people, in its language: the sections that the
/// HTML page and the PDF both show, labelled once.
pub struct Shown {
    pub lang: Lang,
    pub title: &'static str,
    pub version_label: &'static str,
    pub headline: Table,
    pub districts: Table,
    pub sectors: Table,
    pub quality: Table,
    pub methodology_heading: &'static str,
    /// Said under the districts when their comparisons cross the reform.
    pub series_break_note: Option<&'static str>,
    /// The annex by commune (months from the 2025 reform).
    pub communes: Option<Table>,
    /// Which months' figures are not final yet (or that all are).
    pub release_note: String,
    /// The year's outlook: its heading and its labelled lines.
    pub outlook_heading: String,
    pub outlook: Table,
    /// Every programme's path, a year a row (none without any target).
    pub paths: Option<Paths>,
}

/// The targets' paths: a heading, the table (a year a row, a programme a
/// column) and a note on what its cells are.
pub struct Paths {
    pub heading: String,
    pub table: Table,
    pub note: &'static str,
}

/// How the report's figures read: money in billions of đồng, shares and
/// points to two decimals, a dash for none.
const FIGURES: Format = Format {
    align: Align::Right,
    places: 2,
    money: Money::Billions,
    missing: "—",
};

/// The shown sections of `report`, in its language.
pub fn shown(report: &Report) -> Shown {
    let lang = report.lang();
    let l = &labels::of(lang).report;
    Shown {
        lang,
        title: l.title,
        version_label: l.version,
        headline: headline(report, l, lang),
        districts: districts(report, l),
        sectors: sectors(report, l),
        quality: quality(report, l),
        methodology_heading: l.methodology,
        series_break_note: report.series_break.map(|_| l.series_break),
        communes: (!report.communes.is_empty()).then(|| communes(report, l)),
        release_note: release_note(report, lang),
        outlook_heading: labels::fill(l.outlook, &[("year", &report.outlook.outlook.year.to_string())]),
        outlook: outlook(report, lang),
        paths: paths(report, lang),
    }
}

/// The outlook's lines: the last month with data and how final it is, the
/// projection with its interval, the governing target and programme, the
/// status, the e-commerce needed per remaining month (tỷ đồng) and the
/// indicators against their targets — in the words of `ecomshare outlook`
/// (shares to one decimal). Withheld, its figures read as withheld.
fn outlook(report: &Report, lang: Lang) -> Table {
    use crate::present::outlook as shown;
    let all = labels::of(lang);
    let (l, o) = (&all.report, &all.outlook);
    let r = &report.outlook;
    let through = report
        .outlook_through
        .as_ref()
        .map_or_else(|| o.no_month.to_string(), |m| month_release(m, lang));
    let withheld = |cell: Cell| if r.suppressed { Cell::Withheld } else { cell };
    let needed = r
        .outlook
        .needed_monthly_ecommerce_vnd
        .map_or(Cell::Empty, |v| Cell::Money(v.to_string()));
    let mut lines = vec![
        (o.through, Cell::text(through)),
        (o.projection, withheld(Cell::text(shown::projection(r, lang)))),
        (o.target, Cell::text(shown::target(&r.outlook, lang))),
        (o.status, Cell::text(shown::status(r.outlook.status, lang))),
        (l.needed_monthly, withheld(needed)),
    ];
    for i in &r.outlook.indicators {
        lines.push((
            shown::indicator_label(i, lang),
            Cell::text(shown::indicator_line(i, lang)),
        ));
    }
    let mut table = Table::labelled("", FIGURES, lines);
    table.columns[1].format = FIGURES.left();
    table
}

/// Every programme's e-commerce share target for each year of the outlook's
/// path (the report's year to the latest horizon): a year a row, a
/// programme a column in the path's order, a dash where a programme has no
/// value that year.
fn paths(report: &Report, lang: Lang) -> Option<Paths> {
    use crate::present::locale::{program, target_range};
    let path = &report.outlook.path;
    let (first, last) = (path.first()?.year, path.last()?.year);
    let mut programs: Vec<&str> = Vec::new();
    for p in path {
        if !programs.contains(&p.program.as_str()) {
            programs.push(&p.program);
        }
    }
    let columns = std::iter::once(Column::new(labels::of(lang).outlook.year, FIGURES.left()))
        .chain(programs.iter().map(|p| Column::new(program(p, lang), FIGURES)))
        .collect();
    let rows = (first..=last)
        .map(|year| {
            std::iter::once(Cell::text(year.to_string()))
                .chain(programs.iter().map(|name| {
                    path.iter()
                        .find(|p| p.year == year && p.program == *name)
                        .map_or(Cell::Empty, |p| Cell::text(target_range(p.low, p.high, lang)))
                }))
                .collect()
        })
        .collect();
    let l = &labels::of(lang).report;
    Some(Paths {
        heading: labels::fill(l.paths, &[("from", &first.to_string()), ("to", &last.to_string())]),
        table: Table {
            columns,
            rows,
            ..Table::default()
        },
        note: l.paths_note,
    })
}

/// The months not final yet, each with its state and response rate
/// ("tháng 6/2025 (ước tính; tỷ lệ phản hồi 62,5 %)"), or that every month
/// is final.
pub fn release_note(report: &Report, lang: Lang) -> String {
    let r = &labels::of(lang).release;
    if report.not_final.is_empty() {
        return r.all_final.to_string();
    }
    let list: Vec<String> = report.not_final.iter().map(|m| month_release(m, lang)).collect();
    labels::fill(r.not_final, &[("list", &list.join(", "))])
}

/// A month with its release state, and its response rate when it has one.
fn month_release(m: &super::model::MonthRelease, lang: Lang) -> String {
    use crate::present::locale::{month, percent, release_label};
    let all = labels::of(lang);
    let (name, state) = (month(&m.month, lang), release_label(m.release, lang));
    match m.response_rate {
        Some(rate) => labels::fill(
            all.report.month_release,
            &[("month", &name), ("state", state), ("rate", &percent(rate, 1, lang))],
        ),
        None => labels::fill(all.release.month_state, &[("month", &name), ("state", state)]),
    }
}

/// A rank as a plain ordinal, a dash for none.
fn rank(rank: Option<usize>) -> Cell {
    rank.map_or(Cell::Empty, |r| Cell::text(r.to_string()))
}

/// Text columns on the left, figures on the right.
fn columns(texts: usize, heads: Vec<&'static str>) -> Vec<Column> {
    heads
        .into_iter()
        .enumerate()
        .map(|(i, h)| Column::new(h, if i < texts { FIGURES.left() } else { FIGURES }))
        .collect()
}

/// The programme of the report's target, empty without one.
pub fn program_cell(report: &Report, lang: Lang) -> Cell {
    report
        .target_program
        .as_deref()
        .map_or(Cell::Empty, |p| Cell::text(crate::present::locale::program(p, lang)))
}

fn headline(report: &Report, l: &labels::Report, lang: Lang) -> Table {
    let h = &report.headline;
    let needed = h.year_to_date.ecommerce_needed_vnd.as_deref();
    Table::labelled(
        l.headline,
        FIGURES,
        vec![
            (l.month_share, Cell::share(h.month.share)),
            (l.ytd_share, Cell::share(h.year_to_date.share)),
            (l.year_target, Cell::share(report.target)),
            (labels::of(lang).targets.column, program_cell(report, lang)),
            (l.ytd_gap, Cell::points(h.year_to_date.gap_pp)),
            (l.ytd_status, Cell::text(status_label(h.year_to_date.status, lang))),
            (l.needed, needed.map_or(Cell::Empty, Cell::money)),
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
        ],
    )
}

fn districts(report: &Report, l: &labels::Report) -> Table {
    let heads = vec![
        l.code,
        l.district,
        l.total_retail,
        l.ecommerce,
        l.share,
        l.gap,
        l.rank,
        l.change_previous,
        l.change_last_year,
    ];
    let rows = report.districts.iter().map(|d| {
        let f = &d.figures;
        vec![
            key_cell(f, "district_code"),
            key_cell(f, "district_name"),
            Cell::money(&f.total_revenue_vnd),
            Cell::money(&f.ecommerce_revenue_vnd),
            Cell::share(f.share),
            Cell::points(f.gap_pp),
            rank(d.rank),
            Cell::points(d.change_on_previous_month_pp),
            Cell::points(d.change_on_last_year_pp),
        ]
    });
    Table {
        title: l.districts,
        columns: columns(2, heads),
        rows: rows.collect(),

        ..Table::default()
    }
}

fn sectors(report: &Report, l: &labels::Report) -> Table {
    let heads = vec![l.code, l.sector, l.total_retail, l.ecommerce, l.share];
    let rows = report.sectors.iter().map(|f| {
        vec![
            key_cell(f, "sector_code"),
            key_cell(f, "sector_name"),
            Cell::money(&f.total_revenue_vnd),
            Cell::money(&f.ecommerce_revenue_vnd),
            Cell::share(f.share),
        ]
    });
    Table {
        title: l.sectors,
        columns: columns(2, heads),
        rows: rows.collect(),

        ..Table::default()
    }
}

fn quality(report: &Report, l: &labels::Report) -> Table {
    let q = &report.quality;
    Table::labelled(
        l.quality,
        FIGURES,
        vec![
            (l.filings, Cell::Integer(q.filings)),
            (l.units, Cell::Integer(q.units)),
            (l.previous_filings, Cell::Integer(q.previous_month_filings)),
            (l.previous_units, Cell::Integer(q.previous_month_units)),
            (l.files, Cell::Integer(q.files_ingested)),
            (l.received, Cell::Integer(q.records_received)),
            (l.rejected, Cell::Integer(q.records_rejected)),
            (
                l.revised,
                q.revisions_since_previous_report.map_or(Cell::Empty, Cell::Integer),
            ),
        ],
    )
}

fn communes(report: &Report, l: &labels::Report) -> Table {
    let heads = vec![
        l.code,
        l.commune,
        l.former_district,
        l.total_retail,
        l.ecommerce,
        l.share,
        l.gap,
        l.rank,
    ];
    let rows = report.communes.iter().map(|c| {
        let f = &c.figures;
        vec![
            key_cell(f, "commune_code"),
            key_cell(f, "commune_name"),
            Cell::text(c.former_district.clone()),
            Cell::money(&f.total_revenue_vnd),
            Cell::money(&f.ecommerce_revenue_vnd),
            Cell::share(f.share),
            Cell::points(f.gap_pp),
            rank(c.rank),
        ]
    });
    Table {
        title: l.communes,
        columns: columns(3, heads),
        rows: rows.collect(),

        ..Table::default()
    }
}
