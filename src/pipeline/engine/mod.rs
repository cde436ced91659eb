//! Processing one record: segmentation, sequence connection, assignment rules and
//! distribution. Pure logic over the catalog and the seller book; the caller persists
//! what changed.
//!
//! - this file: the record's way through (segment, sequence, then its segment's rules);
//! - [`rules`]: one segment's rules on a record: conditions, filters, distribution.

mod rules;

use rules::run_segment_rules;
pub(crate) use rules::target_sellers;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rhai::Map;

use super::book::SellerBook;
use super::catalog::{CatalogSegment, SegmentCatalog};
use crate::domain::Id;
use crate::domain::record::{Decision, Owner, SegmentStatus, SequenceStatus, StatusReason, StoredRecord};
use crate::scripting::{Bindings, ScriptError, Scripting, record_map};

/// Everything one processing step reads besides the book and the record.
pub struct Env<'a> {
    pub catalog: &'a SegmentCatalog,
    pub scripting: &'a Scripting,
    pub now: DateTime<Utc>,
    pub rng: &'a mut Rng,
}

/// A change of owner made by the rules.
#[derive(Debug, Clone)]
pub struct OwnerChange {
    pub previous: Option<Owner>,
    pub new: Owner,
    pub rule_id: Option<Id>,
}

/// What to do with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// New or updated: segment it (when `resegment`) and run rules when it is open and
    /// unowned.
    Process { resegment: bool },
    /// A reassignment run: the segment's rules again, no segmentation.
    Rerun,
}

/// xorshift64*: enough for `random` distribution, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn seeded() -> Rng {
        let mut b = [0u8; 8];
        let seed = match getrandom::fill(&mut b) {
            Ok(()) => u64::from_le_bytes(b),
            Err(_) => Utc::now().timestamp_nanos_opt().unwrap_or(1) as u64,
        };
        Rng(seed | 1)
    }

    /// A fixed sequence, for tests and benchmarks that must decide the same way each
    /// run (the state must not be 0, which xorshift never leaves).
    pub fn from_seed(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((x as u128 * n as u128) >> 64) as usize
    }
}

/// The record a script sees, built once per record.
pub fn script_record(rec: &StoredRecord, now: DateTime<Utc>) -> Map {
    record_map(
        rec.id.as_str(),
        rec.record_type.as_str(),
        &rec.name,
        &rec.topic,
        rec.created_on,
        now,
        &rec.attributes,
    )
}

fn describe(e: ScriptError, script: String) -> String {
    e.in_script(script).to_string()
}

/// A record's segmentation and script record, worked out before it reaches the seller
/// actor (on an HTTP worker, in parallel with the actor): segment conditions read only
/// the record, so this is the actor's own answer as long as the catalog generation and
/// the record's `created_on` are the ones it was worked out with. `age_hours` is then
/// the record's age when it arrived.
pub struct Presegmented {
    pub generation: u64,
    pub created_on: DateTime<Utc>,
    pub record: Map,
    pub segment: Result<Option<Id>, String>,
}

/// Segments an incoming record as [`process`] would, at `received_at`.
pub fn presegment(
    catalog: &SegmentCatalog,
    scripting: &Scripting,
    input: &crate::domain::record::RecordInput,
    received_at: DateTime<Utc>,
) -> Presegmented {
    let created_on = input.created_on.unwrap_or(received_at);
    let mut record = Bindings::new(record_map(
        input.id.as_str(),
        input.record_type.as_str(),
        &input.name,
        &input.topic,
        created_on,
        received_at,
        &input.attributes,
    ));
    let segment =
        first_matching_segment(catalog, scripting, &input.record_type, &mut record).map(|s| s.map(|s| s.id.clone()));
    Presegmented {
        generation: catalog.generation,
        created_on,
        record: record.into_map(),
        segment,
    }
}

