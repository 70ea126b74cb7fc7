//! The year's outlook for one scope (the province, a district or a commune):
//! where the year's e-commerce share stands so far, where it is heading, and
//! what it takes to end the year on target.
//!
//! Owns the projection method, its interval, the outlook's statuses, the
//! e-commerce needed per remaining month and the two indicators' statuses.
//! Pure: monthly exact sums and a target in, plain data out. It reads no
//! files and no clock, and does not choose the governing target (the caller
//! passes the governing [`Target`] of `domain::targets`; programmes and
//! paths live in the reference).
//!
//! # Inputs
//!
//! A [`MonthlySeries`]: the scope's exact sums (total and e-commerce revenue,
//! weighted micro-đồng) for every month the data covers, zero sums included.
//! A month not in the series is a month without data. `year` is the outlook
//! year Y and `through` (1–12) the last month of Y with data.
//!
//! # The year to date
//!
//! `ytd` sums months 1..=`through` of Y; its share is the ratio of the exact
//! sums.
//!
//! # The projection (`seasonal_naive_ytd_growth`)
//!
//! The remaining months `through`+1..=12 follow last year's same months,
//! scaled by this year's growth so far, for total and e-commerce revenue
//! separately; the projected share is the ratio of the two projected
//! full-year sums. With `a` = Σ months 1..=t of Y, `b` = Σ the same months
//! of Y−1 and `L` = Y−1's full year, the projected full year is
//! `a + (a/b)·(L − b) = a·L/b`. Every sum is an exact integer; the growth
//! `a/b` stays a fraction, and the projected sums are fractions over `b`;
//! only the final share becomes a float.
//!
//! Tết moves between January and February, and the weeks before it are the
//! year's busiest: January and February are one block.
//! - From `through` = 2 on, the growth so far spans the whole block.
//! - With `through` = 1, January alone says little (January of a year with
//!   Tết in January against one with Tết in February can be twice as
//!   large). The growth is then the trailing twelve months' ratio:
//!   (Y−1's February–December + Y's January) / (Y−2's February–December +
//!   Y−1's January). The block is projected whole: February = max(0,
//!   growth × Y−1's January+February − Y's January), so the block is the
//!   growth times last year's block unless January alone already exceeds
//!   it. (On the simulation in `outlook/simulation.rs`, January's own ratio
//!   instead gave a mean absolute error 2.1–2.5 pp at `through` = 1 against
//!   0.8–1.0 pp for the trailing twelve months.)
//!
//! The projection needs Y's months 1..=t, Y−1's twelve months (and Y−2's
//! February–December when t = 1), and a non-zero `b` for both series;
//! otherwise there is none (`share` null, status `insufficient_history`).
//! A complete year (t = 12) is its own projection, interval included.
//!
//! # The interval (level 0.8)
//!
//! The same method is replayed on every earlier year y whose data it needs
//! is complete (y and y−1 in full, and y−2's February–December when t = 1),
//! at the same `through`, and compared with y's realised share. The errors
//! are relative: e_y = realised / projected − 1. The half-width q is the
//! ⌈(n+1)·0.8⌉-th smallest |e_y| of the n years, or the largest when that
//! rank exceeds n (split conformal prediction: when the years' errors are
//! exchangeable, the interval covers with probability at least 0.8 for
//! n ≥ 4, and n/(n+1) for n = 2 or 3). The interval is [p·(1−q), p·(1+q)],
//! clipped to [0, 1]; `backtest_years` = n. Fewer than two usable earlier
//! years: no interval.
//!
//! Relative, not absolute, errors: the share grows year after year (the
//! targets expect it to double by 2030), and the same forecasting
//! difficulty gives errors in proportion to the share; earlier years'
//! absolute errors understate this year's. On the simulation (a share
//! growing some 3–25 % a year), intervals from absolute errors covered
//! the realised share in 65–66 % of cases, relative ones in 80–84 %
//! (several seeds).
//!
//! # Statuses
//!
//! In this order: `no_data` when Y's total so far is zero; `no_target`
//! without a target; for a complete year `met` or `below`, decided exactly
//! on the integers against the target's low; `insufficient_history` without
//! an interval; `on_track` when the interval's low reaches the target's
//! low, `off_track` when its high stays below it, `at_risk` in between
//! (these compare the interval's floats: the interval is an estimate).
//!
//! # E-commerce needed per remaining month
//!
//! The e-commerce revenue needed in each remaining month, the same each
//! month, to end the year exactly on the target's low when the remaining
//! months' total revenue is the projection's (last year's pattern scaled by
//! the growth so far, the Tết block as above): max(0, low × projected
//! full-year total − e-commerce so far) / remaining months, rounded up to a
//! whole đồng, computed exactly. Null for a complete year, without a target,
//! without data this year or without a projection of the total.
//!
//! # Indicators
//!
//! - `ecommerce_growth`: Σ e-commerce of months 1..=t of Y / Σ the same
//!   months of Y−1 − 1 (exact sums; null when those months are not all
//!   covered or last year's sum is zero). With t = 1 it is January's alone,
//!   and Tết's move shows in it.
//! - `communes_selling_online`: communes with at least one effective filing
//!   with e-commerce revenue above zero in the period / communes in force,
//!   from counts the caller makes.
//!
//! Each against its target's low: for a complete year `met` or `below`
//! (exactly, on integers); before that `on_track` when the value so far
//! reaches the target and `at_risk` when not (no interval: these are the
//! year's figures so far, not projections); `no_data` without a value,
//! `no_target` without a target.
//!
//! # Limits
//!
//! - The method assumes this year's growth so far holds for the rest of
//!   the year and that the seasonal pattern repeats; a shock in the
//!   remaining months (or a one-off in last year's) is not foreseen.
//! - The interval assumes this year's error is like earlier years' at the
//!   same month. With few years (n = 2 or 3) it is the widest error seen
//!   and covers less often than 80 % (about n/(n+1)); one unusual year
//!   widens it for every later year.
//! - Backtests use today's data for earlier years, not what was known at
//!   the time; late filings and revisions make this year's latest months
//!   lower than they will be, which the replay does not see.
//! - Communes in force from the 2025 reform have data from 2025-07 only:
//!   their projections have no interval for some years.

