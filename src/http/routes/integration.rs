//! Integration routes: the change feed (`/events`) and webhooks (`/webhooks`).

use actix_web::web::{Data, Path};
use actix_web::{HttpResponse, delete, get, post, put};
use utoipa_actix_web::service_config::ServiceConfig;

use super::saved;
use crate::domain::Page;
use crate::domain::webhook::{DeliveryView, WebhookBody, WebhookView};
use crate::error::Error;
use crate::http::error::ErrorBody;
use crate::http::extract::{Body, Caller, Query};
use crate::ops::PageQuery;
use crate::ops::events::{self, EventQuery};
use crate::ops::webhooks::{self as op, RedeliverAnswer, RedeliverBody};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_events)
        .service(put_webhook)
        .service(get_webhook)
        .service(list_webhooks)
        .service(delete_webhook)
        .service(list_deliveries)
        .service(redeliver);
}

/// The change feed in commit order: `{"items": [{"id", "type", "at", "data"}], "next"}`;
/// `next` is the cursor to resume from (never null). `wait` (0–30 s) holds the request
/// until an event commits. Every role may read it.
#[utoipa::path(tag = "integration", params(EventQuery),
    responses((status = 200, description = "a page of events"), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/events")]
async fn list_events(s: Data<AppState>, c: Caller, q: Query<EventQuery>) -> Result<HttpResponse, Error> {
    let page = events::list(&s, &c.0, q.0).await?;
    Ok(HttpResponse::Ok().content_type("application/json").body(page.to_json()))
}

/// Creates (201) or replaces (200) a webhook; the answer never shows the secret.
#[utoipa::path(tag = "integration", request_body = WebhookBody, params(("id" = String, Path)),
    responses((status = 403, body = ErrorBody), (status = 201, body = WebhookView), (status = 200, body = WebhookView), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/webhooks/{id}")]
async fn put_webhook(
    s: Data<AppState>,
    c: Caller,
    id: Path<String>,
    body: Body<WebhookBody>,
) -> Result<HttpResponse, Error> {
    Ok(saved(op::put(&s, &c.0, &id, body.0).await?))
}

/// A webhook with its `state` and `backlog`, without its secret.
#[utoipa::path(tag = "integration", params(("id" = String, Path)),
    responses((status = 403, body = ErrorBody), (status = 200, body = WebhookView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/webhooks/{id}")]
async fn get_webhook(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::get(&s, &c.0, &id).await?))
}

/// Webhooks in id order.
#[utoipa::path(tag = "integration", params(PageQuery), responses((status = 403, body = ErrorBody), (status = 200, body = Page<WebhookView>)), security(("bearer" = [])))]
#[get("/webhooks")]
async fn list_webhooks(s: Data<AppState>, c: Caller, q: Query<PageQuery>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::list(&s, &c.0, q.0).await?))
}

/// Removes a webhook and its deliveries.
#[utoipa::path(tag = "integration", params(("id" = String, Path)), responses((status = 403, body = ErrorBody), (status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[delete("/webhooks/{id}")]
async fn delete_webhook(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
    op::delete(&s, &c.0, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A webhook's deliveries, oldest event first (`after` is an event id).
#[utoipa::path(tag = "integration", params(("id" = String, Path), PageQuery),
    responses((status = 403, body = ErrorBody), (status = 200, body = Page<DeliveryView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/webhooks/{id}/deliveries")]
async fn list_deliveries(
    s: Data<AppState>,
    c: Caller,
    id: Path<String>,
    q: Query<PageQuery>,
) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::deliveries(&s, &c.0, &id, q.0).await?))
}

/// Delivers one event again (`event_id`), or every matching event after a cursor
/// (`after`); answers 202 once the deliveries are durably pending.
#[utoipa::path(tag = "integration", request_body = RedeliverBody, params(("id" = String, Path)),
    responses((status = 403, body = ErrorBody), (status = 202, body = RedeliverAnswer), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/webhooks/{id}/redeliver")]
async fn redeliver(
    s: Data<AppState>,
    c: Caller,
    id: Path<String>,
    body: Body<RedeliverBody>,
) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Accepted().json(op::redeliver(&s, &c.0, &id, body.0).await?))
}
