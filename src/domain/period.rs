//! Reporting periods: a calendar month (`YYYY-MM`) and its quarter and year.

use std::fmt;

/// A calendar month. Ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: u16,
    month: u8,
}

impl Period {
    pub fn new(year: u16, month: u8) -> Option<Self> {
        ((1..=12).contains(&month) && (1..=9999).contains(&year)).then_some(Self { year, month })
    }

    /// A month known to be valid, for constants (panics at compile time otherwise).
    pub const fn new_unchecked(year: u16, month: u8) -> Self {
        assert!(month >= 1 && month <= 12 && year >= 1 && year <= 9999, "a valid month");
        Self { year, month }
    }

    /// Parses exactly `YYYY-MM` (four digits, a hyphen, two digits, month 01–12).
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 7 || b[4] != b'-' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u16> {
            b[r].iter().try_fold(0u16, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u16::from(c - b'0'))
            })
        };
        let year = digits(0..4)?;
        let month = digits(5..7)?;
        Self::new(year, u8::try_from(month).ok()?)
    }

    pub fn year(self) -> u16 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn quarter(self) -> Quarter {
        Quarter {
            year: self.year,
            q: (self.month - 1) / 3 + 1,
        }
    }

    /// Months since year 0, for arithmetic.
    pub fn index(self) -> i32 {
        i32::from(self.year) * 12 + i32::from(self.month) - 1
    }

    pub fn from_index(index: i32) -> Option<Self> {
        let year = u16::try_from(index.div_euclid(12)).ok()?;
        let month = u8::try_from(index.rem_euclid(12) + 1).ok()?;
        Self::new(year, month)
    }

    /// This period moved by `months` (negative goes back).
    pub fn add_months(self, months: i32) -> Option<Self> {
        Self::from_index(self.index() + months)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// A calendar quarter, shown as `YYYY-Qn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    year: u16,
    q: u8,
}

impl Quarter {
    pub fn new(year: u16, q: u8) -> Option<Self> {
        (1..=4).contains(&q).then_some(Self { year, q })
    }

    /// Parses `YYYY-Qn`, the form it is shown in.
    pub fn parse(s: &str) -> Option<Self> {
        let (year, q) = s.split_once("-Q")?;
        if year.len() != 4 || q.len() != 1 {
            return None;
        }
        Self::new(year.parse().ok()?, q.parse().ok()?)
    }

    /// Its first and last month.
    pub fn months(self) -> (Period, Period) {
        let month = |month| Period { year: self.year, month };
        (month(self.q * 3 - 2), month(self.q * 3))
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-Q{}", self.year, self.q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_reads_as_it_is_shown_and_spans_three_months() {
        let q = Period::parse("2025-08").unwrap().quarter();
        assert_eq!(q.to_string(), "2025-Q3");
        assert_eq!(Quarter::parse("2025-Q3"), Some(q));
        let (first, last) = q.months();
        assert_eq!(
            (first.to_string(), last.to_string()),
            ("2025-07".into(), "2025-09".into())
        );
        for bad in ["2025-Q0", "2025-Q5", "25-Q1", "2025-Q12", "2025Q1"] {
            assert_eq!(Quarter::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_only_the_canonical_form() {
        assert_eq!(Period::parse("2024-01"), Period::new(2024, 1));
        assert_eq!(Period::parse("2024-12").unwrap().to_string(), "2024-12");
        for bad in [
            "2024-13",
            "2024-00",
            "2024-1",
            "24-01",
            "2024/01",
            "2024-01 ",
            "２０２４-01",
            "0000-01",
            "abcd-ef",
        ] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn quarters_and_arithmetic() {
        let p = Period::parse("2024-11").unwrap();
        assert_eq!(p.quarter().to_string(), "2024-Q4");
        assert_eq!(Period::parse("2024-03").unwrap().quarter().to_string(), "2024-Q1");
        assert_eq!(p.add_months(-11).unwrap().to_string(), "2023-12");
        assert_eq!(p.add_months(2).unwrap().to_string(), "2025-01");
    }
}
