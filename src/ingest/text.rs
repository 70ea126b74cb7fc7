//! The text of a filing file, before it is split into records: the
//! encoding it arrives in, turned into UTF-8; values normalised to NFC; the
//! header's names matched to the contract's columns, Vietnamese names
//! included.
//!
//! Encodings: UTF-8 with or without a byte order mark (the default),
//! UTF-16LE/BE with their byte order mark (Excel's "Unicode text"), and
//! Windows-1258 when the upload declares it. Decoded text is normalised to
//! NFC, since Windows-1258 and some tools write Vietnamese decomposed.

use std::borrow::Cow;
use std::io::Read;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// The encoding a file is declared in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// UTF-8, or UTF-16 when the file opens with its byte order mark.
    #[default]
    Auto,
    Utf8,
    Utf16Le,
    Utf16Be,
    Windows1258,
}

impl Encoding {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            // UTF-16 of either order is recognised by its byte order mark.
            "" | "auto" | "utf-16" | "unicode" => Some(Self::Auto),
            "utf-8" | "utf8" => Some(Self::Utf8),
            "utf-16le" | "utf16le" => Some(Self::Utf16Le),
            "utf-16be" | "utf16be" => Some(Self::Utf16Be),
            "windows-1258" | "cp1258" | "win1258" => Some(Self::Windows1258),
            _ => None,
        }
    }

    pub const NAMES: &'static str = "utf-8, utf-16le, utf-16be, windows-1258";
}

/// A reader that gives UTF-8: UTF-8 passes through untouched (its errors
/// are reported with their record later); UTF-16 and Windows-1258 are
/// decoded, and a malformed sequence is an `InvalidData` error.
pub struct Utf8Reader<R> {
    inner: R,
    declared: Encoding,
    decoder: Option<encoding_rs::Decoder>,
    started: bool,
    passthrough: bool,
    input: Vec<u8>,
    output: Vec<u8>,
    out_pos: usize,
    eof: bool,
}

impl<R: Read> Utf8Reader<R> {
    pub fn new(inner: R, declared: Encoding) -> Self {
        Self {
            inner,
            declared,
            decoder: None,
            started: false,
            passthrough: false,
            input: Vec::new(),
            output: Vec::new(),
            out_pos: 0,
            eof: false,
        }
    }

    fn fill_input(&mut self, want: usize) -> std::io::Result<()> {
        let start = self.input.len();
        self.input.resize(start + want, 0);
        let n = loop {
            match self.inner.read(&mut self.input[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.input.truncate(start);
                    return Err(e);
                }
            }
        };
        self.input.truncate(start + n);
        if n == 0 {
            self.eof = true;
        }
        Ok(())
    }

    /// Reads the first bytes and picks the decoder (none for UTF-8).
    fn start(&mut self) -> std::io::Result<()> {
        while self.input.len() < 2 && !self.eof {
            self.fill_input(2 - self.input.len())?;
        }
        let bom_le = self.input.starts_with(&[0xFF, 0xFE]);
        let bom_be = self.input.starts_with(&[0xFE, 0xFF]);
        let encoding = match self.declared {
            Encoding::Auto if bom_le => Some(encoding_rs::UTF_16LE),
            Encoding::Auto if bom_be => Some(encoding_rs::UTF_16BE),
            Encoding::Auto | Encoding::Utf8 => None,
            Encoding::Utf16Le => Some(encoding_rs::UTF_16LE),
            Encoding::Utf16Be => Some(encoding_rs::UTF_16BE),
            Encoding::Windows1258 => Some(encoding_rs::WINDOWS_1258),
        };
        self.decoder = encoding.map(|e| e.new_decoder_with_bom_removal());
        self.started = true;
        Ok(())
    }
}

impl<R: Read> Read for Utf8Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.started {
            self.start()?;
            self.passthrough = self.decoder.is_none();
        }
        if self.passthrough {
            // UTF-8: hand over what was sniffed, then read straight through.
            if !self.input.is_empty() {
                let n = self.input.len().min(buf.len());
                buf[..n].copy_from_slice(&self.input[..n]);
                self.input.drain(..n);
                return Ok(n);
            }
            return self.inner.read(buf);
        }
        loop {
            if self.out_pos < self.output.len() {
                let n = (self.output.len() - self.out_pos).min(buf.len());
                buf[..n].copy_from_slice(&self.output[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                return Ok(n);
            }
            if self.decoder.is_none() {
                return Ok(0);
            }
            if !self.eof && self.input.len() < 64 << 10 {
                self.fill_input(64 << 10)?;
            }
            let decoder = self.decoder.as_mut().expect("checked above");
            let last = self.eof;
            let room = decoder
                .max_utf8_buffer_length_without_replacement(self.input.len())
                .unwrap_or(self.input.len() * 3 + 16)
                .max(16);
            self.output.clear();
            self.output.resize(room, 0);
            self.out_pos = 0;
            let (result, read, written) =
                decoder.decode_to_utf8_without_replacement(&self.input, &mut self.output, last);
            self.output.truncate(written);
            self.input.drain(..read);
            match result {
                encoding_rs::DecoderResult::Malformed(_, _) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "a byte sequence is not valid in the file's encoding",
                    ));
                }
                encoding_rs::DecoderResult::InputEmpty if last => self.decoder = None,
                _ => {}
            }
        }
    }
}

