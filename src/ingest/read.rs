//! Reading a filing file into chunks of string columns.
//!
//! Every chunk is a DataFrame with `record` (1-based data record index),
//! `malformed` (why the record cannot be split into the header's fields, or
//! null) and one nullable string column per known filing column, values
//! trimmed of surrounding white space. A column the file does not have is all
//! null. Unknown columns are dropped here.

use super::text::nfc;
use super::{COLUMNS, IngestError, REQUIRED};
use crate::util::csv::{self, Records, Step};
use polars::prelude::*;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::io::Read;

/// Records per chunk: bounds memory whatever the file's size.
pub const CHUNK_RECORDS: usize = 1 << 18;
/// A delimited file's first chunk; each next one is twice as large, up to
/// `CHUNK_RECORDS`, so that validation starts soon after reading does (a
/// month's file of 300k records was one and a bit chunks, read then
/// validated with little overlap).
const FIRST_CHUNK_RECORDS: usize = 1 << 14;
const BLOCK: usize = 8 << 20;

/// A filing file's format: how its records are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Delimited text, the separator detected from the header line.
    Csv,
    /// Tab-separated text (`.tsv`, `text/tab-separated-values`).
    Tsv,
    /// Plain text (`.txt`, `text/plain`): read as Excel's "Unicode text",
    /// tab-separated (UTF-16 with its byte order mark, or UTF-8).
    Text,
    Json,
    /// An Excel workbook (Office Open XML).
    Xlsx,
    /// A legacy Excel 97–2003 workbook (BIFF in an OLE2 compound file).
    Xls,
    /// An OpenDocument spreadsheet.
    Ods,
}

/// The media type of an Excel workbook.
pub const XLSX_MEDIA_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// The media type of a legacy Excel 97–2003 workbook.
pub const XLS_MEDIA_TYPE: &str = "application/vnd.ms-excel";
/// The media type of an OpenDocument spreadsheet.
pub const ODS_MEDIA_TYPE: &str = "application/vnd.oasis.opendocument.spreadsheet";
/// The media type of tab-separated text.
pub const TSV_MEDIA_TYPE: &str = "text/tab-separated-values";
/// The media type that declares no format: it is decided from the content
/// (and the file name).
pub const ANY_MEDIA_TYPE: &str = "application/octet-stream";

impl Format {
    /// Every format, in the order they are listed to people.
    pub const ALL: [Format; 7] = [
        Self::Csv,
        Self::Tsv,
        Self::Text,
        Self::Json,
        Self::Xlsx,
        Self::Xls,
        Self::Ods,
    ];

    /// From a file name's extension.
    pub fn from_path(path: &str) -> Option<Self> {
        let lower = path.to_ascii_lowercase();
        Self::ALL.into_iter().find(|f| lower.ends_with(f.extension()))
    }

    /// From an HTTP Content-Type (its parameters ignored). `None` for a
    /// media type naming no filing format, [`ANY_MEDIA_TYPE`] included (see
    /// [`Format::is_undeclared`]).
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "text/csv" | "application/csv" => Some(Self::Csv),
            TSV_MEDIA_TYPE => Some(Self::Tsv),
            "text/plain" => Some(Self::Text),
            "application/json" => Some(Self::Json),
            XLSX_MEDIA_TYPE => Some(Self::Xlsx),
            XLS_MEDIA_TYPE => Some(Self::Xls),
            ODS_MEDIA_TYPE => Some(Self::Ods),
            _ => None,
        }
    }

    /// Whether a Content-Type declares no format ([`ANY_MEDIA_TYPE`]): the
    /// format is then decided from the name and the content.
    pub fn is_undeclared(ct: &str) -> bool {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case(ANY_MEDIA_TYPE)
    }

    /// The file name extension that declares it (with its dot).
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => ".csv",
            Self::Tsv => ".tsv",
            Self::Text => ".txt",
            Self::Json => ".json",
            Self::Xlsx => ".xlsx",
            Self::Xls => ".xls",
            Self::Ods => ".ods",
        }
    }

    /// The media type that declares it.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv",
            Self::Tsv => TSV_MEDIA_TYPE,
            Self::Text => "text/plain",
            Self::Json => "application/json",
            Self::Xlsx => XLSX_MEDIA_TYPE,
            Self::Xls => XLS_MEDIA_TYPE,
            Self::Ods => ODS_MEDIA_TYPE,
        }
    }

    /// Its name in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Csv => "CSV text",
            Self::Tsv => "tab-separated text",
            Self::Text => "plain text (read as Excel's tab-separated \"Unicode text\")",
            Self::Json => "JSON",
            Self::Xlsx => "an Excel workbook (.xlsx)",
            Self::Xls => "an Excel 97-2003 workbook (.xls)",
            Self::Ods => "an OpenDocument spreadsheet (.ods)",
        }
    }
}

