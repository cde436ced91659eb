//! The one table from [`Error`] to status and JSON body.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::error::{Error, ErrorCode};

/// The status of each stable code: the one place that says it.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidJson => StatusCode::BAD_REQUEST,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::ValidationFailed | ErrorCode::ScriptError => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        status_of(self.kind())
    }

    fn error_response(&self) -> HttpResponse {
        if self.kind() == ErrorCode::Internal {
            // The whole cause chain, for the operator; the client sees an opaque message.
            tracing::error!(error = %self, cause = ?self, "internal error");
        }
        let mut error = json!({ "code": self.code(), "message": self.public_message() });
        if let Some(details) = self.details() {
            error["details"] = details;
        }
        let mut resp = HttpResponse::build(self.status_code());
        match self {
            Error::Unauthorized => {
                resp.insert_header(("WWW-Authenticate", "Bearer"));
            }
            Error::MethodNotAllowed { allowed, .. } => {
                resp.insert_header((actix_web::http::header::ALLOW, allowed.join(", ")));
            }
            Error::Unavailable {
                retry_after_seconds, ..
            } => {
                resp.insert_header((actix_web::http::header::RETRY_AFTER, retry_after_seconds.to_string()));
            }
            _ => {}
        }
        resp.json(json!({ "error": error }))
    }
}

/// The body of every error answer (for the OpenAPI document).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorObject,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorObject {
    /// Stable code: invalid_json, payload_too_large, validation_failed, script_error,
    /// unauthorized, forbidden, not_found, method_not_allowed, conflict, unavailable, internal.
    pub code: String,
    pub message: String,
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}
