//! Scheduler state: one reassignment schedule per segment, persisted in `SCHEDULES`, and
//! the timers that fire scheduled runs.
//!
//! Timers are tokio-cron-scheduler jobs, but never cron jobs: a cron job freezes its
//! zone's UTC offset when it is created, so a "06:00 Europe/London" cron job would run
//! at 07:00 local after the clocks change. Instead each schedule has one one-shot job,
//! armed at [`Schedule::next_after`] (which keeps runs at local wall-clock time); when it
//! fires, the actor sends [`ScheduledRun`] to the run path and arms the next one.
//!
//! Delays come from the injected [`Clock`], so a test can stand a second before a run
//! and see it fire. A fire always carries the generation of the job that was armed;
//! an older job that still fires (replaced or deleted while its removal was in flight)
//! is ignored, so a run never fires twice or after its schedule is gone.
//!
//! Precision: the library counts in whole wall-clock seconds and polls every 500 ms, so
//! the delay is rounded up to a whole-second boundary: a run (always due on a whole
//! minute) fires at its instant or up to about 0.5 s after it (1.5 s if a wall-clock
//! second ticks over while it is armed), never before. Runs missed while the server was stopped are not
//! made up; the next one is armed at start.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration as StdDuration, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::domain::Id;
use crate::domain::clock::Clock;
use crate::domain::schedule::{Schedule, ScheduleBody, ScheduleView};
use crate::error::Error;
use crate::store::{Collection, Store};

/// How long a call into the job library may take before it is given up (and logged).
const JOB_CALL_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// A scheduled run is due: the receiver runs the segment's rules on its unassigned
/// records with `trigger: "scheduled"`, through the same path as "run now".
#[derive(Message, Debug, Clone, PartialEq)]
#[rtype(result = "()")]
pub struct ScheduledRun {
    pub segment_id: Id,
    /// The instant the schedule named (the run itself starts up to ~0.5 s later).
    pub scheduled_for: DateTime<Utc>,
}

/// The one-shot job armed for a schedule.
struct Armed {
    job: Job,
    generation: u64,
}

struct Entry {
    schedule: Schedule,
    next_run_at: Option<DateTime<Utc>>,
    armed: Option<Armed>,
}

pub struct SchedulerActor {
    store: Store,
    clock: Arc<dyn Clock>,
    runs: Recipient<ScheduledRun>,
    schedules: BTreeMap<Id, Entry>,
    /// Scheduled runs fired since start, per segment (exported in `/metrics`).
    fired: BTreeMap<Id, u64>,
    /// Created when the actor starts, on the actor's own runtime; `None` before that,
    /// after [`StopScheduler`], or if the library could not start (logged).
    jobs: Option<JobScheduler>,
    /// Source of job generations; every armed job gets a new one.
    generation: u64,
}

impl SchedulerActor {
    /// Loads every stored schedule. `runs` receives a [`ScheduledRun`] whenever one is due.
    pub fn load(store: Store, clock: Arc<dyn Clock>, runs: Recipient<ScheduledRun>) -> Result<SchedulerActor, Error> {
        let mut schedules = BTreeMap::new();
        for (key, body) in store.read()?.load_all::<ScheduleBody>(Collection::Schedules)? {
            let id = Id::parse("id", &key)
                .map_err(|_| Error::Internal(format!("stored schedule id {key:?} is not an id")))?;
            match Schedule::parse(body) {
                Ok(schedule) => {
                    schedules.insert(
                        id,
                        Entry {
                            schedule,
                            next_run_at: None,
                            armed: None,
                        },
                    );
                }
                // Only possible if a zone left the time-zone database since it was saved:
                // that schedule cannot run, the others still do.
                Err(e) => {
                    tracing::error!(segment_id = %id, error = %e, "stored schedule is no longer valid; not armed")
                }
            }
        }
        Ok(SchedulerActor {
            store,
            clock,
            runs,
            schedules,
            fired: BTreeMap::new(),
            jobs: None,
            generation: 0,
        })
    }

    fn view(&self, id: &Id) -> Option<ScheduleView> {
        self.schedules.get(id).map(|e| ScheduleView {
            segment_id: id.clone(),
            schedule: e.schedule.body().clone(),
            next_run_at: e.next_run_at,
        })
    }

