//! The report as an Excel workbook: one sheet per table, numbers stored as
//! numbers with vi-VN display formats. Reads a finished report only.

use super::model::{Report, code};
use crate::present::locale::{Lang, status_label};
use crate::present::table::{Align, Cell, Column, Format, Money, Table};
use crate::service::ShareRow;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook, XlsxError};

/// The report as an Excel workbook: sheets Summary, Districts, Sectors,
/// District×Sector, Monthly trend and Methodology, numbers stored as numbers
/// with vi-VN display formats. Its document date is the dataset version's
/// commit time, so the same report gives the same bytes.
pub fn to_xlsx(report: &Report) -> Result<Vec<u8>, XlsxError> {
    let t = Texts {
        vi: report.lang() == Lang::Vi,
    };
    let mut wb = Workbook::new();
    wb.set_properties(&properties(report, t)?);
    for sheet in sheets(report, t) {
        sheet.write_sheet(&mut wb)?;
    }
    wb.save_to_buffer()
}

/// The workbook's title, and its date: the dataset version's commit time.
fn properties(report: &Report, t: Texts) -> Result<DocProperties, XlsxError> {
    let created = chrono::DateTime::parse_from_rfc3339(&report.dataset_committed_at)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00".to_string());
    Ok(DocProperties::new()
        .set_title(t.t("Báo cáo tỷ trọng thương mại điện tử", "E-commerce share report"))
        .set_creation_datetime(&ExcelDateTime::parse_from_str(&created)?))
}

/// The sheets in order; the annex by commune only when the report has one.
fn sheets(report: &Report, t: Texts) -> Vec<Table> {
    let mut out = vec![
        summary(report, t),
        districts(report, t),
        sectors(report, t),
        district_sector(report, t),
    ];
    if !report.communes.is_empty() {
        out.push(communes(report, t));
    }
    out.push(trend(report, t));
    out.push(methodology(report, t));
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

/// Picks the text of the report's language.
#[derive(Clone, Copy)]
struct Texts {
    vi: bool,
}

impl Texts {
    fn t(self, vi: &'static str, en: &'static str) -> &'static str {
        if self.vi { vi } else { en }
    }

    fn lang(self) -> Lang {
        if self.vi { Lang::Vi } else { Lang::En }
    }
}

fn name_of(row: &ShareRow, field: &str) -> Cell {
    Cell::text(code(row, field).unwrap_or(""))
}

/// A rank; an empty text without one, as the workbook has always had.
fn rank(rank: Option<usize>) -> Cell {
    rank.map_or(Cell::text(""), |r| Cell::Integer(r as u64))
}

/// A sheet of `texts` text columns (codes and names), then the figures of
/// `figures` and any `extra` figure columns.
fn sheet(title: &'static str, texts: Vec<&'static str>, extra: Vec<&'static str>, t: Texts) -> Table {
    let texts = texts.into_iter().map(|h| Column::new(h, FIGURES.left()));
    let figures = figure_headers(t)
        .into_iter()
        .chain(extra)
        .map(|h| Column::new(h, FIGURES));
    Table {
        title,
        columns: texts.chain(figures).collect(),
        rows: Vec::new(),
    }
}

fn figure_headers(t: Texts) -> Vec<&'static str> {
    vec![
        t.t("Tổng mức bán lẻ (đồng)", "Total retail sales (VND)"),
        t.t("Doanh thu TMĐT (đồng)", "E-commerce revenue (VND)"),
        t.t("Tỷ trọng TMĐT", "E-commerce share"),
        t.t("Mục tiêu", "Target"),
        t.t("Chênh lệch (điểm %)", "Gap (points)"),
        t.t("Tình trạng", "Status"),
        t.t("Số báo cáo", "Filings"),
        t.t("Số đơn vị", "Units"),
    ]
}

