//! Reading an OpenDocument spreadsheet (`.ods`) into the same string
//! records as CSV, with calamine.
//!
//! An `.ods` is a zip: it is bounded as an XLSX is (`workbook::check_zip`,
//! `workbook_too_large` past [`MAX_UNCOMPRESSED`] inflated). But calamine
//! then reads every sheet of `content.xml` into memory at once, and
//! OpenDocument compresses inside the XML too: a cell repeated
//! `table:number-columns-repeated` times, a row `number-rows-repeated`
//! times, a run of spaces `<text:s text:c=…>` — a few bytes that calamine
//! expands into billions of cells or gigabytes of text. So `content.xml` is
//! first streamed through a small tokenizer (never held) that adds up, as
//! calamine would build them, the cells and text of every table, and a
//! workbook past [`MAX_LOADED_CELLS`] or [`MAX_LOADED_TEXT`] is refused
//! (`sheet_too_large`) before calamine sees it. A repeat count that is not
//! a plain number is `invalid_workbook` (calamine refuses most of them,
//! but decodes entities in some).
//!
//! The sheet read is the first or the one named, and its records are found
//! as in an XLSX sheet (`workbook`).

use super::IngestError;
use super::workbook::{
    MAX_LOADED_CELLS, MAX_LOADED_TEXT, MAX_UNCOMPRESSED, check_zip, pick_sheet, read_grid, refuse, unpanicked,
};
use calamine::{Ods, Reader};
use polars::prelude::DataFrame;
use std::io::{Read, Seek};

/// Reads the spreadsheet's sheet (the first, or `sheet`) into chunks.
pub fn read_ods(
    input: &mut impl Read,
    name: &str,
    sheet: Option<&str>,
    chunk_records: usize,
    on_chunk: &mut dyn FnMut(DataFrame) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).map_err(|source| IngestError::Io {
        file: name.to_string(),
        source,
    })?;
    let archive = check_zip(
        std::io::Cursor::new(bytes),
        name,
        MAX_UNCOMPRESSED,
        "an OpenDocument spreadsheet",
    )?;
    let archive = check_content(archive, name)?;
    let range = unpanicked(name, || {
        let mut workbook: Ods<_> = Ods::new(archive)
            .map_err(|e| refuse(name, "invalid_workbook", format!("the spreadsheet cannot be read: {e}")))?;
        let sheet_name = pick_sheet(&workbook.sheet_names(), sheet, name)?;
        workbook
            .worksheet_range(&sheet_name)
            .map_err(|e| refuse(name, "invalid_workbook", format!("sheet {sheet_name:?}: {e}")))
    })??;
    read_grid(&range, name, chunk_records, on_chunk)
}

/// Streams `content.xml` through the [`Count`], refusing the spreadsheet
/// past the limits. A spreadsheet without one is left to calamine to refuse.
fn check_content<R: Read + Seek>(reader: R, name: &str) -> Result<R, IngestError> {
    let invalid = |e: String| refuse(name, "invalid_workbook", format!("content.xml: {e}"));
    let mut zip = ::zip::ZipArchive::new(reader).map_err(|e| invalid(e.to_string()))?;
    match zip.by_name("content.xml") {
        Ok(mut content) => {
            let mut count = Count::default();
            let mut buf = vec![0u8; 64 << 10];
            loop {
                let n = content.read(&mut buf).map_err(|e| invalid(e.to_string()))?;
                if n == 0 {
                    break;
                }
                count.feed(&buf[..n]).map_err(|(code, m)| refuse(name, code, m))?;
            }
        }
        Err(::zip::result::ZipError::FileNotFound) => {}
        Err(e) => return Err(invalid(e.to_string())),
    }
    Ok(zip.into_inner())
}

/// calamine's cap on a table's rows (repeats beyond are dropped).
const MAX_ROWS: u64 = 1 << 20;
/// calamine's cap on a row's cells.
const MAX_COLUMNS: u64 = 1 << 14;

type Refusal = (&'static str, String);

/// Where the tokenizer is in the XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// After `<`.
    Open,
    StartName,
    InTag,
    AttrName,
    AfterAttrName,
    BeforeValue,
    /// In an attribute value ended by this quote (0: unquoted).
    Value(u8),
    /// After `/` in a start tag.
    SelfClose,
    EndName,
    EndRest,
    /// After `<!`, before it is known what follows.
    Bang,
    Comment,
    CData,
    Instruction,
    /// A declaration (`<!DOCTYPE …>`), at this depth of brackets.
    Declaration(u32),
}

