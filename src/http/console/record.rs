//! Status details of a record (seed S1): owner, previous owner, segment, rule, sequence,
//! status reason with the seeds' advice, error details, due, the last automatic
//! attempt's decision as a funnel per rule ("why"), its assignment history, and
//! close / reopen.
//!
//! Operations: `get_record` (`GET /records/{id}`), `history`
//! (`GET /assignments?record_id=`), `set_open` (`POST /records/{id}/close`,
//! `POST /records/{id}/reopen`).

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::{self, Data, Path};
use askama::Template;
use serde::Deserialize;

use super::monitor::{Names, due_in, when};
use super::reasons::{self, Reason};
use super::session::{Action, ConsoleUser};
use super::{Console, ConsoleError, Layout, render};
use crate::auth::Permission;
use crate::domain::record::{Decision, StatusReason};
use crate::error::Error;
use crate::ops;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/records/{id}", web::get().to(page))
        .route("/records/{id}/close", web::post().to(close))
        .route("/records/{id}/reopen", web::post().to(reopen));
}

/// One filter's step of a rule's funnel: "opted out −1".
pub struct Step {
    pub label: &'static str,
    pub removed: u32,
}

pub struct RuleFunnel {
    pub rule: String,
    pub outcome: String,
    pub assigned: bool,
    /// Sellers (or teams, queues) the rule started from.
    pub start: u32,
    pub steps: Vec<Step>,
    pub left: u32,
}

pub struct Status {
    pub heading: &'static str,
    pub reason: Reason,
}

#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage {
    layout: Layout,
    id: String,
    record_type: String,
    name: String,
    topic: String,
    created_on: String,
    open: bool,
    owner: String,
    previous_owner: String,
    segment: String,
    rule: String,
    sequence: String,
    due: String,
    overdue: bool,
    needs_attention: bool,
    statuses: Vec<Status>,
    error_details: Option<String>,
    last_attempt: String,
    attempts: u32,
    decision_segment: Option<String>,
    funnels: Vec<RuleFunnel>,
    history: Vec<(String, String, String, String)>,
    may_write: bool,
    done: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct RecordQuery {
    done: Option<String>,
}

pub fn funnels(decision: &Decision, names: &Names) -> Vec<RuleFunnel> {
    let segment = decision.segment_id.as_ref().map(|s| s.to_string());
    decision
        .rules
        .iter()
        .map(|r| {
            let x = &r.excluded;
            // In the filters' order (API.md): target match, assign records off, roles,
            // record access, capacity, availability.
            let steps = vec![
                Step {
                    label: "condition",
                    removed: x.condition,
                },
                Step {
                    label: "assign records off",
                    removed: x.assign_records_off,
                },
                Step {
                    label: "roles",
                    removed: x.role,
                },
                Step {
                    label: "record access",
                    removed: x.record_access,
                },
                Step {
                    label: "capacity",
                    removed: x.capacity,
                },
                Step {
                    label: "availability",
                    removed: x.availability,
                },
            ];
            let start = steps.iter().map(|s| s.removed).sum::<u32>() + r.candidates;
            RuleFunnel {
                rule: names.rule(segment.as_deref(), Some(r.rule_id.as_str())),
                outcome: reasons::status_reason(r.outcome).label.to_string(),
                assigned: matches!(r.outcome, StatusReason::Assigned | StatusReason::AssignedManually),
                start,
                steps,
                left: r.candidates,
            }
        })
        .collect()
}

async fn page(
    s: Data<AppState>,
    console: Data<Console>,
    user: ConsoleUser,
    id: Path<String>,
    q: web::Query<RecordQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let who = &user.principal;
    let view = ops::records::get_record(&s, who, &id)?;
    let r = &view.record;
    let record_type = r.record_type.to_string();
    let names = Names::load(&s, &user, &record_type).await?;
    let history = match ops::assignments::history(
        &s,
        who,
        ops::assignments::HistoryQuery {
            record_type: None,
            record_id: Some(r.id.to_string()),
            seller_id: None,
            limit: Some(50),
            after: None,
        },
    )
    .await
    {
        Ok(page) => page
            .items
            .into_iter()
            .map(|h| {
                (
                    when(h.at),
                    names.owner(Some(&h.assignee)),
                    serde_json::to_value(h.by)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    h.run_id.unwrap_or_default(),
                )
            })
            .collect(),
        Err(Error::Forbidden(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let mut statuses = Vec::new();
    if let Some(reason) = r.status_reason {
        statuses.push(Status {
            heading: "Assignment",
            reason: reasons::status_reason(reason),
        });
    }
    if let Some(seg) = r.segment_status {
        statuses.push(Status {
            heading: "Segment",
            reason: reasons::segment_status(seg),
        });
    }
    if let Some(seq) = r.sequence_status {
        statuses.push(Status {
            heading: "Sequence",
            reason: reasons::sequence_status(seq),
        });
    }
    let segment = r.segment_id.as_ref().map(|x| x.to_string());
    let rule = r.rule_id.as_ref().map(|x| x.to_string());
    let done = match q.done.as_deref() {
        Some("closed") => Some("The record is closed."),
        Some("reopened") => Some("The record is open again."),
        _ => None,
    };
    let decision_segment = r
        .decision
        .as_ref()
        .and_then(|d| d.segment_id.as_ref())
        .map(|x| names.segment(Some(x.as_str())));
    let funnels = r.decision.as_ref().map(|d| funnels(d, &names)).unwrap_or_default();
    render(&RecordPage {
        layout: Layout::new(format!("{} · status details", r.name), &user, &console),
        id: r.id.to_string(),
        record_type,
        name: r.name.clone(),
        topic: r.topic.clone(),
        created_on: when(r.created_on),
        open: r.open,
        owner: names.owner(r.owner.as_ref()),
        previous_owner: names.owner(r.previous_owner.as_ref()),
        segment: names.segment(segment.as_deref()),
        rule: names.rule(segment.as_deref(), rule.as_deref()),
        sequence: r
            .sequence_id
            .as_ref()
            .map(|x| x.to_string())
            .unwrap_or_else(|| "–".into()),
        due: due_in(r.assignment_due_at, view.overdue, s.clock.now()),
        overdue: view.overdue,
        needs_attention: view.needs_attention,
        statuses,
        error_details: r.error_details.clone(),
        last_attempt: r.last_attempt_at.map(when).unwrap_or_else(|| "–".into()),
        attempts: r.attempts,
        decision_segment,
        funnels,
        history,
        may_write: who.role.allows(Permission::WriteRecords),
        done,
    })
}

async fn set_open(s: &AppState, action: &Action, id: &str, open: bool) -> Result<HttpResponse, ConsoleError> {
    let view = ops::records::set_open(s, &action.user.principal, id, open).await?;
    let done = if open { "reopened" } else { "closed" };
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/console/records/{}?done={done}", view.record.id),
        ))
        .finish())
}

async fn close(s: Data<AppState>, action: Action, id: Path<String>) -> Result<HttpResponse, ConsoleError> {
    set_open(&s, &action, &id, false).await
}

async fn reopen(s: Data<AppState>, action: Action, id: Path<String>) -> Result<HttpResponse, ConsoleError> {
    set_open(&s, &action, &id, true).await
}
