//! The outlook's unit and property tests: worked examples, a naive oracle.

use super::*;

fn vnd(d: i64) -> WeightedVnd {
    WeightedVnd::of(d, WEIGHT_ONE)
}

fn period(y: u16, m: u8) -> Period {
    Period::new(y, m).unwrap()
}

/// A programme's e-commerce share target of `num / den` ("at least").
pub(super) fn target(num: u64, den: u64) -> Target {
    Target {
        program: "1568/QĐ-BCT".into(),
        indicator: crate::domain::targets::Indicator::EcommerceShare,
        scope: "province".into(),
        year: 2024,
        kind: crate::domain::targets::ValueKind::Path,
        low: Fraction::new(num.into(), den.into()).unwrap(),
        high: None,
        source: String::new(),
    }
}

/// A series from (year, [totals], [e-commerce]) in whole đồng.
fn series(years: &[(u16, &[i64], &[i64])]) -> MonthlySeries {
    let mut s = MonthlySeries::new();
    for (year, totals, ecom) in years {
        for (i, (t, e)) in totals.iter().zip(ecom.iter()).enumerate() {
            s.insert(period(*year, i as u8 + 1), vnd(*t), vnd(*e)).unwrap();
        }
    }
    s
}

fn input<'a>(s: &'a MonthlySeries, year: u16, through: u8, t: Option<&'a Target>) -> OutlookInput<'a> {
    OutlookInput {
        series: s,
        year,
        through,
        target: t,
        growth_target: None,
        communes: None,
        communes_target: None,
    }
}

const FLAT_T: [i64; 12] = [100; 12];
const FLAT_E: [i64; 12] = [10; 12];
/// Last year: a seasonal total (L = 1400) and e-commerce (L = 160).
const LAST_T: [i64; 12] = [100, 200, 100, 100, 100, 100, 100, 100, 100, 100, 100, 200];
const LAST_E: [i64; 12] = [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 50];

/// Y = 2024 through March: total 440 against 400 (growth 1.1), e-commerce
/// 45 against 30 (growth 1.5).
fn worked() -> MonthlySeries {
    series(&[(2023, &LAST_T, &LAST_E), (2024, &[120, 220, 100], &[15, 15, 15])])
}

#[test]
fn growth_and_projection_by_hand() {
    let s = worked();
    let t = project_series(&s, 2024, 3, Series::Total).unwrap();
    let e = project_series(&s, 2024, 3, Series::Ecommerce).unwrap();
    // 440 + 1.1 × 1000 = 1540; 45 + 1.5 × 130 = 240 (micro-đồng fractions).
    assert_eq!(
        t.num.div_rem(t.den).unwrap(),
        (Wide::from_u128(1540 * 1_000_000), Wide::ZERO)
    );
    assert_eq!(
        e.num.div_rem(e.den).unwrap(),
        (Wide::from_u128(240 * 1_000_000), Wide::ZERO)
    );
    let o = outlook(&input(&s, 2024, 3, None)).unwrap();
    assert!((o.projection.share.unwrap() - 240.0 / 1540.0).abs() < 1e-15);
    assert_eq!(o.ytd.share, Some(45.0 / 440.0));
    assert_eq!(o.ytd.total_revenue_vnd.to_string(), "440");
    assert_eq!(o.ytd.ecommerce_revenue_vnd.to_string(), "45");
    assert_eq!(o.status, OutlookStatus::NoTarget);
    // One year of history: no backtest, no interval.
    assert_eq!(
        (o.projection.low, o.projection.high, o.projection.backtest_years),
        (None, None, 0)
    );
    // 45 / 30 − 1.
    assert_eq!(o.indicators[0].value, Some(0.5));
}

