//! Record processing, run by the seller-capacity actor: it owns the counters and the
//! round-robin order, so every change of owner is decided here, one message at a time,
//! and each batch's records, counters, round-robin order and history are committed in
//! one transaction before the next message is handled.
//!
//! Follow-up work is sent to the actor's own *mailbox* (`ctx.address().do_send`), never
//! with `ctx.notify`: actix runs notified items in the same poll as a mailbox message,
//! so the synchronous part of both handlers (read and decide) could run before either
//! commits, and the second commit would overwrite the first with a stale read. The
//! mailbox stops at the first handler that waits (`AtomicResponse`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::seller_capacity::{SellerCapacityActor, SellerCounters};
use crate::domain::config::Settings;
use crate::domain::record::{RecordInput, Stage, StatusReason, StatusView, StoredRecord};
use crate::domain::{Id, RecordType};
use crate::error::Error;
use crate::pipeline::engine::{self, Env, Mode, OwnerChange};
use crate::store::history::{ChangedBy, HistoryEntry};
use crate::store::records::{RecordWriter, SCOPE_ALL, read_record, segment_scope, view_page};
use crate::store::{self, tables};

/// Records per processing batch (and per start-up resume step).
pub const BATCH: usize = 1000;

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    Manual,
    Scheduled,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Succeeded,
    Failed,
}

/// A reassignment run, as run history keeps it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Run {
    pub id: String,
    pub segment_id: Id,
    pub trigger: RunTrigger,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub considered: u64,
    pub assigned: u64,
    pub unassigned: u64,
    pub error: Option<String>,
    pub assigned_records: Vec<Id>,
}

/// Stores records (new ones, or updates) in stage `to_be_processed` and answers once
/// that is durable; with `wait`, answers after they are processed too.
#[derive(Message)]
#[rtype(result = "Result<Vec<StatusView>, Error>")]
pub struct Ingest {
    pub records: Vec<RecordInput>,
    pub wait: bool,
    /// Sent as `{"records": [...]}`: validation errors name `records[i]` then, even for
    /// a batch of one.
    pub batch: bool,
}

/// Processes stored records (after ingest, and at start for what is still pending).
#[derive(Message)]
#[rtype(result = "()")]
struct ProcessPending {
    ids: Vec<(Id, bool)>,
}

/// At start: process what a crash or stop left in `to_be_processed`.
#[derive(Message)]
#[rtype(result = "()")]
struct ResumePending;

/// `close` (false) or `reopen` (true).
#[derive(Message)]
#[rtype(result = "Result<StatusView, Error>")]
pub struct SetOpen {
    pub id: Id,
    pub open: bool,
}

/// Runs a segment's rules on its open unassigned records, oldest first.
#[derive(Message)]
#[rtype(result = "Result<Run, Error>")]
pub struct RunSegment {
    pub segment_id: Id,
    pub limit: Option<u32>,
    pub trigger: RunTrigger,
    /// Who started it (a token id, or `scheduler`): the `actor` of its history entries.
    pub actor: String,
}

/// A committed batch and the id of its run, when it was one.
pub(super) type Committed = (Arc<BatchWrite>, Option<String>);

/// A processed batch: its final records, and its run when it was one.
type Processed = (Vec<StoredRecord>, Option<Run>);

/// What one batch changed; written in one transaction.
pub(super) struct BatchWrite {
    pub(super) records: Vec<StoredRecord>,
    pub(super) counters: Vec<(Id, SellerCounters)>,
    pub(super) rule_rr: Vec<(String, u64)>,
    pub(super) next_assignment_seq: u64,
    pub(super) history: Vec<HistoryEntry>,
    pub(super) run: Option<Run>,
}

