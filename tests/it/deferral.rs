//! Deferred processing: a record type whose rule condition is slow (but within its
//! limits) is stored at once and decided in slices, behind which an unrelated type's
//! ingest does not wait; `?wait=true` still answers decided records; nothing is lost.

use serde_json::{Value, json};

use crate::helpers::{TestApp, wait_until};

/// Inside the operation budget and the wall time even in a debug build, but slow enough
/// that a batch of them spends the ingest's time budget many times over.
const SLOW_CONDITION: &str = "let i = 0; while i < 4000 { i += 1; } true";

fn configure(app: &TestApp) {
    let seller = json!({"name": "Sam", "capacity": null});
    assert_eq!(app.put("/api/v1/sellers/s1", seller).status, 201);
    for (record_type, segment, condition) in [("lead", "normal", Value::Null), ("slow", "slow", json!(SLOW_CONDITION))]
    {
        let r = app.put(
            &format!("/api/v1/segments/{segment}"),
            json!({"name": segment, "record_type": record_type, "priority": 1}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let r = app.put(
            &format!("/api/v1/segments/{segment}/rules/r1"),
            json!({"name": "r1", "priority": 1, "condition": condition,
                   "assign_to": {"type": "sellers", "match": "any"},
                   "distribution": {"method": "round_robin", "use_capacity": false}}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }
}

fn slow_batch(from: usize, n: usize) -> Value {
    let records: Vec<Value> = (from..from + n)
        .map(|i| json!({"id": format!("slow-{i}"), "record_type": "slow", "name": "n", "topic": "t"}))
        .collect();
    json!({ "records": records })
}

fn summary(app: &TestApp, record_type: &str) -> Value {
    app.get(&format!("/api/v1/record-types/{record_type}/summary")).body
}

fn metric(app: &TestApp, name: &str) -> u64 {
    let text = app.get("/metrics").text;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

/// Every slow record processed, and each either assigned once or unassigned (a record
/// whose script ran past its wall time on a loaded machine is `server_error`).
fn assert_decided_once(app: &TestApp, slow: u64, leads: u64) {
    let s = summary(app, "slow");
    assert_eq!(s["processed"], slow, "{s}");
    let unassigned = s["unassigned"].as_u64().unwrap_or(u64::MAX);
    let seller = app.get("/api/v1/sellers/s1").body;
    assert_eq!(
        seller["open_records"].as_u64(),
        Some(slow - unassigned + leads),
        "one assignment per assigned record: {seller} {s}"
    );
}

#[test]
fn a_slow_type_is_decided_in_slices_behind_which_an_unrelated_ingest_does_not_wait() {
    let app = TestApp::spawn();
    configure(&app);
    let deferred_before = metric(&app, "allot_records_deferred_total");

    let r = app.post("/api/v1/records", slow_batch(0, 1000));
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["accepted"], 1000);
    assert!(
        metric(&app, "allot_records_deferred_total") > deferred_before,
        "a batch past its time budget defers records"
    );

    // A lead is decided at once, while the slow type still has records to process.
    let lead = json!({"id": "lead-1", "record_type": "lead", "name": "Ann", "topic": "t"});
    let r = app.post("/api/v1/records?wait=true", lead);
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["records"][0]["status_reason"], "assigned", "{}", r.text);
    let pending = summary(&app, "slow")["to_be_processed"].as_u64().unwrap_or(0);
    assert!(
        pending > 0,
        "the lead did not wait for the slow backlog: {pending} left"
    );

    // A batch of the backlogged type with ?wait=true answers its records decided.
    let r = app.post("/api/v1/records?wait=true", slow_batch(1000, 50));
    assert_eq!(r.status, 202, "{}", r.text);
    let reasons: Vec<&str> = r.body["records"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v["status_reason"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(reasons.len(), 50, "{}", r.text);
    assert!(
        reasons.iter().all(|&s| s == "assigned"),
        "waited records are decided: {reasons:?}"
    );

    // Every deferred record is decided in the end, none lost and none twice.
    wait_until("the slow backlog is decided", 120, || {
        summary(&app, "slow")["to_be_processed"] == 0
    });
    assert_decided_once(&app, 1050, 1);
    assert_eq!(metric(&app, "allot_records_deferred"), 0);
}

#[test]
fn records_deferred_when_the_server_stopped_are_decided_after_a_restart() {
    let app = TestApp::spawn();
    configure(&app);
    let r = app.post("/api/v1/records", slow_batch(0, 1000));
    assert_eq!(r.status, 202, "{}", r.text);
    let app = app.restart();
    wait_until("the backlog left at the stop is decided", 120, || {
        summary(&app, "slow")["to_be_processed"] == 0
    });
    assert_decided_once(&app, 1000, 0);
}
