//! Ingest: records stored and processed in one durable batch; and, at start, the
//! records a crash or stop left in `to_be_processed`.

use std::collections::HashMap;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::RecordActor;
use super::batch::{Batch, Committed, CurrentRow};
use super::deferred::INGEST_BUDGET;
use crate::domain::config::RecordTypeSchema;
use crate::domain::history::ChangedBy;
use crate::domain::record::{RecordInput, Stage, StatusReason, StatusViewRef, StoredRecord, View};
use crate::domain::{Id, RecordType};
use crate::error::Error;
use crate::pipeline::engine::{Mode, Presegmented};
use crate::store::Scope;

/// Records per processing batch (and per start-up resume step, and per run batch).
pub const BATCH: usize = 1000;

/// Stores records (new ones, or updates) and processes them, in one durable batch;
/// answers once it is durable: with `wait` the final status views, without it the
/// records as accepted (stage `to_be_processed`).
#[derive(Message)]
#[rtype(result = "Result<Ingested, Error>")]
pub struct Ingest {
    pub records: Vec<RecordInput>,
    /// `presegmented[i]`, when given, is `records[i]` segmented on the way in.
    pub presegmented: Vec<Option<Presegmented>>,
    /// When the records arrived: the default `created_on` (the actor's clock if absent).
    pub received_at: Option<DateTime<Utc>>,
    pub wait: bool,
    /// Sent as `{"records": [...]}`: validation errors name `records[i]` then, even for
    /// a batch of one.
    pub batch: bool,
}

/// At start: process what a crash or stop left in `to_be_processed`.
#[derive(Message)]
#[rtype(result = "()")]
struct ResumePending;

