//! Where a stored filing came from, packed into one integer: the row id.
//!
//! row_id = batch × 2^40 + file × 2^30 + record, so row ids order filings
//! exactly as the revision rule breaks ties (later batch, then later file,
//! then later record). The bounds below keep it within an `i64`; the
//! warehouse and the ingest refuse anything beyond them.

/// The last dataset version (batch number): 2^23 − 1.
pub const MAX_BATCH: u64 = (1 << 23) - 1;
/// Files per batch: file indexes 0..1000 (< 2^10).
pub const MAX_FILES_PER_BATCH: usize = 1000;
/// Data records per file (< 2^30).
pub const MAX_RECORDS_PER_FILE: u64 = 999_999_999;

/// The row id of record `record` (1-based) of file `file` of batch `batch`.
pub fn row_id(batch: u64, file: u32, record: u64) -> i64 {
    debug_assert!(batch <= MAX_BATCH && (file as usize) < MAX_FILES_PER_BATCH && record <= MAX_RECORDS_PER_FILE);
    ((batch << 40) | (u64::from(file) << 30) | record) as i64
}

/// The (batch, file, record) of a row id.
pub fn parts(row_id: i64) -> (u64, u32, u64) {
    let v = row_id as u64;
    (v >> 40, ((v >> 30) & 0x3FF) as u32, v & ((1 << 30) - 1))
}

/// A 64-bit hash of a filing's key (unit_id, district_code, vsic_code,
/// period): FNV-1a over the four values with a separator, fixed forever
/// because it is stored. Equal keys have equal hashes; the commit uses it to
/// find candidate revisions cheaply and then compares the keys themselves, so
/// a collision costs a little work, never a wrong figure.
pub fn key_hash(unit_id: &str, district_code: &str, vsic_code: &str, period: &str) -> i64 {
    fnv(&[unit_id, district_code, vsic_code, period])
}

/// FNV-1a over the parts, each followed by a unit separator (0x1f).
fn fnv(parts: &[&str]) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for part in parts {
        for &b in part.as_bytes().iter().chain(&[0x1f]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h as i64
}

/// The key hash of a filing whose key includes a commune
/// (unit_id, district_code, commune_code, vsic_code, period): the
/// commune-less key's [`key_hash`] when `commune_code` is empty — so filings
/// from before the 2025 reform keep their stored hashes — else the same
/// FNV-1a over the five values.
pub fn key_hash_with_commune(
    unit_id: &str,
    district_code: &str,
    commune_code: &str,
    vsic_code: &str,
    period: &str,
) -> i64 {
    if commune_code.is_empty() {
        key_hash(unit_id, district_code, vsic_code, period)
    } else {
        fnv(&[unit_id, district_code, commune_code, vsic_code, period])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_without_a_commune_keeps_its_stored_hash() {
        let old = key_hash("0100109106", "380", "4711", "2025-01");
        assert_eq!(key_hash_with_commune("0100109106", "380", "", "4711", "2025-01"), old);
        let with = key_hash_with_commune("0100109106", "380", "14758", "4711", "2025-07");
        assert_ne!(with, key_hash("0100109106", "380", "4711", "2025-07"));
        assert_ne!(
            with,
            key_hash_with_commune("0100109106", "380", "14797", "4711", "2025-07")
        );
    }

    #[test]
    fn key_hash_is_fixed_and_separates_fields() {
        // Pinned: the value is stored in Parquet files and must never change.
        assert_eq!(
            key_hash("0100109106", "380", "4711", "2025-01"),
            key_hash("0100109106", "380", "4711", "2025-01")
        );
        assert_eq!(key_hash("", "", "", ""), 0x8706_f12e_bf36_a791_u64 as i64);
        assert_ne!(
            key_hash("1", "23", "4711", "2025-01"),
            key_hash("12", "3", "4711", "2025-01")
        );
    }

    #[test]
    fn row_ids_order_like_the_tie_break_and_round_trip() {
        let ids = [
            row_id(1, 0, 5),
            row_id(1, 0, 6),
            row_id(1, 1, 1),
            row_id(2, 0, 1),
            row_id(MAX_BATCH, MAX_FILES_PER_BATCH as u32 - 1, MAX_RECORDS_PER_FILE),
        ];
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids.iter().all(|&i| i > 0));
        assert_eq!(parts(row_id(7, 3, 123_456)), (7, 3, 123_456));
    }
}
