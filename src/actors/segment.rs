//! Segment state: segments, their rules, sequences and record-type schemas, with every
//! script compiled once when saved.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use actix::prelude::*;

use super::table::{ConfigTable, HasStore, HoldsTable, Item, config_handlers};
use crate::domain::config::{RecordTypeSchema, Rule, Segment, Sequence, TargetKind, TargetMatch};
use crate::domain::{Id, Page, RecordType};
use crate::error::Error;
use crate::pipeline::catalog::{CatalogChanged, CatalogRule, CatalogSegment, SegmentCatalog};
use crate::scripting::{Script, ScriptPurpose, Scripting};
use crate::store::{Collection, Store, StoreError, WriteTxn};

impl Item for Segment {
    const KIND: &'static str = "segment";
    const COLLECTION: Collection = Collection::Segments;

    fn cascade_delete(txn: &WriteTxn, id: &str) -> Result<(), StoreError> {
        txn.delete_rules_of(id)?;
        txn.delete(Collection::Schedules, id)?;
        Ok(())
    }
}
impl Item for Sequence {
    const KIND: &'static str = "sequence";
    const COLLECTION: Collection = Collection::Sequences;
}
impl Item for RecordTypeSchema {
    const KIND: &'static str = "record type schema";
    const COLLECTION: Collection = Collection::RecordTypes;
}

/// The scripts of one rule, compiled.
#[derive(Clone, Debug, Default)]
pub struct CompiledRule {
    pub condition: Option<Script>,
    pub target_condition: Option<Script>,
    pub distribution: Option<Script>,
}

pub struct SegmentActor {
    store: Store,
    scripting: Arc<Scripting>,
    segments: ConfigTable<Segment>,
    sequences: ConfigTable<Sequence>,
    schemas: ConfigTable<RecordTypeSchema>,
    /// segment id -> rule id -> rule
    rules: BTreeMap<Id, BTreeMap<Id, Rule>>,
    segment_scripts: HashMap<Id, Option<Script>>,
    rule_scripts: HashMap<(Id, Id), CompiledRule>,
    /// Record processing, told of every change.
    subscriber: Option<Recipient<CatalogChanged>>,
    generation: u64,
}

impl SegmentActor {
    pub fn load(store: Store, scripting: Arc<Scripting>) -> Result<SegmentActor, Error> {
        let segments: ConfigTable<Segment> = ConfigTable::load(&store)?;
        let sequences = ConfigTable::load(&store)?;
        let schemas = ConfigTable::load(&store)?;
        let mut rules: BTreeMap<Id, BTreeMap<Id, Rule>> = BTreeMap::new();
        for (seg, rid, rule) in store.read()?.rules()? {
            rules.entry(seg).or_default().insert(rid, rule);
        }
        let mut actor = SegmentActor {
            store,
            scripting,
            segments,
            sequences,
            schemas,
            rules,
            segment_scripts: HashMap::new(),
            rule_scripts: HashMap::new(),
            subscriber: None,
            generation: 0,
        };
        // Saved scripts compiled when saved; compiling again cannot fail unless the
        // engine changed, and then the record gets `segment_error` / `server_error`.
        let seg_ids: Vec<(Id, Segment)> = actor.segments.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (id, seg) in seg_ids {
            let compiled = actor.compile_segment(&seg).unwrap_or(None);
            actor.segment_scripts.insert(id, compiled);
        }
        let all_rules: Vec<(Id, Id, Rule)> = actor
            .rules
            .iter()
            .flat_map(|(s, rs)| rs.iter().map(move |(r, rule)| (s.clone(), r.clone(), rule.clone())))
            .collect();
        for (seg, rid, rule) in all_rules {
            let rt = actor.segments.get(seg.as_str()).map(|s| s.record_type.clone());
            if let Ok(c) = actor.compile_rule(rt.as_ref(), &rule) {
                actor.rule_scripts.insert((seg, rid), c);
            }
        }
        Ok(actor)
    }

