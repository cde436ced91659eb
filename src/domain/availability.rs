//! Seller availability calendars (provisional: replaced by the full calendar module).

use chrono::{DateTime, Datelike, Utc};

use super::config::{Availability, Weekday, parse_hhmm, parse_timezone};
use crate::error::Error;

pub struct Calendar {
    tz: chrono_tz::Tz,
    working: Option<Vec<(Weekday, chrono::NaiveTime, chrono::NaiveTime)>>,
    time_off: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Calendar {
    pub fn compile(a: &Availability) -> Result<Calendar, Error> {
        let tz = parse_timezone("availability.timezone", &a.timezone)?;
        let working = match &a.working_hours {
            None => None,
            Some(map) => {
                let mut v = Vec::new();
                for (day, intervals) in map {
                    for [s, e] in intervals {
                        v.push((*day, parse_hhmm("", s, false)?, parse_hhmm("", e, true)?));
                    }
                }
                Some(v)
            }
        };
        Ok(Calendar {
            tz,
            working,
            time_off: a.time_off.iter().map(|t| (t.start, t.end)).collect(),
        })
    }

    pub fn is_available_at(&self, t: DateTime<Utc>) -> bool {
        if self.time_off.iter().any(|(s, e)| *s <= t && t < *e) {
            return false;
        }
        match &self.working {
            None => true,
            Some(w) => {
                let local = t.with_timezone(&self.tz);
                let day = Weekday::from_chrono(local.weekday());
                let time = local.time();
                w.iter().any(|(d, s, e)| *d == day && *s <= time && time < *e)
            }
        }
    }

    pub fn availability_bucket(&self, now: DateTime<Utc>, within_hours: u32) -> Option<u32> {
        let step = chrono::Duration::minutes(1);
        let end = now + chrono::Duration::hours(within_hours as i64);
        let mut t = now;
        while t < end {
            if self.is_available_at(t) {
                let k = (t - now).num_seconds() / 86_400;
                return Some(if t == now { 0 } else { k as u32 + 1 });
            }
            t += step;
        }
        None
    }
}
