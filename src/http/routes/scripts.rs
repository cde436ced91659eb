//! Script routes: `POST /api/v1/scripts/check`.

use actix_web::web::Data;
use actix_web::{HttpResponse, post};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::Error;
use crate::http::error::ErrorBody;
use crate::http::extract::{Body, Caller};
use crate::ops::scripts::{self as op, ScriptCheck, ScriptCheckAnswer};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(check_script);
}

/// Compiles a script (checking it against its record type's schema, when it has one)
/// and, given samples, runs it. Compile and run-time errors are `script_error` (422)
/// with `line`, `column` and `kind`. Needs a role that may configure segments or
/// sequences, since it runs the script on the server.
#[utoipa::path(tag = "scripts",
    request_body(content = ScriptCheck, example = json!({"kind": "condition", "source": "record.country == \"UK\"",
        "record": {"record_type": "lead", "attributes": {"country": "UK"}}})),
    responses((status = 200, body = ScriptCheckAnswer), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/scripts/check")]
async fn check_script(s: Data<AppState>, c: Caller, body: Body<ScriptCheck>) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(op::check_script(&s, &c.0, body.0).await?))
}
