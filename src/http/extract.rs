//! Request extractors: the caller's token, JSON bodies and query strings, each failing
//! with the contract's error codes.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::admission::{ADMISSION_WAIT, Admission, RETRY_AFTER_SECONDS, Reservation};
use crate::auth::Principal;
use crate::error::Error;
use crate::json::{field_of, parse_json};
use crate::state::AppState;

/// Request bodies above this are refused with 413.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The authenticated caller of an `/api/v1` route.
pub struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = Error;
    type Future = std::future::Ready<Result<Caller, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = authenticate(req);
        if let Ok(who) = &caller {
            super::access::CallerOf::note(req, who);
        }
        std::future::ready(caller.map(Caller))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Principal, Error> {
    let state = req
        .app_data::<Data<AppState>>()
        .ok_or_else(|| Error::Internal("application state missing".into()))?;
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(Error::Unauthorized)?;
    // The scheme is case-insensitive (RFC 9110, 11.1): `Bearer`, `bearer`, `BEARER`.
    let token = header
        .trim_start()
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or(Error::Unauthorized)?;
    state.auth.authenticate(token)
}

/// A JSON body parsed into `T`: syntax errors are `invalid_json` (400), wrong types,
/// missing or unknown fields `validation_failed` (422) naming the field.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Body<T>, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = read_body(req, payload);
        Box::pin(async move { parse_json(&bytes.await?).map(Body) })
    }
}

/// The body's bytes, within [`BODY_LIMIT`], for a route that parses them itself.
pub struct RawBody(pub Vec<u8>);

impl FromRequest for RawBody {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<RawBody, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = read_body(req, payload);
        Box::pin(async move { bytes.await.map(RawBody) })
    }
}

/// The first allocation for a body; it grows as its bytes arrive, never beyond what
/// arrived or the declared length, so a client's `Content-Length` alone allocates nothing.
const INITIAL_BODY_CAPACITY: usize = 64 * 1024;

/// Reads the whole body, refusing more than [`BODY_LIMIT`] bytes, and reserves its bytes
/// of the in-flight budget ([`Admission`]) for as long as the request lives.
fn read_body(req: &HttpRequest, payload: &mut Payload) -> impl Future<Output = Result<Vec<u8>, Error>> + use<> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let admission = req.app_data::<Data<Admission>>().map(|a| a.clone().into_inner());
    let req = req.clone();
    let mut payload = payload.take();
    async move {
        if declared.is_some_and(|n| n > BODY_LIMIT) {
            return Err(Error::PayloadTooLarge { limit: BODY_LIMIT });
        }
        let mut reservation = admission.clone().map(Reservation::new);
        // A declared length is reserved whole, at once: bodies that each held part of
        // the budget could otherwise all wait for more and none be admitted.
        let mut refused = match (reservation.as_mut(), declared) {
            (Some(r), Some(n)) => !r.grow_within(n, ADMISSION_WAIT).await,
            _ => false,
        };
        let mut body = Vec::with_capacity(declared.unwrap_or(0).min(INITIAL_BODY_CAPACITY));
        let mut received = 0usize;
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| Error::InvalidJson(format!("reading the body: {e}")))?;
            received += chunk.len();
            if received > BODY_LIMIT {
                return Err(Error::PayloadTooLarge { limit: BODY_LIMIT });
            }
            if refused {
                // Read to the end and drop it, so that the client reads the answer.
                continue;
            }
            if let Some(r) = reservation.as_mut()
                && !r.grow(received.saturating_sub(r.bytes()))
            {
                refused = true;
                body = Vec::new();
                continue;
            }
            if body.capacity() < received {
                let ceiling = declared.unwrap_or(BODY_LIMIT).max(received);
                let target = received.max(body.capacity().saturating_mul(2)).min(ceiling);
                body.reserve_exact(target - body.len());
            }
            body.extend_from_slice(&chunk);
        }
        if refused && let Some(admission) = &admission {
            admission.note_refused();
            return Err(Error::Unavailable {
                reason: format!(
                    "the server is working on as many request bytes as it may hold at once ({} MiB)",
                    admission.limit() >> 20
                ),
                retry_after_seconds: RETRY_AFTER_SECONDS,
            });
        }
        if let Some(r) = reservation {
            req.extensions_mut().insert(r);
        }
        Ok(body)
    }
}

/// A query string parsed into `T`; bad values are `validation_failed` naming the parameter.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = Error;
    type Future = std::future::Ready<Result<Query<T>, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(req.query_string().as_bytes()));
        let parsed = serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            Error::validation(
                field_of(&path, &message).unwrap_or_else(|| "query".to_string()),
                message,
            )
        });
        std::future::ready(parsed.map(Query))
    }
}

/// Like [`Body`], but an empty body is `None` (for requests whose body is optional).
pub struct OptionalBody<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalBody<T> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<OptionalBody<T>, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = read_body(req, payload);
        Box::pin(async move {
            let bytes = bytes.await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalBody(None));
            }
            parse_json(&bytes).map(|v| OptionalBody(Some(v)))
        })
    }
}
