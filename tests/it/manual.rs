//! Manual assignment (`POST /assignments`) and eligible sellers
//! (`GET /records/{id}/eligible-sellers`): per-record results, previous owners, counters,
//! the round-robin order, `only_eligible`, unknown assignees, roles, and exactly who is
//! eligible under a segment's rules.

use chrono::Duration;
use serde_json::{Value, json};

use crate::fixtures::{self, assert_error, assert_invalid};
use crate::helpers::{Resp, TestApp};
use crate::work::{
    all_records, any_seller, at, check_counters, check_history, get_record, history_of, list_all, ok, open_records,
    owner, post_records, put, put_rule, put_segment, put_seller, record, rule, sellers_by_id, sellers_where,
};

fn assign(app: &TestApp, records: &[&str], kind: &str, id: &str) -> Value {
    let r = app.post(
        "/api/v1/assignments",
        json!({"record_ids": records, "assignee": {"type": kind, "id": id}}),
    );
    assert_eq!(r.status, 200, "assigning {records:?} to {kind} {id}: {}", r.text);
    r.body["results"]
        .as_array()
        .cloned()
        .map(Value::Array)
        .unwrap_or_default()
}

/// `GET /records/{id}/eligible-sellers`, which must answer 200.
fn eligible_sellers(app: &TestApp, record_id: &str) -> Resp {
    let r = app.get(&format!("/api/v1/records/{record_id}/eligible-sellers"));
    assert_eq!(r.status, 200, "eligible sellers of {record_id}: {}", r.text);
    r
}

fn admin_id(app: &TestApp) -> Value {
    let me = app.get("/api/v1/me");
    assert_eq!(me.status, 200, "{}", me.text);
    me.body["id"].clone()
}

/// Sellers s1..s3, team t1 (member s1), segment `m` whose rule only takes records with
/// `auto == true`; records m1..m3 (auto false) wait unassigned.
fn manual_world(app: &TestApp) {
    for s in ["s1", "s2", "s3"] {
        put_seller(app, s, None);
    }
    put(app, "/api/v1/teams/t1", json!({"name": "team one", "members": ["s1"]}));
    put_segment(app, "m", "lead");
    put_rule(app, "m", "auto", rule(1, Some("record.auto == true"), any_seller()));
    let recs: Vec<Value> = ["m1", "m2", "m3"]
        .iter()
        .map(|id| record(id, "lead", None, json!({"auto": false})))
        .collect();
    for v in post_records(app, &recs, true) {
        assert_eq!(v["status_reason"], "record_doesnt_meet_conditions", "{v}");
    }
}

