//! The validation rules of a filing record, field by field, and the reason
//! codes a rejected record carries. The codes are a contract: other software
//! matches on them, so they never change spelling or order.

use super::amount::WEIGHT_SCALE;
use super::period::Period;
use std::fmt;

/// Why a record was rejected. Variants are listed in the order the rules are
/// checked: a record carries the first rule it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectReason {
    MalformedRow,
    MissingField,
    InvalidUnitId,
    UnknownDistrict,
    CodeNotInForce,
    UnknownCommune,
    UnknownSector,
    InvalidPeriod,
    FuturePeriod,
    InvalidAmount,
    NegativeAmount,
    AmountOutOfRange,
    InvalidWeight,
    InvalidTimestamp,
    EcommerceExceedsTotal,
}

impl RejectReason {
    pub const ALL: [RejectReason; 15] = [
        Self::MalformedRow,
        Self::MissingField,
        Self::InvalidUnitId,
        Self::UnknownDistrict,
        Self::CodeNotInForce,
        Self::UnknownCommune,
        Self::UnknownSector,
        Self::InvalidPeriod,
        Self::FuturePeriod,
        Self::InvalidAmount,
        Self::NegativeAmount,
        Self::AmountOutOfRange,
        Self::InvalidWeight,
        Self::InvalidTimestamp,
        Self::EcommerceExceedsTotal,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::MalformedRow => "malformed_row",
            Self::MissingField => "missing_field",
            Self::InvalidUnitId => "invalid_unit_id",
            Self::UnknownDistrict => "unknown_district",
            Self::CodeNotInForce => "code_not_in_force",
            Self::UnknownCommune => "unknown_commune",
            Self::UnknownSector => "unknown_sector",
            Self::InvalidPeriod => "invalid_period",
            Self::FuturePeriod => "future_period",
            Self::InvalidAmount => "invalid_amount",
            Self::NegativeAmount => "negative_amount",
            Self::AmountOutOfRange => "amount_out_of_range",
            Self::InvalidWeight => "invalid_weight",
            Self::InvalidTimestamp => "invalid_timestamp",
            Self::EcommerceExceedsTotal => "ecommerce_exceeds_total",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The filing columns (contract names) a rule reads: the column a
    /// rejection is about is one of them (the one its message names first),
    /// none for a record that could not be split into fields.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::MalformedRow => &[],
            Self::MissingField => &[
                "unit_id",
                "district_code",
                "sector_code",
                "period",
                "total_revenue_vnd",
                "ecommerce_revenue_vnd",
            ],
            Self::InvalidUnitId => &["unit_id"],
            Self::UnknownDistrict => &["district_code"],
            Self::CodeNotInForce => &["commune_code", "district_code"],
            Self::UnknownCommune => &["commune_code"],
            Self::UnknownSector => &["sector_code"],
            Self::InvalidPeriod | Self::FuturePeriod => &["period"],
            Self::InvalidAmount | Self::NegativeAmount | Self::AmountOutOfRange => {
                &["total_revenue_vnd", "ecommerce_revenue_vnd"]
            }
            Self::InvalidWeight => &["weight"],
            Self::InvalidTimestamp => &["submitted_at"],
            Self::EcommerceExceedsTotal => &["ecommerce_revenue_vnd"],
        }
    }

    /// The column a rejection of this reason is about, given its message:
    /// of the rule's columns, the one the message names first.
    pub fn column_in(self, message: &str) -> Option<&'static str> {
        let columns = self.columns();
        columns
            .iter()
            .filter_map(|c| message.find(c).map(|at| (at, *c)))
            .min()
            .map(|(_, c)| c)
            .or_else(|| columns.first().copied())
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Largest accepted amount: 10^15 VND.
pub const MAX_AMOUNT_VND: i64 = 1_000_000_000_000_000;
/// Largest accepted weight: 10^6.
pub const MAX_WEIGHT: i64 = 1_000_000;