/// Processes `rec` in place; answers the owner change, if any. `pre`, when it still
/// holds for this catalog and record, stands for segmenting the record here.
pub fn process(
    env: &mut Env<'_>,
    book: &mut SellerBook,
    rec: &mut StoredRecord,
    mode: Mode,
    pre: Option<Presegmented>,
) -> Option<OwnerChange> {
    rec.stage = crate::domain::record::Stage::Processed;
    rec.updated_at = env.now;
    if !rec.open {
        return None;
    }
    let pre = pre.filter(|p| p.generation == env.catalog.generation && p.created_on == rec.created_on);
    let (mut record, presegmented) = match pre {
        Some(p) => (Bindings::new(p.record), Some(p.segment)),
        None => (Bindings::new(script_record(rec, env.now)), None),
    };
    let mut run_rules = rec.owner.is_none();
    let mut rules_wont_run = false;

    if let Mode::Process { resegment } = mode {
        let current = rec
            .segment_id
            .as_ref()
            .and_then(|s| env.catalog.segments.get(s))
            .cloned();
        if resegment || current.is_none() {
            rec.segment_status = None;
            rec.error_details = None;
            let segmented = match presegmented {
                Some(found) => found.map(|id| id.and_then(|id| env.catalog.segments.get(&id).cloned())),
                None => first_matching_segment(env.catalog, env.scripting, &rec.record_type, &mut record),
            };
            match segmented {
                Err(details) => {
                    rec.segment_status = Some(SegmentStatus::SegmentError);
                    rec.error_details = Some(details);
                    // No rule ran: like an unsegmented record, no assignment outcome
                    // (ingest left `in_progress`, which a processed record is not).
                    if rec.owner.is_none() {
                        rec.status_reason = None;
                    }
                    return None;
                }
                Ok(None) => {
                    rec.segment_status = Some(SegmentStatus::NoMatchingSegments);
                    rec.segment_id = None;
                    rec.rule_id = None;
                    rec.sequence_id = None;
                    rec.sequence_status = None;
                    rec.decision = None;
                    if rec.owner.is_none() {
                        rec.status_reason = None;
                    }
                    return None;
                }
                Ok(Some(target)) => match &current {
                    Some(cur) if cur.id != target.id => {
                        if target.segment.accept_previously_segmented {
                            rec.segment_id = Some(target.id.clone());
                            rec.rule_id = None;
                            if target.segment.run_rules_on_move {
                                run_rules = true;
                            } else {
                                // Owned or not, the new segment's rules do not run: an
                                // owner stays, and the reason says why nothing was tried.
                                run_rules = false;
                                rules_wont_run = true;
                            }
                        } else {
                            rec.segment_status = Some(SegmentStatus::MatchedPreviousSegment);
                        }
                    }
                    _ => rec.segment_id = Some(target.id.clone()),
                },
            }
        }
    }

    let seg = rec
        .segment_id
        .as_ref()
        .and_then(|s| env.catalog.segments.get(s))
        .cloned()?;
    connect_sequence(env, book, rec, &seg);
    if rules_wont_run {
        rec.status_reason = Some(StatusReason::RulesWontRunForSegment);
        rec.decision = Some(Decision {
            segment_id: Some(seg.id.clone()),
            rules: Vec::new(),
        });
        return None;
    }
    if !run_rules {
        return None;
    }
    let change = run_segment_rules(env, book, rec, &seg, &mut record);
    if change.is_some() {
        connect_sequence(env, book, rec, &seg);
    }
    change
}

/// The first active segment of the record's type whose condition holds.
fn first_matching_segment(
    catalog: &SegmentCatalog,
    scripting: &Scripting,
    record_type: &crate::domain::RecordType,
    record: &mut Bindings,
) -> Result<Option<Arc<CatalogSegment>>, String> {
    for seg in catalog.segments_of(record_type) {
        if !seg.segment.active {
            continue;
        }
        let holds = match &seg.condition {
            None => true,
            Some(script) => scripting
                .eval_condition_in(script, record)
                .map_err(|e| describe(e, format!("segment {} condition", seg.id)))?,
        };
        if holds {
            return Ok(Some(seg.clone()));
        }
    }
    Ok(None)
}

/// Connects the record to its segment's sequence. `sequence_id` names the segment's
/// sequence even when it is inactive or deleted (with `sequence_inactive`), so the
/// status details say which sequence to fix.
fn connect_sequence(env: &Env<'_>, book: &SellerBook, rec: &mut StoredRecord, seg: &CatalogSegment) {
    rec.sequence_status = None;
    rec.sequence_id = seg.segment.sequence_id.clone();
    let Some(seq_id) = &seg.segment.sequence_id else { return };
    match env.catalog.sequences.get(seq_id) {
        Some(seq) if seq.active => {
            let owner_lacks_access = rec
                .owner
                .as_ref()
                .and_then(Owner::seller_id)
                .and_then(|s| book.index.get(s))
                .is_some_and(|slot| {
                    book.slots[*slot].entry.is_some() && !book.slots[*slot].may_access(&rec.record_type)
                });
            if owner_lacks_access {
                rec.sequence_status = Some(SequenceStatus::SequenceSellerLacksPrivileges);
            }
        }
        _ => rec.sequence_status = Some(SequenceStatus::SequenceInactive),
    }
}
