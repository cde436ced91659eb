//! Seller availability calendars, compiled once from [`Availability`]: when a seller
//! works (local weekly hours in the seller's zone) and when they are off (UTC intervals).
//!
//! Definition used throughout: an instant `t` is available when it is in no time off and
//! the seller's local wall-clock time at `t` (date and `HH:MM`) lies in a working interval
//! of that local date's weekday. Everything else follows from it, including daylight
//! saving: a local time that does not exist on a spring-forward day is never worked (an
//! interval starting inside the gap begins when the gap ends), and a local time that
//! occurs twice on a fall-back day is worked at both occurrences, so an interval that
//! starts at an ambiguous time begins at its first occurrence.
//!
//! [`Calendar::next_available_at`] is exact with respect to that definition: it walks the
//! instants where availability can change (time-off ends, interval starts, UTC-offset
//! changes) instead of sampling.
//!
//! Size: ~300 lines of calendar and ~350 of tests over daylight-saving edges, kept beside
//! the code they pin down.

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::Invalid;
use super::config::{Availability, Weekday, parse_hhmm, parse_timezone};

/// Minutes since local midnight; 1440 is `24:00`.
type Minute = u16;

const DAY_MINUTES: Minute = 24 * 60;

/// How far ahead one span of constant UTC offset is taken at most. Any week contains
/// every weekday, so a span this long always reaches a working interval if there is one.
const SPAN_HORIZON_DAYS: i64 = 8;

