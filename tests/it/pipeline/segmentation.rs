//! Segmentation: statuses, priority, inactive segments, moves, and sequence connection.

use serde_json::{Value, json};

use super::*;
use crate::helpers::TestApp;

/// A segment patch: priority `priority`, taking the leads of `country`.
fn of_country(country: &str, priority: u32) -> Value {
    json!({"priority": priority, "condition": format!("record.country == \"{country}\"")})
}

/// Sellers s-fr and s-uk; segment fr (priority 2, French leads, rule r-fr to s-fr) and
/// segment uk (priority 1, UK leads, rule r-uk to s-uk) with the move options `uk_moves`.
fn fr_and_uk(uk_moves: Value) -> TestApp {
    let app = TestApp::spawn();
    seller(&app, "s-fr", json!({}));
    seller(&app, "s-uk", json!({}));
    segment(&app, "fr", of_country("FR", 2));
    segment(&app, "uk", merged(of_country("UK", 1), uk_moves));
    rule(&app, "fr", "r-fr", to_sellers(&["s-fr"]));
    rule(&app, "uk", "r-uk", to_sellers(&["s-uk"]));
    app
}

/// Seller s1, and segment `id` of `condition` with one rule r1 over any seller.
fn one_segment_of(app: &TestApp, id: &str, condition: &str) {
    seller(app, "s1", json!({}));
    segment(app, id, json!({ "condition": condition }));
    rule(app, id, "r1", json!({}));
}