mod wide;

#[cfg(test)]
mod simulation;

use super::amount::{WEIGHT_ONE, WeightedVnd};
use super::period::Period;
use super::share::Figures;
use super::targets::{Fraction, Target};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use thiserror::Error;
use wide::{Wide, ratio};

/// The interval's nominal coverage.
pub const LEVEL: f64 = 0.8;
/// [`LEVEL`] as a fraction, for the conformal rank.
const LEVEL_NUM: usize = 4;
const LEVEL_DEN: usize = 5;
/// The projection method's stable code.
pub const METHOD: &str = "seasonal_naive_ytd_growth";
/// Indicator codes, as in the reference's `targets.csv`.
pub const ECOMMERCE_GROWTH: &str = "ecommerce_growth";
pub const COMMUNES_SELLING_ONLINE: &str = "communes_selling_online";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum OutlookError {
    #[error("the last month with data must be 1–12, not {0}")]
    Through(u8),
    #[error("a target's high is below its low")]
    Target,
    #[error("{0}: a negative sum")]
    Negative(Period),
    #[error("{0}: the month is given twice")]
    Duplicate(Period),
    #[error("a sum exceeds the range of exact amounts")]
    Overflow,
}

impl OutlookError {
    pub fn code(&self) -> &'static str {
        match self {
            OutlookError::Through(_) => "invalid_through",
            OutlookError::Target => "invalid_target",
            OutlookError::Negative(_) => "negative_amount",
            OutlookError::Duplicate(_) => "duplicate_month",
            OutlookError::Overflow => "amount_overflow",
        }
    }
}

/// True when x / y ≥ `f`, exactly (`y` > 0).
fn reached_by(f: Fraction, x: Wide, y: Wide) -> Option<bool> {
    Some(x.checked_mul_u128(f.denominator().into())? >= y.checked_mul_u128(f.numerator().into())?)
}

/// A target as the outlook shows it: its programme and its value, `high`
/// `None` for "at least `low`". Serialised as `{program, low, high}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetRange {
    pub program: String,
    pub low: Fraction,
    pub high: Option<Fraction>,
}

impl From<&Target> for TargetRange {
    fn from(t: &Target) -> Self {
        Self {
            program: t.program.clone(),
            low: t.low,
            high: t.high,
        }
    }
}