/// `s` in Unicode normalisation form C (borrowed when it already is).
pub fn nfc(s: &str) -> Cow<'_, str> {
    match is_nfc_quick(s.chars()) {
        IsNormalized::Yes => Cow::Borrowed(s),
        _ => Cow::Owned(s.nfc().collect()),
    }
}

/// A header name folded for matching: NFC, lower case, runs of white space
/// as one space, trimmed.
pub fn fold(s: &str) -> String {
    let lower = nfc(s.trim()).to_lowercase();
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Header names accepted for each column (after folding), besides the
/// contract's own names.
pub const ALIASES: [(&str, &[&str]); 10] = [
    ("unit_id", &["mã số thuế", "mst", "mã số doanh nghiệp", "mã đơn vị"]),
    (
        "district_code",
        &[
            "mã huyện",
            "mã quận/huyện",
            "mã quận, huyện",
            "mã đơn vị hành chính cấp huyện",
        ],
    ),
    ("sector_code", &["mã ngành vsic", "mã ngành", "mã vsic", "vsic"]),
    ("period", &["kỳ báo cáo", "kỳ", "tháng báo cáo"]),
    (
        "total_revenue_vnd",
        &[
            "tổng doanh thu bán lẻ (đồng)",
            "tổng doanh thu bán lẻ",
            "tổng mức bán lẻ (đồng)",
            "tổng mức bán lẻ",
        ],
    ),
    (
        "ecommerce_revenue_vnd",
        &[
            "doanh thu thương mại điện tử (đồng)",
            "doanh thu thương mại điện tử",
            "doanh thu tmđt (đồng)",
            "doanh thu tmđt",
        ],
    ),
    ("submitted_at", &["thời điểm nộp", "ngày nộp", "thời gian nộp"]),
    ("weight", &["trọng số"]),
    ("unit_name", &["tên đơn vị", "tên doanh nghiệp"]),
    (
        "commune_code",
        &[
            "mã xã",
            "mã phường/xã",
            "mã xã/phường",
            "mã xã, phường",
            "mã đơn vị hành chính cấp xã",
        ],
    ),
];

/// The contract column a header name stands for, if any.
pub fn column_of(header: &str) -> Option<&'static str> {
    let folded = fold(header);
    ALIASES
        .iter()
        .find(|(column, aliases)| *column == folded || aliases.contains(&folded.as_str()))
        .map(|(column, _)| *column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], declared: Encoding) -> std::io::Result<String> {
        let mut out = String::new();
        Utf8Reader::new(bytes, declared).read_to_string(&mut out)?;
        Ok(out)
    }

    #[test]
    fn utf16_with_a_bom_is_decoded_and_utf8_passes_through() {
        let text = "Mã số thuế,Tên đơn vị\n2801079196,Hòa Bình\n";
        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let mut be = vec![0xFE, 0xFF];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode(&le, Encoding::Auto).unwrap(), text);
        assert_eq!(decode(&be, Encoding::Auto).unwrap(), text);
        assert_eq!(decode(text.as_bytes(), Encoding::Auto).unwrap(), text);
        // A lone surrogate is refused, not replaced.
        assert!(decode(&[0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00], Encoding::Auto).is_err());
    }

    #[test]
    fn windows_1258_is_decoded_when_declared_and_normalised_by_nfc() {
        // "Hòa" in Windows-1258: H, o with a combining grave (0xCC), a.
        let bytes = [b'H', b'o', 0xCC, b'a'];
        let decoded = decode(&bytes, Encoding::Windows1258).unwrap();
        assert_eq!(decoded, "Ho\u{300}a");
        assert_eq!(nfc(&decoded), "Hòa");
    }

    #[test]
    fn vietnamese_headers_match_after_folding() {
        assert_eq!(column_of("  Mã  số thuế "), Some("unit_id"));
        assert_eq!(column_of("MÃ HUYỆN"), Some("district_code"));
        assert_eq!(column_of("Mã  xã"), Some("commune_code"));
        assert_eq!(column_of("Tổng doanh thu bán lẻ (đồng)"), Some("total_revenue_vnd"));
        // Decomposed, as some tools write it.
        assert_eq!(column_of("Ky\u{300} ba\u{301}o ca\u{301}o"), Some("period"));
        assert_eq!(column_of("unit_id"), Some("unit_id"));
        assert_eq!(column_of("Ghi chú"), None);
        assert_eq!(Encoding::parse("Windows-1258"), Some(Encoding::Windows1258));
        assert_eq!(Encoding::parse("latin1"), None);
    }
}