/// What a start tag says, as far as the count goes.
#[derive(Debug, Default)]
struct Tag {
    rows_repeated: Option<u64>,
    columns_repeated: Option<u64>,
    spaces: Option<u64>,
    /// It gives a value (or a formula), or declares a string value: calamine
    /// keeps it as a cell even when empty.
    valued: bool,
    /// Bytes of its attributes' values.
    attr_bytes: u64,
}

/// The cells and bytes of text calamine would hold of `content.xml`, counted
/// from its bytes as they stream in.
#[derive(Debug)]
struct Count {
    state: State,
    name: Vec<u8>,
    attr: Vec<u8>,
    value: Vec<u8>,
    value_len: u64,
    value_digits: bool,
    tag: Tag,
    bang: Vec<u8>,
    tail: [u8; 2],
    /// Tables open (a table inside a cell is counted with its own).
    tables: u32,
    table: Table,
    row: Option<Row>,
    cell: Option<Cell>,
    /// Cells and text of the tables closed so far.
    cells: u64,
    text: u64,
}

#[derive(Debug, Default)]
struct Table {
    /// Cells as read, each row once.
    raw_cells: u64,
    raw_text: u64,
    /// Rows so far (repeats included, capped as calamine caps them), and
    /// text so far with rows repeated.
    rows: u64,
    repeated_text: u64,
    /// `rows` and `repeated_text` before the first row with a value, and
    /// after the last: calamine expands what lies between.
    first_valued: Option<(u64, u64)>,
    last_valued: (u64, u64),
    /// The widest row with a value.
    width: u64,
}

impl Table {
    fn cells(&self) -> u64 {
        let span = self.first_valued.map_or(0, |(rows, _)| self.last_valued.0 - rows);
        self.raw_cells.saturating_add(span.saturating_mul(self.width))
    }

    fn text(&self) -> u64 {
        let span = self.first_valued.map_or(0, |(_, text)| self.last_valued.1 - text);
        self.raw_text.saturating_add(span)
    }
}

#[derive(Debug)]
struct Row {
    repeated: u64,
    cells: u64,
    text: u64,
    /// Empty cells read but not yet kept: calamine keeps them when another
    /// cell follows.
    pending_empty: u64,
    valued: bool,
}

#[derive(Debug)]
struct Cell {
    repeated: u64,
    valued: bool,
    text: u64,
}

impl Default for Count {
    fn default() -> Self {
        Self {
            state: State::Text,
            name: Vec::new(),
            attr: Vec::new(),
            value: Vec::new(),
            value_len: 0,
            value_digits: true,
            tag: Tag::default(),
            bang: Vec::new(),
            tail: [0; 2],
            tables: 0,
            table: Table::default(),
            row: None,
            cell: None,
            cells: 0,
            text: 0,
        }
    }
}

/// Longest tag or attribute name kept (longer ones are of no interest).
const NAME_MAX: usize = 48;
/// Longest attribute value kept (longer ones are only measured).
const VALUE_MAX: usize = 24;

fn push_bounded(v: &mut Vec<u8>, b: u8, max: usize) {
    if v.len() <= max {
        v.push(b);
    }
}

impl Count {
    /// Reads the next bytes of the XML.
    fn feed(&mut self, bytes: &[u8]) -> Result<(), Refusal> {
        let mut i = 0;
        while i < bytes.len() {
            if self.state == State::Text {
                let run = bytes[i..].iter().position(|&b| b == b'<').unwrap_or(bytes.len() - i);
                if let Some(cell) = self.cell.as_mut() {
                    cell.text = cell.text.saturating_add(run as u64);
                }
                i += run;
                if i < bytes.len() {
                    self.state = State::Open;
                    i += 1;
                }
                continue;
            }
            self.step(bytes[i])?;
            i += 1;
        }
        Ok(())
    }

