#![no_main]
//! The record validator: a valid header, then arbitrary records, so most
//! inputs reach the rules (codes, periods, amounts, weights, timestamps).
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else { return };
    let mut file = b"unit_id,district_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd,submitted_at,weight,unit_name\n".to_vec();
    file.extend_from_slice(rest);
    let options = if first & 1 == 1 {
        ecomshare::ingest::InputOptions::parse(None, None, Some("vi")).unwrap()
    } else {
        ecomshare::ingest::InputOptions::default()
    };
    common::run(&file, ecomshare::ingest::Format::Csv, &options);
});
