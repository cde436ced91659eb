//! The batch the record actor commits, and the overlay of batches still queued: a
//! batch's rows are the records' current state from the moment it is queued until it
//! settles, so the next message is decided on its outcome while it commits.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc;

use actix::prelude::*;

use super::RecordActor;
use crate::domain::Id;
use crate::domain::event::NewEvent;
use crate::domain::history::HistoryEntry;
use crate::domain::record::StoredRecord;
use crate::domain::run::Run;
use crate::domain::seller::SellerCounters;
use crate::error::Error;
use crate::store::{RecordBatch, RecordReader, RecordRow, RuleTurn, RunRow, StoreError};

/// A record as currently stored (or queued to be), with its row bytes.
pub(super) type CurrentRow = (StoredRecord, Vec<u8>);

/// What one batch changes, and the records it leaves.
pub(super) struct Batch {
    /// The final records; `write.rows[i]` is the change that stores `records[i]`.
    pub(super) records: Vec<StoredRecord>,
    pub(super) write: RecordBatch,
}

/// A committed batch.
pub(super) type Committed = Arc<Batch>;

/// What a batch writes besides its records.
#[derive(Default)]
pub(super) struct Outcome {
    pub(super) counters: Vec<(Id, SellerCounters)>,
    pub(super) rule_turns: Vec<RuleTurn>,
    pub(super) history: Vec<HistoryEntry>,
}

/// A record row in a batch queued to the writer.
pub(super) struct PendingRow {
    batch_no: u64,
    batch: Arc<Batch>,
    index: usize,
}

/// A run's batches queued and not yet settled: number, batch, and what `T` says of
/// the run as it stood after that batch.
pub(super) type InFlight<T> = VecDeque<(u64, Arc<Batch>, T)>;

/// Where a run's queued batches report: `(batch number, result)`.
pub(super) type Settled = (u64, Result<(), StoreError>);

impl Batch {
    /// A batch that only records a finished run (failed or interrupted).
    pub(super) fn finished_run(run: Run, seq: u64, next_assignment_seq: u64) -> Batch {
        Batch {
            records: Vec::new(),
            write: RecordBatch {
                next_assignment_seq: Some(next_assignment_seq),
                run: Some(RunRow {
                    run,
                    seq,
                    finished: true,
                }),
                ..RecordBatch::default()
            },
        }
    }

    /// A batch storing `records`, each replacing `olds[i]` (as stored, or queued to be).
    /// Encodes the rows here, on the caller's thread, not on the writer's.
    pub(super) fn new(
        olds: &[Option<CurrentRow>],
        records: Vec<StoredRecord>,
        outcome: Outcome,
        next_assignment_seq: u64,
        next_record_seq: Option<u64>,
    ) -> Result<Batch, Error> {
        let rows = olds
            .iter()
            .zip(&records)
            .map(|(old, new)| RecordRow::new(old.as_ref().map(|(r, b)| (r, b.as_slice())), new))
            .collect::<Result<Vec<_>, _>>()?;
        let events = change_events(olds, &records, &outcome.history);
        Ok(Batch {
            records,
            write: RecordBatch {
                rows,
                counters: outcome.counters,
                rule_turns: outcome.rule_turns,
                next_assignment_seq: Some(next_assignment_seq),
                next_record_seq,
                history: outcome.history,
                run: None,
                events,
            },
        })
    }
}

/// The feed's events of a batch's record changes, in record order (the outbox: they
/// commit with the rows). A record's owner change is described by its history entry.
fn change_events(olds: &[Option<CurrentRow>], records: &[StoredRecord], history: &[HistoryEntry]) -> Vec<NewEvent> {
    let by_record: HashMap<&Id, &HistoryEntry> = history.iter().map(|h| (&h.record_id, h)).collect();
    olds.iter()
        .zip(records)
        .filter_map(|(old, new)| {
            NewEvent::of_record_change(old.as_ref().map(|(r, _)| r), new, by_record.get(&new.id).copied())
        })
        .collect()
}

impl RecordActor {
    /// The record as stored, or as a queued batch will store it.
    pub(super) fn current_record(&self, stored: &RecordReader, id: &Id) -> Result<Option<CurrentRow>, Error> {
        if let Some(p) = self.pending.get(id) {
            return Ok(Some((
                p.batch.records[p.index].clone(),
                p.batch.write.rows[p.index].bytes().to_vec(),
            )));
        }
        Ok(stored.row(id.as_str())?)
    }

    /// One record as stored, or as a queued batch will store it, with its row.
    pub(super) fn load_record(&self, id: &Id) -> Result<Option<CurrentRow>, Error> {
        let stored = self.store.read()?.records()?;
        self.current_record(&stored, id)
    }

