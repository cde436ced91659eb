//! The strict JSON reader every input goes through: structs only from objects, unknown
//! fields refused, and errors that name the failing field (`records[3].attributes.x`)
//! with the contract's codes. The HTTP extractors and the operations that read a body
//! whose shape depends on its content both use it.

mod strict;

use serde::de::DeserializeOwned;

use crate::error::Error;

/// Reads a JSON body into `T`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(strict::Strict(&mut de));
    let value = parsed.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => Error::InvalidJson(format!("the body is not valid JSON: {inner}")),
            serde_json::error::Category::Data => invalid_value(&path, &inner),
        }
    })?;
    de.end()
        .map_err(|e| Error::InvalidJson(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Reads already parsed JSON into `T` with the same checks and field names as [`Body`]
/// (for bodies whose shape is known only after a look at the JSON).
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(strict::Strict(value)).map_err(|e| {
        let path = e.path().to_string();
        invalid_value(&path, &e.into_inner())
    })
}

fn invalid_value(path: &str, error: &serde_json::Error) -> Error {
    let message = strip_position(&error.to_string());
    Error::validation(field_of(path, &message).unwrap_or_else(|| "body".to_string()), message)
}

/// The field an error names: serde reports a missing (or repeated) field at the path of
/// the object that lacks it, so the field's own name, given in the message, is appended.
/// `None` for the whole body or query.
pub fn field_of(path: &str, message: &str) -> Option<String> {
    let parent = (path != ".").then_some(path);
    let named = ["missing field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    match (parent, named) {
        (Some(p), Some(f)) => Some(format!("{p}.{f}")),
        (None, Some(f)) => Some(f.to_string()),
        (Some(p), None) => Some(p.to_string()),
        (None, None) => None,
    }
}

/// serde's messages end in " at line 1 column 42", which means nothing to an API client.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
