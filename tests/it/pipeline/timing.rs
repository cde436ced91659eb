//! Record age (`created_within_hours`) and the assignment window (`assignment_due_at`,
//! `overdue`), against the server's clock.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::*;
use crate::helpers::TestApp;

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

#[test]
fn created_within_hours_counts_from_created_on_to_now() {
    let app = TestApp::spawn();
    one_seller_one_rule(&app, "s1", "r", json!({"created_within_hours": 24}));
    let t = now(&app);
    let v = post_wait(&app, lead_at("l1", json!({}), t - Duration::hours(23)));
    assert_eq!(v["status_reason"], "assigned", "23 h old: {v}");
    let v = post_wait(&app, lead_at("l2", json!({}), t - Duration::hours(25)));
    assert_eq!(v["status_reason"], "record_older_than_timeframe", "25 h old: {v}");
    // A record created now that waits past the window gets too old for the rule.
    seller(&app, "s1", json!({"assign_records": false}));
    let v = post_wait(&app, lead("l3", json!({})));
    assert_eq!(v["status_reason"], "no_sellers_meet_conditions", "{v}");
    seller(&app, "s1", json!({}));
    app.clock.advance(Duration::hours(25));
    run(&app, "seg");
    let v = record(&app, "l3");
    assert_eq!(
        v["status_reason"], "record_older_than_timeframe",
        "too old at the run: {v}"
    );
    assert_eq!(v["attempts"], 2);
}

#[test]
fn assignment_window_sets_the_due_time_and_overdue_once_it_passes() {
    let app = TestApp::spawn();
    segment(&app, "seg", json!({}));
    seller(&app, "s1", json!({"assign_records": false}));
    rule(
        &app,
        "seg",
        "r",
        json!({"assignment_window_hours": 24, "assign_to": {"match": "ids", "ids": ["s1"]}}),
    );
    let created = now(&app) - Duration::hours(2);
    let v = post_wait(&app, lead_at("l1", json!({}), created));
    assert_eq!(v["status_reason"], "no_sellers_meet_conditions", "{v}");
    assert_eq!(
        time(&v["assignment_due_at"]),
        Some(created + Duration::hours(24)),
        "due = created_on + window: {v}"
    );
    assert_eq!(v["overdue"], false, "{v}");

    app.clock.advance(Duration::hours(22) + Duration::minutes(1));
    let v = record(&app, "l1");
    assert_eq!(
        v["overdue"], true,
        "the clock passed the due time while unassigned: {v}"
    );
    let listed = app.get("/api/v1/records?record_type=lead&view=unassigned");
    assert_eq!(
        listed.body["items"][0]["overdue"], true,
        "the list shows it too: {}",
        listed.text
    );

    seller(&app, "s1", json!({}));
    run(&app, "seg");
    let v = record(&app, "l1");
    assert_eq!(owner_id(&v), "s1", "{v}");
    assert_eq!(v["overdue"], false, "an assigned record is not overdue: {v}");
}

#[test]
fn assignment_due_at_comes_from_the_rule_that_handled_the_record() {
    let app = TestApp::spawn();
    segment(&app, "seg", json!({}));
    seller(&app, "s1", json!({}));
    // r1 does not handle the record (its condition is false), r2 assigns it.
    rule(
        &app,
        "seg",
        "r1",
        json!({"priority": 1, "condition": "false", "assignment_window_hours": 5}),
    );
    rule(&app, "seg", "r2", json!({"priority": 2, "assignment_window_hours": 48}));
    let created = now(&app);
    let v = post_wait(&app, lead_at("l1", json!({}), created));
    assert_eq!(v["rule_id"], "r2");
    assert_eq!(
        time(&v["assignment_due_at"]),
        Some(created + Duration::hours(48)),
        "{v}"
    );
    // Both rules handle l2 and fail; r2's failure (capacity) is the one reported, and
    // the due time shown is r2's, like the rule shown.
    seller(&app, "s2", json!({"assign_records": false}));
    rule(
        &app,
        "seg",
        "r1",
        json!({"priority": 1, "condition": null, "assignment_window_hours": 5, "assign_to": {"match": "ids", "ids": ["s2"]}}),
    );
    rule(
        &app,
        "seg",
        "r2",
        json!({"priority": 2, "assignment_window_hours": 48, "assign_to": {"match": "ids", "ids": ["s1"]},
               "distribution": {"use_capacity": true}}),
    );
    seller(&app, "s1", json!({"capacity": 0}));
    let v = post_wait(&app, lead_at("l2", json!({}), created));
    assert_eq!(v["status_reason"], "sellers_at_capacity", "{v}");
    assert_eq!(v["rule_id"], "r2", "{v}");
    assert_eq!(
        time(&v["assignment_due_at"]),
        Some(created + Duration::hours(48)),
        "the due time of the reported rule: {v}"
    );
}

#[test]
fn a_window_too_far_out_to_represent_costs_nothing_but_its_due_time() {
    let app = TestApp::spawn();
    seller(&app, "s1", json!({"assign_records": false}));
    segment(&app, "seg", json!({}));
    let refused = app.put(
        "/api/v1/segments/seg/rules/r",
        crate::pipeline::rule_body("r", json!({"assignment_window_hours": u32::MAX})),
    );
    assert_eq!(
        refused.status, 422,
        "a window beyond ten years is refused: {}",
        refused.text
    );
    assert_eq!(refused.body["error"]["details"]["field"], "assignment_window_hours");
    let late = DateTime::parse_from_rfc3339("9999-12-31T23:00:00Z").map(|t| t.with_timezone(&Utc));
    let late = late.unwrap_or_else(|e| panic!("{e}"));
    rule(&app, "seg", "r", json!({"assignment_window_hours": 24}));
    let v = post_wait(&app, lead_at("l2", json!({}), late));
    assert_eq!(v["stage"], "processed", "a record created at the end of time: {v}");
    assert_eq!(app.get("/healthz").status, 200);
    let v = post_wait(&app, lead("l3", json!({})));
    assert_eq!(v["stage"], "processed", "the server still processes records: {v}");
}
