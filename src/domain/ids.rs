//! Identifiers, parsed once at the edge.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::Invalid;

/// A client-chosen id: 1–128 characters from `[A-Za-z0-9_.:-]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String)]
pub struct Id(String);

impl std::borrow::Borrow<str> for Id {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Id {
    pub const MAX_LEN: usize = 128;

    pub fn parse(field: &str, raw: &str) -> Result<Id, Invalid> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(Invalid::new(
                field,
                format!("an id has 1 to {} characters", Self::MAX_LEN),
            ));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')))
        {
            return Err(Invalid::new(
                field,
                format!("{bad:?} is not allowed in an id; use letters, digits, '_', '.', ':' or '-'"),
            ));
        }
        Ok(Id(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Id::parse("id", &raw).map_err(serde::de::Error::custom)
    }
}

/// A record type: a lower-case identifier such as `lead` (1–64 characters, `[a-z][a-z0-9_]*`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String)]
pub struct RecordType(String);

impl RecordType {
    pub fn parse(field: &str, raw: &str) -> Result<RecordType, Invalid> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(RecordType(raw.to_string()))
        } else {
            Err(Invalid::new(
                field,
                format!("{raw:?} is not a record type; use a lower-case identifier such as \"lead\""),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RecordType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        RecordType::parse("record_type", &raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_the_contract_alphabet_only() {
        assert!(Id::parse("id", "lead-1:a_b.c").is_ok());
        assert!(Id::parse("id", "").is_err());
        assert!(Id::parse("id", "a b").is_err());
        assert!(Id::parse("id", "é").is_err());
        assert!(Id::parse("id", &"x".repeat(129)).is_err());
        assert!(Id::parse("id", &"x".repeat(128)).is_ok());
    }

    #[test]
    fn record_types_are_lower_case_identifiers() {
        assert!(RecordType::parse("t", "lead").is_ok());
        assert!(RecordType::parse("t", "Lead").is_err());
        assert!(RecordType::parse("t", "1lead").is_err());
    }
}
