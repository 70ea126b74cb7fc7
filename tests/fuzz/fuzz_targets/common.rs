// Shared by the fuzz targets: the ingest's dry run over the built-in reference.
use ecomshare::domain::Period;
use ecomshare::ingest::{FileContext, Format, InputOptions, check};

pub fn run(data: &[u8], format: Format, options: &InputOptions) {
    let reference = ecomshare::store::builtin_reference();
    let ctx = FileContext {
        reference: &reference,
        current_month: Period::new(2025, 12).unwrap(),
        batch_seq: 1,
        file_index: 0,
        ingest_time_us: 0,
        numbers: options.numbers,
    };
    // Any outcome but a panic (or a hang, or a crash) is fine: a refusal
    // with its code, or records counted.
    if let Ok((records, accepted, rejected)) = check(data, format, options, "fuzz", &ctx) {
        assert_eq!(records, accepted + rejected, "every record counted or rejected");
    }
}

/// Options chosen by the input's first byte (encoding, separator, locale).
#[allow(dead_code)] // the json and xlsx targets take the defaults
pub fn options(byte: u8) -> InputOptions {
    let encoding = ["auto", "utf-8", "utf-16le", "utf-16be", "windows-1258"][usize::from(byte % 5)];
    let delimiter = ["auto", "semicolon", "tab"][usize::from((byte / 5) % 3)];
    let locale = if byte & 0x80 != 0 { Some("vi") } else { None };
    InputOptions::parse(Some(encoding), Some(delimiter), locale).unwrap()
}
