//! Which format a filing file is in: told from its first bytes, and held
//! against the format its name and its media type declare.
//!
//! The content speaks first. A zip archive is an XLSX workbook or an
//! OpenDocument spreadsheet, told apart by its first entries (ODF's stored
//! `mimetype`, OOXML's `[Content_Types].xml` and `xl/` parts); an OLE2
//! compound file is an Excel 97–2003 workbook; text (UTF-16 by its byte
//! order mark) opening with `[` or `{` is JSON, other text is delimited,
//! tab-separated when its first line's separator is the tab. A PDF, an
//! image or another archive is no filing at all.
//!
//! A declared format must agree with that: a workbook named `.csv`, text
//! named `.xls`, a `.tsv` without a tab is refused (`format_mismatch`)
//! rather than read as what it is not; so are a name and a media type that
//! declare two different formats. Plain text (`.txt`, `text/plain`) is read
//! as Excel's "Unicode text", tab-separated; plain text that is not is
//! `unsupported_format`. With nothing declared (no known extension,
//! `application/octet-stream`) the content decides. What the content cannot
//! tell (no bytes, a zip whose first entries say nothing) is left to the
//! declared format's reader, which refuses it with that format's codes.

use super::text::Encoding;
use super::{Format, IngestError, InputOptions};
use std::borrow::Cow;

/// How many first bytes of a file the decision reads.
pub const HEAD_BYTES: usize = 64 << 10;

/// What the first bytes of a file show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Nothing to tell from: no bytes, or only a byte order mark and white
    /// space.
    Blank,
    /// Delimited text: `tab` when its first line holds a tab (outside quotes),
    /// `tab_separated` when the tab is the separator detected there.
    Delimited { tab: bool, tab_separated: bool },
    /// Text opening with `[` or `{`.
    Json,
    /// A zip archive.
    Zip(ZipKind),
    /// An OLE2 compound file: an Excel 97–2003 workbook (or another Office
    /// 97 document, or an encrypted workbook).
    Compound,
    /// A file that is no filing (what it is).
    Other(&'static str),
}

/// What a zip archive's first entries say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZipKind {
    /// An Office Open XML workbook (`xl/` parts).
    Xlsx,
    /// Office Open XML (`[Content_Types].xml`), its kind not yet seen.
    Ooxml,
    /// An OpenDocument spreadsheet (its stored `mimetype`).
    Ods,
    /// Nothing seen in the first bytes tells.
    Unknown,
    /// Another document (what it is).
    Other(&'static str),
}

const ODS_MIMETYPE: &[u8] = b"application/vnd.oasis.opendocument.spreadsheet";
const OLE2: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
const NOT_FILINGS: [(&[u8], &str); 8] = [
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xFF\xD8\xFF", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x1F\x8B", "a gzip archive"),
    (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
    (b"Rar!\x1A\x07", "a RAR archive"),
];

impl Content {
    /// What `head` (the first [`HEAD_BYTES`] of a file, or all of it)
    /// shows; text is decoded as the reader would (`encoding` declared, or
    /// UTF-16 by its byte order mark).
    pub fn of(head: &[u8], encoding: Encoding) -> Self {
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            return Self::Zip(zip_kind(head));
        }
        if head.starts_with(OLE2) {
            return Self::Compound;
        }
        if let Some((_, what)) = NOT_FILINGS.iter().find(|(magic, _)| head.starts_with(magic)) {
            return Self::Other(what);
        }
        let text = head_text(head, encoding);
        let text = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        match text.chars().next() {
            None => Self::Blank,
            Some('[' | '{') => Self::Json,
            Some('<') => Self::Other("an HTML or XML document"),
            Some(_) => {
                let line = first_line(text);
                Self::Delimited {
                    tab: unquoted(line).any(|c| c == '\t'),
                    tab_separated: crate::util::csv::detect_delimiter(line.as_bytes()) == b'\t',
                }
            }
        }
    }

    /// The format the content alone decides; `Err` says what the file is
    /// when it is no filing.
    pub fn format(self) -> Result<Format, &'static str> {
        match self {
            Self::Blank => Ok(Format::Csv),
            Self::Delimited {
                tab_separated: true, ..
            } => Ok(Format::Tsv),
            Self::Delimited { .. } => Ok(Format::Csv),
            Self::Json => Ok(Format::Json),
            Self::Zip(ZipKind::Xlsx | ZipKind::Ooxml | ZipKind::Unknown) => Ok(Format::Xlsx),
            Self::Zip(ZipKind::Ods) => Ok(Format::Ods),
            Self::Compound => Ok(Format::Xls),
            Self::Zip(ZipKind::Other(what)) | Self::Other(what) => Err(what),
        }
    }

    /// What it is, in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Blank => "empty",
            Self::Delimited {
                tab_separated: true, ..
            } => "tab-separated text",
            Self::Delimited { .. } => "delimited text (CSV)",
            Self::Json => "JSON",
            Self::Zip(ZipKind::Xlsx | ZipKind::Ooxml) => "an Excel workbook (.xlsx)",
            Self::Zip(ZipKind::Ods) => "an OpenDocument spreadsheet (.ods)",
            Self::Zip(ZipKind::Unknown) => "a zip archive",
            Self::Compound => "an OLE2 compound file (an Excel 97-2003 workbook, .xls, or a password-protected one)",
            Self::Zip(ZipKind::Other(what)) | Self::Other(what) => what,
        }
    }
}

