//! The seller book: sellers, teams and queues as record processing sees them, with the
//! live counters (open records, round-robin order) that assignments change.
//!
//! Slots are stable: a seller keeps its slot across edits and a deleted seller's slot
//! keeps its counters (it may still own open records), so memos can hold slot numbers.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rhai::Map;

use crate::domain::availability::Calendar;
use crate::domain::config::{Queue, Seller, Settings, Team};
use crate::domain::record::Owner;
use crate::domain::seller::SellerCounters;
use crate::domain::{Id, RecordType};
use crate::scripting::{add_seller_counters, target_map};

pub struct SellerEntry {
    pub seller: Seller,
    /// None: always available. Err: the stored availability no longer compiles.
    pub calendar: Option<Result<Calendar, String>>,
    /// `id`, `name`, `attributes` for scripts; counters are added per evaluation.
    pub script_base: Map,
}

pub struct Slot {
    pub id: Id,
    pub entry: Option<SellerEntry>,
    pub counters: SellerCounters,
}

impl Slot {
    pub fn available_capacity(&self) -> Option<i64> {
        let cap = self.entry.as_ref()?.seller.capacity?;
        Some(cap as i64 - self.counters.open_records as i64)
    }

    /// The seller as a target condition or distribution script sees it.
    pub fn script_map(&self) -> Map {
        let mut m = self.entry.as_ref().map(|e| e.script_base.clone()).unwrap_or_default();
        add_seller_counters(&mut m, self.counters.open_records, self.available_capacity());
        m
    }

    /// Configured and not opted out of assignments.
    pub fn assigns_records(&self) -> bool {
        self.entry.as_ref().is_some_and(|e| e.seller.assign_records)
    }

    pub fn may_access(&self, rt: &RecordType) -> bool {
        self.entry
            .as_ref()
            .is_some_and(|e| e.seller.record_access.as_ref().is_none_or(|a| a.contains(rt)))
    }

    pub fn is_available_at(&self, t: DateTime<Utc>) -> bool {
        match self.entry.as_ref().and_then(|e| e.calendar.as_ref()) {
            None => true,
            Some(Ok(c)) => c.is_available_at(t),
            Some(Err(_)) => false,
        }
    }

    /// 0: available now; k: first available in the k-th 24-hour bucket; None: not within.
    pub fn availability_bucket(&self, now: DateTime<Utc>, within_hours: u32) -> Option<u32> {
        match self.entry.as_ref().and_then(|e| e.calendar.as_ref()) {
            None => Some(0),
            Some(Ok(c)) => c.availability_bucket(now, within_hours),
            Some(Err(_)) => None,
        }
    }
}

pub struct TargetEntry {
    pub id: Id,
    pub name: String,
    pub script_map: Map,
}

pub struct SellerBook {
    pub slots: Vec<Slot>,
    pub index: HashMap<Id, usize>,
    /// Slots of existing sellers, in id order.
    pub live: Vec<usize>,
    pub teams: Vec<TargetEntry>,
    pub team_members: HashMap<Id, Vec<Id>>,
    pub queues: Vec<TargetEntry>,
    pub settings: Settings,
    /// Per-rule round-robin order (`round_robin_scope: rule`): (segment, rule) -> slot -> seq.
    pub rule_rr: HashMap<(Id, Id), HashMap<usize, u64>>,
    /// Next assignment sequence number: the round-robin clock.
    pub next_assignment_seq: u64,
    /// Bumped whenever sellers, teams, queues or settings change.
    pub generation: u64,
    /// Sellers matching memoisable target conditions (see `CatalogRule::target_memo`).
    pub memo: TargetMemo,
}

/// Matching sellers per rule and per value of the record fields the rule's target
/// condition reads. Exact by construction: dropped whenever the catalog or the sellers
/// change, and only used for conditions that read neither counters nor the clock.
/// Memo key (the values read) -> matching slots.
type MemoTable = HashMap<String, Arc<[usize]>>;

#[derive(Default)]
pub struct TargetMemo {
    catalog_generation: u64,
    book_generation: u64,
    rules: HashMap<(Id, Id), MemoTable>,
}

impl TargetMemo {
    /// Distinct keys kept per rule; past it the rule's memo starts afresh, so a condition
    /// over a high-cardinality field cannot grow memory without bound.
    pub const MAX_KEYS: usize = 4096;

    fn sync(&mut self, catalog_generation: u64, book_generation: u64) {
        if self.catalog_generation != catalog_generation || self.book_generation != book_generation {
            self.rules.clear();
            self.catalog_generation = catalog_generation;
            self.book_generation = book_generation;
        }
    }
}

impl SellerBook {
    pub fn new(counters: HashMap<Id, SellerCounters>, next_assignment_seq: u64) -> SellerBook {
        let mut book = SellerBook {
            slots: Vec::new(),
            index: HashMap::new(),
            live: Vec::new(),
            teams: Vec::new(),
            team_members: HashMap::new(),
            queues: Vec::new(),
            settings: Settings::default(),
            rule_rr: HashMap::new(),
            next_assignment_seq,
            generation: 0,
            memo: TargetMemo::default(),
        };
        for (id, c) in counters {
            let slot = book.slot_for(&id);
            book.slots[slot].counters = c;
        }
        book
    }

    /// The slot of `id`, created (without a seller) when missing.
    pub fn slot_for(&mut self, id: &Id) -> usize {
        if let Some(i) = self.index.get(id) {
            return *i;
        }
        let i = self.slots.len();
        self.slots.push(Slot {
            id: id.clone(),
            entry: None,
            counters: SellerCounters::default(),
        });
        self.index.insert(id.clone(), i);
        i
    }

