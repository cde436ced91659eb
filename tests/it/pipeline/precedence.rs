//! Several rules: tried by priority, first assigning rule wins, and when none assigns the
//! most specific failure is reported (distribution > target > record condition > age).

use serde_json::{Value, json};

use super::*;
use crate::helpers::TestApp;

/// Four failing rules, one per failure class; `order` gives their priorities.
fn four_failing_rules(app: &TestApp, seg: &str, priorities: [u32; 4]) {
    let [age, cond, target, capacity] = priorities;
    rule(app, seg, "age", json!({"priority": age, "created_within_hours": 1}));
    rule(
        app,
        seg,
        "cond",
        json!({"priority": cond, "condition": "record.revenue > 1000000"}),
    );
    rule(
        app,
        seg,
        "target",
        json!({"priority": target, "assign_to": {"match": "condition", "condition": "seller.attributes.country == \"XX\""}}),
    );
    rule(
        app,
        seg,
        "capacity",
        json!({"priority": capacity, "assign_to": {"match": "ids", "ids": ["full"]}, "distribution": {"use_capacity": true}}),
    );
}

fn old_lead(app: &TestApp, id: &str) -> Value {
    lead_at(id, json!({"revenue": 10}), now(app) - chrono::Duration::hours(5))
}

#[test]
fn the_most_specific_failure_wins_whatever_the_rule_order() {
    let app = TestApp::spawn();
    seller(&app, "full", json!({"capacity": 0}));
    segment(&app, "fwd", json!({"condition": "record.order == \"fwd\""}));
    segment(&app, "rev", json!({"condition": "record.order == \"rev\""}));
    four_failing_rules(&app, "fwd", [1, 2, 3, 4]);
    four_failing_rules(&app, "rev", [4, 3, 2, 1]);

    let v = post_wait(
        &app,
        merged(old_lead(&app, "l-fwd"), json!({"attributes": {"order": "fwd"}})),
    );
    assert_eq!(v["status_reason"], "sellers_at_capacity", "{v}");
    assert_eq!(v["rule_id"], "capacity", "the rule that gave the reported reason: {v}");
    assert_eq!(
        outcomes(&v),
        vec![
            ("age".into(), "record_older_than_timeframe".into()),
            ("cond".into(), "record_doesnt_meet_conditions".into()),
            ("target".into(), "no_sellers_meet_conditions".into()),
            ("capacity".into(), "sellers_at_capacity".into()),
        ],
        "every rule tried by priority"
    );
    let v = post_wait(
        &app,
        merged(old_lead(&app, "l-rev"), json!({"attributes": {"order": "rev"}})),
    );
    assert_eq!(v["status_reason"], "sellers_at_capacity", "{v}");
    assert_eq!(outcomes(&v)[0].0, "capacity", "priority 1 first: {v}");
}

#[test]
fn target_failure_beats_record_condition_which_beats_age() {
    let app = TestApp::spawn();
    seller(&app, "s1", json!({"attributes": {"country": "UK"}}));
    segment(&app, "seg", json!({}));
    rule(&app, "seg", "age", json!({"priority": 1, "created_within_hours": 1}));
    let v = post_wait(&app, old_lead(&app, "l1"));
    assert_eq!(
        v["status_reason"], "record_older_than_timeframe",
        "only the age rule: {v}"
    );

    rule(
        &app,
        "seg",
        "cond",
        json!({"priority": 2, "condition": "record.revenue > 1000000"}),
    );
    let v = post_wait(&app, old_lead(&app, "l2"));
    assert_eq!(v["status_reason"], "record_doesnt_meet_conditions", "{v}");
    assert_eq!(v["rule_id"], "cond");

    rule(
        &app,
        "seg",
        "target",
        json!({"priority": 3, "assign_to": {"match": "condition", "condition": "seller.attributes.country == \"XX\""}}),
    );
    let v = post_wait(&app, old_lead(&app, "l3"));
    assert_eq!(v["status_reason"], "no_sellers_meet_conditions", "{v}");
    assert_eq!(v["rule_id"], "target");

    rule(
        &app,
        "seg",
        "priv",
        json!({"priority": 4, "assign_to": {"match": "ids", "ids": ["s1"]}}),
    );
    seller(
        &app,
        "s1",
        json!({"attributes": {"country": "UK"}, "record_access": ["account"]}),
    );
    let v = post_wait(&app, old_lead(&app, "l4"));
    assert_eq!(
        v["status_reason"], "seller_lacks_privileges",
        "a distribution failure wins: {v}"
    );
    assert_eq!(v["rule_id"], "priv");
}

#[test]
fn team_failure_ranks_as_a_target_failure() {
    let app = TestApp::spawn();
    segment(&app, "seg", json!({}));
    rule(&app, "seg", "cond", json!({"priority": 1, "condition": "false"}));
    rule(
        &app,
        "seg",
        "team",
        json!({"priority": 2, "assign_to": {"type": "team", "match": "any"}, "distribution": {"method": "single"}}),
    );
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(v["status_reason"], "no_eligible_team", "no team exists: {v}");
    assert_eq!(v["rule_id"], "team");
}

#[test]
fn rules_are_tried_by_priority_and_the_first_assigning_rule_wins() {
    let app = TestApp::spawn();
    sellers(&app, &["s1", "s2", "s3"]);
    segment(&app, "seg", json!({}));
    // Ids sort against priorities on purpose: z-first has priority 1.
    rule(
        &app,
        "seg",
        "a-off",
        json!({"priority": 1, "active": false, "assign_to": {"match": "ids", "ids": ["s1"]}}),
    );
    rule(&app, "seg", "z-first", json!({"priority": 1, "condition": "false"}));
    rule(
        &app,
        "seg",
        "m-second",
        json!({"priority": 2, "assign_to": {"match": "ids", "ids": ["s2"]}}),
    );
    rule(
        &app,
        "seg",
        "b-third",
        json!({"priority": 3, "assign_to": {"match": "ids", "ids": ["s3"]}}),
    );
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(owner_id(&v), "s2", "{v}");
    assert_eq!(v["rule_id"], "m-second");
    assert_eq!(
        outcomes(&v),
        vec![
            ("z-first".into(), "record_doesnt_meet_conditions".into()),
            ("m-second".into(), "assigned".into()),
        ],
        "inactive rule skipped, tried by priority, stopped at the first assignment"
    );
}