#[test]
fn manual_assignment_to_sellers_and_teams_answers_per_record() {
    let app = TestApp::spawn();
    app.clock.set(at("2026-11-24T09:00:00Z"));
    manual_world(&app);
    let admin = admin_id(&app);

    let results = assign(&app, &["m1", "m2", "nope"], "seller", "s2");
    assert_eq!(results[0]["record_id"], "m1", "results in request order: {results}");
    assert_eq!(results[0]["ok"], true, "{results}");
    assert_eq!(results[0]["record"]["owner"], owner("seller", "s2"), "{results}");
    assert_eq!(results[0]["record"]["status_reason"], "assigned_manually", "{results}");
    assert_eq!(results[0]["record"]["previous_owner"], Value::Null, "{results}");
    assert_eq!(results[1]["record_id"], "m2", "{results}");
    assert_eq!(results[1]["ok"], true, "{results}");
    assert_eq!(results[2]["record_id"], "nope", "{results}");
    assert_eq!(results[2]["ok"], false, "an unknown record fails alone: {results}");
    assert_eq!(results[2]["error"]["code"], "not_found", "{results}");
    assert_eq!(results[2]["record"], Value::Null, "{results}");
    let m1 = get_record(&app, "m1");
    assert_eq!(m1["owner"], owner("seller", "s2"), "{m1}");
    assert_eq!(m1["status_reason"], "assigned_manually", "{m1}");
    assert_eq!(
        m1["needs_attention"], false,
        "an assigned record needs no attention: {m1}"
    );
    assert_eq!(open_records(&app, "s2"), 2, "s2 owns m1 and m2");
    let h = history_of(&app, "m1");
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0]["by"], "manual", "{h:?}");
    assert_eq!(h[0]["actor"], admin, "the actor is the token's id: {h:?}");
    assert_eq!(h[0]["assignee"], owner("seller", "s2"), "{h:?}");
    assert_eq!(h[0]["previous_owner"], Value::Null, "{h:?}");
    assert_eq!(h[0]["rule_id"], Value::Null, "{h:?}");
    assert_eq!(h[0]["run_id"], Value::Null, "{h:?}");

    // Reassignment: the previous owner is kept and the count moves.
    let results = assign(&app, &["m1"], "seller", "s3");
    assert_eq!(
        results[0]["record"]["previous_owner"],
        owner("seller", "s2"),
        "{results}"
    );
    assert_eq!(get_record(&app, "m1")["previous_owner"], owner("seller", "s2"));
    assert_eq!(open_records(&app, "s2"), 1, "m1 left s2");
    assert_eq!(open_records(&app, "s3"), 1, "m1 went to s3");
    let h = history_of(&app, "m1");
    assert_eq!(h.len(), 2, "{h:?}");
    assert_eq!(h[0]["assignee"], owner("seller", "s3"), "newest first: {h:?}");
    assert_eq!(h[0]["previous_owner"], owner("seller", "s2"), "{h:?}");

    // To a team: the seller count moves off s3; team members' counts do not change.
    let results = assign(&app, &["m1", "m3"], "team", "t1");
    for r in results.as_array().expect("results") {
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["record"]["owner"], owner("team", "t1"), "{r}");
        assert_eq!(r["record"]["status_reason"], "assigned_manually", "{r}");
    }
    assert_eq!(get_record(&app, "m1")["previous_owner"], owner("seller", "s3"));
    assert_eq!(open_records(&app, "s3"), 0, "m1 left s3 for the team");
    assert_eq!(open_records(&app, "s1"), 0, "a team member's count does not move");

    // The same owner again changes nothing and adds no history, nor a turn in the
    // round-robin order.
    let s2_last = app.get("/api/v1/sellers/s2").body["last_assigned_at"].clone();
    app.clock.set(at("2026-11-24T10:00:00Z"));
    let results = assign(&app, &["m2"], "seller", "s2");
    assert_eq!(
        app.get("/api/v1/sellers/s2").body["last_assigned_at"],
        s2_last,
        "assigning a record to its owner is not an assignment"
    );
    assert_eq!(results[0]["ok"], true, "{results:?}");
    assert_eq!(history_of(&app, "m2").len(), 1, "no change of owner, no entry");
    assert_eq!(open_records(&app, "s2"), 1, "m2 counted once");

    // A closed record can be assigned; it counts for nobody.
    ok(&app.post("/api/v1/records/m2/close", json!({})), "closing m2");
    assert_eq!(open_records(&app, "s2"), 0, "a closed record does not count");
    let results = assign(&app, &["m2"], "seller", "s3");
    assert_eq!(results[0]["ok"], true, "{results:?}");
    assert_eq!(open_records(&app, "s3"), 0, "a closed record does not count");
    assert_eq!(open_records(&app, "s2"), 0);

    let records = all_records(&app, "lead");
    check_history(&records, &list_all(&app, "/api/v1/assignments?record_type=lead"));
    check_counters(&app, &records, &["s1", "s2", "s3"]);
}

#[test]
fn a_manual_assignment_counts_in_round_robin_order() {
    for scope in ["organization", "rule"] {
        let app = TestApp::spawn();
        let t0 = at("2026-11-24T09:00:00Z");
        app.clock.set(t0);
        put(&app, "/api/v1/settings", fixtures::settings(None, scope));
        three_sellers_round_robin(&app, "auto", Some("record.auto == true"));
        post_records(&app, &[record("x", "lead", None, json!({"auto": false}))], true);
        assign(&app, &["x"], "seller", "a");
        // Without the manual assignment, a (never assigned, first by id) would be next.
        let mut got = Vec::new();
        for i in 1..=4 {
            app.clock.set(t0 + Duration::minutes(i));
            let v = post_records(
                &app,
                &[record(&format!("y{i}"), "lead", None, json!({"auto": true}))],
                true,
            );
            got.push(v[0]["owner"]["id"].clone());
        }
        assert_eq!(
            got,
            vec![json!("b"), json!("c"), json!("a"), json!("b")],
            "round_robin_scope {scope}: the seller assigned by hand waits its turn"
        );
    }
}

