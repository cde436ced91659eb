//! What allot counts per seller besides its configuration, and the views built on it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Id;
use super::config::Seller;

/// A seller's counters, persisted apart from its configuration (so that a `PUT` of the
/// seller never clobbers them).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SellerCounters {
    pub open_records: u64,
    #[serde(with = "super::time::compact_opt")]
    pub last_assigned_at: Option<DateTime<Utc>>,
    /// Arrival order of the last assignment: breaks ties of `last_assigned_at`.
    pub last_assigned_seq: u64,
}

/// A seller with its live counters, as `GET /sellers/{id}` shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SellerView {
    pub id: Id,
    #[serde(flatten)]
    pub seller: Seller,
    pub open_records: u64,
    /// capacity − open records (may be negative); null when capacity is unlimited.
    pub available_capacity: Option<i64>,
    pub last_assigned_at: Option<DateTime<Utc>>,
}

impl SellerView {
    pub fn new(id: Id, seller: Seller, counters: &SellerCounters) -> SellerView {
        SellerView {
            available_capacity: seller.capacity.map(|cap| cap as i64 - counters.open_records as i64),
            open_records: counters.open_records,
            last_assigned_at: counters.last_assigned_at,
            id,
            seller,
        }
    }
}

/// A seller eligible for a record, with what the admin needs to choose.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EligibleSeller {
    pub id: Id,
    pub name: String,
    pub open_records: u64,
    /// Null when capacity is unlimited.
    pub available_capacity: Option<i64>,
    pub available_now: bool,
}
