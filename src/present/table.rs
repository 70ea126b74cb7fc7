//! One table model for figures: a title, columns (a header, a name for
//! machines and a format each), rows of typed cells, and lines of text
//! above and below them. A cell's text in a language is decided here once;
//! a table is written as an aligned text table, as CSV or as an XLSX sheet
//! (numbers stay numbers). Plain data in, text or a sheet out: computes no
//! figure and knows nothing of where a table is shown.

use super::locale::{self, Lang};
use rust_xlsxwriter::{Workbook, XlsxError};
use std::borrow::Cow;

/// A titled grid of typed cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// The sheet's name or the section's heading.
    pub title: &'static str,
    pub columns: Vec<Column>,
    /// One cell per column.
    pub rows: Vec<Vec<Cell>>,
    /// Lines above the header row in a sheet (the first in bold): what the
    /// table is, its period, its dataset version. None in most tables.
    pub heading: Vec<String>,
    /// Lines below the rows in a sheet (notes on the figures).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Column {
    /// Empty in a list of labelled lines, which has no header row.
    pub header: Cow<'static, str>,
    /// The column's name for machines (a downloaded CSV's header): the
    /// header unless given.
    pub key: Cow<'static, str>,
    pub format: Format,
}

/// How a column's cells read as text.
#[derive(Debug, Clone, Copy)]
pub struct Format {
    pub align: Align,
    /// Decimals of shares, points and money in billions.
    pub places: usize,
    pub money: Money,
    /// What an empty cell reads.
    pub missing: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// The unit money reads in.
#[derive(Debug, Clone, Copy)]
pub enum Money {
    /// Whole đồng, rounded half up: 1.234.567.
    Dong,
    /// Billions of đồng: 1.234,57 tỷ đồng.
    Billions,
}

/// One cell.
#[derive(Debug, Clone)]
pub enum Cell {
    Text(String),
    Integer(u64),
    /// Exact decimal đồng.
    Money(String),
    /// A share (0.072 is 7.2 %).
    Share(f64),
    /// Percentage points.
    Points(f64),
    /// No value.
    Empty,
    /// A figure withheld by disclosure control.
    Withheld,
    /// A value with a code for machines and a text for people (a standing:
    /// `met` and "Đạt").
    Coded {
        code: &'static str,
        text: String,
    },
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }

    /// Exact đồng; an empty amount is a withheld one.
    pub fn money(vnd: &str) -> Self {
        if vnd.is_empty() {
            Self::Withheld
        } else {
            Self::Money(vnd.to_string())
        }
    }

    pub fn share(x: Option<f64>) -> Self {
        x.map_or(Self::Empty, Self::Share)
    }

    pub fn points(x: Option<f64>) -> Self {
        x.map_or(Self::Empty, Self::Points)
    }

    /// A count, unless withheld.
    pub fn count(n: u64, withheld: bool) -> Self {
        if withheld { Self::Withheld } else { Self::Integer(n) }
    }

    /// A value with its code for machines and its text for people.
    pub fn coded(code: &'static str, text: impl Into<String>) -> Self {
        Self::Coded {
            code,
            text: text.into(),
        }
    }

    /// The cell for machines: numbers unformatted, withheld and empty cells
    /// empty, a coded value's code.
    pub fn raw(&self) -> String {
        match self {
            Self::Text(s) | Self::Money(s) => s.clone(),
            Self::Coded { code, .. } => (*code).to_string(),
            Self::Integer(n) => n.to_string(),
            Self::Share(x) | Self::Points(x) => x.to_string(),
            Self::Empty | Self::Withheld => String::new(),
        }
    }
}

impl Format {
    /// The same format, left-aligned.
    pub const fn left(self) -> Self {
        Self {
            align: Align::Left,
            ..self
        }
    }

    /// The same format with `places` decimals.
    pub const fn places(self, places: usize) -> Self {
        Self { places, ..self }
    }

    /// `cell` as people read it in `lang`.
    pub fn show(&self, cell: &Cell, lang: Lang) -> String {
        match cell {
            Cell::Text(s) | Cell::Coded { text: s, .. } => s.clone(),
            Cell::Integer(n) => locale::integer(i128::from(*n), lang),
            Cell::Money(s) => match self.money {
                Money::Dong => locale::integer(round_decimal(s), lang),
                Money::Billions => locale::ty_dong(s.parse::<f64>().unwrap_or(0.0), self.places, lang),
            },
            Cell::Share(x) => locale::percent(*x, self.places, lang),
            Cell::Points(x) => locale::points(*x, self.places, lang),
            Cell::Empty => self.missing.to_string(),
            Cell::Withheld => locale::SUPPRESSED.to_string(),
        }
    }
}

