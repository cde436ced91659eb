//! History state: reassignment runs and assignment history. Entries are written in the
//! same transaction as the change they describe (by the record actor); this actor
//! answers the queries, newest first, from its own read transactions.

use actix::prelude::*;

use crate::domain::history::{HistoryEntry, HistoryFilter};
use crate::domain::run::Run;
use crate::domain::{Id, Page};
use crate::error::Error;
use crate::store::{Store, entry_seq};

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

/// A cursor of this list, or `validation_failed` naming `after`.
fn cursor(after: Option<&str>, parse: fn(&str) -> Option<u64>) -> Result<Option<u64>, Error> {
    after
        .map(|a| parse(a).ok_or_else(|| Error::validation("after", "not a cursor of this list")))
        .transpose()
}

/// A segment's runs, newest first; the cursor is a run id.
#[derive(Message)]
#[rtype(result = "Result<Page<Run>, Error>")]
pub struct ListRuns {
    pub segment_id: Id,
    pub after: Option<String>,
    pub limit: usize,
}

impl Handler<ListRuns> for HistoryActor {
    type Result = Result<Page<Run>, Error>;

    fn handle(&mut self, msg: ListRuns, _: &mut Context<Self>) -> Self::Result {
        let before = cursor(msg.after.as_deref(), Run::seq_of)?;
        Ok(self
            .store
            .read()?
            .runs_of_segment(msg.segment_id.as_str(), before, msg.limit)?)
    }
}

#[derive(Message)]
#[rtype(result = "Result<Run, Error>")]
pub struct GetRun(pub String);

impl Handler<GetRun> for HistoryActor {
    type Result = Result<Run, Error>;

    fn handle(&mut self, msg: GetRun, _: &mut Context<Self>) -> Self::Result {
        self.store
            .read()?
            .run(&msg.0)?
            .ok_or_else(|| Error::not_found("run", msg.0))
    }
}

/// Assignment history, newest first, filtered; the cursor is an entry id.
#[derive(Message, Default)]
#[rtype(result = "Result<Page<HistoryEntry>, Error>")]
pub struct ListAssignments {
    pub filter: HistoryFilter,
    pub after: Option<String>,
    pub limit: usize,
}

impl Handler<ListAssignments> for HistoryActor {
    type Result = Result<Page<HistoryEntry>, Error>;

    fn handle(&mut self, msg: ListAssignments, _: &mut Context<Self>) -> Self::Result {
        let before = cursor(msg.after.as_deref(), entry_seq)?;
        Ok(self.store.read()?.assignment_page(&msg.filter, before, msg.limit)?)
    }
}
