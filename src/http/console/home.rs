//! Work assignment home (seed S0): record type tabs, "Monitor <type>" with its red dot
//! and unassigned count (polled without a reload), and the type's segments in priority
//! order with active, sequence, rules, unassigned count and a calendar mark when
//! scheduled.
//!
//! Operations: `list_record_types` (`GET /record-types`), `summary`
//! (`GET /record-types/{t}/summary`), `list_segments` (`GET /segments?record_type=`),
//! `list_rules` (`GET /segments/{id}/rules`), `list::<Sequence>` (`GET /sequences`).

use std::collections::HashMap;

use actix_web::web::{self, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::session::ConsoleUser;
use super::{Console, ConsoleError, Layout, render};
use crate::domain::config::{Sequence, Weekday};
use crate::error::Error;
use crate::ops::{self, PageQuery};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/types/{record_type}/badge", web::get().to(badge));
}

/// The whole of a short list: configuration lists on one page.
fn everything() -> PageQuery {
    PageQuery {
        limit: Some(PageQuery::MAX_LIMIT as u32),
        after: None,
    }
}

/// "Monitor lead", with the red dot and "N unassigned" when some are.
pub struct BadgeView {
    pub record_type: String,
    pub unassigned: u64,
    pub poll_ms: u64,
}

pub struct TypeTab {
    pub record_type: String,
    pub selected: bool,
}

pub struct SegmentRow {
    pub id: String,
    pub name: String,
    pub priority: u32,
    pub active: bool,
    pub sequence: Option<String>,
    pub rules: Vec<String>,
    pub unassigned: u64,
    /// "Mon–Fri at 06:00 and 14:00 (Europe/London)", when scheduled.
    pub schedule: Option<String>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    tabs: Vec<TypeTab>,
    badge: Option<BadgeView>,
    segments: Vec<SegmentRow>,
    /// Why the segments are not shown (the role may not read configuration).
    segments_hidden: Option<String>,
}

#[derive(Template)]
#[template(path = "_badge.html")]
struct BadgeFragment {
    badge: BadgeView,
}

#[derive(Deserialize)]
pub struct HomeQuery {
    #[serde(rename = "type")]
    record_type: Option<String>,
}

pub async fn page(
    s: Data<AppState>,
    console: Data<Console>,
    user: ConsoleUser,
    q: web::Query<HomeQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let who = &user.principal;
    let types = ops::records::list_record_types(&s, who).await?;
    let selected = q
        .record_type
        .clone()
        .filter(|t| types.iter().any(|x| x.record_type.as_str() == t))
        .or_else(|| types.first().map(|t| t.record_type.to_string()));
    let tabs = types
        .iter()
        .map(|t| TypeTab {
            record_type: t.record_type.to_string(),
            selected: selected.as_deref() == Some(t.record_type.as_str()),
        })
        .collect();
    let badge = selected.as_ref().and_then(|rt| {
        types.iter().find(|t| t.record_type.as_str() == rt).map(|t| BadgeView {
            record_type: rt.clone(),
            unassigned: t.summary.unassigned,
            poll_ms: console.poll_ms,
        })
    });
    let (segments, segments_hidden) = match &selected {
        None => (Vec::new(), None),
        Some(rt) => match segment_rows(&s, &user, rt).await {
            Ok(rows) => (rows, None),
            Err(Error::Forbidden(_)) => (
                Vec::new(),
                Some("Your role may not read the configuration.".to_string()),
            ),
            Err(e) => return Err(e.into()),
        },
    };
    render(&HomePage {
        layout: Layout::new("Work assignment", &user, &console),
        tabs,
        badge,
        segments,
        segments_hidden,
    })
}

async fn segment_rows(s: &AppState, user: &ConsoleUser, record_type: &str) -> Result<Vec<SegmentRow>, Error> {
    let who = &user.principal;
    let sequences: HashMap<String, String> = ops::config::list::<Sequence>(s, who, &everything())
        .await?
        .items
        .into_iter()
        .map(|sq| (sq.id.to_string(), sq.object.name))
        .collect();
    let segments = ops::config::list_segments(s, who, Some(record_type), &everything()).await?;
    let mut rows = Vec::with_capacity(segments.items.len());
    for seg in segments.items {
        let id = seg.id.to_string();
        let mut rules = ops::config::list_rules(s, who, &id, &everything()).await?.items;
        rules.sort_by(|a, b| (a.object.priority, &a.id).cmp(&(b.object.priority, &b.id)));
        rows.push(SegmentRow {
            name: seg.segment.name,
            priority: seg.segment.priority,
            active: seg.segment.active,
            sequence: seg.segment.sequence_id.map(|sq| {
                let id = sq.to_string();
                sequences.get(&id).cloned().unwrap_or(id)
            }),
            rules: rules
                .into_iter()
                .map(|r| {
                    if r.object.active {
                        r.object.name
                    } else {
                        format!("{} (inactive)", r.object.name)
                    }
                })
                .collect(),
            unassigned: seg.unassigned_count,
            schedule: seg.schedule.map(|sc| {
                format!(
                    "{} at {} ({})",
                    days_label(&sc.schedule.days),
                    sc.schedule.times.join(" and "),
                    sc.schedule.timezone
                )
            }),
            id,
        });
    }
    Ok(rows)
}

/// "Mon–Fri", "Every day", or the days listed.
pub fn days_label(days: &[Weekday]) -> String {
    use Weekday::*;
    let all = [Mon, Tue, Wed, Thu, Fri, Sat, Sun];
    let has = |d: Weekday| days.contains(&d);
    if all.iter().all(|d| has(*d)) {
        return "Every day".into();
    }
    if [Mon, Tue, Wed, Thu, Fri].iter().all(|d| has(*d)) && !has(Sat) && !has(Sun) {
        return "Mon–Fri".into();
    }
    let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    all.iter()
        .zip(names)
        .filter(|(d, _)| has(**d))
        .map(|(_, n)| n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The "Monitor <type>" link alone, for polling and after actions.
async fn badge(
    s: Data<AppState>,
    console: Data<Console>,
    user: ConsoleUser,
    record_type: Path<String>,
    _req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let summary = ops::records::summary(&s, &user.principal, &record_type)?;
    render(&BadgeFragment {
        badge: BadgeView {
            record_type: record_type.into_inner(),
            unassigned: summary.unassigned,
            poll_ms: console.poll_ms,
        },
    })
}
