//! The filing template offices download: the contract's columns under
//! their Vietnamese names, as CSV (UTF-8 with a byte order mark, so Excel
//! opens it with its diacritics) and as an Excel workbook whose district,
//! commune and VSIC columns offer the reference's codes as drop-down lists
//! (sheet "Danh mục"), amounts as whole numbers, codes and periods as text.
//!
//! Takes the reference (plain data); reads and writes no file.

use crate::domain::Reference;
use rust_xlsxwriter::{DataValidation, DataValidationRule, Format, FormatAlign, Formula, Workbook, XlsxError};

/// The template's columns: the Vietnamese header and the contract name it
/// stands for (the ingest accepts both).
pub const COLUMNS: [(&str, &str); 10] = [
    ("Mã số thuế", "unit_id"),
    ("Mã huyện", "district_code"),
    ("Mã xã", "commune_code"),
    ("Mã ngành VSIC", "sector_code"),
    ("Kỳ báo cáo", "period"),
    ("Tổng doanh thu bán lẻ (đồng)", "total_revenue_vnd"),
    ("Doanh thu thương mại điện tử (đồng)", "ecommerce_revenue_vnd"),
    ("Thời điểm nộp", "submitted_at"),
    ("Trọng số", "weight"),
    ("Tên đơn vị", "unit_name"),
];

/// Data rows the workbook's validations cover.
pub const ROWS: u32 = 10_000;

/// The CSV template: a byte order mark and the header row.
pub fn csv() -> Vec<u8> {
    let header: Vec<String> = COLUMNS.iter().map(|(vi, _)| format!("\"{vi}\"")).collect();
    let mut out = b"\xEF\xBB\xBF".to_vec();
    out.extend_from_slice(header.join(",").as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// The workbook template.
pub fn xlsx(reference: &Reference) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let formats = Formats {
        bold: Format::new().set_bold().set_text_wrap().set_align(FormatAlign::Top),
        text: Format::new().set_num_format("@"),
        amount: Format::new().set_num_format("#,##0"),
    };
    filing_sheet(&mut wb, reference, &formats)?;
    lists_sheet(&mut wb, reference, &formats)?;
    help_sheet(&mut wb)?;
    // A fixed document date: the same reference gives the same bytes.
    let epoch = rust_xlsxwriter::ExcelDateTime::parse_from_str("2025-01-01T00:00:00")?;
    wb.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&epoch));
    wb.save_to_buffer()
}

/// The cell formats the template's sheets share.
struct Formats {
    bold: Format,
    text: Format,
    amount: Format,
}

/// "Báo cáo": the contract's columns, codes as text, amounts as whole
/// numbers, drop-down lists of the codes in "Danh mục".
fn filing_sheet(wb: &mut Workbook, reference: &Reference, f: &Formats) -> Result<(), XlsxError> {
    let (bold, text, amount) = (&f.bold, &f.text, &f.amount);
    let sheet = wb.add_worksheet().set_name("Báo cáo")?;
    for (col, (vi, _)) in COLUMNS.iter().enumerate() {
        let col = col as u16;
        sheet.write_string_with_format(0, col, *vi, bold)?;
        let (width, format) = match col {
            5 | 6 => (22.0, amount),
            9 => (36.0, text),
            _ => (16.0, text),
        };
        sheet.set_column_width(col, width)?;
        sheet.set_column_format(col, format)?;
    }
    sheet.set_row_height(0, 32)?;
    sheet.set_freeze_panes(1, 0)?;
    let districts = reference.districts.len() as u32;
    let communes = reference.communes.len() as u32;
    let vsic = reference.vsic.len() as u32;
    let list = |col: u16, formula: String, title: &str, message: &str| -> Result<(u16, DataValidation), XlsxError> {
        Ok((
            col,
            DataValidation::new()
                .allow_list_formula(Formula::new(formula))
                .set_input_title(title)?
                .set_input_message(message)?
                .set_error_message(message)?,
        ))
    };
    for (col, validation) in [
        list(
            1,
            format!("='Danh mục'!$A$2:$A${}", districts + 1),
            "Mã huyện",
            "Chọn mã huyện trong danh mục (sheet Danh mục).",
        )?,
        list(
            2,
            format!("='Danh mục'!$H$2:$H${}", communes.max(1) + 1),
            "Mã xã",
            "Từ kỳ 2025-07: chọn mã xã, phường trong danh mục (sheet Danh mục).",
        )?,
        list(
            3,
            format!("='Danh mục'!$D$2:$D${}", vsic + 1),
            "Mã ngành VSIC",
            "Chọn mã ngành VSIC trong danh mục (sheet Danh mục).",
        )?,
    ] {
        sheet.add_data_validation(1, col, ROWS, col, &validation)?;
    }
    let whole = DataValidation::new()
        .allow_whole_number(DataValidationRule::GreaterThanOrEqualTo(0))
        .set_error_message("Doanh thu là số nguyên không âm, tính bằng đồng.")?;
    sheet.add_data_validation(1, 5, ROWS, 6, &whole)?;
    Ok(())
}

