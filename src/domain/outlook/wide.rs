//! Unsigned 512-bit integers: just enough arithmetic for the outlook's exact
//! fractions (products of two or three sums of `i128` micro-đồng and a
//! target's `u64` numerator or denominator, which `i128` cannot hold).
//!
//! Owns nothing but the arithmetic; knows nothing of money or shares.
//! Every operation that could leave the range says so with `None`.

use std::cmp::Ordering;

const LIMBS: usize = 8;

/// An unsigned integer below 2⁵¹², little-endian 64-bit limbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Wide([u64; LIMBS]);

impl Wide {
    pub const ZERO: Self = Self([0; LIMBS]);

    pub fn from_u128(v: u128) -> Self {
        let mut limbs = [0; LIMBS];
        limbs[0] = v as u64;
        limbs[1] = (v >> 64) as u64;
        Self(limbs)
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&l| l == 0)
    }

    /// The value when it fits in a `u128`.
    pub fn to_u128(self) -> Option<u128> {
        self.0[2..]
            .iter()
            .all(|&l| l == 0)
            .then(|| u128::from(self.0[0]) | (u128::from(self.0[1]) << 64))
    }

    /// The number of significant bits.
    pub fn bits(&self) -> u32 {
        match self.0.iter().rposition(|&l| l != 0) {
            None => 0,
            Some(i) => i as u32 * 64 + (64 - self.0[i].leading_zeros()),
        }
    }

    pub fn checked_add(self, other: Self) -> Option<Self> {
        let mut out = [0; LIMBS];
        let mut carry = false;
        for (i, o) in out.iter_mut().enumerate() {
            let (s, c1) = self.0[i].overflowing_add(other.0[i]);
            let (s, c2) = s.overflowing_add(u64::from(carry));
            *o = s;
            carry = c1 || c2;
        }
        (!carry).then_some(Self(out))
    }

    /// `self − other`, `None` when negative.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        let mut out = [0; LIMBS];
        let mut borrow = false;
        for (i, o) in out.iter_mut().enumerate() {
            let (d, b1) = self.0[i].overflowing_sub(other.0[i]);
            let (d, b2) = d.overflowing_sub(u64::from(borrow));
            *o = d;
            borrow = b1 || b2;
        }
        (!borrow).then_some(Self(out))
    }

    pub fn checked_mul(self, other: Self) -> Option<Self> {
        let mut wide = [0u64; 2 * LIMBS];
        for (i, &a) in self.0.iter().enumerate() {
            if a == 0 {
                continue;
            }
            let mut carry = 0u128;
            for (j, &b) in other.0.iter().enumerate() {
                let t = u128::from(a) * u128::from(b) + u128::from(wide[i + j]) + carry;
                wide[i + j] = t as u64;
                carry = t >> 64;
            }
            wide[i + LIMBS] = carry as u64;
        }
        if wide[LIMBS..].iter().any(|&l| l != 0) {
            return None;
        }
        let mut out = [0; LIMBS];
        out.copy_from_slice(&wide[..LIMBS]);
        Some(Self(out))
    }

    pub fn checked_mul_u128(self, other: u128) -> Option<Self> {
        self.checked_mul(Self::from_u128(other))
    }

    fn bit(&self, i: u32) -> bool {
        (self.0[(i / 64) as usize] >> (i % 64)) & 1 == 1
    }

    fn set_bit(&mut self, i: u32) {
        self.0[(i / 64) as usize] |= 1 << (i % 64);
    }

    /// `self × 2`, dropping the top bit (callers keep values below 2⁵¹¹).
    fn shl1(self) -> Self {
        let mut out = [0; LIMBS];
        let mut carry = 0;
        for (i, o) in out.iter_mut().enumerate() {
            *o = (self.0[i] << 1) | carry;
            carry = self.0[i] >> 63;
        }
        Self(out)
    }

    fn shr(self, n: u32) -> Self {
        let (limbs, bits) = ((n / 64) as usize, n % 64);
        let mut out = [0; LIMBS];
        for (i, o) in out.iter_mut().enumerate() {
            let Some(&lo) = self.0.get(i + limbs) else { break };
            let hi = self.0.get(i + limbs + 1).copied().unwrap_or(0);
            *o = if bits == 0 {
                lo
            } else {
                (lo >> bits) | (hi << (64 - bits))
            };
        }
        Self(out)
    }

    /// Quotient and remainder, `None` for a zero divisor. Binary long
    /// division: slow per bit, but the outlook divides a handful of times.
    pub fn div_rem(self, divisor: Self) -> Option<(Self, Self)> {
        if divisor.is_zero() {
            return None;
        }
        let mut q = Self::ZERO;
        let mut r = Self::ZERO;
        for i in (0..self.bits()).rev() {
            // r < divisor < 2⁵¹², and r's top bit is clear whenever the
            // divisor's is: a shifted-out bit would mean r ≥ 2⁵¹¹ > divisor.
            let top = r.bit(511);
            r = r.shl1();
            if self.bit(i) {
                r.0[0] |= 1;
            }
            if top || r >= divisor {
                r = r.wrapping_sub(divisor);
                q.set_bit(i);
            }
        }
        Some((q, r))
    }

    /// ⌈self / divisor⌉, `None` for a zero divisor.
    pub fn div_ceil(self, divisor: Self) -> Option<Self> {
        let (q, r) = self.div_rem(divisor)?;
        if r.is_zero() {
            Some(q)
        } else {
            q.checked_add(Self::from_u128(1))
        }
    }

    fn wrapping_sub(self, other: Self) -> Self {
        let mut out = [0; LIMBS];
        let mut borrow = false;
        for (i, o) in out.iter_mut().enumerate() {
            let (d, b1) = self.0[i].overflowing_sub(other.0[i]);
            let (d, b2) = d.overflowing_sub(u64::from(borrow));
            *o = d;
            borrow = b1 || b2;
        }
        Self(out)
    }

    /// The nearest `f64` but for one rounding of a truncated value (within
    /// two ulps); every `Wide` is below 2⁵¹² < `f64::MAX`.
    pub fn to_f64(self) -> f64 {
        let bits = self.bits();
        if bits <= 128 {
            return self.to_u128().map_or(0.0, |v| v as f64);
        }
        let shift = bits - 128;
        let top = self.shr(shift).to_u128().map_or(0.0, |v| v as f64);
        top * 2f64.powi(shift as i32)
    }
}

