//! The authorization matrix (issue #10): every operation of the served `/openapi.json`,
//! asked by a token of each role, answers 403 exactly when the role table says the role
//! may not do it, and the document lists 403 exactly on the operations some role is
//! refused.
//!
//! The table is API.md's, written here by hand (not read from `auth.rs`), with the
//! choices README "Roles" settles: `integration` reads record types and their
//! summaries, `sequence_manager` may check scripts, `sales_manager` reads settings. A new
//! route fails this test until it is given its row in [`class_of`].

use serde_json::{Value, json};

use crate::helpers::TestApp;

/// What an operation needs, in the words of API.md's role table.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Class {
    /// Tokens and changing settings: administrators only.
    Administer,
    /// Sellers, teams, queues, segments, rules, schemas, schedules, runs, manual assignment.
    Configure,
    /// Sequences, and what a sequence manager needs to connect them (script checks).
    Sequences,
    /// Push, update, close and reopen records.
    WriteRecords,
    /// Records, their types and summaries, and the caller's own token: every role.
    ReadRecords,
    /// Configuration, runs, history, settings: every role but `integration`.
    ReadConfig,
}

const ROLES: [&str; 5] = [
    "system_administrator",
    "sales_manager",
    "sequence_manager",
    "integration",
    "reader",
];

fn allowed(role: &str, class: Class) -> bool {
    use Class::*;
    match role {
        "system_administrator" => true,
        "sales_manager" => class != Administer,
        "sequence_manager" => matches!(class, Sequences | ReadRecords | ReadConfig),
        "integration" => matches!(class, WriteRecords | ReadRecords),
        "reader" => matches!(class, ReadRecords | ReadConfig),
        other => panic!("unknown role {other}"),
    }
}

/// The row of each operation (by `operationId`), and a valid body for those with a
/// body and no example in the document.
fn class_of(operation_id: &str) -> (Class, Option<Value>) {
    use Class::*;
    match operation_id {
        "create_token" => (Administer, Some(json!({"name": "matrix", "role": "reader"}))),
        "list_tokens" | "delete_token" => (Administer, None),
        "put_settings" => (Administer, Some(json!({}))),
        "put_seller" => (Configure, Some(json!({"name": "Sam"}))),
        "put_team" => (Configure, Some(json!({"name": "Team"}))),
        "put_queue" => (Configure, Some(json!({"name": "Queue"}))),
        "put_segment" => (
            Configure,
            Some(json!({"name": "Segment", "record_type": "lead", "priority": 1})),
        ),
        "put_rule" => (
            Configure,
            Some(
                json!({"name": "Rule", "priority": 1, "assign_to": {"type": "sellers", "match": "any"},
                "distribution": {"method": "round_robin"}}),
            ),
        ),
        "put_record_type" => (Configure, Some(json!({"attributes": {}}))),
        "put_schedule" => (
            Configure,
            Some(json!({"start_date": "2026-11-24", "days": ["mon"], "times": ["06:00"], "timezone": "Europe/London"})),
        ),
        "delete_seller" | "delete_team" | "delete_queue" | "delete_segment" | "delete_rule" | "delete_record_type"
        | "delete_schedule" | "run_now" | "assign" => (Configure, None),
        "put_sequence" => (Sequences, Some(json!({"name": "Follow-up"}))),
        "delete_sequence" => (Sequences, None),
        "check_script" => (Sequences, Some(json!({"kind": "condition", "source": "true"}))),
        "ingest" | "close_record" | "reopen_record" => (WriteRecords, None),
        "list_records" | "get_record" | "list_record_types" | "record_type_summary" | "me" => (ReadRecords, None),
        "get_seller" | "list_sellers" | "get_team" | "list_teams" | "get_queue" | "list_queues" | "get_sequence"
        | "list_sequences" | "get_segment" | "list_segments" | "get_rule" | "list_rules" | "get_record_type"
        | "get_settings" | "get_schedule" | "list_runs" | "get_run" | "history" | "eligible_sellers" => {
            (ReadConfig, None)
        }
        "list_events" => (ReadRecords, None),
        "put_webhook" => (
            Configure,
            Some(
                json!({"url": "http://127.0.0.1:9/hook", "events": ["record.owner_changed"],
                        "secret": "0123456789abcdef", "active": false}),
            ),
        ),
        "delete_webhook" => (Configure, None),
        "redeliver" => (Configure, Some(json!({"event_id": "1"}))),
        "get_webhook" | "list_webhooks" | "list_deliveries" => (ReadConfig, None),
        other => panic!("{other} has no row in the authorization matrix: add it to class_of"),
    }
}

/// The path with its parameters filled: ids of objects the fixture made.
fn concrete(path: &str) -> String {
    path.replace("{record_type}", "lead")
        .replace("{sid}", "seg-1")
        .replace("{rid}", "rule-1")
        .replace("{id}", "x-1")
}

#[test]
fn every_documented_operation_answers_403_exactly_when_the_role_table_says() {
    let app = TestApp::spawn();
    // Objects the paths name, so that an allowed call reaches its operation.
    assert!(
        app.put(
            "/api/v1/segments/seg-1",
            json!({"name": "S", "record_type": "lead", "priority": 1})
        )
        .status
            < 300
    );
    let tokens: Vec<(&str, String)> = ROLES.iter().map(|r| (*r, app.token(r))).collect();
    let doc = app.request("GET", "/openapi.json", None, None).body;
    let mut checked = 0;
    let mut failures = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if !secured {
                continue; // /healthz and /metrics take no token
            }
            let (class, body) = class_of(id);
            let some_role_refused = ROLES.iter().any(|r| !allowed(r, class));
            assert_eq!(
                op["responses"].get("403").is_some(),
                some_role_refused,
                "{id}: the document lists 403 exactly when some role is refused"
            );
            let example = op["requestBody"]["content"]["application/json"]["example"].clone();
            let body = match (op.get("requestBody"), example) {
                (None, _) => None,
                (Some(_), Value::Null) => Some(body.unwrap_or_else(|| panic!("{id} needs a body in class_of"))),
                (Some(_), example) => Some(example),
            };
            let url = concrete(&format!("/{}", path.trim_start_matches('/')));
            for (role, token) in &tokens {
                let mut body = body.clone();
                if id == "put_segment"
                    && let Some(b) = body.as_mut()
                {
                    // Each role changes more than `sequence_id`: a sequence manager may
                    // change that alone (`auth.rs` tests it), nothing else.
                    b["name"] = json!(format!("Segment by {role}"));
                }
                let r = app.request(&method.to_uppercase(), &url, Some(token), body.as_ref());
                checked += 1;
                assert_ne!(r.status, 401, "{method} {url} as {role}: {}", r.text);
                if (r.status == 403) == allowed(role, class) {
                    failures.push(format!(
                        "{} {url} as {role}: {} (the table says {})",
                        method.to_uppercase(),
                        r.status,
                        if allowed(role, class) { "allowed" } else { "403" }
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        checked >= 5 * 45,
        "only {checked} calls: did the document lose operations?"
    );
}