#[test]
fn needed_revenue_rounds_up_to_whole_dong() {
    let s = worked();
    // 20 %: 0.2 × 1540 − 45 = 263 over 9 months = 29.2… → 30.
    let twenty = target(1, 5);
    let o = outlook(&input(&s, 2024, 3, Some(&twenty))).unwrap();
    assert_eq!(o.needed_monthly_ecommerce_vnd.unwrap().to_string(), "30");
    // 9/44: 315 − 45 = 270 = 9 × 30 exactly: no rounding.
    let exact = target(9, 44);
    let o = outlook(&input(&s, 2024, 3, Some(&exact))).unwrap();
    assert_eq!(o.needed_monthly_ecommerce_vnd.unwrap().to_string(), "30");
    // One micro-đồng less e-commerce so far: 30.000000111… → 31.
    let mut short = MonthlySeries::new();
    for (p, sums) in &s.months {
        let e = if *p == period(2024, 3) {
            sums.ecommerce - 1
        } else {
            sums.ecommerce
        };
        short
            .insert(
                *p,
                WeightedVnd::from_micro(sums.total as i128),
                WeightedVnd::from_micro(e as i128),
            )
            .unwrap();
    }
    let o = outlook(&input(&short, 2024, 3, Some(&exact))).unwrap();
    assert_eq!(o.needed_monthly_ecommerce_vnd.unwrap().to_string(), "31");
    // Already enough: 45 ≥ 0.02 × 1540 = 30.8.
    let low = target(2, 100);
    let o = outlook(&input(&s, 2024, 3, Some(&low))).unwrap();
    assert_eq!(o.needed_monthly_ecommerce_vnd.unwrap().to_string(), "0");
}

#[test]
fn province_scale_sums_stay_exact() {
    // 10¹³ đồng a month last year, 1.1 × that this year through June:
    // a·L = 6.6·10¹⁹ × 1.2·10²⁰ micro-đồng, beyond i128.
    let last = [10_000_000_000_000; 12];
    let this = [11_000_000_000_000; 6];
    let s = series(&[
        (2024, &last, &[700_000_000_000; 12]),
        (2025, &this, &[800_000_000_000; 6]),
    ]);
    let ten = target(1, 10);
    let o = outlook(&input(&s, 2025, 6, Some(&ten))).unwrap();
    // 0.1 × 1.32·10¹⁴ − 4.8·10¹² = 8.4·10¹² over 6 months.
    assert_eq!(o.needed_monthly_ecommerce_vnd.unwrap().to_string(), "1400000000000");
    assert_eq!(o.ytd.total_revenue_vnd.to_string(), "66000000000000");
    // E-commerce grows by 8/7: 4.8·10¹² + 8/7 × 4.2·10¹² = 9.6·10¹² over 1.32·10¹⁴.
    assert!((o.projection.share.unwrap() - 9.6 / 132.0).abs() < 1e-15);
    // A target 10⁻¹⁵ higher: 0.132 đồng more in all, a whole đồng more a month.
    let eleven = target(100_000_000_000_001, 1_000_000_000_000_000);
    let o = outlook(&input(&s, 2025, 6, Some(&eleven))).unwrap();
    assert_eq!(o.needed_monthly_ecommerce_vnd.unwrap().to_string(), "1400000000001");
}

