//! The transactions callers see: typed operations over allot's data, never a table.
//! A [`ReadTxn`] is a consistent snapshot; a [`WriteTxn`] is one job of a group commit
//! (see [`super::Store::write`]).

use chrono::Utc;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::codec::{decode_json, decode_row, encode_json};
use super::{StoreError, keys, tables};

use crate::domain::Id;
use crate::domain::config::Rule;
use crate::domain::event::{ConfigAction, NewEvent};
use crate::domain::seller::SellerCounters;

/// A configuration collection: JSON values under string keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collection {
    Tokens,
    Sellers,
    Teams,
    Queues,
    Sequences,
    Segments,
    RecordTypes,
    Settings,
    /// Key: segment id.
    Schedules,
    Webhooks,
}

impl Collection {
    fn table(self) -> TableDefinition<'static, &'static str, &'static [u8]> {
        match self {
            Collection::Tokens => tables::TOKENS,
            Collection::Sellers => tables::SELLERS,
            Collection::Teams => tables::TEAMS,
            Collection::Queues => tables::QUEUES,
            Collection::Sequences => tables::SEQUENCES,
            Collection::Segments => tables::SEGMENTS,
            Collection::RecordTypes => tables::RECORD_TYPES,
            Collection::Settings => tables::SETTINGS,
            Collection::Schedules => tables::SCHEDULES,
            Collection::Webhooks => tables::WEBHOOKS,
        }
    }

    /// The `kind` of its `config.changed` events; `None` for tokens, which are not
    /// configuration.
    fn event_kind(self) -> Option<&'static str> {
        Some(match self {
            Collection::Tokens => return None,
            Collection::Sellers => "seller",
            Collection::Teams => "team",
            Collection::Queues => "queue",
            Collection::Sequences => "sequence",
            Collection::Segments => "segment",
            Collection::RecordTypes => "record_type",
            Collection::Settings => "settings",
            Collection::Schedules => "schedule",
            Collection::Webhooks => "webhook",
        })
    }
}

/// `segment/rule`: `/` never occurs in an id, so the key is unambiguous and a segment's
/// rules are one key range.
fn rule_key(segment: &str, rule: &str) -> String {
    format!("{segment}/{rule}")
}

/// The per-rule round-robin key `segment/rule/seller`.
pub(super) fn rule_turn_key(turn: &RuleTurn) -> String {
    format!("{}/{}/{}", turn.segment_id, turn.rule_id, turn.seller_id)
}

/// The counters' sequence numbers; each is the number the next one gets (1 when none
/// was ever written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sequences {
    /// Arrival order of the next new record.
    pub next_record: u64,
    /// Number of the next run.
    pub next_run: u64,
    /// Number of the next assignment (round-robin order).
    pub next_assignment: u64,
}

/// A seller's last turn under one rule (`round_robin_scope: rule`): the assignment
/// number of its last assignment by that rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RuleTurn {
    pub segment_id: Id,
    pub rule_id: Id,
    pub seller_id: Id,
    pub seq: u64,
}

/// A read snapshot.
pub struct ReadTxn(pub(super) redb::ReadTransaction);

impl ReadTxn {
    pub(super) fn begin(db: &redb::Database) -> Result<ReadTxn, StoreError> {
        Ok(ReadTxn(db.begin_read()?))
    }

    /// Every item of a collection, in key order.
    pub fn load_all<T: DeserializeOwned>(&self, c: Collection) -> Result<Vec<(String, T)>, StoreError> {
        let table = self.0.open_table(c.table())?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            let key = k.value().to_string();
            let value = decode_json(&key, v.value())?;
            out.push((key, value));
        }
        Ok(out)
    }

    pub fn get<T: DeserializeOwned>(&self, c: Collection, key: &str) -> Result<Option<T>, StoreError> {
        let table = self.0.open_table(c.table())?;
        match table.get(key)? {
            None => Ok(None),
            Some(v) => decode_json(key, v.value()).map(Some),
        }
    }

    pub fn contains(&self, c: Collection, key: &str) -> Result<bool, StoreError> {
        Ok(self.0.open_table(c.table())?.get(key)?.is_some())
    }

    /// Every rule: segment id, rule id, rule (rows with unparsable keys are skipped).
    pub fn rules(&self) -> Result<Vec<(Id, Id, Rule)>, StoreError> {
        let table = self.0.open_table(tables::RULES)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            let key = k.value();
            let Some((seg, rid)) = key.split_once('/') else {
                continue;
            };
            let (Ok(seg), Ok(rid)) = (Id::parse("id", seg), Id::parse("id", rid)) else {
                continue;
            };
            out.push((seg, rid, decode_json(key, v.value())?));
        }
        Ok(out)
    }

    pub fn sequences(&self) -> Result<Sequences, StoreError> {
        let meta = self.0.open_table(tables::META)?;
        let next = |key: &str| -> Result<u64, StoreError> { Ok(meta.get(key)?.map(|v| v.value()).unwrap_or(1)) };
        Ok(Sequences {
            next_record: next("next_seq")?,
            next_run: next("next_run")?,
            next_assignment: next("next_assignment_seq")?,
        })
    }

    /// Every seller's counters (rows of ids that no longer parse are skipped).
    pub fn seller_counters(&self) -> Result<Vec<(Id, SellerCounters)>, StoreError> {
        let mut out = Vec::new();
        for row in self.0.open_table(tables::SELLER_COUNTERS)?.iter()? {
            let (k, v) = row?;
            let c: SellerCounters = decode_row(k.value(), v.value())?;
            if let Ok(id) = Id::parse("id", k.value()) {
                out.push((id, c));
            }
        }
        Ok(out)
    }

    /// Every seller's last turn per rule.
    pub fn rule_turns(&self) -> Result<Vec<RuleTurn>, StoreError> {
        let mut out = Vec::new();
        for row in self.0.open_table(tables::RULE_ROUND_ROBIN)?.iter()? {
            let (k, v) = row?;
            let mut parts = k.value().splitn(3, '/');
            let (Some(seg), Some(rule), Some(seller)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let (Ok(segment_id), Ok(rule_id), Ok(seller_id)) =
                (Id::parse("id", seg), Id::parse("id", rule), Id::parse("id", seller))
            else {
                continue;
            };
            out.push(RuleTurn {
                segment_id,
                rule_id,
                seller_id,
                seq: v.value(),
            });
        }
        Ok(out)
    }
}

