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
