//! Monitor <type> and status details: the seeds' columns, paging, selection, escaping,
//! the advice and the funnel of a waiting record, close / reopen and role refusals.

use serde_json::json;

use super::session::assert_inert;
use super::{Browser, From};
use crate::fixtures;
use crate::helpers::{ADMIN, TestApp};

pub const HOSTILE: &str = "<img src=x onerror=alert(1)><script>alert(2)</script>";

/// A UK segment with one round-robin rule over UK sellers, one seller at capacity 0,
/// and `n` UK leads (the first named [`HOSTILE`]), all unassigned `sellers_at_capacity`.
pub fn at_capacity(n: usize) -> TestApp {
    let app = TestApp::spawn();
    let mut seller = fixtures::seller();
    seller["capacity"] = json!(0);
    assert_eq!(app.put("/api/v1/sellers/s1", seller).status, 201);
    let segment =
        json!({"name": "UK leads", "record_type": "lead", "priority": 1, "condition": "record.country == \"UK\""});
    assert_eq!(app.put("/api/v1/segments/uk", segment).status, 201);
    let mut rule = fixtures::rule();
    rule["condition"] = json!(null);
    rule["created_within_hours"] = json!(null);
    let r = app.put("/api/v1/segments/uk/rules/rr", rule);
    assert_eq!(r.status, 201, "{}", r.text);
    let records: Vec<_> = (0..n)
        .map(|i| {
            let name = if i == 0 { HOSTILE.to_string() } else { format!("Lead {i}") };
            json!({"id": format!("l{i:03}"), "record_type": "lead", "name": name, "topic": "Trade show",
                   "created_on": format!("2026-11-23T08:{:02}:{:02}Z", i / 60, i % 60), "attributes": {"country": "UK"}})
        })
        .collect();
    let r = app.post("/api/v1/records?wait=true", json!({ "records": records }));
    assert_eq!(r.status, 202, "{}", r.text);
    app
}

fn rows(html: &str) -> usize {
    html.matches("<tr id=\"record-").count()
}

#[test]
fn the_unassigned_tab_shows_the_seeds_columns_and_pages_of_50() {
    let app = at_capacity(60);
    let b = Browser::signed_in(&app, ADMIN);
    let page = b.get("/console/monitor/lead");
    assert_eq!(page.status, 200, "{}", page.text);
    assert_inert(&page.text);
    assert!(
        page.text
            .contains("href=\"/console/monitor/lead?tab=unassigned\" aria-current=\"page\"")
    );
    for column in [
        "Name",
        "Topic",
        "Created on",
        "Segment",
        "Rule",
        "Due in",
        "Status reason",
        "Last attempt",
        "Attempts",
    ] {
        assert!(
            page.text.contains(&format!("<th scope=\"col\">{column}</th>"))
                || page.text.contains(&format!(">{column}</th>")),
            "column {column}"
        );
    }
    assert_eq!(rows(&page.text), 50, "a page of 50");
    let row = page.text.split("<tr id=\"record-l001\">").nth(1).expect("row l001");
    let row = &row[..row.find("</tr>").expect("row end")];
    for cell in [
        "Lead 1",
        "Trade show",
        "2026-11-23 08:00 UTC",
        "UK leads",
        "UK round robin",
        "Eligible sellers don&#39;t have capacity",
        "Needs attention",
    ] {
        assert!(row.contains(cell), "{cell} in {row}");
    }
    assert!(
        row.contains("aria-label=\"Select Lead 1\""),
        "a labelled checkbox: {row}"
    );
    assert!(row.contains("<td class=\"num\">1</td>"), "one attempt: {row}");
    // Oldest first: l000 before l001.
    assert!(page.text.find("record-l000") < page.text.find("record-l001"));
    let next = page
        .text
        .split("rel=\"next\"")
        .next()
        .and_then(|t| t.rsplit("href=\"").next())
        .expect("a next link");
    let next = next.trim_end_matches("\" ").replace("&#38;", "&");
    let second = b.get(&next);
    assert_eq!(rows(&second.text), 10, "the rest: {next}");
    assert!(second.text.contains("record-l059") && !second.text.contains("record-l000"));
    assert!(second.text.contains("First page"));
}

#[test]
fn a_hostile_record_name_is_inert_text_everywhere() {
    let app = at_capacity(1);
    let b = Browser::signed_in(&app, ADMIN);
    for path in [
        "/console/monitor/lead",
        "/console/monitor/lead?tab=processed",
        "/console/records/l000",
    ] {
        let page = b.get(path);
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        assert!(!page.text.contains("<img src=x"), "{path}: {}", page.text);
        assert!(!page.text.contains("<script>alert"), "{path}");
        assert!(
            page.text.contains("&#60;img src=x onerror=alert(1)&#62;"),
            "{path}: shown as text"
        );
        assert_inert(&page.text);
    }
}