#[test]
fn through_january_takes_the_tet_block_whole() {
    // Tết in February 2022 and 2023, in January 2024; growth 1.1 a year.
    let y2022: [i64; 12] = [100, 200, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100];
    let y2023: [i64; 12] = [110, 220, 110, 110, 110, 110, 110, 110, 110, 110, 110, 110];
    let s = series(&[(2022, &y2022, &y2022), (2023, &y2023, &y2023), (2024, &[242], &[242])]);
    // January's own ratio would be 242 / 110 = 2.2. The trailing twelve
    // months: (1320 + 242) / (1200 + 110) = 1562 / 1310.
    let p = project_series(&s, 2024, 1, Series::Total).unwrap();
    assert_eq!(
        (p.num, p.den),
        (
            Wide::from_u128(1562 * 1430 * 10u128.pow(12)),
            Wide::from_u128(1310 * 1_000_000)
        )
    );
    // The block: February = 1562/1310 × 330 − 242 ≈ 151.5, not 1562/1310 × 220 ≈ 262.3.
    let (q, _) = p.num.div_rem(p.den).unwrap();
    let expected = 1562.0 * 1430.0 / 1310.0;
    assert!((q.to_f64() / 1e6 - expected).abs() < 1.0);

    // January alone above the block's projection: February is zero.
    let s = series(&[(2022, &y2022, &y2022), (2023, &y2023, &y2023), (2024, &[500], &[500])]);
    let p = project_series(&s, 2024, 1, Series::Total).unwrap();
    // a = 1320 + 500 = 1820, b = 1310: block 1820/1310 × 330 ≈ 458.5 < 500.
    let head = 500 * 1310;
    let rest = 1820 * 1100;
    assert_eq!(p.num, Wide::from_u128((head + rest) * 10u128.pow(12)));

    // Without 2022's February–December there is no projection at January.
    let s = series(&[(2023, &y2023, &y2023), (2024, &[242], &[242])]);
    assert_eq!(project_series(&s, 2024, 1, Series::Total), None);
    let o = outlook(&input(&s, 2024, 1, Some(&target(1, 10)))).unwrap();
    assert_eq!(o.projection.share, None);
    assert_eq!(o.status, OutlookStatus::InsufficientHistory);
    assert_eq!(o.needed_monthly_ecommerce_vnd, None);
}

#[test]
fn months_after_through_are_not_used() {
    let mut s = worked();
    let before = outlook(&input(&s, 2024, 3, Some(&target(1, 5)))).unwrap();
    s.insert(period(2024, 4), vnd(9_999), vnd(9_000)).unwrap();
    let after = outlook(&input(&s, 2024, 3, Some(&target(1, 5)))).unwrap();
    assert_eq!(before, after);
}

/// 2020–2024 with a flat total of 100 a month and e-commerce of 10 a
/// month in the first half and 10, 11, 12, 10, 11 in the second half;
/// then 2025 through June at 10 a month.
fn history() -> MonthlySeries {
    let mut s = MonthlySeries::new();
    for (y, late) in (2020..).zip([10, 11, 12, 10, 11]) {
        for m in 1..=12 {
            s.insert(period(y, m), vnd(100), vnd(if m > 6 { late } else { 10 }))
                .unwrap();
        }
    }
    for m in 1..=6 {
        s.insert(period(2025, m), vnd(100), vnd(10)).unwrap();
    }
    s
}

#[test]
fn interval_from_the_replayed_years() {
    let s = history();
    // Replayed at June, each year y projects 60 × (y−1's year / 60) of
    // e-commerce over 1200 of total: y−1's share. Realised against
    // projected: 2021 0.105 / 0.1, 2022 0.11 / 0.105, 2023 0.1 / 0.11,
    // 2024 0.105 / 0.1. (2020 has no year before it.)
    let errors = backtest_errors(&s, 2025, 6);
    let expected = [0.05, 0.11 / 0.105 - 1.0, 1.0 - 0.1 / 0.11, 0.05];
    assert_eq!(errors.len(), 4);
    for (got, want) in errors.iter().zip(expected) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    // n = 4: rank ⌈5 × 0.8⌉ = 4, the largest: 1 − 0.1/0.11 ≈ 0.0909.
    let o = outlook(&input(&s, 2025, 6, Some(&target(1, 10)))).unwrap();
    assert_eq!(o.projection.backtest_years, 4);
    // 2025 projects 2024's share: 0.105.
    let p = o.projection.share.unwrap();
    assert!((p - 0.105).abs() < 1e-12);
    let q = 1.0 - 0.1 / 0.11;
    assert!((o.projection.low.unwrap() - p * (1.0 - q)).abs() < 1e-12);
    assert!((o.projection.high.unwrap() - p * (1.0 + q)).abs() < 1e-12);
    // 0.105 × (1 − 0.0909) ≈ 0.0955 < 0.1 ≤ 0.1145: at risk.
    assert_eq!(o.status, OutlookStatus::AtRisk);
    assert_eq!(o.projection.method, "seasonal_naive_ytd_growth");
    // With only 2023 and 2024 replayable (two years): an interval; with
    // one, none.
    let mut short = MonthlySeries::new();
    for (p, v) in s.months.iter().filter(|(p, _)| p.year() >= 2022) {
        short.months.insert(*p, *v);
    }
    let o = outlook(&input(&short, 2025, 6, Some(&target(1, 10)))).unwrap();
    assert_eq!(o.projection.backtest_years, 2);
    assert!(o.projection.low.is_some());
    short.months.retain(|p, _| p.year() >= 2023);
    let o = outlook(&input(&short, 2025, 6, Some(&target(1, 10)))).unwrap();
    assert_eq!((o.projection.backtest_years, o.projection.low), (1, None));
    assert_eq!(o.status, OutlookStatus::InsufficientHistory);
}

