//! Share figures as CSV and as a text table, from the plain response: the
//! response laid out as a `table::Table`, which writes it. Formats only;
//! computes nothing.

use crate::domain::Status;
use crate::present::labels;
use crate::present::locale::Lang;
use crate::present::table::{Align, Cell, Column, Format, Money, Table};
use crate::service::figures::{ShareResponse, ShareRow};

/// How the text table's figures read: whole đồng, shares and points to two
/// decimals, a dash for none.
const FIGURES: Format = Format {
    align: Align::Right,
    places: 2,
    money: Money::Dong,
    missing: "–",
};

/// The key and name columns of a response's rows, in `by` order.
fn key_columns(resp: &ShareResponse) -> Vec<&'static str> {
    let mut cols = Vec::new();
    for name in &resp.by {
        let dim = crate::domain::Dim::parse(name).expect("response dimensions are valid");
        cols.push(dim.key_field());
        if let Some(n) = dim.name_field() {
            cols.push(n);
        }
    }
    cols
}

/// The figure columns of the CSV, named as in the JSON (columns added
/// later come last: a reader by position keeps working).
const FIGURE_COLUMNS: [&str; 13] = [
    "total_revenue_vnd",
    "ecommerce_revenue_vnd",
    "share",
    "target",
    "gap_pp",
    "status",
    "filings",
    "units",
    "suppressed",
    "row",
    "target_program",
    "release",
    "response_rate",
];

/// A row's key or name for `field`, empty when it has none (as in the total).
pub fn key_cell(r: &ShareRow, field: &str) -> Cell {
    Cell::text(r.keys.get(field).cloned().flatten().unwrap_or_default())
}

/// A row's figures (totals, share, target, gap, standing, filings, units),
/// its standing written as `status`: the columns every share table shares.
pub fn figure_cells(r: &ShareRow, status: &str) -> Vec<Cell> {
    vec![
        Cell::money(&r.total_revenue_vnd),
        Cell::money(&r.ecommerce_revenue_vnd),
        Cell::share(r.share),
        Cell::share(r.target),
        Cell::points(r.gap_pp),
        Cell::text(status),
        Cell::count(r.filings, r.suppressed),
        Cell::count(r.units, r.suppressed),
    ]
}

/// A row's figures for machines, `kind` being `row` or `total`.
fn csv_cells(r: &ShareRow, kind: &str) -> Vec<Cell> {
    let mut cells = figure_cells(r, r.status.code());
    cells.extend([
        Cell::text(r.suppressed.to_string()),
        Cell::text(kind),
        Cell::text(r.target_program.as_deref().unwrap_or_default()),
        Cell::text(r.release.code()),
        Cell::share(r.response_rate()),
    ]);
    cells
}

/// CSV with a header, one line per row and a last line for the total
/// (`row` = `total`, key columns empty). Numbers unformatted, for machines.
pub fn share_csv(resp: &ShareResponse) -> String {
    let keys = key_columns(resp);
    let line = |r: &ShareRow, kind: &str| -> Vec<Cell> {
        let keys = keys.iter().map(|k| key_cell(r, k));
        keys.chain(csv_cells(r, kind)).collect()
    };
    let mut rows: Vec<Vec<Cell>> = resp.rows.iter().map(|r| line(r, "row")).collect();
    rows.push(line(&resp.total, "total"));
    let keys = keys.iter().map(|k| Column::new(*k, FIGURES.left()));
    let figures = FIGURE_COLUMNS.iter().map(|h| Column::new(*h, FIGURES));
    Table {
        title: "",
        columns: keys.chain(figures).collect(),
        rows,

        ..Table::default()
    }
    .to_csv()
}

/// The text table's figure columns.
fn figure_columns(l: &labels::Export) -> Vec<Column> {
    let heads = [
        l.total_retail,
        l.ecommerce,
        l.share,
        l.target,
        l.gap,
        l.status,
        l.filings,
        l.units,
    ];
    heads
        .into_iter()
        .enumerate()
        // The target reads to one decimal.
        .map(|(i, h)| Column::new(h, if i == 3 { FIGURES.places(1) } else { FIGURES }))
        .collect()
}

/// A row's standing, in words.
fn status(r: &ShareRow, l: &labels::Export) -> &'static str {
    match r.status {
        Status::Met => l.met,
        Status::Below => l.below,
        Status::NoTarget => l.no_target,
        Status::NoData | Status::Suppressed => l.no_data,
    }
}

/// A row's figures for people, the programme of its target, how final
/// its months are and its response rate.
fn shown_cells(r: &ShareRow, l: &labels::Export, lang: Lang) -> Vec<Cell> {
    let mut cells = figure_cells(r, status(r, l));
    cells.push(Cell::text(
        r.target_program
            .as_deref()
            .map(|p| crate::present::locale::program(p, lang))
            .unwrap_or_default(),
    ));
    cells.push(Cell::text(crate::present::locale::release_label(r.release, lang)));
    cells.push(Cell::share(r.response_rate()));
    cells
}

/// An aligned text table for people, numbers in the language's style: the
/// key columns on the left (one unnamed column for the total's label when
/// there are none), a last line for the total.
pub fn share_table(resp: &ShareResponse, lang: Lang) -> String {
    let l = &labels::of(lang).export;
    let keys = key_columns(resp);
    let mut columns: Vec<Column> = keys.iter().map(|k| Column::new(*k, FIGURES.left())).collect();
    if columns.is_empty() {
        columns.push(Column::new("", FIGURES.left()));
    }
    let key_count = columns.len();
    columns.extend(figure_columns(l));
    columns.push(Column::new(labels::of(lang).targets.column, FIGURES.left()));
    columns.push(Column::new(labels::of(lang).release.column, FIGURES.left()));
    columns.push(Column::new(labels::of(lang).release.response_rate, FIGURES.places(1)));
    let mut rows: Vec<Vec<Cell>> = resp
        .rows
        .iter()
        .map(|r| {
            let keys = (0..key_count).map(|i| keys.get(i).map_or(Cell::text(""), |k| key_cell(r, k)));
            keys.chain(shown_cells(r, l, lang)).collect()
        })
        .collect();
    let labels = (0..key_count).map(|i| Cell::text(if i == 0 { l.total } else { "" }));
    rows.push(labels.chain(shown_cells(&resp.total, l, lang)).collect());
    Table {
        title: "",
        columns,
        rows,

        ..Table::default()
    }
    .to_text(lang)
}
