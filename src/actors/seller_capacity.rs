//! Seller-capacity state: sellers, teams, queues, settings, open-record counts and the
//! round-robin order.

use std::collections::HashMap;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use super::table::{ConfigTable, HoldsTable, Item, config_handlers};
use crate::domain::Id;
use crate::domain::clock::Clock;
use crate::domain::config::{Queue, Seller, Settings, Team};
use crate::error::Error;
use crate::pipeline::book::SellerBook;
use crate::pipeline::catalog::{CatalogChanged, SegmentCatalog, SharedCatalog};
use crate::pipeline::engine::Rng;
use crate::scripting::Scripting;
use crate::store::{self, Store, tables};

impl Item for Seller {
    const KIND: &'static str = "seller";
    const TABLE: redb::TableDefinition<'static, &'static str, &'static [u8]> = tables::SELLERS;
}
impl Item for Team {
    const KIND: &'static str = "team";
    const TABLE: redb::TableDefinition<'static, &'static str, &'static [u8]> = tables::TEAMS;
}
impl Item for Queue {
    const KIND: &'static str = "queue";
    const TABLE: redb::TableDefinition<'static, &'static str, &'static [u8]> = tables::QUEUES;
}

/// A seller's counters, persisted apart from its configuration.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SellerCounters {
    pub open_records: u64,
    #[serde(with = "crate::domain::time::compact_opt")]
    pub last_assigned_at: Option<DateTime<Utc>>,
    /// Arrival order of the last assignment: breaks ties of `last_assigned_at`.
    pub last_assigned_seq: u64,
}

pub struct SellerCapacityActor {
    pub(super) store: Store,
    pub(super) sellers: ConfigTable<Seller>,
    pub(super) teams: ConfigTable<Team>,
    pub(super) queues: ConfigTable<Queue>,
    pub(super) settings: Settings,
    /// Record processing's view of sellers, with the live counters.
    pub(super) book: SellerBook,
    /// Configuration changed since the book was built.
    pub(super) book_stale: bool,
    pub(super) catalog: Arc<SegmentCatalog>,
    pub(super) scripting: Arc<Scripting>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) rng: Rng,
    /// Record rows of batches queued to the writer and not yet known durable. Every read
    /// of a record goes through it, so batch k+1 is decided on batch k's outcome while
    /// batch k commits.
    pub(super) pending: HashMap<Id, PendingRow>,
    /// Chain epoch of the record batches (`Store::write_chained`); bumped at each resync.
    pub(super) epoch: u64,
    /// Number of the next batch queued (to tell a pending row's batch from a later one).
    pub(super) next_batch: u64,
    /// Arrival order of the next new record (ties of `created_on` are ordered by it).
    pub(super) next_record_seq: u64,
    /// Number of the next run (its id is `run-<number>`).
    pub(super) next_run_seq: u64,
    /// The catalog as the HTTP workers see it: kept equal to `catalog`.
    pub(super) shared_catalog: SharedCatalog,
}

/// A record row in a batch queued to the writer.
pub(super) struct PendingRow {
    pub(super) batch_no: u64,
    pub(super) batch: Arc<super::records::BatchWrite>,
    pub(super) index: usize,
}