#[test]
fn conformal_rank() {
    let e = |n: usize| (1..=n).map(|i| i as f64).collect::<Vec<_>>();
    assert_eq!(half_width(e(1)), None);
    assert_eq!(half_width(e(2)), Some(2.0)); // rank 3 > 2: the largest
    assert_eq!(half_width(e(4)), Some(4.0)); // ⌈4.0⌉ = 4
    assert_eq!(half_width(e(9)), Some(8.0)); // ⌈8.0⌉ = 8
    assert_eq!(half_width(e(10)), Some(9.0)); // ⌈8.8⌉ = 9
    assert_eq!(
        half_width(vec![3.0, 1.0, 2.0, 9.0, 4.0, 5.0, 6.0, 7.0, 8.0, 0.5]),
        Some(8.0)
    );
}

/// `x` as an exact fraction over 2⁶⁰ (exact for the shares here, whose
/// ulp is at least 2⁻⁶⁰).
fn exactly(x: f64) -> Target {
    let den = 1u64 << 60;
    let num = (x * den as f64) as u64;
    assert_eq!(num as f64 / den as f64, x);
    target(num, den)
}

#[test]
fn statuses_at_the_boundaries() {
    let s = history();
    let o = outlook(&input(&s, 2025, 6, None)).unwrap();
    let (lo, hi) = (o.projection.low.unwrap(), o.projection.high.unwrap());
    let status = |t: Target| outlook(&input(&s, 2025, 6, Some(&t))).unwrap().status;
    // The interval's low exactly on target: on track; a hair above it: at risk.
    assert_eq!(status(exactly(lo)), OutlookStatus::OnTrack);
    assert_eq!(status(exactly(lo.next_up())), OutlookStatus::AtRisk);
    // The high exactly on target: at risk; a hair below it: off track.
    assert_eq!(status(exactly(hi)), OutlookStatus::AtRisk);
    assert_eq!(status(exactly(hi.next_up())), OutlookStatus::OffTrack);

    // A complete year exactly on target is met; a micro-đồng less is below.
    let s = series(&[(2024, &FLAT_T, &FLAT_E)]);
    let o = outlook(&input(&s, 2024, 12, Some(&target(1, 10)))).unwrap();
    assert_eq!(o.status, OutlookStatus::Met);
    assert_eq!(o.needed_monthly_ecommerce_vnd, None);
    assert_eq!(o.projection.share, Some(0.1));
    assert_eq!((o.projection.low, o.projection.high), (Some(0.1), Some(0.1)));
    let mut less = MonthlySeries::new();
    for m in 1..=12 {
        let e = if m == 12 { vnd(10).micro() - 1 } else { vnd(10).micro() };
        less.insert(period(2024, m), vnd(100), WeightedVnd::from_micro(e))
            .unwrap();
    }
    assert_eq!(
        outlook(&input(&less, 2024, 12, Some(&target(1, 10)))).unwrap().status,
        OutlookStatus::Below
    );

    // No data this year; no target.
    let s = series(&[(2023, &FLAT_T, &FLAT_E), (2024, &[0, 0], &[0, 0])]);
    let o = outlook(&input(&s, 2024, 2, Some(&target(1, 10)))).unwrap();
    assert_eq!(o.status, OutlookStatus::NoData);
    assert_eq!((o.ytd.share, o.needed_monthly_ecommerce_vnd), (None, None));
    let s = series(&[(2024, &FLAT_T, &FLAT_E)]);
    assert_eq!(
        outlook(&input(&s, 2024, 12, None)).unwrap().status,
        OutlookStatus::NoTarget
    );
}

