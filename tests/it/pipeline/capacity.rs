//! Capacity: exhaustion, close and reopen, and runs that pick up waiting records.

use serde_json::json;

use super::*;
use crate::helpers::TestApp;

#[test]
fn close_frees_capacity_a_run_assigns_the_waiting_record_and_reopen_counts_again() {
    let app = TestApp::spawn();
    one_seller_of_capacity(&app, "s1", 2, "r1");
    let views = post_batch_wait(
        &app,
        vec![lead("l1", json!({})), lead("l2", json!({})), lead("l3", json!({}))],
    );
    let reasons: Vec<&str> = views
        .iter()
        .map(|v| v["status_reason"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(reasons, ["assigned", "assigned", "sellers_at_capacity"]);
    let s = seller_view(&app, "s1");
    assert_eq!(
        (s["open_records"].clone(), s["available_capacity"].clone()),
        (json!(2), json!(0)),
        "{s}"
    );

    let r = app.post("/api/v1/records/l1/close", json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["open"], false);
    assert_eq!(
        r.body["owner"]["id"], "s1",
        "a closed record keeps its owner: {}",
        r.text
    );
    let s = seller_view(&app, "s1");
    assert_eq!(s["open_records"], 1, "closing frees one: {s}");
    assert_eq!(s["available_capacity"], 1);
    let v = record(&app, "l3");
    assert_eq!(v["owner"], json!(null), "closing assigns nothing by itself: {v}");
    assert_eq!(v["status_reason"], "sellers_at_capacity");
    assert_eq!(app.get("/api/v1/segments/seg").body["unassigned_count"], 1);

    let run = run(&app, "seg");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["trigger"], "manual");
    assert_eq!(run["considered"], 1, "only the open unassigned record: {run}");
    assert_eq!(run["assigned"], 1, "{run}");
    assert_eq!(run["assigned_records"], json!(["l3"]), "{run}");
    let v = record(&app, "l3");
    assert_eq!(owner_id(&v), "s1", "{v}");
    assert_eq!(v["status_reason"], "assigned");
    assert_eq!(v["attempts"], 2, "first processing and the run: {v}");
    assert_views(&app, "l3", true, false, false);
    assert_eq!(seller_view(&app, "s1")["open_records"], 2);
    assert_eq!(app.get("/api/v1/segments/seg").body["unassigned_count"], 0);
    let runs = app.get("/api/v1/segments/seg/runs");
    assert_eq!(
        runs.body["items"][0]["id"], run["id"],
        "the run is in the history: {}",
        runs.text
    );

    let r = app.post("/api/v1/records/l1/reopen", json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    let s = seller_view(&app, "s1");
    assert_eq!(s["open_records"], 3, "a reopened record counts again: {s}");
    assert_eq!(s["available_capacity"], -1, "which may go negative: {s}");
    // Closing twice or reopening twice changes nothing.
    assert_eq!(app.post("/api/v1/records/l1/reopen", json!({})).status, 200);
    assert_eq!(seller_view(&app, "s1")["open_records"], 3);
}

#[test]
fn a_closed_record_is_never_reassigned_and_updates_to_it_are_not_processed() {
    let app = TestApp::spawn();
    segment(&app, "seg", json!({}));
    rule(&app, "seg", "r1", json!({}));
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(v["status_reason"], "no_sellers_meet_conditions", "no seller yet: {v}");
    assert_eq!(app.post("/api/v1/records/l1/close", json!({})).status, 200);
    seller(&app, "s1", json!({}));
    let run = run(&app, "seg");
    assert_eq!(run["considered"], 0, "closed records are not considered: {run}");
    let v = post_wait(&app, lead("l1", json!({"note": "updated"})));
    assert_eq!(v["owner"], json!(null), "a closed record is stored, not processed: {v}");
    assert_eq!(v["attributes"]["note"], "updated");
    assert_eq!(v["attempts"], 1);
    assert_eq!(seller_view(&app, "s1")["open_records"], 0);
}

#[test]
fn close_and_reopen_of_an_unknown_record_is_404() {
    let app = TestApp::spawn();
    let r = app.post("/api/v1/records/nope/close", json!({}));
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "not_found");
}

#[test]
fn runs_take_records_oldest_first_up_to_the_limit() {
    let app = TestApp::spawn();
    segment(&app, "seg", json!({}));
    rule(&app, "seg", "r1", json!({"distribution": {"use_capacity": true}}));
    seller(&app, "s1", json!({"capacity": 0}));
    let t = now(&app);
    let views = post_batch_wait(
        &app,
        vec![
            lead_at("new", json!({}), t - chrono::Duration::hours(1)),
            lead_at("old", json!({}), t - chrono::Duration::hours(3)),
            lead_at("mid", json!({}), t - chrono::Duration::hours(2)),
        ],
    );
    assert!(views.iter().all(|v| v["status_reason"] == "sellers_at_capacity"));
    assert_eq!(
        view_ids(&app, "unassigned"),
        ["old", "mid", "new"],
        "oldest created_on first"
    );
    seller(&app, "s1", json!({"capacity": 2}));
    let r = app.post("/api/v1/segments/seg/runs", json!({"limit": 2}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["considered"], 2, "{}", r.text);
    assert_eq!(r.body["assigned_records"], json!(["old", "mid"]), "{}", r.text);
    let r = app.post("/api/v1/segments/seg/runs", json!({}));
    assert_eq!(r.body["considered"], 1, "{}", r.text);
    assert_eq!(r.body["assigned"], 0, "s1 is full again: {}", r.text);
    assert_eq!(r.body["unassigned"], 1, "{}", r.text);
    assert_eq!(
        record(&app, "new")["attempts"],
        2,
        "the first processing and the one run that considered it"
    );
    assert_eq!(record(&app, "old")["attempts"], 2);
}