/// Sellers a, b and c, and segment rr with one rule `rule_id` over any seller that takes
/// the records meeting `condition`.
fn three_sellers_round_robin(app: &TestApp, rule_id: &str, condition: Option<&str>) {
    for s in ["a", "b", "c"] {
        put_seller(app, s, None);
    }
    put_segment(app, "rr", "lead");
    put_rule(app, "rr", rule_id, rule(1, condition, any_seller()));
}

/// The next round-robin pick after rule assignments made under the organization scope,
/// then a switch to the rule scope; with or without a restart in between.
fn pick_after_scope_switch(restart: bool) -> Value {
    let app = TestApp::spawn();
    let t0 = at("2026-11-24T09:00:00Z");
    app.clock.set(t0);
    three_sellers_round_robin(&app, "any", None);
    for (i, want) in [(1, "a"), (2, "b")] {
        app.clock.set(t0 + Duration::minutes(i));
        let v = post_records(&app, &[record(&format!("y{i}"), "lead", None, json!({}))], true);
        assert_eq!(v[0]["owner"], owner("seller", want), "{v:?}");
    }
    put(&app, "/api/v1/settings", fixtures::settings(None, "rule"));
    let app = if restart { app.restart() } else { app };
    app.clock.set(t0 + Duration::minutes(3));
    let v = post_records(&app, &[record("y3", "lead", None, json!({}))], true);
    v[0]["owner"].clone()
}

#[test]
fn the_round_robin_order_is_the_same_after_a_restart() {
    let live = pick_after_scope_switch(false);
    let restarted = pick_after_scope_switch(true);
    assert_eq!(live, owner("seller", "c"), "c has not had a turn under the rule");
    assert_eq!(restarted, live, "a restart does not change whose turn it is");
}

#[test]
fn only_eligible_refuses_the_whole_request_and_changes_nothing() {
    let app = TestApp::spawn();
    app.clock.set(at("2026-11-24T09:00:00Z"));
    put_seller(&app, "in", Some(0));
    put_seller(&app, "out", Some(0));
    put_segment(&app, "e", "lead");
    put_rule(&app, "e", "ids", rule(1, None, sellers_by_id(&["in"])));
    let recs = [
        record("e1", "lead", None, json!({})),
        record("e2", "lead", None, json!({})),
    ];
    for v in post_records(&app, &recs, true) {
        assert_eq!(v["status_reason"], "sellers_at_capacity", "{v}");
    }
    let before: Vec<Value> = ["e1", "e2"].iter().map(|id| get_record(&app, id)).collect();

    let r = app.post(
        "/api/v1/assignments",
        json!({"record_ids": ["e1", "e2"], "assignee": {"type": "seller", "id": "out"}, "only_eligible": true}),
    );
    assert_invalid(&r, "assignee", "an ineligible seller with only_eligible");
    let after: Vec<Value> = ["e1", "e2"].iter().map(|id| get_record(&app, id)).collect();
    assert_eq!(after, before, "a refused request changes no record");
    for id in ["e1", "e2"] {
        assert!(
            history_of(&app, id).is_empty(),
            "a refused request writes no history for {id}"
        );
    }
    assert_eq!(open_records(&app, "out"), 0);

    // Unknown assignees are refused naming assignee.id, whatever only_eligible says; the
    // id keeps its case in the message.
    for (kind, only) in [("seller", false), ("team", false), ("seller", true)] {
        let r = app.post(
            "/api/v1/assignments",
            json!({"record_ids": ["e1"], "assignee": {"type": kind, "id": "Ghost-1"}, "only_eligible": only}),
        );
        assert_invalid(&r, "assignee.id", &format!("an unknown {kind}"));
        assert!(
            r.body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("Ghost-1")),
            "the message names the assignee as sent: {}",
            r.text
        );
    }
    let after: Vec<Value> = ["e1", "e2"].iter().map(|id| get_record(&app, id)).collect();
    assert_eq!(after, before, "refused requests change no record");

    // Eligible: assigned, capacity notwithstanding (the admin decides).
    let r = app.post(
        "/api/v1/assignments",
        json!({"record_ids": ["e1", "e2"], "assignee": {"type": "seller", "id": "in"}, "only_eligible": true}),
    );
    assert_eq!(r.status, 200, "an eligible seller with only_eligible: {}", r.text);
    for res in r.body["results"].as_array().expect("results") {
        assert_eq!(res["ok"], true, "{res}");
        assert_eq!(res["record"]["owner"], owner("seller", "in"), "{res}");
    }
    assert_eq!(open_records(&app, "in"), 2);
}

