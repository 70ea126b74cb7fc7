//! Reading a filing workbook (XLSX) into the same string records as CSV,
//! and the rows of any workbook's sheet (`xls`, `ods` give theirs as a
//! grid) into those records.
//!
//! Before anything is parsed, the archive is bounded: the sizes its
//! directory declares, then the bytes each part really inflates to
//! (counted while inflating, never held), must stay under
//! [`MAX_UNCOMPRESSED`], so a zip bomb is refused after reading at most that
//! much. The sheet's declared dimension must stay under [`MAX_CELLS`], so a
//! small file declaring cell XFD1048576 is refused at once. Cells are then
//! streamed one by one (calamine's cell reader): memory holds one chunk of
//! records, never the sheet.
//!
//! The sheet is the first, or the one named. Its header row is the first
//! row (of the first [`HEADER_SEARCH_ROWS`]) that names every required
//! column, so title rows above it are skipped. Codes and amounts may be
//! text or number cells; whole numbers are written without a decimal point,
//! dates as `YYYY-MM-DD` (a period cell as `YYYY-MM`), date-times as
//! RFC 3339 in Asia/Ho_Chi_Minh (an ISO date-time without an offset, as
//! OpenDocument writes them, is taken as one there too).

use super::text::{column_of, nfc};
use super::{COLUMNS, IngestError, REQUIRED};
use calamine::{Data, DataType, Range, Reader, Xlsx};
use polars::prelude::*;
use std::io::{Read, Seek};

/// Most bytes the parts of a workbook may inflate to, together.
pub const MAX_UNCOMPRESSED: u64 = 1 << 30;
/// Most cells a sheet may declare (rows × columns of its dimension).
pub const MAX_CELLS: u64 = 200_000_000;
/// Most cells a workbook read whole (`.xls`, `.ods`: calamine holds every
/// sheet as a grid) may make its reader hold: every sheet's grid, first to
/// last cell, repeats expanded, and what a sheet declares.
pub const MAX_LOADED_CELLS: u64 = 4_000_000;
/// Most bytes of text the cells of a workbook read whole may hold (a
/// shared or repeated string counted once per cell).
pub const MAX_LOADED_TEXT: u64 = 128 << 20;
/// Rows searched for the header.
pub const HEADER_SEARCH_ROWS: u32 = 20;

pub(super) fn refuse(name: &str, code: &'static str, message: String) -> IngestError {
    IngestError::Workbook {
        file: name.to_string(),
        code,
        message,
    }
}

/// Checks the archive's real uncompressed size without keeping it.
pub fn check_archive<R: Read + Seek>(reader: R, name: &str, max: u64) -> Result<R, IngestError> {
    check_zip(reader, name, max, "an XLSX workbook")
}

/// [`check_archive`] for a zip that should be `what`.
pub(super) fn check_zip<R: Read + Seek>(reader: R, name: &str, max: u64, what: &str) -> Result<R, IngestError> {
    let mut zip = ::zip::ZipArchive::new(reader)
        .map_err(|e| refuse(name, "invalid_workbook", format!("not {what} (zip): {e}")))?;
    let declared: u64 = (0..zip.len())
        .filter_map(|i| zip.by_index_raw(i).ok().map(|f| f.size()))
        .fold(0u64, u64::saturating_add);
    if declared > max {
        return Err(refuse(
            name,
            "workbook_too_large",
            format!("the workbook inflates to {declared} bytes, more than the {max} allowed"),
        ));
    }
    let mut total = 0u64;
    let mut buf = vec![0u8; 64 << 10];
    for i in 0..zip.len() {
        let mut part = zip
            .by_index(i)
            .map_err(|e| refuse(name, "invalid_workbook", format!("part {i} of the workbook: {e}")))?;
        loop {
            let n = part
                .read(&mut buf)
                .map_err(|e| refuse(name, "invalid_workbook", format!("part {i} of the workbook: {e}")))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > max {
                return Err(refuse(
                    name,
                    "workbook_too_large",
                    format!("the workbook inflates to more than the {max} bytes allowed (a zip bomb?)"),
                ));
            }
        }
    }
    Ok(zip.into_inner())
}

