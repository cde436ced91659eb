//! One test per assignment status reason a rule can produce, each set up so that exactly
//! that reason is the right answer.

use serde_json::json;

use super::*;
use crate::helpers::TestApp;

/// One segment `seg` matching every lead.
fn one_segment() -> TestApp {
    let app = TestApp::spawn();
    segment(&app, "seg", json!({}));
    app
}

#[test]
fn assigned_names_owner_rule_and_decision() {
    let app = one_segment();
    seller(&app, "s1", json!({}));
    seller(&app, "s2", json!({"attributes": {"country": "FR"}}));
    rule(
        &app,
        "seg",
        "r1",
        json!({"assign_to": {"match": "condition", "condition": "seller.attributes.country != \"FR\""}}),
    );
    let v = post_wait(&app, lead("l1", json!({"country": "UK"})));
    assert_eq!(v["status_reason"], "assigned", "{v}");
    assert_eq!(v["owner"], json!({"type": "seller", "id": "s1"}), "{v}");
    assert_eq!(v["stage"], "processed");
    assert_eq!(v["segment_id"], "seg");
    assert_eq!(v["rule_id"], "r1");
    assert_eq!(v["needs_attention"], false);
    assert_eq!(v["attempts"], 1, "the first processing is one attempt");
    assert!(v["last_attempt_at"].is_string(), "last_attempt_at set: {v}");
    assert_eq!(outcomes(&v), vec![("r1".into(), "assigned".into())]);
    let d = &v["decision"]["rules"][0];
    assert_eq!(d["candidates"], 1, "s1 is the only candidate: {d}");
    assert_eq!(d["excluded"]["condition"], 1, "s2 removed by the target condition: {d}");
    assert_eq!(v["decision"]["segment_id"], "seg");
    assert_views(&app, "l1", true, false, false);
    assert_eq!(seller_view(&app, "s1")["open_records"], 1, "s1 owns one open record");
    assert!(seller_view(&app, "s1")["last_assigned_at"].is_string());
}

#[test]
fn a_rule_condition_failing_at_run_time_is_server_error_and_the_server_goes_on() {
    let app = one_segment();
    seller(&app, "s1", json!({}));
    rule(
        &app,
        "seg",
        "broken",
        json!({"condition": "no_such_function(record.country)"}),
    );
    let v = post_wait(&app, lead("l1", json!({"country": "UK"})));
    assert_eq!(v["status_reason"], "server_error", "{v}");
    assert_eq!(v["owner"], json!(null));
    assert_eq!(v["needs_attention"], true);
    let details = v["error_details"].as_str().unwrap_or_default();
    assert!(
        details.contains("rule broken condition") && details.contains("no_such_function"),
        "error_details names the script and the message: {details:?}"
    );
    assert_eq!(outcomes(&v), vec![("broken".into(), "server_error".into())]);
    assert_views(&app, "l1", true, true, true);

    // A condition that never ends is stopped and reported the same way.
    rule(&app, "seg", "broken", json!({"condition": "loop { } true"}));
    let v = post_wait(&app, lead("l2", json!({})));
    assert_eq!(v["status_reason"], "server_error", "{v}");
    let details = v["error_details"].as_str().unwrap_or_default();
    assert!(
        details.contains("rule broken condition") && details.contains("stopped"),
        "error_details says the script was stopped: {details:?}"
    );
    assert_eq!(app.get("/healthz").status, 200, "the server still answers");
    rule(&app, "seg", "broken", json!({"condition": "true"}));
    let v = post_wait(&app, lead("l3", json!({})));
    assert_eq!(
        v["status_reason"], "assigned",
        "records are still assigned afterwards: {v}"
    );
}

#[test]
fn record_doesnt_meet_conditions() {
    let app = one_segment();
    seller(&app, "s1", json!({}));
    rule(&app, "seg", "big", json!({"condition": "record.revenue > 10000"}));
    let v = post_wait(&app, lead("l1", json!({"revenue": 500})));
    assert_eq!(v["status_reason"], "record_doesnt_meet_conditions", "{v}");
    assert_eq!(v["rule_id"], "big");
    assert_eq!(v["needs_attention"], true);
    assert_eq!(
        outcomes(&v),
        vec![("big".into(), "record_doesnt_meet_conditions".into())]
    );
    assert_views(&app, "l1", true, true, true);
    let v = post_wait(&app, lead("l2", json!({"revenue": 50000})));
    assert_eq!(
        v["status_reason"], "assigned",
        "a record meeting the condition is assigned: {v}"
    );
}

