//! Record-type schemas: the declared attributes of a record type and their types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::Invalid;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecordTypeSchema {
    pub attributes: BTreeMap<String, AttributeType>,
    #[serde(default)]
    pub strict: bool,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AttributeType {
    String,
    Number,
    Bool,
    Array,
    Object,
}

impl AttributeType {
    pub fn matches(self, v: &Value) -> bool {
        match self {
            AttributeType::String => v.is_string(),
            AttributeType::Number => v.is_number(),
            AttributeType::Bool => v.is_boolean(),
            AttributeType::Array => v.is_array(),
            AttributeType::Object => v.is_object(),
        }
    }
}

impl RecordTypeSchema {
    /// Field names scripts see besides attributes; an attribute may not shadow them.
    pub const BUILTIN_FIELDS: [&'static str; 6] = ["id", "record_type", "name", "topic", "created_on", "age_hours"];

    pub fn validate(&self) -> Result<(), Invalid> {
        for name in self.attributes.keys() {
            if name.is_empty() || name.chars().count() > 128 {
                return Err(Invalid::new(
                    format!("attributes.{name}"),
                    "an attribute name has 1 to 128 characters",
                ));
            }
            if Self::BUILTIN_FIELDS.contains(&name.as_str()) {
                return Err(Invalid::new(
                    format!("attributes.{name}"),
                    format!("{name:?} is a built-in record field and cannot be an attribute"),
                ));
            }
        }
        Ok(())
    }
}
