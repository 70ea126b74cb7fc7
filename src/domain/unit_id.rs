//! Reporting-unit identifiers: Vietnamese tax codes (mã số thuế), dependent
//! units (tax code + "-" + 001…999) and 12-digit personal identification
//! numbers of household businesses.

const WEIGHTS: [u32; 9] = [31, 29, 23, 19, 17, 13, 7, 5, 3];

/// True when `s` is a 10-digit tax code whose tenth digit is the check digit
/// 10 − (Σ wᵢ·dᵢ mod 11), where a remainder of 0 makes the code invalid and
/// digits 3–9 are not all zero.
pub fn is_valid_tax_code(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let d = |i: usize| u32::from(b[i] - b'0');
    if (2..9).all(|i| d(i) == 0) {
        return false;
    }
    let sum: u32 = (0..9).map(|i| WEIGHTS[i] * d(i)).sum();
    let rem = sum % 11;
    rem != 0 && d(9) == 10 - rem
}

/// True when `s` identifies a reporting unit in one of the accepted forms.
pub fn is_valid_unit_id(s: &str) -> bool {
    let b = s.as_bytes();
    match b.len() {
        10 => is_valid_tax_code(s),
        12 => b.iter().all(u8::is_ascii_digit),
        14 => {
            b[10] == b'-' && is_valid_tax_code(&s[..10]) && b[11..].iter().all(u8::is_ascii_digit) && &b[11..] != b"000"
        }
        _ => false,
    }
}

/// Completes nine leading digits into a valid tax code, if any check digit
/// exists for them. Used by the demo generator and the tests.
pub fn complete_tax_code(first_nine: &str) -> Option<String> {
    let b = first_nine.as_bytes();
    if b.len() != 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = (0..9).map(|i| WEIGHTS[i] * u32::from(b[i] - b'0')).sum();
    let rem = sum % 11;
    if rem == 0 {
        return None;
    }
    let code = format!("{first_nine}{}", 10 - rem);
    is_valid_tax_code(&code).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit_by_hand() {
        // 0 1 0 0 1 0 9 1 0: 0+29+0+0+17+0+63+5+0 = 114, 114 mod 11 = 4, check 6.
        assert!(is_valid_tax_code("0100109106"));
        assert!(!is_valid_tax_code("0100109107"));
        assert_eq!(complete_tax_code("010010910").as_deref(), Some("0100109106"));
    }

    #[test]
    fn remainder_zero_and_zero_body_are_invalid() {
        // 2 8 0 0 0 0 0 0 1: 62+232+3 = 297 = 27·11, remainder 0.
        assert_eq!(complete_tax_code("280000001"), None);
        assert!(!(0..10).any(|c| is_valid_tax_code(&format!("280000001{c}"))));
        // Digits 3–9 all zero.
        assert!(!(0..10).any(|c| is_valid_tax_code(&format!("280000000{c}"))));
    }

    #[test]
    fn forms_of_unit_id() {
        assert!(is_valid_unit_id("0100109106"));
        assert!(is_valid_unit_id("0100109106-001"));
        assert!(is_valid_unit_id("0100109106-999"));
        assert!(!is_valid_unit_id("0100109106-000"));
        assert!(!is_valid_unit_id("0100109107-001"));
        assert!(!is_valid_unit_id("0100109106_001"));
        assert!(is_valid_unit_id("038085012345"));
        assert!(!is_valid_unit_id("03808501234a"));
        assert!(!is_valid_unit_id("01001091"));
        assert!(!is_valid_unit_id(""));
    }
}
