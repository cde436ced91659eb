//! Reassignment schedules: the API's schedule body and the parsed [`Schedule`] that says
//! when the next scheduled run is due.
//!
//! Runs happen at local times in the schedule's zone, so a 06:00 run stays at 06:00 on
//! the wall clock across daylight-saving changes (its UTC instant moves). On a
//! spring-forward day a time inside the gap runs at the first instant after the gap; on
//! a fall-back day a time that occurs twice runs once, at its first occurrence.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Invalid;
use super::config::{Weekday, parse_hhmm, parse_timezone};

/// `PUT /segments/{id}/schedule`: when a segment's reassignment runs on its own.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// First local date (in `timezone`) with runs, `YYYY-MM-DD`; a past date means the
    /// schedule is already in force.
    #[schema(example = "2026-11-24", format = Date)]
    pub start_date: String,
    /// Days of the week with runs (`mon` … `sun`), at least one.
    #[schema(min_items = 1)]
    pub days: Vec<Weekday>,
    /// One or two distinct local times a day, `HH:MM`.
    #[schema(example = json!(["06:00", "14:00"]), min_items = 1, max_items = 2,
        inline, value_type = Vec<LocalTime>)]
    pub times: Vec<String>,
    /// IANA time zone of `start_date` and `times`, e.g. `Europe/London`.
    pub timezone: String,
}

/// `HH:MM` on a 24-hour clock (for the document).
#[derive(ToSchema)]
#[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "06:00")]
#[allow(dead_code)]
struct LocalTime(String);

/// A schedule as the API shows it: the body, its segment and its next run.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ScheduleView {
    pub segment_id: super::Id,
    #[serde(flatten)]
    pub schedule: ScheduleBody,
    /// When the next scheduled run fires (UTC); null when none is ahead.
    pub next_run_at: Option<DateTime<Utc>>,
}

impl ScheduleBody {
    /// Checks the body; [`Schedule::parse`] is the same check keeping the parsed values.
    pub fn validate(&self) -> Result<(), Invalid> {
        Schedule::parse(self.clone()).map(|_| ())
    }
}

/// A valid schedule, parsed once.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    start_date: NaiveDate,
    /// Monday = 0.
    days: [bool; 7],
    /// Sorted, distinct; one or two.
    times: Vec<NaiveTime>,
    tz: Tz,
    body: ScheduleBody,
}

impl Schedule {
    /// The most runs a day, per the product this follows.
    pub const MAX_TIMES: usize = 2;

    pub fn parse(body: ScheduleBody) -> Result<Schedule, Invalid> {
        let start_date = parse_date("start_date", &body.start_date)?;

        if body.days.is_empty() {
            return Err(Invalid::new("days", "a schedule runs on at least one day"));
        }
        let mut days = [false; 7];
        for day in &body.days {
            let i = day.to_chrono().num_days_from_monday() as usize;
            if days[i] {
                return Err(Invalid::new("days", "each day is listed once"));
            }
            days[i] = true;
        }

        if body.times.is_empty() {
            return Err(Invalid::new("times", "a schedule runs at one or two times a day"));
        }
        if body.times.len() > Self::MAX_TIMES {
            return Err(Invalid::new(
                format!("times[{}]", Self::MAX_TIMES),
                "a schedule runs at most twice a day",
            ));
        }
        let mut times = Vec::with_capacity(body.times.len());
        for (i, raw) in body.times.iter().enumerate() {
            times.push(parse_hhmm(&format!("times[{i}]"), raw, false)?);
        }
        times.sort();
        if times.windows(2).any(|w| w[0] == w[1]) {
            return Err(Invalid::new("times", "the two times of a day must differ"));
        }

        let tz = parse_timezone("timezone", &body.timezone)?;
        Ok(Schedule {
            start_date,
            days,
            times,
            tz,
            body,
        })
    }