#[test]
fn due_in_turns_overdue_and_processed_has_a_needs_attention_filter() {
    let app = at_capacity(2);
    let b = Browser::signed_in(&app, ADMIN);
    // The fixture rule's window is 24 h from created_on (2026-11-23 08:00), long past now.
    let page = b.get("/console/monitor/lead");
    assert!(page.text.contains("class=\"overdue\">Overdue"), "{}", page.text);
    assert_eq!(app.put("/api/v1/sellers/s1", fixtures::seller()).status, 200);
    let r = app.post(
        "/api/v1/assignments",
        json!({"record_ids": ["l001"], "assignee": {"type": "seller", "id": "s1"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let processed = b.get("/console/monitor/lead?tab=processed");
    assert_eq!(rows(&processed.text), 2, "{}", processed.text);
    assert!(processed.text.contains("Assigned manually"));
    let attention = b.get("/console/monitor/lead?tab=processed&attention=1");
    assert_eq!(rows(&attention.text), 1, "only the unassigned one: {}", attention.text);
    assert!(attention.text.contains("record-l000"));
    assert!(attention.text.contains("Show all processed records"));
    let history = b.get("/console/monitor/lead?tab=history");
    assert!(
        history.text.contains("/console/records/l001") && history.text.contains("manual"),
        "{}",
        history.text
    );
    assert!(history.text.contains("Sam"), "the seller by name: {}", history.text);
}

#[test]
fn status_details_give_the_advice_and_the_funnel_of_a_waiting_record() {
    let app = at_capacity(2);
    let b = Browser::signed_in(&app, ADMIN);
    let page = b.get("/console/records/l001");
    assert_eq!(page.status, 200, "{}", page.text);
    assert_inert(&page.text);
    assert!(
        page.text
            .contains("Assignment: Eligible sellers don&#39;t have capacity"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("Raise the capacity of the eligible sellers"),
        "the seeds' advice"
    );
    assert!(page.text.contains("Then run the segment's assignment rules again."));
    let funnel = page.text.split("class=\"funnel\">").nth(1).expect("a funnel");
    let funnel = &funnel[..funnel.find("</p>").expect("end")];
    assert_eq!(
        funnel,
        "1 considered → condition −0 → assign records off −0 → roles −0 → record access −0 → capacity −1 → availability −0 → <strong>0 left</strong>"
    );
    assert!(
        page.text
            .contains("UK round robin: Eligible sellers don&#39;t have capacity")
    );
    assert_eq!(b.get("/console/records/nope").status, 404);
}

#[test]
fn close_and_reopen_call_the_operations_and_roles_that_may_not_are_refused() {
    let app = at_capacity(1);
    let admin = Browser::signed_in(&app, ADMIN);
    let page = admin.get("/console/records/l000");
    assert!(page.text.contains(">Close record</button>"));
    let csrf = page.csrf();
    let r = admin.post("/console/records/l000/close", &[("csrf", &csrf)], From::SameOrigin);
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(
        app.get("/api/v1/records/l000").body["open"],
        false,
        "closed through the operation"
    );
    let after = admin.get(r.header("location").expect("back to the record"));
    assert!(
        after
            .text
            .contains("role=\"status\" class=\"ok\">The record is closed."),
        "{}",
        after.text
    );
    assert!(after.text.contains(">Reopen record</button>"));
    let r = admin.post("/console/records/l000/reopen", &[("csrf", &csrf)], From::SameOrigin);
    assert_eq!(r.status, 303);
    assert_eq!(app.get("/api/v1/records/l000").body["open"], true);

    // A reader sees no button, and the server refuses the request anyway (as the API does).
    let reader = Browser::signed_in(&app, &app.token("reader"));
    let page = reader.get("/console/records/l000");
    assert_eq!(page.status, 200);
    assert!(!page.text.contains("Close record"), "hidden for a reader");
    let csrf = reader.csrf();
    let r = reader.post("/console/records/l000/close", &[("csrf", &csrf)], From::SameOrigin);
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("may not"), "{}", r.text);
    assert_eq!(app.get("/api/v1/records/l000").body["open"], true, "nothing changed");
    // Without the CSRF token, even an administrator's close is refused.
    let r = admin.post("/console/records/l000/close", &[], From::SameOrigin);
    assert_eq!(r.status, 403);
    assert_eq!(app.get("/api/v1/records/l000").body["open"], true);
}

#[test]
fn the_assign_button_is_shown_only_to_roles_that_may_assign() {
    let app = at_capacity(1);
    let admin = Browser::signed_in(&app, ADMIN).get("/console/monitor/lead");
    assert!(admin.text.contains("data-needs-selection"), "{}", admin.text);
    let manager = Browser::signed_in(&app, &app.token("sales_manager")).get("/console/monitor/lead");
    assert!(manager.text.contains("data-needs-selection"));
    for role in ["reader", "sequence_manager", "integration"] {
        let page = Browser::signed_in(&app, &app.token(role)).get("/console/monitor/lead");
        assert_eq!(page.status, 200, "{role}: {}", page.text);
        assert!(
            !page.text.contains("data-needs-selection"),
            "{role} has no Assign button"
        );
    }
}
