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
mod tests;
