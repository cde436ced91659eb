//! Who may take a record under its segment's rules: the sellers (or teams) that pass the
//! target match, `assign_records`, eligible roles and `record_access` of at least one
//! active rule whose record condition the record meets. Capacity and availability are
//! not filters here: manual assignment shows them, the admin decides.

use std::collections::BTreeSet;

use rhai::Dynamic;

use super::book::SellerBook;
use super::catalog::CatalogRule;
use super::engine::{Env, script_record, target_sellers};
use crate::domain::Id;
use crate::domain::config::{TargetKind, TargetMatch};
use crate::domain::record::StoredRecord;
use crate::scripting::{Bindings, Scripting};

/// Slots of the sellers eligible for `rec`, and the ids of eligible teams.
pub struct Eligible {
    pub sellers: BTreeSet<usize>,
    pub teams: BTreeSet<Id>,
    /// Scripts that failed while deciding (named with their message); their rule is
    /// skipped whole: no seller or team is eligible through it.
    pub errors: Vec<String>,
}

/// Eligibility of `rec` under its segment's rules. Sellers start from the same target
/// match as processing (`engine::target_sellers`, memo included) and pass the same
/// privilege filters (`SellerBook::may_be_assigned`).
pub fn eligible(env: &Env<'_>, book: &mut SellerBook, rec: &StoredRecord) -> Eligible {
    let mut out = Eligible {
        sellers: BTreeSet::new(),
        teams: BTreeSet::new(),
        errors: Vec::new(),
    };
    let Some(seg) = rec
        .segment_id
        .as_ref()
        .and_then(|s| env.catalog.segments.get(s))
        .cloned()
    else {
        return out;
    };
    let mut record = Bindings::new(script_record(rec, env.now));
    for rule in seg.rules.iter().filter(|r| r.rule.active) {
        if let Some(script) = &rule.condition {
            match env.scripting.eval_condition_in(script, &mut record) {
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
            // A rule whose target condition fails is skipped whole, as processing fails
            // it whole (`server_error`).
            TargetKind::Sellers => match target_sellers(env, book, &seg, rule, &mut record) {
                Ok(slots) => out.sellers.extend(
                    slots
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|slot| book.may_be_assigned(*slot, &rec.record_type)),
                ),
                Err(e) => out
                    .errors
                    .push(e.in_script(format!("rule {} assign_to.condition", rule.id)).to_string()),
            },
            TargetKind::Team => teams_of_rule(env.scripting, book, rule, &mut record, &mut out),
            TargetKind::Queue => {}
        }
    }
    out
}

fn teams_of_rule(
    scripting: &Scripting,
    book: &SellerBook,
    rule: &CatalogRule,
    record: &mut Bindings,
    out: &mut Eligible,
) {
    let to = &rule.rule.assign_to;
    let mut found = Vec::new();
    for t in &book.teams {
        let matched = match to.matching {
            TargetMatch::Any => true,
            TargetMatch::Ids => to.ids.contains(&t.id),
            TargetMatch::Condition => match &rule.target_condition {
                None => true,
                Some(script) => {
                    record.set_target("team", Dynamic::from_map(t.script_map.clone()));
                    let answer = scripting.eval_condition_in(script, record);
                    record.clear_target();
                    match answer {
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
