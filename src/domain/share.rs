//! The e-commerce share of a slice and its standing against the target.
//!
//! share = Σ(weight × e-commerce revenue) / Σ(weight × total revenue): a
//! ratio of exact sums, never a mean of ratios. Whether a share meets its
//! target is decided exactly on the integers, not on rounded floats.

use super::amount::WeightedVnd;
use super::targets::Target;
use serde::Serialize;

/// Where a slice stands against its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Met,
    Below,
    NoTarget,
    NoData,
    /// Withheld by disclosure control.
    Suppressed,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::Below => "below",
            Status::NoTarget => "no_target",
            Status::NoData => "no_data",
            Status::Suppressed => "suppressed",
        }
    }
}

/// The exact sums of one slice of effective filings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub total: WeightedVnd,
    pub ecommerce: WeightedVnd,
    /// Effective filings counted.
    pub filings: u64,
    /// Distinct reporting units.
    pub units: u64,
}

impl Figures {
    /// The share as a number, `None` when the total is zero.
    pub fn share(&self) -> Option<f64> {
        if self.total.is_zero() {
            return None;
        }
        // Both sums are exact integers of micro-VND; the scale cancels.
        Some(ratio_f64(self.ecommerce.micro(), self.total.micro()))
    }

    /// Met when the share reaches the target's low bound (a band's low
    /// end, or the "at least" value), decided exactly on the integers.
    pub fn status(&self, target: Option<&Target>) -> Status {
        if self.total.is_zero() {
            return Status::NoData;
        }
        match target {
            None => Status::NoTarget,
            Some(t) => {
                if meets(
                    self.ecommerce.micro(),
                    self.total.micro(),
                    t.low.numerator(),
                    t.low.denominator(),
                ) {
                    Status::Met
                } else {
                    Status::Below
                }
            }
        }
    }

    /// (share − target) × 100, in percentage points.
    pub fn gap_pp(&self, target: Option<&Target>) -> Option<f64> {
        let share = self.share()?;
        let t = target?;
        Some((share - t.share()) * 100.0)
    }

    /// E-commerce revenue still needed for the share to reach `target` at the
    /// current total: max(0, target × total − e-commerce), rounded up to a
    /// whole micro-đồng. `None` without a target.
    pub fn ecommerce_needed(&self, target: Option<&Target>) -> Option<WeightedVnd> {
        let t = target?;
        let total = self.total.micro();
        let num = i128::from(t.low.numerator());
        let den = i128::from(t.low.denominator());
        // ceil(total × num / den) without overflowing i128 (total may reach
        // 10^35): divide first and carry the remainder.
        let q = total / den;
        let r = total % den;
        let needed = q * num + (r * num + den - 1) / den;
        Some(WeightedVnd::from_micro((needed - self.ecommerce.micro()).max(0)))
    }
}

/// The change of a share between two periods, in percentage points.
pub fn change_pp(now: Option<f64>, before: Option<f64>) -> Option<f64> {
    Some((now? - before?) * 100.0)
}

/// a / b as the nearest f64 we can get without big integers.
fn ratio_f64(a: i128, b: i128) -> f64 {
    // Each conversion rounds once and the division once more: the result is
    // within two ulps of the exact ratio. Decisions (met/below) never use it.
    a as f64 / b as f64
}

/// True when e / t ≥ num / den, exactly. All inputs are non-negative.
fn meets(e: i128, t: i128, num: u64, den: u64) -> bool {
    let lhs = mul_wide(e.unsigned_abs(), den);
    let rhs = mul_wide(t.unsigned_abs(), num);
    lhs >= rhs
}

/// a × b as a 192-bit number (high 128 bits, low 64 bits), ordered lexicographically.
fn mul_wide(a: u128, b: u64) -> (u128, u64) {
    let b = u128::from(b);
    let lo = (a & u128::from(u64::MAX)) * b;
    let hi = (a >> 64) * b;
    let low64 = lo as u64;
    let carry = lo >> 64;
    (hi + carry, low64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::amount::WEIGHT_ONE;

    fn target(num: u64, den: u64) -> Target {
        let low = crate::domain::Fraction::new(num.into(), den.into()).unwrap();
        Target {
            program: "P".into(),
            indicator: crate::domain::Indicator::EcommerceShare,
            scope: "province".into(),
            year: 2022,
            kind: crate::domain::ValueKind::Point,
            low,
            high: None,
            source: String::new(),
        }
    }

    fn figures(e: i64, t: i64) -> Figures {
        Figures {
            total: WeightedVnd::of(t, WEIGHT_ONE),
            ecommerce: WeightedVnd::of(e, WEIGHT_ONE),
            filings: 1,
            units: 1,
        }
    }

    #[test]
    fn exactly_on_target_is_met() {
        let seven = target(7, 100);
        assert_eq!(figures(7, 100).status(Some(&seven)), Status::Met);
        assert_eq!(figures(699_999_999, 10_000_000_000).status(Some(&seven)), Status::Below);
        assert_eq!(figures(0, 0).status(Some(&seven)), Status::NoData);
        assert_eq!(figures(1, 10).status(None), Status::NoTarget);
    }

    #[test]
    fn met_is_exact_where_floats_cannot_tell() {
        // total = 10^17 + 1 (not representable exactly as f64 next to 10^17),
        // e-commerce 7 × 10^15: a hair below 7 %.
        let f = Figures {
            total: WeightedVnd::from_micro(100_000_000_000_000_001),
            ecommerce: WeightedVnd::from_micro(7_000_000_000_000_000),
            filings: 1,
            units: 1,
        };
        assert_eq!(f.share(), Some(0.07));
        assert_eq!(f.status(Some(&target(7, 100))), Status::Below);
    }

    #[test]
    fn gap_and_needed() {
        let f = figures(5, 100);
        let t = target(7, 100);
        assert!((f.gap_pp(Some(&t)).unwrap() + 2.0).abs() < 1e-9);
        assert_eq!(f.ecommerce_needed(Some(&t)).unwrap().to_string(), "2");
        assert_eq!(figures(9, 100).ecommerce_needed(Some(&t)).unwrap().to_string(), "0");
        assert_eq!(figures(0, 0).share(), None);
    }

    #[test]
    fn wide_multiplication() {
        let big = u128::MAX / 3;
        assert!(mul_wide(big, 10) > mul_wide(big, 9));
        assert_eq!(mul_wide(1 << 64, 2), (2, 0));
        assert_eq!(mul_wide(u128::from(u64::MAX), 2), (1, u64::MAX - 1));
    }
}
