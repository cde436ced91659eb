//! The HTTP edge: routes per resource, auth, the error -> JSON mapping, metrics and the
//! OpenAPI document collected from the route annotations.

pub mod access;
pub mod admission;
pub mod console;
pub mod error;
pub mod extract;
mod methods;
pub mod metrics;
mod openapi;
mod routes;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::web::{self, Data};
use actix_web::{App, HttpRequest, HttpResponse};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_actix_web::AppExt;

use self::methods::KnownPaths;
use self::metrics::Metrics;
use crate::error::Error;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(info(
    title = "allot",
    description = "Self-hosted work-assignment server: segments, assignment rules, reassignment runs."
))]
struct ApiDoc;

/// The OpenAPI document of every route [`app`] serves (see `openapi.rs`).
pub fn openapi() -> serde_json::Value {
    let (_, api) = routes::register(App::new().into_utoipa_app().openapi(ApiDoc::openapi())).split_for_parts();
    finish_openapi(api)
}

fn finish_openapi(mut api: utoipa::openapi::OpenApi) -> serde_json::Value {
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    openapi::finish(&api)
}

pub fn app(
    state: Data<AppState>,
    metrics: Data<Metrics>,
    admission: Data<admission::Admission>,
    console: Option<Data<console::Console>>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, api) = routes::register(App::new().into_utoipa_app().openapi(ApiDoc::openapi())).split_for_parts();
    let api = finish_openapi(api);
    let known = web::Data::new(KnownPaths::new(&api, &[("/openapi.json", &["GET"])]));
    app.app_data(state)
        .app_data(metrics)
        .app_data(admission)
        .app_data(web::Data::new(api))
        .app_data(known)
        .route("/openapi.json", web::get().to(openapi_json))
        .configure(|cfg| {
            if let Some(console) = console {
                console::configure(cfg, console);
            }
        })
        .default_service(web::to(|req: HttpRequest| async move {
            let method = req.method().to_string();
            let path = req.path().to_string();
            let allowed = req
                .app_data::<web::Data<KnownPaths>>()
                .map(|known| known.allowed(&path))
                .unwrap_or_default();
            Err::<HttpResponse, _>(if allowed.is_empty() {
                Error::NoRoute { method, path }
            } else {
                Error::MethodNotAllowed { method, path, allowed }
            })
        }))
        .wrap_fn(|req, srv| {
            use actix_web::HttpMessage;
            use actix_web::dev::Service;
            use tracing::Instrument;
            let started = Instant::now();
            let metrics = req.app_data::<Data<Metrics>>().cloned();
            let method = req.method().to_string();
            let id = access::request_id(&req);
            req.extensions_mut().insert(access::RequestId(id.clone()));
            // Every line logged while the request is served carries its id.
            let span = tracing::info_span!("request", request_id = %id);
            let fut = srv.call(req);
            async move {
                let mut res = fut.await?;
                let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
                let seconds = started.elapsed().as_secs_f64();
                if let Some(metrics) = metrics {
                    metrics.observe(&method, &route, res.status().as_u16(), seconds);
                }
                access::finish(&mut res, &id, &method, &route, seconds * 1e3);
                Ok(res)
            }
            .instrument(span)
        })
}

async fn openapi_json(api: web::Data<serde_json::Value>) -> HttpResponse {
    HttpResponse::Ok().json(api.get_ref())
}
