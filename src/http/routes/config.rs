//! Configuration routes: sellers, teams, queues, sequences, segments, rules, settings,
//! record-type schemas.

use actix_web::web::{Data, Path};
use actix_web::{HttpResponse, delete, get, put};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::saved;
use crate::domain::Page;
use crate::domain::config::{Queue, RecordTypeSchema, Rule, Segment, Seller, Sequence, Settings, Team};
use crate::domain::seller::SellerView;
use crate::error::Error;
use crate::http::error::ErrorBody;
use crate::http::extract::{Body, Caller, Query};
use crate::ops::PageQuery;
use crate::ops::config::{self as op, SegmentView, WithId};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(put_seller)
        .service(get_seller)
        .service(list_sellers)
        .service(delete_seller)
        .service(put_team)
        .service(get_team)
        .service(list_teams)
        .service(delete_team)
        .service(put_queue)
        .service(get_queue)
        .service(list_queues)
        .service(delete_queue)
        .service(put_sequence)
        .service(get_sequence)
        .service(list_sequences)
        .service(delete_sequence)
        .service(put_segment)
        .service(get_segment)
        .service(list_segments)
        .service(delete_segment)
        .service(put_rule)
        .service(get_rule)
        .service(list_rules)
        .service(delete_rule)
        .service(get_settings)
        .service(put_settings)
        .service(put_record_type)
        .service(get_record_type)
        .service(delete_record_type);
}

// ---- sellers ----

/// Creates (201) or replaces (200) a seller.
#[utoipa::path(tag = "sellers", params(("id" = String, Path)),
    request_body(content = Seller, example = json!(super::examples::seller())),
    responses((status = 403, body = ErrorBody), (status = 201, body = SellerView), (status = 200, body = SellerView), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/sellers/{id}")]
async fn put_seller(s: Data<AppState>, c: Caller, id: Path<String>, body: Body<Seller>) -> Result<HttpResponse, Error> {
    Ok(saved(op::put_seller(&s, &c.0, &id, body.0).await?))
}

/// A seller with `open_records`, `available_capacity` and `last_assigned_at`.
#[utoipa::path(tag = "sellers", params(("id" = String, Path)),
    responses((status = 403, body = ErrorBody), (status = 200, body = SellerView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/sellers/{id}")]
async fn get_seller(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::get_seller(&s, &c.0, &id).await?))
}

/// Sellers in id order.
#[utoipa::path(tag = "sellers", params(PageQuery), responses((status = 403, body = ErrorBody), (status = 200, body = Page<SellerView>)), security(("bearer" = [])))]
#[get("/sellers")]
async fn list_sellers(s: Data<AppState>, c: Caller, q: Query<PageQuery>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::list_sellers(&s, &c.0, &q.0).await?))
}

#[utoipa::path(tag = "sellers", params(("id" = String, Path)), responses((status = 403, body = ErrorBody), (status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[delete("/sellers/{id}")]
async fn delete_seller(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
    op::delete::<Seller>(&s, &c.0, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- teams, queues, sequences, record-type schemas ----

/// The routes of a kind served by the generic operations (`op::put::<K>` and the rest):
/// put (201 created, 200 replaced), get, delete and, given `list`, the list of all.
///
/// A macro writing thin handlers per kind, not one generic handler set registered per
/// kind: actix-web's route attributes turn each handler into a non-generic unit struct
/// that registers the function (a generic `put::<K>` cannot be one), and utoipa
/// documents one path per function, taking the operation id from its name. Each handler
/// is one line; the logic they share is in `ops::config`.
macro_rules! kind_routes {
    (
        $kind:ident, tag = $tag:tt, param = $param:tt, one = $one:tt,
        $put:ident, $get:ident, $delete:ident $(, list = $all:tt, $list:ident)?
    ) => {
        #[utoipa::path(tag = $tag, request_body = $kind, params(($param = String, Path)),
            responses((status = 403, body = ErrorBody), (status = 201, body = WithId<$kind>), (status = 200, body = WithId<$kind>), (status = 422, body = ErrorBody)),
            security(("bearer" = [])))]
        #[put($one)]
        async fn $put(s: Data<AppState>, c: Caller, id: Path<String>, body: Body<$kind>) -> Result<HttpResponse, Error> {
            Ok(saved(op::put::<$kind>(&s, &c.0, &id, body.0).await?))
        }

        #[utoipa::path(tag = $tag, params(($param = String, Path)), responses((status = 403, body = ErrorBody), (status = 200, body = WithId<$kind>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
        #[get($one)]
        async fn $get(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
            Ok(HttpResponse::Ok().json(op::get::<$kind>(&s, &c.0, &id).await?))
        }

        #[utoipa::path(tag = $tag, params(($param = String, Path)), responses((status = 403, body = ErrorBody), (status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
        #[delete($one)]
        async fn $delete(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
            op::delete::<$kind>(&s, &c.0, &id).await?;
            Ok(HttpResponse::NoContent().finish())
        }

        $(
            #[utoipa::path(tag = $tag, params(PageQuery), responses((status = 403, body = ErrorBody), (status = 200, body = Page<WithId<$kind>>)), security(("bearer" = [])))]
            #[get($all)]
            async fn $list(s: Data<AppState>, c: Caller, q: Query<PageQuery>) -> Result<HttpResponse, Error> {
                Ok(HttpResponse::Ok().json(op::list::<$kind>(&s, &c.0, &q.0).await?))
            }
        )?
    };
}