impl SellerCapacityActor {
    pub fn load(
        store: Store,
        catalog: Arc<SegmentCatalog>,
        scripting: Arc<Scripting>,
        clock: Arc<dyn Clock>,
    ) -> Result<SellerCapacityActor, Error> {
        let sellers = ConfigTable::load(&store)?;
        let teams = ConfigTable::load(&store)?;
        let queues = ConfigTable::load(&store)?;
        let txn = store.read()?;
        let settings = store::get_json::<Settings>(&txn.open_table(tables::SETTINGS)?, "settings")?.unwrap_or_default();
        drop(txn);
        let book = load_book(&store)?;
        let (next_record_seq, next_run_seq) = load_sequences(&store)?;
        let mut actor = SellerCapacityActor {
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
            next_record_seq,
            next_run_seq,
            shared_catalog: SharedCatalog::default(),
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
    pub(super) fn refresh_book(&mut self) {
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
    pub(super) fn resync(&mut self) {
        self.epoch += 1;
        self.pending.clear();
        match load_book(&self.store) {
            Ok(book) => {
                self.book = book;
                self.book_stale = true;
                self.refresh_book();
            }
            Err(e) => tracing::error!(error = %e, "reloading counters after a failed commit"),
        }
        match load_sequences(&self.store) {
            Ok((seq, run)) => {
                self.next_record_seq = seq;
                self.next_run_seq = run;
            }
            Err(e) => tracing::error!(error = %e, "reloading sequences after a failed commit"),
        }
    }
}

/// The numbers of the next record (arrival order) and the next run (1 when never
/// written).
fn load_sequences(store: &Store) -> Result<(u64, u64), Error> {
    let txn = store.read()?;
    let meta = txn.open_table(tables::META)?;
    let next = |key: &str| -> Result<u64, Error> { Ok(meta.get(key)?.map(|v| v.value()).unwrap_or(1)) };
    Ok((next("next_seq")?, next("next_run")?))
}

/// The counters part of the book, from the store.
fn load_book(store: &Store) -> Result<SellerBook, Error> {
    use redb::ReadableTable;
    let txn = store.read()?;
    let mut counters = HashMap::new();
    for row in txn.open_table(tables::SELLER_COUNTERS)?.iter()? {
        let (k, v) = row.map_err(crate::store::StoreError::from)?;
        let c: SellerCounters = store::decode_row(k.value(), v.value())?;
        if let Ok(id) = Id::parse("id", k.value()) {
            counters.insert(id, c);
        }
    }
    let next_seq = txn
        .open_table(tables::META)?
        .get("next_assignment_seq")?
        .map(|v| v.value())
        .unwrap_or(1);
    let mut book = SellerBook::new(counters, next_seq);
    for row in txn.open_table(tables::RULE_ROUND_ROBIN)?.iter()? {
        let (k, v) = row.map_err(crate::store::StoreError::from)?;
        let mut parts = k.value().splitn(3, '/');
        let (Some(seg), Some(rule), Some(seller)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(seg), Ok(rule), Ok(seller)) = (Id::parse("id", seg), Id::parse("id", rule), Id::parse("id", seller))
        else {
            continue;
        };
        let slot = book.slot_for(&seller);
        book.rule_rr.entry((seg, rule)).or_default().insert(slot, v.value());
    }
    Ok(book)
}

impl Actor for SellerCapacityActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.resume_pending(ctx);
    }
}

impl HoldsTable<Seller> for SellerCapacityActor {
    fn table(&mut self) -> &mut ConfigTable<Seller> {
        &mut self.sellers
    }
    fn store(&self) -> Store {
        self.store.clone()
    }
    fn check(&mut self, _id: &Id, value: &Seller) -> Result<(), Error> {
        value.validate()
    }
    fn after_put(&mut self, _id: &Id) {
        self.book_stale = true;
    }
    fn after_delete(&mut self, _id: &Id) {
        self.book_stale = true;
    }
}

impl HoldsTable<Team> for SellerCapacityActor {
    fn table(&mut self) -> &mut ConfigTable<Team> {
        &mut self.teams
    }
    fn store(&self) -> Store {
        self.store.clone()
    }
    fn check(&mut self, _id: &Id, value: &Team) -> Result<(), Error> {
        value.validate()?;
        for (i, m) in value.members.iter().enumerate() {
            if !self.sellers.contains(m.as_str()) {
                return Err(Error::validation(
                    format!("members[{i}]"),
                    format!("seller {m} does not exist"),
                ));
            }
        }
        Ok(())
    }
    fn after_put(&mut self, _id: &Id) {
        self.book_stale = true;
    }
    fn after_delete(&mut self, _id: &Id) {
        self.book_stale = true;
    }
}

impl HoldsTable<Queue> for SellerCapacityActor {
    fn table(&mut self) -> &mut ConfigTable<Queue> {
        &mut self.queues
    }
    fn store(&self) -> Store {
        self.store.clone()
    }
    fn check(&mut self, _id: &Id, value: &Queue) -> Result<(), Error> {
        value.validate()
    }
    fn after_put(&mut self, _id: &Id) {
        self.book_stale = true;
    }
    fn after_delete(&mut self, _id: &Id) {
        self.book_stale = true;
    }
}

config_handlers!(SellerCapacityActor, Seller, Team, Queue);

/// A seller with its live counters, as `GET /sellers/{id}` shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SellerView {
    pub id: Id,
    #[serde(flatten)]
    pub seller: Seller,
    pub open_records: u64,
    /// capacity − open records (may be negative); null when capacity is unlimited.
    pub available_capacity: Option<i64>,
    pub last_assigned_at: Option<DateTime<Utc>>,
}

