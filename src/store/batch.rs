//! The one write of record state: a batch of record rows with everything that moves
//! with them (seller counters, round-robin turns, sequence numbers, history entries and
//! the run that made them), applied in one transaction.

use redb::ReadableTable;

use super::codec::{encode_json, encode_row};
use super::records::{RecordRow, RecordWriter};
use super::txn::{RuleTurn, WriteTxn, rule_turn_key};
use super::{StoreError, events, history, keys, tables};
use crate::domain::Id;
use crate::domain::event::NewEvent;
use crate::domain::history::HistoryEntry;
use crate::domain::run::Run;
use crate::domain::seller::SellerCounters;

/// What one batch changes. `rows` are prepared (encoded, index keys worked out) off the
/// writer thread, by whoever decided them.
#[derive(Default)]
pub struct RecordBatch {
    pub rows: Vec<RecordRow>,
    pub counters: Vec<(Id, SellerCounters)>,
    pub rule_turns: Vec<RuleTurn>,
    /// The number of the next assignment after this batch (`None`: unchanged).
    pub next_assignment_seq: Option<u64>,
    /// Set when the batch took arrival numbers for new records.
    pub next_record_seq: Option<u64>,
    /// Numbered from the history sequence when applied.
    pub history: Vec<HistoryEntry>,
    pub run: Option<RunRow>,
    /// The feed's events of these changes (a finished run's is added when applied).
    pub events: Vec<NewEvent>,
}

/// A run as one of its batches writes it: in progress (kept among the open runs) until
/// its last batch writes it finished (in run history).
pub struct RunRow {
    pub run: Run,
    pub seq: u64,
    pub finished: bool,
}

impl WriteTxn<'_> {
    /// Applies a batch; refuses it whole (`StaleRow`) when a record's stored row is not
    /// the one its change was decided on.
    pub fn apply(&self, batch: &RecordBatch) -> Result<(), StoreError> {
        let txn = self.0;
        let mut writer = RecordWriter::open(txn)?;
        for row in &batch.rows {
            writer.apply(row)?;
        }
        writer.finish()?;
        {
            let mut counters = txn.open_table(tables::SELLER_COUNTERS)?;
            for (id, c) in &batch.counters {
                counters.insert(id.as_str(), encode_row(id.as_str(), c)?.as_slice())?;
            }
            let mut rr = txn.open_table(tables::RULE_ROUND_ROBIN)?;
            for turn in &batch.rule_turns {
                rr.insert(rule_turn_key(turn).as_str(), turn.seq)?;
            }
            let mut meta = txn.open_table(tables::META)?;
            if let Some(seq) = batch.next_assignment_seq {
                meta.insert("next_assignment_seq", seq)?;
            }
            if let Some(seq) = batch.next_record_seq {
                meta.insert("next_seq", seq)?;
            }
        }
        if let Some(row) = &batch.run {
            let id = row.run.id.as_str();
            let bytes = encode_json(id, &row.run)?;
            if row.finished {
                txn.open_table(tables::RUNS)?.insert(id, bytes.as_slice())?;
                txn.open_table(tables::RUNS_BY_SEGMENT)?
                    .insert(keys::seq_key(row.run.segment_id.as_str(), row.seq).as_slice(), id)?;
                txn.open_table(tables::RUNS_OPEN)?.remove(id)?;
            } else {
                txn.open_table(tables::RUNS_OPEN)?.insert(id, bytes.as_slice())?;
            }
            let mut meta = txn.open_table(tables::META)?;
            let next = meta.get("next_run")?.map(|v| v.value()).unwrap_or(1).max(row.seq + 1);
            meta.insert("next_run", next)?;
        }
        history::append(txn, &batch.history)?;
        events::append(txn, &batch.events)?;
        if let Some(row) = batch.run.as_ref().filter(|r| r.finished) {
            events::append(txn, &[NewEvent::run_finished(&row.run)])?;
        }
        Ok(())
    }
}
