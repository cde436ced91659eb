//! Processing one record: segmentation, sequence connection, assignment rules and
//! distribution. Pure logic over the catalog and the seller book; the caller persists
//! what changed.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rhai::{Dynamic, Map};

use super::book::SellerBook;
use super::catalog::{CatalogRule, CatalogSegment, SegmentCatalog};
use crate::domain::Id;
use crate::domain::config::{DistributionMethod, RoundRobinScope, TargetKind, TargetMatch};
use crate::domain::record::{
    Decision, Excluded, Owner, OwnerKind, RuleDecision, SegmentStatus, SequenceStatus, StatusReason, StoredRecord,
};
use crate::scripting::{Bindings, Script, ScriptError, Scripting, record_map};

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
                                run_rules = false;
                                rules_wont_run = rec.owner.is_none();
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

enum RuleResult {
    Assigned(Owner, RuleDecision),
    Failed(RuleDecision),
    Error(String, RuleDecision),
}

fn run_segment_rules(
    env: &mut Env<'_>,
    book: &mut SellerBook,
    rec: &mut StoredRecord,
    seg: &CatalogSegment,
    record: &mut Bindings,
) -> Option<OwnerChange> {
    rec.attempts += 1;
    rec.last_attempt_at = Some(env.now);
    rec.error_details = None;
    rec.assignment_due_at = None;
    let mut decision = Decision {
        segment_id: Some(seg.id.clone()),
        rules: Vec::new(),
    };
    // The reported failure, its rule, and that rule's due time.
    let mut best: Option<(StatusReason, Id, Option<DateTime<Utc>>)> = None;
    let mut any_active = false;
    for rule in seg.rules.iter().filter(|r| r.rule.active) {
        any_active = true;
        let result = try_rule(env, book, rec, seg, rule, record);
        // Set by `try_rule` when this rule handled the record.
        let due = rec.assignment_due_at.take();
        match result {
            RuleResult::Assigned(owner, d) => {
                rec.assignment_due_at = due;
                decision.rules.push(d);
                rec.decision = Some(decision);
                rec.status_reason = Some(StatusReason::Assigned);
                rec.rule_id = Some(rule.id.clone());
                let previous = rec.owner.take();
                if previous.as_ref() != Some(&owner) {
                    rec.previous_owner = previous.clone();
                }
                rec.owner = Some(owner.clone());
                if previous.as_ref() == Some(&owner) {
                    return None;
                }
                book.move_open(previous.as_ref(), Some(&owner));
                return Some(OwnerChange {
                    previous,
                    new: owner,
                    rule_id: Some(rule.id.clone()),
                });
            }
            RuleResult::Failed(d) => {
                let reason = d.outcome;
                decision.rules.push(d);
                if best
                    .as_ref()
                    .is_none_or(|(b, ..)| reason.specificity() > b.specificity())
                {
                    best = Some((reason, rule.id.clone(), due));
                }
            }
            RuleResult::Error(details, d) => {
                rec.assignment_due_at = due;
                decision.rules.push(d);
                rec.decision = Some(decision);
                if rec.owner.is_none() {
                    rec.status_reason = Some(StatusReason::ServerError);
                }
                rec.rule_id = Some(rule.id.clone());
                rec.error_details = Some(details);
                return None;
            }
        }
    }
    rec.decision = Some(decision);
    if rec.owner.is_some() {
        // An owned record whose rules ran on a move keeps its owner when none assigns.
        return None;
    }
    match best {
        Some((reason, rule_id, due)) if any_active => {
            rec.status_reason = Some(reason);
            rec.rule_id = Some(rule_id);
            rec.assignment_due_at = due;
        }
        _ => {
            rec.status_reason = Some(StatusReason::NoAssignmentRule);
            rec.rule_id = None;
        }
    }
    None
}

fn rule_decision(rule: &CatalogRule, outcome: StatusReason) -> RuleDecision {
    RuleDecision {
        rule_id: rule.id.clone(),
        outcome,
        candidates: 0,
        excluded: Excluded::default(),
    }
}

