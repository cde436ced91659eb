//! What every operation reaches: the store, the tokens, the script engine, the catalog
//! the HTTP workers segment with, the clock, and the actors' addresses. Shared by the
//! HTTP workers (and, through the operations, by anything else that serves the API).

use std::sync::Arc;

use actix::Addr;

use crate::actors::delivery::DeliveryHandle;
use crate::actors::history::HistoryActor;
use crate::actors::records::RecordActor;
use crate::actors::scheduler::SchedulerActor;
use crate::actors::segment::SegmentActor;
use crate::auth::Auth;
use crate::domain::clock::Clock;
use crate::pipeline::catalog::SharedCatalog;
use crate::scripting::Scripting;
use crate::store::Store;

pub struct AppState {
    pub store: Store,
    pub auth: Arc<Auth>,
    pub scripting: Arc<Scripting>,
    /// What record processing segments with (for segmenting records on the way in).
    pub catalog: SharedCatalog,
    pub clock: Arc<dyn Clock>,
    pub segments: Addr<SegmentActor>,
    pub records: Addr<RecordActor>,
    pub scheduler: Addr<SchedulerActor>,
    pub history: Addr<HistoryActor>,
    /// The webhook delivery worker.
    pub delivery: DeliveryHandle,
}
