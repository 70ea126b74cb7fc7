//! How final a month's figures are, and how many of the units expected to
//! file for it have.
//!
//! **Release.** A month's figures are an `estimate` until its filing
//! deadline has passed (the end of day `deadline_day` of the month after
//! it, in Asia/Ho_Chi_Minh), then `preliminary` until `final_after_months`
//! months after the month's end (00:00 on the first day of that month, in
//! Asia/Ho_Chi_Minh), then `final`. Later months are never more final than
//! earlier ones, so a range of months is as final as its last month: its
//! weakest.
//!
//! **Response rate.** The units expected to file for a month are those with
//! an effective filing in any of the [`LOOKBACK`] months before it; the
//! units responding are those of them with an effective filing for the
//! month. A unit filing for the first time is not expected, so it does not
//! count (the rate stays within 0–1). Over several months (a quarter, a
//! range) the rate is Σ responding / Σ expected over the months, an exact
//! ratio of counts; with no unit expected it is null. The sets are taken
//! within a row's own scope (its district, commune, sector or VSIC code and
//! the request's filters), so a district's rate counts the units that filed
//! in that district. Units are reporting units (tax codes), which the 2025
//! reform did not change: after it a filing's district is its commune's
//! former district, so a district's or the province's expected units carry
//! across the reform; a commune exists only from the reform on, so its
//! first months look back on the months since.
//!
//! Pure: "now" is an argument; the sets of units come in through
//! [`UnitSet`], whatever holds them (the rollup's bitmaps, a scan's sets).

use super::query::Dim;
use super::{Period, Quarter};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The time zone of the deadlines: Vietnam's.
pub const ZONE: Tz = chrono_tz::Asia::Ho_Chi_Minh;

/// Months before a month whose filers are expected to file for it.
pub const LOOKBACK: i32 = 3;

/// How final a month's figures are. Ordered from the weakest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Release {
    /// Before the filing deadline has passed: many filings are still to come.
    Estimate,
    /// After the deadline, while late filings and revisions still arrive.
    Preliminary,
    Final,
}

impl Release {
    pub const ALL: [Release; 3] = [Release::Estimate, Release::Preliminary, Release::Final];

    /// The state as the API writes it.
    pub fn code(self) -> &'static str {
        match self {
            Release::Estimate => "estimate",
            Release::Preliminary => "preliminary",
            Release::Final => "final",
        }
    }
}

/// When a month's figures become preliminary and final (`[release]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReleasePolicy {
    deadline_day: u32,
    final_after_months: u32,
}

impl Default for ReleasePolicy {
    /// The 20th of the following month; final three months after the
    /// month's end.
    fn default() -> Self {
        Self {
            deadline_day: 20,
            final_after_months: 3,
        }
    }
}

/// Longest wait for final figures, in months (ten years).
pub const MAX_FINAL_AFTER_MONTHS: u32 = 120;

impl ReleasePolicy {
    /// `deadline_day` 1–28 (every month has it), `final_after_months` 1–120.
    pub fn new(deadline_day: u32, final_after_months: u32) -> Result<Self, String> {
        if !(1..=28).contains(&deadline_day) {
            return Err(format!(
                "release: deadline_day {deadline_day} must be between 1 and 28, so that every month has it"
            ));
        }
        if !(1..=MAX_FINAL_AFTER_MONTHS).contains(&final_after_months) {
            return Err(format!(
                "release: final_after_months {final_after_months} must be between 1 and {MAX_FINAL_AFTER_MONTHS}"
            ));
        }
        Ok(Self {
            deadline_day,
            final_after_months,
        })
    }

    pub fn deadline_day(&self) -> u32 {
        self.deadline_day
    }

    pub fn final_after_months(&self) -> u32 {
        self.final_after_months
    }

