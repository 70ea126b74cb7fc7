//! RFC 4180 tokenizer: bytes in, records of fields out.
//!
//! Owns the one definition of what a CSV record is in this product: a header
//! row, comma separators, LF or CRLF line ends, double-quoted fields that may
//! hold commas, doubled quotes and line breaks. Used for filings and for the
//! reference tables alike, so a record boundary is decided in one place.
//!
//! Pure code over byte slices: no I/O, no polars, no allocation per field.
//! Fields of a chunk are appended to one byte buffer; a record is a range of
//! field ends. Completely empty lines are not records.

/// Fields of several records, stored flat.
#[derive(Debug, Default, Clone)]
pub struct Records {
    bytes: Vec<u8>,
    /// End offset in `bytes` of each field.
    field_ends: Vec<usize>,
    /// For record r, its fields are `field_ends[record_starts[r]..record_starts[r+1]]`.
    record_starts: Vec<usize>,
    /// A record is malformed when its quoting cannot be parsed
    /// (text after a closing quote, or a quote never closed).
    malformed: Vec<bool>,
}

impl Records {
    pub fn new() -> Self {
        Self {
            record_starts: vec![0],
            ..Self::default()
        }
    }

    pub fn len(&self) -> usize {
        self.malformed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.malformed.is_empty()
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.field_ends.clear();
        self.record_starts.clear();
        self.record_starts.push(0);
        self.malformed.clear();
    }

    pub fn field_count(&self, record: usize) -> usize {
        self.record_starts[record + 1] - self.record_starts[record]
    }

    pub fn is_malformed(&self, record: usize) -> bool {
        self.malformed[record]
    }

    /// Raw bytes of one field.
    pub fn field(&self, record: usize, index: usize) -> Option<&[u8]> {
        if index >= self.field_count(record) {
            return None;
        }
        let k = self.record_starts[record] + index;
        let start = if k == 0 { 0 } else { self.field_ends[k - 1] };
        Some(&self.bytes[start..self.field_ends[k]])
    }

    /// All field bytes of the chunk, for a single UTF-8 check.
    pub fn all_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn mark(&self) -> (usize, usize) {
        (self.bytes.len(), self.field_ends.len())
    }

    fn rollback(&mut self, mark: (usize, usize)) {
        self.bytes.truncate(mark.0);
        self.field_ends.truncate(mark.1);
    }

    fn end_field(&mut self) {
        self.field_ends.push(self.bytes.len());
    }

    fn end_record(&mut self, malformed: bool) {
        self.record_starts.push(self.field_ends.len());
        self.malformed.push(malformed);
    }
}

/// Outcome of trying to read one record at a position.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A record (or a skipped empty line) ended; continue at this offset.
    Advanced(usize),
    /// The input ends inside a record; call again with more input.
    NeedMore,
    /// Nothing left.
    End,
}

/// Reads the record starting at `pos`. With `eof` false, a record that
/// reaches the end of `input` is rolled back and `NeedMore` returned, because
/// the next bytes may still belong to it. With `eof` true, the input's end
/// ends the record (and an unclosed quote makes it malformed).
pub fn read_record(input: &[u8], pos: usize, eof: bool, out: &mut Records) -> Step {
    read_record_with(input, pos, eof, b',', out)
}