#[test]
fn indicators_against_their_targets() {
    let s = series(&[(2023, &FLAT_T, &FLAT_E), (2024, &FLAT_T, &[12; 12])]);
    let twenty = target(1, 5);
    let mut i = input(&s, 2024, 12, None);
    i.growth_target = Some(&twenty);
    i.communes = Some(CommuneCounts {
        selling: 3,
        in_force: 5,
    });
    let sixty = target(3, 5);
    i.communes_target = Some(&sixty);
    let o = outlook(&i).unwrap();
    // 144 / 120 − 1 = 0.2 exactly on target: met; 3/5 = 60 %: met.
    assert_eq!(o.indicators[0].indicator, "ecommerce_growth");
    assert!((o.indicators[0].value.unwrap() - 0.2).abs() < 1e-15);
    assert_eq!(o.indicators[0].status, OutlookStatus::Met);
    assert_eq!(o.indicators[0].target_low, Some(0.2));
    assert_eq!(o.indicators[1].status, OutlookStatus::Met);
    assert_eq!(o.indicators[1].value, Some(0.6));
    // Before the year ends: on track; a hair more needed: at risk / below.
    i.through = 6;
    assert_eq!(outlook(&i).unwrap().indicators[0].status, OutlookStatus::OnTrack);
    assert_eq!(outlook(&i).unwrap().indicators[1].status, OutlookStatus::OnTrack);
    let more = target(200_001, 1_000_000);
    i.growth_target = Some(&more);
    i.communes = Some(CommuneCounts {
        selling: 2,
        in_force: 5,
    });
    let o = outlook(&i).unwrap();
    assert_eq!(
        (o.indicators[0].status, o.indicators[1].status),
        (OutlookStatus::AtRisk, OutlookStatus::AtRisk)
    );
    i.through = 12;
    let o = outlook(&i).unwrap();
    assert_eq!(
        (o.indicators[0].status, o.indicators[1].status),
        (OutlookStatus::Below, OutlookStatus::Below)
    );
    // Falling e-commerce: a negative growth; none without last year.
    let s = series(&[(2023, &FLAT_T, &FLAT_E), (2024, &FLAT_T, &[8; 12])]);
    let o = outlook(&input(&s, 2024, 12, None)).unwrap();
    assert!((o.indicators[0].value.unwrap() + 0.2).abs() < 1e-15);
    assert_eq!(o.indicators[0].status, OutlookStatus::NoTarget);
    let s = series(&[(2024, &FLAT_T, &FLAT_E)]);
    let o = outlook(&input(&s, 2024, 12, Some(&twenty))).unwrap();
    assert_eq!(
        (o.indicators[0].value, o.indicators[0].status),
        (None, OutlookStatus::NoData)
    );
    assert_eq!(
        communes_indicator(
            CommuneCounts {
                selling: 0,
                in_force: 0
            },
            true,
            None
        )
        .status,
        OutlookStatus::NoData
    );
}

#[test]
fn invalid_inputs_are_refused_with_their_codes() {
    let s = worked();
    assert_eq!(
        outlook(&input(&s, 2024, 0, None)).unwrap_err().code(),
        "invalid_through"
    );
    assert_eq!(
        outlook(&input(&s, 2024, 13, None)).unwrap_err().code(),
        "invalid_through"
    );
    let bad = Target {
        high: Fraction::new(1, 10),
        ..target(1, 5)
    };
    assert_eq!(
        outlook(&input(&s, 2024, 3, Some(&bad))).unwrap_err().code(),
        "invalid_target"
    );
    let mut s = MonthlySeries::new();
    assert_eq!(
        s.insert(period(2024, 1), vnd(-1), vnd(0)).unwrap_err().code(),
        "negative_amount"
    );
    s.insert(period(2024, 1), vnd(1), vnd(0)).unwrap();
    assert_eq!(
        s.insert(period(2024, 1), vnd(1), vnd(0)).unwrap_err().code(),
        "duplicate_month"
    );
    assert_eq!(Fraction::new(1, 0), None);
}

