//! Close and reopen: a closed record leaves its owner's open-record count (and the
//! unassigned view); reopening puts it back.

use actix::prelude::*;

use super::RecordActor;
use super::batch::{Batch, Outcome};
use crate::domain::Id;
use crate::domain::record::StatusView;
use crate::error::Error;

/// `close` (false) or `reopen` (true).
#[derive(Message)]
#[rtype(result = "Result<StatusView, Error>")]
pub struct SetOpen {
    pub id: Id,
    pub open: bool,
}

impl Handler<SetOpen> for RecordActor {
    type Result = AtomicResponse<Self, Result<StatusView, Error>>;

    fn handle(&mut self, msg: SetOpen, _: &mut Context<Self>) -> Self::Result {
        let ready = |r| AtomicResponse::new(Box::pin(fut::ready(r)));
        let old = match self.load_record(&msg.id) {
            Ok(Some(r)) => r,
            Ok(None) => return ready(Err(Error::not_found("record", msg.id.to_string()))),
            Err(e) => return ready(Err(e)),
        };
        if old.0.open == msg.open {
            return ready(Ok(old.0.status_view(self.clock.now())));
        }
        let mut rec = old.0.clone();
        rec.open = msg.open;
        rec.updated_at = self.clock.now();
        let owner = rec.owner.clone();
        let touched = if msg.open {
            self.book.move_open(None, owner.as_ref())
        } else {
            self.book.move_open(owner.as_ref(), None)
        };
        let outcome = Outcome {
            counters: self.counter_rows(touched),
            ..Outcome::default()
        };
        let batch = match Batch::new(&[Some(old)], vec![rec], outcome, self.book.next_assignment_seq, None) {
            Ok(b) => b,
            Err(e) => return ready(Err(e)),
        };
        AtomicResponse::new(Box::pin(self.commit(batch).map(|res, act, _| {
            let batch = res?;
            let now = act.clock.now();
            batch
                .records
                .first()
                .map(|r| r.status_view(now))
                .ok_or_else(|| Error::Internal("closed record missing from its batch".into()))
        })))
    }
}
