//! The report as an Excel workbook: one sheet per table, numbers stored as
//! numbers with vi-VN display formats. Reads a finished report only.

use super::model::{Report, code};
use crate::present::locale::Lang;
use crate::service::ShareRow;

/// One cell of a report sheet.
enum Val {
    Text(String),
    /// Exact decimal đồng, stored as a number.
    Money(String),
    Share(Option<f64>),
    Points(Option<f64>),
    Count(u64),
}

fn money(s: &str) -> Val {
    if s.is_empty() {
        Val::Text(crate::present::locale::SUPPRESSED.to_string())
    } else {
        Val::Money(s.to_string())
    }
}

fn name_of(row: &ShareRow, field: &str) -> Val {
    Val::Text(code(row, field).unwrap_or("").to_string())
}

fn figure_cells(r: &ShareRow, lang: Lang) -> Vec<Val> {
    vec![
        money(&r.total_revenue_vnd),
        money(&r.ecommerce_revenue_vnd),
        Val::Share(r.share),
        Val::Share(r.target),
        Val::Points(r.gap_pp),
        Val::Text(crate::present::locale::status_label(r.status, lang).to_string()),
        if r.suppressed {
            Val::Text(crate::present::locale::SUPPRESSED.to_string())
        } else {
            Val::Count(r.filings)
        },
        if r.suppressed {
            Val::Text(crate::present::locale::SUPPRESSED.to_string())
        } else {
            Val::Count(r.units)
        },
    ]
}

fn figure_headers(lang: Lang) -> Vec<&'static str> {
    match lang {
        Lang::Vi => vec![
            "Tổng mức bán lẻ (đồng)",
            "Doanh thu TMĐT (đồng)",
            "Tỷ trọng TMĐT",
            "Mục tiêu",
            "Chênh lệch (điểm %)",
            "Tình trạng",
            "Số báo cáo",
            "Số đơn vị",
        ],
        Lang::En => vec![
            "Total retail sales (VND)",
            "E-commerce revenue (VND)",
            "E-commerce share",
            "Target",
            "Gap (points)",
            "Status",
            "Filings",
            "Units",
        ],
    }
}