/// A field value that fails its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    Invalid,
    Negative,
    OutOfRange,
}

/// Parses an amount: a base-10 integer with no sign other than a leading
/// minus, no separators and no decimals, within 0..=10^15.
pub fn parse_amount(s: &str) -> Result<i64, FieldError> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::Invalid);
    }
    let significant = digits.trim_start_matches('0');
    if negative && !significant.is_empty() {
        return Err(FieldError::Negative);
    }
    if significant.len() > 16 {
        return Err(FieldError::OutOfRange);
    }
    let value: i64 = if significant.is_empty() {
        0
    } else {
        significant.parse().map_err(|_| FieldError::Invalid)?
    };
    if value > MAX_AMOUNT_VND {
        return Err(FieldError::OutOfRange);
    }
    Ok(value)
}

/// Parses a weight: a plain decimal (`12`, `1.5`, `0.25`) with at most six
/// fractional digits, > 0 and ≤ 10^6. Returns it scaled by 10^6.
/// How numbers are written in a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum NumberLocale {
    /// Digits only for amounts; a point before decimals.
    #[default]
    Plain,
    /// vi-VN: points between groups of three digits (1.234.567), a comma
    /// before decimals (0,5). Only when the upload says so.
    Vi,
}

/// An amount as written in `locale`.
pub fn parse_amount_in(s: &str, locale: NumberLocale) -> Result<i64, FieldError> {
    match locale {
        NumberLocale::Plain => parse_amount(s),
        NumberLocale::Vi if s.contains('.') => {
            let (sign, digits) = s.strip_prefix('-').map_or(("", s), |rest| ("-", rest));
            let mut groups = digits.split('.');
            let first = groups.next().unwrap_or("");
            let grouped = (1..=3).contains(&first.len())
                && first.bytes().all(|b| b.is_ascii_digit())
                && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()));
            if !grouped {
                return Err(FieldError::Invalid);
            }
            parse_amount(&format!("{sign}{}", digits.replace('.', "")))
        }
        NumberLocale::Vi => parse_amount(s),
    }
}

/// A weight as written in `locale`.
pub fn parse_weight_in(s: &str, locale: NumberLocale) -> Result<i64, FieldError> {
    match locale {
        NumberLocale::Vi if s.contains('.') => Err(FieldError::Invalid),
        NumberLocale::Vi => parse_weight(&s.replacen(',', ".", 1)),
        NumberLocale::Plain => parse_weight(s),
    }
}

pub fn parse_weight(s: &str) -> Result<i64, FieldError> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty())
        || !all_digits(int)
        || !all_digits(frac)
        || (s.contains('.') && frac.is_empty())
        || frac.len() > WEIGHT_SCALE as usize
    {
        return Err(FieldError::Invalid);
    }
    let int = int.trim_start_matches('0');
    if int.len() > 7 {
        return Err(FieldError::OutOfRange);
    }
    let int_value: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| FieldError::Invalid)?
    };
    let mut frac_value: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| FieldError::Invalid)?
    };
    for _ in frac.len()..WEIGHT_SCALE as usize {
        frac_value *= 10;
    }
    let micro = int_value * 1_000_000 + frac_value;
    if micro == 0 {
        return Err(FieldError::OutOfRange);
    }
    if micro > MAX_WEIGHT * 1_000_000 {
        return Err(FieldError::OutOfRange);
    }
    Ok(micro)
}

/// Parses an RFC 3339 timestamp with an offset into microseconds since the
/// Unix epoch (UTC), so that filings are compared as instants.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    Some(t.timestamp_micros())
}