fn try_rule(
    env: &mut Env<'_>,
    book: &mut SellerBook,
    rec: &mut StoredRecord,
    seg: &CatalogSegment,
    rule: &CatalogRule,
    record: &mut Bindings,
) -> RuleResult {
    let r = &rule.rule;
    if let Some(hours) = r.created_within_hours
        && env.now - rec.created_on > Duration::hours(hours as i64)
    {
        return RuleResult::Failed(rule_decision(rule, StatusReason::RecordOlderThanTimeframe));
    }
    if let Some(script) = &rule.condition {
        match env.scripting.eval_condition_in(script, record) {
            Ok(true) => {}
            Ok(false) => return RuleResult::Failed(rule_decision(rule, StatusReason::RecordDoesntMeetConditions)),
            Err(e) => {
                return RuleResult::Error(
                    describe(e, format!("rule {} condition", rule.id)),
                    rule_decision(rule, StatusReason::ServerError),
                );
            }
        }
    }
    // The record meets the rule's conditions: the rule handles it. When several rules
    // handle a record, the due time shown is that of the rule shown in `rule_id` (the
    // one that assigned it, or whose failure is reported).
    // A window past the end of representable time (client-chosen `created_on`, a window
    // of up to u32::MAX hours) has no due time rather than a panic.
    rec.assignment_due_at = r
        .assignment_window_hours
        .and_then(|hours| rec.created_on.checked_add_signed(Duration::hours(hours as i64)));
    match r.assign_to.kind {
        TargetKind::Sellers => assign_seller(env, book, rec, seg, rule, record),
        TargetKind::Team | TargetKind::Queue => assign_group(env, book, rule, record),
    }
}

fn assign_seller(
    env: &mut Env<'_>,
    book: &mut SellerBook,
    rec: &StoredRecord,
    seg: &CatalogSegment,
    rule: &CatalogRule,
    record: &mut Bindings,
) -> RuleResult {
    let r = &rule.rule;
    let mut d = rule_decision(rule, StatusReason::Assigned);
    let mut cands: Vec<usize> = match target_sellers(env, book, seg, rule, record) {
        Ok(Some(slots)) => slots,
        Ok(None) => {
            return RuleResult::Failed(RuleDecision {
                outcome: StatusReason::NoSellersMeetConditions,
                ..d
            });
        }
        Err(e) => {
            d.outcome = StatusReason::ServerError;
            return RuleResult::Error(describe(e, format!("rule {} assign_to.condition", rule.id)), d);
        }
    };
    if r.assign_to.matching != TargetMatch::Any {
        d.excluded.condition = book.live.len().saturating_sub(cands.len()) as u32;
    }
    // The filters of `SellerBook::may_be_assigned`, one by one to count what each removes.
    let before = cands.len();
    cands.retain(|s| book.slots[*s].assigns_records());
    d.excluded.assign_records_off = (before - cands.len()) as u32;
    if cands.is_empty() {
        d.outcome = StatusReason::NoSellersMeetConditions;
        return RuleResult::Failed(d);
    }
    let before = cands.len();
    cands.retain(|s| book.has_eligible_role(*s));
    d.excluded.role = (before - cands.len()) as u32;
    let before = cands.len();
    cands.retain(|s| book.slots[*s].may_access(&rec.record_type));
    d.excluded.record_access = (before - cands.len()) as u32;
    if cands.is_empty() {
        d.outcome = StatusReason::SellerLacksPrivileges;
        return RuleResult::Failed(d);
    }
    if r.distribution.use_capacity {
        let before = cands.len();
        cands.retain(|s| book.slots[*s].available_capacity().is_none_or(|a| a > 0));
        d.excluded.capacity = (before - cands.len()) as u32;
        if cands.is_empty() {
            d.outcome = StatusReason::SellersAtCapacity;
            return RuleResult::Failed(d);
        }
    }
    if let Some(hours) = r.distribution.available_within_hours {
        let buckets: Vec<Option<u32>> = cands
            .iter()
            .map(|s| book.slots[*s].availability_bucket(env.now, hours))
            .collect();
        let best = buckets.iter().flatten().min().copied();
        let before = cands.len();
        cands = cands
            .iter()
            .zip(buckets)
            .filter(|(_, b)| best.is_some() && *b == best)
            .map(|(s, _)| *s)
            .collect();
        d.excluded.availability = (before - cands.len()) as u32;
        if cands.is_empty() {
            d.outcome = StatusReason::SellersUnavailable;
            return RuleResult::Failed(d);
        }
    }
    d.candidates = cands.len() as u32;
    let rr_scope = (book.settings.round_robin_scope == RoundRobinScope::Rule).then_some((&seg.id, &rule.id));
    let chosen = match r.distribution.method {
        DistributionMethod::LoadBalancing => cands.iter().copied().min_by(|a, b| {
            let ca = book.slots[*a].available_capacity();
            let cb = book.slots[*b].available_capacity();
            // Highest available capacity first; unlimited (None) is highest.
            let cap = match (ca, cb) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Less,
                (Some(_), None) => std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => y.cmp(&x),
            };
            cap.then_with(|| {
                book.slots[*a]
                    .counters
                    .open_records
                    .cmp(&book.slots[*b].counters.open_records)
            })
            .then_with(|| book.rr_key(*a, rr_scope).cmp(&book.rr_key(*b, rr_scope)))
        }),
        DistributionMethod::Script => match &rule.distribution {
            None => None,
            Some(script) => match distribute(env, book, &cands, script, record.record()) {
                Ok(Some(slot)) => Some(slot),
                Ok(None) => {
                    d.outcome = StatusReason::NoSellersMeetConditions;
                    return RuleResult::Failed(d);
                }
                Err(msg) => {
                    d.outcome = StatusReason::ServerError;
                    return RuleResult::Error(format!("rule {} distribution.script: {msg}", rule.id), d);
                }
            },
        },
        // Round robin, and the fallback for methods that do not apply to sellers.
        _ => cands
            .iter()
            .copied()
            .min_by(|a, b| book.rr_key(*a, rr_scope).cmp(&book.rr_key(*b, rr_scope))),
    };
    let Some(slot) = chosen else {
        d.outcome = StatusReason::NoSellersMeetConditions;
        return RuleResult::Failed(d);
    };
    book.note_assignment(slot, env.now, Some((&seg.id, &rule.id)));
    RuleResult::Assigned(Owner::seller(book.slots[slot].id.clone()), d)
}