#[test]
fn only_configurers_assign_by_hand() {
    let app = TestApp::spawn();
    manual_world(&app);
    let body = json!({"record_ids": ["m1"], "assignee": {"type": "seller", "id": "s1"}});
    for role in ["reader", "integration", "sequence_manager"] {
        let t = app.token(role);
        let r = app.request("POST", "/api/v1/assignments", Some(&t), Some(&body));
        assert_error(&r, 403, "forbidden", &format!("a manual assignment by a {role}"));
    }
    assert_eq!(get_record(&app, "m1")["owner"], Value::Null, "nothing was assigned");
    let r = app.request("POST", "/api/v1/assignments", None, Some(&body));
    assert_eq!(r.status, 401, "{}", r.text);
    let manager = app.token("sales_manager");
    let r = app.request("POST", "/api/v1/assignments", Some(&manager), Some(&body));
    assert_eq!(r.status, 200, "a sales manager assigns: {}", r.text);
    assert_eq!(r.body["results"][0]["ok"], true, "{}", r.text);
    // Readers may read eligibility and history.
    let reader = app.token("reader");
    for path in [
        "/api/v1/records/m1/eligible-sellers",
        "/api/v1/assignments?record_id=m1",
    ] {
        let r = app.request("GET", path, Some(&reader), None);
        assert_eq!(r.status, 200, "a reader reads {path}: {}", r.text);
    }
}

#[test]
fn eligible_sellers_pass_every_filter_of_some_active_rule_the_record_meets() {
    let app = TestApp::spawn();
    let now = at("2026-11-24T09:00:00Z");
    app.clock.set(now);
    put(
        &app,
        "/api/v1/settings",
        fixtures::settings(Some(&["seller"]), "organization"),
    );
    let uk = |extra: Value| {
        let mut s = json!({"name": "x", "roles": ["seller"], "attributes": {"country": "UK"}});
        for (k, v) in extra.as_object().expect("object") {
            s[k] = v.clone();
        }
        s
    };
    let fr = || json!({"name": "x", "roles": ["seller"], "attributes": {"country": "FR"}});
    let away =
        json!({"timezone": "UTC", "time_off": [{"start": "2026-11-23T00:00:00Z", "end": "2026-11-25T00:00:00Z"}]});
    let sellers = [
        ("e1", uk(json!({"capacity": 5, "record_access": ["lead"]}))),
        ("e2", uk(json!({"capacity": 0, "availability": away}))),
        ("e3", fr()),
        ("x_cond", fr()),
        ("x_off", uk(json!({"assign_records": false}))),
        ("x_role", uk(json!({"roles": ["intern"]}))),
        ("x_access", uk(json!({"record_access": ["opportunity"]}))),
        // Matched only by id, by rules the record does not meet or that are inactive.
        ("x_rule", fr()),
        ("x_inactive", fr()),
    ];
    for (id, body) in sellers {
        put(&app, &format!("/api/v1/sellers/{id}"), body);
    }
    put_segment(&app, "uk", "lead");
    put_rule(
        &app,
        "uk",
        "a",
        rule(
            1,
            Some("record.revenue > 100"),
            sellers_where("seller.attributes.country == record.country"),
        ),
    );
    put_rule(
        &app,
        "uk",
        "b",
        rule(2, Some("record.revenue > 1000000"), sellers_by_id(&["x_rule"])),
    );
    let mut inactive = rule(3, None, sellers_by_id(&["x_inactive"]));
    inactive["active"] = json!(false);
    put_rule(&app, "uk", "c", inactive);
    put_rule(&app, "uk", "d", rule(4, None, sellers_by_id(&["e3"])));
    let recs = [
        record("l1", "lead", None, json!({"country": "UK", "revenue": 500})),
        record("l2", "lead", None, json!({"country": "UK", "revenue": 50})),
        record("acc", "account", None, json!({})),
    ];
    post_records(&app, &recs, true);
    // l1 went to e1 by rule a (e2 is at capacity).
    assert_eq!(get_record(&app, "l1")["owner"], owner("seller", "e1"));

    let r = eligible_sellers(&app, "l1");
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(
        r.item_ids(),
        ["e1", "e2", "e3"],
        "exactly the sellers passing target, assign_records, roles and record_access of an \
         active rule the record meets, in id order: {}",
        r.text
    );
    assert_eq!(items[0]["open_records"], 1, "{}", r.text);
    assert_eq!(items[0]["available_capacity"], 4, "capacity is shown: {}", r.text);
    assert_eq!(items[0]["available_now"], true, "{}", r.text);
    assert_eq!(
        items[1]["available_capacity"], 0,
        "at capacity, still listed: {}",
        r.text
    );
    assert_eq!(
        items[1]["available_now"], false,
        "on time off, still listed: {}",
        r.text
    );
    assert_eq!(items[2]["available_capacity"], Value::Null, "unlimited: {}", r.text);
    assert_eq!(items[2]["available_now"], true, "{}", r.text);

    // The same list, in the same order, after a restart (when sellers with counters are
    // loaded before the others).
    let before = r.body.clone();
    let app = app.restart();
    let r = app.get("/api/v1/records/l1/eligible-sellers");
    assert_eq!(r.body, before, "eligible sellers after a restart");

    // l2 does not meet rule a's condition: only rule d's seller.
    let r = eligible_sellers(&app, "l2");
    assert_eq!(r.item_ids(), ["e3"], "{}", r.text);

    // A record in no segment has nobody; an unknown record is 404.
    let r = eligible_sellers(&app, "acc");
    assert_eq!(r.body["items"], json!([]), "{}", r.text);
    assert_error(
        &app.get("/api/v1/records/nope/eligible-sellers"),
        404,
        "not_found",
        "eligible sellers of an unknown record",
    );
}

