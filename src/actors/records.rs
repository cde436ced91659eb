//! Record processing, run by the seller-capacity actor: it owns the counters and the
//! round-robin order, so every change of owner is decided here, one message at a time,
//! and each batch's records, counters, round-robin order and history are committed in
//! one transaction. The actor does not wait for that commit before the next message
//! (an ingest's answer does): it reads records through the rows of batches still
//! queued (`pending`), and its batches are chained in the writer, so what commits is a
//! prefix of what it decided; after a failure it resynchronises from the store.
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

use super::seller_capacity::{PendingRow, SellerCapacityActor, SellerCounters};
use crate::domain::config::Settings;
use crate::domain::record::{RecordInput, Stage, StatusReason, StatusView, StatusViewRef, StoredRecord, View};
use crate::domain::{Id, RecordType};
use crate::error::Error;
use crate::pipeline::engine::{self, Env, Mode, OwnerChange, Presegmented};
use crate::store::history::{ChangedBy, HistoryEntry};
use crate::store::records::{RecordReader, RecordRow, RecordWriter, SCOPE_ALL, segment_scope, view_page};
use crate::store::{self, StoreError, tables};

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

/// A committed batch.
pub(super) type Committed = Arc<BatchWrite>;

/// A record as currently stored (or queued to be), with its row bytes.
pub(super) type CurrentRow = (StoredRecord, Vec<u8>);

/// What one batch changed; written in one transaction.
pub(super) struct BatchWrite {
    /// The final records; `rows[i]` is the change that stores `records[i]`.
    pub(super) records: Vec<StoredRecord>,
    rows: Vec<RecordRow>,
    pub(super) counters: Vec<(Id, SellerCounters)>,
    pub(super) rule_rr: Vec<(String, u64)>,
    pub(super) next_assignment_seq: u64,
    /// Set when the batch took arrival numbers for new records.
    next_record_seq: Option<u64>,
    pub(super) history: Vec<HistoryEntry>,
    pub(super) run: Option<RunRow>,
}

/// How far a run had got after one of its batches.
#[derive(Clone, Copy, Default)]
struct RunTally {
    considered: u64,
    assigned: u64,
}

/// A run as one of its batches writes it: in progress (`runs_open`) until its last batch
/// writes it finished (`runs`).
pub(super) struct RunRow {
    pub(super) run: Run,
    pub(super) seq: u64,
    pub(super) finished: bool,
}

/// The parts of a batch besides its records.
#[derive(Default)]
pub(super) struct BatchExtras {
    pub(super) counters: Vec<(Id, SellerCounters)>,
    pub(super) rule_rr: Vec<(String, u64)>,
    pub(super) history: Vec<HistoryEntry>,
    pub(super) run: Option<RunRow>,
}

impl BatchWrite {
    /// A batch that only records a finished run (failed or interrupted).
    fn finished_run(run: Run, seq: u64, next_assignment_seq: u64) -> BatchWrite {
        BatchWrite {
            records: Vec::new(),
            rows: Vec::new(),
            counters: Vec::new(),
            rule_rr: Vec::new(),
            next_assignment_seq,
            next_record_seq: None,
            history: Vec::new(),
            run: Some(RunRow {
                run,
                seq,
                finished: true,
            }),
        }
    }