/// A target whose high is below its low is refused (the reference's rows
/// never are; a `Target` made by hand may be).
fn check_target(t: &Target) -> Result<(), OutlookError> {
    match t.high {
        Some(h) if h < t.low => Err(OutlookError::Target),
        _ => Ok(()),
    }
}

/// One month's exact sums, in micro-đồng (non-negative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sums {
    total: u128,
    ecommerce: u128,
}

/// Which of a month's two sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Series {
    Total,
    Ecommerce,
}

impl Sums {
    fn of(self, series: Series) -> u128 {
        match series {
            Series::Total => self.total,
            Series::Ecommerce => self.ecommerce,
        }
    }
}

/// A scope's exact monthly sums: every month the data covers, zero sums
/// included; a month not here has no data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthlySeries {
    months: BTreeMap<Period, Sums>,
}

impl MonthlySeries {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, period: Period, total: WeightedVnd, ecommerce: WeightedVnd) -> Result<(), OutlookError> {
        let (Ok(total), Ok(ecommerce)) = (u128::try_from(total.micro()), u128::try_from(ecommerce.micro())) else {
            return Err(OutlookError::Negative(period));
        };
        match self.months.entry(period) {
            std::collections::btree_map::Entry::Occupied(_) => Err(OutlookError::Duplicate(period)),
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(Sums { total, ecommerce });
                Ok(())
            }
        }
    }

    /// The series of months' figures (their sums; counts are not used).
    pub fn from_figures(months: impl IntoIterator<Item = (Period, Figures)>) -> Result<Self, OutlookError> {
        let mut series = Self::new();
        for (period, f) in months {
            series.insert(period, f.total, f.ecommerce)?;
        }
        Ok(series)
    }

    fn get(&self, year: i32, month: u8) -> Option<Sums> {
        let period = Period::new(u16::try_from(year).ok()?, month)?;
        self.months.get(&period).copied()
    }

    /// Σ of `months` of `year`, `None` unless every one is covered.
    fn sum(&self, year: i32, mut months: RangeInclusive<u8>, series: Series) -> Option<Wide> {
        months.try_fold(Wide::ZERO, |acc, m| {
            acc.checked_add(Wide::from_u128(self.get(year, m)?.of(series)))
        })
    }

    /// Σ of the covered months among `months` of `year` (a month without
    /// data adds nothing).
    fn sum_covered(&self, year: i32, months: RangeInclusive<u8>, series: Series) -> Result<Wide, OutlookError> {
        months
            .filter_map(|m| self.get(year, m))
            .try_fold(Wide::ZERO, |acc, s| acc.checked_add(Wide::from_u128(s.of(series))))
            .ok_or(OutlookError::Overflow)
    }

    fn first_year(&self) -> Option<i32> {
        self.months.keys().next().map(|p| i32::from(p.year()))
    }
}

/// A projected full-year sum as the exact fraction `num / den`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Projected {
    num: Wide,
    den: Wide,
}

/// The full-year sum of `series` projected from months 1..=`through` of
/// `year` (see the module's comment), `None` when data is missing or last
/// year's comparable sum is zero.
fn project_series(s: &MonthlySeries, year: i32, through: u8, series: Series) -> Option<Projected> {
    if through >= 2 {
        let a = s.sum(year, 1..=through, series)?;
        let b = s.sum(year - 1, 1..=through, series)?;
        let full = s.sum(year - 1, 1..=12, series)?;
        if b.is_zero() {
            return None;
        }
        Some(Projected {
            num: a.checked_mul(full)?,
            den: b,
        })
    } else {
        // Growth over the trailing twelve months, the Tết block whole.
        let jan = s.sum(year, 1..=1, series)?;
        let a = s.sum(year - 1, 2..=12, series)?.checked_add(jan)?;
        let b = s
            .sum(year - 2, 2..=12, series)?
            .checked_add(s.sum(year - 1, 1..=1, series)?)?;
        if b.is_zero() {
            return None;
        }
        let block = s.sum(year - 1, 1..=2, series)?;
        let rest = s.sum(year - 1, 3..=12, series)?;
        // Y's Jan + projected Feb = max(Jan, g·block), over the denominator b.
        let head = a.checked_mul(block)?.max(b.checked_mul(jan)?);
        Some(Projected {
            num: head.checked_add(a.checked_mul(rest)?)?,
            den: b,
        })
    }
}

