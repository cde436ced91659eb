//! The error every operation answers. Only `http::error` turns it into a status and
//! JSON; the codes here are the stable codes of the API contract.

use serde_json::{Value, json};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidJson(String),
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    #[error("{0}")]
    Script(#[from] crate::scripting::ScriptError),
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{kind} {id} does not exist")]
    NotFound { kind: &'static str, id: String },
    /// No route answers this method and path.
    #[error("{method} {path} was not found")]
    NoRoute { method: String, path: String },
    #[error("{0}")]
    Conflict(String),
    #[error("internal error")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Error {
        Error::NotFound { kind, id: id.into() }
    }

    /// The stable code of the contract.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidJson(_) => "invalid_json",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::Validation { .. } => "validation_failed",
            Error::Script(_) => "script_error",
            Error::Unauthorized => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound { .. } | Error::NoRoute { .. } => "not_found",
            Error::Conflict(_) => "conflict",
            Error::Internal(_) => "internal",
        }
    }

    /// What a client may see; internals are never leaked.
    pub fn public_message(&self) -> String {
        match self {
            Error::Internal(_) => "internal error; the server log has the cause".to_string(),
            other => other.to_string(),
        }
    }

    pub fn details(&self) -> Option<Value> {
        match self {
            Error::Validation { field, .. } => Some(json!({ "field": field })),
            Error::Script(e) => Some(e.details()),
            Error::NotFound { kind, id } => Some(json!({ "kind": kind, "id": id })),
            Error::NoRoute { method, path } => Some(json!({ "method": method, "path": path })),
            _ => None,
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Internal(e.to_string())
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self { Error::from(StoreError::from(e)) }
        }
    )*};
}
from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
