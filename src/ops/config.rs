//! Configuration operations: sellers, teams, queues, sequences, segments, rules,
//! settings, record-type schemas, tokens.
//!
//! Every kind kept in a configuration actor's table goes through one generic path:
//! [`ConfigKind`] says which actor holds it, who may change it and how its path
//! parameter names it, and [`put`], [`get`], [`list`] and [`delete`] check the role,
//! parse the id and send the actor's generic `Put`/`Get`/`List`/`Delete`. Teams, queues,
//! sequences and record-type schemas are nothing more. Sellers and segments answer with
//! a view (counters, schedule) and segments have their own write rule, so their
//! operations wrap the same steps (`authorised_id`, `save`, [`fetch`], ...) rather
//! than repeat them.

use actix::{Actor, Addr, Context, Handler};
use serde::Serialize;
use utoipa::ToSchema;

use super::PageQuery;
use crate::actors::mailbox;
use crate::actors::records::RecordActor;
use crate::actors::records::sellers::{FindMissing, GetSellerView, GetSettings, ListSellerViews, PutSettings, RefKind};
use crate::actors::scheduler::{GetSchedule, SegmentDeleted};
use crate::actors::segment::{DeleteRule, GetRule, ListRules, PutRule, SegmentActor, SegmentsOfType};
use crate::actors::table::{Delete, Get, Item, List, Put};
use crate::auth::{NewToken, Permission, Principal, Role, TokenInfo};
use crate::domain::Page;
use crate::domain::config::{
    Queue, RecordTypeSchema, Rule, Segment, Seller, Sequence, Settings, TargetKind, TargetMatch, Team,
};
use crate::domain::record::View;
use crate::domain::schedule::ScheduleView;
use crate::domain::seller::SellerView;
use crate::domain::{Id, RecordType};
use crate::error::Error;
use crate::state::AppState;
use crate::store::Scope;

/// A configuration object with its id, as every `GET` answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WithId<T> {
    pub id: Id,
    #[serde(flatten)]
    pub object: T,
}

impl<T> From<(Id, T)> for WithId<T> {
    /// A table row (`Page` items are `(id, object)`) as it is answered.
    fn from((id, object): (Id, T)) -> WithId<T> {
        WithId { id, object }
    }
}

/// The answer of an upsert: whether it created the object, and the object.
pub struct Saved<T> {
    pub created: bool,
    pub object: T,
}

// ---- the generic path ----

/// An actor that holds configuration tables, and where [`AppState`] keeps its address.
pub trait ConfigActor: Actor<Context = Context<Self>> {
    fn addr(s: &AppState) -> &Addr<Self>;
}

impl ConfigActor for RecordActor {
    fn addr(s: &AppState) -> &Addr<RecordActor> {
        &s.records
    }
}

impl ConfigActor for SegmentActor {
    fn addr(s: &AppState) -> &Addr<SegmentActor> {
        &s.segments
    }
}

/// A configuration kind kept in an actor's table (`actors::table`).
pub trait ConfigKind: Item {
    /// The actor holding the table; it answers the four generic messages for the kind.
    type Actor: ConfigActor + Handler<Put<Self>> + Handler<Get<Self>> + Handler<List<Self>> + Handler<Delete<Self>>;

    /// What a put or a delete needs; every read needs `ReadConfig`.
    const WRITE: Permission;

    /// The id its path parameter names.
    fn parse_id(raw: &str) -> Result<Id, Error> {
        Ok(Id::parse("id", raw)?)
    }
}

/// Implements [`ConfigKind`] for the kinds `$actor` holds and `$write` may change, each
/// named by a plain id: the counterpart of `actors::table::config_handlers!`.
macro_rules! config_kinds {
    ($actor:ty, $write:expr => $($kind:ty),+) => {$(
        impl ConfigKind for $kind {
            type Actor = $actor;
            const WRITE: Permission = $write;
        }
    )+};
}

config_kinds!(RecordActor, Permission::Configure => Seller, Team, Queue);
// A sequence manager may still change a segment's `sequence_id`: `put_segment` allows it.
config_kinds!(SegmentActor, Permission::Configure => Segment);
config_kinds!(SegmentActor, Permission::ManageSequences => Sequence);

