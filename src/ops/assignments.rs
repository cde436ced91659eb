//! Manual assignment, eligible sellers and assignment history.

use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::PageQuery;
use crate::actors::history::ListAssignments;
use crate::actors::mailbox;
use crate::actors::records::{EligibleSellers, ManualAssign};
use crate::auth::{Permission, Principal};
use crate::domain::Page;
use crate::domain::history::{AssignResult, HistoryEntry, HistoryFilter};
use crate::domain::record::{Owner, OwnerKind};
use crate::domain::seller::EligibleSeller;
use crate::domain::{Id, RecordType};
use crate::error::Error;
use crate::state::AppState;

/// Most records one manual assignment may name.
pub const MAX_RECORDS: usize = 1000;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// 1 to 1000 records.
    #[schema(min_items = 1, max_items = 1000)]
    pub record_ids: Vec<Id>,
    pub assignee: Assignee,
    /// Refuse the whole request unless the assignee is eligible for every record.
    #[serde(default)]
    pub only_eligible: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignee {
    #[serde(rename = "type")]
    pub kind: AssigneeKind,
    pub id: Id,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AssigneeKind {
    Seller,
    Team,
}

pub async fn assign(s: &AppState, who: &Principal, req: AssignRequest) -> Result<Vec<AssignResult>, Error> {
    who.require(Permission::Configure)?;
    if req.record_ids.is_empty() {
        return Err(Error::validation("record_ids", "name at least one record"));
    }
    if req.record_ids.len() > MAX_RECORDS {
        return Err(Error::validation(
            "record_ids",
            format!("at most {MAX_RECORDS} records per request"),
        ));
    }
    let kind = match req.assignee.kind {
        AssigneeKind::Seller => OwnerKind::Seller,
        AssigneeKind::Team => OwnerKind::Team,
    };
    s.records
        .send(ManualAssign {
            record_ids: req.record_ids,
            assignee: Owner {
                kind,
                id: req.assignee.id,
            },
            only_eligible: req.only_eligible,
            actor: who.id.clone(),
        })
        .await
        .map_err(mailbox)?
}

pub async fn eligible_sellers(s: &AppState, who: &Principal, record_id: &str) -> Result<Vec<EligibleSeller>, Error> {
    who.require(Permission::ReadConfig)?;
    let id = Id::parse("id", record_id)?;
    s.records.send(EligibleSellers(id)).await.map_err(mailbox)?
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    #[param(value_type = Option<crate::domain::RecordType>)]
    pub record_type: Option<String>,
    #[param(value_type = Option<crate::domain::Id>)]
    pub record_id: Option<String>,
    /// Entries where this seller (or team, queue) is the assignee or the previous owner.
    #[param(value_type = Option<crate::domain::Id>)]
    pub seller_id: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub after: Option<String>,
}

pub async fn history(s: &AppState, who: &Principal, q: HistoryQuery) -> Result<Page<HistoryEntry>, Error> {
    who.require(Permission::ReadConfig)?;
    let limit = PageQuery::limit_of(q.limit)?;
    // A filter that no entry could match is a typo: refused, as the document says, not
    // answered with an empty page.
    if let Some(t) = &q.record_type {
        RecordType::parse("record_type", t)?;
    }
    if let Some(id) = &q.record_id {
        Id::parse("record_id", id)?;
    }
    if let Some(id) = &q.seller_id {
        Id::parse("seller_id", id)?;
    }
    s.history
        .send(ListAssignments {
            filter: HistoryFilter {
                record_type: q.record_type,
                record_id: q.record_id,
                seller_id: q.seller_id,
            },
            after: q.after,
            limit,
        })
        .await
        .map_err(mailbox)?
}