/// A cell's text as the filing columns take it.
fn cell_text(value: &impl DataType, column: Option<&str>) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    let text = if let Some(s) = value.get_string() {
        nfc(s.trim()).into_owned()
    } else if let Some(i) = value.get_int() {
        i.to_string()
    } else if let Some(f) = value.get_float() {
        if f.fract() == 0.0 && f.abs() < 1e16 {
            format!("{}", f as i64)
        } else {
            f.to_string()
        }
    } else if let Some(b) = value.get_bool() {
        b.to_string()
    } else if let Some(d) = value.get_datetime() {
        let (y, mo, da, h, mi, s, _) = d.to_ymd_hms_milli();
        match column {
            Some("period") => format!("{y:04}-{mo:02}"),
            Some("submitted_at") => format!("{y:04}-{mo:02}-{da:02}T{h:02}:{mi:02}:{s:02}+07:00"),
            _ if (h, mi, s) == (0, 0, 0) => format!("{y:04}-{mo:02}-{da:02}"),
            _ => format!("{y:04}-{mo:02}-{da:02}T{h:02}:{mi:02}:{s:02}"),
        }
    } else if let Some(s) = value.get_datetime_iso() {
        iso_text(s.trim(), column)
    } else if let Some(s) = value.get_duration_iso() {
        s.to_string()
    } else if let Some(e) = value.get_error() {
        format!("#{e:?}")
    } else {
        return None;
    };
    Some(text)
}

/// An ISO 8601 date or date-time cell's text: a period cell's month, a
/// submission without an offset in Asia/Ho_Chi_Minh, else as written.
fn iso_text(s: &str, column: Option<&str>) -> String {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let is_month = digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7);
    let is_date = is_month && b.get(7) == Some(&b'-') && digits(8..10);
    match column {
        Some("period") if is_month && (b.len() == 7 || b.get(7) == Some(&b'-')) => s[..7].to_string(),
        Some("submitted_at") if is_date && b.len() == 10 => format!("{s}T00:00:00+07:00"),
        Some("submitted_at")
            if is_date && b.get(10) == Some(&b'T') && !s[10..].contains(['Z', 'z', '+']) && !s[10..].contains('-') =>
        {
            format!("{s}+07:00")
        }
        _ => s.to_string(),
    }
}

/// The sheet to read: the one named, or the first.
pub(super) fn pick_sheet(names: &[String], sheet: Option<&str>, name: &str) -> Result<String, IngestError> {
    match sheet {
        Some(s) => names.iter().find(|n| n.as_str() == s).cloned().ok_or_else(|| {
            refuse(
                name,
                "unknown_sheet",
                format!("there is no sheet {s:?}; the workbook has {}", names.join(", ")),
            )
        }),
        None => names
            .first()
            .cloned()
            .ok_or_else(|| IngestError::Empty { file: name.to_string() }),
    }
}

/// Reads a whole input, refusing it (`workbook_too_large`) past `max` bytes.
pub(super) fn read_bounded(input: &mut impl Read, name: &str, max: u64) -> Result<Vec<u8>, IngestError> {
    let mut bytes = Vec::new();
    input
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| IngestError::Io {
            file: name.to_string(),
            source,
        })?;
    if bytes.len() as u64 > max {
        return Err(refuse(
            name,
            "workbook_too_large",
            format!("the workbook is larger than the {max} bytes allowed"),
        ));
    }
    Ok(bytes)
}

/// Runs a workbook reader's parsing, a panic in it (on a malformed file)
/// turned into the file's refusal.
pub(super) fn unpanicked<T>(name: &str, parse: impl FnOnce() -> T) -> Result<T, IngestError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)).map_err(|_| {
        refuse(
            name,
            "invalid_workbook",
            "the workbook cannot be read: its structure is malformed".to_string(),
        )
    })
}