    fn step(&mut self, b: u8) -> Result<(), Refusal> {
        let space = b.is_ascii_whitespace();
        match self.state {
            State::Text => unreachable!("text is read in runs"),
            State::Open => match b {
                b'/' => {
                    self.name.clear();
                    self.state = State::EndName;
                }
                b'!' => {
                    self.bang.clear();
                    self.state = State::Bang;
                }
                b'?' => {
                    self.tail = [0; 2];
                    self.state = State::Instruction;
                }
                _ => {
                    self.name.clear();
                    self.tag = Tag::default();
                    self.name.push(b);
                    self.state = State::StartName;
                }
            },
            State::StartName => match b {
                b'>' => self.start(false)?,
                b'/' => self.state = State::SelfClose,
                _ if space => self.state = State::InTag,
                _ => push_bounded(&mut self.name, b, NAME_MAX),
            },
            State::InTag => match b {
                b'>' => self.start(false)?,
                b'/' => self.state = State::SelfClose,
                _ if space => {}
                _ => self.begin_attr(b),
            },
            State::AttrName => match b {
                b'=' => self.state = State::BeforeValue,
                b'>' => self.start(false)?,
                b'/' => self.state = State::SelfClose,
                _ if space => self.state = State::AfterAttrName,
                _ => push_bounded(&mut self.attr, b, NAME_MAX),
            },
            State::AfterAttrName => match b {
                b'=' => self.state = State::BeforeValue,
                b'>' => self.start(false)?,
                b'/' => self.state = State::SelfClose,
                _ if space => {}
                _ => self.begin_attr(b),
            },
            State::BeforeValue => match b {
                b'"' | b'\'' => self.state = State::Value(b),
                _ if space => {}
                _ => {
                    self.state = State::Value(0);
                    self.value_byte(b);
                }
            },
            State::Value(0) if space || b == b'>' => {
                self.end_attr()?;
                if b == b'>' {
                    self.start(false)?;
                }
            }
            State::Value(quote) if b == quote => self.end_attr()?,
            State::Value(_) => self.value_byte(b),
            State::SelfClose => match b {
                b'>' => self.start(true)?,
                _ if space => {}
                _ => self.begin_attr(b),
            },
            State::EndName => match b {
                b'>' => self.end()?,
                _ if space => self.state = State::EndRest,
                _ => push_bounded(&mut self.name, b, NAME_MAX),
            },
            State::EndRest => {
                if b == b'>' {
                    self.end()?;
                }
            }
            State::Bang => {
                self.bang.push(b);
                if self.bang == b"--" {
                    self.tail = [0; 2];
                    self.state = State::Comment;
                } else if self.bang == b"[CDATA[" {
                    self.tail = [0; 2];
                    self.state = State::CData;
                } else if !b"--".starts_with(&self.bang) && !b"[CDATA[".starts_with(&self.bang) {
                    self.state = State::Declaration(0);
                    self.step(b)?;
                }
            }
            State::Comment | State::CData | State::Instruction => {
                let closing: &[u8; 2] = match self.state {
                    State::Comment => b"--",
                    State::CData => b"]]",
                    _ => b"??",
                };
                let done = b == b'>'
                    && if self.state == State::Instruction {
                        self.tail[1] == b'?'
                    } else {
                        &self.tail == closing
                    };
                if done {
                    self.state = State::Text;
                } else {
                    self.tail = [self.tail[1], b];
                }
            }
            State::Declaration(depth) => match b {
                b'[' => self.state = State::Declaration(depth + 1),
                b']' => self.state = State::Declaration(depth.saturating_sub(1)),
                b'>' if depth == 0 => self.state = State::Text,
                _ => {}
            },
        }
        Ok(())
    }

    fn begin_attr(&mut self, b: u8) {
        self.attr.clear();
        self.attr.push(b);
        self.value.clear();
        self.value_len = 0;
        self.value_digits = true;
        self.state = State::AttrName;
    }

    fn value_byte(&mut self, b: u8) {
        self.value_len += 1;
        self.value_digits &= b.is_ascii_digit();
        push_bounded(&mut self.value, b, VALUE_MAX);
    }

    fn end_attr(&mut self) -> Result<(), Refusal> {
        self.state = State::InTag;
        self.tag.attr_bytes = self.tag.attr_bytes.saturating_add(self.value_len);
        let number = || -> Result<u64, Refusal> {
            if self.value_len == 0 || !self.value_digits {
                return Err((
                    "invalid_workbook",
                    format!(
                        "content.xml: {} is {:?}, not a number",
                        String::from_utf8_lossy(&self.attr),
                        String::from_utf8_lossy(&self.value)
                    ),
                ));
            }
            // A number too long to keep is larger than any limit.
            Ok(if self.value.len() > VALUE_MAX {
                u64::MAX
            } else {
                std::str::from_utf8(&self.value)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(u64::MAX)
            })
        };
        match self.attr.as_slice() {
            b"table:number-rows-repeated" => self.tag.rows_repeated = Some(number()?),
            b"table:number-columns-repeated" => self.tag.columns_repeated = Some(number()?),
            b"text:c" => self.tag.spaces = Some(number()?),
            b"office:value-type" => self.tag.valued |= self.value == b"string",
            b"office:value"
            | b"office:string-value"
            | b"office:date-value"
            | b"office:time-value"
            | b"office:boolean-value"
            | b"table:formula" => self.tag.valued = true,
            _ => {}
        }
        Ok(())
    }