/// Both series projected.
#[derive(Debug, Clone, Copy)]
struct YearProjection {
    total: Projected,
    ecommerce: Projected,
}

impl YearProjection {
    fn of(s: &MonthlySeries, year: i32, through: u8) -> Option<Self> {
        Some(Self {
            total: project_series(s, year, through, Series::Total)?,
            ecommerce: project_series(s, year, through, Series::Ecommerce)?,
        })
    }

    /// (Ne/De) / (Nt/Dt) = Ne·Dt / (Nt·De); `None` for a zero total.
    fn share(&self) -> Option<f64> {
        let num = self.ecommerce.num.checked_mul(self.total.den)?;
        let den = self.total.num.checked_mul(self.ecommerce.den)?;
        ratio(num, den)
    }
}

/// |realised / projected − 1| for every earlier year the method can be
/// replayed on at `through`.
fn backtest_errors(s: &MonthlySeries, year: i32, through: u8) -> Vec<f64> {
    let Some(first) = s.first_year() else { return Vec::new() };
    (first..year)
        .filter_map(|y| {
            let projected = YearProjection::of(s, y, through)?.share()?;
            let realised = ratio(s.sum(y, 1..=12, Series::Ecommerce)?, s.sum(y, 1..=12, Series::Total)?)?;
            (projected > 0.0).then(|| (realised / projected - 1.0).abs())
        })
        .collect()
}

/// The split-conformal half-width: the ⌈(n+1)·level⌉-th smallest error (the
/// largest when that rank exceeds n); `None` for fewer than two errors.
fn half_width(mut errors: Vec<f64>) -> Option<f64> {
    let n = errors.len();
    if n < 2 {
        return None;
    }
    errors.sort_by(f64::total_cmp);
    let rank = ((n + 1) * LEVEL_NUM).div_ceil(LEVEL_DEN).min(n);
    errors.get(rank - 1).copied()
}

/// The whole đồng of e-commerce needed in each of `remaining` months:
/// ⌈max(0, low·Nt/Dt − e) / remaining⌉ in đồng, exactly.
fn needed_monthly(total: Projected, ecommerce_so_far: Wide, low: Fraction, remaining: u8) -> Option<Wide> {
    let need = total.num.checked_mul_u128(low.numerator().into())?;
    let have = ecommerce_so_far
        .checked_mul(total.den)?
        .checked_mul_u128(low.denominator().into())?;
    let Some(short) = need.checked_sub(have) else {
        return Some(Wide::ZERO);
    };
    let den = total.den.checked_mul_u128(
        u128::from(low.denominator()) * u128::from(remaining) * u128::from(WEIGHT_ONE.unsigned_abs()),
    )?;
    short.div_ceil(den)
}

/// Where the year or an indicator stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutlookStatus {
    Met,
    Below,
    OnTrack,
    AtRisk,
    OffTrack,
    InsufficientHistory,
    NoTarget,
    NoData,
    /// Withheld by disclosure control: set by the caller that protects the
    /// figures, never by [`outlook`].
    Suppressed,
}

impl OutlookStatus {
    pub fn code(self) -> &'static str {
        match self {
            OutlookStatus::Met => "met",
            OutlookStatus::Below => "below",
            OutlookStatus::OnTrack => "on_track",
            OutlookStatus::AtRisk => "at_risk",
            OutlookStatus::OffTrack => "off_track",
            OutlookStatus::InsufficientHistory => "insufficient_history",
            OutlookStatus::NoTarget => "no_target",
            OutlookStatus::NoData => "no_data",
            OutlookStatus::Suppressed => "suppressed",
        }
    }
}

fn as_decimal<S: Serializer>(v: &WeightedVnd, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn as_optional_decimal<S: Serializer>(v: &Option<WeightedVnd>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// The year so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ytd {
    pub share: Option<f64>,
    #[serde(serialize_with = "as_decimal")]
    pub total_revenue_vnd: WeightedVnd,
    #[serde(serialize_with = "as_decimal")]
    pub ecommerce_revenue_vnd: WeightedVnd,
}

/// The full year's projected share and its interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    pub share: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub level: f64,
    pub method: &'static str,
    pub backtest_years: usize,
}

