//! One function per API operation, role check inside. The HTTP handlers (and a future
//! web console) call these; they know nothing of HTTP.

pub mod assignments;
pub mod config;
pub mod records;
pub mod schedules;
pub mod scripts;

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