/// Decides the format of the file `name`, of which `head` is the first
/// [`HEAD_BYTES`] (or all), from its content, its name's extension and
/// `declared` (the format its media type declares; `None` when it declares
/// none). `options` gives the declared encoding and delimiter. Refused:
/// `format_mismatch` when a declaration and the content (or two
/// declarations) disagree, `unsupported_format` when the file is no filing.
pub fn decide(
    name: &str,
    declared: Option<Format>,
    head: &[u8],
    options: &InputOptions,
) -> Result<Format, IngestError> {
    let content = Content::of(head, options.encoding);
    let by_name = Format::from_path(name);
    let mismatch = |message: String| IngestError::FormatMismatch {
        file: name.to_string(),
        message,
    };
    let unsupported = |message: String| IngestError::UnsupportedFormat {
        file: name.to_string(),
        message,
    };
    let (format, by) = match (declared, by_name) {
        (Some(d), Some(n)) if family(d) != family(n) => {
            return Err(mismatch(format!(
                "its media type declares {} ({}) and its name {} ({})",
                d.describe(),
                d.media_type(),
                n.describe(),
                n.extension()
            )));
        }
        (Some(d), _) => (d, "its media type"),
        (None, Some(n)) => (n, "its name"),
        (None, None) => {
            return content
                .format()
                .map_err(|what| unsupported(format!("{what} is not a filing file")));
        }
    };
    let tab_or_declared = |tab: bool| tab || options.delimiter.is_some();
    match (format, content) {
        (_, Content::Blank)
        | (Format::Csv, Content::Delimited { .. })
        | (Format::Json, Content::Json)
        | (Format::Xlsx, Content::Zip(ZipKind::Xlsx | ZipKind::Ooxml | ZipKind::Unknown))
        | (Format::Ods, Content::Zip(ZipKind::Ods | ZipKind::Unknown))
        | (Format::Xls, Content::Compound) => Ok(format),
        // Text that is not JSON is the JSON reader's to refuse (`invalid_json`).
        (Format::Json, Content::Delimited { .. }) => Ok(format),
        (Format::Tsv | Format::Text, Content::Delimited { tab, .. }) if tab_or_declared(tab) => Ok(format),
        (Format::Text, Content::Delimited { .. }) => Err(unsupported(format!(
            "{by} declares plain text, which is read as Excel's tab-separated \"Unicode text\", \
             and its first line has no tab; send CSV as .csv or text/csv, or declare its delimiter"
        ))),
        (Format::Tsv, Content::Delimited { .. }) => Err(mismatch(format!(
            "{by} declares tab-separated text, but its first line has no tab; \
             send CSV as .csv or text/csv, or declare its delimiter"
        ))),
        (format, content) => Err(mismatch(format!(
            "{by} declares {}, but its content is {}; rename the file or declare its type",
            format.describe(),
            content.describe()
        ))),
    }
}

/// Formats read alike: a name `.txt` and a media type `text/csv` agree.
fn family(format: Format) -> Format {
    match format {
        Format::Tsv | Format::Text => Format::Csv,
        other => other,
    }
}

