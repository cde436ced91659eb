//! How times are written: RFC 3339 strings for people (the JSON API, as chrono writes
//! them), `[seconds, nanoseconds]` since the epoch for the store's compact rows (exact
//! to the nanosecond, like the times themselves). Formatting and
//! parsing RFC 3339 was a tenth of the cost of encoding a record row.
//!
//! Use with `#[serde(with = "crate::domain::time::compact")]` (or `compact_opt` for an
//! `Option`) on fields of types that are both API JSON and stored rows.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

fn to_parts(t: &DateTime<Utc>) -> (i64, u32) {
    (t.timestamp(), t.timestamp_subsec_nanos())
}

fn from_parts<E: serde::de::Error>((secs, nanos): (i64, u32)) -> Result<DateTime<Utc>, E> {
    Utc.timestamp_opt(secs, nanos)
        .single()
        .ok_or_else(|| E::custom(format!("[{secs}, {nanos}] is not a time")))
}

pub mod compact {
    use super::*;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            t.serialize(s)
        } else {
            to_parts(t).serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        if d.is_human_readable() {
            DateTime::<Utc>::deserialize(d)
        } else {
            from_parts(<(i64, u32)>::deserialize(d)?)
        }
    }
}

pub mod compact_opt {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            t.serialize(s)
        } else {
            t.as_ref().map(to_parts).serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        if d.is_human_readable() {
            Option::<DateTime<Utc>>::deserialize(d)
        } else {
            Option::<(i64, u32)>::deserialize(d)?.map(from_parts).transpose()
        }
    }
}

/// An RFC 3339 instant, for tests that write their times as text.
#[cfg(test)]
pub(crate) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}
