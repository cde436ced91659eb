//! The web console at `/console`: server-rendered HTML (askama templates in
//! `console/templates/`), a vendored htmx and the console's own CSS and script
//! (`console/assets/`, embedded in the binary). Every action calls the same `crate::ops`
//! function as its `/api/v1` route, with the same role check; this module never names
//! the actors or the store (tests/boundaries.rs).
//!
//! Layout: `session.rs` (sign-in, cookie, CSRF and origin checks), `assets.rs` (embedded
//! files with ETags), one file per screen (`home.rs`, `monitor.rs`, `record.rs`, `runs.rs`, `assign.rs`); `reasons.rs` holds the seeds' words
//! and advice for each status reason.

mod assets;
mod assign;
mod home;
mod monitor;
mod reasons;
mod record;
mod runs;
pub mod session;

use std::future::Future;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use self::session::{ConsoleUser, SessionLimits, Sessions, SignInRefused};
use crate::auth::{Permission, Role};
use crate::error::Error;
use crate::http::error::status_of;
use crate::state::AppState;

/// Content-Security-Policy of every console answer: no inline script or style, nothing
/// from elsewhere, never framed.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the console is started with (`--console`, `--console-poll-ms`).
#[derive(Clone, Copy, Debug)]
pub struct ConsoleOptions {
    /// How often pages poll counts that change without a reload (the red dot).
    pub poll_ms: u64,
    pub limits: SessionLimits,
}

impl Default for ConsoleOptions {
    fn default() -> ConsoleOptions {
        ConsoleOptions {
            poll_ms: 10_000,
            limits: SessionLimits::default(),
        }
    }
}

/// The console's state, shared by the HTTP workers of one server.
pub struct Console {
    sessions: Sessions,
    poll_ms: u64,
}

impl Console {
    pub fn new(options: ConsoleOptions) -> Console {
        Console {
            sessions: Sessions::new(options.limits),
            poll_ms: options.poll_ms,
        }
    }
}

/// Mounts `/console` (and `/`, which redirects there).
pub fn configure(cfg: &mut web::ServiceConfig, console: Data<Console>) {
    cfg.app_data(console).route("/", web::get().to(root)).service(
        web::scope("/console")
            .wrap(
                DefaultHeaders::new()
                    .add((header::CONTENT_SECURITY_POLICY, CSP))
                    .add((header::CACHE_CONTROL, "no-store"))
                    .add((header::X_FRAME_OPTIONS, "DENY"))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    // Not `no-referrer`: with it a browser sends `Origin: null` on form posts, which the
                    // origin check must refuse.
                    .add((header::REFERRER_POLICY, "same-origin")),
            )
            .route("", web::get().to(home::page))
            .route("/", web::get().to(home::page))
            .route("/login", web::get().to(login_page))
            .route("/login", web::post().to(login))
            .route("/logout", web::post().to(logout))
            .route("/assets/{path:.*}", web::get().to(assets::serve))
            .configure(home::configure)
            .configure(monitor::configure)
            .configure(record::configure)
            .configure(runs::configure)
            .configure(assign::configure)
            .default_service(web::to(not_found)),
    );
}

