//! Records in redb: the record rows, the monitor-view index and the view counts, kept in
//! step in the same transaction as every record change.
//!
//! Each record is indexed under scopes: `t:<record type>`, `s:<segment>` (when it is in
//! one) and, for `to_be_processed` only, `all` (what start-up resumes).

use std::collections::HashMap;

use redb::{ReadableTable, Table, WriteTransaction};

use super::codec::{decode_row, encode_row};
use super::txn::ReadTxn;
use super::{StoreError, keys, tables};
use crate::domain::RecordType;
use crate::domain::record::{StoredRecord, View};

/// Which records a monitor view lists.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    /// Every record (indexed for `to_be_processed` only: what start-up resumes).
    All,
    /// The records of one type.
    Type(&'a str),
    /// The records of one segment.
    Segment(&'a str),
}

impl Scope<'_> {
    fn key(self) -> String {
        match self {
            Scope::All => SCOPE_ALL.to_string(),
            Scope::Type(t) => format!("t:{t}"),
            Scope::Segment(s) => format!("s:{s}"),
        }
    }
}

const SCOPE_ALL: &str = "all";

fn index_keys(r: &StoredRecord) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::with_capacity(6);
    let t = Scope::Type(r.record_type.as_str()).key();
    let s = r.segment_id.as_ref().map(|s| Scope::Segment(s.as_str()).key());
    for view in r.views() {
        let code = view.code();
        out.push((
            keys::view_key(&t, code, r.created_micros(), r.seq),
            keys::count_key(&t, code),
        ));
        if let Some(s) = &s {
            out.push((
                keys::view_key(s, code, r.created_micros(), r.seq),
                keys::count_key(s, code),
            ));
        }
        if view == View::ToBeProcessed {
            out.push((
                keys::view_key(SCOPE_ALL, code, r.created_micros(), r.seq),
                keys::count_key(SCOPE_ALL, code),
            ));
        }
    }
    out
}

/// A record as its row stores it.
fn encode_record(rec: &StoredRecord) -> Result<Vec<u8>, StoreError> {
    encode_row(rec.id.as_str(), rec)
}

/// A record from its row (the bytes of [`RecordRow::bytes`]).
pub fn decode_record(id: &str, bytes: &[u8]) -> Result<StoredRecord, StoreError> {
    decode_row(id, bytes)
}

/// One record row change, prepared away from the writer thread: the new row's bytes,
/// the monitor-view keys to drop and add, and the row the change was decided on.
pub struct RecordRow {
    id: String,
    bytes: Vec<u8>,
    /// The stored row the change was decided on (`None`: no row). The transaction checks
    /// it: a change decided on anything but the stored row is refused, not applied.
    expected: Option<Vec<u8>>,
    remove: Vec<(Vec<u8>, Vec<u8>)>,
    add: Vec<(Vec<u8>, Vec<u8>)>,
}

impl RecordRow {
    /// The change from `old` (the record and its row as stored) to `new`.
    pub fn new(old: Option<(&StoredRecord, &[u8])>, new: &StoredRecord) -> Result<RecordRow, StoreError> {
        let old_keys = old.map(|(r, _)| index_keys(r)).unwrap_or_default();
        let new_keys = index_keys(new);
        let remove = old_keys
            .iter()
            .filter(|(k, _)| !new_keys.iter().any(|(nk, _)| nk == k))
            .cloned()
            .collect();
        let add = new_keys
            .into_iter()
            .filter(|(k, _)| !old_keys.iter().any(|(ok, _)| ok == k))
            .collect();
        let bytes = encode_record(new)?;
        Ok(RecordRow {
            id: new.id.to_string(),
            bytes,
            expected: old.map(|(_, b)| b.to_vec()),
            remove,
            add,
        })
    }

    /// The row's bytes, as the store will hold them.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Writes records inside one transaction, keeping index and counts in step.
pub(super) struct RecordWriter<'txn> {
    records: Table<'txn, &'static str, &'static [u8]>,
    views: Table<'txn, &'static [u8], &'static str>,
    counts: Table<'txn, &'static [u8], u64>,
    deltas: HashMap<Vec<u8>, i64>,
}