type OnChunk<'a> = dyn FnMut(DataFrame) -> Result<(), IngestError> + 'a;

/// Reads a file into chunks: delimited text and JSON decoded to UTF-8 from
/// the declared (or recognised) encoding, a workbook as it is (its text is
/// Unicode, or in the code page it declares).
pub fn read_chunks(
    input: &mut impl Read,
    format: Format,
    name: &str,
    options: &super::InputOptions,
    on_chunk: &mut OnChunk<'_>,
) -> Result<(), IngestError> {
    let decoded = |input| super::text::Utf8Reader::new(input, options.encoding);
    match format {
        Format::Csv => read_csv(&mut decoded(input), name, options.delimiter, on_chunk),
        // Tab-separated unless the upload declares another separator.
        Format::Tsv | Format::Text => read_csv(
            &mut decoded(input),
            name,
            Some(options.delimiter.unwrap_or(b'\t')),
            on_chunk,
        ),
        Format::Json => read_json(&mut decoded(input), name, on_chunk),
        Format::Xlsx => super::workbook::read_xlsx(input, name, options.sheet.as_deref(), CHUNK_RECORDS, on_chunk),
        Format::Xls => super::xls::read_xls(input, name, options.sheet.as_deref(), CHUNK_RECORDS, on_chunk),
        Format::Ods => super::ods::read_ods(input, name, options.sheet.as_deref(), CHUNK_RECORDS, on_chunk),
    }
}

fn io_err(name: &str) -> impl Fn(std::io::Error) -> IngestError + '_ {
    move |source| match source.kind() {
        // The decoder's refusal of a malformed byte sequence.
        std::io::ErrorKind::InvalidData => IngestError::Encoding {
            file: name.to_string(),
            message: source.to_string(),
        },
        _ => IngestError::Io {
            file: name.to_string(),
            source,
        },
    }
}

/// Where each known column sits in the file's header.
struct Header {
    positions: [Option<usize>; COLUMNS.len()],
    width: usize,
}

fn parse_header(records: &Records, name: &str) -> Result<Header, IngestError> {
    let width = records.field_count(0);
    let mut positions = [None; COLUMNS.len()];
    for k in 0..width {
        let raw = records.field(0, k).unwrap_or_default();
        let text = std::str::from_utf8(raw).map_err(|_| IngestError::NotUtf8 {
            file: name.to_string(),
            record: 0,
        })?;
        if let Some(c) = super::text::column_of(text).and_then(|name| COLUMNS.iter().position(|&c| c == name)) {
            if positions[c].is_some() {
                return Err(IngestError::DuplicateColumn {
                    file: name.to_string(),
                    column: COLUMNS[c].to_string(),
                });
            }
            positions[c] = Some(k);
        }
    }
    // With a commune column, filings may name their commune instead of
    // their district (from the 2025 reform on).
    let has_commune = COLUMNS
        .iter()
        .position(|&c| c == super::COMMUNE_CODE)
        .is_some_and(|c| positions[c].is_some());
    let missing: Vec<String> = REQUIRED
        .iter()
        .enumerate()
        .filter(|(c, name)| positions[*c].is_none() && !(has_commune && **name == super::DISTRICT_CODE))
        .map(|(_, n)| n.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(IngestError::MissingColumns {
            file: name.to_string(),
            columns: missing,
        });
    }
    Ok(Header { positions, width })
}

