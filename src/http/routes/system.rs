//! `/healthz`, `/metrics`, `/api/v1/me` and `/api/v1/tokens`.

use actix_web::web::{Data, Path};
use actix_web::{HttpResponse, delete, get, post};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{NewToken, Principal, Role, TokenInfo};
use crate::error::Error;
use crate::http::error::ErrorBody;
use crate::http::extract::{Body, Caller};
use crate::ops;
use crate::state::AppState;

pub fn configure_root(cfg: &mut ServiceConfig) {
    cfg.service(healthz).service(metrics);
}

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(me)
        .service(create_token)
        .service(list_tokens)
        .service(delete_token);
}

/// 200 while the store answers reads.
#[utoipa::path(tag = "system", responses((status = 200, description = "the store is open"), (status = 503, body = ErrorBody)))]
#[get("/healthz")]
async fn healthz(s: Data<AppState>) -> HttpResponse {
    match s.store.read() {
        Ok(_) => HttpResponse::Ok().json(serde_json::json!({"status": "ok"})),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({"error": {"code": "internal", "message": "the store is not readable"}}))
        }
    }
}

/// Prometheus text.
#[utoipa::path(tag = "system", responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
#[get("/metrics")]
async fn metrics(
    s: Data<AppState>,
    m: Data<crate::http::metrics::Metrics>,
    admission: Data<crate::http::admission::Admission>,
) -> HttpResponse {
    let mut body = m.render(s.store.writer_stats());
    // A stopped scheduler leaves its lines out rather than failing the scrape.
    if let Some(counts) = ops::schedules::scheduled_run_counts(&s).await {
        body.push_str(&crate::http::metrics::render_scheduled_runs(&counts));
    }
    let (total, now) = ops::script_suspensions(&s);
    body.push_str(&crate::http::metrics::render_script_suspensions(total, now));
    let (deferred_total, deferred_now) = ops::deferred_records();
    body.push_str(&crate::http::metrics::render_deferred(deferred_total, deferred_now));
    body.push_str(&crate::http::admission::render(&admission));
    match ops::domain_figures(&s) {
        Ok(figures) => body.push_str(&crate::http::metrics::render_domain(&figures)),
        // The store's read failed: the rest of the scrape is still worth having.
        Err(e) => tracing::error!(error = %e, "reading the domain figures for /metrics"),
    }
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body)
}

/// The calling token.
#[utoipa::path(tag = "tokens", responses((status = 200, description = "the calling token", body = Principal)), security(("bearer" = [])))]
#[get("/me")]
async fn me(c: Caller) -> HttpResponse {
    HttpResponse::Ok().json(c.0)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// 1 to 256 characters, not all blank.
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub name: String,
    pub role: Role,
}

/// Creates a token; the secret is shown only in this answer.
#[utoipa::path(tag = "tokens", request_body = CreateToken, responses((status = 201, body = NewToken), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[post("/tokens")]
async fn create_token(s: Data<AppState>, c: Caller, body: Body<CreateToken>) -> Result<HttpResponse, Error> {
    let t = ops::config::create_token(&s, &c.0, body.0.name, body.0.role).await?;
    Ok(HttpResponse::Created().json(t))
}

/// Lists tokens, never their secrets.
#[utoipa::path(tag = "tokens", responses((status = 200, body = inline(TokenList)), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
#[get("/tokens")]
async fn list_tokens(s: Data<AppState>, c: Caller) -> Result<HttpResponse, Error> {
    let items = ops::config::list_tokens(&s, &c.0)?;
    Ok(HttpResponse::Ok().json(TokenList { items, next: None }))
}

#[derive(serde::Serialize, ToSchema)]
struct TokenList {
    items: Vec<TokenInfo>,
    next: Option<String>,
}

/// Revokes a token.
#[utoipa::path(tag = "tokens", params(("id" = String, Path)), responses((status = 204), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
#[delete("/tokens/{id}")]
async fn delete_token(s: Data<AppState>, c: Caller, id: Path<String>) -> Result<HttpResponse, Error> {
    ops::config::delete_token(&s, &c.0, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