/// The head decoded as the text reader would: UTF-16 by its byte order mark
/// (or as declared), Windows-1258 when declared, else UTF-8 (lossily: a
/// byte sequence cut at the head's end, or invalid, is the reader's to
/// report).
fn head_text(head: &[u8], encoding: Encoding) -> Cow<'_, str> {
    let (decoder, skip) = match (encoding, head) {
        (Encoding::Auto, [0xFF, 0xFE, ..]) => (encoding_rs::UTF_16LE, 2),
        (Encoding::Auto, [0xFE, 0xFF, ..]) => (encoding_rs::UTF_16BE, 2),
        (Encoding::Utf16Le, [0xFF, 0xFE, ..]) => (encoding_rs::UTF_16LE, 2),
        (Encoding::Utf16Le, _) => (encoding_rs::UTF_16LE, 0),
        (Encoding::Utf16Be, [0xFE, 0xFF, ..]) => (encoding_rs::UTF_16BE, 2),
        (Encoding::Utf16Be, _) => (encoding_rs::UTF_16BE, 0),
        (Encoding::Windows1258, _) => (encoding_rs::WINDOWS_1258, 0),
        (Encoding::Auto | Encoding::Utf8, _) => (encoding_rs::UTF_8, 0),
    };
    decoder.decode_without_bom_handling(&head[skip..]).0
}

/// The text up to its first line break outside quotes (all of it when
/// there is none).
fn first_line(text: &str) -> &str {
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '\n' | '\r' if !quoted => return &text[..i],
            _ => {}
        }
    }
    text
}

/// The characters of `line` outside double quotes.
fn unquoted(line: &str) -> impl Iterator<Item = char> + '_ {
    let mut quoted = false;
    line.chars().filter(move |&c| {
        if c == '"' {
            quoted = !quoted;
        }
        !quoted && c != '"'
    })
}