    /// A snapshot of everything record processing needs.
    pub fn catalog(&mut self) -> SegmentCatalog {
        self.generation += 1;
        let mut catalog = SegmentCatalog {
            generation: self.generation,
            ..Default::default()
        };
        for (id, seg) in self.segments.iter() {
            let mut rules: Vec<CatalogRule> = self
                .rules
                .get(id)
                .into_iter()
                .flat_map(|rs| rs.iter())
                .map(|(rid, rule)| {
                    let compiled = self
                        .rule_scripts
                        .get(&(id.clone(), rid.clone()))
                        .cloned()
                        .unwrap_or_default();
                    CatalogRule::new(
                        rid.clone(),
                        rule.clone(),
                        compiled.condition,
                        compiled.target_condition,
                        compiled.distribution,
                    )
                })
                .collect();
            rules.sort_by(|a, b| a.rule.priority.cmp(&b.rule.priority).then_with(|| a.id.cmp(&b.id)));
            let entry = Arc::new(CatalogSegment {
                id: id.clone(),
                segment: seg.clone(),
                condition: self.segment_scripts.get(id).cloned().flatten(),
                rules,
            });
            catalog
                .by_type
                .entry(seg.record_type.clone())
                .or_default()
                .push(entry.clone());
            catalog.segments.insert(id.clone(), entry);
        }
        for list in catalog.by_type.values_mut() {
            list.sort_by(|a, b| {
                a.segment
                    .priority
                    .cmp(&b.segment.priority)
                    .then_with(|| a.id.cmp(&b.id))
            });
        }
        catalog.sequences = self.sequences.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        catalog.schemas = self
            .schemas
            .iter()
            .filter_map(|(k, v)| RecordType::parse("t", k.as_str()).ok().map(|rt| (rt, v.clone())))
            .collect();
        catalog
    }

    /// Sends a fresh catalog to the subscriber. Called after every committed change,
    /// before the change is answered, so a record sent after the answer sees it.
    fn publish(&mut self) {
        if self.subscriber.is_some() {
            let catalog = Arc::new(self.catalog());
            if let Some(sub) = &self.subscriber {
                sub.do_send(CatalogChanged(catalog));
            }
        }
    }

    fn schema_for(&self, rt: &RecordType) -> Option<&RecordTypeSchema> {
        self.schemas.get(rt.as_str())
    }

    fn compile(
        &self,
        field: &str,
        purpose: ScriptPurpose,
        source: Option<&str>,
        rt: Option<&RecordType>,
    ) -> Result<Option<Script>, Error> {
        let Some(source) = source else { return Ok(None) };
        let schema = rt.and_then(|rt| self.schema_for(rt).map(|s| (rt, s)));
        let script = self
            .scripting
            .compile(purpose, source)
            .map_err(|e| e.in_script(field))?;
        if let (Some(script), Some((rt, schema))) = (&script, schema) {
            crate::scripting::check_schema(script, rt.as_str(), schema).map_err(|e| e.in_script(field))?;
        }
        Ok(script)
    }

    fn compile_segment(&self, seg: &Segment) -> Result<Option<Script>, Error> {
        self.compile(
            "condition",
            ScriptPurpose::RecordCondition,
            seg.condition.as_deref(),
            Some(&seg.record_type),
        )
    }

    fn compile_rule(&self, rt: Option<&RecordType>, rule: &Rule) -> Result<CompiledRule, Error> {
        let condition = self.compile(
            "condition",
            ScriptPurpose::RecordCondition,
            rule.condition.as_deref(),
            rt,
        )?;
        let target_condition = if rule.assign_to.matching == TargetMatch::Condition {
            let purpose = match rule.assign_to.kind {
                TargetKind::Sellers => ScriptPurpose::SellerCondition,
                TargetKind::Team => ScriptPurpose::TeamCondition,
                TargetKind::Queue => ScriptPurpose::QueueCondition,
            };
            self.compile("assign_to.condition", purpose, rule.assign_to.condition.as_deref(), rt)?
        } else {
            None
        };
        let distribution = self.compile(
            "distribution.script",
            ScriptPurpose::Distribution,
            rule.distribution.script.as_deref(),
            rt,
        )?;
        Ok(CompiledRule {
            condition,
            target_condition,
            distribution,
        })
    }
}

impl Actor for SegmentActor {
    type Context = Context<Self>;
}

impl HasStore for SegmentActor {
    fn store(&self) -> Store {
        self.store.clone()
    }
}