impl ConfigKind for RecordTypeSchema {
    type Actor = SegmentActor;
    const WRITE: Permission = Permission::Configure;

    /// A schema is named by its record type (`/record-types/{record_type}`), and keyed
    /// by it as an id.
    fn parse_id(raw: &str) -> Result<Id, Error> {
        let rt = RecordType::parse("record_type", raw)?;
        Ok(Id::parse("id", rt.as_str())?)
    }
}

/// Checks that `who` has `needs`, then parses the id of the `K` that `raw_id` names: the
/// role first, so that a caller without it is refused whatever id it sends.
fn authorised_id<K: ConfigKind>(who: &Principal, needs: Permission, raw_id: &str) -> Result<Id, Error> {
    who.require(needs)?;
    K::parse_id(raw_id)
}

/// Upserts `value` under `id`; answers whether it was created.
async fn save<K: ConfigKind>(s: &AppState, id: Id, value: K) -> Result<bool, Error> {
    K::Actor::addr(s).send(Put { id, value }).await.map_err(mailbox)?
}

/// The `K` under `id`, or `not_found`.
pub(super) async fn fetch<K: ConfigKind>(s: &AppState, id: Id) -> Result<K, Error> {
    K::Actor::addr(s).send(Get::<K>::new(id)).await.map_err(mailbox)?
}

/// One page of `K` in id order.
async fn page_of<K: ConfigKind>(s: &AppState, after: Option<String>, limit: usize) -> Result<Page<(Id, K)>, Error> {
    K::Actor::addr(s)
        .send(List::<K>::new(after, limit))
        .await
        .map_err(mailbox)?
}

/// Removes the `K` under `id`, or answers `not_found`.
async fn remove<K: ConfigKind>(s: &AppState, id: Id) -> Result<(), Error> {
    K::Actor::addr(s).send(Delete::<K>::new(id)).await.map_err(mailbox)?
}

/// Creates or replaces a `K` (`PUT`); answers it with its id.
pub async fn put<K: ConfigKind>(s: &AppState, who: &Principal, id: &str, value: K) -> Result<Saved<WithId<K>>, Error> {
    let id = authorised_id::<K>(who, K::WRITE, id)?;
    let created = save(s, id.clone(), value.clone()).await?;
    Ok(Saved {
        created,
        object: WithId { id, object: value },
    })
}

pub async fn get<K: ConfigKind>(s: &AppState, who: &Principal, id: &str) -> Result<WithId<K>, Error> {
    let id = authorised_id::<K>(who, Permission::ReadConfig, id)?;
    let object = fetch(s, id.clone()).await?;
    Ok(WithId { id, object })
}

pub async fn list<K: ConfigKind>(s: &AppState, who: &Principal, q: &PageQuery) -> Result<Page<WithId<K>>, Error> {
    who.require(Permission::ReadConfig)?;
    Ok(page_of::<K>(s, q.after.clone(), q.limit()?).await?.map(WithId::from))
}

pub async fn delete<K: ConfigKind>(s: &AppState, who: &Principal, id: &str) -> Result<(), Error> {
    remove::<K>(s, authorised_id::<K>(who, K::WRITE, id)?).await
}

// ---- sellers ----

pub async fn put_seller(s: &AppState, who: &Principal, id: &str, seller: Seller) -> Result<Saved<SellerView>, Error> {
    let id = authorised_id::<Seller>(who, Seller::WRITE, id)?;
    let created = save(s, id.clone(), seller).await?;
    let object = s.records.send(GetSellerView(id)).await.map_err(mailbox)??;
    Ok(Saved { created, object })
}

pub async fn get_seller(s: &AppState, who: &Principal, id: &str) -> Result<SellerView, Error> {
    let id = authorised_id::<Seller>(who, Permission::ReadConfig, id)?;
    s.records.send(GetSellerView(id)).await.map_err(mailbox)?
}

pub async fn list_sellers(s: &AppState, who: &Principal, q: &PageQuery) -> Result<Page<SellerView>, Error> {
    who.require(Permission::ReadConfig)?;
    let limit = q.limit()?;
    s.records
        .send(ListSellerViews {
            after: q.after.clone(),
            limit,
        })
        .await
        .map_err(mailbox)?
}