fn write_batch(txn: &redb::WriteTransaction, batch: &BatchWrite) -> Result<Option<String>, Error> {
    let mut writer = RecordWriter::open(txn)?;
    for rec in &batch.records {
        let old = writer.get(rec.id.as_str())?;
        writer.put(old.as_ref(), rec)?;
    }
    writer.finish()?;
    {
        let mut counters = txn.open_table(tables::SELLER_COUNTERS)?;
        for (id, c) in &batch.counters {
            let bytes = serde_json::to_vec(c).map_err(|e| Error::Internal(e.to_string()))?;
            counters.insert(id.as_str(), bytes.as_slice())?;
        }
        let mut rr = txn.open_table(tables::RULE_ROUND_ROBIN)?;
        for (k, seq) in &batch.rule_rr {
            rr.insert(k.as_str(), *seq)?;
        }
        txn.open_table(tables::META)?
            .insert("next_assignment_seq", batch.next_assignment_seq)?;
    }
    let mut history = batch.history.clone();
    let mut run_id = None;
    if let Some(run) = &batch.run {
        let seq = next_run_seq(txn)?;
        let id = format!("run-{seq:012}");
        for h in &mut history {
            h.run_id = Some(id.clone());
        }
        let mut run = run.clone();
        run.id = id.clone();
        store::put_json(txn, tables::RUNS, &id, &run)?;
        txn.open_table(tables::RUNS_BY_SEGMENT)?.insert(
            store::keys::seq_key(run.segment_id.as_str(), seq).as_slice(),
            id.as_str(),
        )?;
        run_id = Some(id);
    }
    store::history::append(txn, &mut history)?;
    Ok(run_id)
}

fn next_run_seq(txn: &redb::WriteTransaction) -> Result<u64, Error> {
    use redb::ReadableTable;
    let mut meta = txn.open_table(tables::META)?;
    let seq = meta.get("next_run")?.map(|v| v.value()).unwrap_or(1);
    meta.insert("next_run", seq + 1)?;
    Ok(seq)
}