#[test]
fn no_sellers_meet_conditions_when_none_match() {
    let app = one_segment();
    seller(&app, "s1", json!({"attributes": {"country": "FR"}}));
    seller(&app, "s2", json!({"attributes": {"country": "DE"}}));
    rule(
        &app,
        "seg",
        "r1",
        json!({"assign_to": {"match": "condition", "condition": "seller.attributes.country == record.country"}}),
    );
    let v = post_wait(&app, lead("l1", json!({"country": "UK"})));
    assert_eq!(v["status_reason"], "no_sellers_meet_conditions", "{v}");
    let d = &v["decision"]["rules"][0];
    assert_eq!(
        d["excluded"]["condition"], 2,
        "both sellers removed by the condition: {d}"
    );
    assert_eq!(d["candidates"], 0);
    assert_views(&app, "l1", true, true, true);
}

#[test]
fn no_sellers_meet_conditions_when_the_only_match_does_not_take_records() {
    let app = one_segment();
    seller(&app, "s1", json!({}));
    seller(&app, "s2", json!({"assign_records": false}));
    rule(&app, "seg", "r1", json!({"assign_to": {"match": "ids", "ids": ["s2"]}}));
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(v["status_reason"], "no_sellers_meet_conditions", "{v}");
    let d = &v["decision"]["rules"][0];
    assert_eq!(d["excluded"]["condition"], 1, "s1 is not among the ids: {d}");
    assert_eq!(d["excluded"]["assign_records_off"], 1, "s2 has assign_records off: {d}");
    assert_eq!(v["owner"], json!(null));
}

#[test]
fn sellers_at_capacity() {
    let app = one_segment();
    seller(&app, "s1", json!({"capacity": 1}));
    rule(&app, "seg", "r1", json!({"distribution": {"use_capacity": true}}));
    assert_eq!(post_wait(&app, lead("l1", json!({})))["status_reason"], "assigned");
    let v = post_wait(&app, lead("l2", json!({})));
    assert_eq!(v["status_reason"], "sellers_at_capacity", "{v}");
    assert_eq!(v["decision"]["rules"][0]["excluded"]["capacity"], 1, "{v}");
    assert_views(&app, "l2", true, true, true);
    let s = seller_view(&app, "s1");
    assert_eq!(s["open_records"], 1, "never pushed over capacity: {s}");
    assert_eq!(s["available_capacity"], 0);
}

#[test]
fn sellers_unavailable_outside_working_hours() {
    let app = one_segment();
    app.clock.set(monday(23, 0)); // 18:00 in New York
    seller(
        &app,
        "s1",
        json!({"availability": {"timezone": "America/New_York", "working_hours": {"mon": [["09:00", "17:00"]]}}}),
    );
    rule(&app, "seg", "r1", available_within(Some(24)));
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(v["status_reason"], "sellers_unavailable", "{v}");
    assert_eq!(v["decision"]["rules"][0]["excluded"]["availability"], 1, "{v}");
    assert_views(&app, "l1", true, true, true);
}

#[test]
fn no_assignment_rule_without_an_active_rule() {
    let app = one_segment();
    seller(&app, "s1", json!({}));
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(v["status_reason"], "no_assignment_rule", "a segment without rules: {v}");
    assert_eq!(v["rule_id"], json!(null));
    assert_views(&app, "l1", true, true, true);
    rule(&app, "seg", "off", json!({"active": false}));
    let v = post_wait(&app, lead("l2", json!({})));
    assert_eq!(v["status_reason"], "no_assignment_rule", "only an inactive rule: {v}");
    assert_eq!(outcomes(&v), Vec::<(String, String)>::new(), "no rule was tried");
}

#[test]
fn seller_lacks_privileges_by_record_access() {
    let app = one_segment();
    seller(&app, "s1", json!({"record_access": ["opportunity"]}));
    rule(&app, "seg", "r1", json!({}));
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(v["status_reason"], "seller_lacks_privileges", "{v}");
    assert_eq!(v["decision"]["rules"][0]["excluded"]["record_access"], 1, "{v}");
    assert_views(&app, "l1", true, true, true);
}