/// The report as an Excel workbook: sheets Summary, Districts, Sectors,
/// District×Sector, Monthly trend and Methodology, numbers stored as numbers
/// with vi-VN display formats. Its document date is the dataset version's
/// commit time, so the same report gives the same bytes.
pub fn to_xlsx(report: &Report) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
    let vi = report.language == "vi";
    let lang = if vi { Lang::Vi } else { Lang::En };
    let mut wb = Workbook::new();
    let created = chrono::DateTime::parse_from_rfc3339(&report.dataset_committed_at)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00".to_string());
    wb.set_properties(
        &DocProperties::new()
            .set_title(if vi {
                "Báo cáo tỷ trọng thương mại điện tử"
            } else {
                "E-commerce share report"
            })
            .set_creation_datetime(&ExcelDateTime::parse_from_str(&created)?),
    );
    let header = Format::new().set_bold().set_text_wrap();
    let formats = [
        Format::new().set_num_format("[$-42A]#,##0"),
        Format::new().set_num_format("[$-42A]0.00%"),
        Format::new().set_num_format("[$-42A]0.00"),
        Format::new().set_num_format("[$-42A]#,##0"),
    ];
    let mut sheet = |name: &str, headers: &[&str], rows: Vec<Vec<Val>>| -> Result<(), rust_xlsxwriter::XlsxError> {
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &header)?;
            ws.set_column_width(c as u16, (h.chars().count() as f64 * 1.1).clamp(12.0, 40.0))?;
        }
        ws.set_freeze_panes(1, 0)?;
        for (r, row) in rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, v) in row.iter().enumerate() {
                let c = c as u16;
                match v {
                    Val::Text(s) => {
                        ws.write_string(r, c, s)?;
                    }
                    Val::Money(s) => {
                        ws.write_number_with_format(r, c, s.parse::<f64>().unwrap_or(0.0), &formats[0])?;
                    }
                    Val::Share(Some(x)) => {
                        ws.write_number_with_format(r, c, *x, &formats[1])?;
                    }
                    Val::Points(Some(x)) => {
                        ws.write_number_with_format(r, c, *x, &formats[2])?;
                    }
                    Val::Count(n) => {
                        ws.write_number_with_format(r, c, *n as f64, &formats[3])?;
                    }
                    Val::Share(None) | Val::Points(None) => {}
                }
            }
        }
        Ok(())
    };

    let h = &report.headline;
    let summary: Vec<(&str, &str, Val)> = vec![
        ("Tháng báo cáo", "Month", Val::Text(report.month.clone())),
        (
            "Phiên bản dữ liệu",
            "Dataset version",
            Val::Count(report.dataset_version),
        ),
        (
            "Thời điểm dữ liệu",
            "Dataset committed at",
            Val::Text(report.dataset_committed_at.clone()),
        ),
        ("Mục tiêu năm", "Target for the year", Val::Share(report.target)),
        (
            "Tỷ trọng TMĐT của tháng",
            "E-commerce share, month",
            Val::Share(h.month.share),
        ),
        (
            "Tổng mức bán lẻ của tháng (đồng)",
            "Total retail sales, month (VND)",
            money(&h.month.total_revenue_vnd),
        ),
        (
            "Doanh thu TMĐT của tháng (đồng)",
            "E-commerce revenue, month (VND)",
            money(&h.month.ecommerce_revenue_vnd),
        ),
        (
            "Tỷ trọng TMĐT lũy kế năm",
            "E-commerce share, year to date",
            Val::Share(h.year_to_date.share),
        ),
        (
            "Chênh lệch so với mục tiêu, lũy kế (điểm %)",
            "Gap to target, year to date (points)",
            Val::Points(h.year_to_date.gap_pp),
        ),
        (
            "Tình trạng, lũy kế",
            "Status, year to date",
            Val::Text(crate::present::locale::status_label(h.year_to_date.status, lang).to_string()),
        ),
        (
            "Doanh thu TMĐT còn cần để đạt mục tiêu (đồng)",
            "E-commerce revenue still needed (VND)",
            h.year_to_date
                .ecommerce_needed_vnd
                .as_deref()
                .map_or(Val::Text(String::new()), money),
        ),
        (
            "So với tháng trước (điểm %)",
            "Change on the previous month (points)",
            Val::Points(h.change_on_previous_month_pp),
        ),
        (
            "So với cùng tháng năm trước (điểm %)",
            "Change on the same month last year (points)",
            Val::Points(h.change_on_last_year_pp),
        ),
        (
            "Số báo cáo có hiệu lực",
            "Effective filings",
            Val::Count(report.quality.filings),
        ),
        ("Số đơn vị báo cáo", "Reporting units", Val::Count(report.quality.units)),
        (
            "Số báo cáo tháng trước",
            "Filings, previous month",
            Val::Count(report.quality.previous_month_filings),
        ),
        (
            "Số bản ghi bị từ chối",
            "Records rejected",
            Val::Count(report.quality.records_rejected),
        ),
        (
            "Số báo cáo được điều chỉnh từ báo cáo tháng trước",
            "Filings revised since the previous report",
            report
                .quality
                .revisions_since_previous_report
                .map_or(Val::Text("—".into()), Val::Count),
        ),
        (
            "Mã kiểm tra nội dung (SHA-256)",
            "Content hash (SHA-256)",
            Val::Text(report.content_sha256.clone()),
        ),
    ];
    sheet(
        if vi { "Tóm tắt" } else { "Summary" },
        &[
            if vi { "Chỉ tiêu" } else { "Item" },
            if vi { "Giá trị" } else { "Value" },
        ],
        summary
            .into_iter()
            .map(|(v, e, val)| vec![Val::Text(if vi { v } else { e }.to_string()), val])
            .collect(),
    )?;

    let mut head = vec![
        if vi { "Mã huyện" } else { "District code" },
        if vi { "Huyện" } else { "District" },
    ];
    head.extend(figure_headers(lang));
    head.extend(if vi {
        [
            "Xếp hạng",
            "So với tháng trước (điểm %)",
            "So với cùng kỳ năm trước (điểm %)",
        ]
    } else {
        [
            "Rank",
            "Change on previous month (points)",
            "Change on last year (points)",
        ]
    });
    let rows = report
        .districts
        .iter()
        .map(|d| {
            let mut row = vec![
                name_of(&d.figures, "district_code"),
                name_of(&d.figures, "district_name"),
            ];
            row.extend(figure_cells(&d.figures, lang));
            row.push(d.rank.map_or(Val::Text(String::new()), |r| Val::Count(r as u64)));
            row.push(Val::Points(d.change_on_previous_month_pp));
            row.push(Val::Points(d.change_on_last_year_pp));
            row
        })
        .collect();
    sheet(if vi { "Huyện" } else { "Districts" }, &head, rows)?;

    let mut head = vec![
        if vi { "Mã nhóm ngành" } else { "Sector code" },
        if vi { "Nhóm ngành" } else { "Sector" },
    ];
    head.extend(figure_headers(lang));
    let rows = report
        .sectors
        .iter()
        .map(|r| {
            let mut row = vec![name_of(r, "sector_code"), name_of(r, "sector_name")];
            row.extend(figure_cells(r, lang));
            row
        })
        .collect();
    sheet(if vi { "Nhóm ngành" } else { "Sectors" }, &head, rows)?;

    let mut head = vec![
        if vi { "Mã huyện" } else { "District code" },
        if vi { "Huyện" } else { "District" },
        if vi { "Mã nhóm ngành" } else { "Sector code" },
        if vi { "Nhóm ngành" } else { "Sector" },
    ];
    head.extend(figure_headers(lang));
    let rows = report
        .district_sector
        .iter()
        .map(|r| {
            let mut row = vec![
                name_of(r, "district_code"),
                name_of(r, "district_name"),
                name_of(r, "sector_code"),
                name_of(r, "sector_name"),
            ];
            row.extend(figure_cells(r, lang));
            row
        })
        .collect();
    sheet(if vi { "Huyện × Ngành" } else { "District×Sector" }, &head, rows)?;

    if !report.communes.is_empty() {
        let mut head = vec![
            if vi { "Mã xã" } else { "Commune code" },
            if vi { "Xã, phường" } else { "Commune" },
            if vi { "Huyện cũ" } else { "Former district" },
        ];
        head.extend(figure_headers(lang));
        head.push(if vi { "Xếp hạng" } else { "Rank" });
        let rows = report
            .communes
            .iter()
            .map(|c| {
                let mut row = vec![
                    name_of(&c.figures, "commune_code"),
                    name_of(&c.figures, "commune_name"),
                    Val::Text(c.former_district.clone()),
                ];
                row.extend(figure_cells(&c.figures, lang));
                row.push(c.rank.map_or(Val::Text(String::new()), |r| Val::Count(r as u64)));
                row
            })
            .collect();
        sheet(
            if vi {
                "Phụ lục xã, phường"
            } else {
                "Annex communes"
            },
            &head,
            rows,
        )?;
    }

    let mut head = vec![if vi { "Tháng" } else { "Month" }];
    head.extend(figure_headers(lang));
    let rows = report
        .trend
        .iter()
        .map(|r| {
            let mut row = vec![name_of(r, "period")];
            row.extend(figure_cells(r, lang));
            row
        })
        .collect();
    sheet(
        if vi {
            "Diễn biến theo tháng"
        } else {
            "Monthly trend"
        },
        &head,
        rows,
    )?;

    sheet(
        if vi { "Phương pháp" } else { "Methodology" },
        &[if vi { "Phương pháp tính" } else { "Methodology" }],
        report.methodology.iter().map(|m| vec![Val::Text(m.clone())]).collect(),
    )?;
    wb.save_to_buffer()
}