/// "Danh mục": the reference's district, VSIC and commune codes with their names.
fn lists_sheet(wb: &mut Workbook, reference: &Reference, f: &Formats) -> Result<(), XlsxError> {
    let (bold, text) = (&f.bold, &f.text);
    let lists = wb.add_worksheet().set_name("Danh mục")?;
    for (col, head) in [
        "Mã huyện",
        "Tên huyện",
        "",
        "Mã ngành VSIC",
        "Tên ngành",
        "Nhóm ngành",
        "",
        "Mã xã",
        "Tên xã, phường",
        "Huyện cũ",
    ]
    .iter()
    .enumerate()
    {
        if !head.is_empty() {
            lists.write_string_with_format(0, col as u16, *head, bold)?;
        }
    }
    for (i, d) in reference.districts.iter().enumerate() {
        let row = i as u32 + 1;
        lists.write_string_with_format(row, 0, &d.district_code, text)?;
        lists.write_string(row, 1, &d.district_name)?;
    }
    for (i, v) in reference.vsic.iter().enumerate() {
        let row = i as u32 + 1;
        lists.write_string_with_format(row, 3, &v.vsic_code, text)?;
        lists.write_string(row, 4, &v.vsic_name)?;
        lists.write_string(row, 5, &v.group_code)?;
    }
    for (i, c) in reference.communes.iter().enumerate() {
        let row = i as u32 + 1;
        lists.write_string_with_format(row, 7, &c.commune_code, text)?;
        lists.write_string(row, 8, &c.commune_name)?;
        lists.write_string_with_format(row, 9, &c.district_code, text)?;
    }
    lists.set_column_width(8, 24)?;
    lists.set_column_width(1, 20)?;
    lists.set_column_width(4, 48)?;
    lists.set_column_width(5, 20)?;
    Ok(())
}

/// "Hướng dẫn": how to fill the template in.
fn help_sheet(wb: &mut Workbook) -> Result<(), XlsxError> {
    let help = wb.add_worksheet().set_name("Hướng dẫn")?;
    for (row, line) in [
        "Mỗi dòng của sheet \"Báo cáo\" là báo cáo của một đơn vị, một huyện (từ kỳ 2025-07: một xã, phường), một mã ngành VSIC và một kỳ (tháng).",
        "Đến kỳ 2025-06: ghi Mã huyện, để trống Mã xã. Từ kỳ 2025-07: ghi Mã xã (5 chữ số); Mã huyện có thể để trống, nếu ghi phải là huyện cũ của xã (sheet Danh mục).",
        "Mã số thuế: 10 chữ số (đơn vị phụ thuộc: 10 chữ số, gạch ngang, 3 chữ số) hoặc số định danh cá nhân 12 chữ số.",
        "Kỳ báo cáo: năm-tháng, ví dụ 2025-03. Doanh thu: số nguyên, đơn vị đồng; doanh thu TMĐT không lớn hơn tổng doanh thu bán lẻ.",
        "Thời điểm nộp (không bắt buộc): ví dụ 2025-04-05T09:00:00+07:00. Trọng số (không bắt buộc): để trống là 1.",
        "Báo cáo điều chỉnh: nộp lại dòng của cùng đơn vị, huyện, xã, mã ngành và kỳ; báo cáo nộp sau cùng được tính.",
    ]
    .iter()
    .enumerate()
    {
        help.write_string(row as u32, 0, *line)?;
    }
    help.set_column_width(0, 120)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_template_is_read_back_as_the_contract_columns() {
        let bytes = csv();
        let text = std::str::from_utf8(crate::util::csv::strip_bom(&bytes)).unwrap();
        let records = crate::util::csv::read_all(text.as_bytes());
        let names: Vec<&str> = (0..records.field_count(0))
            .map(|k| std::str::from_utf8(records.field(0, k).unwrap()).unwrap())
            .collect();
        for ((vi, contract), name) in COLUMNS.iter().zip(names) {
            assert_eq!(name, *vi);
            assert_eq!(crate::ingest::text::column_of(name), Some(*contract));
        }
    }

    #[test]
    fn the_workbook_template_is_the_same_bytes_each_time() {
        let reference = crate::store::builtin_reference();
        let a = xlsx(&reference).unwrap();
        assert_eq!(&a[..2], b"PK");
        assert_eq!(a, xlsx(&reference).unwrap());
    }
}
