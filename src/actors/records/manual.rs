//! Manual assignment and eligible sellers: a manual change of owner goes through the
//! same serialised path as rules and runs, so a run racing a manual assignment never
//! assigns a record twice.

use actix::prelude::*;

use super::RecordActor;
use super::batch::{Batch, Outcome};
use crate::domain::Id;
use crate::domain::history::{AssignResult, ChangedBy, HistoryEntry};
use crate::domain::record::{Owner, OwnerKind, StatusReason, StoredRecord};
use crate::domain::seller::EligibleSeller;
use crate::error::Error;
use crate::pipeline::eligibility;
use crate::pipeline::engine::Env;
use crate::store::RuleTurn;

/// Assign records by hand to a seller or a team.
#[derive(Message)]
#[rtype(result = "Result<Vec<AssignResult>, Error>")]
pub struct ManualAssign {
    pub record_ids: Vec<Id>,
    pub assignee: Owner,
    pub only_eligible: bool,
    /// Who did it (the token id), for history.
    pub actor: String,
}

/// Sellers eligible for a record, with what the admin needs to choose, in id order.
#[derive(Message)]
#[rtype(result = "Result<Vec<EligibleSeller>, Error>")]
pub struct EligibleSellers(pub Id);

impl RecordActor {
    /// Who may take `rec` under its segment's rules (see `eligibility::eligible`).
    fn eligible(&mut self, rec: &StoredRecord, now: chrono::DateTime<chrono::Utc>) -> eligibility::Eligible {
        let catalog = self.catalog.clone();
        let scripting = self.scripting.clone();
        let env = Env {
            catalog: &catalog,
            scripting: &scripting,
            now,
            rng: &mut self.rng,
        };
        eligibility::eligible(&env, &mut self.book, rec)
    }
}

impl Handler<EligibleSellers> for RecordActor {
    type Result = Result<Vec<EligibleSeller>, Error>;

    fn handle(&mut self, msg: EligibleSellers, _: &mut Context<Self>) -> Self::Result {
        self.refresh_book();
        let (rec, _) = self
            .load_record(&msg.0)?
            .ok_or_else(|| Error::not_found("record", msg.0.to_string()))?;
        let now = self.clock.now();
        let found = self.eligible(&rec, now);
        for e in &found.errors {
            tracing::warn!(record = %rec.id, error = %e, "a script failed while listing eligible sellers");
        }
        // Slots are numbered in the order sellers were first seen (counters load before
        // configuration at start), so they give no stable order: answer by id.
        let mut sellers: Vec<EligibleSeller> = found
            .sellers
            .into_iter()
            .filter_map(|slot| {
                let s = &self.book.slots[slot];
                let entry = s.entry.as_ref()?;
                Some(EligibleSeller {
                    id: s.id.clone(),
                    name: entry.seller.name.clone(),
                    open_records: s.counters.open_records,
                    available_capacity: s.available_capacity(),
                    available_now: s.is_available_at(now),
                })
            })
            .collect();
        sellers.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(sellers)
    }
}

impl RecordActor {
    /// Puts a manual assignment to `slot` on the round-robin clock: the organization's
    /// order, and the order of every rule of the record's segment (what the rule scope
    /// reads), so the seller waits its turn under either scope. Answers the per-rule rows
    /// to persist. Only a change of owner is an assignment: assigning a record to its
    /// owner again gives no turn.
    fn note_manual_turn(
        &mut self,
        slot: usize,
        segment: Option<&Id>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<RuleTurn> {
        self.book.note_assignment(slot, now, None);
        let seq = self.book.slots[slot].counters.last_assigned_seq;
        let Some(seg) = segment.and_then(|s| self.catalog.segments.get(s)) else {
            return Vec::new();
        };
        let seller = &self.book.slots[slot].id;
        let rows = seg
            .rules
            .iter()
            .map(|r| RuleTurn {
                segment_id: seg.id.clone(),
                rule_id: r.id.clone(),
                seller_id: seller.clone(),
                seq,
            })
            .collect();
        for r in &seg.rules {
            self.book
                .rule_rr
                .entry((seg.id.clone(), r.id.clone()))
                .or_default()
                .insert(slot, seq);
        }
        rows
    }
}

fn failure(record_id: Id, err: Error) -> AssignResult {
    AssignResult {
        record_id,
        ok: false,
        record: None,
        error: Some(serde_json::json!({"code": err.code(), "message": err.public_message()})),
    }
}

impl Handler<ManualAssign> for RecordActor {
    type Result = AtomicResponse<Self, Result<Vec<AssignResult>, Error>>;

