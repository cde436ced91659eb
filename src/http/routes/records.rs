//! Record routes: ingest, status details, monitor views, close/reopen, summaries, and
//! reassignment runs.

use actix_web::web::{Data, Path};
use actix_web::{HttpResponse, get, post};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::domain::Page;
use crate::domain::record::{RecordInput, StatusView};
use crate::domain::run::Run;
use crate::error::Error;
use crate::http::error::ErrorBody;
use crate::http::extract::{Caller, OptionalBody, Query, RawBody};
use crate::ops::PageQuery;
use crate::ops::records::{self as op, IngestAnswer, RecordListQuery, RecordTypeSummary, RunRequest, Summary};
use crate::state::AppState;

use super::examples;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(ingest)
        .service(list_records)
        .service(get_record)
        .service(close_record)
        .service(reopen_record)
        .service(list_record_types)
        .service(record_type_summary)
        .service(run_now)
        .service(list_runs)
        .service(get_run);
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct IngestQuery {
    /// Answer only after the records are processed, with their final status.
    #[serde(default)]
    wait: bool,
}

/// The body of `POST /records`, for the document: one record, or a batch.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Parsed by `ops::records::parse_ingest_body`; only documented here.
enum IngestRequest {
    One(RecordInput),
    Batch(RecordBatch),
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RecordBatch {
    #[schema(min_items = 1, max_items = 1000)]
    records: Vec<RecordInput>,
}

/// One record, or `{"records": [...]}` (1 to 1000). 202 once durably stored in stage
/// `to_be_processed`; with `?wait=true`, once processed.
#[utoipa::path(tag = "records", params(IngestQuery),
    request_body(content = IngestRequest, example = json!(examples::record_input())),
    responses((status = 202, description = "stored; one status view per record sent, in order",
        body = IngestAnswer, example = json!(examples::ingest_answer())),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/records")]
async fn ingest(s: Data<AppState>, c: Caller, q: Query<IngestQuery>, body: RawBody) -> Result<HttpResponse, Error> {
    let answer = op::ingest(&s, &c.0, &body.0, q.0.wait).await?;
    Ok(HttpResponse::Accepted().json(answer))
}

/// Status views of a monitor view, oldest `created_on` first.
#[utoipa::path(tag = "records", params(RecordListQuery), responses((status = 200, body = Page<StatusView>)), security(("bearer" = [])))]
#[get("/records")]
async fn list_records(s: Data<AppState>, c: Caller, q: Query<RecordListQuery>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::list_records(&s, &c.0, &q.0)?))
}

/// The status details of one record.
#[utoipa::path(tag = "records", params(("id" = String, Path)),
    responses((status = 200, description = "the status view", body = StatusView, example = json!(examples::status_view()))),
    security(("bearer" = [])))]
#[get("/records/{id}")]
async fn get_record(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::get_record(&s, &c.0, &id)?))
}

/// Closes a record: it no longer counts against its owner's capacity.
#[utoipa::path(tag = "records", params(("id" = String, Path)), responses((status = 200, body = StatusView), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
#[post("/records/{id}/close")]
async fn close_record(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::set_open(&s, &c.0, &id, false).await?))
}

/// Reopens a record.
#[utoipa::path(tag = "records", params(("id" = String, Path)), responses((status = 200, body = StatusView), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
#[post("/records/{id}/reopen")]
async fn reopen_record(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::set_open(&s, &c.0, &id, true).await?))
}

/// Every record type that has records, segments or a schema, with its summary.
#[utoipa::path(tag = "records", responses((status = 200, body = Page<RecordTypeSummary>)), security(("bearer" = [])))]
#[get("/record-types")]
async fn list_record_types(s: Data<AppState>, c: Caller) -> Result<HttpResponse, Error> {
    let items = op::list_record_types(&s, &c.0).await?;
    Ok(HttpResponse::Ok().json(Page { items, next: None }))
}

/// Counts of each monitor view of a record type.
#[utoipa::path(tag = "records", params(("record_type" = String, Path)), responses((status = 200, body = Summary)), security(("bearer" = [])))]
#[get("/record-types/{record_type}/summary")]
async fn record_type_summary(s: Data<AppState>, c: Caller, rt: Path<String>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::summary(&s, &c.0, &rt)?))
}

/// Runs the segment's rules now on its open unassigned records, oldest first.
#[utoipa::path(tag = "runs", params(("id" = String, Path)),
    request_body(content = RunRequest, description = "optional: an empty body runs with the default limit",
        example = json!({"limit": 500})),
    responses((status = 201, description = "the finished run", body = Run, example = json!(examples::run())),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/segments/{id}/runs")]
async fn run_now(
    s: Data<AppState>,
    c: Caller,
    id: Path<String>,
    body: OptionalBody<RunRequest>,
) -> Result<HttpResponse, Error> {
    let req = body.0.unwrap_or_default();
    Ok(HttpResponse::Created().json(op::run_now(&s, &c.0, &id, req).await?))
}

/// A segment's runs, newest first.
#[utoipa::path(tag = "runs", params(("id" = String, Path), PageQuery), responses((status = 200, body = Page<Run>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
#[get("/segments/{id}/runs")]
async fn list_runs(s: Data<AppState>, c: Caller, id: Path<String>, q: Query<PageQuery>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::list_runs(&s, &c.0, &id, &q.0).await?))
}

#[utoipa::path(tag = "runs", params(("id" = String, Path)), responses((status = 200, body = Run), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
#[get("/runs/{id}")]
async fn get_run(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::get_run(&s, &c.0, &id).await?))
}
