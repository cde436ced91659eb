//! Reassignment schedule routes: `/segments/{id}/schedule`.

use actix_web::web::{Data, Path};
use actix_web::{HttpResponse, delete, get, put};
use utoipa_actix_web::service_config::ServiceConfig;

use super::saved;
use crate::domain::schedule::ScheduleBody;
use crate::domain::schedule::ScheduleView;
use crate::error::Error;
use crate::http::error::ErrorBody;
use crate::http::extract::{Body, Caller};
use crate::ops::schedules as op;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(put_schedule).service(get_schedule).service(delete_schedule);
}

/// Creates (201) or replaces (200) a segment's schedule: runs at one or two local times
/// on the listed days from the start date. The answer carries `next_run_at`.
#[utoipa::path(tag = "schedules",
    request_body(content = ScheduleBody, example = json!({"start_date": "2026-11-24",
        "days": ["mon", "tue", "wed", "thu", "fri"], "times": ["06:00", "14:00"], "timezone": "Europe/London"})),
    params(("id" = String, Path, description = "segment id")),
    responses((status = 403, body = ErrorBody), (status = 201, body = ScheduleView), (status = 200, body = ScheduleView),
        (status = 404, body = ErrorBody, description = "no such segment"), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/segments/{id}/schedule")]
async fn put_schedule(
    s: Data<AppState>,
    c: Caller,
    id: Path<String>,
    body: Body<ScheduleBody>,
) -> Result<HttpResponse, Error> {
    Ok(saved(op::put_schedule(&s, &c.0, &id, body.0).await?))
}

/// A segment's schedule and its next run; 404 when the segment has none.
#[utoipa::path(tag = "schedules", params(("id" = String, Path, description = "segment id")),
    responses((status = 403, body = ErrorBody), (status = 200, body = ScheduleView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/segments/{id}/schedule")]
async fn get_schedule(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::get_schedule(&s, &c.0, &id).await?))
}

/// Removes a segment's schedule.
#[utoipa::path(tag = "schedules", params(("id" = String, Path, description = "segment id")),
    responses((status = 403, body = ErrorBody), (status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[delete("/segments/{id}/schedule")]
async fn delete_schedule(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
    op::delete_schedule(&s, &c.0, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