    /// The body as the client sent it.
    pub fn body(&self) -> &ScheduleBody {
        &self.body
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The first run strictly after `t`: the first local (date, time) on a listed weekday,
    /// on or after `start_date`, whose instant is after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = t.with_timezone(&self.tz).date_naive();
        // A day early as well: a slot of yesterday's date can still be ahead of `t` when
        // a skipped day (a zone jumping across the date line) moves it forward.
        let mut date = today.pred_opt().unwrap_or(today).max(self.start_date);
        // Slots in local order map to instants in non-decreasing order (see
        // `resolve_local`), so the first slot after `t` is the answer. Two weeks and a day
        // of dates always hold a listed weekday.
        for _ in 0..15 {
            if self.days[date.weekday().num_days_from_monday() as usize] {
                for time in &self.times {
                    if let Some(at) = resolve_local(self.tz, date.and_time(*time))
                        && at > t
                    {
                        return Some(at);
                    }
                }
            }
            date = date.succ_opt()?;
        }
        None
    }
}

impl TryFrom<ScheduleBody> for Schedule {
    type Error = Invalid;
    fn try_from(body: ScheduleBody) -> Result<Schedule, Invalid> {
        Schedule::parse(body)
    }
}

fn parse_date(field: &str, raw: &str) -> Result<NaiveDate, Invalid> {
    let bad = || {
        Invalid::new(
            field,
            format!("{raw:?} is not a date; write YYYY-MM-DD, e.g. \"2026-11-24\""),
        )
    };
    if raw.len() != 10 {
        return Err(bad());
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| bad())
}

