//! Manual assignment, eligible sellers and assignment history.

use actix_web::web::{Data, Path};
use actix_web::{HttpResponse, get, post};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::domain::Page;
use crate::domain::history::{AssignResult, HistoryEntry};
use crate::domain::seller::EligibleSeller;
use crate::error::Error;
use crate::http::error::ErrorBody;
use crate::http::extract::{Body, Caller, Query};
use crate::ops::assignments::{self as op, AssignRequest, HistoryQuery};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(assign).service(history).service(eligible_sellers);
}

/// Assigns records by hand to a seller or a team; answers a result per record.
#[utoipa::path(tag = "assignments",
    request_body(content = AssignRequest, example = json!(super::examples::assign_request())),
    responses((status = 403, body = ErrorBody),
        (status = 200, description = "a result per record, in request order", body = inline(AssignAnswer),
            example = json!(super::examples::assign_answer())),
        (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[post("/assignments")]
async fn assign(s: Data<AppState>, c: Caller, body: Body<AssignRequest>) -> Result<HttpResponse, Error> {
    let results = op::assign(&s, &c.0, body.0).await?;
    Ok(HttpResponse::Ok().json(AssignAnswer { results }))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct AssignAnswer {
    results: Vec<AssignResult>,
}

/// Assignment history, newest first.
#[utoipa::path(tag = "assignments", params(HistoryQuery), responses((status = 403, body = ErrorBody), (status = 200, body = Page<HistoryEntry>)), security(("bearer" = [])))]
#[get("/assignments")]
async fn history(s: Data<AppState>, c: Caller, q: Query<HistoryQuery>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::history(&s, &c.0, q.0).await?))
}

/// Sellers eligible for a record under its segment's rules, with capacity and availability.
#[utoipa::path(tag = "assignments", params(("id" = String, Path)),
    responses((status = 403, body = ErrorBody), (status = 200, body = inline(EligibleList)), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/records/{id}/eligible-sellers")]
async fn eligible_sellers(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
    let items = op::eligible_sellers(&s, &c.0, &id).await?;
    Ok(HttpResponse::Ok().json(EligibleList { items, next: None }))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct EligibleList {
    items: Vec<EligibleSeller>,
    next: Option<String>,
}