/// The sellers `rule` targets (its `assign_to` match), in the order of `book.live`, before
/// the privilege, capacity and availability filters: processing and eligibility both
/// start from it. `Ok(None)`: match `condition` without a condition (refused when saved).
pub(crate) fn target_sellers(
    env: &Env<'_>,
    book: &mut SellerBook,
    seg: &CatalogSegment,
    rule: &CatalogRule,
    record: &mut Bindings,
) -> Result<Option<Vec<usize>>, ScriptError> {
    let to = &rule.rule.assign_to;
    Ok(Some(match to.matching {
        TargetMatch::Any => book.live.clone(),
        TargetMatch::Ids => {
            let mut slots: Vec<usize> = to
                .ids
                .iter()
                .filter_map(|id| book.index.get(id).copied())
                .filter(|slot| book.slots[*slot].entry.is_some())
                .collect();
            // An id listed twice is still one candidate, in id order like `live`.
            slots.sort_unstable_by(|a, b| book.slots[*a].id.cmp(&book.slots[*b].id));
            slots.dedup();
            slots
        }
        TargetMatch::Condition => {
            let Some(script) = &rule.target_condition else {
                return Ok(None);
            };
            matching_sellers(env, book, seg, rule, script, record)?
        }
    }))
}

/// Runs a distribution script over the candidates; answers the chosen slot.
fn distribute(
    env: &Env<'_>,
    book: &SellerBook,
    cands: &[usize],
    script: &Script,
    record: Option<&Dynamic>,
) -> Result<Option<usize>, String> {
    let now = env.now;
    let list: rhai::Array = cands
        .iter()
        .map(|s| {
            let slot = &book.slots[*s];
            let mut m = slot.script_map();
            m.insert(
                "last_assigned_at".into(),
                slot.counters
                    .last_assigned_at
                    .map(|t| Dynamic::from(t.to_rfc3339()))
                    .unwrap_or(Dynamic::UNIT),
            );
            m.insert("available_now".into(), Dynamic::from_bool(slot.is_available_at(now)));
            Dynamic::from_map(m)
        })
        .collect();
    let record_map = record.and_then(|r| r.clone().try_cast::<Map>()).unwrap_or_default();
    let chosen = env
        .scripting
        .call_distribution(script, record_map, list)
        .map_err(|e| e.to_string())?;
    match chosen {
        None => Ok(None),
        Some(id) => cands
            .iter()
            .copied()
            .find(|s| book.slots[*s].id.as_str() == id)
            .map(Some)
            .ok_or_else(|| format!("distribute answered {id:?}, which is not one of the candidates")),
    }
}

