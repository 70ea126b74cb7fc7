//! The report as text for people: the sections the HTML page and the PDF
//! both show, labelled and formatted once in the report's language. Reads a
//! finished report only.

use super::model::{Report, code};
use crate::present::locale::Lang;
use crate::service::ShareRow;

/// A section of the report as text: a heading, column heads, rows.
pub struct Section {
    pub heading: &'static str,
    pub head: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// The report as text for people, in its language: the sections that the
/// HTML page and the PDF both show, labelled and formatted once.
pub struct Shown {
    pub title: &'static str,
    pub version_label: &'static str,
    pub headline: Section,
    pub districts: Section,
    pub sectors: Section,
    pub quality: Section,
    pub methodology_heading: &'static str,
    /// Said under the districts when their comparisons cross the reform.
    pub series_break_note: Option<&'static str>,
    /// The annex by commune (months from the 2025 reform).
    pub communes: Option<Section>,
}

pub fn shown(report: &Report) -> Shown {
    use crate::present::locale::{integer, percent, points, status_label, ty_dong};
    let vi = report.language == "vi";
    let lang = if vi { Lang::Vi } else { Lang::En };
    let t = |v: &'static str, e: &'static str| if vi { v } else { e };
    let pct = |x: Option<f64>| x.map_or_else(|| "—".to_string(), |x| percent(x, 2, lang));
    let pp = |x: Option<f64>| x.map_or_else(|| "—".to_string(), |x| points(x, 2, lang));
    let money = |s: &str| {
        if s.is_empty() {
            crate::present::locale::SUPPRESSED.to_string()
        } else {
            ty_dong(s.parse::<f64>().unwrap_or(0.0), 2, lang)
        }
    };
    let count = |n: Option<u64>| n.map_or_else(|| "—".to_string(), |n| integer(i128::from(n), lang));
    let key = |r: &ShareRow, f: &str| code(r, f).unwrap_or("").to_string();
    let labelled = |heading, lines: Vec<(&'static str, String)>| Section {
        heading,
        head: Vec::new(),
        rows: lines.into_iter().map(|(l, v)| vec![l.to_string(), v]).collect(),
    };
    let h = &report.headline;
    let q = &report.quality;
    Shown {
        title: t(
            "Tỷ trọng doanh thu thương mại điện tử trong tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng, tỉnh Thanh Hóa",
            "E-commerce share of total retail sales of goods and consumer services, Thanh Hóa province",
        ),
        version_label: t("Phiên bản dữ liệu", "Dataset version"),
        headline: labelled(
            t("Chỉ tiêu chính", "Headline"),
            vec![
                (
                    t("Tỷ trọng TMĐT của tháng", "E-commerce share, month"),
                    pct(h.month.share),
                ),
                (
                    t("Tỷ trọng TMĐT lũy kế năm", "E-commerce share, year to date"),
                    pct(h.year_to_date.share),
                ),
                (t("Mục tiêu năm", "Target for the year"), pct(report.target)),
                (
                    t("Chênh lệch so với mục tiêu, lũy kế", "Gap to target, year to date"),
                    pp(h.year_to_date.gap_pp),
                ),
                (
                    t("Tình trạng, lũy kế", "Status, year to date"),
                    status_label(h.year_to_date.status, lang).to_string(),
                ),
                (
                    t(
                        "Doanh thu TMĐT còn thiếu để đạt mục tiêu",
                        "E-commerce revenue still needed",
                    ),
                    h.year_to_date
                        .ecommerce_needed_vnd
                        .as_deref()
                        .map_or_else(|| "—".into(), money),
                ),
                (
                    t("So với tháng trước", "Change on the previous month"),
                    pp(h.change_on_previous_month_pp),
                ),
                (
                    t("So với cùng tháng năm trước", "Change on the same month last year"),
                    pp(h.change_on_last_year_pp),
                ),
            ],
        ),
        districts: Section {
            heading: t("Theo huyện", "By district"),
            head: vec![
                t("Mã", "Code"),
                t("Huyện", "District"),
                t("Tổng mức bán lẻ", "Total retail sales"),
                t("Doanh thu TMĐT", "E-commerce revenue"),
                t("Tỷ trọng", "Share"),
                t("Chênh lệch", "Gap"),
                t("Xếp hạng", "Rank"),
                t("So với tháng trước", "On previous month"),
                t("So với cùng kỳ", "On last year"),
            ],
            rows: report
                .districts
                .iter()
                .map(|d| {
                    let f = &d.figures;
                    vec![
                        key(f, "district_code"),
                        key(f, "district_name"),
                        money(&f.total_revenue_vnd),
                        money(&f.ecommerce_revenue_vnd),
                        pct(f.share),
                        pp(f.gap_pp),
                        d.rank.map_or_else(|| "—".into(), |r| r.to_string()),
                        pp(d.change_on_previous_month_pp),
                        pp(d.change_on_last_year_pp),
                    ]
                })
                .collect(),
        },
        sectors: Section {
            heading: t("Theo nhóm ngành", "By sector group"),
            head: vec![
                t("Mã", "Code"),
                t("Nhóm ngành", "Sector group"),
                t("Tổng mức bán lẻ", "Total retail sales"),
                t("Doanh thu TMĐT", "E-commerce revenue"),
                t("Tỷ trọng", "Share"),
            ],
            rows: report
                .sectors
                .iter()
                .map(|f| {
                    vec![
                        key(f, "sector_code"),
                        key(f, "sector_name"),
                        money(&f.total_revenue_vnd),
                        money(&f.ecommerce_revenue_vnd),
                        pct(f.share),
                    ]
                })
                .collect(),
        },
        quality: labelled(
            t("Chất lượng số liệu", "Data quality"),
            vec![
                (
                    t("Số báo cáo có hiệu lực trong tháng", "Effective filings this month"),
                    count(Some(q.filings)),
                ),
                (
                    t("Số đơn vị báo cáo trong tháng", "Reporting units this month"),
                    count(Some(q.units)),
                ),
                (
                    t("Số báo cáo tháng trước", "Filings the month before"),
                    count(Some(q.previous_month_filings)),
                ),
                (
                    t("Số đơn vị tháng trước", "Units the month before"),
                    count(Some(q.previous_month_units)),
                ),
                (t("Số tệp đã nhận", "Files ingested"), count(Some(q.files_ingested))),
                (
                    t("Số bản ghi đã nhận", "Records received"),
                    count(Some(q.records_received)),
                ),
                (
                    t("Số bản ghi bị từ chối", "Records rejected"),
                    count(Some(q.records_rejected)),
                ),
                (
                    t(
                        "Số báo cáo được điều chỉnh từ báo cáo tháng trước",
                        "Filings revised since the previous report",
                    ),
                    count(q.revisions_since_previous_report),
                ),
            ],
        ),
        methodology_heading: t("Phương pháp tính", "Methodology"),
        series_break_note: report.series_break.map(|_| {
            t(
                "Các so sánh theo huyện vượt qua mốc 01/7/2025 (bỏ cấp huyện): từ tháng 7/2025 số liệu của huyện là của địa bàn cũ của huyện (các xã, phường có huyện cũ là huyện đó), xem Phương pháp tính.",
                "District comparisons reach back across 1 July 2025 (districts abolished): from July 2025 a district's figures are its former area's (the communes whose former district it is); see Methodology.",
            )
        }),
        communes: (!report.communes.is_empty()).then(|| Section {
            heading: t("Phụ lục: theo xã, phường", "Annex: by commune"),
            head: vec![
                t("Mã", "Code"),
                t("Xã, phường", "Commune"),
                t("Huyện cũ", "Former district"),
                t("Tổng mức bán lẻ", "Total retail sales"),
                t("Doanh thu TMĐT", "E-commerce revenue"),
                t("Tỷ trọng", "Share"),
                t("Chênh lệch", "Gap"),
                t("Xếp hạng", "Rank"),
            ],
            rows: report
                .communes
                .iter()
                .map(|c| {
                    let f = &c.figures;
                    vec![
                        key(f, "commune_code"),
                        key(f, "commune_name"),
                        c.former_district.clone(),
                        money(&f.total_revenue_vnd),
                        money(&f.ecommerce_revenue_vnd),
                        pct(f.share),
                        pp(f.gap_pp),
                        c.rank.map_or_else(|| "—".into(), |r| r.to_string()),
                    ]
                })
                .collect(),
        }),
    }
}