// ---- segments ----

/// A segment as `GET` shows it: with its unassigned count and schedule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SegmentView {
    pub id: Id,
    #[serde(flatten)]
    pub segment: Segment,
    pub unassigned_count: u64,
    pub schedule: Option<ScheduleView>,
}

async fn segment_view(s: &AppState, id: Id, segment: Segment) -> Result<SegmentView, Error> {
    let schedule = s.scheduler.send(GetSchedule(id.clone())).await.map_err(mailbox)?;
    let unassigned_count = unassigned_count(s, &id)?;
    Ok(SegmentView {
        id,
        segment,
        unassigned_count,
        schedule,
    })
}

/// The `unassigned` view count of a segment's scope.
fn unassigned_count(s: &AppState, id: &Id) -> Result<u64, Error> {
    Ok(s.store
        .read()?
        .view_count(Scope::Segment(id.as_str()), View::Unassigned)?)
}

pub async fn put_segment(
    s: &AppState,
    who: &Principal,
    id: &str,
    segment: Segment,
) -> Result<Saved<SegmentView>, Error> {
    let id = Segment::parse_id(id)?;
    if !who.role.allows(Segment::WRITE) {
        // A sequence manager may connect a sequence to an existing segment, nothing else.
        who.require(Permission::ManageSequences)?;
        let only_sequence_changed = match fetch::<Segment>(s, id.clone()).await {
            Ok(mut probe) => {
                probe.sequence_id = segment.sequence_id.clone();
                probe == segment
            }
            Err(Error::NotFound { .. }) => false,
            Err(e) => return Err(e),
        };
        if !only_sequence_changed {
            return Err(Error::Forbidden(
                "a sequence manager may only change sequence_id of an existing segment".into(),
            ));
        }
    }
    let created = save(s, id.clone(), segment.clone()).await?;
    let object = segment_view(s, id, segment).await?;
    Ok(Saved { created, object })
}

pub async fn get_segment(s: &AppState, who: &Principal, id: &str) -> Result<SegmentView, Error> {
    let WithId { id, object } = get::<Segment>(s, who, id).await?;
    segment_view(s, id, object).await
}

/// Without `record_type`, every segment in id order; with it, that type's segments in
/// priority order (the cursor is then `priority:id`).
pub async fn list_segments(
    s: &AppState,
    who: &Principal,
    record_type: Option<&str>,
    q: &PageQuery,
) -> Result<Page<SegmentView>, Error> {
    who.require(Permission::ReadConfig)?;
    let limit = q.limit()?;
    let page = match record_type {
        None => page_of::<Segment>(s, q.after.clone(), limit).await?,
        Some(rt) => {
            let rt = RecordType::parse("record_type", rt)?;
            let all = s.segments.send(SegmentsOfType(rt)).await.map_err(mailbox)?;
            // The cursor is the last (priority, id) seen, not a position, so that a page
            // neither skips nor repeats a segment when others change between pages.
            let after = match &q.after {
                None => None,
                Some(a) => Some(
                    a.split_once(':')
                        .and_then(|(p, id)| Some((p.parse::<u32>().ok()?, id)))
                        .ok_or_else(|| Error::validation("after", "not a cursor of this list"))?,
                ),
            };
            let mut items: Vec<(Id, Segment)> = all
                .into_iter()
                .filter(|(id, seg)| after.is_none_or(|(p, a)| (seg.priority, id.as_str()) > (p, a)))
                .take(limit + 1)
                .collect();
            let next = if items.len() > limit {
                items.truncate(limit);
                items.last().map(|(id, seg)| format!("{}:{id}", seg.priority))
            } else {
                None
            };
            Page { items, next }
        }
    };
    let mut items = Vec::with_capacity(page.items.len());
    for (id, seg) in page.items {
        items.push(segment_view(s, id, seg).await?);
    }
    Ok(Page { items, next: page.next })
}

pub async fn delete_segment(s: &AppState, who: &Principal, id: &str) -> Result<(), Error> {
    let id = authorised_id::<Segment>(who, Segment::WRITE, id)?;
    remove::<Segment>(s, id.clone()).await?;
    s.scheduler.do_send(SegmentDeleted(id));
    Ok(())
}