impl<'txn> RecordWriter<'txn> {
    pub fn open(txn: &'txn WriteTransaction) -> Result<RecordWriter<'txn>, StoreError> {
        Ok(RecordWriter {
            records: txn.open_table(tables::RECORDS)?,
            views: txn.open_table(tables::RECORD_VIEWS)?,
            counts: txn.open_table(tables::VIEW_COUNTS)?,
            deltas: HashMap::new(),
        })
    }

    /// Applies a prepared change; refuses it (`StaleRow`) when the stored row is not the
    /// one it was decided on.
    pub fn apply(&mut self, row: &RecordRow) -> Result<(), StoreError> {
        let previous = self.records.insert(row.id.as_str(), row.bytes.as_slice())?;
        let matches = match (&previous, &row.expected) {
            (None, None) => true,
            (Some(p), Some(e)) => p.value() == e.as_slice(),
            _ => false,
        };
        drop(previous);
        if !matches {
            return Err(StoreError::StaleRow(row.id.clone()));
        }
        for (k, c) in &row.remove {
            self.views.remove(k.as_slice())?;
            *self.deltas.entry(c.clone()).or_default() -= 1;
        }
        for (k, c) in &row.add {
            self.views.insert(k.as_slice(), row.id.as_str())?;
            *self.deltas.entry(c.clone()).or_default() += 1;
        }
        Ok(())
    }

    /// Applies the accumulated count changes.
    pub fn finish(mut self) -> Result<(), StoreError> {
        for (key, delta) in self.deltas.drain() {
            if delta == 0 {
                continue;
            }
            let current = self.counts.get(key.as_slice())?.map(|v| v.value()).unwrap_or(0) as i64;
            let next = (current + delta).max(0) as u64;
            if next == 0 {
                self.counts.remove(key.as_slice())?;
            } else {
                self.counts.insert(key.as_slice(), next)?;
            }
        }
        Ok(())
    }
}

/// The records table of one read transaction, opened once for the many reads of a batch.
pub struct RecordReader(redb::ReadOnlyTable<&'static str, &'static [u8]>);

impl RecordReader {
    /// One record with its row bytes.
    pub fn row(&self, id: &str) -> Result<Option<(StoredRecord, Vec<u8>)>, StoreError> {
        match self.0.get(id)? {
            None => Ok(None),
            Some(v) => {
                let bytes = v.value().to_vec();
                Ok(Some((decode_record(id, &bytes)?, bytes)))
            }
        }
    }

    /// One record.
    pub fn get(&self, id: &str) -> Result<Option<StoredRecord>, StoreError> {
        match self.0.get(id)? {
            None => Ok(None),
            Some(v) => decode_record(id, v.value()).map(Some),
        }
    }
}

impl ReadTxn {
    /// The records table, for many reads.
    pub fn records(&self) -> Result<RecordReader, StoreError> {
        Ok(RecordReader(self.0.open_table(tables::RECORDS)?))
    }

    /// One record.
    pub fn record(&self, id: &str) -> Result<Option<StoredRecord>, StoreError> {
        self.records()?.get(id)
    }

    /// The count of `view` in `scope`.
    pub fn view_count(&self, scope: Scope, view: View) -> Result<u64, StoreError> {
        let t = self.0.open_table(tables::VIEW_COUNTS)?;
        Ok(t.get(keys::count_key(&scope.key(), view.code()).as_slice())?
            .map(|v| v.value())
            .unwrap_or(0))
    }

    /// Record ids of `view` in `scope`, oldest first, after the cursor key `after`
    /// (exclusive). Answers the ids and the key of the last one (the next cursor) when
    /// more remain.
    pub fn view_page(
        &self,
        scope: Scope,
        view: View,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<Vec<u8>>), StoreError> {
        let t = self.0.open_table(tables::RECORD_VIEWS)?;
        let prefix = keys::view_prefix(&scope.key(), view.code());
        let end = keys::prefix_end(&prefix);
        let start: Vec<u8> = match after {
            Some(a) if a.starts_with(&prefix) => {
                let mut s = a.to_vec();
                s.push(0); // strictly after the cursor
                s
            }
            _ => prefix.clone(),
        };
        let mut ids = Vec::with_capacity(limit.min(1024));
        let mut last_key = None;
        let mut more = false;
        for row in t.range(start.as_slice()..end.as_slice())? {
            let (k, v) = row?;
            if ids.len() == limit {
                more = true;
                break;
            }
            last_key = Some(k.value().to_vec());
            ids.push(v.value().to_string());
        }
        Ok((ids, if more { last_key } else { None }))
    }

