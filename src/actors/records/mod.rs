//! The record actor: every change of a record (ingest, processing, runs, manual
//! assignment, close/reopen) is decided here, one message at a time, together with what
//! those decisions read and move: sellers, teams, queues, settings, open-record counters
//! and the round-robin order.
//!
//! Each batch's records, counters, round-robin turns and history are committed in one
//! transaction. The actor does not wait for that commit before the next message (an
//! ingest's answer does): it reads records through the rows of batches still queued
//! (`pending`), and its batches are chained in the writer, so what commits is a prefix
//! of what it decided; after a failure it resynchronises from the store.
//!
//! Follow-up work is sent to the actor's own *mailbox* (`ctx.address().do_send`), never
//! with `ctx.notify`: actix runs notified items in the same poll as a mailbox message,
//! so the synchronous part of both handlers (read and decide) could run before either
//! commits, and the second commit would overwrite the first with a stale read. The
//! mailbox stops at the first handler that waits (`AtomicResponse`).
//!
//! - `mod.rs`: the actor's state, loading and resynchronising it;
//! - [`sellers`]: the configuration it holds (sellers, teams, queues, settings);
//! - `batch`: the batch it commits, the pending overlay, barriers;
//! - `decide`: the engine over a batch, and the rows its outcome writes;
//! - `deferred`: records an ingest stored without deciding (its time budget was spent,
//!   or its type was backlogged), decided later in slices;
//! - [`ingest`], [`runs`], [`manual`], [`open`]: the messages that change records.

mod batch;
mod decide;
mod deferred;
pub mod ingest;
pub mod manual;
pub mod open;
pub mod runs;
pub mod sellers;

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;

use self::batch::PendingRow;
use super::table::ConfigTable;
use crate::domain::Id;
use crate::domain::clock::Clock;
use crate::domain::config::{Queue, Seller, Settings, Team};
use crate::error::Error;
use crate::pipeline::book::SellerBook;
use crate::pipeline::catalog::{CatalogChanged, SegmentCatalog, SharedCatalog};
use crate::pipeline::engine::Rng;
use crate::scripting::Scripting;
use crate::store::{Collection, Sequences, Store};

pub use deferred::deferred_counts;
pub use ingest::{BATCH, Ingest, Ingested};
pub use manual::{EligibleSellers, ManualAssign};
pub use open::SetOpen;
pub use runs::RunSegment;

pub struct RecordActor {
    store: Store,
    sellers: ConfigTable<Seller>,
    teams: ConfigTable<Team>,
    queues: ConfigTable<Queue>,
    settings: Settings,
    /// Record processing's view of sellers, with the live counters.
    book: SellerBook,
    /// Configuration changed since the book was built.
    book_stale: bool,
    catalog: Arc<SegmentCatalog>,
    scripting: Arc<Scripting>,
    clock: Arc<dyn Clock>,
    rng: Rng,
    /// Record rows of batches queued to the writer and not yet known durable. Every read
    /// of a record goes through it, so batch k+1 is decided on batch k's outcome while
    /// batch k commits.
    pending: HashMap<Id, PendingRow>,
    /// Chain epoch of the record batches (`Store::write_chained`); bumped at each resync.
    epoch: u64,
    /// Number of the next batch queued (to tell a pending row's batch from a later one).
    next_batch: u64,
    /// Arrival order of the next new record (ties of `created_on` are ordered by it).
    next_record_seq: u64,
    /// Number of the next run (its id is `run-<number>`).
    next_run_seq: u64,
    /// The catalog as the HTTP workers see it: kept equal to `catalog`.
    shared_catalog: SharedCatalog,
    /// Records stored in `to_be_processed` and waiting to be decided (see `deferred`).
    deferred: deferred::Deferred,
}

impl RecordActor {
    pub fn load(
        store: Store,
        catalog: Arc<SegmentCatalog>,
        scripting: Arc<Scripting>,
        clock: Arc<dyn Clock>,
    ) -> Result<RecordActor, Error> {
        let sellers = ConfigTable::load(&store)?;
        let teams = ConfigTable::load(&store)?;
        let queues = ConfigTable::load(&store)?;
        let settings = store
            .read()?
            .get::<Settings>(Collection::Settings, "settings")?
            .unwrap_or_default();
        let (book, sequences) = load_counters(&store)?;
        let mut actor = RecordActor {
            store,
            sellers,
            teams,
            queues,
            settings,
            book,
            book_stale: true,
            catalog,
            scripting,
            clock,
            rng: Rng::seeded(),
            pending: HashMap::new(),
            epoch: 0,
            next_batch: 0,
            next_record_seq: sequences.next_record,
            next_run_seq: sequences.next_run,
            shared_catalog: SharedCatalog::default(),
            deferred: Default::default(),
        };
        actor.refresh_book();
        Ok(actor)
    }

    /// Publishes this actor's catalog in `shared` from now on (for the HTTP workers).
    pub fn share_catalog(&mut self, shared: SharedCatalog) {
        shared.set(self.catalog.clone());
        self.shared_catalog = shared;
    }

    /// Rebuilds the configuration part of the book after an edit.
    fn refresh_book(&mut self) {
        if self.book_stale {
            self.book.set_config(
                self.sellers.iter(),
                self.teams.iter(),
                self.queues.iter(),
                &self.settings,
            );
            self.book_stale = false;
        }
    }

    /// Brings memory back to the store's state after a failed commit (memory was ahead
    /// by that batch and every later one, which the writer refuses as a broken chain):
    /// a new chain epoch, no pending rows, counters and sequences reloaded.
    fn resync(&mut self) {
        self.epoch += 1;
        self.pending.clear();
        match load_counters(&self.store) {
            Ok((book, sequences)) => {
                self.book = book;
                self.book_stale = true;
                self.refresh_book();
                self.next_record_seq = sequences.next_record;
                self.next_run_seq = sequences.next_run;
            }
            Err(e) => tracing::error!(error = %e, "reloading counters after a failed commit"),
        }
    }
}

/// The counters part of the book, and the sequence numbers, from the store.
fn load_counters(store: &Store) -> Result<(SellerBook, Sequences), Error> {
    let txn = store.read()?;
    let sequences = txn.sequences()?;
    let counters: HashMap<Id, _> = txn.seller_counters()?.into_iter().collect();
    let mut book = SellerBook::new(counters, sequences.next_assignment);
    for turn in txn.rule_turns()? {
        let slot = book.slot_for(&turn.seller_id);
        book.rule_rr
            .entry((turn.segment_id, turn.rule_id))
            .or_default()
            .insert(slot, turn.seq);
    }
    Ok((book, sequences))
}

impl Actor for RecordActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.resume_pending(ctx);
    }
}

impl Handler<CatalogChanged> for RecordActor {
    type Result = ();
    fn handle(&mut self, msg: CatalogChanged, _: &mut Context<Self>) {
        self.shared_catalog.set(msg.0.clone());
        self.catalog = msg.0;
    }
}
