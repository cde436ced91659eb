//! Reassignment runs: "run now" and scheduled runs go through [`RunSegment`]; a run
//! interrupted by a stop or crash is recorded as failed at the next start.

use std::sync::mpsc;
use std::time::Instant;

use actix::prelude::*;
use chrono::{DateTime, Utc};

use super::RecordActor;
use super::batch::{Batch, InFlight, Settled};
use super::ingest::BATCH;
use crate::actors::scheduler::ScheduledRun;
use crate::domain::Id;
use crate::domain::config::Settings;
use crate::domain::history::ChangedBy;
use crate::domain::record::View;
use crate::domain::run::{Run, RunStatus, RunTrigger};
use crate::error::Error;
use crate::pipeline::engine::Mode;
use crate::store::{RunRow, Scope};

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

/// How far a run had got after one of its batches.
#[derive(Clone, Copy, Default)]
struct RunTally {
    considered: u64,
    assigned: u64,
}

impl Handler<RunSegment> for RecordActor {
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

impl Handler<ScheduledRun> for RecordActor {
    type Result = ();

    /// A scheduled run goes through the same path as "run now".
    fn handle(&mut self, msg: ScheduledRun, ctx: &mut Context<Self>) {
        tracing::info!(segment_id = %msg.segment_id, scheduled_for = %msg.scheduled_for, "scheduled run");
        ctx.address().do_send(RunSegment {
            segment_id: msg.segment_id,
            limit: None,
            trigger: RunTrigger::Scheduled,
            actor: "scheduler".into(),
        });
    }
}

impl RecordActor {
    /// A run: the segment's open unassigned records, oldest first, up to `limit`, in
    /// batches of [`BATCH`]. Batch k+1 is decided while batch k commits, and at most two
    /// are queued at once, so a run of 100,000 records holds a few batches in memory, not
    /// the run. Each batch writes the run so far among the open runs, the last one writes
    /// it finished in run history: a run stopped by a crash is found at the next start and
    /// recorded as failed, and the records it assigned keep their owners (each with its
    /// history).
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
            id: Run::id_of(seq),
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
        let scope = Scope::Segment(msg.segment_id.as_str());
        let (done_tx, done_rx) = mpsc::channel::<Settled>();
        let mut in_flight: InFlight<RunTally> = Default::default();
        let mut committed = RunTally::default();
        let mut failure: Option<Error> = None;
        let mut cursor: Option<Vec<u8>> = None;
        let epoch = self.epoch;
        loop {
            let want = BATCH.min(limit - run.considered as usize);
            let page = self
                .store
                .read()
                .and_then(|txn| txn.view_page(scope, View::Unassigned, cursor.as_deref(), want));
            let (ids, next) = match page {
                Ok(p) => p,
                Err(e) => {
                    failure = Some(e.into());
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
                crate::actors::figures::note_run(run.status, run.duration_ms);
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
            batch.write.run = Some(RunRow {
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
                match self.settle_next(&mut in_flight, &done_rx) {
                    Some(Ok(tally)) => committed = tally,
                    Some(Err(e)) => {
                        failure = Some(e);
                        break;
                    }
                    None => break,
                }
            }
            if last || failure.is_some() {
                break;
            }
            cursor = next;
        }
        while let Some(settled) = self.settle_next(&mut in_flight, &done_rx) {
            match settled {
                Ok(tally) => committed = tally,
                Err(e) => {
                    failure.get_or_insert(e);
                }
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
        crate::actors::figures::note_run(failed.status, failed.duration_ms);
        let batch = Batch::finished_run(failed, seq, self.book.next_assignment_seq);
        let (batch_no, batch) = self.queue(batch, &done_tx);
        let mut one: InFlight<()> = InFlight::from([(batch_no, batch, ())]);
        if let Some(Err(e)) = self.settle_next(&mut one, &done_rx) {
            tracing::error!(error = %e, "recording the failed run");
        }
        Err(failure)
    }

    /// Records the runs a stop or crash interrupted as failed (called at start).
    pub(super) fn finish_interrupted_runs(&mut self, ctx: &mut Context<Self>) -> Result<(), Error> {
        let txn = self.store.read()?;
        let open = txn.open_runs()?;
        for run in open {
            let Some(seq) = Run::seq_of(&run.id) else {
                continue;
            };
            // The open row carries counts only; the records are in the run's history.
            let assigned_records = txn.run_assignments(&run.id, run.started_at, run.assigned)?;
            tracing::warn!(run = %run.id, segment = %run.segment_id, "a run was interrupted by a stop; recording it as failed");
            let failed = Run {
                status: RunStatus::Failed,
                error: Some(format!(
                    "interrupted: the server stopped during this run; the {} records it had assigned keep their owners, and their history entries carry this run's id",
                    run.assigned
                )),
                assigned_records,
                ..run
            };
            let batch = Batch::finished_run(failed, seq, self.book.next_assignment_seq);
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
