//! Deferred processing: a bound on the time one message may spend deciding records, so
//! that a record type whose scripts are slow (but within their limits) cannot hold up
//! every other type behind one actor.
//!
//! An ingest decides its records until [`INGEST_BUDGET`] is spent; the rest are stored
//! as they arrived (stage `to_be_processed`, which is what the contract's 202 says
//! anyway) and queued here, and so are the records of an ingest whose type still has
//! deferred records (so a backlogged type is stored and answered at once, then decided
//! in turn). The queue is worked off by [`ProcessDeferred`], one slice of at most
//! [`SLICE_BUDGET`] per message, sent to the actor's own mailbox behind whatever else
//! waits there: an unrelated ingest waits for one slice, not for the backlog. A
//! `?wait=true` ingest answers once its deferred records are decided and durable. The
//! queue is memory only: its records are durable in `to_be_processed`, and a restart
//! queues them again (`ResumePending`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use super::RecordActor;
use super::batch::{Batch, CurrentRow};
use crate::domain::history::ChangedBy;
use crate::domain::record::{Stage, StoredRecord};
use crate::domain::{Id, RecordType};
use crate::error::Error;
use crate::pipeline::engine::Mode;

/// Deciding time an ingest may spend before deferring the rest of its records. Far above
/// what a batch of 1000 records with ordinary scripts costs (a few ms), so deferral is
/// for slow scripts, not for ordinary load.
pub const INGEST_BUDGET: Duration = Duration::from_millis(25);

/// Deciding time of one slice of deferred records (at least one record is decided).
pub const SLICE_BUDGET: Duration = Duration::from_millis(10);

/// Records read per slice: adapted between these bounds to what the last slice decided.
const MIN_SLICE_RECORDS: usize = 16;
const MAX_SLICE_RECORDS: usize = 1000;

/// Records deferred since start, and waiting now (one actor per process), for `/metrics`.
static DEFERRED_TOTAL: AtomicU64 = AtomicU64::new(0);
static DEFERRED_NOW: AtomicU64 = AtomicU64::new(0);

/// Records deferred since the process started, and records waiting now.
pub fn deferred_counts() -> (u64, u64) {
    (
        DEFERRED_TOTAL.load(Ordering::Relaxed),
        DEFERRED_NOW.load(Ordering::Relaxed),
    )
}

/// Works off one slice of the deferred queue.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct ProcessDeferred;

/// Records stored in `to_be_processed` and waiting to be decided, oldest first.
pub(super) struct Deferred {
    queue: VecDeque<(Id, Option<RecordType>)>,
    /// Queued records per type (those queued with their type).
    per_type: HashMap<RecordType, usize>,
    /// A `ProcessDeferred` is in the mailbox.
    scheduled: bool,
    /// `?wait=true` ingests waiting for their deferred records.
    waiters: Vec<Waiter>,
    /// Records the next slice reads.
    slice_records: usize,
}

impl Default for Deferred {
    fn default() -> Deferred {
        Deferred {
            queue: VecDeque::new(),
            per_type: HashMap::new(),
            scheduled: false,
            waiters: Vec::new(),
            slice_records: MAX_SLICE_RECORDS,
        }
    }
}

/// A slice decided: its batch, the ids it settles (decided, or no longer waiting), and
/// the records it did not get to.
type Slice = (Batch, Vec<Id>, Vec<(Id, RecordType)>);

struct Waiter {
    ids: HashSet<Id>,
    done: oneshot::Sender<()>,
}

impl Deferred {
    /// Whether records of `record_type` wait here (new ones then queue behind them).
    pub(super) fn has(&self, record_type: &RecordType) -> bool {
        self.per_type.get(record_type).is_some_and(|&n| n > 0)
    }

    pub(super) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(super) fn push(&mut self, id: Id, record_type: Option<RecordType>) {
        if let Some(t) = &record_type {
            *self.per_type.entry(t.clone()).or_default() += 1;
        }
        self.queue.push_back((id, record_type));
        DEFERRED_TOTAL.fetch_add(1, Ordering::Relaxed);
        self.publish();
    }

    fn publish(&self) {
        DEFERRED_NOW.store(self.queue.len() as u64, Ordering::Relaxed);
    }

    /// A receiver told once every one of `ids` has been decided (or found no longer
    /// waiting) and committed.
    pub(super) fn wait_for(&mut self, ids: HashSet<Id>) -> oneshot::Receiver<()> {
        let (done, rx) = oneshot::channel();
        if ids.is_empty() {
            let _ = done.send(());
        } else {
            self.waiters.push(Waiter { ids, done });
        }
        rx
    }

    fn take_slice(&mut self) -> Vec<(Id, Option<RecordType>)> {
        let n = self.queue.len().min(self.slice_records);
        let slice: Vec<_> = self.queue.drain(..n).collect();
        for (_, t) in &slice {
            self.forget_type(t.as_ref());
        }
        // The gauge is published when the slice is done (`put_back`): it counts the
        // records being decided as waiting.
        slice
    }

