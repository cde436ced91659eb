//! Run history: finished runs by id and by segment (newest first), and the runs still
//! in progress.

use redb::ReadableTable;

use super::codec::decode_json;
use super::txn::ReadTxn;
use super::{StoreError, keys, tables};
use crate::domain::Page;
use crate::domain::run::Run;

impl ReadTxn {
    pub fn run(&self, id: &str) -> Result<Option<Run>, StoreError> {
        let runs = self.0.open_table(tables::RUNS)?;
        match runs.get(id)? {
            None => Ok(None),
            Some(v) => decode_json(id, v.value()).map(Some),
        }
    }

    /// A segment's finished runs, newest first, numbered below `before` when given.
    pub fn runs_of_segment(&self, segment: &str, before: Option<u64>, limit: usize) -> Result<Page<Run>, StoreError> {
        let index = self.0.open_table(tables::RUNS_BY_SEGMENT)?;
        let runs = self.0.open_table(tables::RUNS)?;
        let prefix = keys::scope_prefix(segment);
        let end = match before {
            Some(seq) => keys::seq_key(segment, seq),
            None => keys::prefix_end(&prefix),
        };
        let mut items: Vec<Run> = Vec::new();
        let mut more = false;
        for row in index.range(prefix.as_slice()..end.as_slice())?.rev() {
            let (_, v) = row?;
            if items.len() == limit {
                more = true;
                break;
            }
            let id = v.value();
            if let Some(run) = runs.get(id)? {
                items.push(decode_json(id, run.value())?);
            }
        }
        let next = if more { items.last().map(|r| r.id.clone()) } else { None };
        Ok(Page { items, next })
    }

    /// Runs a stop or crash interrupted (their last batch never committed).
    pub fn open_runs(&self) -> Result<Vec<Run>, StoreError> {
        let table = self.0.open_table(tables::RUNS_OPEN)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            out.push(decode_json(k.value(), v.value())?);
        }
        Ok(out)
    }
}
