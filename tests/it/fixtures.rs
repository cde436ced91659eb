//! Example configuration bodies (the contract's own examples, every field spelled out)
//! and checks shared by the feature modules.

use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp};

pub fn seller() -> Value {
    json!({
        "name": "Sam", "email": "sam@example.com", "roles": ["seller"],
        "record_access": ["lead", "opportunity"],
        "attributes": {"language": ["en", "fr"], "country": "UK"},
        "assign_records": true, "capacity": 20,
        "availability": {
            "timezone": "Europe/London",
            "working_hours": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "12:00"], ["13:00", "17:00"]]},
            "time_off": [{"start": "2026-12-24T00:00:00Z", "end": "2026-12-27T00:00:00Z"}]
        }
    })
}

pub fn team(members: &[&str]) -> Value {
    json!({"name": "UK team", "members": members, "attributes": {"region": "emea"}})
}

pub fn queue() -> Value {
    json!({"name": "Overflow", "attributes": {"tier": 2}})
}

pub fn sequence() -> Value {
    json!({"name": "Follow up in 3 days", "active": true, "steps": [
        {"kind": "email", "description": "Introduce yourself", "wait_hours": null},
        {"kind": "wait", "description": "", "wait_hours": 72},
        {"kind": "call", "description": "Call back", "wait_hours": null}
    ]})
}

pub fn segment(record_type: &str, priority: u32, sequence_id: Option<&str>) -> Value {
    json!({
        "name": "UK trade shows", "record_type": record_type, "priority": priority, "active": true,
        "condition": "record.country == \"UK\" && record.source == \"trade show\"",
        "sequence_id": sequence_id, "accept_previously_segmented": false, "run_rules_on_move": false
    })
}

pub fn rule() -> Value {
    json!({
        "name": "UK round robin", "priority": 1, "active": true,
        "condition": "record.revenue > 10000",
        "created_within_hours": 48, "assignment_window_hours": 24,
        "assign_to": {"type": "sellers", "match": "condition",
                      "condition": "seller.attributes.country == record.country", "ids": []},
        "distribution": {"method": "round_robin", "available_within_hours": null, "use_capacity": true, "script": null}
    })
}

/// The settings body: the default 500 records per run, `eligible_roles` (None: every
/// role may be assigned) and `round_robin_scope`.
pub fn settings(eligible_roles: Option<&[&str]>, round_robin_scope: &str) -> Value {
    json!({"max_records_per_run": 500, "eligible_roles": eligible_roles, "round_robin_scope": round_robin_scope})
}

pub fn record_type_schema() -> Value {
    json!({"attributes": {"country": "string", "source": "string", "revenue": "number", "tags": "array", "vip": "bool"}, "strict": false})
}

/// Every field of `sent` comes back unchanged in `got`.
pub fn assert_echoes(sent: &Value, got: &Value, what: &str) {
    let sent = sent.as_object().expect("a sent body is an object");
    for (k, v) in sent {
        assert_eq!(
            &got[k], v,
            "{what}: field {k:?} should read back as it was put; got {got}"
        );
    }
}

/// `GET path` answers 404: nothing is stored there.
#[track_caller]
pub fn assert_absent(app: &TestApp, path: &str, what: &str) {
    let r = app.get(path);
    assert_eq!(r.status, 404, "{what}: GET {path} should answer 404: {}", r.text);
}

/// An error answer with `status` and `code`.
#[track_caller]
pub fn assert_error(r: &Resp, status: u16, code: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: expected {status} {code}, got {}", r.text);
    assert_eq!(r.code(), code, "{what}: expected error code {code}, got {}", r.text);
    assert!(
        r.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: an error has a message: {}",
        r.text
    );
}

/// A 422 `validation_failed` naming `field`.
#[track_caller]
pub fn assert_invalid(r: &Resp, field: &str, what: &str) {
    assert_error(r, 422, "validation_failed", what);
    assert_eq!(
        r.body["error"]["details"]["field"], field,
        "{what}: details.field should name {field:?}: {}",
        r.text
    );
}

/// Creates a seller, a team, a queue, a sequence, a segment with a rule and a record-type
/// schema, all through the administrator token.
pub fn seed(app: &TestApp) {
    for (path, body) in [
        ("/api/v1/sellers/s1", seller()),
        ("/api/v1/teams/t1", team(&["s1"])),
        ("/api/v1/queues/q1", queue()),
        ("/api/v1/sequences/seq1", sequence()),
        ("/api/v1/segments/seg1", segment("lead", 1, Some("seq1"))),
        ("/api/v1/segments/seg1/rules/r1", rule()),
        ("/api/v1/record-types/lead", record_type_schema()),
    ] {
        let r = app.put(path, body);
        assert_eq!(r.status, 201, "seeding {path}: {}", r.text);
    }
}

/// A server on a fresh data directory with the [`seed`] configuration.
pub fn seeded() -> TestApp {
    let app = TestApp::spawn();
    seed(&app);
    app
}
