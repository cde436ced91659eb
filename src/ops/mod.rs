//! One function per API operation, role check inside. The HTTP handlers (and a future
//! web console) call these; they know nothing of HTTP.

pub mod assignments;
pub mod config;
pub mod events;
pub mod records;
pub mod schedules;
pub mod scripts;
pub mod webhooks;

use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::Error;

/// `?limit=&after=` of every list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

impl PageQuery {
    pub const DEFAULT_LIMIT: usize = 100;
    pub const MAX_LIMIT: usize = 1000;

    pub fn limit(&self) -> Result<usize, Error> {
        Self::limit_of(self.limit)
    }

    /// The page size of `limit`, for the list queries that take more than a page query.
    pub fn limit_of(limit: Option<u32>) -> Result<usize, Error> {
        match limit {
            None => Ok(Self::DEFAULT_LIMIT),
            Some(l) if (1..=Self::MAX_LIMIT as u32).contains(&l) => Ok(l as usize),
            Some(_) => Err(Error::validation("limit", "limit is 1 to 1000")),
        }
    }
}

/// Script suspensions for `/metrics`: how many scripts were suspended since start, and
/// how many of the current catalog's scripts are suspended now.
/// Records stored without being decided yet because their batch spent its time budget
/// (or their type was backlogged): deferred since start, and waiting now.
pub fn deferred_records() -> (u64, u64) {
    crate::actors::records::deferred_counts()
}

pub fn script_suspensions(s: &crate::state::AppState) -> (u64, usize) {
    let catalog = s.catalog.current();
    let now = catalog
        .segments
        .values()
        .flat_map(|seg| {
            seg.rules
                .iter()
                .flat_map(|r| [&r.condition, &r.target_condition, &r.distribution])
                .chain([&seg.condition])
        })
        .flatten()
        .filter(|script| script.suspended().is_some())
        .count();
    (crate::scripting::suspensions_total(), now)
}

/// What `/metrics` shows of the domain: unassigned records per record type and per
/// segment (read from the store's view counts, so every acknowledged change is in), the
/// automatic outcomes by status reason and the run-duration histograms.
pub struct DomainFigures {
    pub unassigned_by_type: Vec<(String, u64)>,
    /// (record type, segment id, unassigned)
    pub unassigned_by_segment: Vec<(String, String, u64)>,
    pub outcomes: Vec<(String, u64)>,
    pub runs: Vec<(String, &'static crate::actors::figures::RunFigures)>,
}

pub fn domain_figures(s: &crate::state::AppState) -> Result<DomainFigures, Error> {
    use crate::domain::record::View;
    use crate::store::Scope;
    let catalog = s.catalog.current();
    let txn = s.store.read()?;
    let mut types: std::collections::BTreeSet<String> = catalog
        .segments
        .values()
        .map(|seg| seg.segment.record_type.to_string())
        .collect();
    types.extend(txn.record_types_with_records()?.into_iter().map(|t| t.to_string()));
    let mut unassigned_by_type = Vec::with_capacity(types.len());
    for t in types {
        let n = txn.view_count(Scope::Type(&t), View::Unassigned)?;
        unassigned_by_type.push((t, n));
    }
    let mut unassigned_by_segment = Vec::with_capacity(catalog.segments.len());
    for seg in catalog.segments.values() {
        let n = txn.view_count(Scope::Segment(seg.id.as_str()), View::Unassigned)?;
        unassigned_by_segment.push((seg.segment.record_type.to_string(), seg.id.to_string(), n));
    }
    unassigned_by_segment.sort();
    // The snake_case names the API writes (fixed sets: enum variants).
    let name = |v: serde_json::Value| v.as_str().unwrap_or("unknown").to_string();
    let outcomes = crate::actors::figures::outcomes()
        .into_iter()
        .map(|(r, n)| (name(serde_json::to_value(r).unwrap_or_default()), n))
        .collect();
    let runs = [
        crate::domain::run::RunStatus::Succeeded,
        crate::domain::run::RunStatus::Failed,
    ]
    .into_iter()
    .map(|st| {
        (
            name(serde_json::to_value(st).unwrap_or_default()),
            crate::actors::figures::runs(st),
        )
    })
    .collect();
    Ok(DomainFigures {
        unassigned_by_type,
        unassigned_by_segment,
        outcomes,
        runs,
    })
}

pub use crate::actors::figures::RUN_BUCKETS;