    fn handle(&mut self, msg: ManualAssign, _: &mut Context<Self>) -> Self::Result {
        let ready = |r| AtomicResponse::new(Box::pin(fut::ready(r)));
        self.refresh_book();
        let now = self.clock.now();
        let assignee_exists = match msg.assignee.kind {
            OwnerKind::Seller => self.sellers.contains(msg.assignee.id.as_str()),
            OwnerKind::Team => self.teams.contains(msg.assignee.id.as_str()),
            OwnerKind::Queue => self.queues.contains(msg.assignee.id.as_str()),
        };
        if !assignee_exists {
            let kind = match msg.assignee.kind {
                OwnerKind::Seller => "seller",
                OwnerKind::Team => "team",
                OwnerKind::Queue => "queue",
            };
            return ready(Err(Error::validation(
                "assignee.id",
                format!("{kind} {} does not exist", msg.assignee.id),
            )));
        }
        // One read transaction for every record named (up to 1000), not one each.
        let loaded: Result<Vec<_>, Error> = self
            .store
            .read()
            .and_then(|txn| txn.records())
            .map_err(Error::from)
            .and_then(|stored| {
                msg.record_ids
                    .iter()
                    .map(|id| Ok((id.clone(), self.current_record(&stored, id)?)))
                    .collect()
            });
        let loaded = match loaded {
            Ok(l) => l,
            Err(e) => return ready(Err(e)),
        };
        if msg.only_eligible {
            for (id, rec) in &loaded {
                let Some((rec, _)) = rec else { continue };
                let found = self.eligible(rec, now);
                let eligible = match msg.assignee.kind {
                    OwnerKind::Seller => self
                        .book
                        .index
                        .get(&msg.assignee.id)
                        .is_some_and(|slot| found.sellers.contains(slot)),
                    OwnerKind::Team => found.teams.contains(&msg.assignee.id),
                    OwnerKind::Queue => false,
                };
                if !eligible {
                    return ready(Err(Error::validation(
                        "assignee",
                        format!(
                            "{} is not eligible for record {id} under the rules of its segment; nothing was assigned",
                            msg.assignee.id
                        ),
                    )));
                }
            }
        }
        let order: Vec<Id> = msg.record_ids.clone();
        let mut records = Vec::new();
        let mut olds = Vec::new();
        let mut history = Vec::new();
        let mut touched = Vec::new();
        let mut rule_turns = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (id, current) in loaded {
            let Some(current) = current else { continue };
            if !seen.insert(id.clone()) {
                continue;
            }
            let mut rec = current.0.clone();
            let previous = rec.owner.clone();
            if previous.as_ref() != Some(&msg.assignee) {
                if rec.open {
                    touched.extend(self.book.move_open(previous.as_ref(), Some(&msg.assignee)));
                }
                rec.previous_owner = previous.clone();
                history.push(HistoryEntry {
                    id: String::new(),
                    record_id: rec.id.clone(),
                    record_type: rec.record_type.clone(),
                    assignee: msg.assignee.clone(),
                    previous_owner: previous,
                    at: now,
                    by: ChangedBy::Manual,
                    rule_id: None,
                    run_id: None,
                    actor: msg.actor.clone(),
                });
                if let Some(seller) = msg.assignee.seller_id()
                    && let Some(slot) = self.book.index.get(seller).copied()
                {
                    rule_turns.extend(self.note_manual_turn(slot, rec.segment_id.as_ref(), now));
                    touched.push(slot);
                }
            }
            rec.owner = Some(msg.assignee.clone());
            rec.status_reason = Some(StatusReason::AssignedManually);
            rec.rule_id = None;
            rec.error_details = None;
            // A record still to be processed stays so: its queued processing (or the
            // resume at the next start) still segments it and connects its sequence, and
            // keeps this owner since owned records are not reassigned.
            rec.updated_at = now;
            records.push(rec);
            olds.push(Some(current));
        }
        let outcome = Outcome {
            counters: self.counter_rows(touched),
            rule_turns,
            history,
        };
        let batch = match Batch::new(&olds, records, outcome, self.book.next_assignment_seq, None) {
            Ok(b) => b,
            Err(e) => return ready(Err(e)),
        };
        AtomicResponse::new(Box::pin(self.commit(batch).map(move |res, act, _| match res {
            Ok(batch) => {
                let now = act.clock.now();
                let mut done = std::collections::HashSet::new();
                let by_id: std::collections::HashMap<&Id, &StoredRecord> =
                    batch.records.iter().map(|r| (&r.id, r)).collect();
                let results = order
                    .into_iter()
                    .filter(|id| done.insert(id.clone()))
                    .map(|id| match by_id.get(&id) {
                        Some(r) => AssignResult {
                            record_id: id,
                            ok: true,
                            record: Some(r.status_view(now)),
                            error: None,
                        },
                        None => failure(id.clone(), Error::not_found("record", id.to_string())),
                    })
                    .collect();
                Ok(results)
            }
            // `commit` has resynchronised memory with the store.
            Err(e) => Err(e),
        })))
    }
}