    /// The counters of `slots`, as a batch writes them.
    pub(super) fn counter_rows(&self, slots: impl IntoIterator<Item = usize>) -> Vec<(Id, SellerCounters)> {
        let mut slots: Vec<usize> = slots.into_iter().collect();
        slots.sort_unstable();
        slots.dedup();
        slots
            .into_iter()
            .map(|slot| (self.book.slots[slot].id.clone(), self.book.slots[slot].counters.clone()))
            .collect()
    }

    /// Queues a batch to the writer at once, in the records' chain, and answers a future
    /// of its commit. Memory (counters, round-robin order, pending rows) already holds
    /// the batch's outcome, so the next message can be decided while this one commits.
    /// When a commit fails, memory is ahead of the store by this batch and every later
    /// one of its epoch (which the writer refuses): the actor resynchronises.
    pub(super) fn commit(&mut self, batch: Batch) -> ResponseActFuture<Self, Result<Committed, Error>> {
        let (batch_no, batch) = self.register_pending(batch);
        let epoch = self.epoch;
        let job = batch.clone();
        let written = self.store.write_chained(epoch, move |txn| txn.apply(&job.write));
        Box::pin(
            written
                .into_actor(self)
                .map(move |res: Result<(), StoreError>, act, _| {
                    act.drop_pending(batch_no, &batch);
                    match res {
                        Ok(()) => Ok(batch),
                        Err(e) => {
                            act.after_failed_commit(epoch);
                            Err(e.into())
                        }
                    }
                }),
        )
    }

    /// Queues a batch in the records' chain (like [`Self::commit`]) for a caller that
    /// waits on a channel rather than on the actor's event loop (a run): its result goes
    /// to `done`.
    pub(super) fn queue(&mut self, batch: Batch, done: &mpsc::Sender<Settled>) -> (u64, Arc<Batch>) {
        let (batch_no, batch) = self.register_pending(batch);
        let job = batch.clone();
        let done = done.clone();
        self.store.write_then(
            Some(self.epoch),
            move |txn| txn.apply(&job.write),
            move |res| {
                let _ = done.send((batch_no, res));
            },
        );
        (batch_no, batch)
    }

    /// Waits for the oldest of `in_flight` (batches settle in the order they were
    /// queued), drops its pending rows, and answers what it carried once it committed.
    pub(super) fn settle_next<T>(
        &mut self,
        in_flight: &mut InFlight<T>,
        done: &mpsc::Receiver<Settled>,
    ) -> Option<Result<T, Error>> {
        let (batch_no, batch, carried) = in_flight.pop_front()?;
        let Ok((settled, res)) = done.recv() else {
            return Some(Err(StoreError::WriterGone.into()));
        };
        debug_assert_eq!(settled, batch_no);
        self.drop_pending(batch_no, &batch);
        Some(res.map(|()| carried).map_err(Error::from))
    }

    /// Numbers a batch and makes its rows the records' current state until it settles.
    fn register_pending(&mut self, batch: Batch) -> (u64, Arc<Batch>) {
        let batch = Arc::new(batch);
        let batch_no = self.next_batch;
        self.next_batch += 1;
        for (index, rec) in batch.records.iter().enumerate() {
            self.pending.insert(
                rec.id.clone(),
                PendingRow {
                    batch_no,
                    batch: batch.clone(),
                    index,
                },
            );
        }
        (batch_no, batch)
    }

    /// Once a batch is settled, the store (or, after a failure, the resync) holds its rows.
    fn drop_pending(&mut self, batch_no: u64, batch: &Batch) {
        for rec in &batch.records {
            if self.pending.get(&rec.id).is_some_and(|p| p.batch_no == batch_no) {
                self.pending.remove(&rec.id);
            }
        }
    }

    /// Resynchronises after the first failure seen in the current epoch; later failures
    /// of an older epoch are that failure's broken chain, already dealt with.
    pub(super) fn after_failed_commit(&mut self, epoch: u64) {
        if epoch == self.epoch {
            tracing::error!(epoch, "a record batch failed to commit; resynchronising from the store");
            self.resync();
        }
    }

    /// Runs `then` once every batch queued so far is durable (or, after a failure, once
    /// memory is back in step with the store): for work that reads the store's indexes.
    pub(super) fn after_barrier<R: 'static>(
        &mut self,
        then: impl FnOnce(&mut Self) -> ResponseActFuture<Self, R> + 'static,
    ) -> ResponseActFuture<Self, R> {
        let epoch = self.epoch;
        Box::pin(self.store.barrier(epoch).into_actor(self).then(move |res, act, _| {
            if res.is_err() {
                act.after_failed_commit(epoch);
            }
            then(act)
        }))
    }
}
