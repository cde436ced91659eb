//! The change feed's events (the outbox): what a change writes beside itself, in the
//! same transaction, and how a stored event reads back.
//!
//! An event's JSON is encoded once, when the change is decided, without its id; the
//! store numbers it when the change commits (the id is the cursor, in commit order), and
//! [`StoredEvent::json`] puts the id in front when it is read.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::history::HistoryEntry;
use super::record::StoredRecord;
use super::run::Run;
use super::{Id, Invalid};

/// The kinds of event, with the code a stored row carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    OwnerChanged,
    StatusChanged,
    RunFinished,
    ConfigChanged,
}

impl EventType {
    pub const ALL: [EventType; 4] = [
        EventType::OwnerChanged,
        EventType::StatusChanged,
        EventType::RunFinished,
        EventType::ConfigChanged,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventType::OwnerChanged => "record.owner_changed",
            EventType::StatusChanged => "record.status_changed",
            EventType::RunFinished => "run.finished",
            EventType::ConfigChanged => "config.changed",
        }
    }

    pub fn code(self) -> u8 {
        match self {
            EventType::OwnerChanged => 1,
            EventType::StatusChanged => 2,
            EventType::RunFinished => 3,
            EventType::ConfigChanged => 4,
        }
    }

    pub fn from_code(code: u8) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.code() == code)
    }

    pub fn parse(field: &str, name: &str) -> Result<EventType, Invalid> {
        EventType::ALL.into_iter().find(|t| t.name() == name).ok_or_else(|| {
            Invalid::new(
                field,
                format!(
                    "unknown event type {name:?}; one of {}",
                    EventType::ALL.map(EventType::name).join(", ")
                ),
            )
        })
    }
}

/// A set of event types (`None` in a filter: every type).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventTypes(u8);

impl EventTypes {
    pub fn all() -> EventTypes {
        EventTypes(0xff)
    }

    pub fn of(types: impl IntoIterator<Item = EventType>) -> EventTypes {
        EventTypes(types.into_iter().fold(0, |bits, t| bits | (1 << t.code())))
    }

    pub fn contains(self, t: EventType) -> bool {
        self.0 & (1 << t.code()) != 0
    }

    pub fn contains_code(self, code: u8) -> bool {
        code < 8 && self.0 & (1 << code) != 0
    }

    /// Parses `a,b` (the feed's `types=`).
    pub fn parse_list(field: &str, list: &str) -> Result<EventTypes, Invalid> {
        let types = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|name| EventType::parse(field, name))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(EventTypes::of(types))
    }
}

/// An event decided with its change, not yet numbered.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub kind: EventType,
    pub at: DateTime<Utc>,
    /// The record it is about (deliveries keep one record's events in order); empty
    /// for the others.
    pub key: String,
    /// `{"type", "at", "data"}`, without the id.
    pub body: Vec<u8>,
}

#[derive(Serialize)]
struct Body<'a, T> {
    #[serde(rename = "type")]
    kind: &'static str,
    at: &'a DateTime<Utc>,
    data: &'a T,
}

/// `record.owner_changed`'s data.
#[derive(Serialize)]
struct OwnerChanged<'a> {
    record_id: &'a Id,
    record_type: &'a str,
    owner: &'a Option<super::record::Owner>,
    previous_owner: &'a Option<super::record::Owner>,
    by: Option<super::history::ChangedBy>,
    rule_id: Option<&'a Id>,
    run_id: Option<&'a str>,
    status_reason: Option<super::record::StatusReason>,
}

/// `config.changed`'s data.
#[derive(Serialize)]
struct ConfigChanged<'a> {
    kind: &'a str,
    id: &'a str,
    action: ConfigAction,
}

/// What a configuration change did.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConfigAction {
    Created,
    Updated,
    Deleted,
}

impl NewEvent {
    fn new<T: Serialize>(kind: EventType, at: DateTime<Utc>, key: String, data: &T) -> NewEvent {
        let body = Body {
            kind: kind.name(),
            at: &at,
            data,
        };
        // Serialising these plain structs to a Vec cannot fail (string keys, no maps of
        // other keys); an empty body would still be a well-formed row.
        let body = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        NewEvent { kind, at, key, body }
    }