    /// Arms the one-shot job of `id` at its first run after `after` (or after now, if
    /// the clock is already further), replacing any armed job.
    fn arm(&mut self, id: &Id, after: DateTime<Utc>, ctx: &mut Context<Self>) {
        self.disarm(id, ctx);
        // Wall clock first: with the system clock `now` is then a hair later, the delay a
        // hair shorter, and a run due on a whole second is armed for that second rather
        // than rounded up to the next.
        let wall = SystemTime::now();
        let now = self.clock.now();
        // After a fire `after` is the run's instant; a clock standing still (tests) is
        // then behind it, and the next delay counts from the run, not from the clock.
        let reference = after.max(now);
        let Some(entry) = self.schedules.get_mut(id) else {
            return;
        };
        entry.next_run_at = entry.schedule.next_after(reference);
        let Some(at) = entry.next_run_at else {
            tracing::warn!(segment_id = %id, "schedule has no run ahead; nothing armed");
            return;
        };
        let Some(jobs) = self.jobs.clone() else {
            tracing::warn!(segment_id = %id, next_run_at = %at, "job scheduler unavailable; run not armed");
            return;
        };
        self.generation += 1;
        let generation = self.generation;
        let delay = wall_clock_seconds_until(at - reference, wall);
        let addr = ctx.address();
        let segment_id = id.clone();
        let job = Job::new_one_shot_async(StdDuration::from_secs(delay), move |_, _| {
            let addr = addr.clone();
            let segment_id = segment_id.clone();
            Box::pin(async move {
                addr.do_send(Fire {
                    segment_id,
                    generation,
                    at,
                });
            })
        });
        let job = match job {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(segment_id = %id, error = ?e, "could not create the run job");
                return;
            }
        };
        entry.armed = Some(Armed {
            job: job.clone(),
            generation,
        });
        tracing::info!(segment_id = %id, next_run_at = %at, delay_s = delay, generation, "scheduled run armed");
        let id = id.clone();
        ctx.spawn(
            async move { tokio::time::timeout(JOB_CALL_TIMEOUT, jobs.add(job)).await }
                .into_actor(self)
                .map(move |res, _, _| match res {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::error!(segment_id = %id, error = ?e, "could not add the run job"),
                    Err(_) => tracing::error!(segment_id = %id, "adding the run job timed out"),
                }),
        );
    }

    /// Removes the armed job of `id`, if any. A job that fires anyway is ignored by its
    /// generation.
    fn disarm(&mut self, id: &Id, ctx: &mut Context<Self>) {
        let Some(armed) = self.schedules.get_mut(id).and_then(|e| e.armed.take()) else {
            return;
        };
        self.remove_job(id, armed, ctx);
    }

    fn remove_job(&self, id: &Id, armed: Armed, ctx: &mut Context<Self>) {
        let Some(jobs) = self.jobs.clone() else { return };
        let guid = armed.job.guid();
        tracing::debug!(segment_id = %id, generation = armed.generation, "scheduled run disarmed");
        let id = id.clone();
        ctx.spawn(
            async move { tokio::time::timeout(JOB_CALL_TIMEOUT, jobs.remove(&guid)).await }
                .into_actor(self)
                .map(move |res, _, _| {
                    if !matches!(res, Ok(Ok(()))) {
                        tracing::warn!(segment_id = %id, "could not remove a run job; it will be ignored if it fires");
                    }
                }),
        );
    }
}

/// Whole seconds to hand to a one-shot job so that it fires `delay` after `wall` or later,
/// never earlier: the library adds whole seconds to the current wall-clock second
/// (truncated), so the fraction of that second must be covered too.
fn wall_clock_seconds_until(delay: chrono::Duration, wall: SystemTime) -> u64 {
    let delay = delay.to_std().unwrap_or(StdDuration::ZERO);
    let into_second = wall
        .duration_since(UNIX_EPOCH)
        .map(|d| StdDuration::from_nanos(u64::from(d.subsec_nanos())))
        .unwrap_or(StdDuration::ZERO);
    let total = delay.saturating_add(into_second);
    total.as_secs() + u64::from(total.subsec_nanos() > 0)
}