#[test]
fn no_matching_segments() {
    let app = TestApp::spawn();
    one_segment_of(&app, "uk", "record.country == \"UK\"");
    let v = post_wait(&app, lead("l1", json!({"country": "FR"})));
    assert_eq!(v["segment_status"], "no_matching_segments", "{v}");
    assert_eq!(v["segment_id"], json!(null));
    assert_eq!(v["owner"], json!(null));
    assert_eq!(v["needs_attention"], true);
    assert_eq!(v["attempts"], 0, "no rule ran: {v}");
    assert_eq!(v["status_reason"], json!(null), "{v}");
    assert_views(&app, "l1", true, true, true);
    // A record type without any segment is not segmented either.
    let r = app.post(
        "/api/v1/records?wait=true",
        json!({"id": "o1", "record_type": "opportunity", "attributes": {}}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(
        r.body["records"][0]["segment_status"], "no_matching_segments",
        "{}",
        r.text
    );
}

#[test]
fn matched_previous_segment_keeps_the_record_where_it_was() {
    let app = TestApp::spawn();
    seller(&app, "s-fr", json!({}));
    segment(&app, "fr", of_country("FR", 2));
    segment(&app, "uk", of_country("UK", 1));
    rule(&app, "fr", "r-fr", json!({}));
    let v = post_wait(&app, lead("l1", json!({"country": "FR"})));
    assert_eq!(v["segment_id"], "fr");
    assert_eq!(owner_id(&v), "s-fr");
    let v = post_wait(&app, lead("l1", json!({"country": "UK"})));
    assert_eq!(
        v["segment_status"], "matched_previous_segment",
        "uk does not accept previously segmented leads: {v}"
    );
    assert_eq!(v["segment_id"], "fr", "the lead stays in fr: {v}");
    assert_eq!(owner_id(&v), "s-fr", "and keeps its owner: {v}");
    assert_eq!(v["needs_attention"], true);
    assert_views(&app, "l1", true, false, true);
}

#[test]
fn a_segment_condition_failing_at_run_time_is_segment_error() {
    let app = TestApp::spawn();
    one_segment_of(&app, "bad", "record.country.no_such_method()");
    let v = post_wait(&app, lead("l1", json!({"country": "UK"})));
    assert_eq!(v["segment_status"], "segment_error", "{v}");
    let details = v["error_details"].as_str().unwrap_or_default();
    assert!(
        details.contains("segment bad condition") && details.contains("no_such_method"),
        "error_details names the script and the message: {details:?}"
    );
    assert_eq!(v["owner"], json!(null));
    assert_eq!(
        v["status_reason"],
        json!(null),
        "no assignment was tried; a processed record is no longer in progress: {v}"
    );
    assert_eq!(v["needs_attention"], true);
    assert_views(&app, "l1", true, true, true);
}

#[test]
fn first_active_segment_by_priority_then_id_takes_the_record() {
    let app = TestApp::spawn();
    seller(&app, "s1", json!({}));
    segment(&app, "a-off", json!({"priority": 1, "active": false}));
    segment(&app, "c-low", json!({"priority": 3}));
    segment(&app, "b-two", of_country("UK", 2));
    segment(&app, "a-two", of_country("UK", 2));
    let v = post_wait(&app, lead("uk", json!({"country": "UK"})));
    assert_eq!(
        v["segment_id"], "a-two",
        "inactive a-off skipped; a-two and b-two tie on priority, a-two first by id: {v}"
    );
    let v = post_wait(&app, lead("fr", json!({"country": "FR"})));
    assert_eq!(v["segment_id"], "c-low", "the catch-all of lowest priority: {v}");
    let r = app.get("/api/v1/segments?record_type=lead");
    let ids: Vec<&str> = r.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids, ["a-off", "a-two", "b-two", "c-low"], "segments in priority order");
}

#[test]
fn updates_resegment_and_moves_follow_the_segment_options() {
    let app = fr_and_uk(json!({"accept_previously_segmented": true}));
    let v = post_wait(&app, lead("l1", json!({"country": "FR"})));
    assert_eq!((v["segment_id"].as_str(), owner_id(&v).as_str()), (Some("fr"), "s-fr"));

    // Moves into uk (it accepts), but its rules do not run: the owner stays.
    let v = post_wait(&app, lead("l1", json!({"country": "UK"})));
    assert_eq!(v["segment_id"], "uk", "moved: {v}");
    assert_eq!(owner_id(&v), "s-fr", "without run_rules_on_move the owner stays: {v}");
    assert_eq!(v["segment_status"], json!(null));

    // Back to fr: fr does not accept previously segmented leads.
    let v = post_wait(&app, lead("l1", json!({"country": "FR"})));
    assert_eq!(v["segment_id"], "uk", "fr refuses the move: {v}");
    assert_eq!(v["segment_status"], "matched_previous_segment");

    // With run_rules_on_move, a move reassigns (fr now prefers s-fr2).
    seller(&app, "s-fr2", json!({}));
    rule(&app, "fr", "r-fr2", to_sellers(&["s-fr2"]));
    rule(
        &app,
        "fr",
        "r-fr",
        merged(to_sellers(&["s-fr"]), json!({"priority": 2})),
    );
    segment(
        &app,
        "fr",
        merged(
            of_country("FR", 2),
            json!({"accept_previously_segmented": true, "run_rules_on_move": true}),
        ),
    );
    let v = post_wait(&app, lead("l1", json!({"country": "FR", "note": "moved again"})));
    assert_eq!(v["segment_id"], "fr", "{v}");
    assert_eq!(v["segment_status"], json!(null), "{v}");
    assert_eq!(owner_id(&v), "s-fr2", "fr's rules ran on the move: {v}");
    assert_eq!(v["rule_id"], "r-fr2");
    assert_eq!(v["previous_owner"]["id"], "s-fr", "{v}");
    assert_eq!(seller_view(&app, "s-fr")["open_records"], 0);
    assert_eq!(seller_view(&app, "s-fr2")["open_records"], 1);
    assert_eq!(seller_view(&app, "s-uk")["open_records"], 0);
}

#[test]
fn run_rules_on_move_reassigns_and_moves_the_open_count() {
    let app = fr_and_uk(json!({"accept_previously_segmented": true, "run_rules_on_move": true}));
    post_wait(&app, lead("l1", json!({"country": "FR"})));
    let v = post_wait(&app, lead("l1", json!({"country": "UK"})));
    assert_eq!(v["segment_id"], "uk");
    assert_eq!(v["owner"], json!({"type": "seller", "id": "s-uk"}), "{v}");
    assert_eq!(v["previous_owner"], json!({"type": "seller", "id": "s-fr"}), "{v}");
    assert_eq!(v["rule_id"], "r-uk");
    assert_eq!(seller_view(&app, "s-fr")["open_records"], 0, "the count left s-fr");
    assert_eq!(seller_view(&app, "s-uk")["open_records"], 1, "and went to s-uk");
}

#[test]
fn an_update_of_an_unowned_record_runs_its_segments_rules_again() {
    let app = TestApp::spawn();
    segment(&app, "seg", json!({}));
    rule(&app, "seg", "r1", json!({"condition": "record.revenue > 100"}));
    seller(&app, "s1", json!({}));
    let v = post_wait(&app, lead("l1", json!({"revenue": 1})));
    assert_eq!(v["status_reason"], "record_doesnt_meet_conditions");
    let v = post_wait(&app, lead("l1", json!({"revenue": 1000})));
    assert_eq!(v["status_reason"], "assigned", "{v}");
    assert_eq!(v["attempts"], 2, "two automatic attempts: {v}");
}

#[test]
fn sequence_connection_active_inactive_and_deleted() {
    let app = TestApp::spawn();
    seller(&app, "s1", json!({}));
    for (id, active) in [("seq-on", true), ("seq-off", false), ("seq-gone", true)] {
        let r = app.put(
            &format!("/api/v1/sequences/{id}"),
            json!({"name": id, "active": active, "steps": [{"kind": "email", "description": "hello"}]}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }
    segment(
        &app,
        "on",
        json!({"condition": "record.s == \"on\"", "sequence_id": "seq-on"}),
    );
    segment(
        &app,
        "off",
        json!({"condition": "record.s == \"off\"", "sequence_id": "seq-off"}),
    );
    segment(
        &app,
        "gone",
        json!({"condition": "record.s == \"gone\"", "sequence_id": "seq-gone"}),
    );
    for seg in ["on", "off", "gone"] {
        rule(&app, seg, "r", json!({}));
    }
    assert_eq!(app.delete("/api/v1/sequences/seq-gone").status, 204);

    let v = post_wait(&app, lead("l-on", json!({"s": "on"})));
    assert_eq!(v["sequence_id"], "seq-on", "{v}");
    assert_eq!(v["sequence_status"], json!(null));
    assert_eq!(v["needs_attention"], false);

    for (id, s) in [("l-off", "off"), ("l-gone", "gone")] {
        let v = post_wait(&app, lead(id, json!({ "s": s })));
        assert_eq!(v["sequence_status"], "sequence_inactive", "{s}: {v}");
        assert_eq!(v["status_reason"], "assigned", "assignment itself worked: {v}");
        assert_eq!(v["needs_attention"], true, "{v}");
        assert_views(&app, id, true, false, true);
    }
}

#[test]
fn a_record_whose_segment_was_deleted_is_segmented_afresh_on_update() {
    let app = TestApp::spawn();
    seller(&app, "s1", json!({}));
    segment(&app, "old", json!({"priority": 1}));
    segment(&app, "new", json!({"priority": 2}));
    rule(&app, "new", "r", json!({}));
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(v["segment_id"], "old");
    assert_eq!(v["status_reason"], "no_assignment_rule");
    assert_eq!(app.delete("/api/v1/segments/old").status, 204);
    let r = app.post("/api/v1/segments/old/runs", json!({}));
    assert_eq!(r.status, 404, "no run of a deleted segment: {}", r.text);
    let v = post_wait(&app, lead("l1", json!({"note": "again"})));
    assert_eq!(v["segment_id"], "new", "a deleted segment holds nothing back: {v}");
    assert_eq!(v["segment_status"], json!(null), "{v}");
    assert_eq!(owner_id(&v), "s1", "{v}");
}