/// What a zip archive is, from the local file headers in `head`: ODF
/// stores its `mimetype` first and uncompressed; OOXML names
/// `[Content_Types].xml` and its parts (`xl/`, `word/`, `ppt/`).
fn zip_kind(head: &[u8]) -> ZipKind {
    let u16_at = |at: usize| u16::from_le_bytes([head[at], head[at + 1]]) as usize;
    let u32_at = |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]) as usize;
    let mut pos = 0usize;
    let mut ooxml = false;
    for entry in 0..64 {
        if head.len() < pos + 30 || &head[pos..pos + 4] != b"PK\x03\x04" {
            break;
        }
        let (flags, method, size) = (u16_at(pos + 6), u16_at(pos + 8), u32_at(pos + 18));
        let (name_len, extra_len) = (u16_at(pos + 26), u16_at(pos + 28));
        let Some(name) = head.get(pos + 30..pos + 30 + name_len) else {
            break;
        };
        let data = pos + 30 + name_len + extra_len;
        if entry == 0 && name == b"mimetype" && method == 0 {
            return match head.get(data..data + size) {
                Some(ODS_MIMETYPE) => ZipKind::Ods,
                Some(m) if m.starts_with(b"application/vnd.oasis.opendocument.") => {
                    ZipKind::Other("an OpenDocument file that is not a spreadsheet")
                }
                _ => ZipKind::Unknown,
            };
        }
        if name.starts_with(b"xl/") {
            return ZipKind::Xlsx;
        }
        if name.starts_with(b"word/") {
            return ZipKind::Other("a Word document (.docx)");
        }
        if name.starts_with(b"ppt/") {
            return ZipKind::Other("a PowerPoint presentation (.pptx)");
        }
        ooxml |= name == b"[Content_Types].xml";
        // With a data descriptor the size is not known before the data.
        if flags & 0x08 != 0 || size == 0xFFFF_FFFF {
            break;
        }
        pos = data.saturating_add(size);
    }
    if ooxml { ZipKind::Ooxml } else { ZipKind::Unknown }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
        use std::io::Write;
        let mut out = std::io::Cursor::new(Vec::new());
        let mut zip = ::zip::ZipWriter::new(&mut out);
        for (name, data, stored) in entries {
            let method = if *stored {
                ::zip::CompressionMethod::Stored
            } else {
                ::zip::CompressionMethod::Deflated
            };
            let options = ::zip::write::SimpleFileOptions::default().compression_method(method);
            zip.start_file(*name, options).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    fn utf16le(text: &str) -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        bytes
    }

    fn content(bytes: &[u8]) -> Content {
        Content::of(bytes, Encoding::Auto)
    }

    fn decided(name: &str, declared: Option<Format>, bytes: &[u8]) -> Result<Format, &'static str> {
        decide(name, declared, bytes, &InputOptions::default()).map_err(|e| e.code())
    }

    const CSV: &[u8] = b"unit_id,district_code,period\n2801079196,380,2025-01\n";
    const TSV: &[u8] = b"unit_id\tdistrict_code\tperiod\n2801079196\t380\t2025-01\n";

    #[test]
    fn text_is_told_by_its_first_character_and_its_first_line() {
        assert_eq!(content(b""), Content::Blank);
        assert_eq!(content(b"\xEF\xBB\xBF \r\n"), Content::Blank);
        assert_eq!(content(b" [{\"unit_id\": 1}]"), Content::Json);
        assert_eq!(content(b"\xEF\xBB\xBF{}"), Content::Json);
        assert_eq!(content(CSV).format(), Ok(Format::Csv));
        assert_eq!(content(TSV).format(), Ok(Format::Tsv));
        // Excel's "Unicode text": UTF-16LE with its byte order mark, tabs.
        let unicode_text = utf16le("Mã số thuế\tMã quận, huyện\tKỳ báo cáo\r\n2801079196\t380\t2025-01\r\n");
        assert_eq!(
            content(&unicode_text),
            Content::Delimited {
                tab: true,
                tab_separated: true
            }
        );
        assert_eq!(content(&utf16le("[]")), Content::Json);
        // A tab inside a quoted header name, or after the first line, does not count.
        assert_eq!(
            content(b"\"a\tb\",c,d\nx\ty\n"),
            Content::Delimited {
                tab: false,
                tab_separated: false
            }
        );
        // Declared UTF-16 without its byte order mark is decoded as declared.
        let bare: Vec<u8> = "a\tb\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(Content::of(&bare, Encoding::Utf16Le).format(), Ok(Format::Tsv));
        assert_eq!(content(b"<html><table>").format(), Err("an HTML or XML document"));
        assert_eq!(content(b"%PDF-1.7\n").format(), Err("a PDF document"));
    }

    #[test]
    fn zips_are_told_apart_by_their_first_entries() {
        let ods = zip(&[
            ("mimetype", ODS_MIMETYPE, true),
            ("content.xml", b"<office:document-content/>", false),
        ]);
        assert_eq!(content(&ods), Content::Zip(ZipKind::Ods));
        let odt = zip(&[("mimetype", b"application/vnd.oasis.opendocument.text", true)]);
        assert!(matches!(content(&odt), Content::Zip(ZipKind::Other(_))));
        let xlsx = zip(&[
            ("[Content_Types].xml", b"<Types/>", false),
            ("_rels/.rels", b"<Relationships/>", false),
            ("xl/workbook.xml", b"<workbook/>", false),
        ]);
        assert_eq!(content(&xlsx), Content::Zip(ZipKind::Xlsx));
        let only_types = zip(&[("[Content_Types].xml", b"<Types/>", false)]);
        assert_eq!(content(&only_types), Content::Zip(ZipKind::Ooxml));
        let docx = zip(&[
            ("[Content_Types].xml", b"<Types/>", false),
            ("word/document.xml", b"<document/>", false),
        ]);
        assert_eq!(content(&docx).format(), Err("a Word document (.docx)"));
        let other = zip(&[("notes.txt", b"hello", false)]);
        assert_eq!(content(&other), Content::Zip(ZipKind::Unknown));
        assert_eq!(
            content(b"PK\x03\x04 this is not a workbook"),
            Content::Zip(ZipKind::Unknown)
        );
        // A real workbook written by this crate's own writer.
        let mut wb = rust_xlsxwriter::Workbook::new();
        wb.add_worksheet().write_string(0, 0, "unit_id").unwrap();
        let written = wb.save_to_buffer().unwrap();
        assert_eq!(content(&written).format(), Ok(Format::Xlsx));
        assert_eq!(content(OLE2).format(), Ok(Format::Xls));
    }

    #[test]
    fn a_declared_format_must_agree_with_the_content() {
        let ods = zip(&[("mimetype", ODS_MIMETYPE, true)]);
        let xlsx = zip(&[
            ("[Content_Types].xml", b"<Types/>", false),
            ("xl/workbook.xml", b"", false),
        ]);
        // Agreeing, by name or by media type.
        assert_eq!(decided("bao-cao.csv", None, CSV), Ok(Format::Csv));
        assert_eq!(
            decided("bao-cao.csv", None, TSV),
            Ok(Format::Csv),
            "CSV detects its separator"
        );
        assert_eq!(decided("bao-cao.tsv", None, TSV), Ok(Format::Tsv));
        assert_eq!(decided("bao-cao.txt", None, TSV), Ok(Format::Text));
        assert_eq!(decided("upload", Some(Format::Ods), &ods), Ok(Format::Ods));
        assert_eq!(decided("bao-cao.xlsx", None, &xlsx), Ok(Format::Xlsx));
        assert_eq!(decided("bao-cao.xls", Some(Format::Xls), OLE2), Ok(Format::Xls));
        // Within a family the media type is the one read: .txt sent as text/csv.
        assert_eq!(decided("bao-cao.txt", Some(Format::Csv), CSV), Ok(Format::Csv));
        // Nothing declared: the content decides.
        assert_eq!(decided("upload", None, &ods), Ok(Format::Ods));
        assert_eq!(decided("bao-cao.dat", None, OLE2), Ok(Format::Xls));
        assert_eq!(decided("upload", None, TSV), Ok(Format::Tsv));
        assert_eq!(decided("upload", None, b"[]"), Ok(Format::Json));
        assert_eq!(decided("upload", None, b""), Ok(Format::Csv));
        assert_eq!(decided("scan.pdf", None, b"%PDF-1.4"), Err("unsupported_format"));
        // What the content cannot tell is the declared reader's to refuse.
        assert_eq!(decided("e.xlsx", None, b""), Ok(Format::Xlsx));
        assert_eq!(decided("e.json", None, b"not json"), Ok(Format::Json));
        assert_eq!(decided("z.ods", None, b"PK\x03\x04garbage"), Ok(Format::Ods));
        // Disagreeing.
        assert_eq!(decided("bao-cao.xls", None, &xlsx), Err("format_mismatch"));
        assert_eq!(decided("bao-cao.xlsx", None, &ods), Err("format_mismatch"));
        assert_eq!(decided("bao-cao.ods", None, &xlsx), Err("format_mismatch"));
        assert_eq!(decided("bao-cao.xls", None, CSV), Err("format_mismatch"));
        assert_eq!(decided("bao-cao.csv", None, &xlsx), Err("format_mismatch"));
        assert_eq!(decided("bao-cao.csv", None, b"[{}]"), Err("format_mismatch"));
        assert_eq!(decided("bao-cao.json", None, OLE2), Err("format_mismatch"));
        assert_eq!(decided("bao-cao.tsv", None, CSV), Err("format_mismatch"));
        assert_eq!(
            decided("bao-cao.csv", Some(Format::Xlsx), &xlsx),
            Err("format_mismatch")
        );
        assert_eq!(decided("bao-cao.csv", None, b"%PDF-1.4"), Err("format_mismatch"));
        // Plain text that is not tab-separated is no format read.
        assert_eq!(decided("upload", Some(Format::Text), b"x"), Err("unsupported_format"));
        // Unless its delimiter is declared.
        let semicolons = InputOptions::parse(None, Some("semicolon"), None).unwrap();
        assert_eq!(
            decide("bao-cao.txt", None, b"a;b;c\n", &semicolons).map_err(|e| e.code()),
            Ok(Format::Text)
        );
    }

    #[test]
    fn a_mismatch_says_what_was_declared_and_what_was_found() {
        let e = decide("bao-cao.xls", None, CSV, &InputOptions::default()).unwrap_err();
        let message = e.to_string();
        assert!(
            message.starts_with("bao-cao.xls: its name declares an Excel 97-2003 workbook (.xls)"),
            "{message}"
        );
        assert!(message.contains("its content is delimited text (CSV)"), "{message}");
        let e = decide("a.json", Some(Format::Csv), CSV, &InputOptions::default()).unwrap_err();
        assert!(
            e.to_string()
                .contains("its media type declares CSV text (text/csv) and its name JSON (.json)")
        );
    }
}
