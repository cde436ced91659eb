//! A segment's assignment rules on one record, by priority: the rule's own conditions
//! (active, age window, record condition), then its target (sellers through the filters
//! of the contract's order, a team, a queue) and its distribution (round robin, load
//! balancing, a script). Each rule's outcome is kept in the record's `decision`.
//!
//! Size: ~475 lines of rules, and the property tests of the seller-condition memo (which
//! must agree with evaluating afresh) beside the key they pin down.

use chrono::{DateTime, Duration, Utc};
use rhai::{Dynamic, Map};

use super::super::book::SellerBook;
use super::super::catalog::{CatalogRule, CatalogSegment};
use super::{Env, OwnerChange, describe};
use crate::domain::Id;
use crate::domain::config::{DistributionMethod, RoundRobinScope, TargetKind, TargetMatch};
use crate::domain::record::{Decision, Excluded, Owner, OwnerKind, RuleDecision, StatusReason, StoredRecord};
use crate::scripting::{Bindings, Script, ScriptError};

enum RuleResult {
    Assigned(Owner, RuleDecision),
    Failed(RuleDecision),
    Error(String, RuleDecision),
}

pub(super) fn run_segment_rules(
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
///
/// Exact: each field is `~` (absent or unit) or `type:length:value`, the value's byte
/// length written out, so no value (an integration client chooses them, separators and
/// all) can end one field early and forge the next; two records share a key only when
/// every field read has the same type and the same text.
pub(super) fn memo_key(record: &Dynamic, fields: &[String]) -> Option<String> {
    use std::fmt::Write;
    let map = record.read_lock::<Map>()?;
    let mut key = String::with_capacity(16 * fields.len());
    let mut text = String::new();
    for field in fields {
        let v = map.get(field.as_str());
        match v {
            None => key.push('~'),
            Some(v) if v.is_unit() => key.push('~'),
            Some(v) if v.is_string() || v.is_int() || v.is_bool() || v.is_float() || v.is_char() => {
                text.clear();
                let _ = write!(text, "{v}");
                let _ = write!(key, "{}:{}:{text}", v.type_name(), text.len());
            }
            Some(_) => return None,
        }
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::config::{Queue, Segment, Seller, Settings, Team};
    use crate::pipeline::catalog::SegmentCatalog;
    use crate::pipeline::engine::Rng;
    use crate::scripting::{ScriptPurpose, Scripting, record_map};

    /// Pieces that end a field early in a naive key (`\u{1f}`, `:`, `~`, type names,
    /// digits), unicode, and text that a number prints as.
    fn adversarial_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("a"),
            Just("b"),
            Just("\u{1f}"),
            Just(":"),
            Just("~"),
            Just("string:"),
            Just("i64:"),
            Just("1"),
            Just("1.0"),
            Just("é"),
            Just("\u{0}"),
        ];
        prop::collection::vec(piece, 0..5).prop_map(|p| p.concat())
    }

    /// A record attribute: absent (`None`), or a JSON value of each scalar kind.
    fn attribute() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            Just(None),
            Just(Some(Value::Null)),
            adversarial_text().prop_map(|s| Some(json!(s))),
            (-2i64..12).prop_map(|n| Some(json!(n))),
            prop_oneof![Just(1.0f64), Just(1.5), Just(-0.0), Just(10.0)].prop_map(|f| Some(json!(f))),
            any::<bool>().prop_map(|b| Some(json!(b))),
        ]
    }

    fn record(a: &Option<Value>, b: &Option<Value>) -> Dynamic {
        let mut attributes = serde_json::Map::new();
        for (name, v) in [("a", a), ("b", b)] {
            if let Some(v) = v {
                attributes.insert(name.into(), v.clone());
            }
        }
        let now = chrono::Utc::now();
        Dynamic::from_map(record_map("r", "lead", "n", "t", now, now, &attributes))
    }

    fn fields() -> Vec<String> {
        vec!["a".to_string(), "b".to_string()]
    }

    /// The field as a condition compares it: its type and its text.
    fn seen(record: &Dynamic, field: &str) -> Option<(String, String)> {
        let map = record.read_lock::<Map>()?;
        map.get(field)
            .filter(|v| !v.is_unit())
            .map(|v| (v.type_name().to_string(), v.to_string()))
    }

    /// The collision of the former key (fields joined by U+001F): the first value carries
    /// a separator and the start of the next field.
    #[test]
    fn a_separator_in_a_value_cannot_forge_the_next_field() {
        let r1 = record(&Some(json!("a\u{1f}string:b")), &Some(json!("a")));
        let r2 = record(&Some(json!("a")), &Some(json!("b\u{1f}string:a")));
        assert_ne!(memo_key(&r1, &fields()), memo_key(&r2, &fields()));
    }

    proptest! {
        /// Two records share a memo key only when every field the condition reads has
        /// the same type and text in both.
        #[test]
        fn equal_keys_mean_equal_fields(a1 in attribute(), b1 in attribute(), a2 in attribute(), b2 in attribute()) {
            let (r1, r2) = (record(&a1, &b1), record(&a2, &b2));
            let (k1, k2) = (memo_key(&r1, &fields()), memo_key(&r2, &fields()));
            if let (Some(k1), Some(k2)) = (k1, k2) {
                let same_fields = ["a", "b"].iter().all(|f| seen(&r1, f) == seen(&r2, f));
                prop_assert_eq!(k1 == k2, same_fields, "a1={:?} b1={:?} a2={:?} b2={:?}", a1, b1, a2, b2);
            }
        }

        /// The sellers a memoised seller condition matches are the ones it matches
        /// evaluated afresh, record after record, whatever the attribute values. Each
        /// case starts with a pair that a key joining fields by a separator would confuse
        /// (`x␟string:y`, `z` and `x`, `y␟string:z`) and a seller matching the first.
        #[test]
        fn memoised_and_fresh_matches_agree(
            (x, y, z) in (adversarial_text(), adversarial_text(), adversarial_text()),
            mut seller_values in prop::collection::vec((attribute(), attribute()), 0..5),
            more_records in prop::collection::vec((attribute(), attribute()), 0..10),
        ) {
            let forged = Some(json!(format!("{x}\u{1f}string:{y}")));
            let pair = [
                (forged.clone(), Some(json!(z.clone()))),
                (Some(json!(x)), Some(json!(format!("{y}\u{1f}string:{z}")))),
            ];
            seller_values.push(pair[0].clone());
            let records: Vec<_> = pair.into_iter().chain(more_records).collect();
            let scripting = Scripting::new();
            let condition = "seller.attributes.a == record.a && seller.attributes.b == record.b";
            let script = scripting
                .compile(ScriptPurpose::SellerCondition, condition)
                .map_err(|e| TestCaseError::fail(e.to_string()))?
                .ok_or_else(|| TestCaseError::fail("an empty script"))?;
            let rule: crate::domain::config::Rule = serde_json::from_value(json!({
                "name": "r", "priority": 1,
                "assign_to": {"type": "sellers", "match": "condition", "condition": condition},
                "distribution": {"method": "round_robin"}
            })).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let rule = CatalogRule::new(Id::parse("id", "r").map_err(|e| TestCaseError::fail(e.to_string()))?, rule, None, Some(script.clone()), None);
            prop_assert!(rule.target_memo.is_some(), "the condition is memoisable");
            let segment: Segment = serde_json::from_value(json!({"name": "s", "record_type": "lead", "priority": 1}))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let seg = CatalogSegment {
                id: Id::parse("id", "s").map_err(|e| TestCaseError::fail(e.to_string()))?,
                segment,
                condition: None,
                rules: vec![rule.clone()],
            };
            let catalog = SegmentCatalog { generation: 1, ..Default::default() };
            let sellers: Vec<(Id, Seller)> = seller_values
                .iter()
                .enumerate()
                .map(|(i, (a, b))| {
                    let mut attributes = serde_json::Map::new();
                    for (name, v) in [("a", a), ("b", b)] {
                        if let Some(v) = v {
                            attributes.insert(name.into(), v.clone());
                        }
                    }
                    let seller = serde_json::from_value(json!({"name": format!("s{i}"), "attributes": attributes}))
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    Ok((Id::parse("id", &format!("s{i}")).map_err(|e| TestCaseError::fail(e.to_string()))?, seller))
                })
                .collect::<Result<_, TestCaseError>>()?;
            let book_of = || {
                let mut book = SellerBook::new(HashMap::new(), 1);
                let teams: Vec<(Id, Team)> = Vec::new();
                let queues: Vec<(Id, Queue)> = Vec::new();
                book.set_config(
                    sellers.iter().map(|(i, s)| (i, s)),
                    teams.iter().map(|(i, t)| (i, t)),
                    queues.iter().map(|(i, q)| (i, q)),
                    &Settings::default(),
                );
                book
            };
            let mut memoised = book_of();
            let mut rng = Rng::seeded();
            let env = Env { catalog: &catalog, scripting: &scripting, now: chrono::Utc::now(), rng: &mut rng };
            for (a, b) in &records {
                let map = record(a, b).cast::<Map>();
                let warm = matching_sellers(&env, &mut memoised, &seg, &rule, &script, &mut Bindings::new(map.clone()))
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let fresh = matching_sellers(&env, &mut book_of(), &seg, &rule, &script, &mut Bindings::new(map))
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(warm, fresh, "record a={:?} b={:?}", a, b);
            }
        }
    }
}
