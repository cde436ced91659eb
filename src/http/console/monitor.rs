//! Monitor <type> (seeds S0, S1): tabs To be processed · Processed (with a Needs
//! attention filter) · Unassigned · Assignment history, the seeds' columns plus last
//! attempt and attempts, pages of 50, and rows to select for assignment.
//!
//! Operations: `list_records` (`GET /records?record_type&view&segment_id&limit&after`),
//! `history` (`GET /assignments?record_type`), `list_segments`
//! (`GET /segments?record_type=`), `list_rules` (`GET /segments/{id}/rules`),
//! `list_sellers` (`GET /sellers`): names instead of ids where the role may read them.

use std::collections::HashMap;

use actix_web::HttpResponse;
use actix_web::web::{self, Data, Path};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::session::ConsoleUser;
use super::{Console, ConsoleError, Layout, reasons, render};
use crate::domain::record::{Owner, OwnerKind, StatusView, View};
use crate::error::Error;
use crate::ops::{self, PageQuery};
use crate::state::AppState;

pub const PAGE: u32 = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/monitor/{record_type}", web::get().to(page));
}

#[derive(Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Tab {
    ToBeProcessed,
    Processed,
    #[default]
    Unassigned,
    History,
}

impl Tab {
    fn code(self) -> &'static str {
        match self {
            Tab::ToBeProcessed => "to_be_processed",
            Tab::Processed => "processed",
            Tab::Unassigned => "unassigned",
            Tab::History => "history",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorQuery {
    #[serde(default)]
    tab: Tab,
    /// Processed tab: only records that need attention.
    #[serde(default)]
    attention: Option<String>,
    segment: Option<String>,
    after: Option<String>,
}

pub struct TabLink {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

pub struct RecordRow {
    pub id: String,
    pub name: String,
    pub topic: String,
    pub created_on: String,
    pub owner: String,
    pub segment: String,
    pub rule: String,
    pub due: String,
    pub overdue: bool,
    pub status: String,
    pub needs_attention: bool,
    pub last_attempt: String,
    pub attempts: u32,
}

pub struct HistoryRow {
    pub at: String,
    pub record_id: String,
    pub assignee: String,
    pub previous_owner: String,
    pub by: String,
    pub rule: String,
    pub run: String,
}

#[derive(Template)]
#[template(path = "monitor.html")]
struct MonitorPage {
    layout: Layout,
    record_type: String,
    tabs: Vec<TabLink>,
    tab: &'static str,
    attention: bool,
    attention_href: String,
    records: Vec<RecordRow>,
    history: Vec<HistoryRow>,
    next_href: Option<String>,
    first_href: Option<String>,
    may_assign: bool,
    hidden: Option<String>,
}

fn href(record_type: &str, params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    format!("/console/monitor/{record_type}?{query}")
}

pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// "in 5 h 20 min", "Overdue", or "–" without a due time.
pub fn due_in(due: Option<DateTime<Utc>>, overdue: bool, now: DateTime<Utc>) -> String {
    match due {
        None => "–".into(),
        Some(_) if overdue => "Overdue".into(),
        Some(due) => {
            let minutes = (due - now).num_minutes().max(0);
            match (minutes / (24 * 60), (minutes / 60) % 24, minutes % 60) {
                (d, h, _) if d > 0 => format!("in {d} d {h} h"),
                (_, h, m) if h > 0 => format!("in {h} h {m} min"),
                (_, _, m) => format!("in {m} min"),
            }
        }
    }
}

/// Names of sellers, teams and queues the role may read; ids otherwise.
#[derive(Default)]
pub struct Names {
    pub segments: HashMap<String, String>,
    pub rules: HashMap<(String, String), String>,
    pub sellers: HashMap<String, String>,
}

impl Names {
    pub async fn load(s: &AppState, user: &ConsoleUser, record_type: &str) -> Result<Names, Error> {
        let who = &user.principal;
        let all = PageQuery {
            limit: Some(PageQuery::MAX_LIMIT as u32),
            after: None,
        };
        let mut names = Names::default();
        let segments = match ops::config::list_segments(s, who, Some(record_type), &all).await {
            Ok(page) => page.items,
            Err(Error::Forbidden(_)) => return Ok(names),
            Err(e) => return Err(e),
        };
        for seg in segments {
            let id = seg.id.to_string();
            for rule in ops::config::list_rules(s, who, &id, &all).await?.items {
                names.rules.insert((id.clone(), rule.id.to_string()), rule.object.name);
            }
            names.segments.insert(id, seg.segment.name);
        }
        for seller in ops::config::list_sellers(s, who, &all).await?.items {
            names.sellers.insert(seller.id.to_string(), seller.seller.name.clone());
        }
        Ok(names)
    }

    pub fn segment(&self, id: Option<&str>) -> String {
        id.map(|id| self.segments.get(id).cloned().unwrap_or_else(|| id.to_string()))
            .unwrap_or_else(|| "–".into())
    }

    pub fn rule(&self, segment: Option<&str>, rule: Option<&str>) -> String {
        match (segment, rule) {
            (Some(seg), Some(rule)) => self
                .rules
                .get(&(seg.to_string(), rule.to_string()))
                .cloned()
                .unwrap_or_else(|| rule.to_string()),
            (None, Some(rule)) => rule.to_string(),
            _ => "–".into(),
        }
    }

    pub fn owner(&self, owner: Option<&Owner>) -> String {
        match owner {
            None => "–".into(),
            Some(o) => {
                let id = o.id.to_string();
                match o.kind {
                    OwnerKind::Seller => self.sellers.get(&id).cloned().unwrap_or(id),
                    OwnerKind::Team => format!("Team {id}"),
                    OwnerKind::Queue => format!("Queue {id}"),
                }
            }
        }
    }
}

/// The status column: the assignment reason, or the segment or sequence status when
/// that is what needs attention.
pub fn status_label(v: &StatusView) -> String {
    let r = &v.record;
    if let Some(seg) = r.segment_status {
        return reasons::segment_status(seg).label.to_string();
    }
    if let Some(reason) = r.status_reason
        && !matches!(
            reason,
            crate::domain::record::StatusReason::Assigned | crate::domain::record::StatusReason::AssignedManually
        )
    {
        return reasons::status_reason(reason).label.to_string();
    }
    if let Some(seq) = r.sequence_status {
        return reasons::sequence_status(seq).label.to_string();
    }
    if !r.open {
        return "Closed".into();
    }
    r.status_reason
        .map(|reason| reasons::status_reason(reason).label.to_string())
        .unwrap_or_else(|| "–".into())
}

pub fn record_row(v: &StatusView, names: &Names, now: DateTime<Utc>) -> RecordRow {
    let r = &v.record;
    let segment = r.segment_id.as_ref().map(|s| s.to_string());
    let rule = r.rule_id.as_ref().map(|s| s.to_string());
    RecordRow {
        id: r.id.to_string(),
        name: r.name.clone(),
        topic: r.topic.clone(),
        created_on: when(r.created_on),
        owner: names.owner(r.owner.as_ref()),
        segment: names.segment(segment.as_deref()),
        rule: names.rule(segment.as_deref(), rule.as_deref()),
        due: due_in(r.assignment_due_at, v.overdue, now),
        overdue: v.overdue,
        status: status_label(v),
        needs_attention: v.needs_attention,
        last_attempt: r.last_attempt_at.map(when).unwrap_or_else(|| "–".into()),
        attempts: r.attempts,
    }
}

async fn page(
    s: Data<AppState>,
    console: Data<Console>,
    user: ConsoleUser,
    record_type: Path<String>,
    q: web::Query<MonitorQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let record_type = crate::domain::RecordType::parse("record_type", &record_type)
        .map_err(Error::from)?
        .to_string();
    let who = &user.principal;
    let q = q.into_inner();
    let attention = q.attention.is_some() && q.tab == Tab::Processed;
    let names = Names::load(&s, &user, &record_type).await?;
    let now = s.clock.now();
    let mut records = Vec::new();
    let mut history = Vec::new();
    let mut next = None;
    let mut hidden = None;
    if q.tab == Tab::History {
        let query = ops::assignments::HistoryQuery {
            record_type: Some(record_type.clone()),
            record_id: None,
            seller_id: None,
            limit: Some(PAGE),
            after: q.after.clone(),
        };
        match ops::assignments::history(&s, who, query).await {
            Ok(page) => {
                next = page.next;
                history = page
                    .items
                    .into_iter()
                    .map(|h| HistoryRow {
                        at: when(h.at),
                        record_id: h.record_id.to_string(),
                        assignee: names.owner(Some(&h.assignee)),
                        previous_owner: names.owner(h.previous_owner.as_ref()),
                        by: serde_json::to_value(h.by)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        rule: h.rule_id.map(|r| r.to_string()).unwrap_or_else(|| "–".into()),
                        run: h.run_id.unwrap_or_else(|| "–".into()),
                    })
                    .collect();
            }
            Err(Error::Forbidden(_)) => hidden = Some("Your role may not read assignment history.".to_string()),
            Err(e) => return Err(e.into()),
        }
    } else {
        let view = match q.tab {
            Tab::ToBeProcessed => View::ToBeProcessed,
            Tab::Processed if attention => View::NeedsAttention,
            Tab::Processed => View::Processed,
            _ => View::Unassigned,
        };
        let query = ops::records::RecordListQuery {
            record_type: Some(record_type.clone()),
            view: Some(view),
            segment_id: q.segment.clone(),
            limit: Some(PAGE),
            after: q.after.clone(),
        };
        let page = ops::records::list_records(&s, who, &query)?;
        next = page.next;
        records = page.items.iter().map(|v| record_row(v, &names, now)).collect();
    }
    let tab = q.tab.code();
    let mut base: Vec<(&str, &str)> = vec![("tab", tab)];
    if attention {
        base.push(("attention", "1"));
    }
    if let Some(seg) = &q.segment {
        base.push(("segment", seg));
    }
    let next_href = next.map(|n| {
        let mut p = base.clone();
        p.push(("after", &n));
        href(&record_type, &p)
    });
    let first_href = q.after.as_ref().map(|_| href(&record_type, &base));
    let tabs = [
        ("To be processed", Tab::ToBeProcessed),
        ("Processed", Tab::Processed),
        ("Unassigned", Tab::Unassigned),
        ("Assignment history", Tab::History),
    ]
    .into_iter()
    .map(|(label, t)| TabLink {
        label,
        href: href(&record_type, &[("tab", t.code())]),
        current: t == q.tab,
    })
    .collect();
    let attention_href = if attention {
        href(&record_type, &[("tab", "processed")])
    } else {
        href(&record_type, &[("tab", "processed"), ("attention", "1")])
    };
    render(&MonitorPage {
        layout: Layout::new(format!("Monitor {record_type}"), &user, &console),
        tabs,
        tab,
        attention,
        attention_href,
        records,
        history,
        next_href,
        first_href,
        may_assign: who.role.allows(crate::auth::Permission::Configure),
        hidden,
        record_type,
    })
}
