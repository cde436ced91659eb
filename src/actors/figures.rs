//! Domain figures for `/metrics`, kept where the decisions are made: automatic outcomes
//! by status reason, and run durations. Their labels are fixed sets (the status
//! reasons, the run statuses, histogram bounds), so no input can grow them.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::domain::record::StatusReason;
use crate::domain::run::RunStatus;

/// Every status reason, in the order of [`StatusReason`] (its `as usize`).
pub const STATUS_REASONS: [StatusReason; 16] = [
    StatusReason::InProgress,
    StatusReason::Assigned,
    StatusReason::AssignedManually,
    StatusReason::ServerError,
    StatusReason::RecordDoesntMeetConditions,
    StatusReason::NoSellersMeetConditions,
    StatusReason::SellersUnavailable,
    StatusReason::SellersAtCapacity,
    StatusReason::NoAssignmentRule,
    StatusReason::SellerLacksPrivileges,
    StatusReason::RecordOlderThanTimeframe,
    StatusReason::MultipleEligibleTeams,
    StatusReason::NoEligibleTeam,
    StatusReason::MultipleEligibleQueues,
    StatusReason::NoEligibleQueue,
    StatusReason::RulesWontRunForSegment,
];

static OUTCOMES: [AtomicU64; STATUS_REASONS.len()] = [const { AtomicU64::new(0) }; STATUS_REASONS.len()];

/// Upper bounds of the run-duration histogram, seconds.
pub const RUN_BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

pub struct RunFigures {
    pub buckets: [AtomicU64; RUN_BUCKETS.len()],
    pub count: AtomicU64,
    pub millis: AtomicU64,
}

/// Succeeded runs, then failed ones.
static RUNS: [RunFigures; 2] = [const {
    RunFigures {
        buckets: [const { AtomicU64::new(0) }; RUN_BUCKETS.len()],
        count: AtomicU64::new(0),
        millis: AtomicU64::new(0),
    }
}; 2];

/// Counts one automatic decision's outcome.
pub fn note_outcome(reason: StatusReason) {
    OUTCOMES[reason as usize].fetch_add(1, Ordering::Relaxed);
}

/// Decisions so far by status reason, in [`STATUS_REASONS`] order.
pub fn outcomes() -> [(StatusReason, u64); STATUS_REASONS.len()] {
    STATUS_REASONS.map(|r| (r, OUTCOMES[r as usize].load(Ordering::Relaxed)))
}

pub fn note_run(status: RunStatus, duration_ms: u64) {
    let figures = &RUNS[run_index(status)];
    let seconds = duration_ms as f64 / 1e3;
    for (i, bound) in RUN_BUCKETS.iter().enumerate() {
        if seconds <= *bound {
            figures.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }
    figures.count.fetch_add(1, Ordering::Relaxed);
    figures.millis.fetch_add(duration_ms, Ordering::Relaxed);
}

/// The run-duration histogram of runs that ended with `status`.
pub fn runs(status: RunStatus) -> &'static RunFigures {
    &RUNS[run_index(status)]
}

fn run_index(status: RunStatus) -> usize {
    match status {
        RunStatus::Succeeded => 0,
        RunStatus::Failed => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_table_is_in_enum_order() {
        for (i, r) in STATUS_REASONS.iter().enumerate() {
            assert_eq!(*r as usize, i, "{r:?}");
        }
    }
}
