//! Run assignment rules for a segment (seeds S0, S1): its unassigned count and last run,
//! Run now (the result shown when done), run history with each run's details, and the
//! schedule form (start date, days, one or two times, time zone), edit and delete.
//!
//! Operations: `get_segment` (`GET /segments/{id}`), `list_runs`
//! (`GET /segments/{id}/runs`), `run_now` (`POST /segments/{id}/runs`), `get_run`
//! (`GET /runs/{id}`), `get_schedule` / `put_schedule` / `delete_schedule`
//! (`GET` / `PUT` / `DELETE /segments/{id}/schedule`).

use actix_web::http::{StatusCode, header};
use actix_web::web::{self, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use super::home::days_label;
use super::monitor::when;
use super::session::{Action, ConsoleUser};
use super::{Console, ConsoleError, Layout, html, render};
use crate::auth::Permission;
use crate::domain::run::Run;
use crate::domain::schedule::ScheduleBody;
use crate::error::Error;
use crate::ops::{self, PageQuery};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/segments/{id}/runs", web::get().to(page))
        .route("/segments/{id}/runs", web::post().to(run_now))
        .route("/segments/{id}/schedule", web::post().to(save_schedule))
        .route("/segments/{id}/schedule/delete", web::post().to(delete_schedule))
        .route("/runs/{id}", web::get().to(run_page));
}

pub const DAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

#[derive(Clone)]
pub struct RunRow {
    pub id: String,
    pub trigger: String,
    pub status: String,
    pub started_at: String,
    pub considered: u64,
    pub assigned: u64,
    pub unassigned: u64,
    pub duration_ms: u64,
    pub error: Option<String>,
}

fn code<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl From<&Run> for RunRow {
    fn from(r: &Run) -> RunRow {
        RunRow {
            id: r.id.clone(),
            trigger: code(r.trigger),
            status: code(r.status),
            started_at: when(r.started_at),
            considered: r.considered,
            assigned: r.assigned,
            unassigned: r.unassigned,
            duration_ms: r.duration_ms,
            error: r.error.clone(),
        }
    }
}

/// The schedule form's values: what is saved, or what was sent when it was refused.
pub struct ScheduleForm {
    pub exists: bool,
    pub summary: Option<String>,
    pub next_run: Option<String>,
    pub start_date: String,
    pub days: Vec<(&'static str, &'static str, bool)>,
    pub time1: String,
    pub time2: String,
    pub timezone: String,
    pub error: Option<String>,
    pub error_field: String,
    pub saved: Option<&'static str>,
}

impl ScheduleForm {
    fn empty(today: String) -> ScheduleForm {
        ScheduleForm {
            exists: false,
            summary: None,
            next_run: None,
            start_date: today,
            days: DAYS.iter().map(|(c, l)| (*c, *l, false)).collect(),
            time1: String::new(),
            time2: String::new(),
            timezone: "UTC".into(),
            error: None,
            error_field: String::new(),
            saved: None,
        }
    }
}

#[derive(Template)]
#[template(path = "runs.html")]
struct RunsPage {
    layout: Layout,
    segment_id: String,
    segment_name: String,
    record_type: String,
    summary: Summary,
    runs: Vec<RunRow>,
    /// Only the htmx answer of Run now swaps the history out of band.
    history: Option<Vec<RunRow>>,
    schedule: ScheduleForm,
    may_run: bool,
}

/// The block Run now replaces: the count, the last run and the result of this run.
pub struct Summary {
    pub unassigned: u64,
    pub last_run: Option<RunRow>,
    pub result: Option<String>,
    pub failed: bool,
}

#[derive(Template)]
#[template(path = "_run_summary.html")]
struct SummaryFragment {
    summary: Summary,
    /// The run history, swapped out of band (htmx) so that it shows the new run.
    history: Option<Vec<RunRow>>,
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    layout: Layout,
    run: RunRow,
    segment_id: String,
    assigned_records: Vec<String>,
}