/// The instant a local time stands for: the only one; the first of two (fall back); or,
/// when the local time does not exist (spring forward), the first instant after the gap.
///
/// The gap is walked a minute at a time to its first existing local minute; zone changes
/// in the time-zone database fall on whole minutes, so that minute is where the gap ends.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let earliest = |l: &NaiveDateTime| match tz.from_local_datetime(l) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at.with_timezone(&Utc)),
        LocalResult::None => None,
    };
    if let Some(at) = earliest(&local) {
        return Some(at);
    }
    // Gaps are an hour or less in practice; a skipped day (Pacific/Apia, 2011) is 24 h.
    let mut probe = local;
    for _ in 0..(48 * 60) {
        probe = probe.checked_add_signed(Duration::minutes(1))?;
        if let Some(at) = earliest(&probe) {
            return Some(at);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::time::utc;

    fn body(start: &str, days: &[Weekday], times: &[&str], tz: &str) -> ScheduleBody {
        ScheduleBody {
            start_date: start.to_string(),
            days: days.to_vec(),
            times: times.iter().map(|t| t.to_string()).collect(),
            timezone: tz.to_string(),
        }
    }

    fn schedule(start: &str, days: &[Weekday], times: &[&str], tz: &str) -> Schedule {
        Schedule::parse(body(start, days, times, tz)).expect("valid schedule")
    }

    const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    const WEEKDAYS: [Weekday; 5] = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];

    fn field_of(r: Result<Schedule, Invalid>) -> String {
        match r {
            Err(Invalid { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn validation_names_the_field() {
        let ok = body("2026-11-24", &WEEKDAYS, &["06:00", "14:00"], "Europe/London");
        assert!(ok.validate().is_ok());
        let mut b = ok.clone();
        b.times.push("18:00".into());
        assert_eq!(field_of(Schedule::parse(b)), "times[2]");
        let mut b = ok.clone();
        b.times = vec!["06:00".into(), "06:00".into()];
        assert_eq!(field_of(Schedule::parse(b)), "times");
        let mut b = ok.clone();
        b.times = vec![];
        assert_eq!(field_of(Schedule::parse(b)), "times");
        let mut b = ok.clone();
        b.times = vec!["06:00".into(), "6pm".into()];
        assert_eq!(field_of(Schedule::parse(b)), "times[1]");
        let mut b = ok.clone();
        b.times = vec!["24:00".into()];
        assert_eq!(field_of(Schedule::parse(b)), "times[0]");
        let mut b = ok.clone();
        b.days = vec![];
        assert_eq!(field_of(Schedule::parse(b)), "days");
        let mut b = ok.clone();
        b.days = vec![Weekday::Mon, Weekday::Mon];
        assert_eq!(field_of(Schedule::parse(b)), "days");
        let mut b = ok.clone();
        b.timezone = "Europe/Atlantis".into();
        assert_eq!(field_of(Schedule::parse(b)), "timezone");
        for bad in ["2026-02-30", "2026-2-3", "24-11-2026", "tomorrow"] {
            let mut b = ok.clone();
            b.start_date = bad.into();
            assert_eq!(field_of(Schedule::parse(b)), "start_date", "{bad}");
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r: Result<ScheduleBody, _> = serde_json::from_value(serde_json::json!({
            "start_date": "2026-11-24", "days": ["mon"], "times": ["06:00"],
            "timezone": "UTC", "every": "hour"
        }));
        assert!(r.is_err());
    }

    #[test]
    fn two_times_a_day_on_weekdays_only() {
        // London in November is UTC+0. 2026-11-27 is a Friday.
        let s = schedule("2026-11-01", &WEEKDAYS, &["14:00", "06:00"], "Europe/London");
        assert_eq!(
            s.next_after(utc("2026-11-27T05:00:00Z")),
            Some(utc("2026-11-27T06:00:00Z"))
        );
        assert_eq!(
            s.next_after(utc("2026-11-27T06:00:00Z")),
            Some(utc("2026-11-27T14:00:00Z"))
        );
        // Friday 14:00 -> Monday 06:00: the weekend is skipped.
        assert_eq!(
            s.next_after(utc("2026-11-27T14:00:00Z")),
            Some(utc("2026-11-30T06:00:00Z"))
        );
    }

    #[test]
    fn a_single_weekday() {
        let s = schedule("2026-01-01", &[Weekday::Wed], &["09:30"], "Asia/Tokyo");
        // Wednesday 2026-11-25 09:30 JST is 00:30 UTC.
        assert_eq!(
            s.next_after(utc("2026-11-23T12:00:00Z")),
            Some(utc("2026-11-25T00:30:00Z"))
        );
        assert_eq!(
            s.next_after(utc("2026-11-25T00:30:00Z")),
            Some(utc("2026-12-02T00:30:00Z"))
        );
    }

    #[test]
    fn a_future_start_date_waits_and_a_past_one_is_in_force() {
        let future = schedule("2026-12-07", &ALL, &["06:00"], "Europe/London");
        assert_eq!(
            future.next_after(utc("2026-11-24T12:00:00Z")),
            Some(utc("2026-12-07T06:00:00Z"))
        );
        let past = schedule("2020-01-01", &ALL, &["06:00"], "Europe/London");
        assert_eq!(
            past.next_after(utc("2026-11-24T12:00:00Z")),
            Some(utc("2026-11-25T06:00:00Z"))
        );
        // The start date is local: 00:30 on 2026-12-07 in New York is 05:30 UTC.
        let local = schedule("2026-12-07", &ALL, &["00:30"], "America/New_York");
        assert_eq!(
            local.next_after(utc("2026-12-07T03:00:00Z")),
            Some(utc("2026-12-07T05:30:00Z"))
        );
    }

    #[test]
    fn london_keeps_local_time_across_both_changes() {
        let s = schedule("2026-01-01", &ALL, &["06:00"], "Europe/London");
        // Saturday 2026-03-28 is GMT; from Sunday 2026-03-29 on it is BST.
        assert_eq!(
            s.next_after(utc("2026-03-27T07:00:00Z")),
            Some(utc("2026-03-28T06:00:00Z"))
        );
        assert_eq!(
            s.next_after(utc("2026-03-28T06:00:00Z")),
            Some(utc("2026-03-29T05:00:00Z"))
        );
        assert_eq!(
            s.next_after(utc("2026-03-29T05:00:00Z")),
            Some(utc("2026-03-30T05:00:00Z"))
        );
        // Sunday 2026-10-25 is GMT again.
        assert_eq!(
            s.next_after(utc("2026-10-24T05:00:00Z")),
            Some(utc("2026-10-25T06:00:00Z"))
        );
    }

    #[test]
    fn london_gap_runs_when_the_gap_ends() {
        // 2026-03-29: 01:00 GMT jumps to 02:00 BST; 01:30 does not exist that day.
        let s = schedule("2026-01-01", &ALL, &["01:30"], "Europe/London");
        assert_eq!(
            s.next_after(utc("2026-03-28T12:00:00Z")),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        assert_eq!(
            s.next_after(utc("2026-03-29T01:00:00Z")),
            Some(utc("2026-03-30T00:30:00Z"))
        );
    }

    #[test]
    fn london_repeated_hour_runs_once() {
        // 2026-10-25: 02:00 BST falls back to 01:00 GMT; 01:30 happens at 00:30 and 01:30 UTC.
        let s = schedule("2026-01-01", &ALL, &["01:30"], "Europe/London");
        assert_eq!(
            s.next_after(utc("2026-10-24T12:00:00Z")),
            Some(utc("2026-10-25T00:30:00Z"))
        );
        // Not again at the second occurrence: the next run is the next day.
        assert_eq!(
            s.next_after(utc("2026-10-25T00:30:00Z")),
            Some(utc("2026-10-26T01:30:00Z"))
        );
    }

    #[test]
    fn new_york_changes() {
        let s = schedule("2026-01-01", &ALL, &["02:30", "06:00"], "America/New_York");
        // Saturday 2026-03-07, EST: 06:00 is 11:00 UTC.
        assert_eq!(
            s.next_after(utc("2026-03-07T08:00:00Z")),
            Some(utc("2026-03-07T11:00:00Z"))
        );
        // Sunday 2026-03-08: 02:30 falls in the gap (02:00 EST -> 03:00 EDT at 07:00 UTC).
        assert_eq!(
            s.next_after(utc("2026-03-07T11:00:00Z")),
            Some(utc("2026-03-08T07:00:00Z"))
        );
        // 06:00 EDT is 10:00 UTC.
        assert_eq!(
            s.next_after(utc("2026-03-08T07:00:00Z")),
            Some(utc("2026-03-08T10:00:00Z"))
        );
        // Sunday 2026-11-01: 02:30 EST exists once (07:30 UTC); 06:00 EST is 11:00 UTC.
        assert_eq!(
            s.next_after(utc("2026-11-01T04:00:00Z")),
            Some(utc("2026-11-01T07:30:00Z"))
        );
        assert_eq!(
            s.next_after(utc("2026-11-01T07:30:00Z")),
            Some(utc("2026-11-01T11:00:00Z"))
        );
        // The day before, EDT: 06:00 is 10:00 UTC.
        assert_eq!(
            s.next_after(utc("2026-10-31T07:00:00Z")),
            Some(utc("2026-10-31T10:00:00Z"))
        );
    }

    #[test]
    fn new_york_ambiguous_time_takes_the_first_occurrence() {
        // 2026-11-01: 01:30 happens at 05:30 UTC (EDT) and 06:30 UTC (EST).
        let s = schedule("2026-01-01", &[Weekday::Sun], &["01:30"], "America/New_York");
        assert_eq!(
            s.next_after(utc("2026-10-31T12:00:00Z")),
            Some(utc("2026-11-01T05:30:00Z"))
        );
        assert_eq!(
            s.next_after(utc("2026-11-01T05:30:00Z")),
            Some(utc("2026-11-08T06:30:00Z"))
        );
    }

    #[test]
    fn two_times_in_one_gap_run_once() {
        let s = schedule("2026-01-01", &[Weekday::Sun], &["02:10", "02:40"], "America/New_York");
        let first = s.next_after(utc("2026-03-08T00:00:00Z"));
        assert_eq!(first, Some(utc("2026-03-08T07:00:00Z")));
        // Both slots fall at the end of the gap; the next run is a week later.
        assert_eq!(
            s.next_after(utc("2026-03-08T07:00:00Z")),
            Some(utc("2026-03-15T06:10:00Z"))
        );
    }

    #[test]
    fn a_skipped_day_runs_when_it_ends() {
        // Pacific/Apia skipped 2011-12-30 entirely (UTC-10 -> UTC+14).
        let s = schedule("2011-12-01", &[Weekday::Fri], &["06:00"], "Pacific/Apia");
        let at = s.next_after(utc("2011-12-29T00:00:00Z")).expect("a run");
        // The first instant after the gap is Saturday 2011-12-31 00:00 local (10:00 UTC on
        // the 30th).
        assert_eq!(at, utc("2011-12-30T10:00:00Z"));
    }
}