#[test]
fn the_json_contract() {
    let s = worked();
    let t = Target {
        high: Fraction::new(1, 4),
        ..target(1, 5)
    };
    let o = outlook(&input(&s, 2024, 3, Some(&t))).unwrap();
    let v = serde_json::to_value(&o).unwrap();
    assert_eq!(v["ytd"]["total_revenue_vnd"], "440");
    assert_eq!(v["ytd"]["ecommerce_revenue_vnd"], "45");
    assert_eq!(v["projection"]["level"], 0.8);
    assert_eq!(v["projection"]["method"], "seasonal_naive_ytd_growth");
    assert_eq!(v["projection"]["backtest_years"], 0);
    assert!(v["projection"]["low"].is_null());
    assert_eq!(v["target"]["program"], "1568/QĐ-BCT");
    assert_eq!(v["target"]["low"], 0.2);
    assert_eq!(v["target"]["high"], 0.25);
    assert_eq!(v["status"], "insufficient_history");
    assert_eq!(v["needed_monthly_ecommerce_vnd"], "30");
    assert_eq!(v["indicators"][0]["indicator"], "ecommerce_growth");
    assert!(v["indicators"][0]["target_low"].is_null());
    assert_eq!(v["indicators"][0]["status"], "no_target");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "year",
        "through",
        "ytd",
        "projection",
        "target",
        "status",
        "needed_monthly_ecommerce_vnd",
        "indicators",
    ] {
        assert!(keys.contains(&k), "{k}");
    }
}

mod oracle {
    //! A naive recomputation: i128 sums month by month, the remaining
    //! months projected one by one as fractions over the growth's
    //! denominator, decisions by cross-multiplication. No float, no
    //! `Wide`, no a·L/b shortcut.
    use super::*;
    use proptest::prelude::*;

    /// Totals and e-commerce (≤ total) in micro-đồng, by [year][month].
    type Years = Vec<Vec<(i128, i128)>>;

    fn month() -> impl Strategy<Value = (i128, i128)> {
        (
            0i128..1_000_000_000_000,
            0u32..=100,
            prop_oneof![3 => Just(false), 1 => Just(true)],
        )
            .prop_map(|(t, pct, none)| (t, if none { 0 } else { t * i128::from(pct) / 100 }))
    }

    fn years() -> impl Strategy<Value = Years> {
        prop::collection::vec(prop::collection::vec(month(), 12), 3..=4)
    }

    fn build(years: &Years, first: u16, through: u8) -> MonthlySeries {
        let mut s = MonthlySeries::new();
        let last = years.len() - 1;
        for (i, months) in years.iter().enumerate() {
            for (m, (t, e)) in months.iter().enumerate() {
                let m = m as u8 + 1;
                // The outlook year only through `through`.
                if i < last || m <= through {
                    let p = period(first + i as u16, m);
                    s.insert(p, WeightedVnd::from_micro(*t), WeightedVnd::from_micro(*e))
                        .unwrap();
                }
            }
        }
        s
    }

