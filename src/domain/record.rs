//! Records and their status: what is stored, what the monitor views show, and the
//! status reason codes of the contract.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::config::Attributes;
use super::ids::{Id, RecordType};

/// Declares a struct of the fields a record is sent with: the given leading fields (its
/// `id` and `record_type`, as the struct takes them), then the fields every record shape
/// shares: `name`, `topic`, `created_on` and `attributes`. `created_on` takes its doc
/// from the call (with the leading space a `///` line has), since what it defaults to
/// differs. [`RecordInput`] and the script check's sample record
/// (`ops::scripts::RecordSample`, which may leave out or null its id and type) are both
/// declared with it, so that they cannot drift apart.
///
/// A macro, not one struct of the shared fields under `#[serde(flatten)]`, because serde
/// does not support flatten together with `deny_unknown_fields` (tried): with the
/// attribute on the outer struct an unknown field is refused without the list of the
/// expected ones, and that error and a wrong type inside the flattened fields lose their
/// path (`record` instead of `record.name`); on the inner struct unknown fields pass
/// silently. Flatten would also buffer every record of a batch on the ingest path.
macro_rules! record_fields {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($leading:tt)* }
        created_on = $created_on:tt
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($leading)*
            #[serde(default)]
            pub name: String,
            #[serde(default)]
            pub topic: String,
            #[doc = $created_on]
            #[serde(default)]
            pub created_on: Option<::chrono::DateTime<::chrono::Utc>>,
            #[serde(default)]
            #[schema(value_type = Object)]
            pub attributes: $crate::domain::config::Attributes,
        }
    };
}
pub(crate) use record_fields;

record_fields! {
    /// A record as a client sends it (`POST /records`).
    #[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
    #[serde(deny_unknown_fields)]
    pub struct RecordInput {
        pub id: Id,
        pub record_type: RecordType,
    }
    created_on = " Defaults to the time the record arrives."
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    ToBeProcessed,
    Processed,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum OwnerKind {
    Seller,
    Team,
    Queue,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq, Hash)]
pub struct Owner {
    #[serde(rename = "type")]
    pub kind: OwnerKind,
    pub id: Id,
}

impl Owner {
    pub fn seller(id: Id) -> Owner {
        Owner {
            kind: OwnerKind::Seller,
            id,
        }
    }

    /// The seller whose open-record count this owner holds, if a seller.
    pub fn seller_id(&self) -> Option<&Id> {
        (self.kind == OwnerKind::Seller).then_some(&self.id)
    }
}

/// Assignment outcome.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum StatusReason {
    InProgress,
    Assigned,
    AssignedManually,
    ServerError,
    RecordDoesntMeetConditions,
    NoSellersMeetConditions,
    SellersUnavailable,
    SellersAtCapacity,
    NoAssignmentRule,
    SellerLacksPrivileges,
    RecordOlderThanTimeframe,
    MultipleEligibleTeams,
    NoEligibleTeam,
    MultipleEligibleQueues,
    NoEligibleQueue,
    RulesWontRunForSegment,
}

impl StatusReason {
    /// How specific a failed rule's reason is: when no rule assigns, the most specific
    /// failure is reported (API.md): distribution > target > record condition > age.
    pub fn specificity(self) -> u8 {
        use StatusReason::*;
        match self {
            SellersAtCapacity | SellersUnavailable | SellerLacksPrivileges => 4,
            NoSellersMeetConditions
            | MultipleEligibleTeams
            | NoEligibleTeam
            | MultipleEligibleQueues
            | NoEligibleQueue => 3,
            RecordDoesntMeetConditions => 2,
            RecordOlderThanTimeframe => 1,
            _ => 0,
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SegmentStatus {
    NoMatchingSegments,
    MatchedPreviousSegment,
    SegmentError,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SequenceStatus {
    SequenceInactive,
    SequenceSellerLacksPrivileges,
    SequenceError,
}

/// How many sellers each filter removed.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Excluded {
    pub condition: u32,
    pub role: u32,
    pub record_access: u32,
    pub assign_records_off: u32,
    pub capacity: u32,
    pub availability: u32,
}

/// One rule tried in an automatic attempt.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RuleDecision {
    pub rule_id: Id,
    pub outcome: StatusReason,
    /// Sellers (or teams, queues) left for the distribution to choose from.
    pub candidates: u32,
    pub excluded: Excluded,
}

/// Why the last automatic attempt ended as it did.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Decision {
    pub segment_id: Option<Id>,
    pub rules: Vec<RuleDecision>,
}

/// A record with its status, as stored (and, with two derived fields, as shown).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct StoredRecord {
    pub id: Id,
    pub record_type: RecordType,
    pub name: String,
    pub topic: String,
    #[serde(with = "crate::domain::time::compact")]
    pub created_on: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub attributes: Attributes,
    /// Arrival order: ties of `created_on` are ordered by it.
    pub seq: u64,
    pub open: bool,
    pub stage: Stage,
    pub owner: Option<Owner>,
    pub previous_owner: Option<Owner>,
    pub segment_id: Option<Id>,
    pub rule_id: Option<Id>,
    pub sequence_id: Option<Id>,
    pub status_reason: Option<StatusReason>,
    pub segment_status: Option<SegmentStatus>,
    pub sequence_status: Option<SequenceStatus>,
    pub error_details: Option<String>,
    #[serde(with = "crate::domain::time::compact_opt")]
    pub assignment_due_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::domain::time::compact_opt")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub attempts: u32,
    pub decision: Option<Decision>,
    #[serde(with = "crate::domain::time::compact")]
    pub updated_at: DateTime<Utc>,
}

