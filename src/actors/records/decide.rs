//! Deciding a batch: the engine over its records (a panic costs only its record), and
//! the rows its owner changes write (history, counters, per-rule turns).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::RecordActor;
use super::batch::{Batch, CurrentRow, Outcome};
use crate::domain::history::{ChangedBy, HistoryEntry};
use crate::domain::record::{Stage, StatusReason, StoredRecord};
use crate::domain::{Id, RecordType};
use crate::error::Error;
use crate::pipeline::engine::{self, Env, Mode, OwnerChange, Presegmented};
use crate::store::RuleTurn;

/// The records of a batch after processing (a prefix of them, when a budget stopped it),
/// and the owner changes among them.
pub(super) type Decided = (Vec<StoredRecord>, Vec<OwnerChangeOf>);

/// An owner change of a processed record: record id, type, the change, its segment.
pub(super) type OwnerChangeOf = (Id, RecordType, OwnerChange, Option<Id>);

impl RecordActor {
    /// Runs the engine over a batch. A panic in the engine is a bug, but it must cost only
    /// its record (invariant 4): memory goes back to the store's state, the record is
    /// marked `server_error`, and the batch is decided again without it.
    /// `pre[i]`, when given, is `loaded[i]` segmented on the way in (used once: a batch
    /// decided again after a panic segments its records here).
    ///
    /// With a `budget`, it stops once that much time is spent (after one record at
    /// least): the answer then holds the decided prefix, and the caller defers the rest.
    pub(super) fn decide(
        &mut self,
        loaded: &[(&StoredRecord, Mode)],
        mut pre: Vec<Option<Presegmented>>,
        now: DateTime<Utc>,
        budget: Option<Duration>,
    ) -> Decided {
        let started = Instant::now();
        let mut poisoned = HashSet::new();
        loop {
            let catalog = self.catalog.clone();
            let scripting = self.scripting.clone();
            let mut env = Env {
                catalog: &catalog,
                scripting: &scripting,
                now,
                rng: &mut self.rng,
            };
            let mut records = Vec::with_capacity(loaded.len());
            let mut changes = Vec::new();
            let mut panicked = None;
            for (i, (rec, mode)) in loaded.iter().enumerate() {
                if i > 0 && budget.is_some_and(|b| started.elapsed() >= b) {
                    break;
                }
                let mut rec = (*rec).clone();
                if poisoned.contains(&i) {
                    rec.stage = Stage::Processed;
                    rec.status_reason = Some(StatusReason::ServerError);
                    rec.error_details =
                        Some("internal error while processing this record; the server log has the cause".into());
                    rec.updated_at = now;
                    records.push(rec);
                    continue;
                }
                let book = &mut self.book;
                let pre = pre.get_mut(i).and_then(Option::take);
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let change = engine::process(&mut env, book, &mut rec, *mode, pre);
                    (rec, change)
                }));
                match outcome {
                    Ok((rec, change)) => {
                        if let Some(change) = change {
                            changes.push((rec.id.clone(), rec.record_type.clone(), change, rec.segment_id.clone()));
                        }
                        records.push(rec);
                    }
                    Err(_) => {
                        panicked = Some(i);
                        break;
                    }
                }
            }
            let Some(i) = panicked else {
                for reason in records.iter().filter_map(|r| r.status_reason) {
                    crate::actors::figures::note_outcome(reason);
                }
                return (records, changes);
            };
            tracing::error!(record = %loaded[i].0.id, "record processing panicked; the record is marked server_error");
            poisoned.insert(i);
            // The book may be half-updated: wait until what is queued is durable, then
            // start again from the store.
            if let Err(e) = self.store.barrier_blocking(self.epoch) {
                tracing::error!(error = %e, "waiting for queued batches after a panic");
            }
            self.resync();
        }
    }

    /// History entries, counter rows and per-rule round-robin rows for a batch's owner
    /// changes.
    pub(super) fn outcome_rows(
        &self,
        changes: &[OwnerChangeOf],
        now: DateTime<Utc>,
        by: ChangedBy,
        actor: &str,
    ) -> Outcome {
        let mut touched: Vec<usize> = Vec::new();
        let mut rule_turns = Vec::new();
        let mut history = Vec::with_capacity(changes.len());
        for (record_id, record_type, change, segment) in changes {
            for owner in [change.previous.as_ref(), Some(&change.new)].into_iter().flatten() {
                if let Some(slot) = owner.seller_id().and_then(|s| self.book.index.get(s)) {
                    touched.push(*slot);
                }
            }
            // The per-rule order is kept (in memory, by the engine) whatever the scope, so
            // it is persisted whatever the scope too: switching to the rule scope then
            // picks the same seller before and after a restart. The value is the rule's
            // own last turn for the seller, not the seller's last turn under any rule.
            if let (Some(seller), Some(rule), Some(seg)) = (change.new.seller_id(), &change.rule_id, segment)
                && let Some(slot) = self.book.index.get(seller)
                && let Some(seq) = self
                    .book
                    .rule_rr
                    .get(&(seg.clone(), rule.clone()))
                    .and_then(|m| m.get(slot))
            {
                rule_turns.push(RuleTurn {
                    segment_id: seg.clone(),
                    rule_id: rule.clone(),
                    seller_id: seller.clone(),
                    seq: *seq,
                });
            }
            history.push(HistoryEntry {
                id: String::new(),
                record_id: record_id.clone(),
                record_type: record_type.clone(),
                assignee: change.new.clone(),
                previous_owner: change.previous.clone(),
                at: now,
                by,
                rule_id: change.rule_id.clone(),
                run_id: None,
                actor: actor.to_string(),
            });
        }
        // Every row of a key carries the key's final value: write each key once.
        rule_turns.sort_unstable();
        rule_turns.dedup();
        Outcome {
            counters: self.counter_rows(touched),
            rule_turns,
            history,
        }
    }

    /// Reads the given records (through the pending rows), decides them and builds
    /// their batch; answers it with the ids of the records that changed owner. History
    /// entries carry `run_id` when given.
    pub(super) fn decide_stored(
        &mut self,
        ids: &[Id],
        mode: Mode,
        by: ChangedBy,
        actor: &str,
        run_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(Batch, Vec<Id>), Error> {
        self.refresh_book();
        let loaded: Vec<CurrentRow> = {
            let stored = self.store.read()?.records()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(r) = self.current_record(&stored, id)? {
                    out.push(r);
                }
            }
            out
        };
        let refs: Vec<(&StoredRecord, Mode)> = loaded.iter().map(|(rec, _)| (rec, mode)).collect();
        let (records, changes) = self.decide(&refs, Vec::new(), now, None);
        drop(refs);
        let olds: Vec<Option<CurrentRow>> = loaded.into_iter().map(Some).collect();
        let mut extras = self.outcome_rows(&changes, now, by, actor);
        if let Some(run_id) = run_id {
            for h in &mut extras.history {
                h.run_id = Some(run_id.to_string());
            }
        }
        let changed = changes.into_iter().map(|(id, ..)| id).collect();
        let batch = Batch::new(&olds, records, extras, self.book.next_assignment_seq, None)?;
        Ok((batch, changed))
    }
}
