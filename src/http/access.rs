//! The access log and request ids: one line per request (method, route template,
//! status, milliseconds, request id, and the caller's token id when it authenticated),
//! refused authentication at info and refused authorisation at warn. Secrets never reach
//! the log: a token is named by its id only.

use actix_web::HttpMessage;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};

use crate::auth::{Principal, Role};

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest `X-Request-Id` taken from a client; a longer or odd one is replaced.
const MAX_REQUEST_ID: usize = 128;

/// The request's id, kept in its extensions for the log and the answer.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Who called, once the bearer token is known (set by the `Caller` extractor).
#[derive(Clone, Debug)]
pub struct CallerOf {
    pub token_id: String,
    pub role: Role,
}

impl CallerOf {
    pub fn note(req: &actix_web::HttpRequest, who: &Principal) {
        req.extensions_mut().insert(CallerOf {
            token_id: who.id.clone(),
            role: who.role,
        });
    }
}

/// The client's `X-Request-Id` when it is sane (1 to 128 visible ASCII characters), or
/// a new one (16 random hex digits).
pub fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane(v))
        .map(str::to_string)
        .unwrap_or_else(new_id)
}

fn is_sane(id: &str) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

fn new_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: an id unique within this process still tells requests apart.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        bytes = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_be_bytes();
    }
    hex::encode(bytes)
}

/// Echoes the id on the answer and writes the access line.
pub fn finish<B>(res: &mut ServiceResponse<B>, id: &str, method: &str, route: &str, ms: f64) {
    if let Ok(value) = HeaderValue::from_str(id) {
        res.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    let status = res.status().as_u16();
    let ms = (ms * 1000.0).round() / 1000.0;
    let caller = res.request().extensions().get::<CallerOf>().cloned();
    let token_id = caller.as_ref().map(|c| c.token_id.as_str()).unwrap_or("");
    match status {
        401 => tracing::info!(
            target: "allot::access", request_id = %id, %method, %route, status, ms,
            "refused: no valid bearer token"
        ),
        403 => tracing::warn!(
            target: "allot::access", request_id = %id, %method, %route, status, ms, token_id,
            role = caller.as_ref().map(|c| c.role.as_str()).unwrap_or(""),
            "refused: the token's role may not do this"
        ),
        _ => tracing::info!(
            target: "allot::access", request_id = %id, %method, %route, status, ms, token_id,
            "request"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bounded_visible_ascii_ids_are_taken() {
        assert!(is_sane("abc-123_XYZ.:/"));
        assert!(is_sane(&"x".repeat(128)));
        assert!(!is_sane(&"x".repeat(129)));
        assert!(!is_sane(""));
        assert!(!is_sane("has space"));
        assert!(!is_sane("tab\there"));
        assert!(!is_sane("é"));
        assert_eq!(new_id().len(), 16);
        assert_ne!(new_id(), new_id());
    }
}
