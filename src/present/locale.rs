//! Numbers as Vietnamese officials write them (1.234.567,8; 7,2 %; tỷ đồng)
//! and the English alternative. Pure formatting: no figures are computed here.
//! The separators and unit texts come from the label catalogue.

use super::labels;
use chrono::{Datelike, Timelike};

pub use super::labels::Lang;

/// The thousands separator and the decimal point of `lang`.
fn separators(lang: Lang) -> (char, char) {
    let number = &labels::of(lang).number;
    let first = |s: &str| s.chars().next().unwrap_or(' ');
    (first(number.thousands), first(number.point))
}

/// An integer with thousands separators: 1.234.567 (vi), 1,234,567 (en).
pub fn integer(n: i128, lang: Lang) -> String {
    let (thousands, _) = separators(lang);
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(thousands);
        }
        out.push(c);
    }
    out
}

/// A decimal with `places` fractional digits: 1.234,5 (vi), 1,234.5 (en).
pub fn decimal(x: f64, places: usize, lang: Lang) -> String {
    let (_, point) = separators(lang);
    let s = format!("{:.*}", places, x.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let int: i128 = int.parse().unwrap_or(0);
    let sign = if x < 0.0 && s.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        "-"
    } else {
        ""
    };
    let mut out = format!("{sign}{}", integer(int, lang));
    if places > 0 {
        out.push(point);
        out.push_str(frac);
    }
    out
}

/// A share as a percentage: 7,2 % (vi, with a space before the sign), 7.2% (en).
pub fn percent(share: f64, places: usize, lang: Lang) -> String {
    let n = decimal(share * 100.0, places, lang);
    labels::fill(labels::of(lang).units.percent, &[("n", &n)])
}

/// A change as a signed percentage: +23,4 % / −5,0 % (vi), +23.4% (en);
/// no sign when it rounds to zero.
pub fn signed_percent(share: f64, places: usize, lang: Lang) -> String {
    let n = decimal((share * 100.0).abs(), places, lang);
    let sign = if !n.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        ""
    } else if share > 0.0 {
        "+"
    } else {
        "−"
    };
    labels::fill(labels::of(lang).units.percent, &[("n", &format!("{sign}{n}"))])
}

/// A targets' programme as shown: its document's number (`2326/QĐ-TTg`),
/// the former targets table by its label.
pub fn program(program: &str, lang: Lang) -> String {
    if program == crate::domain::targets::LEGACY {
        labels::of(lang).targets.legacy.to_string()
    } else {
        program.to_string()
    }
}

/// A programme's target as read, to one decimal: `11,0 %`, a band
/// `11,0 %–12,0 %`, or `từ 10,0 % trở lên` without an upper bound.
pub fn target_range(low: f64, high: Option<f64>, lang: Lang) -> String {
    let low_text = percent(low, 1, lang);
    match high {
        Some(h) if percent(h, 1, lang) != low_text => format!("{low_text}–{}", percent(h, 1, lang)),
        Some(_) => low_text,
        None => labels::fill(labels::of(lang).targets.at_least, &[("low", &low_text)]),
    }
}

/// The governing target with its programme: `11,0 % theo 2326/QĐ-TTg`;
/// the standing's "no target" without one.
pub fn target_with_program(target: Option<f64>, program: Option<&str>, lang: Lang) -> String {
    let l = labels::of(lang);
    match (target, program) {
        (Some(t), Some(p)) => format!(
            "{} {}",
            percent(t, 1, lang),
            labels::fill(l.targets.under, &[("program", &self::program(p, lang))])
        ),
        (Some(t), None) => percent(t, 1, lang),
        (None, _) => l.standing.no_target.to_string(),
    }
}

/// Every programme's target, for a list: `1568/QĐ-BCT: 12,0 % (theo lộ trình)`.
pub fn target_values(values: &[crate::service::figures::TargetValue], lang: Lang) -> Vec<String> {
    let l = &labels::of(lang).targets;
    values
        .iter()
        .map(|v| {
            labels::fill(
                l.value,
                &[
                    ("program", &program(&v.program, lang)),
                    ("value", &target_range(v.low, v.high, lang)),
                    (
                        "kind",
                        match v.kind {
                            crate::domain::ValueKind::Path => l.path,
                            crate::domain::ValueKind::Point => l.point,
                        },
                    ),
                ],
            )
        })
        .collect()
}

/// Percentage points with a sign: +1,3 điểm % / −0,4 pp.
pub fn points(pp: f64, places: usize, lang: Lang) -> String {
    let n = decimal(pp.abs(), places, lang);
    let sign = if pp > 0.0 {
        "+"
    } else if pp < 0.0 {
        "−"
    } else {
        ""
    };
    labels::fill(labels::of(lang).units.points, &[("sign", sign), ("n", &n)])
}

/// Money in billions of đồng: 1.234,5 tỷ đồng / VND 1,234.5 bn.
pub fn ty_dong(vnd: f64, places: usize, lang: Lang) -> String {
    let n = decimal(vnd / 1e9, places, lang);
    labels::fill(labels::of(lang).units.billion_dong, &[("n", &n)])
}

