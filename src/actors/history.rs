//! History state: reassignment runs and assignment history. Entries are written in the
//! same transaction as the change they describe (by the seller-capacity actor); this
//! actor answers the queries, newest first, from its own read transactions.

use actix::prelude::*;

use super::records::Run;
use super::table::Page;
use crate::domain::Id;
use crate::error::Error;
use crate::store::history::HistoryEntry;
use crate::store::{self, Store, keys, tables};

pub struct HistoryActor {
    store: Store,
}

impl HistoryActor {
    pub fn load(store: Store) -> Result<HistoryActor, Error> {
        Ok(HistoryActor { store })
    }
}

impl Actor for HistoryActor {
    type Context = Context<Self>;
}

/// A segment's runs, newest first; the cursor is a run id.
#[derive(Message)]
#[rtype(result = "Result<Page<Run>, Error>")]
pub struct ListRuns {
    pub segment_id: Id,
    pub after: Option<String>,
    pub limit: usize,
}

fn run_seq(id: &str) -> Option<u64> {
    id.strip_prefix("run-").and_then(|n| n.parse().ok())
}

impl Handler<ListRuns> for HistoryActor {
    type Result = Result<Page<Run>, Error>;

    fn handle(&mut self, msg: ListRuns, _: &mut Context<Self>) -> Self::Result {
        let txn = self.store.read()?;
        let index = txn.open_table(tables::RUNS_BY_SEGMENT)?;
        let runs = txn.open_table(tables::RUNS)?;
        let prefix = keys::scope_prefix(msg.segment_id.as_str());
        let end = match &msg.after {
            Some(a) => {
                let seq = run_seq(a).ok_or_else(|| Error::validation("after", "not a cursor of this list"))?;
                keys::seq_key(msg.segment_id.as_str(), seq)
            }
            None => keys::prefix_end(&prefix),
        };
        let mut items: Vec<Run> = Vec::new();
        let mut more = false;
        for row in index.range(prefix.as_slice()..end.as_slice())?.rev() {
            let (_, v) = row?;
            if items.len() == msg.limit {
                more = true;
                break;
            }
            if let Some(run) = store::get_json::<Run>(&runs, v.value())? {
                items.push(run);
            }
        }
        let next = if more { items.last().map(|r| r.id.clone()) } else { None };
        Ok(Page { items, next })
    }
}

#[derive(Message)]
#[rtype(result = "Result<Run, Error>")]
pub struct GetRun(pub String);

impl Handler<GetRun> for HistoryActor {
    type Result = Result<Run, Error>;

    fn handle(&mut self, msg: GetRun, _: &mut Context<Self>) -> Self::Result {
        let txn = self.store.read()?;
        let runs = txn.open_table(tables::RUNS)?;
        store::get_json::<Run>(&runs, &msg.0)?.ok_or_else(|| Error::not_found("run", msg.0))
    }
}

/// Assignment history, newest first, filtered; the cursor is an entry id.
#[derive(Message, Default)]
#[rtype(result = "Result<Page<HistoryEntry>, Error>")]
pub struct ListAssignments {
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    pub seller_id: Option<String>,
    pub after: Option<String>,
    pub limit: usize,
}

/// Reads entry `seq` and keeps it when it matches and the page has room. Answers false
/// when a match is found after the page is full: there is a next page. Looking one match
/// ahead (rather than one row) means a page whose remaining rows all fail the filters
/// ends the list with `next: null` instead of pointing at an empty page.
fn visit(
    rows: &redb::ReadOnlyTable<u64, &'static [u8]>,
    seq: u64,
    keep: &dyn Fn(&HistoryEntry) -> bool,
    items: &mut Vec<HistoryEntry>,
    limit: usize,
) -> Result<bool, Error> {
    let Some(v) = rows.get(seq)? else {
        return Ok(true);
    };
    let e: HistoryEntry = store::history::decode_entry(seq, v.value())?;
    if !keep(&e) {
        return Ok(true);
    }
    if items.len() == limit {
        return Ok(false);
    }
    items.push(e);
    Ok(true)
}

fn entry_seq(id: &str) -> Option<u64> {
    id.strip_prefix('h').and_then(|n| n.parse().ok())
}

impl Handler<ListAssignments> for HistoryActor {
    type Result = Result<Page<HistoryEntry>, Error>;

    fn handle(&mut self, msg: ListAssignments, _: &mut Context<Self>) -> Self::Result {
        let txn = self.store.read()?;
        let rows = txn.open_table(tables::HISTORY)?;
        let before = match &msg.after {
            Some(a) => Some(entry_seq(a).ok_or_else(|| Error::validation("after", "not a cursor of this list"))?),
            None => None,
        };
        let keep = |e: &HistoryEntry| {
            msg.record_type.as_deref().is_none_or(|t| e.record_type.as_str() == t)
                && msg.record_id.as_deref().is_none_or(|r| e.record_id.as_str() == r)
                && msg.seller_id.as_deref().is_none_or(|s| {
                    e.assignee.id.as_str() == s || e.previous_owner.as_ref().is_some_and(|p| p.id.as_str() == s)
                })
        };
        // The most selective index answers; the other filters are checked per entry.
        let scope = match (&msg.record_id, &msg.seller_id, &msg.record_type) {
            (Some(r), ..) => Some(format!("r:{r}")),
            (None, Some(_), _) => None,
            (None, None, Some(t)) => Some(format!("t:{t}")),
            (None, None, None) => None,
        };
        let mut items = Vec::new();
        let mut more = false;
        match (scope, &msg.seller_id) {
            (Some(scope), _) => {
                let index = txn.open_table(tables::HISTORY_INDEX)?;
                let prefix = keys::scope_prefix(&scope);
                let end = match before {
                    Some(b) => keys::seq_key(&scope, b),
                    None => keys::prefix_end(&prefix),
                };
                for row in index.range(prefix.as_slice()..end.as_slice())?.rev() {
                    let (k, _) = row?;
                    let seq = keys::u64_from_be(&k.value()[prefix.len()..]);
                    if !visit(&rows, seq, &keep, &mut items, msg.limit)? {
                        more = true;
                        break;
                    }
                }
            }
            (None, Some(seller)) => {
                store::history::visit_owner_entries(&txn, seller, before, |seq| {
                    let go_on = visit(&rows, seq, &keep, &mut items, msg.limit)?;
                    more = !go_on;
                    Ok(go_on)
                })?;
            }
            (None, None) => {
                let range = match before {
                    Some(b) => rows.range(..b)?,
                    None => rows.range(0u64..)?,
                };
                for row in range.rev() {
                    let (k, _) = row?;
                    if !visit(&rows, k.value(), &keep, &mut items, msg.limit)? {
                        more = true;
                        break;
                    }
                }
            }
        }
        let next = if more { items.last().map(|e| e.id.clone()) } else { None };
        Ok(Page { items, next })
    }
}