impl HoldsTable<Segment> for SegmentActor {
    fn table(&mut self) -> &mut ConfigTable<Segment> {
        &mut self.segments
    }
    fn check(&mut self, _id: &Id, value: &Segment) -> Result<(), Error> {
        value.validate()?;
        if let Some(seq) = &value.sequence_id
            && !self.sequences.contains(seq.as_str())
        {
            return Err(Error::validation(
                "sequence_id",
                format!("sequence {seq} does not exist"),
            ));
        }
        self.compile_segment(value)?;
        Ok(())
    }
    fn after_put(&mut self, id: &Id) {
        if let Some(seg) = self.segments.get(id.as_str()).cloned() {
            let compiled = self.compile_segment(&seg).unwrap_or(None);
            self.segment_scripts.insert(id.clone(), compiled);
        }
        self.publish();
    }
    fn after_delete(&mut self, id: &Id) {
        self.segment_scripts.remove(id);
        if let Some(rules) = self.rules.remove(id) {
            for rid in rules.keys() {
                self.rule_scripts.remove(&(id.clone(), rid.clone()));
            }
        }
        self.publish();
    }
}

impl HoldsTable<Sequence> for SegmentActor {
    fn table(&mut self) -> &mut ConfigTable<Sequence> {
        &mut self.sequences
    }
    fn check(&mut self, _id: &Id, value: &Sequence) -> Result<(), Error> {
        Ok(value.validate()?)
    }
    fn after_change(&mut self, _id: &Id) {
        self.publish();
    }
}

impl HoldsTable<RecordTypeSchema> for SegmentActor {
    fn table(&mut self) -> &mut ConfigTable<RecordTypeSchema> {
        &mut self.schemas
    }
    fn check(&mut self, id: &Id, value: &RecordTypeSchema) -> Result<(), Error> {
        RecordType::parse("record_type", id.as_str())?;
        Ok(value.validate()?)
    }
    fn after_change(&mut self, _id: &Id) {
        self.publish();
    }
}

config_handlers!(SegmentActor, Segment, Sequence, RecordTypeSchema);

/// Upsert a rule of a segment; answers `true` when created.
#[derive(Message)]
#[rtype(result = "Result<bool, Error>")]
pub struct PutRule {
    pub segment_id: Id,
    pub rule_id: Id,
    pub rule: Rule,
}

impl Handler<PutRule> for SegmentActor {
    type Result = AtomicResponse<Self, Result<bool, Error>>;
    fn handle(&mut self, msg: PutRule, _: &mut Context<Self>) -> Self::Result {
        let checked = (|| {
            msg.rule.validate()?;
            let seg = self
                .segments
                .get(msg.segment_id.as_str())
                .ok_or_else(|| Error::not_found("segment", msg.segment_id.to_string()))?;
            let rt = seg.record_type.clone();
            self.compile_rule(Some(&rt), &msg.rule)
        })();
        let compiled = match checked {
            Ok(c) => c,
            Err(e) => return AtomicResponse::new(Box::pin(fut::ready(Err(e)))),
        };
        let store = self.store.clone();
        let segment_key = msg.segment_id.to_string();
        let rule_key = msg.rule_id.to_string();
        let rule = Arc::new(msg.rule.clone());
        AtomicResponse::new(Box::pin(
            async move {
                let created = store
                    .write(move |txn| {
                        // The segment may have been deleted since the check.
                        if !txn.contains(Collection::Segments, &segment_key)? {
                            return Err(Error::not_found("segment", segment_key.clone()));
                        }
                        Ok(txn.put_rule(&segment_key, &rule_key, &rule)?)
                    })
                    .await?;
                Ok::<_, Error>((created, msg, compiled))
            }
            .into_actor(self)
            .map(|res, act, _| {
                let (created, msg, compiled) = res?;
                act.rule_scripts
                    .insert((msg.segment_id.clone(), msg.rule_id.clone()), compiled);
                act.rules
                    .entry(msg.segment_id)
                    .or_default()
                    .insert(msg.rule_id, msg.rule);
                act.publish();
                Ok(created)
            }),
        ))
    }
}

#[derive(Message)]
#[rtype(result = "Result<Rule, Error>")]
pub struct GetRule {
    pub segment_id: Id,
    pub rule_id: Id,
}