/// What a figure withheld by disclosure control shows, in tables of either
/// language (the statistical convention for confidential cells).
pub const SUPPRESSED: &str = "x";

/// How a standing against the target reads (glossary: đạt / chưa đạt).
pub fn status_label(s: crate::domain::Status, lang: Lang) -> &'static str {
    use crate::domain::Status;
    let standing = &labels::of(lang).standing;
    match s {
        Status::Met => standing.met,
        Status::Below => standing.below,
        Status::NoTarget => standing.no_target,
        Status::NoData => standing.no_data,
        Status::Suppressed => standing.suppressed,
    }
}

/// A release state in words ("ước tính", "sơ bộ", "chính thức").
pub fn release_label(r: crate::domain::Release, lang: Lang) -> &'static str {
    use crate::domain::Release;
    let l = &labels::of(lang).release;
    match r {
        Release::Estimate => l.estimate,
        Release::Preliminary => l.preliminary,
        Release::Final => l.final_state,
    }
}

/// A `YYYY-MM` month in running text ("tháng 6/2025"); anything else as it is.
pub fn month(period: &str, lang: Lang) -> String {
    match crate::domain::Period::parse(period) {
        Some(p) => labels::fill(
            labels::of(lang).page.month_of_year,
            &[("month", &p.month().to_string()), ("year", &p.year().to_string())],
        ),
        None => period.to_string(),
    }
}

/// An RFC 3339 instant in Vietnam's time, to the minute, as the reader
/// writes it; anything else as it is.
pub fn local_time(stamp: &str, lang: Lang) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(stamp) else {
        return stamp.to_string();
    };
    let t = t.with_timezone(&crate::service::vietnam_offset());
    labels::fill(
        labels::of(lang).dates.datetime,
        &[
            ("day", &format!("{:02}", t.day())),
            ("month", &format!("{:02}", t.month())),
            ("year", &t.year().to_string()),
            ("hour", &format!("{:02}", t.hour())),
            ("minute", &format!("{:02}", t.minute())),
        ],
    )
}

/// A `YYYY-MM-DD` day as the reader writes dates; anything else as it is.
pub fn local_date(date: &str, lang: Lang) -> String {
    let Ok(d) = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
        return date.to_string();
    };
    labels::fill(
        labels::of(lang).dates.date,
        &[
            ("day", &format!("{:02}", d.day())),
            ("month", &format!("{:02}", d.month())),
            ("year", &d.year().to_string()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_with_their_programme() {
        assert_eq!(target_range(0.11, Some(0.12), Lang::Vi), "11,0 %–12,0 %");
        assert_eq!(target_range(0.12, Some(0.12), Lang::En), "12.0%");
        assert_eq!(target_range(0.1, None, Lang::Vi), "từ 10,0 % trở lên");
        assert_eq!(
            target_with_program(Some(0.11), Some("2326/QĐ-TTg"), Lang::Vi),
            "11,0 % theo 2326/QĐ-TTg"
        );
        assert_eq!(
            target_with_program(Some(0.1), Some("legacy"), Lang::En),
            "10.0% under the former targets table"
        );
        assert_eq!(target_with_program(None, None, Lang::Vi), "Chưa có mục tiêu");
        let values = [crate::service::figures::TargetValue {
            program: "1568/QĐ-BCT".into(),
            low: 0.12,
            high: Some(0.12),
            kind: crate::domain::ValueKind::Path,
        }];
        assert_eq!(
            target_values(&values, Lang::Vi),
            ["1568/QĐ-BCT: 12,0 % (theo lộ trình)"]
        );
    }

    #[test]
    fn vietnamese_style() {
        assert_eq!(integer(1_234_567, Lang::Vi), "1.234.567");
        assert_eq!(integer(-1_000, Lang::Vi), "-1.000");
        assert_eq!(integer(999, Lang::Vi), "999");
        assert_eq!(decimal(1_234_567.84, 1, Lang::Vi), "1.234.567,8");
        assert_eq!(percent(0.072, 1, Lang::Vi), "7,2 %");
        assert_eq!(points(-0.44, 1, Lang::Vi), "−0,4 điểm %");
        assert_eq!(ty_dong(1_234_500_000_000.0, 1, Lang::Vi), "1.234,5 tỷ đồng");
        assert_eq!(signed_percent(0.2344, 1, Lang::Vi), "+23,4 %");
        assert_eq!(signed_percent(-0.05, 1, Lang::Vi), "−5,0 %");
        assert_eq!(signed_percent(-0.0004, 1, Lang::Vi), "0,0 %");
    }

    #[test]
    fn english_style() {
        assert_eq!(integer(1_234_567, Lang::En), "1,234,567");
        assert_eq!(percent(0.072, 1, Lang::En), "7.2%");
        assert_eq!(decimal(-0.04, 1, Lang::En), "0.0");
        assert_eq!(signed_percent(12.5, 1, Lang::En), "+1,250.0%");
    }
}