fn read_csv(
    input: &mut impl Read,
    name: &str,
    declared: Option<u8>,
    on_chunk: &mut OnChunk<'_>,
) -> Result<(), IngestError> {
    let mut delimiter = declared.unwrap_or(b',');
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK);
    let mut pos = 0usize;
    let mut eof = false;
    let mut started = false;
    let mut header: Option<Header> = None;
    let mut records = Records::new();
    let mut first_record: u64 = 1;
    let mut chunk = FIRST_CHUNK_RECORDS;
    loop {
        if !eof && buf.len() - pos < BLOCK / 2 {
            buf.drain(..pos);
            pos = 0;
            eof = fill(input, &mut buf, name)?;
        }
        if !started {
            // A UTF-8 byte order mark may open the file.
            if buf.len() >= 3 || eof {
                let stripped = buf.len() - csv::strip_bom(&buf).len();
                pos += stripped;
                started = true;
                if declared.is_none() {
                    delimiter = csv::detect_delimiter(&buf[pos..]);
                }
            } else {
                continue;
            }
        }
        match csv::read_record_with(&buf, pos, eof, delimiter, &mut records) {
            Step::Advanced(next) => {
                pos = next;
                if header.is_none() && records.len() == 1 {
                    header = Some(parse_header(&records, name)?);
                    records.clear();
                } else if records.len() == chunk {
                    let h = header.as_ref().expect("header read first");
                    on_chunk(csv_chunk(&records, h, first_record, name)?)?;
                    first_record += records.len() as u64;
                    records.clear();
                    chunk = (chunk * 2).min(CHUNK_RECORDS);
                }
            }
            Step::NeedMore => {
                buf.drain(..pos);
                pos = 0;
                eof = fill(input, &mut buf, name)?;
            }
            Step::End => {
                if !eof {
                    buf.drain(..pos);
                    pos = 0;
                    eof = fill(input, &mut buf, name)?;
                    continue;
                }
                break;
            }
        }
    }
    let Some(h) = header else {
        return Err(IngestError::Empty { file: name.to_string() });
    };
    if !records.is_empty() {
        on_chunk(csv_chunk(&records, &h, first_record, name)?)?;
    }
    Ok(())
}

/// Appends up to one block; returns true at the end of input.
fn fill(input: &mut impl Read, buf: &mut Vec<u8>, name: &str) -> Result<bool, IngestError> {
    let start = buf.len();
    buf.resize(start + BLOCK, 0);
    let mut filled = start;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(name)(e)),
        }
    }
    let eof = filled < buf.len();
    buf.truncate(filled);
    Ok(eof)
}

fn csv_chunk(records: &Records, header: &Header, first_record: u64, name: &str) -> Result<DataFrame, IngestError> {
    let n = records.len();
    let not_utf8 = |r: usize| IngestError::NotUtf8 {
        file: name.to_string(),
        record: first_record + r as u64,
    };
    let mut columns: Vec<Column> = Vec::with_capacity(COLUMNS.len() + 2);
    columns.push(
        Int64Chunked::from_iter_values("record".into(), (0..n).map(|r| (first_record + r as u64) as i64)).into_column(),
    );
    let malformed = (0..n).map(|r| {
        if records.is_malformed(r) {
            Some("a quoted field is not closed, or text follows its closing quote".to_string())
        } else if records.field_count(r) != header.width {
            Some(format!(
                "the record has {} fields, the header has {}",
                records.field_count(r),
                header.width
            ))
        } else {
            None
        }
    });
    columns.push(StringChunked::from_iter_options("malformed".into(), malformed).into_column());
    for (c, &col_name) in COLUMNS.iter().enumerate() {
        let mut values: Vec<Option<std::borrow::Cow<'_, str>>> = Vec::with_capacity(n);
        for r in 0..n {
            let v = match header.positions[c] {
                Some(k) => match records.field(r, k) {
                    Some(bytes) => Some(nfc(std::str::from_utf8(bytes).map_err(|_| not_utf8(r))?.trim())),
                    None => None,
                },
                None => None,
            };
            values.push(v);
        }
        columns
            .push(StringChunked::from_iter_options(col_name.into(), values.iter().map(|v| v.as_deref())).into_column());
    }
    DataFrame::new(n, columns).map_err(|e| IngestError::Columns {
        file: name.to_string(),
        message: e.to_string(),
    })
}

