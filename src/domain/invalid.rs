//! The one error of the domain layer: a value that breaks a rule of the contract, with
//! the field that carries it. The operation layer's [`crate::error::Error`] wraps it as
//! `validation_failed`.

/// `field` names the offending value as the client sent it (`availability.timezone`,
/// `records[3].id`, ...); `message` says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Invalid {
        Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