    /// The events of one record's change from `old` to `new` (as stored): its owner
    /// changed (`history`, when the change wrote one, says by what), or else its
    /// status reason did (a new record's status always counts as changed). None when
    /// neither changed.
    pub fn of_record_change(
        old: Option<&StoredRecord>,
        new: &StoredRecord,
        history: Option<&HistoryEntry>,
    ) -> Option<NewEvent> {
        let old_owner = old.and_then(|o| o.owner.as_ref());
        let old_reason = old.and_then(|o| o.status_reason);
        if old_owner != new.owner.as_ref() {
            let data = OwnerChanged {
                record_id: &new.id,
                record_type: new.record_type.as_str(),
                owner: &new.owner,
                previous_owner: match history {
                    Some(h) => &h.previous_owner,
                    None => &new.previous_owner,
                },
                by: history.map(|h| h.by),
                rule_id: history.and_then(|h| h.rule_id.as_ref()),
                run_id: history.and_then(|h| h.run_id.as_deref()),
                status_reason: new.status_reason,
            };
            let at = history.map_or(new.updated_at, |h| h.at);
            return Some(NewEvent::new(EventType::OwnerChanged, at, new.id.to_string(), &data));
        }
        // A new record's first status is a change (from nothing), whatever its reason.
        if old.is_none() || old_reason != new.status_reason {
            let view = new.status_view_ref(new.updated_at);
            return Some(NewEvent::new(
                EventType::StatusChanged,
                new.updated_at,
                new.id.to_string(),
                &view,
            ));
        }
        None
    }

    pub fn run_finished(run: &Run) -> NewEvent {
        NewEvent::new(EventType::RunFinished, run.finished_at, String::new(), run)
    }

    pub fn config_changed(kind: &str, id: &str, action: ConfigAction, at: DateTime<Utc>) -> NewEvent {
        NewEvent::new(
            EventType::ConfigChanged,
            at,
            String::new(),
            &ConfigChanged { kind, id, action },
        )
    }
}

/// An event as the feed reads it back.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// The cursor: events are numbered in commit order from 1.
    pub id: u64,
    pub kind: EventType,
    pub key: String,
    pub body: Vec<u8>,
}

impl StoredEvent {
    /// The event's JSON: `{"id": "<cursor>", "type", "at", "data"}`.
    pub fn json(&self) -> String {
        let rest = self.body.strip_prefix(b"{").unwrap_or(&self.body);
        let rest = String::from_utf8_lossy(rest);
        if rest.starts_with('}') {
            format!("{{\"id\":\"{}\"{rest}", self.id)
        } else {
            format!("{{\"id\":\"{}\",{rest}", self.id)
        }
    }
}

/// Parses a feed cursor (an event id; `0` is before every event).
pub fn parse_cursor(field: &str, cursor: &str) -> Result<u64, Invalid> {
    cursor
        .parse::<u64>()
        .map_err(|_| Invalid::new(field, "a cursor is the id of an event (a number), or 0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_event_reads_back_with_its_id_first() {
        let at = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let e = NewEvent::config_changed("seller", "s1", ConfigAction::Created, at);
        let stored = StoredEvent {
            id: 42,
            kind: e.kind,
            key: e.key,
            body: e.body,
        };
        let v: serde_json::Value = serde_json::from_str(&stored.json()).unwrap_or_default();
        assert_eq!(v["id"], "42");
        assert_eq!(v["type"], "config.changed");
        assert_eq!(v["data"]["action"], "created");
        assert_eq!(v["at"], "2027-01-15T08:00:00Z");
    }

    #[test]
    fn type_lists_parse_and_refuse_unknown_names() {
        let t = EventTypes::parse_list("types", "run.finished, config.changed").unwrap_or_default();
        assert!(t.contains(EventType::RunFinished) && t.contains(EventType::ConfigChanged));
        assert!(!t.contains(EventType::OwnerChanged));
        assert!(EventTypes::parse_list("types", "record.nope").is_err());
    }
}
