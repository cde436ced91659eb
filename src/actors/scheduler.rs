//! Scheduler state: one reassignment schedule per segment. Loaded at boot; the cron
//! driving and the schedule API arrive with reassignment runs.

use std::collections::BTreeMap;

use actix::prelude::*;
use serde_json::Value;

use crate::domain::Id;
use crate::error::Error;
use crate::store::{self, Store, tables};

pub struct SchedulerActor {
    #[allow(dead_code)] // used once schedules are editable
    store: Store,
    schedules: BTreeMap<Id, Value>,
}

impl SchedulerActor {
    pub fn load(store: Store) -> Result<SchedulerActor, Error> {
        let txn = store.read()?;
        let mut schedules = BTreeMap::new();
        for (key, value) in store::load_all::<Value>(&txn, tables::SCHEDULES)? {
            if let Ok(id) = Id::parse("id", &key) {
                schedules.insert(id, value);
            }
        }
        drop(txn);
        Ok(SchedulerActor { store, schedules })
    }
}

impl Actor for SchedulerActor {
    type Context = Context<Self>;
}

/// The schedule of a segment, if it has one.
#[derive(Message)]
#[rtype(result = "Option<Value>")]
pub struct GetSchedule(pub Id);

impl Handler<GetSchedule> for SchedulerActor {
    type Result = Option<Value>;
    fn handle(&mut self, msg: GetSchedule, _: &mut Context<Self>) -> Self::Result {
        self.schedules.get(&msg.0).cloned()
    }
}

/// A segment was deleted: its schedule row went with it, drop it here too.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SegmentDeleted(pub Id);

impl Handler<SegmentDeleted> for SchedulerActor {
    type Result = ();
    fn handle(&mut self, msg: SegmentDeleted, _: &mut Context<Self>) {
        self.schedules.remove(&msg.0);
    }
}
