//! Assign (seeds S0, S1): the records selected on Monitor, to a seller or a team. Each
//! seller shows open records, available capacity and whether they take automatic work;
//! "Show eligible sellers" offers only the sellers eligible for every selected record
//! and then sends `only_eligible`. The answer lists each record's result.
//!
//! Operations: `get_record` (`GET /records/{id}`), `list_sellers` (`GET /sellers`),
//! `list::<Team>` (`GET /teams`), `eligible_sellers`
//! (`GET /records/{id}/eligible-sellers`), `assign` (`POST /assignments`).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::session::{Action, ConsoleUser};
use super::{Console, ConsoleError, Layout, html, render};
use crate::auth::Permission;
use crate::domain::Id;
use crate::domain::config::Team;
use crate::error::Error;
use crate::ops::assignments::{AssignRequest, Assignee, AssigneeKind};
use crate::ops::{self, PageQuery};
use crate::state::AppState;

/// Most records the eligible sellers are worked out for (one lookup each).
pub const MAX_ELIGIBLE_RECORDS: usize = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assign", web::get().to(page))
        .route("/assign", web::post().to(assign));
}

pub struct Choice {
    pub id: String,
    pub name: String,
    /// "3 open, 2 available"; "opted out of automatic assignment".
    pub detail: String,
}

pub struct Selected {
    pub id: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "assign.html")]
struct AssignPage {
    layout: Layout,
    record_type: String,
    records: Vec<Selected>,
    eligible: bool,
    eligible_href: String,
    all_href: String,
    sellers: Vec<Choice>,
    teams: Vec<Choice>,
    error: Option<String>,
}

pub struct ResultRow {
    pub id: String,
    pub name: String,
    pub ok: bool,
    pub text: String,
}

#[derive(Template)]
#[template(path = "assigned.html")]
struct ResultPage {
    layout: Layout,
    record_type: String,
    assignee: String,
    results: Vec<ResultRow>,
    assigned: usize,
}

fn all() -> PageQuery {
    PageQuery {
        limit: Some(PageQuery::MAX_LIMIT as u32),
        after: None,
    }
}

fn capacity_text(open: u64, available: Option<i64>) -> String {
    match available {
        None => format!("{open} open, no capacity limit"),
        Some(a) if a < 0 => format!("{open} open, {} over capacity", -a),
        Some(0) => format!("{open} open, at capacity"),
        Some(a) => format!("{open} open, {a} available"),
    }
}

fn assign_href(ids: &[String], eligible: bool) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for id in ids {
        q.append_pair("record_ids", id);
    }
    if eligible {
        q.append_pair("eligible", "1");
    }
    format!("/console/assign?{}", q.finish())
}

async fn build(
    s: &AppState,
    user: &ConsoleUser,
    console: &Console,
    ids: Vec<String>,
    eligible: bool,
    error: Option<String>,
) -> Result<AssignPage, ConsoleError> {
    let who = &user.principal;
    if ids.is_empty() {
        return Err(Error::validation("record_ids", "select at least one record on Monitor first").into());
    }
    if eligible && ids.len() > MAX_ELIGIBLE_RECORDS {
        return Err(Error::validation(
            "record_ids",
            format!("eligible sellers are worked out for at most {MAX_ELIGIBLE_RECORDS} records at once"),
        )
        .into());
    }
    let mut records = Vec::with_capacity(ids.len());
    let mut record_type = String::new();
    for id in &ids {
        let view = ops::records::get_record(s, who, id)?;
        record_type = view.record.record_type.to_string();
        records.push(Selected {
            id: id.clone(),
            name: view.record.name,
        });
    }
    let sellers = if eligible {
        // Sellers eligible for every selected record.
        let mut common: Option<BTreeMap<String, Choice>> = None;
        for id in &ids {
            let these: BTreeMap<String, Choice> = ops::assignments::eligible_sellers(s, who, id)
                .await?
                .into_iter()
                .map(|e| {
                    let mut detail = capacity_text(e.open_records, e.available_capacity);
                    if !e.available_now {
                        detail.push_str(", not available now");
                    }
                    (
                        e.id.to_string(),
                        Choice {
                            id: e.id.to_string(),
                            name: e.name,
                            detail,
                        },
                    )
                })
                .collect();
            common = Some(match common {
                None => these,
                Some(mut so_far) => {
                    so_far.retain(|k, _| these.contains_key(k));
                    so_far
                }
            });
        }
        common.unwrap_or_default().into_values().collect()
    } else {
        ops::config::list_sellers(s, who, &all())
            .await?
            .items
            .into_iter()
            .map(|v| {
                let mut detail = capacity_text(v.open_records, v.available_capacity);
                if !v.seller.assign_records {
                    detail.push_str(", opted out of automatic assignment");
                }
                Choice {
                    id: v.id.to_string(),
                    name: v.seller.name,
                    detail,
                }
            })
            .collect()
    };
    let teams = ops::config::list::<Team>(s, who, &all())
        .await?
        .items
        .into_iter()
        .map(|t| Choice {
            id: t.id.to_string(),
            detail: format!("{} members", t.object.members.len()),
            name: t.object.name,
        })
        .collect();
    Ok(AssignPage {
        layout: Layout::new("Assign records", user, console),
        record_type,
        eligible_href: assign_href(&ids, true),
        all_href: assign_href(&ids, false),
        records,
        eligible,
        sellers,
        teams,
        error,
    })
}