    /// Every record type some stored record has (a type's views have counts while it
    /// has records).
    pub fn record_types_with_records(&self) -> Result<Vec<RecordType>, StoreError> {
        let counts = self.0.open_table(tables::VIEW_COUNTS)?;
        let start = b"t:".to_vec();
        let end = keys::prefix_end(&start);
        let mut out = Vec::new();
        for row in counts.range(start.as_slice()..end.as_slice())? {
            let (k, _) = row?;
            let key = k.value();
            if let Some(nul) = key.iter().position(|b| *b == 0)
                && let Ok(name) = std::str::from_utf8(&key[2..nul])
                && let Ok(rt) = RecordType::parse("record_type", name)
            {
                out.push(rt);
            }
        }
        out.dedup();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::{
        Decision, Excluded, Owner, OwnerKind, RecordInput, RuleDecision, SegmentStatus, SequenceStatus, Stage,
        StatusReason,
    };
    use crate::domain::{Id, RecordType};

    fn id(s: &str) -> Id {
        Id::parse("id", s).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every field, every kind of attribute value: the compact row gives back the
    /// same record.
    #[test]
    fn a_record_row_round_trips() {
        let attributes = serde_json::json!({
            "country": "UK", "revenue": 54342, "score": -0.125, "big": 18446744073709551615u64,
            "vip": true, "none": null, "tags": ["a", 1, false, null, {"x": [1.5]}],
            "nested": {"case": "é\u{0}\"quoted\"", "deep": {"deeper": []}}
        });
        let input = RecordInput {
            id: id("lead-1"),
            record_type: RecordType::parse("t", "lead").unwrap_or_else(|e| panic!("{e}")),
            name: "Ann Lee".into(),
            topic: "Trade show".into(),
            created_on: Some(chrono::Utc::now()),
            attributes: attributes.as_object().cloned().unwrap_or_default(),
        };
        let mut rec = StoredRecord::new_pending(input, 42, chrono::Utc::now());
        rec.stage = Stage::Processed;
        rec.owner = Some(Owner {
            kind: OwnerKind::Team,
            id: id("t1"),
        });
        rec.previous_owner = Some(Owner::seller(id("s1")));
        rec.segment_id = Some(id("seg"));
        rec.rule_id = Some(id("rule"));
        rec.sequence_id = Some(id("seq"));
        rec.status_reason = Some(StatusReason::SellersAtCapacity);
        rec.segment_status = Some(SegmentStatus::MatchedPreviousSegment);
        rec.sequence_status = Some(SequenceStatus::SequenceInactive);
        rec.error_details = Some("segment x condition: line 1, column 3".into());
        rec.assignment_due_at = Some(chrono::Utc::now());
        rec.last_attempt_at = Some(chrono::Utc::now());
        rec.attempts = 3;
        rec.decision = Some(Decision {
            segment_id: Some(id("seg")),
            rules: vec![RuleDecision {
                rule_id: id("rule"),
                outcome: StatusReason::NoSellersMeetConditions,
                candidates: 7,
                excluded: Excluded {
                    condition: 1,
                    role: 2,
                    record_access: 3,
                    assign_records_off: 4,
                    capacity: 5,
                    availability: 6,
                },
            }],
        });
        let bytes = encode_record(&rec).unwrap_or_else(|e| panic!("{e}"));
        let back = decode_record("lead-1", &bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, rec);
        assert!(
            decode_record("lead-1", &bytes[..bytes.len() / 2]).is_err(),
            "a truncated row is an error, not a record"
        );
    }
}