// ---- rules ----

async fn check_rule_references(s: &AppState, rule: &Rule) -> Result<(), Error> {
    if rule.assign_to.matching != TargetMatch::Ids {
        return Ok(());
    }
    let kind = match rule.assign_to.kind {
        TargetKind::Sellers => RefKind::Seller,
        TargetKind::Team => RefKind::Team,
        TargetKind::Queue => RefKind::Queue,
    };
    let missing = s
        .records
        .send(FindMissing {
            kind,
            ids: rule.assign_to.ids.clone(),
        })
        .await
        .map_err(mailbox)?;
    if let Some((i, id)) = missing {
        let what = match kind {
            RefKind::Seller => "seller",
            RefKind::Team => "team",
            RefKind::Queue => "queue",
        };
        return Err(Error::validation(
            format!("assign_to.ids[{i}]"),
            format!("{what} {id} does not exist"),
        ));
    }
    Ok(())
}

pub async fn put_rule(
    s: &AppState,
    who: &Principal,
    segment_id: &str,
    rule_id: &str,
    rule: Rule,
) -> Result<Saved<WithId<Rule>>, Error> {
    who.require(Permission::Configure)?;
    let segment_id = Id::parse("segment_id", segment_id)?;
    let rule_id = Id::parse("id", rule_id)?;
    check_rule_references(s, &rule).await?;
    let created = s
        .segments
        .send(PutRule {
            segment_id,
            rule_id: rule_id.clone(),
            rule: rule.clone(),
        })
        .await
        .map_err(mailbox)??;
    Ok(Saved {
        created,
        object: WithId {
            id: rule_id,
            object: rule,
        },
    })
}

pub async fn get_rule(s: &AppState, who: &Principal, segment_id: &str, rule_id: &str) -> Result<WithId<Rule>, Error> {
    who.require(Permission::ReadConfig)?;
    let rule_id = Id::parse("id", rule_id)?;
    let object = s
        .segments
        .send(GetRule {
            segment_id: Id::parse("segment_id", segment_id)?,
            rule_id: rule_id.clone(),
        })
        .await
        .map_err(mailbox)??;
    Ok(WithId { id: rule_id, object })
}

pub async fn list_rules(
    s: &AppState,
    who: &Principal,
    segment_id: &str,
    q: &PageQuery,
) -> Result<Page<WithId<Rule>>, Error> {
    who.require(Permission::ReadConfig)?;
    let page = s
        .segments
        .send(ListRules {
            segment_id: Id::parse("segment_id", segment_id)?,
            after: q.after.clone(),
            limit: q.limit()?,
        })
        .await
        .map_err(mailbox)??;
    Ok(page.map(WithId::from))
}

pub async fn delete_rule(s: &AppState, who: &Principal, segment_id: &str, rule_id: &str) -> Result<(), Error> {
    who.require(Permission::Configure)?;
    s.segments
        .send(DeleteRule {
            segment_id: Id::parse("segment_id", segment_id)?,
            rule_id: Id::parse("id", rule_id)?,
        })
        .await
        .map_err(mailbox)?
}

// ---- settings ----

pub async fn get_settings(s: &AppState, who: &Principal) -> Result<Settings, Error> {
    who.require(Permission::ReadConfig)?;
    s.records.send(GetSettings).await.map_err(mailbox)
}

pub async fn put_settings(s: &AppState, who: &Principal, settings: Settings) -> Result<Settings, Error> {
    who.require(Permission::Administer)?;
    s.records.send(PutSettings(settings.clone())).await.map_err(mailbox)??;
    Ok(settings)
}

// ---- tokens ----

pub async fn create_token(s: &AppState, who: &Principal, name: String, role: Role) -> Result<NewToken, Error> {
    who.require(Permission::Administer)?;
    s.auth.create(name, role).await
}

pub fn list_tokens(s: &AppState, who: &Principal) -> Result<Vec<TokenInfo>, Error> {
    who.require(Permission::Administer)?;
    s.auth.list()
}

pub async fn delete_token(s: &AppState, who: &Principal, id: &str) -> Result<(), Error> {
    who.require(Permission::Administer)?;
    s.auth.revoke(id).await
}