    /// A start tag is complete (`empty`: it closes itself).
    fn start(&mut self, empty: bool) -> Result<(), Refusal> {
        self.state = State::Text;
        let tag = std::mem::take(&mut self.tag);
        match self.name.as_slice() {
            b"table:table" => {
                self.tables += 1;
                if empty {
                    self.end_table();
                }
            }
            b"table:table-row" if self.tables > 0 && self.row.is_none() => {
                self.row = Some(Row {
                    repeated: tag.rows_repeated.unwrap_or(1),
                    cells: 0,
                    text: 0,
                    pending_empty: 0,
                    valued: false,
                });
                if empty {
                    self.end_row()?;
                }
            }
            b"table:table-cell" | b"table:covered-table-cell" if self.cell.is_none() => {
                if let Some(row) = self.row.as_mut() {
                    // The empty cells before this one are kept.
                    let kept = row.pending_empty.min(MAX_COLUMNS.saturating_sub(row.cells));
                    row.cells += kept;
                    row.pending_empty = 0;
                    self.cell = Some(Cell {
                        repeated: tag.columns_repeated.unwrap_or(1),
                        valued: tag.valued,
                        text: tag.attr_bytes,
                    });
                    if empty {
                        self.end_cell();
                    }
                }
            }
            // Inside a cell: a run of spaces, or any other element (a tab, a
            // line break: a byte at most).
            _ => {
                if let Some(cell) = self.cell.as_mut() {
                    let added = if self.name == b"text:s" {
                        tag.spaces.unwrap_or(1)
                    } else {
                        1
                    };
                    cell.text = cell.text.saturating_add(added).saturating_add(tag.attr_bytes);
                }
            }
        }
        Ok(())
    }

    /// An end tag is complete; the limits are checked at each row's end.
    fn end(&mut self) -> Result<(), Refusal> {
        self.state = State::Text;
        match self.name.as_slice() {
            b"table:table-cell" | b"table:covered-table-cell" => self.end_cell(),
            b"table:table-row" => self.end_row()?,
            b"table:table" => self.end_table(),
            _ => {}
        }
        Ok(())
    }

    fn end_cell(&mut self) {
        let (Some(cell), Some(row)) = (self.cell.take(), self.row.as_mut()) else {
            return;
        };
        if cell.valued {
            let kept = cell.repeated.min(MAX_COLUMNS.saturating_sub(row.cells));
            row.cells += kept;
            row.text = row.text.saturating_add(kept.saturating_mul(cell.text));
            row.valued = true;
        } else {
            row.pending_empty = cell.repeated;
        }
    }

    fn end_row(&mut self) -> Result<(), Refusal> {
        self.end_cell();
        let Some(row) = self.row.take() else {
            return Ok(());
        };
        let t = &mut self.table;
        let repeated = row.repeated.min(MAX_ROWS.saturating_sub(t.rows));
        t.raw_cells = t.raw_cells.saturating_add(row.cells);
        t.raw_text = t.raw_text.saturating_add(row.text);
        let text_after = t.repeated_text.saturating_add(repeated.saturating_mul(row.text));
        if row.valued {
            t.first_valued.get_or_insert((t.rows, t.repeated_text));
            t.last_valued = (t.rows + repeated, text_after);
            t.width = t.width.max(row.cells);
        }
        t.rows += repeated;
        t.repeated_text = text_after;
        self.check()
    }

    fn end_table(&mut self) {
        self.tables = self.tables.saturating_sub(1);
        if self.tables == 0 {
            self.row = None;
            self.cell = None;
            let table = std::mem::take(&mut self.table);
            self.cells = self.cells.saturating_add(table.cells());
            self.text = self.text.saturating_add(table.text());
        }
    }