impl Ord for Wide {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.iter().rev().cmp(other.0.iter().rev())
    }
}

impl PartialOrd for Wide {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// `a / b` as an `f64`, `None` when `b` is zero.
pub fn ratio(a: Wide, b: Wide) -> Option<f64> {
    (!b.is_zero()).then(|| a.to_f64() / b.to_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn w(v: u128) -> Wide {
        Wide::from_u128(v)
    }

    #[test]
    fn small_values_agree_with_u128() {
        assert_eq!(w(7).checked_mul(w(6)).and_then(Wide::to_u128), Some(42));
        assert_eq!(w(7).checked_sub(w(8)), None);
        assert_eq!(
            w(43).div_rem(w(6)).map(|(q, r)| (q.to_u128(), r.to_u128())),
            Some((Some(7), Some(1)))
        );
        assert_eq!(w(42).div_ceil(w(6)).and_then(Wide::to_u128), Some(7));
        assert_eq!(w(43).div_ceil(w(6)).and_then(Wide::to_u128), Some(8));
        assert_eq!(w(1).div_rem(Wide::ZERO), None);
        assert_eq!(w(0).bits(), 0);
        assert_eq!(w(1 << 64).bits(), 65);
    }

    #[test]
    fn products_beyond_u128_and_the_range_end() {
        let max = w(u128::MAX);
        let sq = max.checked_mul(max).unwrap(); // 2²⁵⁶ − 2¹²⁹ + 1
        assert_eq!(sq.bits(), 256);
        assert_eq!(sq.to_u128(), None);
        let (q, r) = sq.div_rem(max).unwrap();
        assert_eq!((q, r), (max, Wide::ZERO));
        let fourth = sq.checked_mul(sq).unwrap();
        assert_eq!(fourth.bits(), 512);
        assert_eq!(fourth.checked_mul(w(2)), None);
        assert_eq!(fourth.checked_add(fourth), None);
        // Dividing a 512-bit value exercises the shifted-out top bit.
        let (q, r) = fourth.div_rem(sq).unwrap();
        assert_eq!((q, r), (sq, Wide::ZERO));
        let (q, r) = fourth.div_rem(fourth.checked_sub(w(1)).unwrap()).unwrap();
        assert_eq!((q.to_u128(), r.to_u128()), (Some(1), Some(1)));
        assert!((sq.to_f64() / 2f64.powi(256) - 1.0).abs() < 1e-15);
    }

    proptest! {
        #[test]
        fn division_inverts_multiplication(a in any::<u128>(), b in 1u128.., c in any::<u128>(), r in any::<u128>()) {
            // n = a·c·b + r' with r' < b: q = a·c, remainder r'.
            let r = r % b;
            let ac = w(a).checked_mul(w(c)).unwrap();
            let n = ac.checked_mul(w(b)).unwrap().checked_add(w(r)).unwrap();
            let (q, rem) = n.div_rem(w(b)).unwrap();
            prop_assert_eq!(q, ac);
            prop_assert_eq!(rem, w(r));
            prop_assert_eq!(n.checked_sub(w(r)).unwrap().checked_sub(ac.checked_mul(w(b)).unwrap()), Some(Wide::ZERO));
        }

        #[test]
        fn order_and_float_follow_the_value(a in any::<u128>(), b in any::<u128>(), s in 0u32..3) {
            let scale = w(1u128 << 100).checked_mul(w(1u128 << (s * 60))).unwrap();
            let (x, y) = (w(a).checked_mul(scale).unwrap(), w(b).checked_mul(scale).unwrap());
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            if b != 0 {
                let exact = a as f64 / b as f64;
                let got = ratio(x, y).unwrap();
                prop_assert!((got - exact).abs() <= exact * 1e-15, "{got} vs {exact}");
            }
        }
    }
}
