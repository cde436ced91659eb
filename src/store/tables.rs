//! Every redb table allot uses, as typed constants. Values are JSON bytes, except the
//! hot tables (records, history, seller counters), which hold compact rows
//! ([`super::codec::encode_row`]);
//! composite keys are built by [`super::keys`] so that byte order is the list order.

use redb::TableDefinition;

/// `schema_version`, `next_seq` and other single values.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

pub const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens");
pub const SELLERS: TableDefinition<&str, &[u8]> = TableDefinition::new("sellers");
pub const TEAMS: TableDefinition<&str, &[u8]> = TableDefinition::new("teams");
pub const QUEUES: TableDefinition<&str, &[u8]> = TableDefinition::new("queues");
pub const SEQUENCES: TableDefinition<&str, &[u8]> = TableDefinition::new("sequences");
pub const SEGMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("segments");
/// Key: `segment_id/rule_id` (`/` never occurs in an id).
pub const RULES: TableDefinition<&str, &[u8]> = TableDefinition::new("rules");
pub const RECORD_TYPES: TableDefinition<&str, &[u8]> = TableDefinition::new("record_types");
/// One row, key `settings`.
pub const SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("settings");
/// Key: segment id.
pub const SCHEDULES: TableDefinition<&str, &[u8]> = TableDefinition::new("schedules");

/// Per seller: open-record count and round-robin position (kept apart from the
/// seller's configuration so that a `PUT` never clobbers counters).
pub const SELLER_COUNTERS: TableDefinition<&str, &[u8]> = TableDefinition::new("seller_counters");

/// Key: record id. Value: the stored record (compact row).
pub const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");
/// Monitor-view index: key from [`super::keys::view_key`], value record id.
pub const RECORD_VIEWS: TableDefinition<&[u8], &str> = TableDefinition::new("record_views");
/// Monitor-view counts: key from [`super::keys::count_key`].
pub const VIEW_COUNTS: TableDefinition<&[u8], u64> = TableDefinition::new("view_counts");

/// Key: run id (zero-padded sequence). Value: run JSON.
pub const RUNS: TableDefinition<&str, &[u8]> = TableDefinition::new("runs");
/// Runs in progress, key run id, value the run so far: a row left here at start was
/// interrupted by a stop or crash and is recorded as failed.
pub const RUNS_OPEN: TableDefinition<&str, &[u8]> = TableDefinition::new("runs_open");
/// Key: `segment_id \0 seq(be)`; value run id.
pub const RUNS_BY_SEGMENT: TableDefinition<&[u8], &str> = TableDefinition::new("runs_by_segment");

/// Key: history sequence number. Value: history entry (compact row).
pub const HISTORY: TableDefinition<u64, &[u8]> = TableDefinition::new("history");
/// Key: `scope \0 seq(be)` with scopes `r:<record>`, `t:<type>` and, bucketed by
/// history number, `o<bucket>:<owner>` (see `history::visit_owner_entries`); value ().
pub const HISTORY_INDEX: TableDefinition<&[u8], ()> = TableDefinition::new("history_index");

/// Per-rule round-robin order (`round_robin_scope: rule`): key `segment/rule/seller`,
/// value the assignment sequence number of the seller's last assignment by that rule.
pub const RULE_ROUND_ROBIN: TableDefinition<&str, u64> = TableDefinition::new("rule_round_robin");

/// The change feed (outbox). Key: event id, in commit order. Value: see `events.rs`.
pub const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
/// Webhooks (configuration, with their secret). Key: webhook id.
pub const WEBHOOKS: TableDefinition<&str, &[u8]> = TableDefinition::new("webhooks");
/// Per webhook: how far its deliveries read the feed, and whether it keeps failing.
pub const WEBHOOK_STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("webhook_state");
/// Deliveries: key `webhook_id \0 event_id(be)`, value the delivery (JSON).
pub const DELIVERIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("deliveries");
