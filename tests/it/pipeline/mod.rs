//! The record-assignment pipeline through the HTTP API: segmentation, rules, filters,
//! distribution, status views, runs, ingest and restart. Shared set-up helpers here; one
//! module per concern.

mod assignment_reasons;
mod availability;
mod capacity;
mod distribution;
mod ingest;
mod precedence;
mod restart;
mod scripts;
mod segmentation;
mod targets;
mod timing;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Merges `patch` into `base`: objects key by key (recursively), anything else replaced.
pub fn merged(mut base: Value, patch: Value) -> Value {
    fn merge(a: &mut Value, b: Value) {
        match (a, b) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    match a.get_mut(&k) {
                        Some(slot) => merge(slot, v),
                        None => {
                            a.insert(k, v);
                        }
                    }
                }
            }
            (slot, b) => *slot = b,
        }
    }
    merge(&mut base, patch);
    base
}

/// `PUT /sellers/{id}`: a seller with `roles: ["seller"]`, unlimited capacity and always
/// available, changed by `patch`.
pub fn seller(app: &TestApp, id: &str, patch: Value) {
    let body = merged(json!({"name": format!("Seller {id}"), "roles": ["seller"]}), patch);
    let r = app.put(&format!("/api/v1/sellers/{id}"), body);
    assert!(r.status == 201 || r.status == 200, "PUT seller {id}: {}", r.text);
}

/// `PUT /settings` with [`crate::fixtures::settings`].
pub fn put_settings(app: &TestApp, eligible_roles: Option<&[&str]>, round_robin_scope: &str) {
    let r = app.put(
        "/api/v1/settings",
        crate::fixtures::settings(eligible_roles, round_robin_scope),
    );
    assert_eq!(r.status, 200, "PUT settings: {}", r.text);
}

/// [`seller`] for each of `ids` in turn, unchanged.
pub fn sellers(app: &TestApp, ids: &[&str]) {
    for id in ids {
        seller(app, id, json!({}));
    }
}

/// `GET /sellers/{id}`.
pub fn seller_view(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/api/v1/sellers/{id}"));
    assert_eq!(r.status, 200, "GET seller {id}: {}", r.text);
    r.body
}

/// `PUT /segments/{id}`: an active `lead` segment of priority 1 matching every record,
/// changed by `patch`.
pub fn segment(app: &TestApp, id: &str, patch: Value) {
    let body = merged(
        json!({"name": format!("Segment {id}"), "record_type": "lead", "priority": 1, "active": true,
               "condition": null, "sequence_id": null, "accept_previously_segmented": false,
               "run_rules_on_move": false}),
        patch,
    );
    let r = app.put(&format!("/api/v1/segments/{id}"), body);
    assert!(r.status == 201 || r.status == 200, "PUT segment {id}: {}", r.text);
}

/// Seller `seller_id`, and segment `seg` taking every lead, with one rule `rule_id` over
/// any seller, changed by `patch`.
pub fn one_seller_one_rule(app: &TestApp, seller_id: &str, rule_id: &str, patch: Value) {
    seller(app, seller_id, json!({}));
    segment(app, "seg", json!({}));
    rule(app, "seg", rule_id, patch);
}

/// Seller `seller_id` of `capacity`, and segment `seg` taking every lead, with rule
/// `rule_id` over any seller that counts capacity.
pub fn one_seller_of_capacity(app: &TestApp, seller_id: &str, capacity: u32, rule_id: &str) {
    seller(app, seller_id, json!({ "capacity": capacity }));
    segment(app, "seg", json!({}));
    rule(app, "seg", rule_id, json!({"distribution": {"use_capacity": true}}));
}

/// The body of a rule: priority 1, active, any seller, round robin without capacity or
/// availability, changed by `patch`.
pub fn rule_body(id: &str, patch: Value) -> Value {
    merged(
        json!({"name": format!("Rule {id}"), "priority": 1, "active": true, "condition": null,
               "created_within_hours": null, "assignment_window_hours": null,
               "assign_to": {"type": "sellers", "match": "any", "condition": null, "ids": []},
               "distribution": {"method": "round_robin", "available_within_hours": null,
                                "use_capacity": false, "script": null}}),
        patch,
    )
}

/// `PUT /segments/{segment}/rules/{id}` with [`rule_body`].
pub fn rule(app: &TestApp, segment: &str, id: &str, patch: Value) {
    let r = app.put(&format!("/api/v1/segments/{segment}/rules/{id}"), rule_body(id, patch));
    assert!(
        r.status == 201 || r.status == 200,
        "PUT rule {segment}/{id}: {}",
        r.text
    );
}

