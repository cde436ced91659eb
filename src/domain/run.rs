//! Reassignment runs, as run history keeps them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Id;

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    Manual,
    Scheduled,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Succeeded,
    Failed,
}

/// A reassignment run.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Run {
    pub id: String,
    pub segment_id: Id,
    pub trigger: RunTrigger,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub considered: u64,
    pub assigned: u64,
    pub unassigned: u64,
    pub error: Option<String>,
    pub assigned_records: Vec<Id>,
}

impl Run {
    /// The id of run number `seq`: zero-padded, so ids sort like numbers.
    pub fn id_of(seq: u64) -> String {
        format!("run-{seq:012}")
    }

    /// The number of a run id (`None` for anything else).
    pub fn seq_of(id: &str) -> Option<u64> {
        id.strip_prefix("run-").and_then(|n| n.parse().ok())
    }
}