/// Checks records of a type with a schema: declared attributes have their type; with
/// `strict`, nothing undeclared.
fn check_schemas(
    schemas: &HashMap<RecordType, crate::domain::config::RecordTypeSchema>,
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
fn merge(old: Option<&StoredRecord>, input: &RecordInput, seq: u64, now: DateTime<Utc>) -> (StoredRecord, bool) {
    match old {
        None => (StoredRecord::new_pending(input, seq, now), true),
        Some(old) => {
            let mut rec = old.clone();
            let created_on = input.created_on.unwrap_or(old.created_on);
            let changed = rec.record_type != input.record_type
                || rec.name != input.name
                || rec.topic != input.topic
                || rec.created_on != created_on
                || rec.attributes != input.attributes;
            rec.record_type = input.record_type.clone();
            rec.name = input.name.clone();
            rec.topic = input.topic.clone();
            rec.created_on = created_on;
            rec.attributes = input.attributes.clone();
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

/// The records of a batch after processing, and the owner changes among them.
type Decided = (Vec<StoredRecord>, Vec<(Id, RecordType, OwnerChange, Option<Id>)>);

impl SellerCapacityActor {
    /// Runs the engine over a batch. A panic in the engine is a bug, but it must cost only
    /// its record (invariant 4): memory goes back to the store's state, the record is
    /// marked `server_error`, and the batch is decided again without it.
    fn decide(&mut self, loaded: &[(StoredRecord, Mode)], now: DateTime<Utc>) -> Decided {
        let mut poisoned = std::collections::HashSet::new();
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
                let mut rec = rec.clone();
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
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let change = engine::process(&mut env, book, &mut rec, *mode);
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
                return (records, changes);
            };
            tracing::error!(record = %loaded[i].0.id, "record processing panicked; the record is marked server_error");
            poisoned.insert(i);
            if let Err(e) = self.reload_counters() {
                tracing::error!(error = %e, "reloading counters after a panic");
            }
        }
    }

    /// Processes the given records and commits the outcome; answers the final records
    /// and the run's id when `run` is given.
    fn process_batch(
        &mut self,
        items: Vec<(Id, Mode)>,
        run: Option<(Id, RunTrigger, DateTime<Utc>, Instant)>,
        actor: &str,
    ) -> ResponseActFuture<Self, Result<Processed, Error>> {
        self.refresh_book();
        let now = self.clock.now();
        let loaded: Result<Vec<(StoredRecord, Mode)>, Error> = (|| {
            let txn = self.store.read()?;
            let mut out = Vec::with_capacity(items.len());
            for (id, mode) in &items {
                if let Some(r) = read_record(&txn, id.as_str())? {
                    out.push((r, *mode));
                }
            }
            Ok(out)
        })();
        let loaded = match loaded {
            Ok(l) => l,
            Err(e) => return Box::pin(fut::ready(Err(e))),
        };
        let by = if run.is_some() { ChangedBy::Run } else { ChangedBy::Rule };
        let (records, changes) = self.decide(&loaded, now);
        let mut touched: Vec<Id> = Vec::new();
        let mut rule_rr = Vec::new();
        let mut history = Vec::with_capacity(changes.len());
        for (record_id, record_type, change, segment) in &changes {
            for owner in [change.previous.as_ref(), Some(&change.new)].into_iter().flatten() {
                if let Some(s) = owner.seller_id() {
                    touched.push(s.clone());
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
                rule_rr.push((format!("{seg}/{rule}/{seller}"), *seq));
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
        touched.sort();
        touched.dedup();
        // Every row of a key carries the key's final value: write each key once.
        rule_rr.sort_unstable();
        rule_rr.dedup();
        let counters = self.counter_rows(touched.iter().filter_map(|id| self.book.index.get(id).copied()));
        let run_record = run.map(|(segment_id, trigger, started_at, started)| {
            let assigned_records: Vec<Id> = changes.iter().map(|(id, ..)| id.clone()).collect();
            let elapsed = started.elapsed();
            Run {
                id: String::new(),
                segment_id,
                trigger,
                status: RunStatus::Succeeded,
                started_at,
                finished_at: started_at + chrono::Duration::from_std(elapsed).unwrap_or_default(),
                duration_ms: elapsed.as_millis() as u64,
                considered: records.len() as u64,
                assigned: assigned_records.len() as u64,
                unassigned: (records.len() - assigned_records.len()) as u64,
                error: None,
                assigned_records,
            }
        });
        Box::pin(
            self.commit(BatchWrite {
                records,
                counters,
                rule_rr,
                next_assignment_seq: self.book.next_assignment_seq,
                history,
                run: run_record,
            })
            .map(|res, _, _| {
                let (batch, run_id) = res?;
                let run = batch.run.clone().map(|mut r| {
                    r.id = run_id.unwrap_or_default();
                    r
                });
                let records = Arc::try_unwrap(batch)
                    .map(|b| b.records)
                    .unwrap_or_else(|b| b.records.clone());
                Ok((records, run))
            }),
        )
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

    /// Commits a batch in one transaction; answers the batch and its run id. After a
    /// failed commit memory may be ahead of the store, so the counters are reloaded.
    pub(super) fn commit(&self, batch: BatchWrite) -> ResponseActFuture<Self, Result<Committed, Error>> {
        let batch = Arc::new(batch);
        let job = batch.clone();
        let store = self.store.clone();
        Box::pin(
            async move { store.write(move |txn| write_batch(txn, &job)).await }
                .into_actor(self)
                .map(move |res, act, _| match res {
                    Ok(run_id) => Ok((batch, run_id)),
                    Err(e) => {
                        if let Err(reload) = act.reload_counters() {
                            tracing::error!(error = %reload, "reloading counters after a failed commit");
                        }
                        Err(e)
                    }
                }),
        )
    }

    fn views(&self, records: &[StoredRecord]) -> Vec<StatusView> {
        let now = self.clock.now();
        records.iter().map(|r| r.status_view(now)).collect()
    }
}

impl Handler<Ingest> for SellerCapacityActor {
    type Result = AtomicResponse<Self, Result<Vec<StatusView>, Error>>;

    fn handle(&mut self, msg: Ingest, _: &mut Context<Self>) -> Self::Result {
        if let Err(e) = check_schemas(&self.catalog.schemas, &msg.records, msg.batch) {
            return AtomicResponse::new(Box::pin(fut::ready(Err(e))));
        }
        let now = self.clock.now();
        let store = self.store.clone();
        let wait = msg.wait;
        let inputs = Arc::new(msg.records);
        let job_inputs = inputs.clone();
        AtomicResponse::new(Box::pin(
            async move {
                store
                    .write(move |txn| {
                        let first = store::allocate_seq(txn, job_inputs.len() as u64)?;
                        let mut writer = RecordWriter::open(txn)?;
                        let mut out: Vec<(StoredRecord, bool)> = Vec::with_capacity(job_inputs.len());
                        for (i, input) in job_inputs.iter().enumerate() {
                            let old = writer.get(input.id.as_str())?;
                            let (rec, changed) = merge(old.as_ref(), input, first + i as u64, now);
                            writer.put(old.as_ref(), &rec)?;
                            out.push((rec, changed));
                        }
                        writer.finish()?;
                        Ok::<_, Error>(out)
                    })
                    .await
            }
            .into_actor(self)
            .then(
                move |res, act, ctx| -> ResponseActFuture<Self, Result<Vec<StatusView>, Error>> {
                    let stored = match res {
                        Ok(s) => s,
                        Err(e) => return Box::pin(fut::ready(Err(e))),
                    };
                    // The last version of each id in the batch decides; closed ones wait.
                    let mut seen = HashMap::new();
                    let mut pending = Vec::new();
                    for (rec, changed) in &stored {
                        let resegment = seen.entry(rec.id.clone()).or_insert(false);
                        *resegment |= *changed;
                    }
                    for (rec, _) in stored.iter().rev() {
                        if rec.stage == Stage::ToBeProcessed
                            && let Some(reseg) = seen.remove(&rec.id)
                        {
                            pending.push((rec.id.clone(), reseg));
                        }
                    }
                    pending.reverse();
                    if !wait {
                        let latest: Vec<StoredRecord> = stored.into_iter().map(|(r, _)| r).collect();
                        if !pending.is_empty() {
                            ctx.address().do_send(ProcessPending { ids: pending });
                        }
                        return Box::pin(fut::ready(Ok(act.views(&latest))));
                    }
                    let items = pending
                        .into_iter()
                        .map(|(id, resegment)| (id, Mode::Process { resegment }))
                        .collect();
                    let order: Vec<Id> = stored.iter().map(|(r, _)| r.id.clone()).collect();
                    Box::pin(act.process_batch(items, None, "system").map(move |res, act, _| {
                        let (processed, _) = res?;
                        let txn = act.store.read()?;
                        let mut views = Vec::with_capacity(order.len());
                        let now = act.clock.now();
                        let by_id: HashMap<&Id, &StoredRecord> = processed.iter().map(|r| (&r.id, r)).collect();
                        for id in &order {
                            match by_id.get(id) {
                                Some(r) => views.push(r.status_view(now)),
                                None => {
                                    if let Some(r) = read_record(&txn, id.as_str())? {
                                        views.push(r.status_view(now));
                                    }
                                }
                            }
                        }
                        Ok(views)
                    }))
                },
            ),
        ))
    }
}

impl Handler<ProcessPending> for SellerCapacityActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: ProcessPending, _: &mut Context<Self>) -> Self::Result {
        let items = msg
            .ids
            .into_iter()
            .map(|(id, resegment)| (id, Mode::Process { resegment }))
            .collect();
        AtomicResponse::new(Box::pin(self.process_batch(items, None, "system").map(|res, _, _| {
            if let Err(e) = res {
                // The records stay in to_be_processed and are retried at the next start.
                tracing::error!(error = %e, "processing a batch failed");
            }
        })))
    }
}

impl Handler<ResumePending> for SellerCapacityActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: ResumePending, _: &mut Context<Self>) -> Self::Result {
        let page = self.store.read().map_err(Error::from).and_then(|txn| {
            Ok(view_page(
                &txn,
                SCOPE_ALL,
                crate::domain::record::View::ToBeProcessed,
                None,
                BATCH,
            )?)
        });
        let ids = match page {
            Ok((ids, _)) => ids,
            Err(e) => {
                tracing::error!(error = %e, "reading records to resume");
                return AtomicResponse::new(Box::pin(fut::ready(())));
            }
        };
        if ids.is_empty() {
            return AtomicResponse::new(Box::pin(fut::ready(())));
        }
        let n = ids.len();
        tracing::info!(records = n, "resuming records left to be processed");
        let items = ids
            .into_iter()
            .filter_map(|id| Id::parse("id", &id).ok())
            .map(|id| (id, Mode::Process { resegment: true }))
            .collect();
        AtomicResponse::new(Box::pin(self.process_batch(items, None, "system").map(
            move |res, _, ctx| match res {
                Ok(_) if n == BATCH => ctx.address().do_send(ResumePending),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "resuming records failed"),
            },
        )))
    }
}

impl SellerCapacityActor {
    /// Starts resuming what is left in `to_be_processed`; called when the actor starts.
    pub(super) fn resume_pending(ctx: &mut Context<Self>) {
        ctx.address().do_send(ResumePending);
    }
}

impl Handler<SetOpen> for SellerCapacityActor {
    type Result = AtomicResponse<Self, Result<StatusView, Error>>;

    fn handle(&mut self, msg: SetOpen, _: &mut Context<Self>) -> Self::Result {
        let current = self
            .store
            .read()
            .map_err(Error::from)
            .and_then(|txn| Ok(read_record(&txn, msg.id.as_str())?));
        let mut rec = match current {
            Ok(Some(r)) => r,
            Ok(None) => {
                return AtomicResponse::new(Box::pin(fut::ready(Err(Error::not_found(
                    "record",
                    msg.id.to_string(),
                )))));
            }
            Err(e) => return AtomicResponse::new(Box::pin(fut::ready(Err(e)))),
        };
        if rec.open == msg.open {
            let view = rec.status_view(self.clock.now());
            return AtomicResponse::new(Box::pin(fut::ready(Ok(view))));
        }
        rec.open = msg.open;
        rec.updated_at = self.clock.now();
        let owner = rec.owner.clone();
        let touched = if msg.open {
            self.book.move_open(None, owner.as_ref())
        } else {
            self.book.move_open(owner.as_ref(), None)
        };
        let counters = self.counter_rows(touched);
        AtomicResponse::new(Box::pin(
            self.commit(BatchWrite {
                records: vec![rec],
                counters,
                rule_rr: Vec::new(),
                next_assignment_seq: self.book.next_assignment_seq,
                history: Vec::new(),
                run: None,
            })
            .map(|res, act, _| {
                let (batch, _) = res?;
                let now = act.clock.now();
                batch
                    .records
                    .first()
                    .map(|r| r.status_view(now))
                    .ok_or_else(|| Error::Internal("closed record missing from its batch".into()))
            }),
        ))
    }
}

impl Handler<RunSegment> for SellerCapacityActor {
    type Result = AtomicResponse<Self, Result<Run, Error>>;

    fn handle(&mut self, msg: RunSegment, _: &mut Context<Self>) -> Self::Result {
        let started = Instant::now();
        let started_at = self.clock.now();
        if !self.catalog.segments.contains_key(&msg.segment_id) {
            return AtomicResponse::new(Box::pin(fut::ready(Err(Error::not_found(
                "segment",
                msg.segment_id.to_string(),
            )))));
        }
        let limit = msg
            .limit
            .unwrap_or(self.settings.max_records_per_run)
            .clamp(1, Settings::RUN_LIMIT_MAX) as usize;
        let page = self.store.read().map_err(Error::from).and_then(|txn| {
            Ok(view_page(
                &txn,
                &segment_scope(msg.segment_id.as_str()),
                crate::domain::record::View::Unassigned,
                None,
                limit,
            )?)
        });
        let ids = match page {
            Ok((ids, _)) => ids,
            Err(e) => return AtomicResponse::new(Box::pin(fut::ready(Err(e)))),
        };
        let items = ids
            .into_iter()
            .filter_map(|id| Id::parse("id", &id).ok())
            .map(|id| (id, Mode::Rerun))
            .collect();
        let segment_id = msg.segment_id.clone();
        let trigger = msg.trigger;
        AtomicResponse::new(Box::pin(
            self.process_batch(
                items,
                Some((msg.segment_id, msg.trigger, started_at, started)),
                &msg.actor,
            )
            .map(move |res, _, _| {
                res.and_then(|(_, run)| run.ok_or_else(|| Error::Internal("run record missing".into())))
                    .map_err(|e| {
                        tracing::error!(segment = %segment_id, ?trigger, error = %e, "run failed");
                        e
                    })
            }),
        ))
    }
}

impl Handler<crate::actors::scheduler::ScheduledRun> for SellerCapacityActor {
    type Result = ();

    /// A scheduled run goes through the same path as "run now".
    fn handle(&mut self, msg: crate::actors::scheduler::ScheduledRun, ctx: &mut Context<Self>) {
        tracing::info!(segment_id = %msg.segment_id, scheduled_for = %msg.scheduled_for, "scheduled run");
        ctx.address().do_send(RunSegment {
            segment_id: msg.segment_id,
            limit: None,
            trigger: RunTrigger::Scheduled,
            actor: "scheduler".into(),
        });
    }
}
