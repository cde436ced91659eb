//! Teams and queues as targets: match any / ids / condition with `single` and `random`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::helpers::TestApp;

fn team(app: &TestApp, id: &str, region: &str) {
    seller(app, "member", json!({}));
    let r = app.put(
        &format!("/api/v1/teams/{id}"),
        json!({"name": id, "members": ["member"], "attributes": {"region": region}}),
    );
    assert!(r.status == 201 || r.status == 200, "PUT team {id}: {}", r.text);
}

fn queue(app: &TestApp, id: &str, region: &str) {
    let r = app.put(
        &format!("/api/v1/queues/{id}"),
        json!({"name": id, "attributes": {"region": region}}),
    );
    assert!(r.status == 201 || r.status == 200, "PUT queue {id}: {}", r.text);
}

/// A rule patch: assign to one `kind` (team or queue) matched by `matching` (the rest of
/// `assign_to`) with `method`.
fn to_one(kind: &str, matching: Value, method: &str) -> Value {
    json!({"assign_to": merged(json!({ "type": kind }), matching), "distribution": {"method": method}})
}

/// Segments any, ids and cond (leads whose `seg` names them), each with a rule `r` that
/// hands the lead to one `kind` (team or queue) with method single: any of them, the one
/// with id `by_id`, and the one whose region is the lead's.
fn any_ids_and_condition_segments(app: &TestApp, kind: &str, by_id: &str) {
    for (seg, matching) in [
        ("any", json!({"match": "any"})),
        ("ids", json!({"match": "ids", "ids": [by_id]})),
        (
            "cond",
            json!({"match": "condition", "condition": format!("{kind}.attributes.region == record.region")}),
        ),
    ] {
        segment(app, seg, json!({ "condition": format!("record.seg == \"{seg}\"") }));
        rule(app, seg, "r", to_one(kind, matching, "single"));
    }
}

#[test]
fn teams_match_any_ids_and_condition_with_single() {
    let app = TestApp::spawn();
    team(&app, "t-eu", "EU");
    team(&app, "t-us", "US");
    any_ids_and_condition_segments(&app, "team", "t-us");
    let v = post_wait(&app, lead("any", json!({"seg": "any"})));
    assert_eq!(
        v["status_reason"], "multiple_eligible_teams",
        "two teams match any: {v}"
    );
    let v = post_wait(&app, lead("ids", json!({"seg": "ids"})));
    assert_eq!(v["owner"], json!({"type": "team", "id": "t-us"}), "{v}");
    assert_eq!(v["status_reason"], "assigned");
    assert_eq!(v["needs_attention"], false);
    let v = post_wait(&app, lead("cond", json!({"seg": "cond", "region": "EU"})));
    assert_eq!(v["owner"], json!({"type": "team", "id": "t-eu"}), "{v}");
    assert_eq!(v["decision"]["rules"][0]["candidates"], 1, "{v}");
    assert_eq!(v["decision"]["rules"][0]["excluded"]["condition"], 1, "{v}");
    assert_eq!(
        seller_view(&app, "member")["open_records"],
        0,
        "a team owner is no seller's count"
    );
}

#[test]
fn queues_match_any_ids_and_condition_with_single() {
    let app = TestApp::spawn();
    queue(&app, "q-eu", "EU");
    queue(&app, "q-us", "US");
    any_ids_and_condition_segments(&app, "queue", "q-eu");
    let v = post_wait(&app, lead("any", json!({"seg": "any"})));
    assert_eq!(v["status_reason"], "multiple_eligible_queues", "{v}");
    let v = post_wait(&app, lead("ids", json!({"seg": "ids"})));
    assert_eq!(v["owner"], json!({"type": "queue", "id": "q-eu"}), "{v}");
    let v = post_wait(&app, lead("cond", json!({"seg": "cond", "region": "US"})));
    assert_eq!(v["owner"], json!({"type": "queue", "id": "q-us"}), "{v}");
    let v = post_wait(&app, lead("cond2", json!({"seg": "cond", "region": "APAC"})));
    assert_eq!(v["status_reason"], "no_eligible_queue", "{v}");
}

#[test]
fn random_picks_one_of_the_matches() {
    let app = TestApp::spawn();
    team(&app, "t-eu1", "EU");
    team(&app, "t-eu2", "EU");
    team(&app, "t-us", "US");
    queue(&app, "q-eu1", "EU");
    queue(&app, "q-eu2", "EU");
    queue(&app, "q-us", "US");
    segment(&app, "teams", json!({"condition": "record.to == \"team\""}));
    segment(&app, "queues", json!({"condition": "record.to == \"queue\""}));
    for (seg, kind) in [("teams", "team"), ("queues", "queue")] {
        let in_eu = json!({"match": "condition", "condition": format!("{kind}.attributes.region == \"EU\"")});
        rule(&app, seg, "r", to_one(kind, in_eu, "random"));
    }
    let records = (0..64)
        .map(|i| lead(&format!("t{i}"), json!({"to": "team"})))
        .chain((0..64).map(|i| lead(&format!("q{i}"), json!({"to": "queue"}))))
        .collect();
    let views = post_batch_wait(&app, records);
    let mut teams = BTreeSet::new();
    let mut queues = BTreeSet::new();
    for v in &views {
        assert_eq!(v["status_reason"], "assigned", "{v}");
        let kind = v["owner"]["type"].as_str().unwrap_or_default();
        match kind {
            "team" => teams.insert(owner_id(v)),
            "queue" => queues.insert(owner_id(v)),
            other => panic!("owner type {other:?}: {v}"),
        };
    }
    // 64 fair draws all landing on one of two is a 1 in 2^63 event.
    assert_eq!(
        teams,
        BTreeSet::from(["t-eu1".to_string(), "t-eu2".to_string()]),
        "only matching teams, both picked"
    );
    assert_eq!(
        queues,
        BTreeSet::from(["q-eu1".to_string(), "q-eu2".to_string()]),
        "only matching queues, both picked"
    );
}

#[test]
fn a_team_or_queue_created_after_records_were_processed_is_a_target() {
    let app = TestApp::spawn();
    seller(&app, "member", json!({}));
    segment(&app, "seg", json!({"condition": "record.to == \"team\""}));
    segment(&app, "qseg", json!({"condition": "record.to == \"queue\""}));
    rule(&app, "seg", "r", to_one("team", json!({"match": "any"}), "single"));
    rule(&app, "qseg", "r", to_one("queue", json!({"match": "any"}), "single"));
    let v = post_wait(&app, lead("l1", json!({"to": "team"})));
    assert_eq!(v["status_reason"], "no_eligible_team", "{v}");
    // Only the team is saved here (no seller edit that would refresh everything).
    let r = app.put("/api/v1/teams/t1", json!({"name": "t1", "members": ["member"]}));
    assert_eq!(r.status, 201, "{}", r.text);
    let v = post_wait(&app, lead("l2", json!({"to": "team"})));
    assert_eq!(
        v["owner"],
        json!({"type": "team", "id": "t1"}),
        "the new team is seen: {v}"
    );
    queue(&app, "q1", "EU");
    let v = post_wait(&app, lead("l3", json!({"to": "queue"})));
    assert_eq!(
        v["owner"],
        json!({"type": "queue", "id": "q1"}),
        "the new queue is seen: {v}"
    );
    let r = app.delete("/api/v1/teams/t1");
    assert_eq!(r.status, 204, "{}", r.text);
    let v = post_wait(&app, lead("l4", json!({"to": "team"})));
    assert_eq!(
        v["status_reason"], "no_eligible_team",
        "a deleted team is no target: {v}"
    );
}