fn figure_cells(r: &ShareRow, lang: Lang) -> Vec<Cell> {
    vec![
        Cell::money(&r.total_revenue_vnd),
        Cell::money(&r.ecommerce_revenue_vnd),
        Cell::share(r.share),
        Cell::share(r.target),
        Cell::points(r.gap_pp),
        Cell::text(status_label(r.status, lang)),
        Cell::count(r.filings, r.suppressed),
        Cell::count(r.units, r.suppressed),
    ]
}

/// `keys` of a row, then its figures.
fn keyed(r: &ShareRow, keys: &[&str], lang: Lang) -> Vec<Cell> {
    let mut row: Vec<Cell> = keys.iter().map(|k| name_of(r, k)).collect();
    row.extend(figure_cells(r, lang));
    row
}

fn summary(report: &Report, t: Texts) -> Table {
    let mut lines = headline_lines(report, t);
    lines.extend(quality_lines(report, t));
    lines.push((
        t.t("Mã kiểm tra nội dung (SHA-256)", "Content hash (SHA-256)"),
        Cell::text(report.content_sha256.clone()),
    ));
    let mut table = Table::labelled(t.t("Tóm tắt", "Summary"), FIGURES, lines);
    table.columns[0].header = t.t("Chỉ tiêu", "Item");
    table.columns[1].header = t.t("Giá trị", "Value");
    table
}

/// The summary's month, dataset version and headline figures.
fn headline_lines(report: &Report, t: Texts) -> Vec<(&'static str, Cell)> {
    let h = &report.headline;
    let needed = h.year_to_date.ecommerce_needed_vnd.as_deref();
    vec![
        (t.t("Tháng báo cáo", "Month"), Cell::text(report.month.clone())),
        (
            t.t("Phiên bản dữ liệu", "Dataset version"),
            Cell::Integer(report.dataset_version),
        ),
        (
            t.t("Thời điểm dữ liệu", "Dataset committed at"),
            Cell::text(report.dataset_committed_at.clone()),
        ),
        (t.t("Mục tiêu năm", "Target for the year"), Cell::share(report.target)),
        (
            t.t("Tỷ trọng TMĐT của tháng", "E-commerce share, month"),
            Cell::share(h.month.share),
        ),
        (
            t.t("Tổng mức bán lẻ của tháng (đồng)", "Total retail sales, month (VND)"),
            Cell::money(&h.month.total_revenue_vnd),
        ),
        (
            t.t("Doanh thu TMĐT của tháng (đồng)", "E-commerce revenue, month (VND)"),
            Cell::money(&h.month.ecommerce_revenue_vnd),
        ),
        (
            t.t("Tỷ trọng TMĐT lũy kế năm", "E-commerce share, year to date"),
            Cell::share(h.year_to_date.share),
        ),
        (
            t.t(
                "Chênh lệch so với mục tiêu, lũy kế (điểm %)",
                "Gap to target, year to date (points)",
            ),
            Cell::points(h.year_to_date.gap_pp),
        ),
        (
            t.t("Tình trạng, lũy kế", "Status, year to date"),
            Cell::text(status_label(h.year_to_date.status, t.lang())),
        ),
        (
            t.t(
                "Doanh thu TMĐT còn cần để đạt mục tiêu (đồng)",
                "E-commerce revenue still needed (VND)",
            ),
            needed.map_or(Cell::text(""), Cell::money),
        ),
        (
            t.t("So với tháng trước (điểm %)", "Change on the previous month (points)"),
            Cell::points(h.change_on_previous_month_pp),
        ),
        (
            t.t(
                "So với cùng tháng năm trước (điểm %)",
                "Change on the same month last year (points)",
            ),
            Cell::points(h.change_on_last_year_pp),
        ),
    ]
}