#[derive(Deserialize)]
pub struct RunsQuery {
    ran: Option<String>,
    saved: Option<String>,
}

async fn summary(s: &AppState, user: &ConsoleUser, segment_id: &str) -> Result<(Summary, Vec<RunRow>), Error> {
    let who = &user.principal;
    let seg = ops::config::get_segment(s, who, segment_id).await?;
    let runs = ops::records::list_runs(
        s,
        who,
        segment_id,
        &PageQuery {
            limit: Some(20),
            after: None,
        },
    )
    .await?;
    let runs: Vec<RunRow> = runs.items.iter().map(RunRow::from).collect();
    Ok((
        Summary {
            unassigned: seg.unassigned_count,
            last_run: runs.first().cloned(),
            result: None,
            failed: false,
        },
        runs,
    ))
}

fn result_text(run: &Run) -> String {
    let records = |n: u64| if n == 1 { "record" } else { "records" };
    match run.status {
        crate::domain::run::RunStatus::Succeeded => format!(
            "Run finished: {} {} assigned, {} still unassigned ({} considered).",
            run.assigned,
            records(run.assigned),
            run.unassigned,
            run.considered
        ),
        _ => format!(
            "Run failed: {}. {} {} assigned before it stopped.",
            run.error.clone().unwrap_or_default(),
            run.assigned,
            records(run.assigned)
        ),
    }
}

async fn schedule_form(s: &AppState, user: &ConsoleUser, segment_id: &str) -> Result<ScheduleForm, Error> {
    let today = s.clock.now().format("%Y-%m-%d").to_string();
    match ops::schedules::get_schedule(s, &user.principal, segment_id).await {
        Ok(view) => {
            let b = &view.schedule;
            let days: Vec<String> = b.days.iter().map(code).collect();
            Ok(ScheduleForm {
                exists: true,
                summary: Some(format!(
                    "{} at {} ({}), from {}",
                    days_label(&b.days),
                    b.times.join(" and "),
                    b.timezone,
                    b.start_date
                )),
                next_run: view.next_run_at.map(when),
                start_date: b.start_date.clone(),
                days: DAYS
                    .iter()
                    .map(|(c, l)| (*c, *l, days.iter().any(|d| d == c)))
                    .collect(),
                time1: b.times.first().cloned().unwrap_or_default(),
                time2: b.times.get(1).cloned().unwrap_or_default(),
                timezone: b.timezone.clone(),
                ..ScheduleForm::empty(today)
            })
        }
        Err(Error::NotFound { kind: "schedule", .. }) => Ok(ScheduleForm::empty(today)),
        Err(e) => Err(e),
    }
}

async fn page(
    s: Data<AppState>,
    console: Data<Console>,
    user: ConsoleUser,
    id: Path<String>,
    q: web::Query<RunsQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let mut schedule = schedule_form(&s, &user, &id).await?;
    schedule.saved = match q.saved.as_deref() {
        Some("saved") => Some("Schedule saved."),
        Some("deleted") => Some("Schedule deleted."),
        _ => None,
    };
    let (mut summary, runs) = summary(&s, &user, &id).await?;
    if let Some(ran) = &q.ran
        && let Ok(run) = ops::records::get_run(&s, &user.principal, ran).await
    {
        summary.result = Some(result_text(&run));
        summary.failed = run.error.is_some();
    }
    let seg = ops::config::get_segment(&s, &user.principal, &id).await?;
    render(&RunsPage {
        layout: Layout::new(format!("Run assignment rules · {}", seg.segment.name), &user, &console),
        segment_id: id.to_string(),
        segment_name: seg.segment.name,
        record_type: seg.segment.record_type.to_string(),
        summary,
        runs,
        history: None,
        schedule,
        may_run: user.principal.role.allows(Permission::Configure),
    })
}

fn is_htmx(req: &HttpRequest) -> bool {
    req.headers().contains_key("hx-request")
}

