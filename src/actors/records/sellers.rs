//! The configuration the record actor decides on: sellers, teams, queues and settings,
//! held in its memory (the generic configuration messages of [`crate::actors::table`]),
//! and the views of sellers with their live counters.

use actix::prelude::*;

use super::RecordActor;
use crate::actors::table::{ConfigTable, HasStore, HoldsTable, Item, config_handlers};
use crate::domain::config::{Queue, Seller, Settings, Team};
use crate::domain::seller::SellerView;
use crate::domain::{Id, Page};
use crate::error::Error;
use crate::store::{Collection, Store};

impl Item for Seller {
    const KIND: &'static str = "seller";
    const COLLECTION: Collection = Collection::Sellers;
}
impl Item for Team {
    const KIND: &'static str = "team";
    const COLLECTION: Collection = Collection::Teams;
}
impl Item for Queue {
    const KIND: &'static str = "queue";
    const COLLECTION: Collection = Collection::Queues;
}

impl HasStore for RecordActor {
    fn store(&self) -> Store {
        self.store.clone()
    }
}

impl HoldsTable<Seller> for RecordActor {
    fn table(&mut self) -> &mut ConfigTable<Seller> {
        &mut self.sellers
    }
    fn check(&mut self, _id: &Id, value: &Seller) -> Result<(), Error> {
        Ok(value.validate()?)
    }
    fn after_change(&mut self, _id: &Id) {
        self.book_stale = true;
    }
}

impl HoldsTable<Team> for RecordActor {
    fn table(&mut self) -> &mut ConfigTable<Team> {
        &mut self.teams
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
    fn after_change(&mut self, _id: &Id) {
        self.book_stale = true;
    }
}

impl HoldsTable<Queue> for RecordActor {
    fn table(&mut self) -> &mut ConfigTable<Queue> {
        &mut self.queues
    }
    fn check(&mut self, _id: &Id, value: &Queue) -> Result<(), Error> {
        Ok(value.validate()?)
    }
    fn after_change(&mut self, _id: &Id) {
        self.book_stale = true;
    }
}

config_handlers!(RecordActor, Seller, Team, Queue);

impl RecordActor {
    fn seller_view(&self, id: Id, seller: Seller) -> SellerView {
        let counters = self
            .book
            .index
            .get(&id)
            .map(|slot| self.book.slots[*slot].counters.clone())
            .unwrap_or_default();
        SellerView::new(id, seller, &counters)
    }
}

/// A seller with its counters.
#[derive(Message)]
#[rtype(result = "Result<SellerView, Error>")]
pub struct GetSellerView(pub Id);

impl Handler<GetSellerView> for RecordActor {
    type Result = Result<SellerView, Error>;
    fn handle(&mut self, msg: GetSellerView, _: &mut Context<Self>) -> Self::Result {
        let seller = self
            .sellers
            .get(msg.0.as_str())
            .cloned()
            .ok_or_else(|| Error::not_found("seller", msg.0.to_string()))?;
        Ok(self.seller_view(msg.0, seller))
    }
}

/// Sellers with their counters, in id order.
#[derive(Message)]
#[rtype(result = "Result<Page<SellerView>, Error>")]
pub struct ListSellerViews {
    pub after: Option<String>,
    pub limit: usize,
}

impl Handler<ListSellerViews> for RecordActor {
    type Result = Result<Page<SellerView>, Error>;
    fn handle(&mut self, msg: ListSellerViews, _: &mut Context<Self>) -> Self::Result {
        let page = self.sellers.page(msg.after.as_deref(), msg.limit);
        Ok(page.map(|(id, s)| self.seller_view(id, s)))
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

impl Handler<FindMissing> for RecordActor {
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

impl Handler<GetSettings> for RecordActor {
    type Result = MessageResult<GetSettings>;
    fn handle(&mut self, _: GetSettings, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.settings.clone())
    }
}

#[derive(Message)]
#[rtype(result = "Result<(), Error>")]
pub struct PutSettings(pub Settings);

impl Handler<PutSettings> for RecordActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;
    fn handle(&mut self, msg: PutSettings, _: &mut Context<Self>) -> Self::Result {
        if let Err(e) = msg.0.validate() {
            return AtomicResponse::new(Box::pin(fut::ready(Err(e.into()))));
        }
        let store = self.store.clone();
        let settings = msg.0;
        AtomicResponse::new(Box::pin(
            async move {
                let saved = settings.clone();
                store
                    .write(move |txn| txn.put(Collection::Settings, "settings", &saved))
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