/// Reads a sheet held as a grid (an XLS or ODS sheet) into chunks, as
/// [`read_xlsx`] reads a streamed one.
pub(super) fn read_grid(
    range: &Range<Data>,
    name: &str,
    chunk_records: usize,
    on_chunk: &mut dyn FnMut(DataFrame) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let mut rows = Rows {
        name,
        header: None,
        records: Vec::new(),
    };
    if let Some((first_row, first_col)) = range.start() {
        for (i, cells) in range.rows().enumerate() {
            let row = first_row + i as u32;
            let texts: Vec<(u32, String)> = cells
                .iter()
                .enumerate()
                .filter_map(|(j, value)| {
                    let col = first_col + j as u32;
                    cell_text(value, rows.column_at(col)).map(|t| (col, t))
                })
                .collect();
            if texts.is_empty() {
                continue;
            }
            if rows.records.len() >= chunk_records {
                on_chunk(chunk(&std::mem::take(&mut rows.records), name)?)?;
            }
            rows.row(row, texts)?;
        }
    }
    rows.finish(on_chunk)
}

/// Reads the workbook's sheet (the first, or `sheet`) into chunks.
pub fn read_xlsx(
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
    let cursor = check_archive(std::io::Cursor::new(bytes), name, MAX_UNCOMPRESSED)?;
    let mut workbook: Xlsx<_> =
        Xlsx::new(cursor).map_err(|e| refuse(name, "invalid_workbook", format!("the workbook cannot be read: {e}")))?;
    let sheet_name = pick_sheet(&workbook.sheet_names(), sheet, name)?;
    let mut cells = workbook
        .worksheet_cells_reader(&sheet_name)
        .map_err(|e| refuse(name, "invalid_workbook", format!("sheet {sheet_name:?}: {e}")))?;
    let dim = cells.dimensions();
    let declared =
        (u64::from(dim.end.0.saturating_sub(dim.start.0)) + 1) * (u64::from(dim.end.1.saturating_sub(dim.start.1)) + 1);
    if declared > MAX_CELLS {
        return Err(refuse(
            name,
            "sheet_too_large",
            format!("sheet {sheet_name:?} declares {declared} cells, more than the {MAX_CELLS} allowed"),
        ));
    }

    // Rows arrive in order; gather one at a time.
    let mut rows = Rows {
        name,
        header: None,
        records: Vec::new(),
    };
    let mut current_row: Option<u32> = None;
    let mut row_cells: Vec<(u32, String)> = Vec::new();
    loop {
        let next = cells
            .next_cell()
            .map_err(|e| refuse(name, "invalid_workbook", format!("sheet {sheet_name:?}: {e}")))?;
        let Some(cell) = next else { break };
        let (row, col) = cell.get_position();
        if current_row != Some(row) {
            if let Some(r) = current_row {
                rows.row(r, std::mem::take(&mut row_cells))?;
            }
            current_row = Some(row);
            if rows.records.len() >= chunk_records {
                on_chunk(chunk(&std::mem::take(&mut rows.records), name)?)?;
            }
        }
        let column = rows.column_at(col);
        if let Some(text) = cell_text(cell.get_value(), column) {
            row_cells.push((col, text));
        }
    }
    if let Some(r) = current_row {
        rows.row(r, row_cells)?;
    }
    rows.finish(on_chunk)
}

type Record = (u64, [Option<String>; COLUMNS.len()]);

/// The rows read so far: the header once found, then the records.
struct Rows<'a> {
    name: &'a str,
    /// The header's row and where each filing column sits.
    header: Option<(u32, Vec<Option<usize>>)>,
    records: Vec<Record>,
}

