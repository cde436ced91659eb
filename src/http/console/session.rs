//! Console sessions: a token is typed once and exchanged for a session cookie
//! (`HttpOnly`, `SameSite=Strict`, `Path=/console`); every state-changing request must
//! come from the console's own pages (`Sec-Fetch-Site`/`Origin`) and carry the session's
//! CSRF token. Sessions live in memory (lost on restart), expire when idle and at an
//! absolute age, and re-check their token on every request, so revoking the token ends
//! them. `/api/v1` never reads the cookie: its `Caller` reads only `Authorization`.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use chrono::{DateTime, Duration, Utc};
use subtle::ConstantTimeEq;

use super::ConsoleError;
use crate::auth::Principal;
use crate::state::AppState;

pub const COOKIE: &str = "allot_console";
/// The form field (plain forms) and the header (htmx requests) of the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How long sessions live and how many may exist.
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    pub idle: Duration,
    pub absolute: Duration,
    pub max_sessions: usize,
    /// Failed sign-ins accepted per minute, across all clients, before refusing more.
    pub failures_per_minute: usize,
}

impl Default for SessionLimits {
    fn default() -> SessionLimits {
        SessionLimits {
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
            max_sessions: 1000,
            failures_per_minute: 20,
        }
    }
}

struct Session {
    /// The SHA-256 of the token's secret, never the secret.
    token_digest: [u8; 32],
    csrf: String,
    created: DateTime<Utc>,
    last_seen: DateTime<Utc>,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<String, Session>,
    failures: VecDeque<DateTime<Utc>>,
}

/// The sessions of one server (shared by its HTTP workers).
pub struct Sessions {
    limits: SessionLimits,
    inner: Mutex<Inner>,
}

/// A signed-in console user, re-checked against the token table on this request.
#[derive(Clone, Debug)]
pub struct ConsoleUser {
    pub principal: Principal,
    pub csrf: String,
    session_id: String,
}

/// Why a sign-in failed.
pub enum SignInRefused {
    WrongToken,
    TooManyAttempts,
}

fn random_hex(bytes: usize) -> Result<String, ConsoleError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| ConsoleError::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(buf))
}

