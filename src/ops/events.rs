//! The change feed: `GET /events`, long-polled with `wait`.

use std::time::Duration;

use serde::Deserialize;
use utoipa::IntoParams;

use super::PageQuery;
use crate::auth::{Permission, Principal};
use crate::domain::event::{EventTypes, StoredEvent, parse_cursor};
use crate::error::Error;
use crate::state::AppState;

/// `?after=&types=&limit=&wait=`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// The `next` of the previous page (`0`, or none: from the oldest event kept).
    pub after: Option<String>,
    /// Comma-separated event types; all when absent.
    pub types: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// 0 to 30: hold the request this many seconds until an event exists.
    #[param(minimum = 0, maximum = 30)]
    pub wait: Option<u32>,
}

/// The longest `wait`.
pub const MAX_WAIT_SECONDS: u32 = 30;

/// A page of the feed: `next` is never null, it is the cursor to resume from.
pub struct EventPage {
    pub items: Vec<StoredEvent>,
    pub next: String,
}

impl EventPage {
    /// `{"items": [...], "next": "..."}`, the events as stored (no re-encoding).
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(64 + self.items.iter().map(|e| e.body.len() + 24).sum::<usize>());
        out.push_str("{\"items\":[");
        for (i, e) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&e.json());
        }
        out.push_str("],\"next\":\"");
        out.push_str(&self.next);
        out.push_str("\"}");
        out
    }
}

/// Events after the cursor in commit order; with `wait`, held until one matching
/// commits (woken by the commit, not by polling) or the wait is over.
pub async fn list(s: &AppState, who: &Principal, q: EventQuery) -> Result<EventPage, Error> {
    // Every role reads records, so every role reads the feed.
    who.require(Permission::ReadRecords)?;
    let after = match q.after.as_deref() {
        None | Some("") => 0,
        Some(c) => parse_cursor("after", c)?,
    };
    let types = match q.types.as_deref() {
        None | Some("") => EventTypes::all(),
        Some(list) => EventTypes::parse_list("types", list)?,
    };
    let limit = PageQuery::limit_of(q.limit)?;
    let wait = q.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECONDS {
        return Err(Error::validation("wait", "wait is 0 to 30 seconds"));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(wait));
    let mut commits = s.store.subscribe_events();
    loop {
        // Marked seen before reading, so a commit after the read wakes the wait below.
        commits.borrow_and_update();
        let (items, _) = s.store.read()?.events(after, types, limit)?;
        if !items.is_empty() || tokio::time::Instant::now() >= deadline {
            let next = items.last().map_or(after, |e| e.id).to_string();
            return Ok(EventPage { items, next });
        }
        match tokio::time::timeout_at(deadline, commits.changed()).await {
            Ok(Ok(())) => continue,
            // Timed out (or the store is closing): nothing new.
            _ => {
                return Ok(EventPage {
                    items: Vec::new(),
                    next: after.to_string(),
                });
            }
        }
    }
}