impl SellerCapacityActor {
    fn view(&self, id: Id, seller: Seller) -> SellerView {
        let c = self
            .book
            .index
            .get(&id)
            .map(|slot| self.book.slots[*slot].counters.clone())
            .unwrap_or_default();
        SellerView {
            available_capacity: seller.capacity.map(|cap| cap as i64 - c.open_records as i64),
            open_records: c.open_records,
            last_assigned_at: c.last_assigned_at,
            id,
            seller,
        }
    }
}

/// Sellers with their counters.
#[derive(Message)]
#[rtype(result = "Result<SellerView, Error>")]
pub struct GetSellerView(pub Id);

impl Handler<GetSellerView> for SellerCapacityActor {
    type Result = Result<SellerView, Error>;
    fn handle(&mut self, msg: GetSellerView, _: &mut Context<Self>) -> Self::Result {
        let seller = self
            .sellers
            .get(msg.0.as_str())
            .cloned()
            .ok_or_else(|| Error::not_found("seller", msg.0.to_string()))?;
        Ok(self.view(msg.0, seller))
    }
}

#[derive(Message)]
#[rtype(result = "Result<super::table::Page<SellerView>, Error>")]
pub struct ListSellerViews {
    pub after: Option<String>,
    pub limit: usize,
}

impl Handler<ListSellerViews> for SellerCapacityActor {
    type Result = Result<super::table::Page<SellerView>, Error>;
    fn handle(&mut self, msg: ListSellerViews, _: &mut Context<Self>) -> Self::Result {
        let page = self.sellers.page(msg.after.as_deref(), msg.limit);
        Ok(page.map(|(id, s)| self.view(id, s)))
    }
}

/// Which kind of object a reference names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefKind {
    Seller,
    Team,
    Queue,
}

/// Answers the first id of `ids` that does not exist, with its position.
#[derive(Message)]
#[rtype(result = "Option<(usize, Id)>")]
pub struct FindMissing {
    pub kind: RefKind,
    pub ids: Vec<Id>,
}

impl Handler<FindMissing> for SellerCapacityActor {
    type Result = Option<(usize, Id)>;
    fn handle(&mut self, msg: FindMissing, _: &mut Context<Self>) -> Self::Result {
        msg.ids.into_iter().enumerate().find(|(_, id)| match msg.kind {
            RefKind::Seller => !self.sellers.contains(id.as_str()),
            RefKind::Team => !self.teams.contains(id.as_str()),
            RefKind::Queue => !self.queues.contains(id.as_str()),
        })
    }
}

#[derive(Message)]
#[rtype(result = "Settings")]
pub struct GetSettings;

impl Handler<GetSettings> for SellerCapacityActor {
    type Result = MessageResult<GetSettings>;
    fn handle(&mut self, _: GetSettings, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.settings.clone())
    }
}

#[derive(Message)]
#[rtype(result = "Result<(), Error>")]
pub struct PutSettings(pub Settings);

impl Handler<PutSettings> for SellerCapacityActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;
    fn handle(&mut self, msg: PutSettings, _: &mut Context<Self>) -> Self::Result {
        if let Err(e) = msg.0.validate() {
            return AtomicResponse::new(Box::pin(fut::ready(Err(e))));
        }
        let store = self.store.clone();
        let settings = msg.0;
        AtomicResponse::new(Box::pin(
            async move {
                let saved = settings.clone();
                store
                    .write(move |txn| store::put_json(txn, tables::SETTINGS, "settings", &saved))
                    .await?;
                Ok::<_, Error>(settings)
            }
            .into_actor(self)
            .map(|res, act, _| {
                act.settings = res?;
                act.book_stale = true;
                Ok(())
            }),
        ))
    }
}

impl Handler<CatalogChanged> for SellerCapacityActor {
    type Result = ();
    fn handle(&mut self, msg: CatalogChanged, _: &mut Context<Self>) {
        self.shared_catalog.set(msg.0.clone());
        self.catalog = msg.0;
    }
}