kind_routes! {
    Team, tag = "teams", param = "id", one = "/teams/{id}",
    put_team, get_team, delete_team, list = "/teams", list_teams
}
kind_routes! {
    Queue, tag = "queues", param = "id", one = "/queues/{id}",
    put_queue, get_queue, delete_queue, list = "/queues", list_queues
}
kind_routes! {
    Sequence, tag = "sequences", param = "id", one = "/sequences/{id}",
    put_sequence, get_sequence, delete_sequence, list = "/sequences", list_sequences
}
// Record types are listed with their summaries (`GET /record-types`, in `records`).
kind_routes! {
    RecordTypeSchema, tag = "record-types", param = "record_type", one = "/record-types/{record_type}",
    put_record_type, get_record_type, delete_record_type
}

// ---- segments ----

/// Creates or replaces a segment; its condition is compiled (and checked against the
/// record type's schema) before it is saved.
#[utoipa::path(tag = "segments", params(("id" = String, Path)),
    request_body(content = Segment, example = json!(super::examples::segment())),
    responses((status = 403, body = ErrorBody), (status = 201, body = SegmentView), (status = 200, body = SegmentView), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/segments/{id}")]
async fn put_segment(
    s: Data<AppState>,
    c: Caller,
    id: Path<String>,
    body: Body<Segment>,
) -> Result<HttpResponse, Error> {
    Ok(saved(op::put_segment(&s, &c.0, &id, body.0).await?))
}

#[utoipa::path(tag = "segments", params(("id" = String, Path)), responses((status = 403, body = ErrorBody), (status = 200, body = SegmentView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/segments/{id}")]
async fn get_segment(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::get_segment(&s, &c.0, &id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct SegmentListQuery {
    /// With a record type, its segments in priority order.
    #[param(value_type = Option<crate::domain::RecordType>)]
    record_type: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    after: Option<String>,
}

#[utoipa::path(tag = "segments", params(SegmentListQuery), responses((status = 403, body = ErrorBody), (status = 200, body = Page<SegmentView>)), security(("bearer" = [])))]
#[get("/segments")]
async fn list_segments(s: Data<AppState>, c: Caller, q: Query<SegmentListQuery>) -> Result<HttpResponse, Error> {
    let page = PageQuery {
        limit: q.0.limit,
        after: q.0.after.clone(),
    };
    Ok(HttpResponse::Ok().json(op::list_segments(&s, &c.0, q.0.record_type.as_deref(), &page).await?))
}

/// Deletes a segment with its rules and schedule.
#[utoipa::path(tag = "segments", params(("id" = String, Path)), responses((status = 403, body = ErrorBody), (status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[delete("/segments/{id}")]
async fn delete_segment(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
    op::delete_segment(&s, &c.0, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- rules ----

#[utoipa::path(tag = "rules", params(("sid" = String, Path), ("rid" = String, Path)),
    request_body(content = Rule, example = json!(super::examples::rule())),
    responses((status = 403, body = ErrorBody), (status = 201, body = WithId<Rule>), (status = 200, body = WithId<Rule>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/segments/{sid}/rules/{rid}")]
async fn put_rule(
    s: Data<AppState>,
    c: Caller,
    p: Path<(String, String)>,
    body: Body<Rule>,
) -> Result<HttpResponse, Error> {
    Ok(saved(op::put_rule(&s, &c.0, &p.0, &p.1, body.0).await?))
}

#[utoipa::path(tag = "rules", params(("sid" = String, Path), ("rid" = String, Path)), responses((status = 403, body = ErrorBody), (status = 200, body = WithId<Rule>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/segments/{sid}/rules/{rid}")]
async fn get_rule(s: Data<AppState>, c: Caller, p: Path<(String, String)>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::get_rule(&s, &c.0, &p.0, &p.1).await?))
}

#[utoipa::path(tag = "rules", params(("sid" = String, Path), PageQuery), responses((status = 403, body = ErrorBody), (status = 200, body = Page<WithId<Rule>>)), security(("bearer" = [])))]
#[get("/segments/{sid}/rules")]
async fn list_rules(
    s: Data<AppState>,
    c: Caller,
    sid: Path<String>,
    q: Query<PageQuery>,
) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::list_rules(&s, &c.0, &sid, &q.0).await?))
}

#[utoipa::path(tag = "rules", params(("sid" = String, Path), ("rid" = String, Path)), responses((status = 403, body = ErrorBody), (status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[delete("/segments/{sid}/rules/{rid}")]
async fn delete_rule(s: Data<AppState>, c: Caller, p: Path<(String, String)>) -> Result<HttpResponse, Error> {
    op::delete_rule(&s, &c.0, &p.0, &p.1).await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- settings ----

#[utoipa::path(tag = "settings", responses((status = 403, body = ErrorBody), (status = 200, body = Settings)), security(("bearer" = [])))]
#[get("/settings")]
async fn get_settings(s: Data<AppState>, c: Caller) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::get_settings(&s, &c.0).await?))
}

#[utoipa::path(tag = "settings", request_body = Settings, responses((status = 403, body = ErrorBody), (status = 200, body = Settings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[put("/settings")]
async fn put_settings(s: Data<AppState>, c: Caller, body: Body<Settings>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::put_settings(&s, &c.0, body.0).await?))
}