/// The summary's counts of filings and records.
fn quality_lines(report: &Report, t: Texts) -> Vec<(&'static str, Cell)> {
    let q = &report.quality;
    vec![
        (
            t.t("Số báo cáo có hiệu lực", "Effective filings"),
            Cell::Integer(q.filings),
        ),
        (t.t("Số đơn vị báo cáo", "Reporting units"), Cell::Integer(q.units)),
        (
            t.t("Số báo cáo tháng trước", "Filings, previous month"),
            Cell::Integer(q.previous_month_filings),
        ),
        (
            t.t("Số bản ghi bị từ chối", "Records rejected"),
            Cell::Integer(q.records_rejected),
        ),
        (
            t.t(
                "Số báo cáo được điều chỉnh từ báo cáo tháng trước",
                "Filings revised since the previous report",
            ),
            q.revisions_since_previous_report.map_or(Cell::text("—"), Cell::Integer),
        ),
    ]
}

fn districts(report: &Report, t: Texts) -> Table {
    let mut table = sheet(
        t.t("Huyện", "Districts"),
        vec![t.t("Mã huyện", "District code"), t.t("Huyện", "District")],
        vec![
            t.t("Xếp hạng", "Rank"),
            t.t("So với tháng trước (điểm %)", "Change on previous month (points)"),
            t.t("So với cùng kỳ năm trước (điểm %)", "Change on last year (points)"),
        ],
        t,
    );
    table.rows = report
        .districts
        .iter()
        .map(|d| {
            let mut row = keyed(&d.figures, &["district_code", "district_name"], t.lang());
            row.push(rank(d.rank));
            row.push(Cell::points(d.change_on_previous_month_pp));
            row.push(Cell::points(d.change_on_last_year_pp));
            row
        })
        .collect();
    table
}

fn sectors(report: &Report, t: Texts) -> Table {
    let mut table = sheet(
        t.t("Nhóm ngành", "Sectors"),
        vec![t.t("Mã nhóm ngành", "Sector code"), t.t("Nhóm ngành", "Sector")],
        Vec::new(),
        t,
    );
    let keys = ["sector_code", "sector_name"];
    table.rows = report.sectors.iter().map(|r| keyed(r, &keys, t.lang())).collect();
    table
}

fn district_sector(report: &Report, t: Texts) -> Table {
    let mut table = sheet(
        t.t("Huyện × Ngành", "District×Sector"),
        vec![
            t.t("Mã huyện", "District code"),
            t.t("Huyện", "District"),
            t.t("Mã nhóm ngành", "Sector code"),
            t.t("Nhóm ngành", "Sector"),
        ],
        Vec::new(),
        t,
    );
    let keys = ["district_code", "district_name", "sector_code", "sector_name"];
    table.rows = report
        .district_sector
        .iter()
        .map(|r| keyed(r, &keys, t.lang()))
        .collect();
    table
}

fn communes(report: &Report, t: Texts) -> Table {
    let mut table = sheet(
        t.t("Phụ lục xã, phường", "Annex communes"),
        vec![
            t.t("Mã xã", "Commune code"),
            t.t("Xã, phường", "Commune"),
            t.t("Huyện cũ", "Former district"),
        ],
        vec![t.t("Xếp hạng", "Rank")],
        t,
    );
    table.rows = report
        .communes
        .iter()
        .map(|c| {
            let f = &c.figures;
            let mut row = vec![
                name_of(f, "commune_code"),
                name_of(f, "commune_name"),
                Cell::text(c.former_district.clone()),
            ];
            row.extend(figure_cells(f, t.lang()));
            row.push(rank(c.rank));
            row
        })
        .collect();
    table
}

fn trend(report: &Report, t: Texts) -> Table {
    let mut table = sheet(
        t.t("Diễn biến theo tháng", "Monthly trend"),
        vec![t.t("Tháng", "Month")],
        Vec::new(),
        t,
    );
    table.rows = report.trend.iter().map(|r| keyed(r, &["period"], t.lang())).collect();
    table
}

fn methodology(report: &Report, t: Texts) -> Table {
    Table {
        title: t.t("Phương pháp", "Methodology"),
        columns: vec![Column::new(t.t("Phương pháp tính", "Methodology"), FIGURES.left())],
        rows: report.methodology.iter().map(|m| vec![Cell::text(m.clone())]).collect(),
    }
}
