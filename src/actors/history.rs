//! History state: reassignment runs and assignment history. Entries are written in the
//! same transaction as the change they describe; this actor answers the queries.

use actix::prelude::*;

use crate::error::Error;
use crate::store::Store;

pub struct HistoryActor {
    #[allow(dead_code)] // read by the history queries
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