fn query_ids(req: &HttpRequest) -> (Vec<String>, bool) {
    let mut ids = Vec::new();
    let mut eligible = false;
    for (k, v) in form_urlencoded::parse(req.query_string().as_bytes()) {
        match k.as_ref() {
            "record_ids" => ids.push(v.into_owned()),
            "eligible" => eligible = true,
            _ => {}
        }
    }
    (ids, eligible)
}

async fn page(
    req: HttpRequest,
    s: Data<AppState>,
    console: Data<Console>,
    user: ConsoleUser,
) -> Result<HttpResponse, ConsoleError> {
    // The page offers nothing a role that may not assign could use.
    user.principal.require(Permission::Configure)?;
    let (ids, eligible) = query_ids(&req);
    render(&build(&s, &user, &console, ids, eligible, None).await?)
}

async fn assign(s: Data<AppState>, console: Data<Console>, action: Action) -> Result<HttpResponse, ConsoleError> {
    let ids: Vec<String> = action.fields("record_ids").map(str::to_string).collect();
    let eligible = action.field("only_eligible") == Some("true");
    let choice = action.field("assignee").unwrap_or("");
    let assignee = match choice.split_once(':') {
        Some(("seller", id)) => Some((AssigneeKind::Seller, id)),
        Some(("team", id)) => Some((AssigneeKind::Team, id)),
        _ => None,
    };
    let Some((kind, assignee_id)) = assignee else {
        let page = build(
            &s,
            &action.user,
            &console,
            ids,
            eligible,
            Some("Choose a seller or a team.".into()),
        )
        .await?;
        return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()?));
    };
    let record_ids = ids
        .iter()
        .map(|id| Id::parse("record_ids", id))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::from)?;
    let request = AssignRequest {
        record_ids,
        assignee: Assignee {
            kind,
            id: Id::parse("assignee", assignee_id).map_err(Error::from)?,
        },
        only_eligible: eligible,
    };
    let results = match ops::assignments::assign(&s, &action.user.principal, request).await {
        Ok(results) => results,
        Err(e @ Error::Validation(_)) => {
            let page = build(&s, &action.user, &console, ids, eligible, Some(e.public_message())).await?;
            return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()?));
        }
        Err(e) => return Err(e.into()),
    };
    let mut record_type = String::new();
    let rows: Vec<ResultRow> = results
        .into_iter()
        .map(|r| {
            let name = r
                .record
                .as_ref()
                .map(|v| {
                    record_type = v.record.record_type.to_string();
                    v.record.name.clone()
                })
                .unwrap_or_else(|| r.record_id.to_string());
            let text = if r.ok {
                "Assigned".to_string()
            } else {
                r.error
                    .as_ref()
                    .and_then(|e| e["message"].as_str().map(str::to_string))
                    .unwrap_or_else(|| "Not assigned".into())
            };
            ResultRow {
                id: r.record_id.to_string(),
                name,
                ok: r.ok,
                text,
            }
        })
        .collect();
    let assigned = rows.iter().filter(|r| r.ok).count();
    let kind_word = if kind == AssigneeKind::Team { "team" } else { "seller" };
    render(&ResultPage {
        layout: Layout::new("Assignment result", &action.user, &console),
        record_type,
        assignee: format!("{kind_word} {assignee_id}"),
        results: rows,
        assigned,
    })
}
