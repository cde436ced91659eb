//! Assignment history: one entry per change of owner, written in the transaction of the
//! change; and the outcome of a manual change of owner.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::record::{Owner, StatusView};
use super::{Id, RecordType};

/// What made a change of owner.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChangedBy {
    Rule,
    Run,
    Manual,
}

/// One change of owner.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HistoryEntry {
    pub id: String,
    pub record_id: Id,
    pub record_type: RecordType,
    pub assignee: Owner,
    pub previous_owner: Option<Owner>,
    #[serde(with = "super::time::compact")]
    pub at: DateTime<Utc>,
    pub by: ChangedBy,
    pub rule_id: Option<Id>,
    pub run_id: Option<String>,
    /// The token (manual) or `system`.
    pub actor: String,
}

/// Which entries a listing of assignment history keeps (every given filter must hold).
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    /// The assignee or the previous owner.
    pub seller_id: Option<String>,
}

impl HistoryFilter {
    pub fn keeps(&self, e: &HistoryEntry) -> bool {
        self.record_type.as_deref().is_none_or(|t| e.record_type.as_str() == t)
            && self.record_id.as_deref().is_none_or(|r| e.record_id.as_str() == r)
            && self.seller_id.as_deref().is_none_or(|s| {
                e.assignee.id.as_str() == s || e.previous_owner.as_ref().is_some_and(|p| p.id.as_str() == s)
            })
    }
}

/// The outcome for one record of a manual assignment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssignResult {
    pub record_id: Id,
    pub ok: bool,
    /// The record after the assignment.
    pub record: Option<StatusView>,
    /// Why this record was not assigned.
    #[schema(value_type = Option<Object>)]
    pub error: Option<serde_json::Value>,
}
