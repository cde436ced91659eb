//! Configuration operations: sellers, teams, queues, sequences, segments, rules,
//! settings, record-type schemas, tokens.

use serde::Serialize;
use utoipa::ToSchema;

use super::PageQuery;
use crate::actors::mailbox;
use crate::actors::records::sellers::{FindMissing, GetSellerView, GetSettings, ListSellerViews, PutSettings, RefKind};
use crate::actors::scheduler::{GetSchedule, SegmentDeleted};
use crate::actors::segment::{DeleteRule, GetRule, ListRules, PutRule, SegmentsOfType};
use crate::actors::table::{Delete, Get, List, Put};
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

/// The answer of an upsert: whether it created the object, and the object.
pub struct Saved<T> {
    pub created: bool,
    pub object: T,
}

fn parse_id(raw: &str) -> Result<Id, Error> {
    Ok(Id::parse("id", raw)?)
}

// ---- sellers ----

pub async fn put_seller(s: &AppState, who: &Principal, id: &str, seller: Seller) -> Result<Saved<SellerView>, Error> {
    who.require(Permission::Configure)?;
    let id = parse_id(id)?;
    let created = s
        .records
        .send(Put {
            id: id.clone(),
            value: seller,
        })
        .await
        .map_err(mailbox)??;
    let object = s.records.send(GetSellerView(id)).await.map_err(mailbox)??;
    Ok(Saved { created, object })
}