impl Actor for SchedulerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // The job library spawns its tasks on the current runtime: create it here, on
        // the actor's own thread. `wait` holds back messages until it runs and every
        // stored schedule is armed.
        ctx.wait(
            async {
                let jobs = JobScheduler::new().await?;
                jobs.start().await?;
                Ok::<_, tokio_cron_scheduler::JobSchedulerError>(jobs)
            }
            .into_actor(self)
            .map(|res, act, ctx| {
                match res {
                    Ok(jobs) => act.jobs = Some(jobs),
                    Err(e) => tracing::error!(error = ?e, "job scheduler did not start; scheduled runs are off"),
                }
                let now = act.clock.now();
                let ids: Vec<Id> = act.schedules.keys().cloned().collect();
                for id in ids {
                    act.arm(&id, now, ctx);
                }
            }),
        );
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        // Dropping the handle does not stop the library's jobs; `shutdown` does.
        if let Some(mut jobs) = self.jobs.take() {
            actix::spawn(async move {
                let _ = jobs.shutdown().await;
            });
        }
    }
}

/// Internal: an armed job fired.
#[derive(Message)]
#[rtype(result = "()")]
struct Fire {
    segment_id: Id,
    generation: u64,
    at: DateTime<Utc>,
}

impl Handler<Fire> for SchedulerActor {
    type Result = ();
    fn handle(&mut self, msg: Fire, ctx: &mut Context<Self>) {
        let current = self
            .schedules
            .get_mut(&msg.segment_id)
            .filter(|e| e.armed.as_ref().is_some_and(|a| a.generation == msg.generation));
        let Some(entry) = current else {
            tracing::debug!(segment_id = %msg.segment_id, generation = msg.generation, "stale run job fired; ignored");
            return;
        };
        // A one-shot job removes itself once it ran.
        entry.armed = None;
        *self.fired.entry(msg.segment_id.clone()).or_default() += 1;
        tracing::info!(
            segment_id = %msg.segment_id,
            scheduled_for = %msg.at,
            clock_now = %self.clock.now(),
            "scheduled run fired"
        );
        self.runs.do_send(ScheduledRun {
            segment_id: msg.segment_id.clone(),
            scheduled_for: msg.at,
        });
        self.arm(&msg.segment_id, msg.at, ctx);
    }
}

/// Creates or replaces the schedule of an existing segment. Answers whether it was
/// created, and the schedule with its next run. `not_found` when the segment does not
/// exist (checked in the transaction that saves it, so a concurrent segment delete
/// cannot leave a schedule behind).
#[derive(Message)]
#[rtype(result = "Result<(bool, ScheduleView), Error>")]
pub struct PutSchedule {
    pub segment_id: Id,
    pub schedule: Schedule,
}

impl Handler<PutSchedule> for SchedulerActor {
    type Result = AtomicResponse<Self, Result<(bool, ScheduleView), Error>>;
    fn handle(&mut self, msg: PutSchedule, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let key = msg.segment_id.to_string();
        let body = msg.schedule.body().clone();
        AtomicResponse::new(Box::pin(
            async move {
                let created = store
                    .write(move |txn| {
                        if !txn.contains(Collection::Segments, &key)? {
                            return Err(Error::not_found("segment", key.clone()));
                        }
                        Ok::<_, Error>(txn.put(Collection::Schedules, &key, &body)?)
                    })
                    .await?;
                Ok::<_, Error>((created, msg))
            }
            .into_actor(self)
            .map(|res, act, ctx| {
                let (created, msg) = res?;
                let id = msg.segment_id;
                act.disarm(&id, ctx);
                act.schedules.insert(
                    id.clone(),
                    Entry {
                        schedule: msg.schedule,
                        next_run_at: None,
                        armed: None,
                    },
                );
                let now = act.clock.now();
                act.arm(&id, now, ctx);
                let view = act
                    .view(&id)
                    .ok_or_else(|| Error::Internal("schedule missing right after saving it".into()))?;
                Ok((created, view))
            }),
        ))
    }
}