/// `read_record` with another field separator (`;` or a tab).
pub fn read_record_with(input: &[u8], pos: usize, eof: bool, delimiter: u8, out: &mut Records) -> Step {
    if pos >= input.len() {
        return Step::End;
    }
    // An empty line is not a record.
    if input[pos] == b'\n' {
        return Step::Advanced(pos + 1);
    }
    if input[pos] == b'\r' && input.get(pos + 1) == Some(&b'\n') {
        return Step::Advanced(pos + 2);
    }
    if input[pos] == b'\r' && pos + 1 == input.len() && !eof {
        return Step::NeedMore;
    }
    let mark = out.mark();
    let mut i = pos;
    let mut malformed = false;
    loop {
        // At the start of a field.
        if i < input.len() && input[i] == b'"' {
            i += 1;
            loop {
                match memchr(b'"', &input[i..]) {
                    Some(off) => {
                        out.bytes.extend_from_slice(&input[i..i + off]);
                        i += off + 1;
                        if i < input.len() && input[i] == b'"' {
                            out.bytes.push(b'"');
                            i += 1;
                            continue;
                        }
                        if i == input.len() && !eof {
                            out.rollback(mark);
                            return Step::NeedMore;
                        }
                        break;
                    }
                    None => {
                        if !eof {
                            out.rollback(mark);
                            return Step::NeedMore;
                        }
                        // A quote never closed: the rest of the input is this record.
                        out.bytes.extend_from_slice(&input[i..]);
                        out.end_field();
                        out.end_record(true);
                        return Step::Advanced(input.len());
                    }
                }
            }
            // After a closing quote only a separator or a line end may follow.
            let rest = &input[i..];
            let stop = rest
                .iter()
                .position(|&b| b == delimiter || b == b'\n')
                .unwrap_or(rest.len());
            let trailing = &rest[..stop];
            if !(trailing.is_empty() || (trailing == b"\r" && (stop < rest.len() || eof))) {
                malformed = true;
                out.bytes.extend_from_slice(trailing);
            }
            i += stop;
        } else {
            let rest = &input[i..];
            let stop = rest
                .iter()
                .position(|&b| b == delimiter || b == b'\n')
                .unwrap_or(rest.len());
            let mut field = &rest[..stop];
            if stop < rest.len() && rest[stop] == b'\n' && field.last() == Some(&b'\r') {
                field = &field[..field.len() - 1];
            }
            out.bytes.extend_from_slice(field);
            i += stop;
        }
        out.end_field();
        if i >= input.len() {
            if !eof {
                out.rollback(mark);
                return Step::NeedMore;
            }
            out.end_record(malformed);
            return Step::Advanced(i);
        }
        if input[i] == delimiter {
            i += 1;
            if i == input.len() && !eof {
                out.rollback(mark);
                return Step::NeedMore;
            }
            if i == input.len() {
                // A trailing comma at the very end: one more, empty field.
                out.end_field();
                out.end_record(malformed);
                return Step::Advanced(i);
            }
            continue;
        }
        // A line end.
        out.end_record(malformed);
        return Step::Advanced(i + 1);
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

/// Reads every record of a complete, in-memory text.
pub fn read_all(input: &[u8]) -> Records {
    let mut out = Records::new();
    let mut pos = 0;
    while let Step::Advanced(next) = read_record(input, pos, true, &mut out) {
        pos = next;
    }
    out
}

/// The separator of a header line: the most frequent of `,`, `;` and tab
/// outside quotes in the first line (a comma on a tie or when none appears).
pub fn detect_delimiter(input: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in input {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|i| (counts[*i], std::cmp::Reverse(*i))).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t'][best]
    }
}

/// Strips a UTF-8 byte order mark.
pub fn strip_bom(input: &[u8]) -> &[u8] {
    input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(r: &Records, i: usize) -> Vec<String> {
        (0..r.field_count(i))
            .map(|k| String::from_utf8(r.field(i, k).unwrap().to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn semicolons_and_tabs_separate_when_detected() {
        assert_eq!(detect_delimiter(b"unit_id;district_code;period\n1,2;3;4\n"), b';');
        assert_eq!(detect_delimiter(b"unit_id\tdistrict_code\n"), b'\t');
        assert_eq!(detect_delimiter(b"\"a;b\",c\n"), b',', "inside quotes does not count");
        assert_eq!(detect_delimiter(b"unit_id\n"), b',');
        let mut out = Records::new();
        let step = read_record_with(b"a;\"b;c\";1\n", 0, true, b';', &mut out);
        assert!(matches!(step, Step::Advanced(_)));
        assert_eq!(fields(&out, 0), ["a", "b;c", "1"]);
    }

    #[test]
    fn plain_quoted_and_crlf() {
        let r = read_all(b"a,b,c\r\n1,\"x,y\",\"he said \"\"hi\"\"\"\r\n");
        assert_eq!(r.len(), 2);
        assert_eq!(fields(&r, 0), ["a", "b", "c"]);
        assert_eq!(fields(&r, 1), ["1", "x,y", "he said \"hi\""]);
        assert!(!r.is_malformed(1));
    }

    #[test]
    fn embedded_newline_stays_in_one_record() {
        let r = read_all(b"a,b\n\"line1\nline2\",2\n3,4");
        assert_eq!(r.len(), 3);
        assert_eq!(fields(&r, 1), ["line1\nline2", "2"]);
        assert_eq!(fields(&r, 2), ["3", "4"]);
    }

    #[test]
    fn empty_lines_are_not_records_but_empty_fields_are_kept() {
        let r = read_all(b"a,b\n\n1,\n\r\n,2\n");
        assert_eq!(r.len(), 3);
        assert_eq!(fields(&r, 1), ["1", ""]);
        assert_eq!(fields(&r, 2), ["", "2"]);
    }

    #[test]
    fn text_after_closing_quote_or_unclosed_quote_is_malformed() {
        let r = read_all(b"\"ab\"c,d\n1,2\n\"open,3\n4,5\n");
        assert!(r.is_malformed(0));
        assert!(!r.is_malformed(1));
        assert_eq!(r.len(), 3);
        assert!(r.is_malformed(2));
    }

    #[test]
    fn streaming_gives_the_same_records_at_every_split() {
        let text = b"a,b\r\n\"x\r\ny\",\"q\"\"\"\r\n1,2\r\n,\r\n";
        let whole = read_all(text);
        for split in 1..text.len() {
            // Feed the first `split` bytes, then everything.
            let mut out = Records::new();
            let mut pos = 0;
            while let Step::Advanced(n) = read_record(&text[..split], pos, false, &mut out) {
                pos = n;
            }
            while let Step::Advanced(n) = read_record(text, pos, true, &mut out) {
                pos = n;
            }
            assert_eq!(out.len(), whole.len(), "split at {split}");
            for i in 0..whole.len() {
                assert_eq!(fields(&out, i), fields(&whole, i), "split at {split}");
            }
        }
    }

    #[test]
    fn bom_is_stripped() {
        assert_eq!(strip_bom(b"\xEF\xBB\xBFa"), b"a");
        assert_eq!(strip_bom(b"a"), b"a");
    }
}
