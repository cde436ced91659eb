//! The change feed's outbox: events numbered in commit order, written by the jobs that
//! make the changes (record batches, configuration writes), read by the feed and the
//! webhook deliveries, pruned after their retention.
//!
//! Row: `type code (1) | at, unix seconds (8, big-endian) | key length (2) | key | body`
//! so that filtering by type and pruning by age read no JSON.

use std::cell::Cell;

use chrono::{DateTime, Utc};
use redb::{ReadableTable, WriteTransaction};

use super::txn::{ReadTxn, WriteTxn};
use super::{StoreError, tables};
use crate::domain::event::{EventType, EventTypes, NewEvent, StoredEvent};

thread_local! {
    /// The id of the last event written by the writer's current transaction: published
    /// to the feed's waiters once it commits. Only the writer thread writes.
    static LAST_WRITTEN: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Forgets what an aborted transaction wrote (the writer calls it before each try).
pub(super) fn reset_last_written() {
    LAST_WRITTEN.with(|c| c.set(None));
}

/// The last event id the committed transaction wrote, if it wrote any.
pub(super) fn take_last_written() -> Option<u64> {
    LAST_WRITTEN.with(|c| c.take())
}

fn encode(e: &NewEvent) -> Vec<u8> {
    let key = e.key.as_bytes();
    let key = &key[..key.len().min(u16::MAX as usize)];
    let mut row = Vec::with_capacity(11 + key.len() + e.body.len());
    row.push(e.kind.code());
    row.extend_from_slice(&e.at.timestamp().to_be_bytes());
    row.extend_from_slice(&(key.len() as u16).to_be_bytes());
    row.extend_from_slice(key);
    row.extend_from_slice(&e.body);
    row
}

fn code_of(row: &[u8]) -> u8 {
    row.first().copied().unwrap_or(0)
}

fn at_of(row: &[u8]) -> i64 {
    row.get(1..9)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(i64::MIN, i64::from_be_bytes)
}

fn decode(id: u64, row: &[u8]) -> Result<StoredEvent, StoreError> {
    let corrupt = || StoreError::Codec {
        key: format!("event {id}"),
        message: "truncated or unknown event row".into(),
    };
    let kind = EventType::from_code(code_of(row)).ok_or_else(corrupt)?;
    let key_len = row
        .get(9..11)
        .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
        .ok_or_else(corrupt)?;
    let key = row.get(11..11 + key_len).ok_or_else(corrupt)?;
    let body = row.get(11 + key_len..).ok_or_else(corrupt)?;
    Ok(StoredEvent {
        id,
        kind,
        key: String::from_utf8_lossy(key).into_owned(),
        body: body.to_vec(),
    })
}

/// Numbers `events` from the feed's sequence and writes them, in order.
pub(super) fn append(txn: &WriteTransaction, events: &[NewEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut meta = txn.open_table(tables::META)?;
    let mut next = meta.get("next_event")?.map(|v| v.value()).unwrap_or(1);
    let mut table = txn.open_table(tables::EVENTS)?;
    for e in events {
        table.insert(next, encode(e).as_slice())?;
        next += 1;
    }
    meta.insert("next_event", next)?;
    LAST_WRITTEN.with(|c| c.set(Some(next - 1)));
    Ok(())
}

impl WriteTxn<'_> {
    /// Writes events with the job's other changes.
    pub fn append_events(&self, events: &[NewEvent]) -> Result<(), StoreError> {
        append(self.0, events)
    }

    /// Deletes up to `max` of the oldest events written before `cutoff`; answers the
    /// id of the last one deleted (0: none).
    pub fn prune_events(&self, cutoff: DateTime<Utc>, max: usize) -> Result<u64, StoreError> {
        let cutoff = cutoff.timestamp();
        let mut table = self.0.open_table(tables::EVENTS)?;
        let mut last = 0;
        for _ in 0..max {
            let Some((id, at)) = table.first()?.map(|(k, v)| (k.value(), at_of(v.value()))) else {
                break;
            };
            if at >= cutoff {
                break;
            }
            table.remove(id)?;
            last = id;
        }
        Ok(last)
    }

    /// The id of the last event committed or written by this transaction (0: none).
    pub fn last_event_id(&self) -> Result<u64, StoreError> {
        let meta = self.0.open_table(tables::META)?;
        Ok(meta.get("next_event")?.map(|v| v.value()).unwrap_or(1) - 1)
    }
}

impl ReadTxn {
    /// Up to `limit` events after `after` whose type is in `types`, in commit order;
    /// and the id of the last event looked at (so that a reader can resume past events
    /// it does not want).
    pub fn events(&self, after: u64, types: EventTypes, limit: usize) -> Result<(Vec<StoredEvent>, u64), StoreError> {
        let table = self.0.open_table(tables::EVENTS)?;
        let mut out = Vec::new();
        let mut scanned = after;
        for row in table.range(after.saturating_add(1)..)? {
            let (k, v) = row?;
            let id = k.value();
            scanned = id;
            if types.contains_code(code_of(v.value())) {
                out.push(decode(id, v.value())?);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok((out, scanned))
    }

    /// One event.
    pub fn event(&self, id: u64) -> Result<Option<StoredEvent>, StoreError> {
        let table = self.0.open_table(tables::EVENTS)?;
        table.get(id)?.map(|v| decode(id, v.value())).transpose()
    }

    /// How many events after `after` have a type in `types`.
    pub fn count_events(&self, after: u64, types: EventTypes) -> Result<u64, StoreError> {
        let table = self.0.open_table(tables::EVENTS)?;
        let mut n = 0;
        for row in table.range(after.saturating_add(1)..)? {
            let (_, v) = row?;
            if types.contains_code(code_of(v.value())) {
                n += 1;
            }
        }
        Ok(n)
    }

    /// The id of the last committed event (0: none yet).
    pub fn last_event_id(&self) -> Result<u64, StoreError> {
        let meta = self.0.open_table(tables::META)?;
        Ok(meta.get("next_event")?.map(|v| v.value()).unwrap_or(1) - 1)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::domain::event::{ConfigAction, EventType};
    use crate::store::Store;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"))
            .block_on(f)
    }

    /// Events are numbered in commit order across jobs; pruning deletes the oldest by
    /// age only; a commit that wrote events is published to the feed's waiters.
    #[test]
    fn events_are_numbered_in_commit_order_and_pruned_by_age() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("open: {e}"));
        let mut published = store.subscribe_events();
        fn day(d: i64) -> DateTime<Utc> {
            Utc.timestamp_opt(1_800_000_000 + d * 86_400, 0)
                .single()
                .unwrap_or_default()
        }
        fn event(d: i64, id: &str) -> NewEvent {
            NewEvent::config_changed("seller", id, ConfigAction::Created, day(d))
        }
        let first = store.write(move |txn| txn.append_events(&[event(0, "a"), event(1, "b")]));
        let second = store.write(move |txn| txn.append_events(&[event(5, "c")]));
        block_on(async {
            first.await.unwrap_or_else(|e: StoreError| panic!("{e}"));
            second.await.unwrap_or_else(|e: StoreError| panic!("{e}"));
        });
        assert_eq!(*published.borrow_and_update(), 3, "the last committed id is published");
        let txn = store.read().unwrap_or_else(|e| panic!("{e}"));
        let (all, scanned) = txn.events(0, EventTypes::all(), 10).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(scanned, 3);
        assert!(all[2].json().contains("\"id\":\"c\""), "{}", all[2].json());
        let (none, _) = txn
            .events(0, EventTypes::of([EventType::RunFinished]), 10)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(none.is_empty());
        drop(txn);

        // Older than day 2: the first two go, the third stays.
        let cutoff = day(2) - Duration::seconds(1);
        let pruned = block_on(store.write(move |txn| txn.prune_events(cutoff, 100))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pruned, 2, "the last pruned id");
        let txn = store.read().unwrap_or_else(|e| panic!("{e}"));
        let (left, _) = txn.events(0, EventTypes::all(), 10).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(left.iter().map(|e| e.id).collect::<Vec<_>>(), [3]);
        assert_eq!(txn.last_event_id().unwrap_or(0), 3, "numbering is not reset by pruning");
        drop(txn);
        store.close();
    }
}