async fn root() -> HttpResponse {
    see_other("/console")
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Why a console request failed; answered as HTML.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No live session: a page goes to the sign-in page.
    #[error("sign in first")]
    SignIn,
    /// No live session on an htmx request: htmx loads the sign-in page.
    #[error("sign in first")]
    SignInAgain,
    #[error("this request did not come from the console's own pages; reload the page and try again")]
    CrossOrigin,
    #[error("this page is out of date (its form token does not match your session); reload the page and try again")]
    BadCsrf,
    #[error(transparent)]
    Op(#[from] Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<askama::Error> for ConsoleError {
    fn from(e: askama::Error) -> ConsoleError {
        ConsoleError::Internal(format!("rendering a page: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    message: &'a str,
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn => StatusCode::SEE_OTHER,
            ConsoleError::SignInAgain => StatusCode::UNAUTHORIZED,
            ConsoleError::CrossOrigin | ConsoleError::BadCsrf => StatusCode::FORBIDDEN,
            ConsoleError::Op(e) => status_of(e.kind()),
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ConsoleError::SignIn => return see_other("/console/login"),
            ConsoleError::SignInAgain => {
                return HttpResponse::Unauthorized()
                    .insert_header(("HX-Redirect", "/console/login"))
                    .finish();
            }
            ConsoleError::Internal(cause) => tracing::error!(%cause, "console: internal error"),
            ConsoleError::Op(e) if e.kind() == crate::error::ErrorCode::Internal => {
                tracing::error!(error = %e, cause = ?e, "console: internal error")
            }
            _ => {}
        }
        let message = match self {
            ConsoleError::Op(e) => e.public_message(),
            ConsoleError::Internal(_) => "something went wrong on the server; the log says what".to_string(),
            other => other.to_string(),
        };
        let status = self.status_code();
        let page = ErrorPage {
            status: status.as_u16(),
            message: &message,
        };
        match page.render() {
            Ok(body) => html(status, body),
            Err(_) => HttpResponse::build(status).body(message),
        }
    }
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    Err(ConsoleError::Op(Error::not_found("page", req.path())))
}

/// An HTML answer.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ))
        .body(body)
}

/// Renders a page or fragment as a 200 answer.
pub fn render(t: &impl Template) -> Result<HttpResponse, ConsoleError> {
    Ok(html(StatusCode::OK, t.render()?))
}

/// The body of a state-changing request as form fields, read within the body limit and
/// the in-flight budget like every body.
fn read_form(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<Vec<(String, String)>, ConsoleError>> + use<> {
    let body = crate::http::extract::read_body(req, payload);
    async move {
        let bytes = body.await?;
        Ok(form_urlencoded::parse(&bytes).into_owned().collect())
    }
}

/// A form body of a request that has no session yet (signing in).
struct Form(Vec<(String, String)>);

impl actix_web::FromRequest for Form {
    type Error = ConsoleError;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Form, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_form(req, payload);
        Box::pin(async move { body.await.map(Form) })
    }
}

/// What every page's frame shows: who is signed in, the CSRF token htmx sends, the
/// poll interval, and which part of the console is open.
pub struct Layout {
    pub title: String,
    pub user: Option<UserView>,
    pub csrf: String,
    pub poll_ms: u64,
}

/// The signed-in user as the header shows them, and what their role may do (buttons the
/// role may not use are hidden; the operations refuse them anyway).
pub struct UserView {
    pub name: String,
    pub role: &'static str,
    pub may_configure: bool,
    pub may_administer: bool,
    pub may_write_records: bool,
}

pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::SystemAdministrator => "System administrator",
        Role::SalesManager => "Sales manager",
        Role::SequenceManager => "Sequence manager",
        Role::Integration => "Integration",
        Role::Reader => "Reader",
    }
}

impl Layout {
    pub fn new(title: impl Into<String>, user: &ConsoleUser, console: &Console) -> Layout {
        let role = user.principal.role;
        Layout {
            title: title.into(),
            user: Some(UserView {
                name: user.principal.name.clone(),
                role: role_label(role),
                may_configure: role.allows(Permission::Configure),
                may_administer: role.allows(Permission::Administer),
                may_write_records: role.allows(Permission::WriteRecords),
            }),
            csrf: user.csrf.clone(),
            poll_ms: console.poll_ms,
        }
    }

    fn signed_out(title: &str) -> Layout {
        Layout {
            title: title.to_string(),
            user: None,
            csrf: String::new(),
            poll_ms: 0,
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    error: Option<&'static str>,
}

async fn login_page(req: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    // Someone signed in already goes to the console.
    if session::signed_in_user(&req).is_some() {
        return Ok(see_other("/console"));
    }
    render(&LoginPage {
        layout: Layout::signed_out("Sign in"),
        error: None,
    })
}

/// Exchanges a token for a session. No session yet, so no CSRF token: the origin check
/// keeps other sites from signing a browser in.
async fn login(
    req: HttpRequest,
    state: Data<AppState>,
    console: Data<Console>,
    form: Form,
) -> Result<HttpResponse, ConsoleError> {
    if !session::same_origin(&req) {
        return Err(ConsoleError::CrossOrigin);
    }
    let form = form.0;
    let token = form
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let refused = match console.sessions.sign_in(&state, token)? {
        Ok(id) => {
            return Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/console"))
                .insert_header((header::SET_COOKIE, session::session_cookie(&req, &id)))
                .finish());
        }
        Err(refused) => refused,
    };
    let (status, error) = match refused {
        SignInRefused::WrongToken => (
            StatusCode::UNAUTHORIZED,
            "That token is not valid. Paste the whole token, or ask an administrator for a new one.",
        ),
        SignInRefused::TooManyAttempts => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed sign-ins in the last minute. Wait a minute and try again.",
        ),
    };
    let page = LoginPage {
        layout: Layout::signed_out("Sign in"),
        error: Some(error),
    };
    Ok(html(status, page.render()?))
}

async fn logout(
    req: HttpRequest,
    action: session::Action,
    console: Data<Console>,
) -> Result<HttpResponse, ConsoleError> {
    console.sessions.sign_out(&action.user)?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console/login"))
        .insert_header((header::SET_COOKIE, session::cleared_cookie(&req)))
        .finish())
}