/// One indicator against its target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    pub indicator: &'static str,
    pub value: Option<f64>,
    pub target_low: Option<f64>,
    pub target_high: Option<f64>,
    pub status: OutlookStatus,
}

/// The outlook's answer (the caller adds the dataset version and the
/// programmes' paths).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outlook {
    pub year: u16,
    pub through: u8,
    pub ytd: Ytd,
    pub projection: Projection,
    pub target: Option<TargetRange>,
    pub status: OutlookStatus,
    /// Whole đồng.
    #[serde(serialize_with = "as_optional_decimal")]
    pub needed_monthly_ecommerce_vnd: Option<WeightedVnd>,
    pub indicators: Vec<Indicator>,
}

/// Communes selling online: those with at least one effective filing with
/// e-commerce revenue above zero in the period, and those in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommuneCounts {
    pub selling: u64,
    pub in_force: u64,
}

/// What the outlook is computed from.
#[derive(Debug, Clone, Copy)]
pub struct OutlookInput<'a> {
    pub series: &'a MonthlySeries,
    pub year: u16,
    /// The last month of `year` with data, 1–12.
    pub through: u8,
    /// The governing e-commerce share target.
    pub target: Option<&'a Target>,
    pub growth_target: Option<&'a Target>,
    /// `None`: the indicator is not shown (e.g. before 2025-07).
    pub communes: Option<CommuneCounts>,
    pub communes_target: Option<&'a Target>,
}

fn to_vnd(w: Wide) -> Result<WeightedVnd, OutlookError> {
    w.to_u128()
        .and_then(|v| i128::try_from(v).ok())
        .map(WeightedVnd::from_micro)
        .ok_or(OutlookError::Overflow)
}

/// The year's outlook (see the module's comment).
pub fn outlook(input: &OutlookInput<'_>) -> Result<Outlook, OutlookError> {
    let OutlookInput {
        series: s,
        year,
        through,
        target,
        ..
    } = *input;
    if !(1..=12).contains(&through) {
        return Err(OutlookError::Through(through));
    }
    for t in [input.target, input.growth_target, input.communes_target]
        .into_iter()
        .flatten()
    {
        check_target(t)?;
    }
    let y = i32::from(year);
    let total = s.sum_covered(y, 1..=through, Series::Total)?;
    let ecommerce = s.sum_covered(y, 1..=through, Series::Ecommerce)?;
    let ytd = Ytd {
        share: ratio(ecommerce, total),
        total_revenue_vnd: to_vnd(total)?,
        ecommerce_revenue_vnd: to_vnd(ecommerce)?,
    };
    let complete = through == 12;

    // The projected full-year total (for the needed revenue) and the projection.
    let (projected_total, projection) = if complete {
        let p = Projection {
            share: ytd.share,
            low: ytd.share,
            high: ytd.share,
            level: LEVEL,
            method: METHOD,
            backtest_years: 0,
        };
        (None, p)
    } else {
        let total = project_series(s, y, through, Series::Total);
        let share = total
            .zip(project_series(s, y, through, Series::Ecommerce))
            .and_then(|(total, ecommerce)| YearProjection { total, ecommerce }.share());
        let errors = backtest_errors(s, y, through);
        let n = errors.len();
        let (low, high) = match (share, half_width(errors)) {
            (Some(p), Some(q)) => (
                Some((p * (1.0 - q)).clamp(0.0, 1.0)),
                Some((p * (1.0 + q)).clamp(0.0, 1.0_f64.max(p))),
            ),
            _ => (None, None),
        };
        let p = Projection {
            share,
            low,
            high,
            level: LEVEL,
            method: METHOD,
            backtest_years: n,
        };
        (total, p)
    };

    let status = if total.is_zero() {
        OutlookStatus::NoData
    } else if let Some(t) = target {
        if complete {
            met_or_below(reached_by(t.low, ecommerce, total).ok_or(OutlookError::Overflow)?)
        } else {
            match (projection.low, projection.high) {
                (Some(lo), Some(hi)) => {
                    let goal = t.low.value();
                    if lo >= goal {
                        OutlookStatus::OnTrack
                    } else if hi < goal {
                        OutlookStatus::OffTrack
                    } else {
                        OutlookStatus::AtRisk
                    }
                }
                _ => OutlookStatus::InsufficientHistory,
            }
        }
    } else {
        OutlookStatus::NoTarget
    };

    let needed = match (target, projected_total) {
        (Some(t), Some(p)) if !complete && !total.is_zero() => {
            let n = needed_monthly(p, ecommerce, t.low, 12 - through).ok_or(OutlookError::Overflow)?;
            let micro = n
                .checked_mul_u128(WEIGHT_ONE.unsigned_abs().into())
                .ok_or(OutlookError::Overflow)?;
            Some(to_vnd(micro)?)
        }
        _ => None,
    };

    let mut indicators = vec![growth_indicator(s, y, through, input.growth_target)?];
    if let Some(c) = input.communes {
        indicators.push(communes_indicator(c, complete, input.communes_target));
    }

    Ok(Outlook {
        year,
        through,
        ytd,
        projection,
        target: target.map(TargetRange::from),
        status,
        needed_monthly_ecommerce_vnd: needed,
        indicators,
    })
}