    fn forget_type(&mut self, record_type: Option<&RecordType>) {
        if let Some(t) = record_type
            && let Some(n) = self.per_type.get_mut(t)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_type.remove(t);
            }
        }
    }

    /// Puts back, at the front and in order, what a slice did not get to, and sizes the
    /// next slice from what this one decided: records are read before they are decided,
    /// so a slice of slow records must not read a thousand to decide three.
    fn put_back(&mut self, decided: usize, rest: Vec<(Id, RecordType)>) {
        self.slice_records = (decided * 2).clamp(MIN_SLICE_RECORDS, MAX_SLICE_RECORDS);
        for (id, t) in rest.into_iter().rev() {
            *self.per_type.entry(t.clone()).or_default() += 1;
            self.queue.push_front((id, Some(t)));
        }
        self.publish();
    }

    /// Tells the waiters that `done` are decided (or no longer waiting) and durable.
    fn settled(&mut self, done: &[Id]) {
        if self.waiters.is_empty() {
            return;
        }
        for w in &mut self.waiters {
            for id in done {
                w.ids.remove(id);
            }
        }
        let (finished, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiters)
            .into_iter()
            .partition(|w| w.ids.is_empty());
        self.waiters = waiting;
        for w in finished {
            let _ = w.done.send(());
        }
    }
}

impl RecordActor {
    /// Sends one `ProcessDeferred` to the mailbox unless one is there or nothing waits.
    ///
    /// Sent from a spawned item, not from the handler: actix handles mailbox messages
    /// until the mailbox is empty before it polls the context's items (the commits whose
    /// answers ingests wait for), so a handler that kept sending to its own mailbox
    /// would hold every answer until the whole backlog is decided.
    pub(super) fn schedule_deferred(&mut self, ctx: &mut Context<Self>) {
        if !self.deferred.scheduled && self.deferred.len() > 0 {
            self.deferred.scheduled = true;
            ctx.spawn(
                fut::ready(()).map(|_, _: &mut RecordActor, ctx: &mut Context<RecordActor>| {
                    ctx.address().do_send(ProcessDeferred)
                }),
            );
        }
    }

    /// Reads one slice's records (through the pending rows), keeps those still waiting
    /// to be processed, and decides them within [`SLICE_BUDGET`]. Answers the batch,
    /// the ids it settles (decided, or no longer waiting) and the rest.
    fn decide_slice(&mut self, slice: Vec<(Id, Option<RecordType>)>) -> Result<Slice, Error> {
        self.refresh_book();
        let now = self.clock.now();
        let mut settled = Vec::with_capacity(slice.len());
        let mut seen = HashSet::with_capacity(slice.len());
        let loaded: Vec<CurrentRow> = {
            let stored = self.store.read()?.records()?;
            let mut out = Vec::with_capacity(slice.len());
            for (id, _) in slice {
                if !seen.insert(id.clone()) {
                    continue;
                }
                match self.current_record(&stored, &id)? {
                    Some(row) if row.0.open && row.0.stage == Stage::ToBeProcessed => out.push(row),
                    // Decided since (a later ingest of it), closed, or gone.
                    _ => settled.push(id),
                }
            }
            out
        };
        let mode = Mode::Process { resegment: true };
        let refs: Vec<(&StoredRecord, Mode)> = loaded.iter().map(|(rec, _)| (rec, mode)).collect();
        let (records, changes) = self.decide(&refs, Vec::new(), now, Some(SLICE_BUDGET));
        drop(refs);
        let n = records.len();
        let mut loaded = loaded;
        let rest: Vec<(Id, RecordType)> = loaded
            .split_off(n)
            .into_iter()
            .map(|(r, _)| (r.id, r.record_type))
            .collect();
        settled.extend(records.iter().map(|r| r.id.clone()));
        let olds: Vec<Option<CurrentRow>> = loaded.into_iter().map(Some).collect();
        let outcome = self.outcome_rows(&changes, now, ChangedBy::Rule, "system");
        let batch = Batch::new(&olds, records, outcome, self.book.next_assignment_seq, None)?;
        Ok((batch, settled, rest))
    }
}

impl Handler<ProcessDeferred> for RecordActor {
    type Result = ();

    /// Not atomic: the slice commits while the mailbox goes on (the next slice reads
    /// through this one's pending rows).
    fn handle(&mut self, _: ProcessDeferred, ctx: &mut Context<Self>) {
        self.deferred.scheduled = false;
        let slice = self.deferred.take_slice();
        if slice.is_empty() {
            return;
        }
        let ids: Vec<Id> = slice.iter().map(|(id, _)| id.clone()).collect();
        match self.decide_slice(slice) {
            Ok((batch, settled, rest)) => {
                tracing::debug!(decided = batch.records.len(), left = rest.len(), "deferred slice");
                self.deferred.put_back(batch.records.len(), rest);
                ctx.spawn(self.commit(batch).map(move |res, act, _| {
                    if let Err(e) = res {
                        // The records stay in `to_be_processed`; the next start queues
                        // them again.
                        tracing::error!(error = %e, "committing deferred records");
                    }
                    act.deferred.settled(&settled);
                }));
            }
            Err(e) => {
                // They stay in `to_be_processed` (the next start queues them again); a
                // waiting ingest answers them as they are.
                tracing::error!(error = %e, "reading deferred records");
                self.deferred.publish();
                self.deferred.settled(&ids);
            }
        }
        self.schedule_deferred(ctx);
    }
}
