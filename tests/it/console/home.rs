//! Work assignment home: record type tabs, the "Monitor <type>" red dot and count, and
//! the segments in priority order.

use serde_json::json;

use super::Browser;
use super::session::assert_inert;
use crate::fixtures;
use crate::helpers::{ADMIN, TestApp};

fn segment(name: &str, record_type: &str, priority: u32, condition: &str, sequence: Option<&str>) -> serde_json::Value {
    json!({"name": name, "record_type": record_type, "priority": priority, "active": true,
           "condition": condition, "sequence_id": sequence})
}

/// Leads `ids` of `country`, processed.
fn push_leads(app: &TestApp, ids: &[&str], country: &str) {
    let records: Vec<_> = ids
        .iter()
        .map(|id| json!({"id": id, "record_type": "lead", "name": format!("Lead {id}"), "attributes": {"country": country}}))
        .collect();
    let r = app.post("/api/v1/records?wait=true", json!({ "records": records }));
    assert_eq!(r.status, 202, "{}", r.text);
}

/// A lead segment `uk` (priority 2, a sequence, two rules, a schedule) and `fr`
/// (priority 1, no rules), an opportunity segment, and two unassigned UK leads.
fn seeded() -> TestApp {
    let app = TestApp::spawn();
    assert_eq!(app.put("/api/v1/sequences/seq1", fixtures::sequence()).status, 201);
    for (id, body) in [
        (
            "uk",
            segment("UK leads", "lead", 2, "record.country == \"UK\"", Some("seq1")),
        ),
        (
            "fr",
            segment("French leads", "lead", 1, "record.country == \"FR\"", None),
        ),
        ("big", segment("Big deals", "opportunity", 1, "", None)),
    ] {
        let r = app.put(&format!("/api/v1/segments/{id}"), body);
        assert_eq!(r.status, 201, "{}", r.text);
    }
    // Rules whose sellers do not exist yet: the leads stay unassigned.
    for (id, name, priority) in [("late", "Fallback by load", 2), ("first", "UK round robin", 1)] {
        let mut rule = fixtures::rule();
        rule["name"] = json!(name);
        rule["priority"] = json!(priority);
        rule["condition"] = json!(null);
        let r = app.put(&format!("/api/v1/segments/uk/rules/{id}"), rule);
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = app.put(
        "/api/v1/segments/uk/schedule",
        json!({"start_date": "2026-11-24", "days": ["mon", "tue", "wed", "thu", "fri"], "times": ["06:00", "14:00"], "timezone": "Europe/London"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    push_leads(&app, &["l1", "l2"], "UK");
    app
}

/// The text between `from` and the next `to` after it.
fn between<'a>(text: &'a str, from: &str, to: &str) -> &'a str {
    let start = text.find(from).unwrap_or_else(|| panic!("{from:?} in {text}")) + from.len();
    let end = text[start..].find(to).map(|e| start + e).unwrap_or(text.len());
    &text[start..end]
}

#[test]
fn home_shows_the_types_and_the_segments_in_priority_order() {
    let app = seeded();
    let b = Browser::signed_in(&app, ADMIN);
    let home = b.get("/console");
    assert_eq!(home.status, 200, "{}", home.text);
    assert_inert(&home.text);
    let tabs = between(&home.text, "aria-label=\"Record types\"", "</nav>");
    assert!(
        tabs.find(">lead<") < tabs.find(">opportunity<"),
        "both types, in order: {tabs}"
    );
    assert!(
        tabs.contains("href=\"/console?type=lead\" aria-current=\"page\""),
        "lead is open: {tabs}"
    );
    let table = between(&home.text, "<tbody>", "</tbody>");
    let fr = table.find("French leads").expect("fr listed");
    let uk = table.find("UK leads").expect("uk listed");
    assert!(fr < uk, "priority 1 before priority 2: {table}");
    assert!(!table.contains("Big deals"), "another type's segment is not listed");
    let uk_row = between(table, "id=\"segment-uk\"", "</tr>");
    assert!(uk_row.contains("Follow up in 3 days"), "the sequence by name: {uk_row}");
    let rules = between(uk_row, "<ol class=\"rules\">", "</ol>");
    assert!(
        rules.find("UK round robin") < rules.find("Fallback by load"),
        "rules in priority order: {rules}"
    );
    assert!(uk_row.contains("<td class=\"num\">2</td>"), "2 unassigned: {uk_row}");
    assert!(uk_row.contains("calendar.svg"), "the calendar mark: {uk_row}");
    assert!(
        uk_row.contains("Scheduled: Mon–Fri at 06:00 and 14:00 (Europe/London)"),
        "{uk_row}"
    );
    let fr_row = between(table, "id=\"segment-fr\"", "</tr>");
    assert!(
        fr_row.contains("No rules") && fr_row.contains("Not scheduled"),
        "{fr_row}"
    );
    assert!(!fr_row.contains("calendar.svg"));

    let opportunities = b.get("/console?type=opportunity");
    assert!(opportunities.text.contains("Big deals"));
    assert!(!opportunities.text.contains("UK leads"));
}

#[test]
fn the_monitor_link_has_a_red_dot_and_count_until_the_leads_are_assigned() {
    let app = seeded();
    let b = Browser::signed_in(&app, ADMIN);
    let home = b.get("/console?type=lead");
    let badge = between(&home.text, "id=\"monitor-badge\"", "</span>\n</div>");
    assert!(
        badge.contains("hx-get=\"/console/types/lead/badge\""),
        "polled: {badge}"
    );
    assert!(
        badge.contains("hx-trigger=\"every 10000ms"),
        "at the poll interval: {badge}"
    );
    assert!(badge.contains("class=\"dot\""), "the red dot: {badge}");
    assert!(badge.contains("2 unassigned"), "the count in words: {badge}");

    // A new unassigned lead shows in the polled fragment without a reload.
    push_leads(&app, &["l3"], "UK");
    let polled = b.get_with("/console/types/lead/badge", &[("HX-Request", "true")]);
    assert_eq!(polled.status, 200);
    assert!(
        polled.text.contains("Monitor lead") && polled.text.contains("3 unassigned"),
        "{}",
        polled.text
    );
    assert!(!polled.text.contains("<html"), "a fragment, not a page");

    assert_eq!(app.put("/api/v1/sellers/s1", fixtures::seller()).status, 201);
    let r = app.post(
        "/api/v1/assignments",
        json!({"record_ids": ["l1", "l2", "l3"], "assignee": {"type": "seller", "id": "s1"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let polled = b.get("/console/types/lead/badge");
    assert!(polled.text.contains("Monitor lead"), "{}", polled.text);
    assert!(
        !polled.text.contains("dot") && !polled.text.contains("unassigned"),
        "no dot: {}",
        polled.text
    );
}

#[test]
fn the_poll_interval_follows_the_option() {
    let app = TestApp::spawn_with(|c| {
        c.console = Some(allot::app::ConsoleOptions {
            poll_ms: 300,
            ..Default::default()
        })
    });
    assert_eq!(
        app.put("/api/v1/segments/all", segment("All", "lead", 1, "", None))
            .status,
        201
    );
    let home = Browser::signed_in(&app, ADMIN).get("/console");
    assert!(home.text.contains("hx-trigger=\"every 300ms"), "{}", home.text);
}

#[test]
fn record_data_and_names_are_escaped_on_home() {
    let app = TestApp::spawn();
    let hostile = "<img src=x onerror=alert(1)>\"'&";
    let r = app.put("/api/v1/segments/x", segment(hostile, "lead", 1, "", None));
    assert_eq!(r.status, 201, "{}", r.text);
    let home = Browser::signed_in(&app, ADMIN).get("/console");
    assert!(!home.text.contains("<img src=x"), "{}", home.text);
    assert!(
        home.text
            .contains("&#60;img src=x onerror=alert(1)&#62;&#34;&#39;&#38;"),
        "{}",
        home.text
    );
}

#[test]
fn a_role_that_may_not_read_configuration_sees_the_counts_only() {
    let app = seeded();
    let integration = app.token("integration");
    let home = Browser::signed_in(&app, &integration).get("/console");
    assert_eq!(home.status, 200, "{}", home.text);
    assert!(home.text.contains("2 unassigned"), "{}", home.text);
    assert!(home.text.contains("Your role may not read the configuration."));
    assert!(!home.text.contains("UK leads"));
}
