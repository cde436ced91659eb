//! The words the seeds use for each status reason, and their resolution advice
//! (seed 001, "Analyze error details and resolve issues"), told in allot's terms.

use crate::domain::record::{SegmentStatus, SequenceStatus, StatusReason};

/// A status as shown: its label and what to do about it (empty when nothing is wrong).
pub struct Reason {
    pub label: &'static str,
    pub advice: &'static str,
    /// The advice ends "then run the segment's assignment rules again".
    pub run_again: bool,
}

pub fn status_reason(r: StatusReason) -> Reason {
    use StatusReason::*;
    let (label, advice) = match r {
        InProgress => ("In progress", ""),
        Assigned => ("Assigned", ""),
        AssignedManually => ("Assigned manually", ""),
        ServerError => (
            "There was an issue with the server",
            "The error details say which script or step failed and why. Fix that script (or what it reads).",
        ),
        RecordDoesntMeetConditions => (
            "Record doesn't meet any conditions",
            "Assign the record manually, add a rule that will assign it, or widen an existing rule's condition so that records like it are assigned automatically.",
        ),
        NoSellersMeetConditions => (
            "No sellers meet the conditions",
            "Make sure the rules' seller conditions include every eligible seller, or add a rule that does, and that those sellers have \"assign records\" on.",
        ),
        SellersUnavailable => (
            "Eligible sellers don't have availability",
            "Check the sellers' working hours, time off and presence, or widen the rule's availability window.",
        ),
        SellersAtCapacity => (
            "Eligible sellers don't have capacity",
            "Raise the capacity of the eligible sellers, or close records they no longer work on.",
        ),
        SellerLacksPrivileges => (
            "Record unassigned as seller doesn't have the necessary permissions",
            "Give the eligible sellers access to this record type (record access) and an eligible role (settings).",
        ),
        RecordOlderThanTimeframe => (
            "Seller not assigned as record is older than the set timeframe",
            "Widen the rule's \"created within\" timeframe, or assign the record manually.",
        ),
        MultipleEligibleTeams => (
            "Multiple eligible teams found",
            "Narrow the rule's team condition so that one team qualifies, or distribute to a random eligible team.",
        ),
        NoEligibleTeam => (
            "Couldn't find eligible team",
            "Check the rule's team condition or team ids.",
        ),
        MultipleEligibleQueues => (
            "Multiple eligible queues found",
            "Narrow the rule's queue condition so that one queue qualifies, or distribute to a random eligible queue.",
        ),
        NoEligibleQueue => (
            "Couldn't find eligible queue",
            "Check the rule's queue condition or queue ids.",
        ),
        NoAssignmentRule => (
            "No assignment rule",
            "The segment has no active assignment rule: add one or activate one.",
        ),
        RulesWontRunForSegment => (
            "Rules won't run for this segment",
            "The record moved here from another segment and this segment does not run its rules on moved records: turn on \"run rules on move\" for the segment.",
        ),
    };
    Reason {
        label,
        advice,
        // Every fix of a waiting record ends with a run (the seeds say so each time).
        run_again: !advice.is_empty() && r != RecordDoesntMeetConditions,
    }
}

pub fn segment_status(s: SegmentStatus) -> Reason {
    match s {
        SegmentStatus::NoMatchingSegments => Reason {
            label: "No matching segments",
            advice: "The record matches no active segment of its type. Check the segments' conditions and that they are active; a record that should match needs a segment whose condition holds for it.",
            run_again: false,
        },
        SegmentStatus::MatchedPreviousSegment => Reason {
            label: "Matched with previous segment",
            advice: "The record matched the segment it was in before. Make sure the new segment's condition does not overlap the previous one's, or allow previously segmented records in the new segment.",
            run_again: false,
        },
        SegmentStatus::SegmentError => Reason {
            label: "Something went wrong",
            advice: "A segment condition failed on this record; the error details name the script, line and message. Fix the script and push the record again.",
            run_again: false,
        },
    }
}

pub fn sequence_status(s: SequenceStatus) -> Reason {
    match s {
        SequenceStatus::SequenceInactive => Reason {
            label: "Sequence is either deleted or inactive",
            advice: "Connect an active sequence to the segment (or activate its sequence).",
            run_again: true,
        },
        SequenceStatus::SequenceSellerLacksPrivileges => Reason {
            label: "Seller doesn't have necessary permissions",
            advice: "Give the owner access to this record type.",
            run_again: true,
        },
        SequenceStatus::SequenceError => Reason {
            label: "Something went wrong",
            advice: "The error details say what failed while connecting the sequence. Fix it.",
            run_again: true,
        },
    }
}
