//! The actors that own allot's state. Each owns one kind of state, loads it from the
//! store at boot and talks to the others only by messages.
//!
//! - [`segment::SegmentActor`]: segments, rules, sequences, record-type schemas and
//!   their compiled scripts;
//! - [`seller_capacity::SellerCapacityActor`]: sellers, teams, queues, settings,
//!   open-record counts and round-robin order;
//! - [`scheduler::SchedulerActor`]: one reassignment schedule per segment;
//! - [`history::HistoryActor`]: run history and assignment history.

pub mod assign;
pub mod history;
pub mod records;
pub mod scheduler;
pub mod segment;
pub mod seller_capacity;
pub mod table;

use crate::error::Error;

/// A message that could not be delivered means the actor stopped: an internal error.
pub fn mailbox(e: actix::MailboxError) -> Error {
    Error::Internal(format!("actor mailbox: {e}"))
}