/// Monitor views a record can be in.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum View {
    ToBeProcessed,
    Processed,
    Unassigned,
    NeedsAttention,
}

impl View {
    pub const ALL: [View; 4] = [
        View::ToBeProcessed,
        View::Processed,
        View::Unassigned,
        View::NeedsAttention,
    ];

    /// The view's code in stored index keys: fixed, since stored keys carry it.
    pub fn code(self) -> u8 {
        match self {
            View::ToBeProcessed => 0,
            View::Processed => 1,
            View::Unassigned => 2,
            View::NeedsAttention => 3,
        }
    }
}

impl StoredRecord {
    /// A record as it first arrives: open, in stage `to_be_processed`, `in_progress`.
    pub fn new_pending(input: RecordInput, seq: u64, now: DateTime<Utc>) -> StoredRecord {
        StoredRecord {
            created_on: input.created_on.unwrap_or(now),
            id: input.id,
            record_type: input.record_type,
            name: input.name,
            topic: input.topic,
            attributes: input.attributes,
            seq,
            open: true,
            stage: Stage::ToBeProcessed,
            owner: None,
            previous_owner: None,
            segment_id: None,
            rule_id: None,
            sequence_id: None,
            status_reason: Some(StatusReason::InProgress),
            segment_status: None,
            sequence_status: None,
            error_details: None,
            assignment_due_at: None,
            last_attempt_at: None,
            attempts: 0,
            decision: None,
            updated_at: now,
        }
    }

    pub fn is_unassigned(&self) -> bool {
        self.stage == Stage::Processed && self.open && self.owner.is_none()
    }

    /// Segmentation, assignment or sequence connection failed, and the record is still
    /// open: a closed record is done with, whatever its last processing said, so it
    /// leaves the "needs attention" view like it leaves "unassigned".
    pub fn needs_attention(&self) -> bool {
        self.stage == Stage::Processed
            && self.open
            && (self.segment_status.is_some()
                || self.sequence_status.is_some()
                || self.status_reason == Some(StatusReason::ServerError)
                || self.is_unassigned())
    }

    pub fn views(&self) -> Vec<View> {
        let mut v = Vec::with_capacity(3);
        match self.stage {
            Stage::ToBeProcessed => v.push(View::ToBeProcessed),
            Stage::Processed => v.push(View::Processed),
        }
        if self.is_unassigned() {
            v.push(View::Unassigned);
        }
        if self.needs_attention() {
            v.push(View::NeedsAttention);
        }
        v
    }

    pub fn created_micros(&self) -> i64 {
        self.created_on.timestamp_micros()
    }

    pub fn status_view(&self, now: DateTime<Utc>) -> StatusView {
        StatusView {
            needs_attention: self.needs_attention(),
            overdue: self.is_overdue(now),
            record: self.clone(),
        }
    }

    /// Unassigned past its assignment due time.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.is_unassigned() && self.assignment_due_at.is_some_and(|due| now > due)
    }

    /// The status view, serialised straight from the record (no copy of it).
    pub fn status_view_ref(&self, now: DateTime<Utc>) -> StatusViewRef<'_> {
        StatusViewRef {
            needs_attention: self.needs_attention(),
            overdue: self.is_overdue(now),
            record: self,
        }
    }
}

/// [`StatusView`] borrowing its record: the same JSON.
#[derive(Serialize)]
pub struct StatusViewRef<'a> {
    #[serde(flatten)]
    pub record: &'a StoredRecord,
    pub needs_attention: bool,
    pub overdue: bool,
}

/// The status details pane: the stored record plus what is derived at read time.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StatusView {
    #[serde(flatten)]
    pub record: StoredRecord,
    pub needs_attention: bool,
    pub overdue: bool,
}