impl Handler<GetRule> for SegmentActor {
    type Result = Result<Rule, Error>;
    fn handle(&mut self, msg: GetRule, _: &mut Context<Self>) -> Self::Result {
        if !self.segments.contains(msg.segment_id.as_str()) {
            return Err(Error::not_found("segment", msg.segment_id.to_string()));
        }
        self.rules
            .get(&msg.segment_id)
            .and_then(|rs| rs.get(&msg.rule_id))
            .cloned()
            .ok_or_else(|| Error::not_found("rule", msg.rule_id.to_string()))
    }
}

/// A segment's rules in id order (the list cursor is a rule id).
#[derive(Message)]
#[rtype(result = "Result<Page<(Id, Rule)>, Error>")]
pub struct ListRules {
    pub segment_id: Id,
    pub after: Option<String>,
    pub limit: usize,
}

impl Handler<ListRules> for SegmentActor {
    type Result = Result<Page<(Id, Rule)>, Error>;
    fn handle(&mut self, msg: ListRules, _: &mut Context<Self>) -> Self::Result {
        if !self.segments.contains(msg.segment_id.as_str()) {
            return Err(Error::not_found("segment", msg.segment_id.to_string()));
        }
        let empty = BTreeMap::new();
        let rules = self.rules.get(&msg.segment_id).unwrap_or(&empty);
        let mut items: Vec<(Id, Rule)> = rules
            .iter()
            .filter(|(id, _)| msg.after.as_deref().is_none_or(|a| id.as_str() > a))
            .take(msg.limit + 1)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let next = if items.len() > msg.limit {
            items.truncate(msg.limit);
            items.last().map(|(k, _)| k.to_string())
        } else {
            None
        };
        Ok(Page { items, next })
    }
}

#[derive(Message)]
#[rtype(result = "Result<(), Error>")]
pub struct DeleteRule {
    pub segment_id: Id,
    pub rule_id: Id,
}

impl Handler<DeleteRule> for SegmentActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;
    fn handle(&mut self, msg: DeleteRule, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let segment_key = msg.segment_id.to_string();
        let rule_key = msg.rule_id.to_string();
        AtomicResponse::new(Box::pin(
            async move {
                let existed = store.write(move |txn| txn.delete_rule(&segment_key, &rule_key)).await?;
                if !existed {
                    return Err(Error::not_found("rule", msg.rule_id.to_string()));
                }
                Ok(msg)
            }
            .into_actor(self)
            .map(|res, act, _| {
                let msg = res?;
                if let Some(rs) = act.rules.get_mut(&msg.segment_id) {
                    rs.remove(&msg.rule_id);
                }
                act.rule_scripts.remove(&(msg.segment_id, msg.rule_id));
                act.publish();
                Ok(())
            }),
        ))
    }
}

/// Segments of one record type in evaluation order: priority, then id.
#[derive(Message)]
#[rtype(result = "Vec<(Id, Segment)>")]
pub struct SegmentsOfType(pub RecordType);

impl Handler<SegmentsOfType> for SegmentActor {
    type Result = Vec<(Id, Segment)>;
    fn handle(&mut self, msg: SegmentsOfType, _: &mut Context<Self>) -> Self::Result {
        let mut out: Vec<(Id, Segment)> = self
            .segments
            .iter()
            .filter(|(_, s)| s.record_type == msg.0)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.sort_by(|(a_id, a), (b_id, b)| a.priority.cmp(&b.priority).then_with(|| a_id.cmp(b_id)));
        out
    }
}

/// Every record type named by a segment or a schema.
#[derive(Message)]
#[rtype(result = "Vec<RecordType>")]
pub struct KnownRecordTypes;

impl Handler<KnownRecordTypes> for SegmentActor {
    type Result = Vec<RecordType>;
    fn handle(&mut self, _: KnownRecordTypes, _: &mut Context<Self>) -> Self::Result {
        let mut out: Vec<RecordType> = self.segments.iter().map(|(_, s)| s.record_type.clone()).collect();
        out.extend(
            self.schemas
                .iter()
                .filter_map(|(k, _)| RecordType::parse("t", k.as_str()).ok()),
        );
        out.sort();
        out.dedup();
        out
    }
}

/// Makes `0` the receiver of every new catalog, starting with the current one.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubscribeCatalog(pub Recipient<CatalogChanged>);

impl Handler<SubscribeCatalog> for SegmentActor {
    type Result = ();
    fn handle(&mut self, msg: SubscribeCatalog, _: &mut Context<Self>) {
        self.subscriber = Some(msg.0);
        self.publish();
    }
}
