#![no_main]
//! The workbook reader (archive bounds, sheet dimension, streamed cells)
//! and the validator, on arbitrary bytes; seed it with real workbooks.
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::run(data, ecomshare::ingest::Format::Xlsx, &ecomshare::ingest::InputOptions::default());
});
