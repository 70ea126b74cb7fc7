//! Reading a legacy Excel 97–2003 workbook (`.xls`: BIFF records in an
//! OLE2 compound file) into the same string records as CSV, with calamine.
//!
//! calamine holds the whole workbook: it reads every sheet at once, each as
//! a grid (from its first to its last cell, empty cells included), after
//! reserving room for the cells each sheet's DIMENSIONS record declares, and
//! each cell copies its shared string. A small file can thus ask for
//! terabytes (a DIMENSIONS record of four billion rows, two cells at
//! opposite corners, one long string referenced by every cell). So before
//! calamine sees a file: it is at most [`MAX_XLS_BYTES`]; its compound
//! file's chains are checked (`cfb`); the Workbook stream's records are
//! walked to add up what calamine would hold — cells declared and spanned,
//! the text of the strings cells copy, formula text — and a workbook past
//! [`MAX_LOADED_CELLS`] or [`MAX_LOADED_TEXT`] is `sheet_too_large`. A
//! string table declaring more strings than its bytes can hold, a dimension
//! ending before it starts or a sheet past the stream's end is
//! `invalid_workbook`, as is a panic left in calamine's parsing of a
//! malformed record.
//!
//! The sheet read is the first or the one named, and its records are found
//! as in an XLSX sheet (`workbook`).

use super::IngestError;
use super::workbook::{MAX_LOADED_CELLS, MAX_LOADED_TEXT, pick_sheet, read_bounded, read_grid, refuse, unpanicked};
use calamine::{Reader, Xls};
use polars::prelude::DataFrame;
use std::io::Read;

/// Largest `.xls` read (Excel 97–2003 sheets stop at 65 536 rows).
pub const MAX_XLS_BYTES: u64 = 64 << 20;

/// Reads the workbook's sheet (the first, or `sheet`) into chunks.
pub fn read_xls(
    input: &mut impl Read,
    name: &str,
    sheet: Option<&str>,
    chunk_records: usize,
    on_chunk: &mut dyn FnMut(DataFrame) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let bytes = read_bounded(input, name, MAX_XLS_BYTES)?;
    let stream = super::cfb::workbook_stream(&bytes).map_err(|m| {
        refuse(
            name,
            "invalid_workbook",
            format!("not a readable Excel 97-2003 workbook: {m}"),
        )
    })?;
    check(&stream, name)?;
    drop(stream);
    let range = unpanicked(name, || {
        let mut workbook: Xls<_> = Xls::new(std::io::Cursor::new(bytes))
            .map_err(|e| refuse(name, "invalid_workbook", format!("the workbook cannot be read: {e}")))?;
        let sheet_name = pick_sheet(&workbook.sheet_names(), sheet, name)?;
        workbook
            .worksheet_range(&sheet_name)
            .map_err(|e| refuse(name, "invalid_workbook", format!("sheet {sheet_name:?}: {e}")))
    })??;
    read_grid(&range, name, chunk_records, on_chunk)
}

/// Record types (MS-XLS 2.3).
mod kind {
    pub const EOF: u16 = 0x000A;
    pub const FILE_PASS: u16 = 0x002F;
    pub const LBL: u16 = 0x0018;
    pub const CONTINUE: u16 = 0x003C;
    pub const BOUND_SHEET: u16 = 0x0085;
    pub const SST: u16 = 0x00FC;
    pub const BOF: u16 = 0x0809;
    pub const DIMENSIONS: u16 = 0x0200;
    pub const FORMULA: u16 = 0x0006;
    pub const STRING: u16 = 0x0207;
    pub const LABEL_SST: u16 = 0x00FD;
    pub const LABEL: u16 = 0x0204;
    pub const RSTRING: u16 = 0x00D6;
    pub const MUL_RK: u16 = 0x00BD;
    /// Records calamine makes a cell of, at the row and column their data
    /// opens with.
    pub const CELLS: [u16; 7] = [0x0203, LABEL, RSTRING, 0x0205, 0x027E, LABEL_SST, FORMULA];
}