fn assign_group(env: &mut Env<'_>, book: &SellerBook, rule: &CatalogRule, record: &mut Bindings) -> RuleResult {
    let r = &rule.rule;
    let team = r.assign_to.kind == TargetKind::Team;
    let (all, var, kind) = if team {
        (&book.teams, "team", OwnerKind::Team)
    } else {
        (&book.queues, "queue", OwnerKind::Queue)
    };
    let mut d = rule_decision(rule, StatusReason::Assigned);
    let mut matched: Vec<&Id> = Vec::new();
    for t in all {
        let ok = match r.assign_to.matching {
            TargetMatch::Any => true,
            TargetMatch::Ids => r.assign_to.ids.contains(&t.id),
            TargetMatch::Condition => match &rule.target_condition {
                None => true,
                Some(script) => {
                    record.set_target(var, Dynamic::from_map(t.script_map.clone()));
                    let answer = env.scripting.eval_condition_in(script, record);
                    record.clear_target();
                    match answer {
                        Ok(b) => b,
                        Err(e) => {
                            d.outcome = StatusReason::ServerError;
                            return RuleResult::Error(describe(e, format!("rule {} assign_to.condition", rule.id)), d);
                        }
                    }
                }
            },
        };
        if ok {
            matched.push(&t.id);
        }
    }
    d.excluded.condition = (all.len() - matched.len()) as u32;
    d.candidates = matched.len() as u32;
    let (none, multiple) = if team {
        (StatusReason::NoEligibleTeam, StatusReason::MultipleEligibleTeams)
    } else {
        (StatusReason::NoEligibleQueue, StatusReason::MultipleEligibleQueues)
    };
    let chosen = match (matched.len(), r.distribution.method) {
        (0, _) => {
            d.outcome = none;
            return RuleResult::Failed(d);
        }
        (1, _) => matched[0],
        (_, DistributionMethod::Random) => matched[env.rng.below(matched.len())],
        _ => {
            d.outcome = multiple;
            return RuleResult::Failed(d);
        }
    };
    RuleResult::Assigned(
        Owner {
            kind,
            id: chosen.clone(),
        },
        d,
    )
}

/// The live sellers whose target condition holds for this record, memoised on the
/// record fields the condition reads when the catalog allows it.
fn matching_sellers(
    env: &Env<'_>,
    book: &mut SellerBook,
    seg: &CatalogSegment,
    rule: &CatalogRule,
    script: &Script,
    record: &mut Bindings,
) -> Result<Vec<usize>, ScriptError> {
    let key = rule
        .target_memo
        .as_deref()
        .and_then(|fields| record.record().and_then(|r| memo_key(r, fields)));
    if let Some(key) = &key
        && let Some(hit) = book.memo_get(env.catalog.generation, (&seg.id, &rule.id), key)
    {
        return Ok(hit.to_vec());
    }
    let mut out = Vec::new();
    for i in 0..book.live.len() {
        let slot = book.live[i];
        // A memoisable condition reads no counters: the seller's base map is enough.
        let seller = match (&key, &book.slots[slot].entry) {
            (Some(_), Some(entry)) => Dynamic::from_map(entry.script_base.clone()),
            _ => Dynamic::from_map(book.slots[slot].script_map()),
        };
        record.set_target("seller", seller);
        let answer = env.scripting.eval_condition_in(script, record);
        record.clear_target();
        if answer? {
            out.push(slot);
        }
    }
    if let Some(key) = key {
        book.memo_put((&seg.id, &rule.id), key, out.clone().into());
    }
    Ok(out)
}

/// The memo key of a record: the type and value of each field read, in order. `None`
/// when a value is not a plain scalar (then the record is evaluated afresh).
fn memo_key(record: &Dynamic, fields: &[String]) -> Option<String> {
    use std::fmt::Write;
    let map = record.read_lock::<Map>()?;
    let mut key = String::with_capacity(16 * fields.len());
    for field in fields {
        let v = map.get(field.as_str());
        match v {
            None => key.push('~'),
            Some(v) if v.is_unit() => key.push('~'),
            Some(v) if v.is_string() || v.is_int() || v.is_bool() || v.is_float() || v.is_char() => {
                let _ = write!(key, "{}:{}", v.type_name(), v);
            }
            Some(_) => return None,
        }
        key.push('\u{1f}');
    }
    Some(key)
}
