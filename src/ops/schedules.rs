//! Schedule operations: a segment's reassignment schedule (`/segments/{id}/schedule`).

use super::config::{Saved, fetch};
use crate::actors::mailbox;
use crate::actors::scheduler::{DeleteSchedule, GetSchedule, PutSchedule, ScheduledRunCounts};
use crate::auth::{Permission, Principal};
use crate::domain::Id;
use crate::domain::config::Segment;
use crate::domain::schedule::ScheduleView;
use crate::domain::schedule::{Schedule, ScheduleBody};
use crate::error::Error;
use crate::state::AppState;

/// Creates or replaces the schedule of an existing segment and arms its next run.
pub async fn put_schedule(
    s: &AppState,
    who: &Principal,
    segment_id: &str,
    body: ScheduleBody,
) -> Result<Saved<ScheduleView>, Error> {
    who.require(Permission::Configure)?;
    let segment_id = Id::parse("id", segment_id)?;
    let schedule = Schedule::parse(body)?;
    let (created, object) = s
        .scheduler
        .send(PutSchedule { segment_id, schedule })
        .await
        .map_err(mailbox)??;
    Ok(Saved { created, object })
}

/// A segment's schedule with its next run; `not_found` names the segment when it does
/// not exist, the schedule when only that is missing.
pub async fn get_schedule(s: &AppState, who: &Principal, segment_id: &str) -> Result<ScheduleView, Error> {
    who.require(Permission::ReadConfig)?;
    let segment_id = Id::parse("id", segment_id)?;
    fetch::<Segment>(s, segment_id.clone()).await?;
    s.scheduler
        .send(GetSchedule(segment_id.clone()))
        .await
        .map_err(mailbox)?
        .ok_or_else(|| Error::not_found("schedule", segment_id.to_string()))
}

/// Removes a segment's schedule; its armed run is cancelled.
pub async fn delete_schedule(s: &AppState, who: &Principal, segment_id: &str) -> Result<(), Error> {
    who.require(Permission::Configure)?;
    let segment_id = Id::parse("id", segment_id)?;
    s.scheduler.send(DeleteSchedule(segment_id)).await.map_err(mailbox)?
}

/// Scheduled runs fired since start, per segment with a schedule (for `/metrics`, which
/// needs no token); `None` when the scheduler does not answer.
pub async fn scheduled_run_counts(s: &AppState) -> Option<std::collections::BTreeMap<Id, u64>> {
    s.scheduler.send(ScheduledRunCounts).await.ok()
}
