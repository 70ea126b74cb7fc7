//! When the monthly report is due: a day of the month and a wall-clock time
//! in a time zone (by default the 5th at 08:00, Asia/Ho_Chi_Minh). Each
//! occurrence reports the month before the one it falls in.
//!
//! Pure: "now" is always an argument, so a schedule can be tested (and
//! rehearsed) with any clock.

use super::Period;
use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Most missed occurrences caught up at once (a year of reports).
pub const MAX_CATCH_UP: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthlySchedule {
    /// Day of the month, 1–28 (so that every month has it).
    pub day: u32,
    pub time: NaiveTime,
    pub zone: Tz,
}

impl MonthlySchedule {
    /// `day` 1–28, `time` as `HH:MM`, `zone` an IANA name such as
    /// `Asia/Ho_Chi_Minh`.
    pub fn new(day: u32, time: &str, zone: &str) -> Result<Self, String> {
        if !(1..=28).contains(&day) {
            return Err(format!(
                "schedule day {day} must be between 1 and 28, so that every month has it"
            ));
        }
        let time = NaiveTime::parse_from_str(time, "%H:%M")
            .map_err(|_| format!("schedule time {time:?} must be written HH:MM (24-hour clock)"))?;
        let zone: Tz = zone
            .parse()
            .map_err(|_| format!("schedule timezone {zone:?} is not an IANA time zone name"))?;
        Ok(Self { day, time, zone })
    }

    /// The instant of the occurrence in the calendar month `(year, month)`.
    /// A local time skipped by a clock change moves forward an hour; a
    /// repeated one takes its first instant.
    pub fn occurrence(&self, year: i32, month: u32) -> DateTime<Utc> {
        let date = NaiveDate::from_ymd_opt(year, month, self.day).expect("days 1-28 exist in every month");
        let local = date.and_time(self.time);
        match self.zone.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            LocalResult::None => {
                let later = local + chrono::Duration::hours(1);
                self.zone
                    .from_local_datetime(&later)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_else(|| Utc.from_utc_datetime(&local))
            }
        }
    }

    /// The latest occurrence at or before `now`.
    pub fn latest_at_or_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let local = now.with_timezone(&self.zone);
        let (y, m) = (local.year(), local.month());
        let this = self.occurrence(y, m);
        if this <= now {
            this
        } else {
            let (y, m) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
            self.occurrence(y, m)
        }
    }

    /// The first occurrence after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let latest = self.latest_at_or_before(t);
        let local = latest.with_timezone(&self.zone);
        let (y, m) = if local.month() == 12 {
            (local.year() + 1, 1)
        } else {
            (local.year(), local.month() + 1)
        };
        self.occurrence(y, m)
    }

    /// The occurrences that are due at `now`, oldest first: those after
    /// `last_run` up to `now` (the latest [`MAX_CATCH_UP`] of them), or,
    /// with no run recorded yet, only the latest.
    pub fn due(&self, last_run: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let latest = self.latest_at_or_before(now);
        let Some(last) = last_run else {
            return vec![latest];
        };
        let mut out = Vec::new();
        let mut t = latest;
        while t > last && out.len() < MAX_CATCH_UP {
            out.push(t);
            t = self.latest_at_or_before(t - chrono::Duration::seconds(1));
        }
        out.reverse();
        out
    }

    /// The month an occurrence reports: the month before the local month
    /// it falls in.
    pub fn month_reported(&self, occurrence: DateTime<Utc>) -> Period {
        let local = occurrence.with_timezone(&self.zone);
        let this = Period::new(local.year() as u16, local.month() as u8).expect("a calendar month");
        this.add_months(-1).expect("a month before")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn fifth() -> MonthlySchedule {
        MonthlySchedule::new(5, "08:00", "Asia/Ho_Chi_Minh").unwrap()
    }

    #[test]
    fn the_fifth_at_eight_in_hanoi_is_one_in_the_morning_utc() {
        assert_eq!(fifth().occurrence(2025, 4), at("2025-04-05T01:00:00Z"));
    }

    #[test]
    fn latest_occurrence_turns_at_the_exact_minute() {
        let s = fifth();
        assert_eq!(
            s.latest_at_or_before(at("2025-04-05T00:59:59Z")),
            at("2025-03-05T01:00:00Z")
        );
        assert_eq!(
            s.latest_at_or_before(at("2025-04-05T01:00:00Z")),
            at("2025-04-05T01:00:00Z")
        );
        // Across the new year.
        assert_eq!(
            s.latest_at_or_before(at("2025-01-02T00:00:00Z")),
            at("2024-12-05T01:00:00Z")
        );
        assert_eq!(s.next_after(at("2024-12-05T01:00:00Z")), at("2025-01-05T01:00:00Z"));
    }

    #[test]
    fn an_occurrence_reports_the_previous_month() {
        let s = fifth();
        assert_eq!(s.month_reported(at("2025-04-05T01:00:00Z")).to_string(), "2025-03");
        assert_eq!(s.month_reported(at("2025-01-05T01:00:00Z")).to_string(), "2024-12");
    }

    #[test]
    fn missed_occurrences_are_caught_up_oldest_first() {
        let s = fifth();
        let now = at("2025-06-10T00:00:00Z");
        assert_eq!(s.due(None, now), vec![at("2025-06-05T01:00:00Z")]);
        assert_eq!(
            s.due(Some(at("2025-06-05T01:00:00Z")), now),
            Vec::<DateTime<Utc>>::new()
        );
        assert_eq!(
            s.due(Some(at("2025-03-05T01:00:00Z")), now),
            vec![
                at("2025-04-05T01:00:00Z"),
                at("2025-05-05T01:00:00Z"),
                at("2025-06-05T01:00:00Z")
            ]
        );
        let long_ago = s.due(Some(at("2020-01-05T01:00:00Z")), now);
        assert_eq!(long_ago.len(), MAX_CATCH_UP);
        assert_eq!(long_ago.last(), Some(&at("2025-06-05T01:00:00Z")));
    }

    #[test]
    fn daylight_saving_gaps_move_forward() {
        // 02:30 does not exist in New York on 9 March 2025.
        let s = MonthlySchedule::new(9, "02:30", "America/New_York").unwrap();
        assert_eq!(s.occurrence(2025, 3), at("2025-03-09T07:30:00Z"));
    }

    #[test]
    fn bad_schedules_are_refused_with_a_reason() {
        assert!(
            MonthlySchedule::new(31, "08:00", "Asia/Ho_Chi_Minh")
                .unwrap_err()
                .contains("28")
        );
        assert!(
            MonthlySchedule::new(5, "8h", "Asia/Ho_Chi_Minh")
                .unwrap_err()
                .contains("HH:MM")
        );
        assert!(
            MonthlySchedule::new(5, "08:00", "Asia/Hanoi_City")
                .unwrap_err()
                .contains("IANA")
        );
    }
}