#[test]
fn a_seller_condition_that_fails_skips_its_whole_rule_in_eligible_sellers() {
    let app = TestApp::spawn();
    for (id, n) in [("a1", 1), ("b2", 0), ("c3", 1)] {
        put(
            &app,
            &format!("/api/v1/sellers/{id}"),
            json!({"name": id, "roles": ["seller"], "attributes": {"n": n}}),
        );
    }
    put_segment(&app, "s", "lead");
    // Divides by zero for b2, after a1 has been found to match.
    put_rule(
        &app,
        "s",
        "div",
        rule(1, None, sellers_where("10 / seller.attributes.n > 1")),
    );
    put_rule(&app, "s", "ids", rule(2, None, sellers_by_id(&["c3"])));
    let v = post_records(&app, &[record("r1", "lead", None, json!({}))], true);
    assert_eq!(
        v[0]["status_reason"], "server_error",
        "the rule fails for this record: {v:?}"
    );
    let r = eligible_sellers(&app, "r1");
    assert_eq!(
        r.item_ids(),
        ["c3"],
        "a rule whose seller condition fails is skipped whole, as processing fails it whole: {}",
        r.text
    );
}

#[test]
fn a_record_assigned_by_hand_before_it_is_processed_is_still_segmented() {
    let app = TestApp::spawn();
    manual_world(&app);
    // Posted without waiting and assigned at once, many times over so that the manual
    // assignment lands both before and after the queued processing: either way the
    // record ends segmented, with the manual owner, and no write is lost.
    for i in 0..20 {
        let id = format!("early-{i}");
        post_records(&app, &[record(&id, "lead", None, json!({"auto": true}))], false);
        let results = assign(&app, &[&id], "seller", "s3");
        assert_eq!(results[0]["ok"], true, "{results:?}");
    }
    for i in 0..20 {
        let id = format!("early-{i}");
        let mut v = get_record(&app, &id);
        for _ in 0..200 {
            if v["stage"] == "processed" {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
            v = get_record(&app, &id);
        }
        assert_eq!(v["stage"], "processed", "{v}");
        assert_eq!(v["segment_id"], "m", "segmented although assigned by hand first: {v}");
        assert_eq!(v["owner"], owner("seller", "s3"), "the manual owner is kept: {v}");
        assert_eq!(v["status_reason"], "assigned_manually", "{v}");
    }
    let records = all_records(&app, "lead");
    check_counters(&app, &records, &["s1", "s2", "s3"]);
}
