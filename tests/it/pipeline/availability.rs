//! Availability by working hours and time off in America/New_York (UTC-5 in late
//! November), with the server's clock set by the test. 2026-11-23 is a Monday.

use serde_json::{Value, json};

use super::*;
use crate::helpers::TestApp;

fn ny(hours: Value, time_off: Value) -> Value {
    json!({"availability": {"timezone": "America/New_York", "working_hours": hours, "time_off": time_off}})
}

/// Segment `seg` taking every lead, with rule `rule_id` over the sellers available within
/// `hours`.
fn segment_within(app: &TestApp, rule_id: &str, hours: u32) {
    segment(app, "seg", json!({}));
    rule(app, "seg", rule_id, available_within(Some(hours)));
}

/// Sellers ordered so that round robin alone (never assigned, by id) would pick the
/// wrong one: `a-tue` works Tuesdays, `b-wed` Wednesdays, `c-mon` Mondays, 09:00-17:00.
fn three_sellers(app: &TestApp, window: u32) {
    seller(app, "a-tue", ny(json!({"tue": [["09:00", "17:00"]]}), json!([])));
    seller(app, "b-wed", ny(json!({"wed": [["09:00", "17:00"]]}), json!([])));
    seller(app, "c-mon", ny(json!({"mon": [["09:00", "17:00"]]}), json!([])));
    segment_within(app, "r1", window);
}

#[test]
fn a_seller_available_now_wins() {
    let app = TestApp::spawn();
    app.clock.set(monday(15, 0)); // 10:00 in New York
    three_sellers(&app, 48);
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(owner_id(&v), "c-mon", "the only one working now: {v}");
    let d = &v["decision"]["rules"][0];
    assert_eq!(d["excluded"]["availability"], 2, "{d}");
    assert_eq!(d["candidates"], 1, "{d}");
}

#[test]
fn otherwise_the_first_24_hour_bucket_with_someone_available() {
    let app = TestApp::spawn();
    app.clock.set(monday(23, 0)); // Monday 18:00 in New York: nobody works now
    three_sellers(&app, 48);
    // a-tue starts Tuesday 09:00 (15 h: first bucket); b-wed Wednesday 09:00 (39 h:
    // second bucket); c-mon next Monday (outside the window).
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(owner_id(&v), "a-tue", "{v}");
    assert_eq!(v["decision"]["rules"][0]["excluded"]["availability"], 2, "{v}");

    // Tuesday 18:00 in New York: b-wed is in the first bucket now.
    app.clock.set(monday(23, 0) + chrono::Duration::days(1));
    let v = post_wait(&app, lead("l2", json!({})));
    assert_eq!(owner_id(&v), "b-wed", "{v}");
}

#[test]
fn sellers_in_the_same_bucket_share_by_round_robin() {
    let app = TestApp::spawn();
    app.clock.set(monday(23, 0));
    seller(&app, "x1", ny(json!({"tue": [["09:00", "17:00"]]}), json!([])));
    seller(&app, "x2", ny(json!({"tue": [["13:00", "17:00"]]}), json!([])));
    segment_within(&app, "r1", 24);
    let views = post_batch_wait(&app, (0..4).map(|i| lead(&format!("l{i}"), json!({}))).collect());
    let got: Vec<String> = views.iter().map(owner_id).collect();
    assert_eq!(got, ["x1", "x2", "x1", "x2"], "both are in the first bucket");
}

#[test]
fn time_off_makes_a_working_seller_unavailable() {
    let app = TestApp::spawn();
    app.clock.set(monday(15, 0));
    let off = json!([{"start": "2026-11-23T14:00:00Z", "end": "2026-11-23T16:00:00Z"}]);
    seller(&app, "a-off", ny(json!({"mon": [["09:00", "17:00"]]}), off));
    seller(&app, "b-on", ny(json!({"mon": [["09:00", "17:00"]]}), json!([])));
    segment_within(&app, "r1", 24);
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(owner_id(&v), "b-on", "a-off is on time off now: {v}");
    app.clock.set(monday(16, 30));
    let v = post_wait(&app, lead("l2", json!({})));
    assert_eq!(owner_id(&v), "a-off", "time off is over, a-off waited longer: {v}");
}

#[test]
fn nobody_within_the_window_is_sellers_unavailable() {
    let app = TestApp::spawn();
    // Friday 2026-11-27 18:00 in New York; c-mon next works Monday 09:00 (63 h away).
    app.clock.set(monday(23, 0) + chrono::Duration::days(4));
    seller(&app, "c-mon", ny(json!({"mon": [["09:00", "17:00"]]}), json!([])));
    segment_within(&app, "short", 24);
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(v["status_reason"], "sellers_unavailable", "{v}");
    rule(&app, "seg", "short", available_within(Some(72)));
    let v = post_wait(&app, lead("l2", json!({})));
    assert_eq!(owner_id(&v), "c-mon", "within 72 hours: {v}");
    // Without available_within_hours availability is ignored.
    rule(&app, "seg", "short", available_within(None));
    seller(&app, "c-mon", ny(json!({"sun": [["09:00", "10:00"]]}), json!([])));
    let v = post_wait(&app, lead("l3", json!({})));
    assert_eq!(owner_id(&v), "c-mon", "availability ignored: {v}");
}