/// Run now: the same operation as `POST /segments/{id}/runs {}`. htmx swaps the
/// summary (count, last run, result); a plain form comes back to the page.
async fn run_now(
    req: HttpRequest,
    s: Data<AppState>,
    action: Action,
    id: Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let run = ops::records::run_now(&s, &action.user.principal, &id, Default::default()).await?;
    if !is_htmx(&req) {
        return Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/console/segments/{}/runs?ran={}", id, run.id),
            ))
            .finish());
    }
    let (mut summary, runs) = summary(&s, &action.user, &id).await?;
    summary.result = Some(result_text(&run));
    summary.failed = run.error.is_some();
    render(&SummaryFragment {
        summary,
        history: Some(runs),
    })
}

/// The schedule form as the body `PUT /segments/{id}/schedule` takes.
fn schedule_body(action: &Action) -> Result<ScheduleBody, Error> {
    let times: Vec<&str> = ["time1", "time2"]
        .iter()
        .filter_map(|f| action.field(f))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let days: Vec<&str> = action.fields("days").collect();
    let body = json!({
        "start_date": action.field("start_date").unwrap_or("").trim(),
        "days": days,
        "times": times,
        "timezone": action.field("timezone").unwrap_or("").trim(),
    });
    crate::json::from_value(body)
}

async fn save_schedule(
    s: Data<AppState>,
    console: Data<Console>,
    action: Action,
    id: Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let saved = match schedule_body(&action) {
        Ok(body) => ops::schedules::put_schedule(&s, &action.user.principal, &id, body).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/console/segments/{id}/runs?saved=saved")))
            .finish()),
        Err(e @ Error::Validation(_)) => {
            // The page again with what was sent and the error at its field.
            let field = e
                .details()
                .and_then(|d| d["field"].as_str().map(str::to_string))
                .unwrap_or_default();
            let mut schedule = schedule_form(&s, &action.user, &id).await?;
            schedule.start_date = action.field("start_date").unwrap_or("").to_string();
            let sent: Vec<&str> = action.fields("days").collect();
            for day in schedule.days.iter_mut() {
                day.2 = sent.contains(&day.0);
            }
            schedule.time1 = action.field("time1").unwrap_or("").to_string();
            schedule.time2 = action.field("time2").unwrap_or("").to_string();
            schedule.timezone = action.field("timezone").unwrap_or("").to_string();
            schedule.error = Some(e.public_message());
            schedule.error_field = match field.as_str() {
                f if f.starts_with("times") => "times".into(),
                f if f.starts_with("days") => "days".into(),
                f => f.to_string(),
            };
            let (summary, runs) = summary(&s, &action.user, &id).await?;
            let seg = ops::config::get_segment(&s, &action.user.principal, &id).await?;
            let page = RunsPage {
                layout: Layout::new(
                    format!("Run assignment rules · {}", seg.segment.name),
                    &action.user,
                    &console,
                ),
                segment_id: id.to_string(),
                segment_name: seg.segment.name,
                record_type: seg.segment.record_type.to_string(),
                summary,
                runs,
                history: None,
                schedule,
                may_run: true,
            };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()?))
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete_schedule(s: Data<AppState>, action: Action, id: Path<String>) -> Result<HttpResponse, ConsoleError> {
    ops::schedules::delete_schedule(&s, &action.user.principal, &id).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/console/segments/{id}/runs?saved=deleted")))
        .finish())
}

async fn run_page(
    s: Data<AppState>,
    console: Data<Console>,
    user: ConsoleUser,
    id: Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let run = ops::records::get_run(&s, &user.principal, &id).await?;
    render(&RunPage {
        layout: Layout::new(format!("Run {}", run.id), &user, &console),
        segment_id: run.segment_id.to_string(),
        assigned_records: run.assigned_records.iter().map(|r| r.to_string()).collect(),
        run: RunRow::from(&run),
    })
}
