//! The segment catalog: an immutable snapshot of segments, rules, sequences and schemas
//! with their compiled scripts, published by the segment actor on every change and used
//! by record processing.

use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::config::{RecordTypeSchema, Rule, Segment, Sequence};
use crate::domain::{Id, RecordType};
use crate::scripting::Script;

#[derive(Clone, Debug)]
pub struct CatalogRule {
    pub id: Id,
    pub rule: Rule,
    pub condition: Option<Script>,
    pub target_condition: Option<Script>,
    pub distribution: Option<Script>,
    /// The record fields the target condition reads, when its answer for each seller
    /// depends on those alone (no counters, nothing dynamic or time-dependent): the
    /// matching sellers are then memoised per distinct value of these fields.
    pub target_memo: Option<Arc<[String]>>,
}

impl CatalogRule {
    pub fn new(
        id: Id,
        rule: Rule,
        condition: Option<Script>,
        target_condition: Option<Script>,
        distribution: Option<Script>,
    ) -> CatalogRule {
        let target_memo = target_condition.as_ref().and_then(memo_fields);
        CatalogRule {
            id,
            rule,
            condition,
            target_condition,
            distribution,
            target_memo,
        }
    }
}

/// Which record fields a seller condition may be memoised on, if any.
fn memo_fields(script: &Script) -> Option<Arc<[String]>> {
    let reads = crate::scripting::analyse(script);
    if reads.reads_counters || reads.seller_dynamic {
        return None;
    }
    let fields = reads.memo_fields()?;
    // `age_hours` changes with the clock.
    if fields.contains("age_hours") {
        return None;
    }
    Some(fields.iter().cloned().collect())
}

#[derive(Clone, Debug)]
pub struct CatalogSegment {
    pub id: Id,
    pub segment: Segment,
    pub condition: Option<Script>,
    /// Active and inactive rules, by priority then id.
    pub rules: Vec<CatalogRule>,
}

#[derive(Debug, Default)]
pub struct SegmentCatalog {
    /// Bumped on every change; memos keyed on it are dropped when it moves.
    pub generation: u64,
    /// Segments of each record type, by priority then id (inactive ones included).
    pub by_type: HashMap<RecordType, Vec<Arc<CatalogSegment>>>,
    pub segments: HashMap<Id, Arc<CatalogSegment>>,
    pub sequences: HashMap<Id, Sequence>,
    pub schemas: HashMap<RecordType, RecordTypeSchema>,
}

impl SegmentCatalog {
    pub fn segments_of(&self, rt: &RecordType) -> &[Arc<CatalogSegment>] {
        self.by_type.get(rt).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// A new catalog for the record-processing actor.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub struct CatalogChanged(pub Arc<SegmentCatalog>);

/// The catalog record processing uses, readable from any thread: HTTP workers segment
/// incoming records with it (see `engine::presegment`). The record actor sets
/// it whenever its own catalog changes.
#[derive(Clone, Default)]
pub struct SharedCatalog(Arc<std::sync::RwLock<Arc<SegmentCatalog>>>);

impl SharedCatalog {
    pub fn new(catalog: Arc<SegmentCatalog>) -> SharedCatalog {
        SharedCatalog(Arc::new(std::sync::RwLock::new(catalog)))
    }

    pub fn current(&self) -> Arc<SegmentCatalog> {
        match self.0.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn set(&self, catalog: Arc<SegmentCatalog>) {
        match self.0.write() {
            Ok(mut c) => *c = catalog,
            Err(poisoned) => *poisoned.into_inner() = catalog,
        }
    }
}
