//! Assignment history rows and their indexes (per record, per type, per owner), and
//! the listing that reads them newest first.

use chrono::{DateTime, Utc};
use redb::{ReadableTable, WriteTransaction};

use super::codec::{decode_row, encode_row};
use super::txn::ReadTxn;
use super::{StoreError, keys, tables};
use crate::domain::history::{HistoryEntry, HistoryFilter};
use crate::domain::{Id, Page};

/// Owner index keys are bucketed by history number (`o<bucket>:<owner>`): within a
/// bucket each owner's entries are contiguous, so a commit of 1000 assignments over 500
/// sellers touches the few leaf pages of the current bucket, not one page per seller
/// (which was a third of the writer's time, docs/perf-notes.md). A listing by owner
/// visits the buckets newest first.
const OWNER_BUCKET_BITS: u32 = 13;

fn owner_scope(owner: &str, bucket: u64) -> String {
    format!("o{bucket:012x}:{owner}")
}

/// Calls `visit` with the number of every entry assigning to or from `owner`, newest
/// first, below `before` (exclusive) when given, until it answers false.
fn visit_owner_entries(
    txn: &redb::ReadTransaction,
    owner: &str,
    before: Option<u64>,
    mut visit: impl FnMut(u64) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let last = match before {
        Some(b) => b.saturating_sub(1),
        None => txn
            .open_table(tables::META)?
            .get("next_history")?
            .map(|v| v.value())
            .unwrap_or(1)
            .saturating_sub(1),
    };
    let index = txn.open_table(tables::HISTORY_INDEX)?;
    for bucket in (0..=last >> OWNER_BUCKET_BITS).rev() {
        let scope = owner_scope(owner, bucket);
        let prefix = keys::scope_prefix(&scope);
        let end = match before {
            Some(b) if b >> OWNER_BUCKET_BITS == bucket => keys::seq_key(&scope, b),
            _ => keys::prefix_end(&prefix),
        };
        for row in index.range(prefix.as_slice()..end.as_slice())?.rev() {
            let (k, _) = row?;
            if !visit(keys::u64_from_be(&k.value()[prefix.len()..]))? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The id of history entry number `seq`.
fn entry_id(seq: u64) -> String {
    format!("h{seq:012}")
}

/// The number of a history entry id (`None` for anything else).
pub fn entry_seq(id: &str) -> Option<u64> {
    id.strip_prefix('h').and_then(|n| n.parse().ok())
}

/// Reads entry number `seq` from its row: the row does not repeat the id its key gives.
fn decode_entry(seq: u64, bytes: &[u8]) -> Result<HistoryEntry, StoreError> {
    let id = entry_id(seq);
    let mut e: HistoryEntry = decode_row(&id, bytes)?;
    e.id = id;
    Ok(e)
}

/// Reads entry `seq` and keeps it when it matches and the page has room. Answers false
/// when a match is found after the page is full: there is a next page. Looking one match
/// ahead (rather than one row) means a page whose remaining rows all fail the filters
/// ends the list with `next: null` instead of pointing at an empty page.
fn visit(
    rows: &redb::ReadOnlyTable<u64, &'static [u8]>,
    seq: u64,
    filter: &HistoryFilter,
    items: &mut Vec<HistoryEntry>,
    limit: usize,
) -> Result<bool, StoreError> {
    let Some(v) = rows.get(seq)? else {
        return Ok(true);
    };
    let e = decode_entry(seq, v.value())?;
    if !filter.keeps(&e) {
        return Ok(true);
    }
    if items.len() == limit {
        return Ok(false);
    }
    items.push(e);
    Ok(true)
}

impl ReadTxn {
    /// Assignment history, newest first, numbered below `before` when given, filtered;
    /// the next cursor is an entry id. The most selective index answers; the other
    /// filters are checked per entry.
    pub fn assignment_page(
        &self,
        filter: &HistoryFilter,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Page<HistoryEntry>, StoreError> {
        let txn = &self.0;
        let rows = txn.open_table(tables::HISTORY)?;
        let scope = match (&filter.record_id, &filter.seller_id, &filter.record_type) {
            (Some(r), ..) => Some(format!("r:{r}")),
            (None, Some(_), _) => None,
            (None, None, Some(t)) => Some(format!("t:{t}")),
            (None, None, None) => None,
        };
        let mut items = Vec::new();
        let mut more = false;
        match (scope, &filter.seller_id) {
            (Some(scope), _) => {
                let index = txn.open_table(tables::HISTORY_INDEX)?;
                let prefix = keys::scope_prefix(&scope);
                let end = match before {
                    Some(b) => keys::seq_key(&scope, b),
                    None => keys::prefix_end(&prefix),
                };
                for row in index.range(prefix.as_slice()..end.as_slice())?.rev() {
                    let (k, _) = row?;
                    let seq = keys::u64_from_be(&k.value()[prefix.len()..]);
                    if !visit(&rows, seq, filter, &mut items, limit)? {
                        more = true;
                        break;
                    }
                }
            }
            (None, Some(seller)) => {
                visit_owner_entries(txn, seller, before, |seq| {
                    let go_on = visit(&rows, seq, filter, &mut items, limit)?;
                    more = !go_on;
                    Ok(go_on)
                })?;
            }
            (None, None) => {
                let range = match before {
                    Some(b) => rows.range(..b)?,
                    None => rows.range(0u64..)?,
                };
                for row in range.rev() {
                    let (k, _) = row?;
                    if !visit(&rows, k.value(), filter, &mut items, limit)? {
                        more = true;
                        break;
                    }
                }
            }
        }
        let next = if more { items.last().map(|e| e.id.clone()) } else { None };
        Ok(Page { items, next })
    }

    /// The records run `run_id` assigned, in the order it assigned them, from its history
    /// entries: for a run interrupted by a stop, whose open row carries only its counts.
    /// History has no index by run, so this reads it newest first, and stops once `count`
    /// entries are found (the run's durable count) or at entries older than `since` (the
    /// run's start: none of its entries comes before it). Its entries are the newest but
    /// for what ingests committed beside it, so this reads few rows.
    pub fn run_assignments(&self, run_id: &str, since: DateTime<Utc>, count: u64) -> Result<Vec<Id>, StoreError> {
        let rows = self.0.open_table(tables::HISTORY)?;
        let mut found = Vec::new();
        for row in rows.range(0u64..)?.rev() {
            if found.len() as u64 >= count {
                break;
            }
            let (k, v) = row?;
            let e = decode_entry(k.value(), v.value())?;
            if e.at < since {
                break;
            }
            if e.run_id.as_deref() == Some(run_id) {
                found.push(e.record_id);
            }
        }
        found.reverse();
        Ok(found)
    }
}

/// Appends entries, numbering them from the history sequence (their `id` is not
/// stored: it is the number's, see [`decode_entry`]).
pub(super) fn append(txn: &WriteTransaction, entries: &[HistoryEntry]) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut meta = txn.open_table(tables::META)?;
    let first = meta.get("next_history")?.map(|v| v.value()).unwrap_or(1);
    meta.insert("next_history", first + entries.len() as u64)?;
    drop(meta);
    let mut rows = txn.open_table(tables::HISTORY)?;
    let mut index = txn.open_table(tables::HISTORY_INDEX)?;
    for (i, e) in entries.iter().enumerate() {
        let seq = first + i as u64;
        let bytes = encode_row(e.record_id.as_str(), e)?;
        rows.insert(seq, bytes.as_slice())?;
        let bucket = seq >> OWNER_BUCKET_BITS;
        let mut scopes = vec![
            format!("r:{}", e.record_id),
            format!("t:{}", e.record_type),
            owner_scope(e.assignee.id.as_str(), bucket),
        ];
        if let Some(p) = &e.previous_owner {
            scopes.push(owner_scope(p.id.as_str(), bucket));
        }
        scopes.dedup();
        for scope in scopes {
            index.insert(keys::seq_key(&scope, seq).as_slice(), ())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Id;
    use crate::domain::history::ChangedBy;
    use crate::domain::record::Owner;
    use crate::store::Store;

    fn id(s: &str) -> Id {
        Id::parse("id", s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn entry(i: usize, owner: &str, previous: Option<&str>) -> HistoryEntry {
        HistoryEntry {
            id: String::new(),
            record_id: id(&format!("r{i}")),
            record_type: crate::domain::RecordType::parse("t", "lead").unwrap_or_else(|e| panic!("{e}")),
            assignee: Owner::seller(id(owner)),
            previous_owner: previous.map(|p| Owner::seller(id(p))),
            at: chrono::Utc::now(),
            by: ChangedBy::Rule,
            rule_id: None,
            run_id: None,
            actor: "system".into(),
        }
    }

    /// Listing by owner crosses owner-index buckets newest first, from any cursor, and
    /// finds an owner as previous owner too.
    #[test]
    fn owner_entries_are_visited_newest_first_across_buckets() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let n = 3 * (1usize << OWNER_BUCKET_BITS) + 17;
        // Seller a gets every third entry; b every other one; c takes a's records over
        // once in a while (a as previous owner).
        let entries: Vec<HistoryEntry> = (0..n)
            .map(|i| match i % 6 {
                0 | 3 => entry(i, "a", None),
                5 => entry(i, "c", Some("a")),
                _ => entry(i, "b", None),
            })
            .collect();
        let expected_a: Vec<u64> = (0..n)
            .filter(|i| matches!(i % 6, 0 | 3 | 5))
            .map(|i| i as u64 + 1)
            .rev()
            .collect();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(store.write(move |txn| append(txn.0, &entries)))
            .unwrap_or_else(|e| panic!("{e}"));
        let txn = store.read().unwrap_or_else(|e| panic!("{e}"));
        let mut seen = Vec::new();
        visit_owner_entries(&txn.0, "a", None, |seq| {
            seen.push(seq);
            Ok(true)
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(seen, expected_a, "every entry of a, newest first");

        // From a cursor just above a bucket boundary, and stopping early.
        let boundary = 2u64 << OWNER_BUCKET_BITS;
        let mut page = Vec::new();
        visit_owner_entries(&txn.0, "a", Some(boundary + 2), |seq| {
            page.push(seq);
            Ok(page.len() < 5)
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let want: Vec<u64> = expected_a
            .iter()
            .copied()
            .filter(|s| *s < boundary + 2)
            .take(5)
            .collect();
        assert_eq!(page, want, "the page after the cursor crosses into the older bucket");
        store.close();
    }
}
