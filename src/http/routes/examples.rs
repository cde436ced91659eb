//! Examples of the main bodies, for the OpenAPI document: one lead as `POST /records`
//! takes it and as its status view shows it once assigned, a run, a manual assignment.

use serde_json::{Value, json};

pub fn record_input() -> Value {
    json!({"id": "lead-1", "record_type": "lead", "name": "Ann Lee", "topic": "Trade show",
        "created_on": "2026-11-23T08:00:00Z",
        "attributes": {"country": "UK", "source": "trade show", "revenue": 25000}})
}

pub fn status_view() -> Value {
    json!({"id": "lead-1", "record_type": "lead", "name": "Ann Lee", "topic": "Trade show",
        "created_on": "2026-11-23T08:00:00Z",
        "attributes": {"country": "UK", "source": "trade show", "revenue": 25000},
        "seq": 1, "open": true, "stage": "processed", "needs_attention": false, "overdue": false,
        "owner": {"type": "seller", "id": "s1"}, "previous_owner": null,
        "segment_id": "uk-trade-shows", "rule_id": "uk-round-robin", "sequence_id": "follow-up-3d",
        "status_reason": "assigned", "segment_status": null, "sequence_status": null, "error_details": null,
        "assignment_due_at": null, "last_attempt_at": "2026-11-23T08:00:01Z", "attempts": 1,
        "updated_at": "2026-11-23T08:00:01Z",
        "decision": {"segment_id": "uk-trade-shows", "rules": [{"rule_id": "uk-round-robin", "outcome": "assigned",
            "candidates": 12, "excluded": {"condition": 40, "role": 0, "record_access": 0,
                "assign_records_off": 1, "capacity": 3, "availability": 2}}]}})
}

pub fn ingest_answer() -> Value {
    json!({"accepted": 1, "records": [status_view()]})
}

pub fn run() -> Value {
    json!({"id": "run-000000000001", "segment_id": "uk-trade-shows", "trigger": "manual", "status": "succeeded",
        "started_at": "2026-11-23T09:00:00Z", "finished_at": "2026-11-23T09:00:00.120Z", "duration_ms": 120,
        "considered": 3, "assigned": 2, "unassigned": 1, "error": null,
        "assigned_records": ["lead-1", "lead-2"]})
}

pub fn assign_request() -> Value {
    json!({"record_ids": ["lead-1"], "assignee": {"type": "seller", "id": "s1"}, "only_eligible": false})
}

pub fn assign_answer() -> Value {
    let mut record = status_view();
    record["status_reason"] = json!("assigned_manually");
    record["rule_id"] = Value::Null;
    json!({"results": [{"record_id": "lead-1", "ok": true, "record": record, "error": null}]})
}

pub fn seller() -> Value {
    json!({"name": "Sam", "email": "sam@example.com", "roles": ["seller"], "record_access": ["lead", "opportunity"],
        "attributes": {"language": ["en", "fr"], "country": "UK"}, "assign_records": true, "capacity": 20,
        "availability": {"timezone": "Europe/London",
            "working_hours": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "12:00"], ["13:00", "17:00"]]},
            "time_off": [{"start": "2026-12-24T00:00:00Z", "end": "2026-12-27T00:00:00Z"}]}})
}

pub fn segment() -> Value {
    json!({"name": "UK trade shows", "record_type": "lead", "priority": 1, "active": true,
        "condition": "record.country == \"UK\" && record.source == \"trade show\"",
        "sequence_id": null, "accept_previously_segmented": false, "run_rules_on_move": false})
}

pub fn rule() -> Value {
    json!({"name": "UK round robin", "priority": 1, "active": true, "condition": "record.revenue > 10000",
        "created_within_hours": 48, "assignment_window_hours": 24,
        "assign_to": {"type": "sellers", "match": "condition", "condition": "seller.attributes.country == record.country", "ids": []},
        "distribution": {"method": "round_robin", "available_within_hours": null, "use_capacity": true, "script": null}})
}