/// One job's view of a write transaction. Its writes commit with the job's group, or
/// are rolled back with the job when it answers an error.
pub struct WriteTxn<'a>(pub(super) &'a redb::WriteTransaction);

impl WriteTxn<'_> {
    /// Writes `value` under `key`; answers whether it was created (not replaced).
    pub fn put<T: Serialize>(&self, c: Collection, key: &str, value: &T) -> Result<bool, StoreError> {
        let bytes = encode_json(key, value)?;
        let mut table = self.0.open_table(c.table())?;
        let existed = table.insert(key, bytes.as_slice())?.is_some();
        drop(table);
        let action = if existed {
            ConfigAction::Updated
        } else {
            ConfigAction::Created
        };
        self.config_event(c.event_kind(), key, action)?;
        Ok(!existed)
    }

    /// The `config.changed` event of a configuration write, in its transaction.
    fn config_event(&self, kind: Option<&str>, id: &str, action: ConfigAction) -> Result<(), StoreError> {
        match kind {
            Some(kind) => self.append_events(&[NewEvent::config_changed(kind, id, action, Utc::now())]),
            None => Ok(()),
        }
    }

    /// Removes `key`; answers the value it had.
    pub fn take<T: DeserializeOwned>(&self, c: Collection, key: &str) -> Result<Option<T>, StoreError> {
        let mut table = self.0.open_table(c.table())?;
        let old = table.remove(key)?.map(|v| v.value().to_vec());
        drop(table);
        if old.is_some() {
            self.config_event(c.event_kind(), key, ConfigAction::Deleted)?;
        }
        old.map(|bytes| decode_json(key, &bytes)).transpose()
    }

    /// Removes `key`; answers whether it existed.
    pub fn delete(&self, c: Collection, key: &str) -> Result<bool, StoreError> {
        let existed = self.0.open_table(c.table())?.remove(key)?.is_some();
        if existed {
            self.config_event(c.event_kind(), key, ConfigAction::Deleted)?;
        }
        Ok(existed)
    }

    pub fn contains(&self, c: Collection, key: &str) -> Result<bool, StoreError> {
        Ok(self.0.open_table(c.table())?.get(key)?.is_some())
    }

    /// Writes a rule of a segment; answers whether it was created.
    pub fn put_rule(&self, segment: &str, rule_id: &str, rule: &Rule) -> Result<bool, StoreError> {
        let key = rule_key(segment, rule_id);
        let bytes = encode_json(&key, rule)?;
        let created = self
            .0
            .open_table(tables::RULES)?
            .insert(key.as_str(), bytes.as_slice())?
            .is_none();
        let action = if created {
            ConfigAction::Created
        } else {
            ConfigAction::Updated
        };
        self.config_event(Some("rule"), &key, action)?;
        Ok(created)
    }

    /// Removes a rule of a segment; answers whether it existed.
    pub fn delete_rule(&self, segment: &str, rule_id: &str) -> Result<bool, StoreError> {
        let key = rule_key(segment, rule_id);
        let existed = self.0.open_table(tables::RULES)?.remove(key.as_str())?.is_some();
        if existed {
            self.config_event(Some("rule"), &key, ConfigAction::Deleted)?;
        }
        Ok(existed)
    }

    /// Removes every rule of a segment.
    pub fn delete_rules_of(&self, segment: &str) -> Result<(), StoreError> {
        let mut rules = self.0.open_table(tables::RULES)?;
        let prefix = rule_key(segment, "");
        let end = String::from_utf8_lossy(&keys::prefix_end(prefix.as_bytes())).into_owned();
        let mut deleted = Vec::new();
        rules.retain_in(prefix.as_str()..end.as_str(), |k, _| {
            deleted.push(k.to_string());
            false
        })?;
        drop(rules);
        for key in deleted {
            self.config_event(Some("rule"), &key, ConfigAction::Deleted)?;
        }
        Ok(())
    }
}