struct Record<'a> {
    kind: u16,
    data: &'a [u8],
}

/// The records of `stream` from byte `at`, up to one that does not fit
/// (calamine refuses the stream there; nothing past it is read).
fn records(stream: &[u8], mut at: usize) -> impl Iterator<Item = Record<'_>> {
    std::iter::from_fn(move || {
        let head = stream.get(at..at + 4)?;
        let len = u16::from_le_bytes([head[2], head[3]]) as usize;
        let data = stream.get(at + 4..at + 4 + len)?;
        at += 4 + len;
        Some(Record {
            kind: u16::from_le_bytes([head[0], head[1]]),
            data,
        })
    })
}

fn u16_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as u32)
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// What the workbook's globals say: where its sheets start, the length (in
/// characters) of each shared string, its longest defined and sheet names.
#[derive(Default)]
struct Globals {
    sheets: Vec<usize>,
    strings: Vec<u32>,
    longest_name: u64,
    longest_sheet_name: u64,
}

/// Adds up what calamine would hold of the workbook in `stream`, refusing
/// it past the limits.
fn check(stream: &[u8], name: &str) -> Result<(), IngestError> {
    let globals = globals(stream, name)?;
    // Bytes of formula text per byte of formula tokens: a name or a sheet
    // name (3 bytes a character at most) for a 5- or 7-byte token, 16 for
    // any other token.
    let per_formula_byte = 16
        .max((3 * globals.longest_name).div_ceil(5) + 1)
        .max((3 * globals.longest_sheet_name + 12).div_ceil(7) + 1);
    let mut cells = 0u64;
    let mut text = 0u64;
    for (index, &pos) in globals.sheets.iter().enumerate() {
        let sheet = index + 1;
        if pos > stream.len() {
            return Err(refuse(
                name,
                "invalid_workbook",
                format!("sheet {sheet} starts at byte {pos}, past the end of the workbook"),
            ));
        }
        let mut span = Span::default();
        let mut formulas = Span::default();
        let (mut seen_bof, mut depth) = (false, 0usize);
        for r in records(stream, pos) {
            // Records of a nested substream (an embedded chart) are no cells.
            if depth > 0 {
                match r.kind {
                    kind::BOF => depth += 1,
                    kind::EOF => depth -= 1,
                    _ => {}
                }
                continue;
            }
            match r.kind {
                kind::BOF if seen_bof => depth += 1,
                kind::BOF => seen_bof = true,
                kind::EOF => break,
                kind::DIMENSIONS => {
                    let declared = declared_cells(r.data).ok_or_else(|| {
                        refuse(
                            name,
                            "invalid_workbook",
                            format!("sheet {sheet} declares a dimension that ends before it starts"),
                        )
                    })?;
                    if declared > MAX_LOADED_CELLS {
                        return Err(refuse(
                            name,
                            "sheet_too_large",
                            format!(
                                "sheet {sheet} declares {declared} cells, more than the {MAX_LOADED_CELLS} allowed"
                            ),
                        ));
                    }
                }
                kind::MUL_RK => {
                    if let (Some(row), Some(first)) = (u16_at(r.data, 0), u16_at(r.data, 2)) {
                        let last = u16_at(r.data, r.data.len().saturating_sub(2)).unwrap_or(first);
                        span.add(row, first);
                        span.add(row, last.max(first));
                    }
                }
                k if kind::CELLS.contains(&k) => {
                    if let (Some(row), Some(col)) = (u16_at(r.data, 0), u16_at(r.data, 2)) {
                        span.add(row, col);
                        if k == kind::FORMULA {
                            formulas.add(row, col);
                        }
                    }
                    text = text.saturating_add(match k {
                        kind::LABEL_SST => u32_at(r.data, 6)
                            .and_then(|i| globals.strings.get(i as usize))
                            .map_or(0, |chars| 3 * u64::from(*chars)),
                        kind::LABEL | kind::RSTRING => 3 * r.data.len() as u64,
                        kind::FORMULA => u16_at(r.data, 20).map_or(0, |cce| u64::from(cce) * per_formula_byte),
                        _ => 0,
                    });
                }
                kind::STRING => text = text.saturating_add(3 * r.data.len() as u64),
                _ => {}
            }
        }
        cells = cells.saturating_add(span.cells()).saturating_add(formulas.cells());
        if cells > MAX_LOADED_CELLS {
            return Err(refuse(
                name,
                "sheet_too_large",
                format!(
                    "the sheets' cells span {cells} cells (through sheet {sheet}, first to last cell), more than the {MAX_LOADED_CELLS} allowed"
                ),
            ));
        }
        if text > MAX_LOADED_TEXT {
            return Err(refuse(
                name,
                "sheet_too_large",
                format!("the cells hold {text} bytes of text once read, more than the {MAX_LOADED_TEXT} allowed"),
            ));
        }
    }
    Ok(())
}