    /// A batch storing `records`, each replacing `olds[i]` (as stored, or queued to be).
    /// Encodes the rows here, on the caller's thread, not on the writer's.
    pub(super) fn new(
        olds: &[Option<CurrentRow>],
        records: Vec<StoredRecord>,
        extras: BatchExtras,
        next_assignment_seq: u64,
        next_record_seq: Option<u64>,
    ) -> Result<BatchWrite, Error> {
        let rows = olds
            .iter()
            .zip(&records)
            .map(|(old, new)| RecordRow::new(old.as_ref().map(|(r, b)| (r, b.as_slice())), new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BatchWrite {
            records,
            rows,
            counters: extras.counters,
            rule_rr: extras.rule_rr,
            next_assignment_seq,
            next_record_seq,
            history: extras.history,
            run: extras.run,
        })
    }
}

fn write_batch(txn: &redb::WriteTransaction, batch: &BatchWrite) -> Result<(), Error> {
    let mut writer = RecordWriter::open(txn)?;
    for row in &batch.rows {
        writer.apply(row)?;
    }
    writer.finish()?;
    {
        let mut counters = txn.open_table(tables::SELLER_COUNTERS)?;
        for (id, c) in &batch.counters {
            counters.insert(id.as_str(), store::encode_row(id.as_str(), c)?.as_slice())?;
        }
        let mut rr = txn.open_table(tables::RULE_ROUND_ROBIN)?;
        for (k, seq) in &batch.rule_rr {
            rr.insert(k.as_str(), *seq)?;
        }
        let mut meta = txn.open_table(tables::META)?;
        meta.insert("next_assignment_seq", batch.next_assignment_seq)?;
        if let Some(seq) = batch.next_record_seq {
            meta.insert("next_seq", seq)?;
        }
    }
    if let Some(row) = &batch.run {
        let id = row.run.id.as_str();
        if row.finished {
            store::put_json(txn, tables::RUNS, id, &row.run)?;
            txn.open_table(tables::RUNS_BY_SEGMENT)?.insert(
                store::keys::seq_key(row.run.segment_id.as_str(), row.seq).as_slice(),
                id,
            )?;
            txn.open_table(tables::RUNS_OPEN)?.remove(id)?;
        } else {
            store::put_json(txn, tables::RUNS_OPEN, id, &row.run)?;
        }
        use redb::ReadableTable;
        let mut meta = txn.open_table(tables::META)?;
        let next = meta.get("next_run")?.map(|v| v.value()).unwrap_or(1).max(row.seq + 1);
        meta.insert("next_run", next)?;
    }
    store::history::append(txn, &batch.history)?;
    Ok(())
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
    /// The records as accepted (without `wait`); with `wait`, the batch's.
    accepted: Option<Vec<StoredRecord>>,
    batch: Arc<BatchWrite>,
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
        self.accepted.as_deref().unwrap_or(&self.batch.records)
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

/// The records of a batch after processing, and the owner changes among them.
type Decided = (Vec<StoredRecord>, Vec<OwnerChangeOf>);

/// An owner change of a processed record: record id, type, the change, its segment.
type OwnerChangeOf = (Id, RecordType, OwnerChange, Option<Id>);

impl SellerCapacityActor {
    /// The record as stored, or as a queued batch will store it.
    pub(super) fn current_record(&self, stored: &RecordReader, id: &Id) -> Result<Option<CurrentRow>, Error> {
        if let Some(p) = self.pending.get(id) {
            return Ok(Some((
                p.batch.records[p.index].clone(),
                p.batch.rows[p.index].bytes().to_vec(),
            )));
        }
        Ok(stored.row(id.as_str())?)
    }

    /// Runs the engine over a batch. A panic in the engine is a bug, but it must cost only
    /// its record (invariant 4): memory goes back to the store's state, the record is
    /// marked `server_error`, and the batch is decided again without it.
    /// `pre[i]`, when given, is `loaded[i]` segmented on the way in (used once: a batch
    /// decided again after a panic segments its records here).
    fn decide(
        &mut self,
        loaded: &[(&StoredRecord, Mode)],
        mut pre: Vec<Option<Presegmented>>,
        now: DateTime<Utc>,
    ) -> Decided {
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
    fn outcome_rows(&self, changes: &[OwnerChangeOf], now: DateTime<Utc>, by: ChangedBy, actor: &str) -> BatchExtras {
        let mut touched: Vec<usize> = Vec::new();
        let mut rule_rr = Vec::new();
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
        // Every row of a key carries the key's final value: write each key once.
        rule_rr.sort_unstable();
        rule_rr.dedup();
        BatchExtras {
            counters: self.counter_rows(touched),
            rule_rr,
            history,
            run: None,
        }
    }

    /// Reads the given records (through the pending rows), decides them and builds
    /// their batch; answers it with the ids of the records that changed owner. History
    /// entries carry `run_id` when given.
    fn decide_stored(
        &mut self,
        ids: &[Id],
        mode: Mode,
        by: ChangedBy,
        actor: &str,
        run_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(BatchWrite, Vec<Id>), Error> {
        self.refresh_book();
        let loaded: Vec<CurrentRow> = {
            let stored = RecordReader::open(&self.store.read()?)?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(r) = self.current_record(&stored, id)? {
                    out.push(r);
                }
            }
            out
        };
        let refs: Vec<(&StoredRecord, Mode)> = loaded.iter().map(|(rec, _)| (rec, mode)).collect();
        let (records, changes) = self.decide(&refs, Vec::new(), now);
        drop(refs);
        let olds: Vec<Option<CurrentRow>> = loaded.into_iter().map(Some).collect();
        let mut extras = self.outcome_rows(&changes, now, by, actor);
        if let Some(run_id) = run_id {
            for h in &mut extras.history {
                h.run_id = Some(run_id.to_string());
            }
        }
        let changed = changes.into_iter().map(|(id, ..)| id).collect();
        let batch = BatchWrite::new(&olds, records, extras, self.book.next_assignment_seq, None)?;
        Ok((batch, changed))
    }

    /// Processes stored records (left in `to_be_processed`) and commits the outcome.
    /// Call after a [`Self::after_barrier`], so that the store holds every queued batch.
    fn process_stored(&mut self, ids: Vec<Id>) -> ResponseActFuture<Self, Result<(), Error>> {
        let now = self.clock.now();
        match self.decide_stored(
            &ids,
            Mode::Process { resegment: true },
            ChangedBy::Rule,
            "system",
            None,
            now,
        ) {
            Ok((batch, _)) => Box::pin(self.commit(batch).map(|res, _, _| res.map(|_| ()))),
            Err(e) => Box::pin(fut::ready(Err(e))),
        }
    }

    /// A run: the segment's open unassigned records, oldest first, up to `limit`, in
    /// batches of [`BATCH`]. Batch k+1 is decided while batch k commits, and at most two
    /// are queued at once, so a run of 100,000 records holds a few batches in memory, not
    /// the run. Each batch writes the run so far in `runs_open`, the last one writes it
    /// finished in `runs`: a run stopped by a crash is found at the next start and recorded
    /// as failed, and the records it assigned keep their owners (each with its history).
    ///
    /// Synchronous: the actor handles nothing else during a run (it is an atomic handler
    /// anyway), and waits for the writer on a channel, never on its own event loop.
    fn run_segment(
        &mut self,
        msg: RunSegment,
        limit: usize,
        started_at: DateTime<Utc>,
        started: Instant,
    ) -> Result<Run, Error> {
        let now = started_at;
        let seq = self.next_run_seq;
        self.next_run_seq += 1;
        let mut run = Run {
            id: format!("run-{seq:012}"),
            segment_id: msg.segment_id.clone(),
            trigger: msg.trigger,
            status: RunStatus::Succeeded,
            started_at,
            finished_at: started_at,
            duration_ms: 0,
            considered: 0,
            assigned: 0,
            unassigned: 0,
            error: None,
            assigned_records: Vec::new(),
        };
        let scope = segment_scope(msg.segment_id.as_str());
        let (done_tx, done_rx) = std::sync::mpsc::channel::<(u64, Result<(), StoreError>)>();
        // Batches queued and not yet settled: number, batch, and the run as it stood after it.
        let mut in_flight: std::collections::VecDeque<(u64, Arc<BatchWrite>, RunTally)> = Default::default();
        let mut committed = RunTally::default();
        let mut failure: Option<Error> = None;
        let mut cursor: Option<Vec<u8>> = None;
        let epoch = self.epoch;
        loop {
            let want = BATCH.min(limit - run.considered as usize);
            let page = self
                .store
                .read()
                .map_err(Error::from)
                .and_then(|txn| Ok(view_page(&txn, &scope, View::Unassigned, cursor.as_deref(), want)?));
            let (ids, next) = match page {
                Ok(p) => p,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            let ids: Vec<Id> = ids.into_iter().filter_map(|id| Id::parse("id", &id).ok()).collect();
            let decided = self.decide_stored(&ids, Mode::Rerun, ChangedBy::Run, &msg.actor, Some(&run.id), now);
            let (mut batch, changed) = match decided {
                Ok(d) => d,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            run.considered += batch.records.len() as u64;
            run.assigned += changed.len() as u64;
            run.assigned_records.extend(changed);
            let last = next.is_none() || run.considered as usize >= limit || ids.is_empty();
            if last {
                let elapsed = started.elapsed();
                run.duration_ms = elapsed.as_millis() as u64;
                run.finished_at = started_at + chrono::Duration::from_std(elapsed).unwrap_or_default();
            }
            run.unassigned = run.considered - run.assigned;
            // The row in progress carries the counts; the finished one the records too.
            let row = if last {
                run.clone()
            } else {
                let records = std::mem::take(&mut run.assigned_records);
                let row = run.clone();
                run.assigned_records = records;
                row
            };
            batch.run = Some(RunRow {
                run: row,
                seq,
                finished: last,
            });
            let tally = RunTally {
                considered: run.considered,
                assigned: run.assigned,
            };
            let (batch_no, batch) = self.queue(batch, &done_tx);
            in_flight.push_back((batch_no, batch, tally));
            let keep = if last { 0 } else { 1 };
            while in_flight.len() > keep {
                if let Err(e) = self.settle_next(&mut in_flight, &done_rx, &mut committed) {
                    failure = Some(e);
                    break;
                }
            }
            if last || failure.is_some() {
                break;
            }
            cursor = next;
        }
        while !in_flight.is_empty() {
            if let Err(e) = self.settle_next(&mut in_flight, &done_rx, &mut committed)
                && failure.is_none()
            {
                failure = Some(e);
            }
        }
        let Some(failure) = failure else {
            return Ok(run);
        };
        // What is durable is a prefix of the run's batches: record the run as failed with
        // what they did.
        self.after_failed_commit(epoch);
        tracing::error!(segment = %msg.segment_id, trigger = ?msg.trigger, error = %failure, "run failed");
        let elapsed = started.elapsed();
        let failed = Run {
            status: RunStatus::Failed,
            error: Some(failure.public_message()),
            finished_at: started_at + chrono::Duration::from_std(elapsed).unwrap_or_default(),
            duration_ms: elapsed.as_millis() as u64,
            considered: committed.considered,
            assigned: committed.assigned,
            unassigned: committed.considered - committed.assigned,
            assigned_records: run
                .assigned_records
                .into_iter()
                .take(committed.assigned as usize)
                .collect(),
            ..run
        };
        let batch = BatchWrite::finished_run(failed, seq, self.book.next_assignment_seq);
        let (batch_no, batch) = self.queue(batch, &done_tx);
        let mut one = std::collections::VecDeque::from([(batch_no, batch, RunTally::default())]);
        if let Err(e) = self.settle_next(&mut one, &done_rx, &mut RunTally::default()) {
            tracing::error!(error = %e, "recording the failed run");
        }
        Err(failure)
    }

    /// Queues a batch in the records' chain (like [`Self::commit`]); its result goes to
    /// `done` as `(batch number, result)`.
    fn queue(
        &mut self,
        batch: BatchWrite,
        done: &std::sync::mpsc::Sender<(u64, Result<(), StoreError>)>,
    ) -> (u64, Arc<BatchWrite>) {
        let (batch_no, batch) = self.register_pending(batch);
        let job = batch.clone();
        let done = done.clone();
        self.store.write_then(
            Some(self.epoch),
            move |txn| write_batch(txn, &job).map_err(|e| StoreError::WriterFailed(e.to_string())),
            move |res| {
                let _ = done.send((batch_no, res));
            },
        );
        (batch_no, batch)
    }

    /// Waits for the oldest queued batch of a run and drops its pending rows.
    fn settle_next(
        &mut self,
        in_flight: &mut std::collections::VecDeque<(u64, Arc<BatchWrite>, RunTally)>,
        done: &std::sync::mpsc::Receiver<(u64, Result<(), StoreError>)>,
        committed: &mut RunTally,
    ) -> Result<(), Error> {
        let Some((batch_no, batch, tally)) = in_flight.pop_front() else {
            return Ok(());
        };
        // Batches settle in the order they were queued.
        let (settled, res) = done.recv().map_err(|_| Error::from(StoreError::WriterGone))?;
        debug_assert_eq!(settled, batch_no);
        self.drop_pending(batch_no, &batch);
        res?;
        *committed = tally;
        Ok(())
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
    pub(super) fn commit(&mut self, batch: BatchWrite) -> ResponseActFuture<Self, Result<Committed, Error>> {
        let (batch_no, batch) = self.register_pending(batch);
        let epoch = self.epoch;
        let job = batch.clone();
        let written = self.store.write_chained(epoch, move |txn| write_batch(txn, &job));
        Box::pin(written.into_actor(self).map(move |res, act, _| {
            act.drop_pending(batch_no, &batch);
            match res {
                Ok(()) => Ok(batch),
                Err(e) => {
                    act.after_failed_commit(epoch);
                    Err(e)
                }
            }
        }))
    }

    /// Numbers a batch and makes its rows the records' current state until it settles.
    fn register_pending(&mut self, batch: BatchWrite) -> (u64, Arc<BatchWrite>) {
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
    fn drop_pending(&mut self, batch_no: u64, batch: &BatchWrite) {
        for rec in &batch.records {
            if self.pending.get(&rec.id).is_some_and(|p| p.batch_no == batch_no) {
                self.pending.remove(&rec.id);
            }
        }
    }

    /// Resynchronises after the first failure seen in the current epoch; later failures
    /// of an older epoch are that failure's broken chain, already dealt with.
    fn after_failed_commit(&mut self, epoch: u64) {
        if epoch == self.epoch {
            tracing::error!(epoch, "a record batch failed to commit; resynchronising from the store");
            self.resync();
        }
    }

    /// Runs `then` once every batch queued so far is durable (or, after a failure, once
    /// memory is back in step with the store): for work that reads the store's indexes.
    fn after_barrier<R: 'static>(
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

    /// Stores and processes a batch of inputs: reads the current rows (through the
    /// pending ones), merges, decides and queues one batch; answers once it is durable.
    ///
    /// Without `wait` the answer is the acceptance receipt the contract describes: each
    /// record as accepted, in stage `to_be_processed`. Processing is already in the same
    /// durable transaction, so a read after the answer finds the records processed.
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
        // One entry per distinct id: its row before the batch, its record after merging
        // every version, whether a segmentation input changed, and its last position.
        let mut slot_of: HashMap<Id, usize> = HashMap::with_capacity(n_inputs);
        let mut positions: Vec<usize> = Vec::with_capacity(n_inputs);
        let mut olds: Vec<Option<CurrentRow>> = Vec::with_capacity(n_inputs);
        let mut merged: Vec<StoredRecord> = Vec::with_capacity(n_inputs);
        let mut resegment: Vec<(bool, usize)> = Vec::with_capacity(n_inputs);
        // Per slot, its last version segmented on the way in (the merged record's fields).
        let mut pre_of: Vec<Option<Presegmented>> = Vec::with_capacity(n_inputs);
        {
            let stored = RecordReader::open(&self.store.read()?)?;
            for (i, input) in inputs.into_iter().enumerate() {
                let seq = first_seq + i as u64;
                let pre = presegmented.get_mut(i).and_then(Option::take);
                match slot_of.get(&input.id) {
                    Some(&k) => {
                        let (rec, changed) = merge(Some(&merged[k]), input, seq, arrived, now);
                        merged[k] = rec;
                        resegment[k] = (resegment[k].0 | changed, i);
                        pre_of[k] = pre;
                        positions.push(k);
                    }
                    None => {
                        let old = self.current_record(&stored, &input.id)?;
                        let k = merged.len();
                        slot_of.insert(input.id.clone(), k);
                        let (rec, changed) = merge(old.as_ref().map(|(r, _)| r), input, seq, arrived, now);
                        olds.push(old);
                        merged.push(rec);
                        resegment.push((changed, i));
                        pre_of.push(pre);
                        positions.push(k);
                    }
                }
            }
        }
        drop(slot_of);
        // Open records are processed in the order of their last version; closed ones are
        // stored as merged.
        let mut order: Vec<usize> = (0..merged.len())
            .filter(|&k| merged[k].stage == Stage::ToBeProcessed)
            .collect();
        order.sort_by_key(|&k| resegment[k].1);
        let loaded: Vec<(&StoredRecord, Mode)> = order
            .iter()
            .map(|&k| {
                (
                    &merged[k],
                    Mode::Process {
                        resegment: resegment[k].0,
                    },
                )
            })
            .collect();
        let pre: Vec<Option<Presegmented>> = order.iter().map(|&k| pre_of[k].take()).collect();
        let (decided, changes) = self.decide(&loaded, pre, now);
        drop(loaded);
        // Back in slot order: decided records, and closed ones as merged.
        let mut decided_at: Vec<Option<StoredRecord>> = (0..merged.len()).map(|_| None).collect();
        for (k, rec) in order.into_iter().zip(decided) {
            decided_at[k] = Some(rec);
        }
        let records: Vec<StoredRecord> = decided_at
            .into_iter()
            .zip(&merged)
            .map(|(decided, merged)| decided.unwrap_or_else(|| merged.clone()))
            .collect();
        let extras = self.outcome_rows(&changes, now, ChangedBy::Rule, "system");
        self.next_record_seq = first_seq + n_inputs as u64;
        let batch = BatchWrite::new(
            &olds,
            records,
            extras,
            self.book.next_assignment_seq,
            Some(self.next_record_seq),
        )?;
        let accepted = (!wait).then_some(merged);
        Ok(Box::pin(self.commit(batch).map(move |res, act, _| {
            Ok(Ingested {
                accepted,
                batch: res?,
                positions,
                at: act.clock.now(),
            })
        })))
    }
}

impl Handler<Ingest> for SellerCapacityActor {
    type Result = ResponseActFuture<Self, Result<Ingested, Error>>;

    /// Not atomic: the answer waits for the commit, the actor does not, so the next
    /// batch is decided while this one commits and concurrent ingests share a commit.
    fn handle(&mut self, msg: Ingest, _: &mut Context<Self>) -> Self::Result {
        match self.ingest(msg) {
            Ok(answer) => answer,
            Err(e) => Box::pin(fut::ready(Err(e))),
        }
    }
}

impl Handler<ResumePending> for SellerCapacityActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: ResumePending, _: &mut Context<Self>) -> Self::Result {
        AtomicResponse::new(self.after_barrier(|act| {
            let page = act.store.read().map_err(Error::from).and_then(|txn| {
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
                    return Box::pin(fut::ready(()));
                }
            };
            if ids.is_empty() {
                return Box::pin(fut::ready(()));
            }
            let n = ids.len();
            tracing::info!(records = n, "resuming records left to be processed");
            let ids = ids.into_iter().filter_map(|id| Id::parse("id", &id).ok()).collect();
            Box::pin(act.process_stored(ids).map(move |res, _, ctx| match res {
                Ok(_) if n == BATCH => ctx.address().do_send(ResumePending),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "resuming records failed"),
            }))
        }))
    }
}

impl SellerCapacityActor {
    /// Starts resuming what is left in `to_be_processed`, and records the runs a stop or
    /// crash interrupted as failed; called when the actor starts.
    pub(super) fn resume_pending(&mut self, ctx: &mut Context<Self>) {
        if let Err(e) = self.finish_interrupted_runs(ctx) {
            tracing::error!(error = %e, "recording interrupted runs");
        }
        ctx.address().do_send(ResumePending);
    }

    fn finish_interrupted_runs(&mut self, ctx: &mut Context<Self>) -> Result<(), Error> {
        let open: Vec<(String, Run)> = {
            let txn = self.store.read()?;
            store::load_all(&txn, tables::RUNS_OPEN)?
        };
        for (id, run) in open {
            let Some(seq) = id.strip_prefix("run-").and_then(|n| n.parse::<u64>().ok()) else {
                continue;
            };
            tracing::warn!(run = %id, segment = %run.segment_id, "a run was interrupted by a stop; recording it as failed");
            let failed = Run {
                status: RunStatus::Failed,
                error: Some(format!(
                    "interrupted: the server stopped during this run; the {} records it had assigned keep their owners, and their history entries carry this run's id",
                    run.assigned
                )),
                ..run
            };
            let batch = BatchWrite::finished_run(failed, seq, self.book.next_assignment_seq);
            // The row's next_run must not step back below a later run's.
            self.next_run_seq = self.next_run_seq.max(seq + 1);
            ctx.spawn(self.commit(batch).map(|res, _, _| {
                if let Err(e) = res {
                    tracing::error!(error = %e, "recording an interrupted run");
                }
            }));
        }
        Ok(())
    }
}

impl Handler<SetOpen> for SellerCapacityActor {
    type Result = AtomicResponse<Self, Result<StatusView, Error>>;

    fn handle(&mut self, msg: SetOpen, _: &mut Context<Self>) -> Self::Result {
        let ready = |r| AtomicResponse::new(Box::pin(fut::ready(r)));
        let current = self
            .store
            .read()
            .map_err(Error::from)
            .and_then(|txn| self.current_record(&RecordReader::open(&txn)?, &msg.id));
        let old = match current {
            Ok(Some(r)) => r,
            Ok(None) => return ready(Err(Error::not_found("record", msg.id.to_string()))),
            Err(e) => return ready(Err(e)),
        };
        if old.0.open == msg.open {
            return ready(Ok(old.0.status_view(self.clock.now())));
        }
        let mut rec = old.0.clone();
        rec.open = msg.open;
        rec.updated_at = self.clock.now();
        let owner = rec.owner.clone();
        let touched = if msg.open {
            self.book.move_open(None, owner.as_ref())
        } else {
            self.book.move_open(owner.as_ref(), None)
        };
        let extras = BatchExtras {
            counters: self.counter_rows(touched),
            rule_rr: Vec::new(),
            history: Vec::new(),
            run: None,
        };
        let batch = match BatchWrite::new(&[Some(old)], vec![rec], extras, self.book.next_assignment_seq, None) {
            Ok(b) => b,
            Err(e) => return ready(Err(e)),
        };
        AtomicResponse::new(Box::pin(self.commit(batch).map(|res, act, _| {
            let batch = res?;
            let now = act.clock.now();
            batch
                .records
                .first()
                .map(|r| r.status_view(now))
                .ok_or_else(|| Error::Internal("closed record missing from its batch".into()))
        })))
    }
}

impl Handler<RunSegment> for SellerCapacityActor {
    type Result = AtomicResponse<Self, Result<Run, Error>>;

    /// Waits for the queued batches first: a run reads the store's unassigned view, which
    /// must hold every record acknowledged before it.
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
        AtomicResponse::new(
            self.after_barrier(move |act| Box::pin(fut::ready(act.run_segment(msg, limit, started_at, started)))),
        )
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