impl Column {
    pub fn new(header: impl Into<Cow<'static, str>>, format: Format) -> Self {
        let header = header.into();
        Self {
            key: header.clone(),
            header,
            format,
        }
    }

    /// A column whose name for machines, `key`, is not its header.
    pub fn keyed(key: impl Into<Cow<'static, str>>, header: impl Into<Cow<'static, str>>, format: Format) -> Self {
        Self {
            key: key.into(),
            header: header.into(),
            format,
        }
    }
}

impl Table {
    /// A list of labelled lines: a label and a value each, no header row.
    pub fn labelled(title: &'static str, format: Format, lines: Vec<(&'static str, Cell)>) -> Self {
        Self {
            title,
            columns: vec![Column::new("", format.left()), Column::new("", format)],
            rows: lines.into_iter().map(|(l, v)| vec![Cell::text(l), v]).collect(),
            ..Self::default()
        }
    }

    /// Whether the table has a header row (a list of labelled lines has none).
    pub fn has_header(&self) -> bool {
        self.columns.iter().any(|c| !c.header.is_empty())
    }

    pub fn headers(&self) -> impl Iterator<Item = &str> + '_ {
        self.columns.iter().map(|c| c.header.as_ref())
    }

    /// The rows as people read them in `lang`, each cell in its column's format.
    pub fn shown_rows(&self, lang: Lang) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&self.columns)
                    .map(|(cell, column)| column.format.show(cell, lang))
                    .collect()
            })
            .collect()
    }

    /// The table as aligned text: the header and the rows, each column as
    /// wide as its widest cell and aligned by its format, columns two
    /// spaces apart, no trailing space.
    pub fn to_text(&self, lang: Lang) -> String {
        let mut lines = vec![self.headers().map(String::from).collect::<Vec<_>>()];
        lines.extend(self.shown_rows(lang));
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|c| {
                lines
                    .iter()
                    .map(|l| l.get(c).map_or(0, |s| s.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for line in &lines {
            let cells: Vec<String> = line
                .iter()
                .zip(&self.columns)
                .enumerate()
                .map(|(c, (s, column))| {
                    let pad = " ".repeat(widths[c] - s.chars().count());
                    match column.format.align {
                        Align::Left => format!("{s}{pad}"),
                        Align::Right => format!("{pad}{s}"),
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        out
    }

    /// The table as CSV for machines: the header, then one line per row,
    /// cells raw.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = self.headers().map(csv_field).collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for row in &self.rows {
            let fields: Vec<String> = row.iter().map(|c| csv_field(&c.raw())).collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }

    /// The table as a CSV file for download: a byte order mark (so that
    /// Excel reads UTF-8), the columns' keys, then one line per row with
    /// cells raw (withheld and empty cells empty), CRLF line ends, and a
    /// text that a spreadsheet would take for a formula quoted. The lines
    /// above and below the table are not in it.
    pub fn to_csv_file(&self) -> String {
        let mut out = String::from("\u{feff}");
        let line = |out: &mut String, fields: Vec<String>| {
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        };
        line(&mut out, self.columns.iter().map(|c| file_field(&c.key)).collect());
        for row in &self.rows {
            line(&mut out, row.iter().map(|c| file_field(&c.raw())).collect());
        }
        out
    }

    /// Adds the table to `workbook` as a sheet named by its title: the
    /// heading lines (the first bold), a bold header row frozen in place
    /// with them, columns as wide as their headers (12 to 40), numbers
    /// stored as numbers with vi-VN display formats, empty cells left out,
    /// then the notes after an empty row.
    pub fn write_sheet(&self, workbook: &mut Workbook) -> Result<(), XlsxError> {
        use rust_xlsxwriter::Format;
        let header = Format::new().set_bold().set_text_wrap();
        let money = Format::new().set_num_format("[$-42A]#,##0");
        let share = Format::new().set_num_format("[$-42A]0.00%");
        let points = Format::new().set_num_format("[$-42A]0.00");
        let integer = Format::new().set_num_format("[$-42A]#,##0");
        let ws = workbook.add_worksheet();
        ws.set_name(self.title)?;
        for (r, line) in self.heading.iter().enumerate() {
            if r == 0 {
                ws.write_string_with_format(0, 0, line, &Format::new().set_bold())?;
            } else {
                ws.write_string(r as u32, 0, line)?;
            }
        }
        let top = self.heading.len() as u32;
        for (c, h) in self.headers().enumerate() {
            ws.write_string_with_format(top, c as u16, h, &header)?;
            ws.set_column_width(c as u16, (h.chars().count() as f64 * 1.1).clamp(12.0, 40.0))?;
        }
        ws.set_freeze_panes(top + 1, 0)?;
        for (r, row) in self.rows.iter().enumerate() {
            let r = top + r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(s) | Cell::Coded { text: s, .. } => ws.write_string(r, c, s),
                    Cell::Withheld => ws.write_string(r, c, locale::SUPPRESSED),
                    Cell::Money(s) => ws.write_number_with_format(r, c, s.parse::<f64>().unwrap_or(0.0), &money),
                    Cell::Share(x) => ws.write_number_with_format(r, c, *x, &share),
                    Cell::Points(x) => ws.write_number_with_format(r, c, *x, &points),
                    Cell::Integer(n) => ws.write_number_with_format(r, c, *n as f64, &integer),
                    Cell::Empty => continue,
                }?;
            }
        }
        let below = top + self.rows.len() as u32 + 2;
        for (i, note) in self.notes.iter().enumerate() {
            ws.write_string(below + i as u32, 0, note)?;
        }
        Ok(())
    }
}

/// A CSV field of a file for download: quoted when it holds a separator, a
/// quote or a line break, or when it is a text a spreadsheet would read as
/// a formula (`=`, `+`, `-`, `@` or a space first, unless a number).
fn file_field(s: &str) -> String {
    let formula = s.starts_with([' ', '=', '+', '-', '@']) && s.parse::<f64>().is_err();
    if formula || s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Quotes a CSV field when it holds a separator, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// An exact non-negative decimal string rounded half up to a whole number,
/// without passing through a float (sums may exceed 2^53).
fn round_decimal(s: &str) -> i128 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let whole: i128 = int.parse().unwrap_or(0);
    whole + i128::from(frac.as_bytes().first().is_some_and(|&d| d >= b'5'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_stays_exact_beyond_f64() {
        assert_eq!(round_decimal("12345678901234567890.5"), 12345678901234567891);
        assert_eq!(round_decimal("7.49"), 7);
        assert_eq!(round_decimal("7"), 7);
    }

    fn sample() -> Table {
        let f = Format {
            align: Align::Right,
            places: 2,
            money: Money::Dong,
            missing: "",
        };
        Table {
            title: "Bảng",
            columns: vec![
                Column::keyed("name", "Tên", f.left()),
                Column::keyed("total_vnd", "Tổng (đồng)", f),
                Column::keyed("status", "Đánh giá", f.left()),
            ],
            rows: vec![
                vec![
                    Cell::text("Sầm Sơn, \"biển\""),
                    Cell::money("1234.5"),
                    Cell::coded("met", "Đạt"),
                ],
                vec![Cell::text("=1+1"), Cell::Withheld, Cell::coded("suppressed", "Ẩn")],
                vec![Cell::text("-"), Cell::Empty, Cell::text("-1.5")],
            ],
            heading: vec!["Tiêu đề".into(), "Phiên bản dữ liệu 3".into()],
            notes: vec!["Ghi chú".into()],
        }
    }

    #[test]
    fn a_csv_file_has_a_bom_the_keys_crlf_codes_and_no_formula() {
        assert_eq!(
            sample().to_csv_file(),
            "\u{feff}name,total_vnd,status\r\n\"Sầm Sơn, \"\"biển\"\"\",1234.5,met\r\n\"=1+1\",,suppressed\r\n\"-\",,-1.5\r\n"
        );
        let shown = sample().shown_rows(Lang::Vi);
        assert_eq!(shown[0], ["Sầm Sơn, \"biển\"", "1.235", "Đạt"]);
        assert_eq!(shown[1], ["=1+1", "x", "Ẩn"]);
    }

    #[test]
    fn a_sheet_puts_its_heading_above_the_frozen_header_and_its_notes_below() {
        let mut wb = Workbook::new();
        sample().write_sheet(&mut wb).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut sheet = String::new();
        std::io::Read::read_to_string(&mut z.by_name("xl/worksheets/sheet1.xml").unwrap(), &mut sheet).unwrap();
        assert!(sheet.contains("<pane ySplit=\"3\" topLeftCell=\"A4\""), "{sheet}");
        // Heading rows 1-2, header 3, rows 4-6, an empty row, the note on 8.
        for row in ["r=\"1\"", "r=\"3\"", "r=\"6\"", "r=\"8\""] {
            assert!(sheet.contains(&format!("<row {row}")), "{row}: {sheet}");
        }
        assert!(!sheet.contains("<row r=\"7\""), "{sheet}");
        assert!(sheet.contains("<v>1234.5</v>"), "money as a number: {sheet}");
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv_field("abc"), "abc");
        assert_eq!(csv_field("Lương thực, thực phẩm"), "\"Lương thực, thực phẩm\"");
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
    }
}
