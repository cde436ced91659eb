//! Assignment history and run history rows.

use chrono::{DateTime, Utc};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{StoreError, keys, tables};
use crate::domain::Id;
use crate::domain::record::Owner;

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
    #[schema(value_type = String)]
    pub record_type: crate::domain::RecordType,
    pub assignee: Owner,
    pub previous_owner: Option<Owner>,
    pub at: DateTime<Utc>,
    pub by: ChangedBy,
    pub rule_id: Option<Id>,
    pub run_id: Option<String>,
    /// The token (manual) or `system`.
    pub actor: String,
}

/// Appends entries, numbering them from the history sequence.
pub fn append(txn: &WriteTransaction, entries: &mut [HistoryEntry]) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut meta = txn.open_table(tables::META)?;
    let first = meta.get("next_history")?.map(|v| v.value()).unwrap_or(1);
    meta.insert("next_history", first + entries.len() as u64)?;
    drop(meta);
    let mut rows = txn.open_table(tables::HISTORY)?;
    let mut index = txn.open_table(tables::HISTORY_INDEX)?;
    for (i, e) in entries.iter_mut().enumerate() {
        let seq = first + i as u64;
        e.id = format!("h{seq:012}");
        let bytes = serde_json::to_vec(&*e).map_err(|source| StoreError::Corrupt {
            key: e.id.clone(),
            source,
        })?;
        rows.insert(seq, bytes.as_slice())?;
        let mut scopes = vec![
            format!("r:{}", e.record_id),
            format!("t:{}", e.record_type),
            format!("o:{}", e.assignee.id),
        ];
        if let Some(p) = &e.previous_owner {
            scopes.push(format!("o:{}", p.id));
        }
        scopes.dedup();
        for scope in scopes {
            index.insert(keys::seq_key(&scope, seq).as_slice(), ())?;
        }
    }
    Ok(())
}