/// A compiled availability: parse the zone and the `HH:MM` strings once, answer many
/// questions.
#[derive(Clone, Debug, PartialEq)]
pub struct Calendar {
    tz: Tz,
    /// Per weekday (Monday = 0), sorted disjoint `[start, end)` minute intervals.
    /// `None` means every hour of every day.
    hours: Option<[Vec<(Minute, Minute)>; 7]>,
    /// Sorted, merged, disjoint UTC `[start, end)` intervals.
    time_off: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Calendar {
    /// A seller without an availability (`availability: null`): always available.
    pub fn always() -> Calendar {
        Calendar {
            tz: Tz::UTC,
            hours: None,
            time_off: Vec::new(),
        }
    }

    /// Compiles an availability; errors name the field under `availability`.
    pub fn compile(a: &Availability) -> Result<Calendar, Invalid> {
        Calendar::compile_at("availability", a)
    }

    /// A seller's calendar from its optional availability (null: always available).
    pub fn from_optional(a: Option<&Availability>) -> Result<Calendar, Invalid> {
        a.map_or_else(|| Ok(Calendar::always()), Calendar::compile)
    }

    /// Compiles an availability found at field path `at` (for error messages).
    pub fn compile_at(at: &str, a: &Availability) -> Result<Calendar, Invalid> {
        let tz = parse_timezone(&format!("{at}.timezone"), &a.timezone)?;
        let hours = match &a.working_hours {
            None => None,
            Some(map) => {
                let mut days: [Vec<(Minute, Minute)>; 7] = Default::default();
                for (day, intervals) in map {
                    for (i, [start, end]) in intervals.iter().enumerate() {
                        let field = format!("{at}.working_hours.{}[{i}]", day_name(*day));
                        let s = minutes(&field, start, false)?;
                        let e = minutes(&field, end, true)?;
                        if s >= e {
                            return Err(Invalid::new(field, "an interval's start must be before its end"));
                        }
                        days[day_index(day.to_chrono())].push((s, e));
                    }
                }
                for day in &mut days {
                    merge(day);
                }
                Some(days)
            }
        };
        let mut time_off = Vec::with_capacity(a.time_off.len());
        for (i, off) in a.time_off.iter().enumerate() {
            if off.start >= off.end {
                return Err(Invalid::new(
                    format!("{at}.time_off[{i}]"),
                    "time off must start before it ends",
                ));
            }
            time_off.push((off.start, off.end));
        }
        merge(&mut time_off);
        Ok(Calendar { tz, hours, time_off })
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Whether the seller is available at `t`.
    pub fn is_available_at(&self, t: DateTime<Utc>) -> bool {
        self.time_off_end(t).is_none() && self.in_working_hours(t)
    }

    /// The first instant in `[from, until)` at which the seller is available, if any.
    pub fn next_available_at(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut t = from;
        // Each turn either answers, or moves `t` strictly forward past one time off or to
        // the start of working hours; there are finitely many time offs, so this ends.
        while t < until {
            if let Some(end) = self.time_off_end(t) {
                t = end;
                continue;
            }
            let working = self.next_working_instant(t, until)?;
            if working == t {
                return Some(t);
            }
            t = working;
        }
        None
    }

    /// `Some(0)` when available at `now`; else `Some(k)` (k ≥ 1) when the first available
    /// instant lies in `[now + 24(k−1) h, now + 24k h)` and before `now + within_hours`;
    /// else `None`. This is the bucket of the rule option `available_within_hours`.
    pub fn availability_bucket(&self, now: DateTime<Utc>, within_hours: u32) -> Option<u32> {
        if self.is_available_at(now) {
            return Some(0);
        }
        let until = now
            .checked_add_signed(Duration::hours(i64::from(within_hours)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let first = self.next_available_at(now, until)?;
        let days = (first - now).num_seconds() / 86_400;
        u32::try_from(days + 1).ok()
    }

    /// The end of the time off containing `t`, if `t` is in one.
    fn time_off_end(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let i = self.time_off.partition_point(|(_, end)| *end <= t);
        match self.time_off.get(i) {
            Some((start, end)) if *start <= t => Some(*end),
            _ => None,
        }
    }

    fn in_working_hours(&self, t: DateTime<Utc>) -> bool {
        let Some(hours) = &self.hours else { return true };
        let local = t.with_timezone(&self.tz).naive_local();
        let minute = (local.hour() * 60 + local.minute()) as Minute;
        hours[day_index(local.weekday())]
            .iter()
            .any(|&(s, e)| s <= minute && minute < e)
    }

    /// The first instant in `[t, until)` inside working hours, ignoring time off.
    ///
    /// Works span by span of constant UTC offset: inside one, local time is UTC plus a
    /// constant, so the answer is the first local working time in the span shifted back.
    /// Local times skipped by a spring-forward change fall between two spans and are never
    /// found; local times repeated by a fall-back change are found in the first span that
    /// has them.
    fn next_working_instant(&self, t: DateTime<Utc>, until: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let Some(hours) = &self.hours else {
            return (t < until).then_some(t);
        };
        if hours.iter().all(Vec::is_empty) {
            return None;
        }
        let mut a = t;
        while a < until {
            let offset = Duration::seconds(i64::from(offset_seconds(self.tz, a)));
            let horizon = a
                .checked_add_signed(Duration::days(SPAN_HORIZON_DAYS))
                .map_or(until, |h| h.min(until));
            let b = next_offset_change(self.tz, a, horizon).unwrap_or(horizon);
            let local_a = a.naive_utc() + offset;
            let local_b = b.naive_utc() + offset;
            if let Some(local) = first_working_local(hours, local_a, local_b) {
                return Some((local - offset).and_utc());
            }
            a = b;
        }
        None
    }
}

/// Whether a seller with this calendar (`None`: `availability: null`) is available at `t`.
pub fn is_available_at(calendar: Option<&Calendar>, t: DateTime<Utc>) -> bool {
    calendar.is_none_or(|c| c.is_available_at(t))
}

/// [`Calendar::availability_bucket`] for a seller whose calendar may be absent
/// (`availability: null`, always available: bucket 0).
pub fn availability_bucket(calendar: Option<&Calendar>, now: DateTime<Utc>, within_hours: u32) -> Option<u32> {
    calendar.map_or(Some(0), |c| c.availability_bucket(now, within_hours))
}

/// The first local time in `[from, to)` inside a working interval.
fn first_working_local(
    hours: &[Vec<(Minute, Minute)>; 7],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Option<NaiveDateTime> {
    let mut date = from.date();
    loop {
        let midnight = date.and_time(NaiveTime::MIN);
        if midnight >= to {
            return None;
        }
        for &(s, e) in &hours[day_index(date.weekday())] {
            let end = midnight + Duration::minutes(i64::from(e));
            if end <= from {
                continue;
            }
            let start = (midnight + Duration::minutes(i64::from(s))).max(from);
            // Intervals are sorted, so a later one cannot start earlier.
            return (start < to).then_some(start);
        }
        date = date.succ_opt()?;
    }
}

/// The UTC offset of `tz` at `t`, in seconds east of UTC.
fn offset_seconds(tz: Tz, t: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc()
}

/// The first instant in `(a, limit]` at which the UTC offset differs from the offset at
/// `a`, found by stepping a day at a time and bisecting on whole seconds (zone changes
/// happen on whole seconds). Two changes within one day that cancel out are not seen; the
/// time-zone database has none in practice.
pub(crate) fn next_offset_change(tz: Tz, a: DateTime<Utc>, limit: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let base = offset_seconds(tz, a);
    let at = |secs: i64| DateTime::<Utc>::from_timestamp(secs, 0);
    let mut lo = a;
    while lo < limit {
        let hi = lo.checked_add_signed(Duration::days(1)).map_or(limit, |h| h.min(limit));
        if offset_seconds(tz, hi) != base {
            // Invariant: the offset at second `l` is `base`, at second `h` it is not.
            let mut l = lo.timestamp();
            let mut h = hi.timestamp();
            while h - l > 1 {
                let m = l + (h - l) / 2;
                if at(m).is_some_and(|m| offset_seconds(tz, m) == base) {
                    l = m;
                } else {
                    h = m;
                }
            }
            return at(h);
        }
        lo = hi;
    }
    None
}

/// Sorts intervals and merges the ones that overlap or touch.
fn merge<T: Ord + Copy>(intervals: &mut Vec<(T, T)>) {
    intervals.sort();
    let mut out: Vec<(T, T)> = Vec::with_capacity(intervals.len());
    for &(s, e) in intervals.iter() {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    *intervals = out;
}

fn minutes(field: &str, raw: &str, allow_24: bool) -> Result<Minute, Invalid> {
    let t = parse_hhmm(field, raw, allow_24)?;
    if allow_24 && raw == "24:00" {
        return Ok(DAY_MINUTES);
    }
    Ok((t.hour() * 60 + t.minute()) as Minute)
}

fn day_index(d: chrono::Weekday) -> usize {
    d.num_days_from_monday() as usize
}

fn day_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::config::TimeOff;

    use crate::domain::time::utc;

    fn hours(days: &[(Weekday, &[(&str, &str)])]) -> Option<BTreeMap<Weekday, Vec<[String; 2]>>> {
        Some(
            days.iter()
                .map(|(d, iv)| (*d, iv.iter().map(|(s, e)| [s.to_string(), e.to_string()]).collect()))
                .collect(),
        )
    }

    fn calendar(tz: &str, working: Option<BTreeMap<Weekday, Vec<[String; 2]>>>, off: &[(&str, &str)]) -> Calendar {
        let a = Availability {
            timezone: tz.to_string(),
            working_hours: working,
            time_off: off
                .iter()
                .map(|(s, e)| TimeOff {
                    start: utc(s),
                    end: utc(e),
                })
                .collect(),
        };
        Calendar::compile(&a).expect("valid availability")
    }

    const WEEKDAYS: [Weekday; 5] = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];

    fn nine_to_five(tz: &str) -> Calendar {
        let days: Vec<(Weekday, &[(&str, &str)])> = WEEKDAYS.iter().map(|d| (*d, &[("09:00", "17:00")][..])).collect();
        calendar(tz, hours(&days), &[])
    }

    #[test]
    fn null_availability_is_always_available_in_bucket_zero() {
        let t = utc("2026-11-22T03:00:00Z");
        assert!(is_available_at(None, t));
        assert_eq!(availability_bucket(None, t, 24), Some(0));
        let always = Calendar::from_optional(None).expect("always");
        assert!(always.is_available_at(t));
        assert_eq!(always.next_available_at(t, t + Duration::hours(1)), Some(t));
    }

    #[test]
    fn null_working_hours_means_every_hour_except_time_off() {
        let c = calendar(
            "Europe/London",
            None,
            &[("2026-12-24T00:00:00Z", "2026-12-27T00:00:00Z")],
        );
        assert!(c.is_available_at(utc("2026-12-23T23:59:59Z")));
        assert!(!c.is_available_at(utc("2026-12-24T00:00:00Z")));
        assert!(c.is_available_at(utc("2026-12-27T00:00:00Z")));
        assert_eq!(
            c.next_available_at(utc("2026-12-25T12:00:00Z"), utc("2027-01-01T00:00:00Z")),
            Some(utc("2026-12-27T00:00:00Z"))
        );
    }

    #[test]
    fn new_york_hours_are_local() {
        // November 2026: New York is UTC-5, so 09:00-17:00 local is 14:00-22:00 UTC.
        let c = nine_to_five("America/New_York");
        assert!(!c.is_available_at(utc("2026-11-24T13:59:59Z")));
        assert!(c.is_available_at(utc("2026-11-24T14:00:00Z")));
        assert!(c.is_available_at(utc("2026-11-24T21:59:59Z")));
        assert!(!c.is_available_at(utc("2026-11-24T22:00:00Z")));
        assert_eq!(
            c.next_available_at(utc("2026-11-24T03:00:00Z"), utc("2026-12-01T00:00:00Z")),
            Some(utc("2026-11-24T14:00:00Z"))
        );
        // Friday 17:00 local -> Monday 09:00 local.
        assert_eq!(
            c.next_available_at(utc("2026-11-27T22:00:00Z"), utc("2026-12-05T00:00:00Z")),
            Some(utc("2026-11-30T14:00:00Z"))
        );
    }

    #[test]
    fn a_weekday_left_out_is_a_day_off() {
        let c = calendar("Europe/London", hours(&[(Weekday::Mon, &[("09:00", "17:00")])]), &[]);
        // 2026-11-24 is a Tuesday.
        assert!(!c.is_available_at(utc("2026-11-24T10:00:00Z")));
        assert_eq!(
            c.next_available_at(utc("2026-11-24T10:00:00Z"), utc("2026-12-24T00:00:00Z")),
            Some(utc("2026-11-30T09:00:00Z"))
        );
        let never = calendar("Europe/London", hours(&[]), &[]);
        assert_eq!(
            never.next_available_at(utc("2026-11-24T10:00:00Z"), utc("2036-11-24T10:00:00Z")),
            None
        );
    }

    #[test]
    fn split_days_have_a_lunch_break() {
        let c = calendar(
            "Europe/London",
            hours(&[(Weekday::Tue, &[("13:00", "17:00"), ("09:00", "12:00")])]),
            &[],
        );
        assert!(c.is_available_at(utc("2026-11-24T11:59:00Z")));
        assert!(!c.is_available_at(utc("2026-11-24T12:00:00Z")));
        assert!(!c.is_available_at(utc("2026-11-24T12:59:59Z")));
        assert!(c.is_available_at(utc("2026-11-24T13:00:00Z")));
        assert_eq!(
            c.next_available_at(utc("2026-11-24T12:15:00Z"), utc("2026-11-25T00:00:00Z")),
            Some(utc("2026-11-24T13:00:00Z"))
        );
        // The answer must be before `until`.
        assert_eq!(
            c.next_available_at(utc("2026-11-24T12:15:00Z"), utc("2026-11-24T13:00:00Z")),
            None
        );
    }

    #[test]
    fn intervals_across_local_midnight_join_up() {
        // A night shift: Monday 22:00-24:00 and Tuesday 00:00-06:00, Tokyo time (UTC+9).
        let c = calendar(
            "Asia/Tokyo",
            hours(&[
                (Weekday::Mon, &[("22:00", "24:00")]),
                (Weekday::Tue, &[("00:00", "06:00")]),
            ]),
            &[],
        );
        // Monday 2026-11-23 22:00 JST is 13:00 UTC; Tuesday 06:00 JST is Monday 21:00 UTC.
        assert!(c.is_available_at(utc("2026-11-23T13:00:00Z")));
        assert!(c.is_available_at(utc("2026-11-23T14:59:59Z")));
        assert!(c.is_available_at(utc("2026-11-23T15:00:00Z")));
        assert!(!c.is_available_at(utc("2026-11-23T21:00:00Z")));
        // From Sunday in UTC (already Monday morning in Tokyo).
        assert_eq!(
            c.next_available_at(utc("2026-11-22T23:00:00Z"), utc("2026-11-30T00:00:00Z")),
            Some(utc("2026-11-23T13:00:00Z"))
        );
    }

    #[test]
    fn time_off_covering_working_hours_pushes_to_the_next_free_working_time() {
        let c = calendar(
            "Europe/London",
            hours(&[
                (Weekday::Tue, &[("09:00", "12:00"), ("13:00", "17:00")]),
                (Weekday::Wed, &[("09:00", "17:00")]),
            ]),
            &[
                // The whole Tuesday morning and part of the afternoon.
                ("2026-11-24T08:00:00Z", "2026-11-24T14:30:00Z"),
                // Overlapping and touching entries are merged.
                ("2026-11-25T09:00:00Z", "2026-11-25T10:00:00Z"),
                ("2026-11-25T09:30:00Z", "2026-11-25T11:00:00Z"),
                ("2026-11-25T11:00:00Z", "2026-11-25T12:00:00Z"),
            ],
        );
        assert!(!c.is_available_at(utc("2026-11-24T10:00:00Z")));
        assert_eq!(
            c.next_available_at(utc("2026-11-24T07:00:00Z"), utc("2026-12-01T00:00:00Z")),
            Some(utc("2026-11-24T14:30:00Z"))
        );
        assert_eq!(
            c.next_available_at(utc("2026-11-24T17:00:00Z"), utc("2026-12-01T00:00:00Z")),
            Some(utc("2026-11-25T12:00:00Z"))
        );
    }

    #[test]
    fn time_off_ending_outside_working_hours_waits_for_the_next_interval() {
        let c = calendar(
            "America/New_York",
            hours(&[
                (Weekday::Tue, &[("09:00", "17:00")]),
                (Weekday::Thu, &[("09:00", "17:00")]),
            ]),
            &[("2026-11-24T00:00:00Z", "2026-11-25T12:00:00Z")],
        );
        // Tuesday is off entirely; Wednesday is not a working day; Thursday 09:00 EST.
        assert_eq!(
            c.next_available_at(utc("2026-11-24T15:00:00Z"), utc("2026-12-01T00:00:00Z")),
            Some(utc("2026-11-26T14:00:00Z"))
        );
    }

    #[test]
    fn spring_forward_skips_local_times_that_do_not_exist() {
        // New York, Sunday 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
        let c = calendar(
            "America/New_York",
            hours(&[
                (Weekday::Sun, &[("02:30", "04:00")]),
                (Weekday::Mon, &[("02:10", "02:50")]),
            ]),
            &[],
        );
        // The interval starts inside the gap: work begins when the gap ends, 03:00 EDT.
        assert_eq!(
            c.next_available_at(utc("2026-03-08T00:00:00Z"), utc("2026-03-09T00:00:00Z")),
            Some(utc("2026-03-08T07:00:00Z"))
        );
        assert!(!c.is_available_at(utc("2026-03-08T06:59:59Z")));
        assert!(c.is_available_at(utc("2026-03-08T07:00:00Z")));
        assert!(!c.is_available_at(utc("2026-03-08T08:00:00Z")));
        // An ordinary Sunday a week before: 02:30 EST is 07:30 UTC.
        assert_eq!(
            c.next_available_at(utc("2026-03-01T00:00:00Z"), utc("2026-03-02T00:00:00Z")),
            Some(utc("2026-03-01T07:30:00Z"))
        );
        // Monday 02:10 EDT (after the change) is 06:10 UTC.
        assert_eq!(
            c.next_available_at(utc("2026-03-08T09:00:00Z"), utc("2026-03-10T00:00:00Z")),
            Some(utc("2026-03-09T06:10:00Z"))
        );
    }

    #[test]
    fn an_interval_wholly_inside_the_gap_is_skipped() {
        let c = calendar("America/New_York", hours(&[(Weekday::Sun, &[("02:10", "02:50")])]), &[]);
        // Not on 2026-03-08 (the gap); the next Sunday, 02:10 EDT = 06:10 UTC.
        assert_eq!(
            c.next_available_at(utc("2026-03-08T00:00:00Z"), utc("2026-03-20T00:00:00Z")),
            Some(utc("2026-03-15T06:10:00Z"))
        );
    }

    #[test]
    fn fall_back_counts_an_ambiguous_start_at_its_first_occurrence() {
        // London, Sunday 2026-10-25: 02:00 BST falls back to 01:00 GMT (01:00 UTC), so
        // 01:00-02:00 local happens twice: 00:00-01:00 UTC and 01:00-02:00 UTC.
        let c = calendar("Europe/London", hours(&[(Weekday::Sun, &[("01:30", "03:00")])]), &[]);
        assert_eq!(
            c.next_available_at(utc("2026-10-24T23:00:00Z"), utc("2026-10-26T00:00:00Z")),
            Some(utc("2026-10-25T00:30:00Z"))
        );
        // Worked 01:30-02:00 BST (00:30-01:00 UTC); the clock then shows 01:00 again, which is before the
        // start, and reaches 01:30 a second time at 01:30 UTC; worked on until 03:00 GMT.
        assert!(c.is_available_at(utc("2026-10-25T00:45:00Z")));
        assert!(!c.is_available_at(utc("2026-10-25T01:15:00Z")));
        assert!(c.is_available_at(utc("2026-10-25T01:30:00Z")));
        assert_eq!(
            c.next_available_at(utc("2026-10-25T01:00:00Z"), utc("2026-10-26T00:00:00Z")),
            Some(utc("2026-10-25T01:30:00Z"))
        );
        assert!(c.is_available_at(utc("2026-10-25T02:59:59Z")));
        assert!(!c.is_available_at(utc("2026-10-25T03:00:00Z")));
    }

    #[test]
    fn fall_back_repeats_local_times_after_an_interval_ended() {
        // 00:00-01:30 local on the fall-back day: worked 23:00-00:30 UTC (BST), then
        // again 01:00-01:30 UTC when the clock shows 01:00-01:30 GMT a second time.
        let c = calendar("Europe/London", hours(&[(Weekday::Sun, &[("00:00", "01:30")])]), &[]);
        assert!(c.is_available_at(utc("2026-10-25T00:15:00Z")));
        assert!(!c.is_available_at(utc("2026-10-25T00:45:00Z")));
        assert_eq!(
            c.next_available_at(utc("2026-10-25T00:30:00Z"), utc("2026-10-26T00:00:00Z")),
            Some(utc("2026-10-25T01:00:00Z"))
        );
    }

    #[test]
    fn summer_hours_follow_the_zone() {
        // London in July is UTC+1: 09:00 BST is 08:00 UTC.
        let c = nine_to_five("Europe/London");
        assert_eq!(
            c.next_available_at(utc("2026-07-14T00:00:00Z"), utc("2026-07-15T00:00:00Z")),
            Some(utc("2026-07-14T08:00:00Z"))
        );
        // Across the spring change: Friday 2026-03-27 is GMT, Monday 2026-03-30 is BST.
        assert_eq!(
            c.next_available_at(utc("2026-03-27T17:00:00Z"), utc("2026-04-05T00:00:00Z")),
            Some(utc("2026-03-30T08:00:00Z"))
        );
    }

    #[test]
    fn buckets_are_24_hour_windows_from_now() {
        let c = nine_to_five("Europe/London");
        // Tuesday 10:00 UTC (GMT in November): available now.
        assert_eq!(c.availability_bucket(utc("2026-11-24T10:00:00Z"), 24), Some(0));
        // Tuesday 18:00: first available Wednesday 09:00, 15 h away: bucket 1.
        assert_eq!(c.availability_bucket(utc("2026-11-24T18:00:00Z"), 24), Some(1));
        // ... but not within a 12-hour window.
        assert_eq!(c.availability_bucket(utc("2026-11-24T18:00:00Z"), 12), None);
        // Exactly 15 h: the window is half-open.
        assert_eq!(c.availability_bucket(utc("2026-11-24T18:00:00Z"), 15), None);
        assert_eq!(c.availability_bucket(utc("2026-11-24T18:00:00Z"), 16), Some(1));
        // Friday 18:00: first available Monday 09:00, 63 h away: bucket 3.
        assert_eq!(c.availability_bucket(utc("2026-11-27T18:00:00Z"), 120), Some(3));
        assert_eq!(c.availability_bucket(utc("2026-11-27T18:00:00Z"), 48), None);
        // 24 h exactly is the start of bucket 2.
        let c = calendar("UTC", hours(&[(Weekday::Sat, &[("09:00", "10:00")])]), &[]);
        assert_eq!(c.availability_bucket(utc("2026-11-27T09:00:00Z"), 120), Some(2));
        assert_eq!(c.availability_bucket(utc("2026-11-27T09:00:01Z"), 120), Some(1));
    }

    #[test]
    fn bad_fields_are_named() {
        let bad_zone = Availability {
            timezone: "Mars/Olympus".into(),
            working_hours: None,
            time_off: vec![],
        };
        match Calendar::compile(&bad_zone) {
            Err(Invalid { field, .. }) => assert_eq!(field, "availability.timezone"),
            other => panic!("expected a validation error, got {other:?}"),
        }
        let backwards = Availability {
            timezone: "UTC".into(),
            working_hours: hours(&[(Weekday::Wed, &[("09:00", "17:00"), ("12:00", "11:00")])]),
            time_off: vec![],
        };
        match Calendar::compile(&backwards) {
            Err(Invalid { field, .. }) => assert_eq!(field, "availability.working_hours.wed[1]"),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn offset_changes_are_found_to_the_second() {
        let ny: Tz = "America/New_York".parse().expect("zone");
        assert_eq!(
            next_offset_change(ny, utc("2026-03-01T00:00:00Z"), utc("2026-04-01T00:00:00Z")),
            Some(utc("2026-03-08T07:00:00Z"))
        );
        assert_eq!(
            next_offset_change(ny, utc("2026-10-20T00:00:00.5Z"), utc("2026-12-01T00:00:00Z")),
            Some(utc("2026-11-01T06:00:00Z"))
        );
        assert_eq!(
            next_offset_change(ny, utc("2026-04-01T00:00:00Z"), utc("2026-05-01T00:00:00Z")),
            None
        );
    }
}
