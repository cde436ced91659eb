//! Route table: one module per resource, registered under `/api/v1`.

mod assignments;
mod config;
mod examples;
mod integration;
mod records;
mod schedules;
mod scripts;
mod system;

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::ops::config::Saved;

pub fn register<T>(app: utoipa_actix_web::UtoipaApp<T>) -> utoipa_actix_web::UtoipaApp<T>
where
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Error = actix_web::Error,
            InitError = (),
        >,
{
    app.configure(system::configure_root)
        .service(utoipa_actix_web::scope("/api/v1").configure(configure_api))
}

fn configure_api(cfg: &mut ServiceConfig) {
    system::configure(cfg);
    config::configure(cfg);
    records::configure(cfg);
    assignments::configure(cfg);
    schedules::configure(cfg);
    scripts::configure(cfg);
    integration::configure(cfg);
}

/// 201 when the upsert created the object, 200 when it replaced it.
fn saved<T: Serialize>(s: Saved<T>) -> HttpResponse {
    if s.created {
        HttpResponse::Created().json(s.object)
    } else {
        HttpResponse::Ok().json(s.object)
    }
}