fn read_json(input: &mut impl Read, name: &str, on_chunk: &mut OnChunk<'_>) -> Result<(), IngestError> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).map_err(io_err(name))?;
    let text = std::str::from_utf8(csv::strip_bom(&bytes)).map_err(|_| IngestError::NotUtf8 {
        file: name.to_string(),
        record: 0,
    })?;
    let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| IngestError::InvalidJson {
        file: name.to_string(),
        message: e.to_string(),
    })?;
    for (chunk_no, chunk) in items.chunks(CHUNK_RECORDS).enumerate() {
        let first = (chunk_no * CHUNK_RECORDS) as u64 + 1;
        on_chunk(json_chunk(chunk, first, name)?)?;
    }
    Ok(())
}

fn json_chunk(items: &[&RawValue], first_record: u64, name: &str) -> Result<DataFrame, IngestError> {
    let n = items.len();
    let mut malformed: Vec<Option<String>> = vec![None; n];
    let mut values: Vec<Vec<Option<String>>> = vec![vec![None; n]; COLUMNS.len()];
    for (r, item) in items.iter().enumerate() {
        let Ok(object) = serde_json::from_str::<HashMap<String, &RawValue>>(item.get()) else {
            malformed[r] = Some("the record is not a JSON object".into());
            continue;
        };
        // Keys are matched like CSV headers (the contract's names or their
        // Vietnamese aliases); a column given twice makes the record malformed.
        let mut fields: [Option<&RawValue>; COLUMNS.len()] = [None; COLUMNS.len()];
        for (key, raw) in &object {
            if let Some(c) = super::text::column_of(key).and_then(|n| COLUMNS.iter().position(|&x| x == n)) {
                if fields[c].is_some() {
                    malformed[r] = Some(format!("{} is given twice", COLUMNS[c]));
                }
                fields[c] = Some(raw);
            }
        }
        for (c, &col) in COLUMNS.iter().enumerate() {
            let Some(raw) = fields[c] else { continue };
            let text = raw.get();
            if text == "null" {
                continue;
            }
            if text.starts_with('"') {
                match serde_json::from_str::<String>(text) {
                    Ok(s) => values[c][r] = Some(nfc(s.trim()).into_owned()),
                    Err(_) => malformed[r] = Some(format!("{col} is not a valid JSON string")),
                }
            } else if text.starts_with(|ch: char| ch == '-' || ch.is_ascii_digit()) {
                // A JSON number: keep its text exactly as written.
                values[c][r] = Some(text.to_string());
            } else {
                malformed[r] = Some(format!("{col} must be a string or a number"));
            }
        }
    }
    let mut columns: Vec<Column> = Vec::with_capacity(COLUMNS.len() + 2);
    columns.push(
        Int64Chunked::from_iter_values("record".into(), (0..n).map(|r| (first_record + r as u64) as i64)).into_column(),
    );
    columns.push(StringChunked::from_iter_options("malformed".into(), malformed.into_iter()).into_column());
    for (c, &col) in COLUMNS.iter().enumerate() {
        columns
            .push(StringChunked::from_iter_options(col.into(), values[c].iter().map(|v| v.as_deref())).into_column());
    }
    DataFrame::new(n, columns).map_err(|e| IngestError::Columns {
        file: name.to_string(),
        message: e.to_string(),
    })
}