/// True when `period` lies after `current` (the current month in
/// Asia/Ho_Chi_Minh, supplied by the caller).
pub fn is_future(period: Period, current: Period) -> bool {
    period > current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_in_order() {
        let codes: Vec<_> = RejectReason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes[0], "malformed_row");
        assert_eq!(codes[4..6], ["code_not_in_force", "unknown_commune"]);
        assert_eq!(codes[14], "ecommerce_exceeds_total");
        for r in RejectReason::ALL {
            assert_eq!(RejectReason::from_code(r.code()), Some(r));
        }
        assert!(RejectReason::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_rejection_is_about_the_column_its_message_names_first() {
        use RejectReason::*;
        assert_eq!(
            MissingField.column_in("required field district_code is empty (or name the commune in commune_code)"),
            Some("district_code")
        );
        assert_eq!(
            CodeNotInForce
                .column_in("district_code \"405\" is not in force in 2025-03: name the commune (commune_code)"),
            Some("district_code")
        );
        assert_eq!(
            NegativeAmount.column_in("ecommerce_revenue_vnd \"-10\" is negative"),
            Some("ecommerce_revenue_vnd")
        );
        assert_eq!(InvalidAmount.column_in("no column named"), Some("total_revenue_vnd"));
        assert_eq!(MalformedRow.column_in("3 fields, the header has 10"), None);
    }

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("0"), Ok(0));
        assert_eq!(parse_amount("000123"), Ok(123));
        assert_eq!(parse_amount("1000000000000000"), Ok(MAX_AMOUNT_VND));
        assert_eq!(parse_amount("1000000000000001"), Err(FieldError::OutOfRange));
        assert_eq!(parse_amount("99999999999999999999999"), Err(FieldError::OutOfRange));
        assert_eq!(parse_amount("-5"), Err(FieldError::Negative));
        assert_eq!(parse_amount("-0"), Ok(0));
        for bad in ["", "1.000", "1,000", "1 000", "1e6", "+5", "12.0", "abc", "-", "١٢"] {
            assert_eq!(parse_amount(bad), Err(FieldError::Invalid), "{bad}");
        }
    }

    #[test]
    fn weights() {
        assert_eq!(parse_weight("1"), Ok(1_000_000));
        assert_eq!(parse_weight("1.5"), Ok(1_500_000));
        assert_eq!(parse_weight("0.000001"), Ok(1));
        assert_eq!(parse_weight(".5"), Ok(500_000));
        assert_eq!(parse_weight("1000000"), Ok(1_000_000_000_000));
        assert_eq!(parse_weight("1000000.000001"), Err(FieldError::OutOfRange));
        assert_eq!(parse_weight("0"), Err(FieldError::OutOfRange));
        assert_eq!(parse_weight("0.0000001"), Err(FieldError::Invalid));
        for bad in ["", "-1", "1,5", "1.", "abc", "1e3", "."] {
            assert!(parse_weight(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_compare_as_instants() {
        let a = parse_timestamp("2024-05-01T08:00:00+07:00").unwrap();
        let b = parse_timestamp("2024-05-01T01:00:00Z").unwrap();
        assert_eq!(a, b);
        assert!(parse_timestamp("2024-05-01 08:00:00").is_none());
        assert!(parse_timestamp("2024-05-01T08:00:00").is_none());
    }

    #[test]
    fn vi_vn_numbers_only_when_declared() {
        use NumberLocale::*;
        assert_eq!(parse_amount_in("1.234.567", Vi), Ok(1_234_567));
        assert_eq!(parse_amount_in("1234567", Vi), Ok(1_234_567));
        assert_eq!(parse_amount_in("1.234.567", Plain), Err(FieldError::Invalid));
        for bad in ["1.23.567", "1234.567", "1.234,5", ".234", "1.234."] {
            assert_eq!(parse_amount_in(bad, Vi), Err(FieldError::Invalid), "{bad}");
        }
        assert_eq!(parse_amount_in("-1.000", Vi), Err(FieldError::Negative));
        assert_eq!(parse_weight_in("0,5", Vi), Ok(500_000));
        assert_eq!(parse_weight_in("0.5", Vi), Err(FieldError::Invalid));
        assert_eq!(parse_weight_in("0,5", Plain), Err(FieldError::Invalid));
    }
}
