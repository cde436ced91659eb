//! Distribution among eligible sellers: round robin (organization and rule scope), load
//! balancing, and distribution scripts.

use serde_json::{Value, json};

use super::*;
use crate::helpers::TestApp;

/// A `pre` segment (priority 1, leads with `kind == "pre"`) whose rule hands each lead
/// to the seller named in its `to` attribute: a way to give sellers open records and a
/// round-robin position.
fn preload_segment(app: &TestApp) {
    segment(
        app,
        "pre",
        json!({"priority": 1, "condition": "record.kind == \"pre\""}),
    );
    rule(
        app,
        "pre",
        "to",
        json!({"assign_to": {"match": "condition", "condition": "seller.id == record.to"}}),
    );
}

fn preload(app: &TestApp, id: &str, to: &str) {
    let v = post_wait(app, lead(id, json!({"kind": "pre", "to": to})));
    assert_eq!(owner_id(&v), to, "preloading {id} to {to}: {v}");
}

fn owners(views: &[Value]) -> Vec<String> {
    views.iter().map(owner_id).collect()
}

/// Rule `lb` of segment `seg`: load balancing with capacity, over any seller.
fn load_balancing_rule(app: &TestApp) {
    rule(
        app,
        "seg",
        "lb",
        json!({"distribution": {"method": "load_balancing", "use_capacity": true}}),
    );
}

/// Load balancing after preloading: the [`preload_segment`], sellers of the given
/// `capacities`, the `preloads` (lead id, seller) in that order, then segment `seg`
/// (priority 2) with [`load_balancing_rule`].
fn load_balancing_after(capacities: &[(&str, u32)], preloads: &[(&str, &str)]) -> TestApp {
    let app = TestApp::spawn();
    preload_segment(&app);
    for (id, capacity) in capacities {
        seller(&app, id, json!({ "capacity": capacity }));
    }
    for (id, to) in preloads {
        preload(&app, id, to);
    }
    segment(&app, "seg", json!({"priority": 2}));
    load_balancing_rule(&app);
    app
}

#[test]
fn round_robin_spreads_thirty_records_evenly_in_order() {
    let app = TestApp::spawn();
    sellers(&app, &["s3", "s1", "s2"]);
    segment(&app, "seg", json!({}));
    rule(&app, "seg", "rr", json!({}));
    let records: Vec<Value> = (0..30).map(|i| lead(&format!("l{i:02}"), json!({}))).collect();
    let views = post_batch_wait(&app, records);
    let got = owners(&views);
    let expected: Vec<String> = (0..30).map(|i| format!("s{}", i % 3 + 1)).collect();
    assert_eq!(got, expected, "s1, s2, s3, s1, ... in arrival order");
    for s in ["s1", "s2", "s3"] {
        assert_eq!(seller_view(&app, s)["open_records"], 10, "{s} has 10 records");
    }
    // One at a time, and after a restart, continues the same order.
    let v = post_wait(&app, lead("l30", json!({})));
    assert_eq!(owner_id(&v), "s1", "{v}");
    let app = app.restart();
    let views = post_batch_wait(&app, vec![lead("l31", json!({})), lead("l32", json!({}))]);
    assert_eq!(owners(&views), ["s2", "s3"], "the order survives a restart");
}

#[test]
fn round_robin_takes_never_assigned_sellers_first_then_longest_waiting() {
    let app = TestApp::spawn();
    preload_segment(&app);
    sellers(&app, &["s1", "s2", "s3"]);
    preload(&app, "p1", "s2");
    segment(&app, "seg", json!({"priority": 2}));
    rule(&app, "seg", "rr", json!({}));
    let views = post_batch_wait(&app, (0..6).map(|i| lead(&format!("l{i}"), json!({}))).collect());
    assert_eq!(
        owners(&views),
        ["s1", "s3", "s2", "s1", "s3", "s2"],
        "never-assigned s1 and s3 (by id) before s2, then whoever waited longest"
    );
}

/// Sellers s1 and s2; segment a (record.seg == "a") with rule ra, segment b with rule rb,
/// each over any seller. `round_robin_scope` is put in the settings; None leaves the
/// default (organization) untouched.
fn two_rules_over_two_sellers(round_robin_scope: Option<&str>) -> TestApp {
    let app = TestApp::spawn();
    if let Some(scope) = round_robin_scope {
        put_settings(&app, None, scope);
    }
    sellers(&app, &["s1", "s2"]);
    segment(&app, "a", json!({"condition": "record.seg == \"a\""}));
    segment(&app, "b", json!({"condition": "record.seg == \"b\""}));
    rule(&app, "a", "ra", json!({}));
    rule(&app, "b", "rb", json!({}));
    app
}

/// Leads l0, l1, ... with `seg` the segment of each in turn.
fn leads_into(segments: &[&str]) -> Vec<Value> {
    segments
        .iter()
        .enumerate()
        .map(|(i, s)| lead(&format!("l{i}"), json!({ "seg": s })))
        .collect()
}

#[test]
fn round_robin_scope_organization_shares_one_order_across_rules() {
    let app = two_rules_over_two_sellers(None);
    let views = post_batch_wait(&app, leads_into(&["a", "b", "a", "b"]));
    assert_eq!(owners(&views), ["s1", "s2", "s1", "s2"], "one organization-wide order");
}

