//! The actors that own allot's state. Each owns one kind of state, loads it from the
//! store at boot and talks to the others only by messages.
//!
//! - [`segment::SegmentActor`]: segments, rules, sequences, record-type schemas and
//!   their compiled scripts;
//! - [`records::RecordActor`]: every record change (ingest, processing, runs, manual
//!   assignment, close/reopen), and what it decides on: sellers, teams, queues,
//!   settings, open-record counts and round-robin order;
//! - [`scheduler::SchedulerActor`]: one reassignment schedule per segment;
//! - [`history::HistoryActor`]: run history and assignment history;
//! - [`table`]: the configuration tables actors hold, and their generic messages;
//! - [`delivery`]: the webhook delivery worker (its own thread) and the feed's pruning.

pub mod delivery;
pub mod figures;
pub mod history;
pub mod records;
pub mod scheduler;
pub mod segment;
pub mod table;

use crate::error::Error;

/// A message that could not be delivered means the actor stopped: an internal error.
pub fn mailbox(e: actix::MailboxError) -> Error {
    Error::Internal(format!("actor mailbox: {e}"))
}