    /// Refuses the spreadsheet once what is counted passes a limit.
    fn check(&self) -> Result<(), Refusal> {
        let cells = self.cells.saturating_add(self.table.cells());
        if cells > MAX_LOADED_CELLS {
            return Err((
                "sheet_too_large",
                format!(
                    "the spreadsheet's sheets hold {cells} cells or more once their repeated rows and cells are expanded, more than the {MAX_LOADED_CELLS} allowed"
                ),
            ));
        }
        let text = self.text.saturating_add(self.table.text());
        if text > MAX_LOADED_TEXT {
            return Err((
                "sheet_too_large",
                format!(
                    "the spreadsheet's cells hold {text} bytes of text or more once repeats are expanded, more than the {MAX_LOADED_TEXT} allowed"
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The count of `xml`, fed in pieces of `piece` bytes.
    fn count(xml: &str, piece: usize) -> Result<(u64, u64), &'static str> {
        let mut c = Count::default();
        for part in xml.as_bytes().chunks(piece) {
            c.feed(part).map_err(|(code, _)| code)?;
        }
        Ok((c.cells, c.text))
    }

    fn table(rows: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?><office:document-content><office:body><office:spreadsheet>\
             <table:table table:name=\"S\">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"
        )
    }

    const ROW: &str = "<table:table-row><table:table-cell office:value-type=\"string\"><text:p>unit_id</text:p></table:table-cell>\
        <table:table-cell office:value-type=\"float\" office:value=\"380\"><text:p>380</text:p></table:table-cell>\
        <table:table-cell table:number-columns-repeated=\"1022\"/></table:table-row>";

    #[test]
    fn a_sheet_as_libreoffice_writes_it_counts_its_cells_only() {
        // Trailing empty cells and a million empty rows after the data, as
        // LibreOffice writes them, cost nothing.
        let xml = table(&format!(
            "{ROW}{ROW}<table:table-row table:number-rows-repeated=\"1048574\"><table:table-cell table:number-columns-repeated=\"1024\"/></table:table-row>"
        ));
        for piece in [1, 7, 4096] {
            let (cells, text) = count(&xml, piece).unwrap();
            assert_eq!(cells, 2 * 2 + 2 * 2, "read once, then as a grid");
            assert!(text < 200, "{text}");
        }
    }

    #[test]
    fn repeats_that_expand_past_the_limits_are_refused() {
        // One valued cell repeated across a row, the row repeated: a few
        // hundred bytes for 16 384 × 1 048 576 cells.
        let bomb = table(
            "<table:table-row table:number-rows-repeated=\"1048576\">\
             <table:table-cell table:number-columns-repeated=\"16384\" office:value-type=\"float\" office:value=\"1\"/></table:table-row>\
             <table:table-row><table:table-cell office:value-type=\"float\" office:value=\"1\"/></table:table-row>",
        );
        assert_eq!(count(&bomb, 4096), Err("sheet_too_large"));
        // Empty rows between two valued ones are expanded too.
        let gap = |wide: u64| {
            table(&format!(
                "{ROW}<table:table-row table:number-rows-repeated=\"1000000\"><table:table-cell/></table:table-row>\
                 <table:table-row><table:table-cell table:number-columns-repeated=\"{wide}\" office:value=\"1\"/></table:table-row>"
            ))
        };
        assert_eq!(count(&gap(2), 4096).map(|(cells, _)| cells), Ok(4 + 2 * 1_000_002));
        assert_eq!(count(&gap(5), 4096), Err("sheet_too_large"));
        // A run of a billion spaces in one cell.
        let spaces = table(
            "<table:table-row><table:table-cell office:value-type=\"string\"><text:p>a<text:s text:c=\"1000000000\"/>b</text:p></table:table-cell></table:table-row>",
        );
        assert_eq!(count(&spaces, 4096), Err("sheet_too_large"));
        // A long string repeated in every cell of many rows.
        let long = "x".repeat(100_000);
        let text = table(&format!(
            "<table:table-row table:number-rows-repeated=\"2000\"><table:table-cell office:value-type=\"string\" office:string-value=\"{long}\"/></table:table-row>"
        ));
        assert_eq!(count(&text, 4096), Err("sheet_too_large"));
    }

    #[test]
    fn a_repeat_count_is_a_plain_number() {
        let entity =
            table("<table:table-row table:number-rows-repeated=\"&#49;&#48;\"><table:table-cell/></table:table-row>");
        assert_eq!(count(&entity, 4096), Err("invalid_workbook"));
        let huge = table(
            "<table:table-row><table:table-cell table:number-columns-repeated=\"99999999999999999999999999\" office:value=\"1\"/></table:table-row>",
        );
        // Kept as calamine keeps it: the row's 16 384 columns, then as a grid.
        assert_eq!(count(&huge, 4096).map(|(cells, _)| cells), Ok(2 * MAX_COLUMNS));
    }

    #[test]
    fn comments_cdata_and_quoted_brackets_do_not_hide_cells() {
        let xml = table(&format!(
            "<!-- a \"quote\" and a <table:table-row> --><![CDATA[ <x a=\" ]]>{ROW}<?pi \"?>{ROW}"
        ));
        assert_eq!(count(&xml, 3).map(|(cells, _)| cells), Ok(8));
        // A `>` inside an attribute value does not end the tag.
        let xml = table(
            "<table:table-row><table:table-cell table:formula=\"of:=[.A1]&gt;1\" table:number-columns-repeated=\"3\" office:value=\"1\"/></table:table-row>",
        );
        assert_eq!(count(&xml, 5).map(|(cells, _)| cells), Ok(6));
    }
}