#[test]
fn seller_lacks_privileges_by_eligible_roles() {
    let app = one_segment();
    seller(&app, "s1", json!({"roles": ["intern"]}));
    rule(&app, "seg", "r1", json!({}));
    put_settings(&app, Some(&["seller"]), "organization");
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(v["status_reason"], "seller_lacks_privileges", "{v}");
    assert_eq!(v["decision"]["rules"][0]["excluded"]["role"], 1, "{v}");
    seller(&app, "s1", json!({"roles": ["intern", "seller"]}));
    let v = post_wait(&app, lead("l2", json!({})));
    assert_eq!(v["status_reason"], "assigned", "an eligible role is enough: {v}");
}

#[test]
fn record_older_than_timeframe() {
    let app = one_segment();
    seller(&app, "s1", json!({}));
    rule(&app, "seg", "fresh", json!({"created_within_hours": 48}));
    let now = now(&app);
    let v = post_wait(&app, lead_at("old", json!({}), now - chrono::Duration::hours(49)));
    assert_eq!(v["status_reason"], "record_older_than_timeframe", "{v}");
    assert_eq!(v["rule_id"], "fresh");
    assert_views(&app, "old", true, true, true);
    let v = post_wait(&app, lead_at("young", json!({}), now - chrono::Duration::hours(47)));
    assert_eq!(v["status_reason"], "assigned", "a record inside the window: {v}");
}

