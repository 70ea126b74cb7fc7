#![no_main]
//! The JSON reader and the validator, on arbitrary bytes.
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::run(data, ecomshare::ingest::Format::Json, &ecomshare::ingest::InputOptions::default());
});