/// The globals substream, up to its end.
fn globals(stream: &[u8], name: &str) -> Result<Globals, IngestError> {
    let mut g = Globals::default();
    let mut all = records(stream, 0).peekable();
    while let Some(r) = all.next() {
        match r.kind {
            kind::EOF => break,
            kind::FILE_PASS if u16_at(r.data, 0).is_some_and(|k| k != 0) => {
                return Err(refuse(
                    name,
                    "invalid_workbook",
                    "the workbook is password-protected; save it without a password".to_string(),
                ));
            }
            kind::BOUND_SHEET => {
                if let Some(pos) = u32_at(r.data, 0) {
                    g.sheets.push(pos as usize);
                }
                g.longest_sheet_name = g.longest_sheet_name.max(r.data.get(6).map_or(0, |&c| u64::from(c)));
            }
            kind::LBL => g.longest_name = g.longest_name.max(r.data.get(3).map_or(0, |&c| u64::from(c))),
            kind::SST => {
                let mut parts = vec![r.data];
                while let Some(c) = all.next_if(|c| c.kind == kind::CONTINUE) {
                    parts.push(c.data);
                }
                let bytes: usize = parts.iter().map(|p| p.len()).sum::<usize>().saturating_sub(8);
                let declared = u32_at(r.data, 4).unwrap_or(0);
                // A string takes 3 bytes at least (its length and flags).
                if u64::from(declared) > bytes as u64 / 3 {
                    return Err(refuse(
                        name,
                        "invalid_workbook",
                        format!("the shared string table declares {declared} strings in {bytes} bytes"),
                    ));
                }
                g.strings = string_lengths(&parts);
            }
            _ => {}
        }
    }
    Ok(g)
}

/// The cells a DIMENSIONS record makes calamine reserve; `None` for one
/// whose last row or column comes before its first (calamine's arithmetic
/// would wrap around).
fn declared_cells(data: &[u8]) -> Option<u64> {
    let (first_row, last_row, first_col, last_col) = match data.len() {
        10 => (u16_at(data, 0)?, u16_at(data, 2)?, u16_at(data, 4)?, u16_at(data, 6)?),
        14 | 16 => (u32_at(data, 0)?, u32_at(data, 4)?, u16_at(data, 8)?, u16_at(data, 10)?),
        // calamine refuses any other length.
        _ => return Some(0),
    };
    // As calamine reads it: the last row and column are one past the end.
    let first_col = if first_col > 0xFF || last_col < first_col {
        0
    } else {
        first_col
    };
    if last_row == 0 || last_col == 0 {
        return Some(1);
    }
    let rows = (u64::from(last_row) - 1).checked_sub(u64::from(first_row))? + 1;
    let cols = (u64::from(last_col) - 1).checked_sub(u64::from(first_col))? + 1;
    Some(rows * cols)
}

/// The rows and columns from a sheet's first cell to its last.
#[derive(Default)]
struct Span(Option<(u32, u32, u32, u32)>);