#[test]
fn team_reasons_multiple_and_none() {
    let app = one_segment();
    seller(&app, "s1", json!({}));
    for (id, region) in [("t-eu", "EU"), ("t-eu2", "EU"), ("t-us", "US")] {
        let r = app.put(
            &format!("/api/v1/teams/{id}"),
            json!({"name": id, "members": ["s1"], "attributes": {"region": region}}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }
    rule(
        &app,
        "seg",
        "teams",
        json!({"assign_to": {"type": "team", "match": "condition", "condition": "team.attributes.region == record.region"},
               "distribution": {"method": "single"}}),
    );
    let v = post_wait(&app, lead("eu", json!({"region": "EU"})));
    assert_eq!(v["status_reason"], "multiple_eligible_teams", "{v}");
    assert_eq!(v["decision"]["rules"][0]["candidates"], 2, "{v}");
    assert_views(&app, "eu", true, true, true);
    let v = post_wait(&app, lead("apac", json!({"region": "APAC"})));
    assert_eq!(v["status_reason"], "no_eligible_team", "{v}");
    assert_views(&app, "apac", true, true, true);
    let v = post_wait(&app, lead("us", json!({"region": "US"})));
    assert_eq!(v["status_reason"], "assigned", "{v}");
    assert_eq!(v["owner"], json!({"type": "team", "id": "t-us"}));
}

#[test]
fn queue_reasons_multiple_and_none() {
    let app = one_segment();
    for (id, lang) in [("q-en", "en"), ("q-en2", "en"), ("q-fr", "fr")] {
        let r = app.put(
            &format!("/api/v1/queues/{id}"),
            json!({"name": id, "attributes": {"language": lang}}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }
    rule(
        &app,
        "seg",
        "queues",
        json!({"assign_to": {"type": "queue", "match": "condition", "condition": "queue.attributes.language == record.language"},
               "distribution": {"method": "single"}}),
    );
    let v = post_wait(&app, lead("en", json!({"language": "en"})));
    assert_eq!(v["status_reason"], "multiple_eligible_queues", "{v}");
    let v = post_wait(&app, lead("ja", json!({"language": "ja"})));
    assert_eq!(v["status_reason"], "no_eligible_queue", "{v}");
    assert_views(&app, "ja", true, true, true);
    let v = post_wait(&app, lead("fr", json!({"language": "fr"})));
    assert_eq!(v["owner"], json!({"type": "queue", "id": "q-fr"}), "{v}");
}

#[test]
fn rules_wont_run_for_a_segment_moved_into_without_run_rules_on_move() {
    let app = TestApp::spawn();
    seller(&app, "s1", json!({}));
    // "basic" has no rules: the lead waits there unassigned.
    segment(
        &app,
        "basic",
        json!({"priority": 2, "condition": "record.tier == \"basic\""}),
    );
    segment(
        &app,
        "gold",
        json!({"priority": 1, "condition": "record.tier == \"gold\"", "accept_previously_segmented": true,
               "run_rules_on_move": false}),
    );
    rule(&app, "gold", "r1", json!({}));
    let v = post_wait(&app, lead("l1", json!({"tier": "basic"})));
    assert_eq!(v["segment_id"], "basic");
    assert_eq!(v["status_reason"], "no_assignment_rule", "{v}");
    let v = post_wait(&app, lead("l1", json!({"tier": "gold"})));
    assert_eq!(v["segment_id"], "gold", "moved into gold: {v}");
    assert_eq!(v["status_reason"], "rules_wont_run_for_segment", "{v}");
    assert_eq!(v["owner"], json!(null), "gold's rule did not run: {v}");
    assert_eq!(v["segment_status"], json!(null));
    assert_eq!(v["needs_attention"], true);
    assert_views(&app, "l1", true, true, true);
    assert_eq!(seller_view(&app, "s1")["open_records"], 0);
}

#[test]
fn an_owned_record_moved_without_run_rules_on_move_keeps_its_owner_and_says_rules_wont_run() {
    let app = TestApp::spawn();
    seller(&app, "s1", json!({}));
    seller(&app, "s2", json!({}));
    segment(
        &app,
        "basic",
        json!({"priority": 2, "condition": "record.tier == \"basic\""}),
    );
    rule(&app, "basic", "r-basic", to_sellers(&["s1"]));
    segment(
        &app,
        "gold",
        json!({"priority": 1, "condition": "record.tier == \"gold\"", "accept_previously_segmented": true,
               "run_rules_on_move": false}),
    );
    rule(&app, "gold", "r-gold", to_sellers(&["s2"]));
    let v = post_wait(&app, lead("l1", json!({"tier": "basic"})));
    assert_eq!(
        (v["segment_id"].as_str(), owner_id(&v).as_str()),
        (Some("basic"), "s1"),
        "{v}"
    );
    assert_eq!(v["status_reason"], "assigned", "{v}");
    let v = post_wait(&app, lead("l1", json!({"tier": "gold"})));
    assert_eq!(v["segment_id"], "gold", "moved into gold: {v}");
    assert_eq!(owner_id(&v), "s1", "the owner stays: {v}");
    assert_eq!(v["status_reason"], "rules_wont_run_for_segment", "{v}");
    assert_eq!(v["rule_id"], json!(null), "no rule of gold handled it: {v}");
    assert_eq!(v["segment_status"], json!(null));
    assert_eq!(v["needs_attention"], false, "an owned record needs no attention: {v}");
    assert_views(&app, "l1", true, false, false);
    assert_eq!(seller_view(&app, "s1")["open_records"], 1);
    assert_eq!(seller_view(&app, "s2")["open_records"], 0);
    let stored = app.get("/api/v1/records/l1").body;
    assert_eq!(stored["status_reason"], "rules_wont_run_for_segment", "{stored}");
}

#[test]
fn each_filter_is_counted_in_the_decision() {
    let app = one_segment();
    app.clock.set(monday(15, 0)); // 10:00 in New York
    put_settings(&app, Some(&["seller"]), "organization");
    seller(&app, "a-cond", json!({"attributes": {"country": "FR"}}));
    seller(&app, "b-off", json!({"assign_records": false}));
    seller(&app, "c-role", json!({"roles": ["intern"]}));
    seller(&app, "d-access", json!({"record_access": ["account"]}));
    seller(&app, "e-full", json!({"capacity": 0}));
    seller(
        &app,
        "f-away",
        json!({"availability": {"timezone": "America/New_York", "working_hours": {"sat": [["09:00", "17:00"]]}}}),
    );
    seller(&app, "g-ok", json!({"capacity": 5}));
    rule(
        &app,
        "seg",
        "r1",
        json!({"assign_to": {"match": "condition", "condition": "seller.attributes.country != \"FR\""},
               "distribution": {"use_capacity": true, "available_within_hours": 24}}),
    );
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(owner_id(&v), "g-ok", "{v}");
    assert_eq!(
        v["decision"]["rules"][0],
        json!({"rule_id": "r1", "outcome": "assigned", "candidates": 1,
               "excluded": {"condition": 1, "assign_records_off": 1, "role": 1, "record_access": 1,
                            "capacity": 1, "availability": 1}}),
        "each filter removed exactly one seller"
    );
}