#[test]
fn round_robin_scope_rule_keeps_one_order_per_rule() {
    let app = two_rules_over_two_sellers(Some("rule"));
    let views = post_batch_wait(&app, leads_into(&["a", "b", "a", "b", "a", "b"]));
    assert_eq!(
        owners(&views),
        ["s1", "s1", "s2", "s2", "s1", "s1"],
        "each rule has its own order"
    );
    // The per-rule order survives a restart.
    let app = app.restart();
    let views = post_batch_wait(
        &app,
        vec![lead("m0", json!({"seg": "a"})), lead("m1", json!({"seg": "b"}))],
    );
    assert_eq!(
        owners(&views),
        ["s2", "s2"],
        "after a restart each rule goes on where it was"
    );
}

#[test]
fn round_robin_rule_scope_order_is_exact_when_a_seller_is_used_by_two_rules_in_one_batch() {
    let app = two_rules_over_two_sellers(Some("rule"));
    // ra: s1 then s2; rb: s1 (after ra's s2). Then restart: ra's order must be s1 next.
    let views = post_batch_wait(&app, leads_into(&["a", "a", "b"]));
    assert_eq!(owners(&views), ["s1", "s2", "s1"]);
    let app = app.restart();
    let v = post_wait(&app, lead("l3", json!({"seg": "a"})));
    assert_eq!(owner_id(&v), "s1", "ra last gave s2, so s1 is next: {v}");
    let v = post_wait(&app, lead("l4", json!({"seg": "b"})));
    assert_eq!(owner_id(&v), "s2", "rb last gave s1, so s2 is next: {v}");
}

#[test]
fn load_balancing_prefers_unlimited_then_most_available_capacity() {
    let app = TestApp::spawn();
    seller(&app, "s1", json!({"capacity": 100}));
    seller(&app, "s2", json!({"capacity": 50}));
    seller(&app, "s9", json!({"capacity": null}));
    segment(&app, "seg", json!({}));
    load_balancing_rule(&app);
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(owner_id(&v), "s9", "unlimited capacity counts as highest: {v}");
    seller(&app, "s9", json!({"capacity": 1}));
    let v = post_wait(&app, lead("l2", json!({})));
    assert_eq!(owner_id(&v), "s1", "100 available beats 50 (s9 is now full): {v}");
    assert_eq!(v["decision"]["rules"][0]["excluded"]["capacity"], 1, "{v}");
}

#[test]
fn load_balancing_ties_go_to_fewest_open_records_then_round_robin() {
    // s1: 10 - 4 = 6 available; s2: 8 - 2 = 6 available; s3: 5 available.
    let app = load_balancing_after(
        &[("s1", 10), ("s2", 8), ("s3", 5)],
        &[
            ("p1-0", "s1"),
            ("p1-1", "s1"),
            ("p1-2", "s1"),
            ("p1-3", "s1"),
            ("p2-0", "s2"),
            ("p2-1", "s2"),
        ],
    );
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(owner_id(&v), "s2", "6 = 6 available, s2 has fewer open records: {v}");

    // Same capacity, same open records: the one who waited longest.
    let app2 = load_balancing_after(&[("s1", 5), ("s2", 5)], &[("p2", "s2"), ("p1", "s1")]);
    let v = post_wait(&app2, lead("l1", json!({})));
    assert_eq!(owner_id(&v), "s2", "4 = 4 available, 1 = 1 open; s2 waited longer: {v}");
}

#[test]
fn a_distribution_script_chooses_among_the_candidates() {
    let app = TestApp::spawn();
    seller(&app, "s1", json!({"attributes": {"level": 1}}));
    seller(&app, "s2", json!({"attributes": {"level": 3}}));
    seller(&app, "s3", json!({"attributes": {"level": 2}, "assign_records": false}));
    segment(&app, "seg", json!({}));
    let script = "fn distribute(record, candidates) {
        if record.nobody == true { return (); }
        if record.stranger == true { return \"s3\"; }
        let best = (); let level = -1;
        for c in candidates { if c.attributes.level > level { level = c.attributes.level; best = c.id; } }
        best
    }";
    rule(
        &app,
        "seg",
        "script",
        json!({"distribution": {"method": "script", "script": script}}),
    );
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(
        owner_id(&v),
        "s2",
        "the highest level among candidates (s3 is off): {v}"
    );
    let v = post_wait(&app, lead("l2", json!({"nobody": true})));
    assert_eq!(
        v["status_reason"], "no_sellers_meet_conditions",
        "() chooses nobody: {v}"
    );
    let v = post_wait(&app, lead("l3", json!({"stranger": true})));
    assert_eq!(v["status_reason"], "server_error", "s3 is not a candidate: {v}");
    assert!(
        v["error_details"].as_str().unwrap_or_default().contains("s3"),
        "error_details names the answer: {v}"
    );
}

#[test]
fn duplicate_ids_in_a_rule_target_count_once() {
    let app = TestApp::spawn();
    seller(&app, "s1", json!({}));
    seller(&app, "s2", json!({}));
    segment(&app, "seg", json!({}));
    rule(&app, "seg", "dup", to_sellers(&["s1", "s1", "s1"]));
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(owner_id(&v), "s1", "{v}");
    let d = &v["decision"]["rules"][0];
    assert_eq!(d["candidates"], 1, "s1 is one candidate: {d}");
    assert_eq!(d["excluded"]["condition"], 1, "s2 is not among the ids: {d}");
    assert_eq!(app.get("/healthz").status, 200, "the server is still up");
    let v = post_wait(&app, lead("l2", json!({})));
    assert_eq!(owner_id(&v), "s1", "and still assigns: {v}");
}