/// Checks records of a type with a schema: declared attributes have their type; with
/// `strict`, nothing undeclared.
fn check_schemas(
    schemas: &HashMap<RecordType, RecordTypeSchema>,
    records: &[RecordInput],
    batch: bool,
) -> Result<(), Error> {
    for (i, r) in records.iter().enumerate() {
        let Some(schema) = schemas.get(&r.record_type) else {
            continue;
        };
        let at = if batch {
            format!("records[{i}].attributes")
        } else {
            "attributes".to_string()
        };
        for (name, value) in &r.attributes {
            match schema.attributes.get(name) {
                Some(t) if !value.is_null() && !t.matches(value) => {
                    return Err(Error::validation(
                        format!("{at}.{name}"),
                        format!(
                            "record {}: attribute {name} of a {} is declared {}, got {}",
                            r.id,
                            r.record_type,
                            serde_json::to_value(t)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default(),
                            json_type(value)
                        ),
                    ));
                }
                None if schema.strict => {
                    return Err(Error::validation(
                        format!("{at}.{name}"),
                        format!(
                            "record {}: {name} is not an attribute of {} (its schema is strict)",
                            r.id, r.record_type
                        ),
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a bool",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Applies an input to the stored record (or makes a new one). Answers the record and
/// whether a segmentation input changed.
fn merge(
    old: Option<&StoredRecord>,
    input: RecordInput,
    seq: u64,
    arrived: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (StoredRecord, bool) {
    match old {
        None => {
            let mut rec = StoredRecord::new_pending(input, seq, arrived);
            rec.updated_at = now;
            (rec, true)
        }
        Some(old) => {
            let mut rec = old.clone();
            let created_on = input.created_on.unwrap_or(old.created_on);
            let changed = rec.record_type != input.record_type
                || rec.name != input.name
                || rec.topic != input.topic
                || rec.created_on != created_on
                || rec.attributes != input.attributes;
            rec.record_type = input.record_type;
            rec.name = input.name;
            rec.topic = input.topic;
            rec.created_on = created_on;
            rec.attributes = input.attributes;
            rec.updated_at = now;
            if rec.open {
                rec.stage = Stage::ToBeProcessed;
                if rec.owner.is_none() {
                    rec.status_reason = Some(StatusReason::InProgress);
                }
            }
            (rec, changed)
        }
    }
}

/// What an ingest answers: the records (one per distinct id) and, per input, which one
/// is its. Serialised by the HTTP worker straight from the records, which it also frees
/// (the committed batch too, even when the answer shows the records as accepted):
/// neither costs the actor's thread.
pub struct Ingested {
    /// The records to answer when not the batch's: as accepted (without `wait`), or
    /// with deferred records as they were once decided (with `wait`).
    shown: Option<Vec<StoredRecord>>,
    batch: Committed,
    positions: Vec<usize>,
    at: DateTime<Utc>,
}

impl Ingested {
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    fn records(&self) -> &[StoredRecord] {
        self.shown.as_deref().unwrap_or(&self.batch.records)
    }

    /// The status view of each input, in input order.
    pub fn views(&self) -> impl Iterator<Item = StatusViewRef<'_>> {
        let records = self.records();
        self.positions.iter().map(move |&k| records[k].status_view_ref(self.at))
    }
}

impl Serialize for Ingested {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.views())
    }
}

impl std::fmt::Debug for Ingested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingested")
            .field("records", &self.positions.len())
            .finish()
    }
}

/// One distinct record id of an ingest batch.
struct Slot {
    /// Its row before the batch (as stored, or queued to be).
    old: Option<CurrentRow>,
    /// The record after merging every version of it the batch carries.
    merged: StoredRecord,
    /// Whether a segmentation input changed.
    resegment: bool,
    /// Position of its last version in the batch: the order it is processed in.
    last_input: usize,
    /// Its last version segmented on the way in (the merged record's fields).
    pre: Option<Presegmented>,
}

impl RecordActor {
    /// Stores and processes a batch of inputs: reads the current rows (through the
    /// pending ones), merges, decides and queues one batch; answers once it is durable.
    ///
    /// Without `wait` the answer is the acceptance receipt the contract describes: each
    /// record as accepted, in stage `to_be_processed`. Processing is already in the same
    /// durable transaction, so a read after the answer finds the records processed,
    /// except those deferred because the batch spent its deciding budget (`deferred`).
    fn ingest(&mut self, msg: Ingest) -> Result<ResponseActFuture<Self, Result<Ingested, Error>>, Error> {
        let Ingest {
            records: inputs,
            mut presegmented,
            received_at,
            wait,
            batch,
        } = msg;
        check_schemas(&self.catalog.schemas, &inputs, batch)?;
        self.refresh_book();
        let now = self.clock.now();
        let arrived = received_at.unwrap_or(now);
        let first_seq = self.next_record_seq;
        let n_inputs = inputs.len();
        let mut slots: Vec<Slot> = Vec::with_capacity(n_inputs);
        let mut slot_of: HashMap<Id, usize> = HashMap::with_capacity(n_inputs);
        // Per input, its slot.
        let mut positions: Vec<usize> = Vec::with_capacity(n_inputs);
        {
            let stored = self.store.read()?.records()?;
            for (i, input) in inputs.into_iter().enumerate() {
                let seq = first_seq + i as u64;
                let pre = presegmented.get_mut(i).and_then(Option::take);
                let k = match slot_of.get(&input.id) {
                    Some(&k) => {
                        let slot = &mut slots[k];
                        let (rec, changed) = merge(Some(&slot.merged), input, seq, arrived, now);
                        slot.merged = rec;
                        slot.resegment |= changed;
                        slot.last_input = i;
                        slot.pre = pre;
                        k
                    }
                    None => {
                        let old = self.current_record(&stored, &input.id)?;
                        slot_of.insert(input.id.clone(), slots.len());
                        let (merged, resegment) = merge(old.as_ref().map(|(r, _)| r), input, seq, arrived, now);
                        slots.push(Slot {
                            old,
                            merged,
                            resegment,
                            last_input: i,
                            pre,
                        });
                        slots.len() - 1
                    }
                };
                positions.push(k);
            }
        }
        drop(slot_of);
        // Open records are processed in the order of their last version; closed ones are
        // stored as merged.
        let mut order: Vec<usize> = (0..slots.len())
            .filter(|&k| slots[k].merged.stage == Stage::ToBeProcessed)
            .collect();
        order.sort_by_key(|&k| slots[k].last_input);
        // A type with records deferred queues behind them; the rest are decided until
        // the budget is spent, and what is left is deferred too (see `deferred`).
        let (mut deferring, order): (Vec<usize>, Vec<usize>) = order
            .into_iter()
            .partition(|&k| self.deferred.has(&slots[k].merged.record_type));
        let pre: Vec<Option<Presegmented>> = order.iter().map(|&k| slots[k].pre.take()).collect();
        let loaded: Vec<(&StoredRecord, Mode)> = order
            .iter()
            .map(|&k| {
                (
                    &slots[k].merged,
                    Mode::Process {
                        resegment: slots[k].resegment,
                    },
                )
            })
            .collect();
        let (decided, changes) = self.decide(&loaded, pre, now, Some(INGEST_BUDGET));
        drop(loaded);
        deferring.extend_from_slice(&order[decided.len()..]);
        deferring.sort_by_key(|&k| slots[k].last_input);
        for &k in &deferring {
            self.deferred
                .push(slots[k].merged.id.clone(), Some(slots[k].merged.record_type.clone()));
        }
        let waiting = (wait && !deferring.is_empty()).then(|| {
            let ids = deferring.iter().map(|&k| slots[k].merged.id.clone()).collect();
            (deferring, self.deferred.wait_for(ids))
        });
        // Back in slot order: decided records, and closed or deferred ones as merged.
        let mut decided_at: Vec<Option<StoredRecord>> = (0..slots.len()).map(|_| None).collect();
        for (k, rec) in order.into_iter().zip(decided) {
            decided_at[k] = Some(rec);
        }
        let mut olds = Vec::with_capacity(slots.len());
        let mut records = Vec::with_capacity(slots.len());
        let mut accepted = Vec::with_capacity(if wait { 0 } else { slots.len() });
        for (slot, decided) in slots.into_iter().zip(decided_at) {
            records.push(decided.unwrap_or_else(|| slot.merged.clone()));
            olds.push(slot.old);
            if !wait {
                accepted.push(slot.merged);
            }
        }
        let outcome = self.outcome_rows(&changes, now, ChangedBy::Rule, "system");
        self.next_record_seq = first_seq + n_inputs as u64;
        let batch = Batch::new(
            &olds,
            records,
            outcome,
            self.book.next_assignment_seq,
            Some(self.next_record_seq),
        )?;
        let accepted = (!wait).then_some(accepted);
        let committed = self.commit(batch);
        let Some((deferred_slots, done)) = waiting else {
            return Ok(Box::pin(committed.map(move |res, act, _| {
                Ok(Ingested {
                    shown: accepted,
                    batch: res?,
                    positions,
                    at: act.clock.now(),
                })
            })));
        };
        // `?wait=true` with deferred records: answer once they are decided and durable,
        // with their rows as they are then.
        Ok(Box::pin(committed.then(move |res, act, _| {
            done.into_actor(act).map(move |_, act, _| {
                let batch = res?;
                let mut shown = batch.records.clone();
                let stored = act.store.read()?.records()?;
                for &k in &deferred_slots {
                    if let Some((rec, _)) = act.current_record(&stored, &shown[k].id)? {
                        shown[k] = rec;
                    }
                }
                Ok(Ingested {
                    shown: Some(shown),
                    batch,
                    positions,
                    at: act.clock.now(),
                })
            })
        })))
    }
}

impl Handler<Ingest> for RecordActor {
    type Result = ResponseActFuture<Self, Result<Ingested, Error>>;

    /// Not atomic: the answer waits for the commit, the actor does not, so the next
    /// batch is decided while this one commits and concurrent ingests share a commit.
    fn handle(&mut self, msg: Ingest, ctx: &mut Context<Self>) -> Self::Result {
        let answer = match self.ingest(msg) {
            Ok(answer) => answer,
            Err(e) => Box::pin(fut::ready(Err(e))),
        };
        self.schedule_deferred(ctx);
        answer
    }
}

impl Handler<ResumePending> for RecordActor {
    type Result = AtomicResponse<Self, ()>;

    /// Queues every record left in `to_be_processed` for deferred processing, oldest
    /// first: decided in slices, so that a backlog left by a crash (or by slow scripts)
    /// does not hold up the first requests after a start.
    fn handle(&mut self, _: ResumePending, _: &mut Context<Self>) -> Self::Result {
        AtomicResponse::new(self.after_barrier(|act| {
            let mut cursor: Option<Vec<u8>> = None;
            let mut queued = 0usize;
            loop {
                let page = act
                    .store
                    .read()
                    .and_then(|txn| txn.view_page(Scope::All, View::ToBeProcessed, cursor.as_deref(), BATCH));
                let (ids, next) = match page {
                    Ok(page) => page,
                    Err(e) => {
                        tracing::error!(error = %e, "reading records to resume");
                        break;
                    }
                };
                for id in ids.into_iter().filter_map(|id| Id::parse("id", &id).ok()) {
                    act.deferred.push(id, None);
                    queued += 1;
                }
                match next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            if queued > 0 {
                tracing::info!(records = queued, "resuming records left to be processed");
            }
            Box::pin(fut::ready(()).map(|_, act: &mut RecordActor, ctx| act.schedule_deferred(ctx)))
        }))
    }
}

impl RecordActor {
    /// Starts resuming what is left in `to_be_processed`, and records the runs a stop or
    /// crash interrupted as failed; called when the actor starts.
    pub(super) fn resume_pending(&mut self, ctx: &mut Context<Self>) {
        if let Err(e) = self.finish_interrupted_runs(ctx) {
            tracing::error!(error = %e, "recording interrupted runs");
        }
        ctx.address().do_send(ResumePending);
    }
}