/// The schedule of a segment, if it has one.
#[derive(Message)]
#[rtype(result = "Option<ScheduleView>")]
pub struct GetSchedule(pub Id);

impl Handler<GetSchedule> for SchedulerActor {
    type Result = Option<ScheduleView>;
    fn handle(&mut self, msg: GetSchedule, _: &mut Context<Self>) -> Self::Result {
        self.view(&msg.0)
    }
}

/// Removes a segment's schedule; `not_found` when it has none.
#[derive(Message)]
#[rtype(result = "Result<(), Error>")]
pub struct DeleteSchedule(pub Id);

impl Handler<DeleteSchedule> for SchedulerActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;
    fn handle(&mut self, msg: DeleteSchedule, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let key = msg.0.to_string();
        AtomicResponse::new(Box::pin(
            async move {
                let existed = store.write(move |txn| txn.delete(Collection::Schedules, &key)).await?;
                if !existed {
                    return Err(Error::not_found("schedule", msg.0.to_string()));
                }
                Ok(msg.0)
            }
            .into_actor(self)
            .map(|res, act, ctx| {
                let id = res?;
                act.disarm(&id, ctx);
                act.schedules.remove(&id);
                tracing::info!(segment_id = %id, "schedule deleted");
                Ok(())
            }),
        ))
    }
}

/// A segment was deleted: its schedule row went with it, drop it here too.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SegmentDeleted(pub Id);

impl Handler<SegmentDeleted> for SchedulerActor {
    type Result = ();
    fn handle(&mut self, msg: SegmentDeleted, ctx: &mut Context<Self>) {
        self.disarm(&msg.0, ctx);
        if self.schedules.remove(&msg.0).is_some() {
            tracing::info!(segment_id = %msg.0, "schedule dropped with its segment");
        }
        self.fired.remove(&msg.0);
    }
}

/// Scheduled runs fired since the server started, per segment: every segment with a
/// schedule (0 until its first run) and any that fired before its schedule was removed.
#[derive(Message)]
#[rtype(result = "BTreeMap<Id, u64>")]
pub struct ScheduledRunCounts;

impl Handler<ScheduledRunCounts> for SchedulerActor {
    type Result = MessageResult<ScheduledRunCounts>;
    fn handle(&mut self, _: ScheduledRunCounts, _: &mut Context<Self>) -> Self::Result {
        let mut counts = self.fired.clone();
        for id in self.schedules.keys() {
            counts.entry(id.clone()).or_insert(0);
        }
        MessageResult(counts)
    }
}

/// Stops every timer (the library's `shutdown`); sent before the server's threads stop.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopScheduler;

impl Handler<StopScheduler> for SchedulerActor {
    type Result = ResponseActFuture<Self, ()>;
    fn handle(&mut self, _: StopScheduler, _: &mut Context<Self>) -> Self::Result {
        for entry in self.schedules.values_mut() {
            entry.armed = None;
        }
        let jobs = self.jobs.take();
        Box::pin(
            async move {
                if let Some(mut jobs) = jobs
                    && let Err(e) = jobs.shutdown().await
                {
                    tracing::warn!(error = ?e, "job scheduler shutdown failed");
                }
            }
            .into_actor(self),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + StdDuration::new(secs, nanos)
    }

    #[test]
    fn one_shot_seconds_never_fire_early() {
        // At x.25 s, 10 s ahead is x+10.25: the library's second x+11 is the first at or after it.
        assert_eq!(
            wall_clock_seconds_until(chrono::Duration::seconds(10), wall(100, 250_000_000)),
            11
        );
        // On a whole second, exactly that second.
        assert_eq!(
            wall_clock_seconds_until(chrono::Duration::seconds(10), wall(100, 0)),
            10
        );
        // At x.5 s, 1.5 s ahead is x+2 exactly.
        assert_eq!(
            wall_clock_seconds_until(chrono::Duration::milliseconds(1500), wall(100, 500_000_000)),
            2
        );
        // A past instant fires at the next poll.
        assert_eq!(wall_clock_seconds_until(chrono::Duration::seconds(-3), wall(100, 0)), 0);
    }
}