    /// The projected full year of one series as (numerator, denominator).
    fn full_year(years: &Years, through: usize, pick: fn(&(i128, i128)) -> i128) -> Option<(i128, i128)> {
        let n = years.len();
        let (this, last, before) = (&years[n - 1], &years[n - 2], &years[n - 3]);
        let so_far: i128 = this[..through].iter().map(pick).sum();
        if through >= 2 {
            let a = so_far;
            let b: i128 = last[..through].iter().map(pick).sum();
            if b == 0 {
                return None;
            }
            let mut num = so_far * b;
            for month in &last[through..] {
                num += a * pick(month);
            }
            Some((num, b))
        } else {
            let a: i128 = last[1..].iter().map(pick).sum::<i128>() + pick(&this[0]);
            let b: i128 = before[1..].iter().map(pick).sum::<i128>() + pick(&last[0]);
            if b == 0 {
                return None;
            }
            let feb = (a * (pick(&last[0]) + pick(&last[1])) - b * pick(&this[0])).max(0);
            let mut num = so_far * b + feb;
            for month in &last[2..] {
                num += a * pick(month);
            }
            Some((num, b))
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]
        #[test]
        fn sums_growth_and_needed_revenue_agree_with_the_oracle(
            years in years(),
            through in 1u8..=11,
            den in 1u64..=1000,
            num_permille in 0u64..=1000,
            growth_num in 0u64..=1000,
        ) {
            let low = Fraction::new((num_permille * den / 1000).into(), den.into()).unwrap();
            let t = Target { low, ..target(0, 1) };
            let g = Target { program: "g".into(), low: Fraction::new(growth_num.into(), 1000).unwrap(), ..target(0, 1) };
            let s = build(&years, 2020, through);
            let i = OutlookInput {
                series: &s, year: 2020 + years.len() as u16 - 1, through, target: Some(&t),
                growth_target: Some(&g), communes: None, communes_target: None,
            };
            let o = outlook(&i).unwrap();
            let tr = usize::from(through);
            let n = years.len();
            let (this, last) = (&years[n - 1], &years[n - 2]);

            // Year-to-date sums.
            let total: i128 = this[..tr].iter().map(|m| m.0).sum();
            let ecom: i128 = this[..tr].iter().map(|m| m.1).sum();
            prop_assert_eq!(o.ytd.total_revenue_vnd.micro(), total);
            prop_assert_eq!(o.ytd.ecommerce_revenue_vnd.micro(), ecom);

            // Growth: its value and its status, decided exactly.
            let before: i128 = last[..tr].iter().map(|m| m.1).sum();
            let ind = &o.indicators[0];
            if before == 0 {
                prop_assert_eq!(ind.value, None);
                prop_assert_eq!(ind.status, OutlookStatus::NoData);
            } else {
                let exact = (ecom - before) as f64 / before as f64;
                prop_assert!((ind.value.unwrap() - exact).abs() <= exact.abs() * 1e-12);
                // ecom / before − 1 ≥ g ⇔ ecom·1000 ≥ before·(g + 1000).
                let reached = ecom * 1000 >= before * (i128::from(growth_num) + 1000);
                let want = if reached { OutlookStatus::OnTrack } else { OutlookStatus::AtRisk };
                prop_assert_eq!(ind.status, want);
            }

            // The needed revenue: the least whole đồng x per month with
            // ecom + R·x ≥ low × projected full-year total.
            let projected_total = full_year(&years, tr, |m| m.0);
            match (projected_total, total) {
                (_, 0) | (None, _) => prop_assert_eq!(o.needed_monthly_ecommerce_vnd, None),
                (Some((pn, pd)), _) => {
                    let x = o.needed_monthly_ecommerce_vnd.unwrap().micro();
                    prop_assert_eq!(x % 1_000_000, 0, "whole đồng");
                    let r = i128::from(12 - through);
                    let (ln, ld) = (i128::from(low.numerator()), i128::from(low.denominator()));
                    // (ecom + r·x)·ld·pd ≥ ln·pn, and not with x − 1 đồng.
                    let enough = |x: i128| (ecom + r * x) * ld * pd >= ln * pn;
                    prop_assert!(enough(x));
                    prop_assert!(x == 0 || !enough(x - 1_000_000));
                }
            }

            // The projected share, from the oracle's fractions.
            let projected_ecom = full_year(&years, tr, |m| m.1);
            match (projected_total, projected_ecom) {
                (Some((tn, td)), Some((en, ed))) if tn > 0 => {
                    let want = (en as f64 / ed as f64) / (tn as f64 / td as f64);
                    let got = o.projection.share.unwrap();
                    prop_assert!((got - want).abs() <= want * 1e-9, "{} vs {}", got, want);
                }
                _ => prop_assert_eq!(o.projection.share, None),
            }
        }
    }
}
