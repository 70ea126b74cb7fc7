#![no_main]
//! The CSV reader (with the declared encoding and separator) and the
//! validator, on arbitrary bytes.
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else { return };
    common::run(rest, ecomshare::ingest::Format::Csv, &common::options(*first));
});