impl Span {
    fn add(&mut self, row: u32, col: u32) {
        self.0 = Some(match self.0 {
            None => (row, row, col, col),
            Some((r0, r1, c0, c1)) => (r0.min(row), r1.max(row), c0.min(col), c1.max(col)),
        });
    }

    fn cells(&self) -> u64 {
        self.0
            .map_or(0, |(r0, r1, c0, c1)| u64::from(r1 - r0 + 1) * u64::from(c1 - c0 + 1))
    }
}

/// The length in characters of each string of a shared string table (its
/// record's data, then its CONTINUE records'), read as calamine reads
/// them; the table's end where calamine would refuse it.
fn string_lengths(parts: &[&[u8]]) -> Vec<u32> {
    let mut lengths = Vec::new();
    let mut part = 0usize;
    let mut data = parts[0].get(8..).unwrap_or_default();
    let next_part = |part: &mut usize| -> Option<&[u8]> {
        *part += 1;
        parts.get(*part).copied()
    };
    loop {
        if data.is_empty() {
            match next_part(&mut part) {
                Some(d) => data = d,
                None => return lengths,
            }
            // calamine reads an empty string where a part starts empty.
            if data.is_empty() {
                lengths.push(0);
                continue;
            }
        }
        if data.len() < 3 {
            return lengths;
        }
        let chars = u16::from_le_bytes([data[0], data[1]]) as usize;
        let flags = data[2];
        data = &data[3..];
        let mut runs = 0usize;
        let mut extra = 0usize;
        if flags & 0x8 != 0 {
            let Some(n) = u16_at(data, 0) else { return lengths };
            runs = n as usize;
            data = &data[2..];
        }
        if flags & 0x4 != 0 {
            let Some(n) = u32_at(data, 0) else { return lengths };
            extra = n as i32 as usize;
            data = &data[4..];
        }
        // The characters, one or two bytes each; a CONTINUE record goes on
        // with a byte of flags of its own.
        let mut wide = flags & 0x1 != 0;
        let mut left = chars;
        while left > 0 {
            let width = if wide { 2 } else { 1 };
            let n = left.min(data.len() / width);
            data = &data[n * width..];
            left -= n;
            if left > 0 {
                match next_part(&mut part) {
                    Some(d) if !d.is_empty() => {
                        wide = d[0] & 0x1 != 0;
                        data = &d[1..];
                    }
                    _ => return lengths,
                }
            }
        }
        lengths.push(chars as u32);
        // Formatting runs and phonetic data, across CONTINUE records.
        let mut skip = runs.saturating_mul(4).saturating_add(extra);
        while skip > 0 {
            if data.is_empty() {
                match next_part(&mut part) {
                    Some(d) => data = d,
                    None => return lengths,
                }
                continue;
            }
            let n = skip.min(data.len());
            data = &data[n..];
            skip -= n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut r = kind.to_le_bytes().to_vec();
        r.extend((data.len() as u16).to_le_bytes());
        r.extend(data);
        r
    }

    /// A Workbook stream: globals (a string table of `strings`), then one
    /// sheet of `sheet` records.
    fn stream(strings: &[&str], sheet: &[Vec<u8>]) -> Vec<u8> {
        let mut sst = vec![];
        sst.extend((strings.len() as u32).to_le_bytes());
        sst.extend((strings.len() as u32).to_le_bytes());
        for s in strings {
            sst.extend((s.len() as u16).to_le_bytes());
            sst.push(0);
            sst.extend(s.as_bytes());
        }
        let bof = record(kind::BOF, &[0x00, 0x06, 0x05, 0x00, 0, 0, 0, 0]);
        let mut globals = bof.clone();
        globals.extend(record(kind::SST, &sst));
        // The BoundSheet record (4 + 12 bytes), then the globals' EOF (4).
        let sheet_start = globals.len() + 16 + 4;
        let mut bound = (sheet_start as u32).to_le_bytes().to_vec();
        bound.extend([0, 0, 1, 0, b'S']);
        bound.extend([0u8; 3]);
        let mut out = globals;
        out.extend(record(kind::BOUND_SHEET, &bound));
        out.extend(record(kind::EOF, &[]));
        assert_eq!(out.len(), sheet_start);
        out.extend(bof);
        for r in sheet {
            out.extend(r);
        }
        out.extend(record(kind::EOF, &[]));
        out
    }

    fn dimensions(first_row: u32, last_row: u32, first_col: u16, last_col: u16) -> Vec<u8> {
        let mut d = first_row.to_le_bytes().to_vec();
        d.extend(last_row.to_le_bytes());
        d.extend(first_col.to_le_bytes());
        d.extend(last_col.to_le_bytes());
        d.extend([0, 0]);
        record(kind::DIMENSIONS, &d)
    }

    fn label_sst(row: u16, col: u16, index: u32) -> Vec<u8> {
        let mut d = row.to_le_bytes().to_vec();
        d.extend(col.to_le_bytes());
        d.extend([0, 0]);
        d.extend(index.to_le_bytes());
        record(kind::LABEL_SST, &d)
    }

    fn code(stream: &[u8]) -> Result<(), &'static str> {
        check(stream, "t.xls").map_err(|e| e.code())
    }

    #[test]
    fn a_small_sheet_passes() {
        let s = stream(
            &["unit_id", "2801079196"],
            &[dimensions(0, 2, 0, 1), label_sst(0, 0, 0), label_sst(1, 0, 1)],
        );
        assert_eq!(code(&s), Ok(()));
        assert_eq!(globals(&s, "t.xls").unwrap().strings, [7, 10]);
    }

    #[test]
    fn absurd_declarations_are_refused_before_calamine_reserves_them() {
        // Four billion rows declared.
        let s = stream(&["x"], &[dimensions(0, u32::MAX, 0, 256), label_sst(0, 0, 0)]);
        assert_eq!(code(&s), Err("sheet_too_large"));
        // A dimension ending before it starts (calamine's arithmetic wraps).
        let s = stream(&["x"], &[dimensions(5, 3, 0, 1)]);
        assert_eq!(code(&s), Err("invalid_workbook"));
        let s = stream(&["x"], &[dimensions(0, 1, 4, 4)]);
        assert_eq!(code(&s), Err("invalid_workbook"));
        // Two cells at opposite corners: calamine's grid spans them.
        let s = stream(
            &["x"],
            &[dimensions(0, 1, 0, 1), label_sst(0, 0, 0), label_sst(65_535, 255, 0)],
        );
        assert_eq!(code(&s), Err("sheet_too_large"));
        // A string table declaring more strings than its bytes hold.
        let mut s = stream(&["x"], &[]);
        let sst = s.windows(2).position(|w| w == kind::SST.to_le_bytes()).unwrap();
        s[sst + 8..sst + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(code(&s), Err("invalid_workbook"));
    }

    #[test]
    fn one_long_string_copied_into_every_cell_counts_once_per_cell() {
        let long = "x".repeat(60_000);
        let cells: Vec<Vec<u8>> = (0..1000u16).map(|r| label_sst(r, 0, 0)).collect();
        let s = stream(&[&long], &cells);
        // 1000 × 60 000 characters, 3 bytes each at most: 180 MB.
        assert_eq!(code(&s), Err("sheet_too_large"));
        let s = stream(&[&long], &cells[..100]);
        assert_eq!(code(&s), Ok(()));
    }

    #[test]
    fn strings_continue_across_records_as_calamine_reads_them() {
        // "abcdef" split after 4 characters; the CONTINUE opens with flags.
        let mut sst = 1u32.to_le_bytes().to_vec();
        sst.extend(1u32.to_le_bytes());
        sst.extend(6u16.to_le_bytes());
        sst.push(0);
        sst.extend(b"abcd");
        let parts: [&[u8]; 2] = [&sst, b"\x00ef"];
        assert_eq!(string_lengths(&parts), [6]);
    }
}
