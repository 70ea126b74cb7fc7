//! Exact money: weighted sums of VND amounts.
//!
//! A filing's amount is a whole number of đồng (≤ 10¹⁵) and its weight a
//! decimal with at most six fractional digits (≤ 10⁶). Their product is kept
//! as an integer count of micro-đồng (10⁻⁶ VND) in an `i128`: one product is at
//! most 10²⁷, so sums of up to 10¹¹ filings are exact. No float touches a sum.

use std::fmt;

/// Number of fractional digits of a weight; weights are stored as integers
/// scaled by 10^WEIGHT_SCALE.
pub const WEIGHT_SCALE: u32 = 6;
pub const WEIGHT_ONE: i64 = 1_000_000;

/// An exact weighted amount in micro-VND.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WeightedVnd(pub i128);

impl WeightedVnd {
    pub const ZERO: Self = Self(0);

    /// `amount × weight`, with `weight_micro` the weight scaled by 10⁶.
    pub fn of(amount_vnd: i64, weight_micro: i64) -> Self {
        Self(i128::from(amount_vnd) * i128::from(weight_micro))
    }

    pub fn from_micro(micro: i128) -> Self {
        Self(micro)
    }

    pub fn micro(self) -> i128 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    /// Whole đồng, rounded half away from zero (for display).
    pub fn round_vnd(self) -> i128 {
        let one = i128::from(WEIGHT_ONE);
        let q = self.0 / one;
        let r = self.0 % one;
        if r.abs() * 2 >= one { q + self.0.signum() } else { q }
    }
}

/// The exact decimal value in VND: an integer when whole, otherwise with the
/// fractional digits it needs (at most six), e.g. `1234567` or `1234567.25`.
impl fmt::Display for WeightedVnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = i128::from(WEIGHT_ONE).unsigned_abs();
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (int, frac) = (abs / one, abs % one);
        if frac == 0 {
            write!(f, "{sign}{int}")
        } else {
            let digits = format!("{frac:06}");
            write!(f, "{sign}{int}.{}", digits.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_decimal_strings() {
        assert_eq!(WeightedVnd::of(1234567, WEIGHT_ONE).to_string(), "1234567");
        assert_eq!(WeightedVnd::of(3, 1_500_000).to_string(), "4.5");
        assert_eq!(WeightedVnd::of(1, 1).to_string(), "0.000001");
        assert_eq!(WeightedVnd::ZERO.to_string(), "0");
        assert_eq!(WeightedVnd(-2_500_000).to_string(), "-2.5");
    }

    #[test]
    fn sums_beyond_i64_stay_exact() {
        // 10 000 filings of 10^15 VND: 10^19, above i64::MAX (≈ 9.2 × 10^18).
        let one = WeightedVnd::of(1_000_000_000_000_000, WEIGHT_ONE);
        let total = (0..10_000).fold(WeightedVnd::ZERO, |acc, _| acc.checked_add(one).unwrap());
        assert_eq!(total.to_string(), "10000000000000000000");
    }

    #[test]
    fn rounding_for_display() {
        assert_eq!(WeightedVnd(2_500_000).round_vnd(), 3);
        assert_eq!(WeightedVnd(2_499_999).round_vnd(), 2);
    }
}