fn met_or_below(reached: bool) -> OutlookStatus {
    if reached {
        OutlookStatus::Met
    } else {
        OutlookStatus::Below
    }
}

/// An indicator's status from whether its value reaches the target's low.
fn indicator_status(reached: Option<bool>, target: Option<&Target>, complete: bool) -> OutlookStatus {
    match (reached, target) {
        (None, _) => OutlookStatus::NoData,
        (Some(_), None) => OutlookStatus::NoTarget,
        (Some(r), Some(_)) if complete => met_or_below(r),
        (Some(true), Some(_)) => OutlookStatus::OnTrack,
        (Some(false), Some(_)) => OutlookStatus::AtRisk,
    }
}

fn indicator(code: &'static str, value: Option<f64>, target: Option<&Target>, status: OutlookStatus) -> Indicator {
    Indicator {
        indicator: code,
        value,
        target_low: target.map(|t| t.low.value()),
        target_high: target.and_then(|t| t.high).map(Fraction::value),
        status,
    }
}

/// E-commerce growth year to date: (a − b) / b with a, b the e-commerce sums
/// of months 1..=`through` of `year` and of the year before, `None` unless
/// every month is covered and b > 0.
fn ecommerce_growth(s: &MonthlySeries, year: i32, through: u8) -> Option<(Wide, Wide)> {
    let a = s.sum(year, 1..=through, Series::Ecommerce)?;
    let b = s.sum(year - 1, 1..=through, Series::Ecommerce)?;
    (!b.is_zero()).then_some((a, b))
}

fn growth_indicator(
    s: &MonthlySeries,
    year: i32,
    through: u8,
    target: Option<&Target>,
) -> Result<Indicator, OutlookError> {
    let growth = ecommerce_growth(s, year, through);
    let value = growth.and_then(|(a, b)| match a.checked_sub(b) {
        Some(up) => ratio(up, b),
        None => b.checked_sub(a).and_then(|down| ratio(down, b)).map(|r| -r),
    });
    // a / b − 1 ≥ n / d ⇔ a·d ≥ b·(n + d).
    let reached = match (growth, target) {
        (Some((a, b)), Some(t)) => {
            let (n, d) = (t.low.numerator(), t.low.denominator());
            let lhs = a.checked_mul_u128(d.into());
            let rhs = b.checked_mul_u128(u128::from(n) + u128::from(d));
            Some(lhs.zip(rhs).map(|(l, r)| l >= r).ok_or(OutlookError::Overflow)?)
        }
        (Some(_), None) => Some(false),
        (None, _) => None,
    };
    Ok(indicator(
        ECOMMERCE_GROWTH,
        value,
        target,
        indicator_status(reached, target, through == 12),
    ))
}

fn communes_indicator(c: CommuneCounts, complete: bool, target: Option<&Target>) -> Indicator {
    let value = (c.in_force > 0).then(|| c.selling as f64 / c.in_force as f64);
    let reached = (c.in_force > 0).then(|| match target {
        Some(t) => {
            u128::from(c.selling) * u128::from(t.low.denominator())
                >= u128::from(c.in_force) * u128::from(t.low.numerator())
        }
        None => false,
    });
    indicator(
        COMMUNES_SELLING_ONLINE,
        value,
        target,
        indicator_status(reached, target, complete),
    )
}

#[cfg(test)]
mod tests {
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
}
