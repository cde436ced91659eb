//! Script errors with their position, for `script_error` answers and `error_details`.

use serde::Serialize;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ScriptErrorKind {
    /// Does not parse.
    Syntax,
    /// Uses something the sandbox forbids (`eval`, `import`).
    Forbidden,
    /// Reads an attribute the record type's schema does not declare, or compares it
    /// with the wrong type.
    Schema,
    /// Failed while running (type error, bad return value, ...).
    Runtime,
    /// Hit a sandbox limit (operations, depth, size, wall time).
    Limit,
}

#[derive(Clone, Debug, thiserror::Error)]
#[error("{}{message}{}", .script.as_ref().map(|s| format!("{s}: ")).unwrap_or_default(), .line.map(|l| format!(" (line {l}, column {})", .column.unwrap_or(0))).unwrap_or_default())]
pub struct ScriptError {
    /// Which script, e.g. `rule uk-rr condition`; set by the caller that knows.
    pub script: Option<String>,
    pub kind: ScriptErrorKind,
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl ScriptError {
    pub fn new(kind: ScriptErrorKind, message: impl Into<String>) -> ScriptError {
        ScriptError {
            script: None,
            kind,
            message: message.into(),
            line: None,
            column: None,
        }
    }

    pub fn at(mut self, pos: rhai::Position) -> ScriptError {
        self.line = pos.line();
        self.column = pos.position();
        self
    }

    /// Names the script (e.g. the field it was saved in) so the admin knows which one.
    pub fn in_script(mut self, script: impl Into<String>) -> ScriptError {
        self.script = Some(script.into());
        self
    }

    pub fn details(&self) -> Value {
        json!({
            "script": self.script,
            "kind": self.kind,
            "line": self.line,
            "column": self.column,
        })
    }
}