impl Sessions {
    pub fn new(limits: SessionLimits) -> Sessions {
        Sessions {
            limits,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, ConsoleError> {
        self.inner
            .lock()
            .map_err(|_| ConsoleError::Internal("session table poisoned".into()))
    }

    /// Exchanges a token for a new session; answers the session id (the cookie's value).
    pub fn sign_in(&self, state: &AppState, token: &str) -> Result<Result<String, SignInRefused>, ConsoleError> {
        let now = state.clock.now();
        let mut inner = self.lock()?;
        while inner.failures.front().is_some_and(|t| now - *t > Duration::minutes(1)) {
            inner.failures.pop_front();
        }
        if inner.failures.len() >= self.limits.failures_per_minute {
            return Ok(Err(SignInRefused::TooManyAttempts));
        }
        let token_digest = crate::auth::digest(token.trim());
        if state.auth.authenticate_digest(&token_digest).is_err() {
            inner.failures.push_back(now);
            return Ok(Err(SignInRefused::WrongToken));
        }
        self.expire(&mut inner, now);
        if inner.by_id.len() >= self.limits.max_sessions {
            // Full: the session seen least recently makes room.
            if let Some(oldest) = inner
                .by_id
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(id, _)| id.clone())
            {
                inner.by_id.remove(&oldest);
            }
        }
        let id = random_hex(32)?;
        let csrf = random_hex(32)?;
        inner.by_id.insert(
            id.clone(),
            Session {
                token_digest,
                csrf,
                created: now,
                last_seen: now,
            },
        );
        Ok(Ok(id))
    }

    fn expire(&self, inner: &mut Inner, now: DateTime<Utc>) {
        let limits = self.limits;
        inner
            .by_id
            .retain(|_, s| now - s.last_seen <= limits.idle && now - s.created <= limits.absolute);
    }

    /// The user of a live session: not idle too long, not too old, its token not revoked.
    /// A dead session is removed.
    fn user(&self, state: &AppState, session_id: &str) -> Result<Option<ConsoleUser>, ConsoleError> {
        let now = state.clock.now();
        let mut inner = self.lock()?;
        let Some(session) = inner.by_id.get_mut(session_id) else {
            return Ok(None);
        };
        let alive = now - session.last_seen <= self.limits.idle && now - session.created <= self.limits.absolute;
        let principal = if alive {
            state.auth.authenticate_digest(&session.token_digest).ok()
        } else {
            None
        };
        match principal {
            Some(principal) => {
                session.last_seen = now;
                Ok(Some(ConsoleUser {
                    principal,
                    csrf: session.csrf.clone(),
                    session_id: session_id.to_string(),
                }))
            }
            None => {
                inner.by_id.remove(session_id);
                Ok(None)
            }
        }
    }

    pub fn sign_out(&self, user: &ConsoleUser) -> Result<(), ConsoleError> {
        self.lock()?.by_id.remove(&user.session_id);
        Ok(())
    }
}

/// The `Set-Cookie` value of a new session.
pub fn session_cookie(req: &HttpRequest, id: &str) -> String {
    format!("{COOKIE}={id}; Path=/console; HttpOnly; SameSite=Strict{}", secure(req))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn cleared_cookie(req: &HttpRequest) -> String {
    format!(
        "{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{}",
        secure(req)
    )
}

fn secure(req: &HttpRequest) -> &'static str {
    if req.connection_info().scheme() == "https" {
        "; Secure"
    } else {
        ""
    }
}

fn cookie_value(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

fn header_str<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Whether a state-changing request comes from this server's own pages: a browser says
/// so with `Sec-Fetch-Site: same-origin`, and an `Origin` must name this server. A
/// request with neither is refused. `SameSite=Strict` alone is not enough: another port
/// of the same host is the same site.
pub fn same_origin(req: &HttpRequest) -> bool {
    let fetch_site = header_str(req, "sec-fetch-site");
    let origin = header_str(req, "origin");
    if fetch_site.is_none() && origin.is_none() {
        return false;
    }
    if fetch_site.is_some_and(|site| site != "same-origin") {
        return false;
    }
    match origin {
        Some(origin) => {
            let info = req.connection_info();
            origin == format!("{}://{}", info.scheme(), info.host())
        }
        None => true,
    }
}

fn context(req: &HttpRequest) -> Result<(Data<AppState>, Data<super::Console>), ConsoleError> {
    let state = req
        .app_data::<Data<AppState>>()
        .cloned()
        .ok_or_else(|| ConsoleError::Internal("application state missing".into()))?;
    let console = req
        .app_data::<Data<super::Console>>()
        .cloned()
        .ok_or_else(|| ConsoleError::Internal("console state missing".into()))?;
    Ok((state, console))
}

/// The signed-in user of a page; without a live session, the sign-in page.
impl FromRequest for ConsoleUser {
    type Error = ConsoleError;
    type Future = std::future::Ready<Result<ConsoleUser, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(signed_in(req))
    }
}

fn signed_in(req: &HttpRequest) -> Result<ConsoleUser, ConsoleError> {
    let (state, console) = context(req)?;
    // htmx swaps answers into the page: it must be told to load the sign-in page instead.
    let missing = if header_str(req, "hx-request").is_some() {
        ConsoleError::SignInAgain
    } else {
        ConsoleError::SignIn
    };
    let Some(id) = cookie_value(req) else {
        return Err(missing);
    };
    console.sessions.user(&state, &id)?.ok_or(missing)
}

/// The user of the request's session, if it has a live one.
pub fn signed_in_user(req: &HttpRequest) -> Option<ConsoleUser> {
    signed_in(req).ok()
}

/// A state-changing request of a signed-in user: from the console's own pages, with the
/// session's CSRF token (header or form field), and its form fields (the token removed).
pub struct Action {
    pub user: ConsoleUser,
    pub form: Vec<(String, String)>,
}

impl Action {
    /// The first value of a form field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated form field, in order.
    pub fn fields<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.form
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl FromRequest for Action {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Action, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let checked = signed_in(req).and_then(|user| {
            if same_origin(req) {
                Ok(user)
            } else {
                Err(ConsoleError::CrossOrigin)
            }
        });
        let header_token = header_str(req, CSRF_HEADER).map(str::to_string);
        let body = super::read_form(req, payload);
        Box::pin(async move {
            let user = checked?;
            let mut form = body.await?;
            let field_token = form.iter().position(|(k, _)| k == CSRF_FIELD).map(|i| form.remove(i).1);
            let given = header_token.or(field_token).unwrap_or_default();
            if !bool::from(given.as_bytes().ct_eq(user.csrf.as_bytes())) {
                return Err(ConsoleError::BadCsrf);
            }
            Ok(Action { user, form })
        })
    }
}