    /// The instant `month`'s filing deadline has passed: 00:00 in Vietnam
    /// on the day after `deadline_day` of the month after it. `None` past
    /// the calendar's end.
    pub fn deadline_passed_at(&self, month: Period) -> Option<DateTime<Utc>> {
        let next = month.add_months(1)?;
        let day = NaiveDate::from_ymd_opt(i32::from(next.year()), u32::from(next.month()), self.deadline_day)?;
        midnight(day.succ_opt()?)
    }

    /// The instant `month`'s figures become final: 00:00 in Vietnam on the
    /// first day of the month `final_after_months` after its end.
    pub fn final_at(&self, month: Period) -> Option<DateTime<Utc>> {
        let months = i32::try_from(self.final_after_months).ok()?;
        let first = month.add_months(1 + months)?;
        midnight(NaiveDate::from_ymd_opt(
            i32::from(first.year()),
            u32::from(first.month()),
            1,
        )?)
    }

    /// `month`'s release at `now`.
    pub fn release(&self, month: Period, now: DateTime<Utc>) -> Release {
        if self.final_at(month).is_some_and(|t| now >= t) {
            Release::Final
        } else if self.deadline_passed_at(month).is_some_and(|t| now >= t) {
            Release::Preliminary
        } else {
            Release::Estimate
        }
    }

    /// The release of the months `from..=to` at `now`: the weakest month's,
    /// which is the last month's (a later month's deadline and final date
    /// are never earlier).
    pub fn range_release(&self, from: Period, to: Period, now: DateTime<Utc>) -> Release {
        self.release(from.max(to), now)
    }

    /// What every month's release at `now` depends on: the month of `now`
    /// in Vietnam and whether its deadline day has passed. Two instants of
    /// one epoch give every month the same release, so an answer (or its
    /// ETag) keyed by the epoch changes exactly when some release may.
    pub fn epoch(&self, now: DateTime<Utc>) -> Epoch {
        let local = now.with_timezone(&ZONE).date_naive();
        Epoch {
            month: Period::new(local.year() as u16, local.month() as u8).unwrap_or(Period::new_unchecked(9999, 12)),
            past_deadline_day: local.day() > self.deadline_day,
        }
    }
}

/// See [`ReleasePolicy::epoch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epoch {
    /// The month of "now", in Vietnam.
    pub month: Period,
    /// Whether the deadline day of that month has ended.
    pub past_deadline_day: bool,
}

/// 00:00 of `date` in Vietnam (which keeps no daylight saving time; a
/// missing local midnight would be taken an hour later).
fn midnight(date: NaiveDate) -> Option<DateTime<Utc>> {
    let local = date.and_hms_opt(0, 0, 0)?;
    ZONE.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            ZONE.from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}

/// The months a row of a breakdown covers within `from..=to`: its period,
/// quarter or year (the finest of them among `by`), else the whole range.
/// `keys` are the row's keys in `by` order.
pub fn row_months(by: &[Dim], keys: &[Option<String>], from: Period, to: Period) -> (Period, Period) {
    let key = |dim: Dim| {
        by.iter()
            .position(|d| *d == dim)
            .and_then(|i| keys.get(i))
            .and_then(|k| k.as_deref())
    };
    let within = |lo: Period, hi: Period| (lo.max(from), hi.min(to));
    if let Some(p) = key(Dim::Period).and_then(Period::parse) {
        return within(p, p);
    }
    if let Some(q) = key(Dim::Quarter).and_then(Quarter::parse) {
        let (lo, hi) = q.months();
        return within(lo, hi);
    }
    if let Some(y) = key(Dim::Year).and_then(|y| y.parse::<u16>().ok())
        && let (Some(lo), Some(hi)) = (Period::new(y, 1), Period::new(y, 12))
    {
        return within(lo, hi);
    }
    (from, to)
}

/// Units expected to file for some months, and those of them that did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Response {
    /// Expected units with an effective filing for the month (summed over months).
    pub responding: u64,
    /// Units with an effective filing in any of the [`LOOKBACK`] months
    /// before the month (summed over months).
    pub expected: u64,
}

