//! Who may take a record under its segment's rules: the sellers (or teams) that pass the
//! target match, `assign_records`, eligible roles and `record_access` of at least one
//! active rule whose record condition the record meets. Capacity and availability are
//! not filters here: manual assignment shows them, the admin decides.

use std::collections::BTreeSet;

use rhai::Dynamic;

use super::book::SellerBook;
use super::catalog::{CatalogRule, SegmentCatalog};
use super::engine::script_record;
use crate::domain::Id;
use crate::domain::config::{TargetKind, TargetMatch};
use crate::domain::record::StoredRecord;
use crate::scripting::Scripting;

/// Slots of the sellers eligible for `rec`, and the ids of eligible teams.
pub struct Eligible {
    pub sellers: BTreeSet<usize>,
    pub teams: BTreeSet<Id>,
    /// Scripts that failed while deciding (named with their message); their rule is
    /// skipped whole: no seller or team is eligible through it.
    pub errors: Vec<String>,
}

pub fn eligible(
    catalog: &SegmentCatalog,
    scripting: &Scripting,
    book: &SellerBook,
    rec: &StoredRecord,
    now: chrono::DateTime<chrono::Utc>,
) -> Eligible {
    let mut out = Eligible {
        sellers: BTreeSet::new(),
        teams: BTreeSet::new(),
        errors: Vec::new(),
    };
    let Some(seg) = rec.segment_id.as_ref().and_then(|s| catalog.segments.get(s)) else {
        return out;
    };
    let record = Dynamic::from_map(script_record(rec, now));
    for rule in seg.rules.iter().filter(|r| r.rule.active) {
        if let Some(script) = &rule.condition {
            match scripting.eval_condition(script, &[("record", record.clone())]) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    out.errors
                        .push(e.in_script(format!("rule {} condition", rule.id)).to_string());
                    continue;
                }
            }
        }
        match rule.rule.assign_to.kind {
            TargetKind::Sellers => sellers_of_rule(scripting, book, rec, rule, &record, &mut out),
            TargetKind::Team => teams_of_rule(scripting, book, rule, &record, &mut out),
            TargetKind::Queue => {}
        }
    }
    out
}

fn sellers_of_rule(
    scripting: &Scripting,
    book: &SellerBook,
    rec: &StoredRecord,
    rule: &CatalogRule,
    record: &Dynamic,
    out: &mut Eligible,
) {
    let to = &rule.rule.assign_to;
    // Kept only when the target condition answers for every seller: a rule whose
    // condition fails is skipped whole, as processing fails it whole (`server_error`).
    let mut found = Vec::new();
    for &slot in &book.live {
        let s = &book.slots[slot];
        let matched = match to.matching {
            TargetMatch::Any => true,
            TargetMatch::Ids => to.ids.contains(&s.id),
            TargetMatch::Condition => match &rule.target_condition {
                None => true,
                Some(script) => {
                    let seller = Dynamic::from_map(s.script_map());
                    match scripting.eval_condition(script, &[("record", record.clone()), ("seller", seller)]) {
                        Ok(b) => b,
                        Err(e) => {
                            out.errors
                                .push(e.in_script(format!("rule {} assign_to.condition", rule.id)).to_string());
                            return;
                        }
                    }
                }
            },
        };
        let assignable = s.entry.as_ref().is_some_and(|e| e.seller.assign_records);
        if matched && assignable && book.has_eligible_role(slot) && s.may_access(&rec.record_type) {
            found.push(slot);
        }
    }
    out.sellers.extend(found);
}

fn teams_of_rule(scripting: &Scripting, book: &SellerBook, rule: &CatalogRule, record: &Dynamic, out: &mut Eligible) {
    let to = &rule.rule.assign_to;
    let mut found = Vec::new();
    for t in &book.teams {
        let matched = match to.matching {
            TargetMatch::Any => true,
            TargetMatch::Ids => to.ids.contains(&t.id),
            TargetMatch::Condition => match &rule.target_condition {
                None => true,
                Some(script) => {
                    let team = Dynamic::from_map(t.script_map.clone());
                    match scripting.eval_condition(script, &[("record", record.clone()), ("team", team)]) {
                        Ok(b) => b,
                        Err(e) => {
                            out.errors
                                .push(e.in_script(format!("rule {} assign_to.condition", rule.id)).to_string());
                            return;
                        }
                    }
                }
            },
        };
        if matched {
            found.push(t.id.clone());
        }
    }
    out.teams.extend(found);
}
