//! The error every operation answers: each layer's own error wrapped whole (the
//! domain's [`Invalid`], the scripts' [`ScriptError`], the store's [`StoreError`]), plus
//! what only the operations know (roles, missing objects, conflicts). Each variant has
//! one stable code of the contract ([`Error::code`]); `http::error` maps codes to
//! statuses in one table.

use serde_json::{Value, json};

use crate::domain::Invalid;
use crate::scripting::ScriptError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidJson(String),
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    Validation(#[from] Invalid),
    #[error("{0}")]
    Script(#[from] ScriptError),
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{kind} {id} does not exist")]
    NotFound { kind: &'static str, id: String },
    /// No route answers this method and path.
    #[error("{method} {path} was not found")]
    NoRoute { method: String, path: String },
    /// The path is served, but not with this method; `allowed` are the methods it takes.
    #[error("{method} is not allowed on {path}; allowed: {}", allowed.join(", "))]
    MethodNotAllowed {
        method: String,
        path: String,
        allowed: Vec<String>,
    },
    #[error("{0}")]
    Conflict(String),
    /// The server cannot take this request now; the client may retry after the delay.
    #[error("{reason}; retry after {retry_after_seconds} s")]
    Unavailable { reason: String, retry_after_seconds: u32 },
    /// The store failed; the cause is kept for the log, never shown to a client.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// The stable codes of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidJson,
    PayloadTooLarge,
    ValidationFailed,
    ScriptError,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::ScriptError => "script_error",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Validation(Invalid::new(field, message))
    }

    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Error {
        Error::NotFound { kind, id: id.into() }
    }

    pub fn kind(&self) -> ErrorCode {
        match self {
            Error::InvalidJson(_) => ErrorCode::InvalidJson,
            Error::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Error::Validation(_) => ErrorCode::ValidationFailed,
            Error::Script(_) => ErrorCode::ScriptError,
            Error::Unauthorized => ErrorCode::Unauthorized,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::NotFound { .. } | Error::NoRoute { .. } => ErrorCode::NotFound,
            Error::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::Unavailable { .. } => ErrorCode::Unavailable,
            Error::Store(_) | Error::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The stable code of the contract.
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// What a client may see; internals are never leaked.
    pub fn public_message(&self) -> String {
        match self.kind() {
            ErrorCode::Internal => "internal error; the server log has the cause".to_string(),
            _ => self.to_string(),
        }
    }

    pub fn details(&self) -> Option<Value> {
        match self {
            Error::Validation(Invalid { field, .. }) => Some(json!({ "field": field })),
            Error::Script(e) => Some(e.details()),
            Error::NotFound { kind, id } => Some(json!({ "kind": kind, "id": id })),
            Error::NoRoute { method, path } => Some(json!({ "method": method, "path": path })),
            Error::MethodNotAllowed { method, path, allowed } => {
                Some(json!({ "method": method, "path": path, "allowed": allowed }))
            }
            Error::Unavailable {
                retry_after_seconds, ..
            } => Some(json!({ "retry_after_seconds": retry_after_seconds })),
            _ => None,
        }
    }
}