impl Response {
    /// Responding over expected; `None` when no unit is expected.
    pub fn rate(&self) -> Option<f64> {
        (self.expected > 0).then(|| self.responding as f64 / self.expected as f64)
    }

    /// Both counts summed: the response over more months.
    pub fn add(&mut self, other: Response) {
        self.responding += other.responding;
        self.expected += other.expected;
    }
}

/// A set of reporting units, however a store holds it.
pub trait UnitSet: Sized {
    /// The union of `sets` (none: the empty set).
    fn union_of(sets: &[&Self]) -> Self;
    fn count(&self) -> u64;
    fn common(&self, other: &Self) -> u64;
}

impl<T: Eq + std::hash::Hash + Clone> UnitSet for HashSet<T> {
    fn union_of(sets: &[&Self]) -> Self {
        sets.iter().flat_map(|s| s.iter().cloned()).collect()
    }

    fn count(&self) -> u64 {
        self.len() as u64
    }

    fn common(&self, other: &Self) -> u64 {
        self.intersection(other).count() as u64
    }
}

/// The response of `month` from the units of each month (`units(m)`,
/// `None` for none).
pub fn month_response<'a, S: UnitSet + 'a>(month: Period, units: impl Fn(Period) -> Option<&'a S>) -> Response {
    let before: Vec<&S> = (1..=LOOKBACK)
        .filter_map(|back| month.add_months(-back))
        .filter_map(&units)
        .collect();
    if before.is_empty() {
        return Response::default();
    }
    let expected = S::union_of(&before);
    Response {
        responding: units(month).map_or(0, |now| now.common(&expected)),
        expected: expected.count(),
    }
}

/// The responses of a breakdown's rows and of its total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Responses {
    /// By the row's keys, in `by` order; a row absent has no unit expected.
    pub rows: HashMap<Vec<Option<String>>, Response>,
    pub total: Response,
}

/// The responses of the rows of a breakdown by `by` over `from..=to`, from
/// `units`: for each scope — the keys of `by`'s dimensions other than
/// period, quarter and year, in `by` order — the units of each month with
/// an effective filing in it, from [`LOOKBACK`] months before `from` to
/// `to`. A row's response is its scope's, summed over the row's months; the
/// total's is the whole slice's (each month's units united over the scopes).
pub fn responses<S: UnitSet>(
    by: &[Dim],
    from: Period,
    to: Period,
    units: HashMap<Vec<Option<String>>, BTreeMap<Period, S>>,
) -> Responses {
    let months: Vec<Period> = (0..)
        .map_while(|i| from.add_months(i))
        .take_while(|m| *m <= to)
        .collect();
    let mut out = Responses::default();
    let mut all: BTreeMap<Period, Vec<&S>> = BTreeMap::new();
    for (scope, by_month) in &units {
        for (m, set) in by_month {
            all.entry(*m).or_default().push(set);
        }
        for &m in &months {
            let r = month_response(m, |q| by_month.get(&q));
            if r.expected == 0 {
                continue;
            }
            out.rows.entry(row_key(by, scope, m)).or_default().add(r);
        }
    }
    let all: BTreeMap<Period, S> = all.into_iter().map(|(m, sets)| (m, S::union_of(&sets))).collect();
    for &m in &months {
        out.total.add(month_response(m, |q| all.get(&q)));
    }
    out
}

/// Whether a dimension is one of time.
pub fn is_time(dim: Dim) -> bool {
    matches!(dim, Dim::Period | Dim::Quarter | Dim::Year)
}