pub async fn get_seller(s: &AppState, who: &Principal, id: &str) -> Result<SellerView, Error> {
    who.require(Permission::ReadConfig)?;
    s.records.send(GetSellerView(parse_id(id)?)).await.map_err(mailbox)?
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

pub async fn delete_seller(s: &AppState, who: &Principal, id: &str) -> Result<(), Error> {
    who.require(Permission::Configure)?;
    s.records
        .send(Delete::<Seller>::new(parse_id(id)?))
        .await
        .map_err(mailbox)?
}

// ---- teams and queues ----

pub async fn put_team(s: &AppState, who: &Principal, id: &str, team: Team) -> Result<Saved<WithId<Team>>, Error> {
    who.require(Permission::Configure)?;
    let id = parse_id(id)?;
    let created = s
        .records
        .send(Put {
            id: id.clone(),
            value: team.clone(),
        })
        .await
        .map_err(mailbox)??;
    Ok(Saved {
        created,
        object: WithId { id, object: team },
    })
}

pub async fn get_team(s: &AppState, who: &Principal, id: &str) -> Result<WithId<Team>, Error> {
    who.require(Permission::ReadConfig)?;
    let id = parse_id(id)?;
    let object = s.records.send(Get::<Team>::new(id.clone())).await.map_err(mailbox)??;
    Ok(WithId { id, object })
}

pub async fn list_teams(s: &AppState, who: &Principal, q: &PageQuery) -> Result<Page<WithId<Team>>, Error> {
    who.require(Permission::ReadConfig)?;
    let page = s
        .records
        .send(List::<Team>::new(q.after.clone(), q.limit()?))
        .await
        .map_err(mailbox)??;
    Ok(page.map(|(id, object)| WithId { id, object }))
}

pub async fn delete_team(s: &AppState, who: &Principal, id: &str) -> Result<(), Error> {
    who.require(Permission::Configure)?;
    s.records
        .send(Delete::<Team>::new(parse_id(id)?))
        .await
        .map_err(mailbox)?
}

pub async fn put_queue(s: &AppState, who: &Principal, id: &str, queue: Queue) -> Result<Saved<WithId<Queue>>, Error> {
    who.require(Permission::Configure)?;
    let id = parse_id(id)?;
    let created = s
        .records
        .send(Put {
            id: id.clone(),
            value: queue.clone(),
        })
        .await
        .map_err(mailbox)??;
    Ok(Saved {
        created,
        object: WithId { id, object: queue },
    })
}

pub async fn get_queue(s: &AppState, who: &Principal, id: &str) -> Result<WithId<Queue>, Error> {
    who.require(Permission::ReadConfig)?;
    let id = parse_id(id)?;
    let object = s.records.send(Get::<Queue>::new(id.clone())).await.map_err(mailbox)??;
    Ok(WithId { id, object })
}

pub async fn list_queues(s: &AppState, who: &Principal, q: &PageQuery) -> Result<Page<WithId<Queue>>, Error> {
    who.require(Permission::ReadConfig)?;
    let page = s
        .records
        .send(List::<Queue>::new(q.after.clone(), q.limit()?))
        .await
        .map_err(mailbox)??;
    Ok(page.map(|(id, object)| WithId { id, object }))
}

pub async fn delete_queue(s: &AppState, who: &Principal, id: &str) -> Result<(), Error> {
    who.require(Permission::Configure)?;
    s.records
        .send(Delete::<Queue>::new(parse_id(id)?))
        .await
        .map_err(mailbox)?
}

// ---- sequences ----

pub async fn put_sequence(
    s: &AppState,
    who: &Principal,
    id: &str,
    seq: Sequence,
) -> Result<Saved<WithId<Sequence>>, Error> {
    who.require(Permission::ManageSequences)?;
    let id = parse_id(id)?;
    let created = s
        .segments
        .send(Put {
            id: id.clone(),
            value: seq.clone(),
        })
        .await
        .map_err(mailbox)??;
    Ok(Saved {
        created,
        object: WithId { id, object: seq },
    })
}

pub async fn get_sequence(s: &AppState, who: &Principal, id: &str) -> Result<WithId<Sequence>, Error> {
    who.require(Permission::ReadConfig)?;
    let id = parse_id(id)?;
    let object = s
        .segments
        .send(Get::<Sequence>::new(id.clone()))
        .await
        .map_err(mailbox)??;
    Ok(WithId { id, object })
}

pub async fn list_sequences(s: &AppState, who: &Principal, q: &PageQuery) -> Result<Page<WithId<Sequence>>, Error> {
    who.require(Permission::ReadConfig)?;
    let page = s
        .segments
        .send(List::<Sequence>::new(q.after.clone(), q.limit()?))
        .await
        .map_err(mailbox)??;
    Ok(page.map(|(id, object)| WithId { id, object }))
}

pub async fn delete_sequence(s: &AppState, who: &Principal, id: &str) -> Result<(), Error> {
    who.require(Permission::ManageSequences)?;
    s.segments
        .send(Delete::<Sequence>::new(parse_id(id)?))
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
    let id = parse_id(id)?;
    if !who.role.allows(Permission::Configure) {
        // A sequence manager may connect a sequence to an existing segment, nothing else.
        who.require(Permission::ManageSequences)?;
        let current = s
            .segments
            .send(Get::<Segment>::new(id.clone()))
            .await
            .map_err(mailbox)?;
        let only_sequence_changed = match &current {
            Ok(cur) => {
                let mut probe = cur.clone();
                probe.sequence_id = segment.sequence_id.clone();
                probe == segment
            }
            Err(_) => false,
        };
        if !only_sequence_changed {
            return Err(Error::Forbidden(
                "a sequence manager may only change sequence_id of an existing segment".into(),
            ));
        }
    }
    let created = s
        .segments
        .send(Put {
            id: id.clone(),
            value: segment.clone(),
        })
        .await
        .map_err(mailbox)??;
    let object = segment_view(s, id, segment).await?;
    Ok(Saved { created, object })
}

pub async fn get_segment(s: &AppState, who: &Principal, id: &str) -> Result<SegmentView, Error> {
    who.require(Permission::ReadConfig)?;
    let id = parse_id(id)?;
    let segment = s
        .segments
        .send(Get::<Segment>::new(id.clone()))
        .await
        .map_err(mailbox)??;
    segment_view(s, id, segment).await
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
        None => s
            .segments
            .send(List::<Segment>::new(q.after.clone(), limit))
            .await
            .map_err(mailbox)??,
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
    who.require(Permission::Configure)?;
    let id = parse_id(id)?;
    s.segments
        .send(Delete::<Segment>::new(id.clone()))
        .await
        .map_err(mailbox)??;
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
    let rule_id = parse_id(rule_id)?;
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
    let rule_id = parse_id(rule_id)?;
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
    Ok(page.map(|(id, object)| WithId { id, object }))
}

pub async fn delete_rule(s: &AppState, who: &Principal, segment_id: &str, rule_id: &str) -> Result<(), Error> {
    who.require(Permission::Configure)?;
    s.segments
        .send(DeleteRule {
            segment_id: Id::parse("segment_id", segment_id)?,
            rule_id: parse_id(rule_id)?,
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

// ---- record-type schemas ----

pub async fn put_record_type(
    s: &AppState,
    who: &Principal,
    record_type: &str,
    schema: RecordTypeSchema,
) -> Result<Saved<WithId<RecordTypeSchema>>, Error> {
    who.require(Permission::Configure)?;
    let rt = RecordType::parse("record_type", record_type)?;
    let id = parse_id(rt.as_str())?;
    let created = s
        .segments
        .send(Put {
            id: id.clone(),
            value: schema.clone(),
        })
        .await
        .map_err(mailbox)??;
    Ok(Saved {
        created,
        object: WithId { id, object: schema },
    })
}

pub async fn get_record_type(
    s: &AppState,
    who: &Principal,
    record_type: &str,
) -> Result<WithId<RecordTypeSchema>, Error> {
    who.require(Permission::ReadConfig)?;
    let rt = RecordType::parse("record_type", record_type)?;
    let id = parse_id(rt.as_str())?;
    let object = s
        .segments
        .send(Get::<RecordTypeSchema>::new(id.clone()))
        .await
        .map_err(mailbox)??;
    Ok(WithId { id, object })
}

pub async fn delete_record_type(s: &AppState, who: &Principal, record_type: &str) -> Result<(), Error> {
    who.require(Permission::Configure)?;
    let rt = RecordType::parse("record_type", record_type)?;
    s.segments
        .send(Delete::<RecordTypeSchema>::new(parse_id(rt.as_str())?))
        .await
        .map_err(mailbox)?
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