    /// Replaces the configuration part of the book; counters stay.
    pub fn set_config<'a>(
        &mut self,
        sellers: impl Iterator<Item = (&'a Id, &'a Seller)>,
        teams: impl Iterator<Item = (&'a Id, &'a Team)>,
        queues: impl Iterator<Item = (&'a Id, &'a Queue)>,
        settings: &Settings,
    ) {
        for slot in &mut self.slots {
            slot.entry = None;
        }
        let mut live = Vec::new();
        for (id, seller) in sellers {
            let i = self.slot_for(id);
            let calendar = seller
                .availability
                .as_ref()
                .map(|a| Calendar::compile(a).map_err(|e| e.to_string()));
            self.slots[i].entry = Some(SellerEntry {
                script_base: target_map(id.as_str(), &seller.name, &seller.attributes),
                seller: seller.clone(),
                calendar,
            });
            live.push(i);
        }
        live.sort_by(|a, b| self.slots[*a].id.cmp(&self.slots[*b].id));
        self.live = live;
        self.team_members.clear();
        self.teams = teams
            .map(|(id, t)| {
                self.team_members.insert(id.clone(), t.members.clone());
                TargetEntry {
                    id: id.clone(),
                    name: t.name.clone(),
                    script_map: target_map(id.as_str(), &t.name, &t.attributes),
                }
            })
            .collect();
        self.queues = queues
            .map(|(id, q)| TargetEntry {
                id: id.clone(),
                name: q.name.clone(),
                script_map: target_map(id.as_str(), &q.name, &q.attributes),
            })
            .collect();
        self.settings = settings.clone();
        self.generation += 1;
    }

    /// The memoised matches of a rule for `key`, if known.
    pub fn memo_get(&mut self, catalog_generation: u64, rule: (&Id, &Id), key: &str) -> Option<Arc<[usize]>> {
        let generation = self.generation;
        self.memo.sync(catalog_generation, generation);
        self.memo
            .rules
            .get(&(rule.0.clone(), rule.1.clone()))
            .and_then(|m| m.get(key))
            .cloned()
    }

    pub fn memo_put(&mut self, rule: (&Id, &Id), key: String, slots: Arc<[usize]>) {
        let m = self.memo.rules.entry((rule.0.clone(), rule.1.clone())).or_default();
        if m.len() >= TargetMemo::MAX_KEYS {
            m.clear();
        }
        m.insert(key, slots);
    }

    /// Whether the seller in `slot` may be assigned a record of type `rt` at all (before
    /// capacity and availability): takes assignments, has an eligible role, may access
    /// the type.
    pub fn may_be_assigned(&self, slot: usize, rt: &RecordType) -> bool {
        self.slots[slot].assigns_records() && self.has_eligible_role(slot) && self.slots[slot].may_access(rt)
    }

    pub fn has_eligible_role(&self, slot: usize) -> bool {
        let Some(entry) = &self.slots[slot].entry else {
            return false;
        };
        match &self.settings.eligible_roles {
            None => true,
            Some(roles) => entry.seller.roles.iter().any(|r| roles.contains(r)),
        }
    }

    /// Moves one open record from `from` to `to` (sellers only hold counts); answers the
    /// slots whose counters changed.
    pub fn move_open(&mut self, from: Option<&Owner>, to: Option<&Owner>) -> Vec<usize> {
        let mut touched = Vec::new();
        if let Some(id) = from.and_then(Owner::seller_id) {
            let slot = self.slot_for(id);
            let c = &mut self.slots[slot].counters;
            c.open_records = c.open_records.saturating_sub(1);
            touched.push(slot);
        }
        if let Some(id) = to.and_then(Owner::seller_id) {
            let slot = self.slot_for(id);
            self.slots[slot].counters.open_records += 1;
            touched.push(slot);
        }
        touched
    }

    /// Puts an assignment to `slot` on the round-robin clock (manual ones too).
    ///
    /// The per-rule order is kept (and persisted) under both scopes, so memory and store
    /// agree across restarts and switching to the rule scope continues each rule's order.
    pub fn note_assignment(&mut self, slot: usize, now: DateTime<Utc>, rule: Option<(&Id, &Id)>) {
        let seq = self.next_assignment_seq;
        self.next_assignment_seq += 1;
        let c = &mut self.slots[slot].counters;
        c.last_assigned_at = Some(now);
        c.last_assigned_seq = seq;
        // Kept whatever the scope, so that switching to the rule scope continues each
        // rule's order instead of starting it afresh.
        if let Some((seg, rule)) = rule {
            self.rule_rr
                .entry((seg.clone(), rule.clone()))
                .or_default()
                .insert(slot, seq);
        }
    }

    /// Round-robin key: never-assigned first, then longest waiting, then id.
    pub fn rr_key(&self, slot: usize, rule: Option<(&Id, &Id)>) -> (bool, u64, &Id) {
        let s = &self.slots[slot];
        let last = match rule {
            Some((seg, r)) => self
                .rule_rr
                .get(&(seg.clone(), r.clone()))
                .and_then(|m| m.get(&slot).copied()),
            None => (s.counters.last_assigned_seq > 0 || s.counters.last_assigned_at.is_some())
                .then_some(s.counters.last_assigned_seq),
        };
        (last.is_some(), last.unwrap_or(0), &s.id)
    }
}