impl Rows<'_> {
    fn column_at(&self, col: u32) -> Option<&'static str> {
        let (_, positions) = self.header.as_ref()?;
        positions
            .iter()
            .position(|p| *p == Some(col as usize))
            .map(|c| COLUMNS[c])
    }

    fn row(&mut self, row: u32, cells: Vec<(u32, String)>) -> Result<(), IngestError> {
        let name = self.name;
        match &self.header {
            None => {
                let mut positions: Vec<Option<usize>> = vec![None; COLUMNS.len()];
                for (col, text) in &cells {
                    if let Some(c) = column_of(text).and_then(|n| COLUMNS.iter().position(|&x| x == n)) {
                        if positions[c].is_some() {
                            return Err(IngestError::DuplicateColumn {
                                file: name.to_string(),
                                column: COLUMNS[c].to_string(),
                            });
                        }
                        positions[c] = Some(*col as usize);
                    }
                }
                let complete = REQUIRED.iter().all(|r| {
                    COLUMNS
                        .iter()
                        .position(|c| c == r)
                        .is_some_and(|i| positions[i].is_some())
                });
                if complete {
                    self.header = Some((row, positions));
                } else if row + 1 >= HEADER_SEARCH_ROWS {
                    return Err(IngestError::MissingColumns {
                        file: name.to_string(),
                        columns: REQUIRED.iter().map(|s| s.to_string()).collect(),
                    });
                }
            }
            Some((header_row, positions)) => {
                let mut record: [Option<String>; COLUMNS.len()] = Default::default();
                for (col, text) in cells {
                    if let Some(c) = positions.iter().position(|p| *p == Some(col as usize)) {
                        record[c] = Some(text);
                    }
                }
                // A record is numbered by its row below the header, so that
                // row = header row + record in the sheet; empty rows are skipped.
                if record.iter().any(Option::is_some) {
                    self.records.push((u64::from(row - header_row), record));
                }
            }
        }
        Ok(())
    }

    /// The last chunk; a sheet without a header is missing every column.
    fn finish(self, on_chunk: &mut dyn FnMut(DataFrame) -> Result<(), IngestError>) -> Result<(), IngestError> {
        if self.header.is_none() {
            return Err(IngestError::MissingColumns {
                file: self.name.to_string(),
                columns: REQUIRED.iter().map(|s| s.to_string()).collect(),
            });
        }
        if !self.records.is_empty() {
            on_chunk(chunk(&self.records, self.name)?)?;
        }
        Ok(())
    }
}

fn chunk(records: &[Record], name: &str) -> Result<DataFrame, IngestError> {
    let n = records.len();
    let mut columns: Vec<Column> = Vec::with_capacity(COLUMNS.len() + 2);
    columns.push(Int64Chunked::from_iter_values("record".into(), records.iter().map(|(r, _)| *r as i64)).into_column());
    columns.push(StringChunked::from_iter_options("malformed".into(), (0..n).map(|_| None::<&str>)).into_column());
    for (c, &col) in COLUMNS.iter().enumerate() {
        columns.push(
            StringChunked::from_iter_options(col.into(), records.iter().map(|(_, r)| r[c].as_deref())).into_column(),
        );
    }
    DataFrame::new(n, columns).map_err(|e| IngestError::Columns {
        file: name.to_string(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archive_inflating_past_the_limit_is_refused() {
        use std::io::Write;
        let mut out = std::io::Cursor::new(Vec::new());
        {
            let mut zip = ::zip::ZipWriter::new(&mut out);
            let options =
                ::zip::write::SimpleFileOptions::default().compression_method(::zip::CompressionMethod::Deflated);
            zip.start_file("xl/sharedStrings.xml", options).unwrap();
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..8 {
                zip.write_all(&zeros).unwrap();
            }
            zip.finish().unwrap();
        }
        let bytes = out.into_inner();
        assert!(
            bytes.len() < 64 << 10,
            "8 MiB of zeros compress to {} bytes",
            bytes.len()
        );
        let e = check_archive(std::io::Cursor::new(bytes.clone()), "bomb.xlsx", 1 << 20).unwrap_err();
        assert_eq!(e.code(), "workbook_too_large");
        assert!(check_archive(std::io::Cursor::new(bytes), "ok.xlsx", 16 << 20).is_ok());
        let e = check_archive(std::io::Cursor::new(b"not a zip".to_vec()), "x.xlsx", 1 << 20).unwrap_err();
        assert_eq!(e.code(), "invalid_workbook");
    }
}