/// A rule patch: assign to exactly the sellers `ids`.
pub fn to_sellers(ids: &[&str]) -> Value {
    json!({"assign_to": {"match": "ids", "ids": ids}})
}

/// A rule patch: distribute among the sellers available within `hours` (None: availability
/// is ignored).
pub fn available_within(hours: Option<u32>) -> Value {
    json!({"distribution": {"available_within_hours": hours}})
}

/// A lead with `attributes`.
pub fn lead(id: &str, attributes: Value) -> Value {
    json!({"id": id, "record_type": "lead", "name": format!("Lead {id}"), "topic": "test", "attributes": attributes})
}

/// A lead created at `created_on`.
pub fn lead_at(id: &str, attributes: Value, created_on: DateTime<Utc>) -> Value {
    merged(lead(id, attributes), json!({"created_on": created_on.to_rfc3339()}))
}

/// `POST /records?wait=true` with one record; answers its final status view.
pub fn post_wait(app: &TestApp, record: Value) -> Value {
    let r = app.post("/api/v1/records?wait=true", record);
    assert_eq!(r.status, 202, "POST /records?wait=true: {}", r.text);
    assert_eq!(r.body["accepted"], 1, "one record accepted: {}", r.text);
    r.body["records"][0].clone()
}

/// `POST /records?wait=true` with a batch; answers the status views in input order.
pub fn post_batch_wait(app: &TestApp, records: Vec<Value>) -> Vec<Value> {
    let n = records.len();
    let r = app.post("/api/v1/records?wait=true", json!({ "records": records }));
    assert_eq!(r.status, 202, "POST batch with wait: {}", r.text);
    assert_eq!(r.body["accepted"], n, "whole batch accepted: {}", r.text);
    r.body["records"].as_array().cloned().unwrap_or_default()
}

pub use crate::work::get_record as record;

/// Ids in a monitor view of `lead` (all pages).
pub fn view_ids(app: &TestApp, view: &str) -> Vec<String> {
    crate::work::ids(&crate::work::list_all(
        app,
        &format!("/api/v1/records?record_type=lead&view={view}"),
    ))
}

/// Asserts in which of the monitor views `processed`, `unassigned` and `needs_attention`
/// the record shows up.
pub fn assert_views(app: &TestApp, id: &str, processed: bool, unassigned: bool, needs_attention: bool) {
    for (view, expected) in [
        ("processed", processed),
        ("unassigned", unassigned),
        ("needs_attention", needs_attention),
    ] {
        let ids = view_ids(app, view);
        assert_eq!(
            ids.iter().any(|i| i == id),
            expected,
            "record {id} expected {}in view {view}; the view holds {ids:?}",
            if expected { "" } else { "not " }
        );
    }
}

/// The rule outcomes of a status view's decision, in the order tried.
pub fn outcomes(view: &Value) -> Vec<(String, String)> {
    view["decision"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["rule_id"].as_str().unwrap_or_default().to_string(),
                r["outcome"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The owner id of a status view ("" when unowned).
pub fn owner_id(view: &Value) -> String {
    view["owner"]["id"].as_str().unwrap_or_default().to_string()
}

/// Polls `GET /records/{id}` until `done` holds, for at most 20 seconds; answers the last
/// view.
pub fn poll_record(app: &TestApp, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let r = app.get(&format!("/api/v1/records/{id}"));
        if r.status == 200 && done(&r.body) {
            return r.body;
        }
        assert!(
            Instant::now() < until,
            "record {id} did not reach the expected state within 20 s; last answer {} {}",
            r.status,
            r.text
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `GET /record-types/lead/summary`.
pub fn summary(app: &TestApp) -> Value {
    let r = app.get("/api/v1/record-types/lead/summary");
    assert_eq!(r.status, 200, "summary: {}", r.text);
    r.body
}

/// `POST /segments/{id}/runs`; answers the run.
pub fn run(app: &TestApp, segment: &str) -> Value {
    let r = app.post(&format!("/api/v1/segments/{segment}/runs"), json!({}));
    assert_eq!(r.status, 201, "run of {segment}: {}", r.text);
    r.body
}

/// The time the server stands at.
pub fn now(app: &TestApp) -> DateTime<Utc> {
    allot::domain::clock::Clock::now(app.clock.as_ref())
}

/// Monday 2026-11-23 at `hh:mm` UTC.
pub fn monday(hh: u32, mm: u32) -> DateTime<Utc> {
    use chrono::TimeZone;
    Utc.with_ymd_and_hms(2026, 11, 23, hh, mm, 0)
        .single()
        .unwrap_or_else(Utc::now)
}
