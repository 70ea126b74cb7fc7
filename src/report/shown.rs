//! The report as text for people: the sections the HTML page and the PDF
//! both show, labelled and formatted once in the report's language. Reads a
//! finished report only.

use super::model::{Report, code};
use crate::present::locale::{Lang, status_label};
use crate::present::table::{Align, Cell, Column, Format, Money, Table};
use crate::service::ShareRow;

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
}

/// How the report's figures read: money in billions of đồng, shares and
/// points to two decimals, a dash for none.
const FIGURES: Format = Format {
    align: Align::Right,
    places: 2,
    money: Money::Billions,
    missing: "—",
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
}

pub fn shown(report: &Report) -> Shown {
    let lang = report.lang();
    let t = Texts { vi: lang == Lang::Vi };
    Shown {
        lang,
        title: t.t(
            "Tỷ trọng doanh thu thương mại điện tử trong tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng, tỉnh Thanh Hóa",
            "E-commerce share of total retail sales of goods and consumer services, Thanh Hóa province",
        ),
        version_label: t.t("Phiên bản dữ liệu", "Dataset version"),
        headline: headline(report, t, lang),
        districts: districts(report, t),
        sectors: sectors(report, t),
        quality: quality(report, t),
        methodology_heading: t.t("Phương pháp tính", "Methodology"),
        series_break_note: report.series_break.map(|_| {
            t.t(
                "Các so sánh theo huyện vượt qua mốc 01/7/2025 (bỏ cấp huyện): từ tháng 7/2025 số liệu của huyện là của địa bàn cũ của huyện (các xã, phường có huyện cũ là huyện đó), xem Phương pháp tính.",
                "District comparisons reach back across 1 July 2025 (districts abolished): from July 2025 a district's figures are its former area's (the communes whose former district it is); see Methodology.",
            )
        }),
        communes: (!report.communes.is_empty()).then(|| communes(report, t)),
    }
}

fn key(r: &ShareRow, field: &str) -> Cell {
    Cell::text(code(r, field).unwrap_or(""))
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

fn headline(report: &Report, t: Texts, lang: Lang) -> Table {
    let h = &report.headline;
    let needed = h.year_to_date.ecommerce_needed_vnd.as_deref();
    Table::labelled(
        t.t("Chỉ tiêu chính", "Headline"),
        FIGURES,
        vec![
            (
                t.t("Tỷ trọng TMĐT của tháng", "E-commerce share, month"),
                Cell::share(h.month.share),
            ),
            (
                t.t("Tỷ trọng TMĐT lũy kế năm", "E-commerce share, year to date"),
                Cell::share(h.year_to_date.share),
            ),
            (t.t("Mục tiêu năm", "Target for the year"), Cell::share(report.target)),
            (
                t.t("Chênh lệch so với mục tiêu, lũy kế", "Gap to target, year to date"),
                Cell::points(h.year_to_date.gap_pp),
            ),
            (
                t.t("Tình trạng, lũy kế", "Status, year to date"),
                Cell::text(status_label(h.year_to_date.status, lang)),
            ),
            (
                t.t(
                    "Doanh thu TMĐT còn thiếu để đạt mục tiêu",
                    "E-commerce revenue still needed",
                ),
                needed.map_or(Cell::Empty, Cell::money),
            ),
            (
                t.t("So với tháng trước", "Change on the previous month"),
                Cell::points(h.change_on_previous_month_pp),
            ),
            (
                t.t("So với cùng tháng năm trước", "Change on the same month last year"),
                Cell::points(h.change_on_last_year_pp),
            ),
        ],
    )
}

fn districts(report: &Report, t: Texts) -> Table {
    let heads = vec![
        t.t("Mã", "Code"),
        t.t("Huyện", "District"),
        t.t("Tổng mức bán lẻ", "Total retail sales"),
        t.t("Doanh thu TMĐT", "E-commerce revenue"),
        t.t("Tỷ trọng", "Share"),
        t.t("Chênh lệch", "Gap"),
        t.t("Xếp hạng", "Rank"),
        t.t("So với tháng trước", "On previous month"),
        t.t("So với cùng kỳ", "On last year"),
    ];
    let rows = report.districts.iter().map(|d| {
        let f = &d.figures;
        vec![
            key(f, "district_code"),
            key(f, "district_name"),
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
        title: t.t("Theo huyện", "By district"),
        columns: columns(2, heads),
        rows: rows.collect(),
    }
}

fn sectors(report: &Report, t: Texts) -> Table {
    let heads = vec![
        t.t("Mã", "Code"),
        t.t("Nhóm ngành", "Sector group"),
        t.t("Tổng mức bán lẻ", "Total retail sales"),
        t.t("Doanh thu TMĐT", "E-commerce revenue"),
        t.t("Tỷ trọng", "Share"),
    ];
    let rows = report.sectors.iter().map(|f| {
        vec![
            key(f, "sector_code"),
            key(f, "sector_name"),
            Cell::money(&f.total_revenue_vnd),
            Cell::money(&f.ecommerce_revenue_vnd),
            Cell::share(f.share),
        ]
    });
    Table {
        title: t.t("Theo nhóm ngành", "By sector group"),
        columns: columns(2, heads),
        rows: rows.collect(),
    }
}

fn quality(report: &Report, t: Texts) -> Table {
    let q = &report.quality;
    Table::labelled(
        t.t("Chất lượng số liệu", "Data quality"),
        FIGURES,
        vec![
            (
                t.t("Số báo cáo có hiệu lực trong tháng", "Effective filings this month"),
                Cell::Integer(q.filings),
            ),
            (
                t.t("Số đơn vị báo cáo trong tháng", "Reporting units this month"),
                Cell::Integer(q.units),
            ),
            (
                t.t("Số báo cáo tháng trước", "Filings the month before"),
                Cell::Integer(q.previous_month_filings),
            ),
            (
                t.t("Số đơn vị tháng trước", "Units the month before"),
                Cell::Integer(q.previous_month_units),
            ),
            (t.t("Số tệp đã nhận", "Files ingested"), Cell::Integer(q.files_ingested)),
            (
                t.t("Số bản ghi đã nhận", "Records received"),
                Cell::Integer(q.records_received),
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
                q.revisions_since_previous_report.map_or(Cell::Empty, Cell::Integer),
            ),
        ],
    )
}

fn communes(report: &Report, t: Texts) -> Table {
    let heads = vec![
        t.t("Mã", "Code"),
        t.t("Xã, phường", "Commune"),
        t.t("Huyện cũ", "Former district"),
        t.t("Tổng mức bán lẻ", "Total retail sales"),
        t.t("Doanh thu TMĐT", "E-commerce revenue"),
        t.t("Tỷ trọng", "Share"),
        t.t("Chênh lệch", "Gap"),
        t.t("Xếp hạng", "Rank"),
    ];
    let rows = report.communes.iter().map(|c| {
        let f = &c.figures;
        vec![
            key(f, "commune_code"),
            key(f, "commune_name"),
            Cell::text(c.former_district.clone()),
            Cell::money(&f.total_revenue_vnd),
            Cell::money(&f.ecommerce_revenue_vnd),
            Cell::share(f.share),
            Cell::points(f.gap_pp),
            rank(c.rank),
        ]
    });
    Table {
        title: t.t("Phụ lục: theo xã, phường", "Annex: by commune"),
        columns: columns(3, heads),
        rows: rows.collect(),
    }
}