/// The keys of the row of `scope` (keys of `by`'s other dimensions, in
/// order) and month `m`.
fn row_key(by: &[Dim], scope: &[Option<String>], m: Period) -> Vec<Option<String>> {
    let mut scope = scope.iter();
    by.iter()
        .map(|d| match d {
            Dim::Period => Some(m.to_string()),
            Dim::Quarter => Some(m.quarter().to_string()),
            Dim::Year => Some(m.year().to_string()),
            _ => scope.next().cloned().flatten(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn month(s: &str) -> Period {
        Period::parse(s).unwrap()
    }

    fn policy() -> ReleasePolicy {
        ReleasePolicy::default()
    }

    #[test]
    fn an_estimate_until_the_end_of_the_twentieth_in_hanoi() {
        let p = policy();
        let march = month("2025-03");
        // 23:59:59 on 20 April in Hanoi is 16:59:59 UTC.
        assert_eq!(p.release(march, at("2025-04-20T23:59:59+07:00")), Release::Estimate);
        assert_eq!(p.release(march, at("2025-04-20T16:59:59Z")), Release::Estimate);
        assert_eq!(p.release(march, at("2025-04-21T00:00:00+07:00")), Release::Preliminary);
        assert_eq!(p.release(march, at("2025-04-20T17:00:00Z")), Release::Preliminary);
        // The same instants written with other offsets.
        assert_eq!(p.release(march, at("2025-04-20T12:59:59-04:00")), Release::Estimate);
        assert_eq!(p.release(march, at("2025-04-20T13:00:00-04:00")), Release::Preliminary);
        // Late on the 20th in Greenwich is already the 21st in Hanoi.
        assert_eq!(p.release(march, at("2025-04-20T20:00:00Z")), Release::Preliminary);
        assert_eq!(p.deadline_passed_at(march), Some(at("2025-04-20T17:00:00Z")));
    }

    #[test]
    fn december_s_deadline_is_in_january_of_the_next_year() {
        let p = policy();
        let december = month("2025-12");
        assert_eq!(p.release(december, at("2026-01-20T23:59:59+07:00")), Release::Estimate);
        assert_eq!(
            p.release(december, at("2026-01-21T00:00:00+07:00")),
            Release::Preliminary
        );
        // Final three months after its end: 1 April 2026, 00:00 in Hanoi.
        assert_eq!(p.final_at(december), Some(at("2026-04-01T00:00:00+07:00")));
        assert_eq!(
            p.release(december, at("2026-03-31T23:59:59+07:00")),
            Release::Preliminary
        );
        assert_eq!(p.release(december, at("2026-03-31T17:00:00Z")), Release::Final);
        // Before the month has even ended, an estimate.
        assert_eq!(p.release(december, at("2025-12-15T00:00:00Z")), Release::Estimate);
    }

    #[test]
    fn final_at_the_first_instant_of_the_month_after_the_wait() {
        let p = policy();
        let march = month("2025-03");
        assert_eq!(p.release(march, at("2025-06-30T23:59:59+07:00")), Release::Preliminary);
        assert_eq!(p.release(march, at("2025-07-01T00:00:00+07:00")), Release::Final);
        // Month ends of every length: January (31), February (28), April (30).
        for (m, last_day, first) in [
            ("2025-01", "2025-04-30", "2025-05-01"),
            ("2024-11", "2025-02-28", "2025-03-01"),
            ("2025-02", "2025-05-31", "2025-06-01"),
        ] {
            let m = month(m);
            let before = at(&format!("{last_day}T23:59:59+07:00"));
            let then = at(&format!("{first}T00:00:00+07:00"));
            assert_eq!(p.release(m, before), Release::Preliminary, "{m}");
            assert_eq!(p.release(m, then), Release::Final, "{m}");
        }
        let one = ReleasePolicy::new(20, 1).unwrap();
        assert_eq!(
            one.release(march, at("2025-04-30T23:59:59+07:00")),
            Release::Preliminary
        );
        assert_eq!(one.release(march, at("2025-05-01T00:00:00+07:00")), Release::Final);
    }

    #[test]
    fn a_custom_deadline_day() {
        let p = ReleasePolicy::new(10, 3).unwrap();
        let march = month("2025-03");
        assert_eq!(p.release(march, at("2025-04-10T23:59:59+07:00")), Release::Estimate);
        assert_eq!(p.release(march, at("2025-04-11T00:00:00+07:00")), Release::Preliminary);
        // The 28th in February: the deadline passes as March begins (in a
        // leap year, as the 29th begins).
        let p = ReleasePolicy::new(28, 3).unwrap();
        let january = month("2025-01");
        assert_eq!(p.release(january, at("2025-02-28T23:59:59+07:00")), Release::Estimate);
        assert_eq!(
            p.release(january, at("2025-03-01T00:00:00+07:00")),
            Release::Preliminary
        );
        assert_eq!(
            p.deadline_passed_at(month("2024-01")),
            Some(at("2024-02-29T00:00:00+07:00"))
        );
        // The 1st: estimates for one day of the next month only.
        let p = ReleasePolicy::new(1, 3).unwrap();
        assert_eq!(p.release(march, at("2025-04-01T23:59:59+07:00")), Release::Estimate);
        assert_eq!(p.release(march, at("2025-04-02T00:00:00+07:00")), Release::Preliminary);
    }

    #[test]
    fn policies_out_of_bounds_are_refused_with_a_reason() {
        assert!(ReleasePolicy::new(0, 3).unwrap_err().contains("deadline_day"));
        assert!(ReleasePolicy::new(29, 3).unwrap_err().contains("28"));
        assert!(ReleasePolicy::new(20, 0).unwrap_err().contains("final_after_months"));
        assert!(ReleasePolicy::new(20, 121).is_err());
        assert_eq!(ReleasePolicy::new(20, 3).unwrap(), ReleasePolicy::default());
    }

    #[test]
    fn a_range_is_as_final_as_its_last_month() {
        let p = policy();
        let now = at("2025-05-10T12:00:00+07:00");
        // 2025-01 final (since 1 May), 2025-02 and 2025-03 preliminary, 2025-04 an estimate.
        let states: Vec<Release> = ["2025-01", "2025-02", "2025-03", "2025-04"]
            .map(|m| p.release(month(m), now))
            .to_vec();
        use Release::*;
        assert_eq!(states, [Final, Preliminary, Preliminary, Estimate]);
        assert_eq!(p.range_release(month("2025-01"), month("2025-04"), now), Estimate);
        assert_eq!(p.range_release(month("2025-01"), month("2025-03"), now), Preliminary);
        assert_eq!(p.range_release(month("2024-01"), month("2025-01"), now), Final);
    }

    #[test]
    fn a_row_covers_its_month_quarter_or_year_within_the_range() {
        let (from, to) = (month("2025-02"), month("2025-08"));
        let k = |s: &str| Some(s.to_string());
        assert_eq!(
            row_months(&[Dim::District, Dim::Period], &[k("380"), k("2025-05")], from, to),
            (month("2025-05"), month("2025-05"))
        );
        assert_eq!(
            row_months(&[Dim::Quarter], &[k("2025-Q3")], from, to),
            (month("2025-07"), month("2025-08"))
        );
        assert_eq!(
            row_months(&[Dim::Year, Dim::Sector], &[k("2025"), k("FOOD")], from, to),
            (from, to)
        );
        assert_eq!(row_months(&[Dim::District], &[k("380")], from, to), (from, to));
    }

    fn set(units: &[u32]) -> HashSet<u32> {
        units.iter().copied().collect()
    }

    #[test]
    fn expected_units_are_those_of_the_three_months_before() {
        let units: BTreeMap<Period, HashSet<u32>> = [
            ("2025-01", set(&[1, 2])),
            ("2025-02", set(&[3])),
            ("2025-04", set(&[1, 3, 4])),
            ("2025-05", set(&[4])),
        ]
        .into_iter()
        .map(|(m, s)| (month(m), s))
        .collect();
        let r = |m: &str| month_response(month(m), |q| units.get(&q));
        // April expects 1, 2, 3 (Jan–Mar); 1 and 3 filed, 4 is new.
        assert_eq!(
            r("2025-04"),
            Response {
                responding: 2,
                expected: 3
            }
        );
        // May expects 1, 2, 3, 4 (Feb–Apr: 3; 1, 3, 4): 3 units, one filed.
        assert_eq!(
            r("2025-05"),
            Response {
                responding: 1,
                expected: 3
            }
        );
        // January: nothing before it.
        assert_eq!(r("2025-01"), Response::default());
        assert_eq!(r("2025-01").rate(), None);
        // August: Jul, Jun, May → 4, which did not file.
        assert_eq!(
            r("2025-08"),
            Response {
                responding: 0,
                expected: 1
            }
        );
        assert_eq!(r("2025-08").rate(), Some(0.0));
        // Over rows by period and in total.
        let scoped: HashMap<Vec<Option<String>>, BTreeMap<Period, HashSet<u32>>> =
            [(vec![], units.clone())].into_iter().collect();
        let all = responses(&[Dim::Quarter], month("2025-04"), month("2025-06"), scoped);
        // June expects 1, 3, 4 (Mar–May) and has none of them.
        assert_eq!(
            all.total,
            Response {
                responding: 2 + 1,
                expected: 3 + 3 + 3
            }
        );
        assert_eq!(all.rows[&vec![Some("2025-Q2".to_string())]], all.total);
    }

    /// The 2025 reform changes no unit: a unit that filed in a district
    /// before it and in a commune of that district's area after it is
    /// expected, and responding, in the district across the reform.
    #[test]
    fn a_district_s_units_carry_across_the_reform() {
        let k = |s: &str| vec![Some(s.to_string())];
        let units: HashMap<Vec<Option<String>>, BTreeMap<Period, HashSet<u32>>> = [(
            k("380"),
            [(month("2025-06"), set(&[1, 2])), (month("2025-07"), set(&[1, 2]))]
                .into_iter()
                .collect(),
        )]
        .into_iter()
        .collect();
        let r = responses(&[Dim::District], month("2025-07"), month("2025-07"), units);
        assert_eq!(
            r.rows[&k("380")],
            Response {
                responding: 2,
                expected: 2
            }
        );
    }

    proptest! {
        /// Every month's release is a function of the epoch of "now".
        #[test]
        fn one_epoch_one_release_for_every_month(
            a in 1_700_000_000i64..1_900_000_000,
            b in -3_000_000i64..3_000_000,
            day in 1u32..=28,
            wait in 1u32..=6,
        ) {
            let p = ReleasePolicy::new(day, wait).unwrap();
            let t1 = DateTime::from_timestamp(a, 0).unwrap();
            let t2 = DateTime::from_timestamp(a + b, 0).unwrap();
            if p.epoch(t1) == p.epoch(t2) {
                let m0 = p.epoch(t1).month;
                for back in 0..12 {
                    let m = m0.add_months(-back).unwrap();
                    prop_assert_eq!(p.release(m, t1), p.release(m, t2), "{}", m);
                }
            }
        }

        /// A range's release is its weakest month's.
        #[test]
        fn a_range_s_release_is_the_weakest_of_its_months(
            now in 1_700_000_000i64..1_900_000_000,
            start in 0i32..60,
            len in 0i32..18,
            day in 1u32..=28,
            wait in 1u32..=6,
        ) {
            let p = ReleasePolicy::new(day, wait).unwrap();
            let now = DateTime::from_timestamp(now, 0).unwrap();
            let from = month("2023-01").add_months(start).unwrap();
            let to = from.add_months(len).unwrap();
            let weakest = (0..=len).map(|i| p.release(from.add_months(i).unwrap(), now)).min().unwrap();
            prop_assert_eq!(p.range_release(from, to, now), weakest);
        }
    }
}
