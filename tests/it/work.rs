//! Shared setup and checks of the assignment tests: sellers, segments, rules and records
//! in a few calls, paging through whole lists, and the invariants every change of owner
//! must keep (one owner, one history entry per change, counters equal to what is owned).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::helpers::{Api, Resp};

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

/// RFC 3339 with `Z`, as the API writes times.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A 2xx answer, or a failure naming `what`.
#[track_caller]
pub fn ok(r: &Resp, what: &str) {
    assert!(
        (200..300).contains(&r.status),
        "{what}: expected a 2xx answer, got {} {}",
        r.status,
        r.text
    );
}

pub fn owner(kind: &str, id: &str) -> Value {
    json!({"type": kind, "id": id})
}

/// A seller of role `seller` who may read every type.
pub fn seller(capacity: Option<u64>) -> Value {
    json!({"name": "seller", "roles": ["seller"], "capacity": capacity})
}

#[track_caller]
pub fn put(api: &impl Api, path: &str, body: Value) {
    let r = api.api_put(path, body);
    ok(&r, &format!("PUT {path}"));
}

#[track_caller]
pub fn put_seller(api: &impl Api, id: &str, capacity: Option<u64>) {
    put(api, &format!("/api/v1/sellers/{id}"), seller(capacity));
}

/// Sets a seller's capacity, keeping the rest of its configuration.
#[track_caller]
pub fn set_capacity(api: &impl Api, id: &str, capacity: Option<u64>) {
    let path = format!("/api/v1/sellers/{id}");
    let r = api.api_get(&path);
    ok(&r, &format!("GET {path}"));
    let mut body = r.body;
    let obj = body.as_object_mut().expect("a seller is an object");
    for derived in ["id", "open_records", "available_capacity", "last_assigned_at"] {
        obj.remove(derived);
    }
    obj.insert("capacity".into(), json!(capacity));
    put(api, &path, body);
}

/// An active segment of `record_type` that takes every record (empty condition).
#[track_caller]
pub fn put_segment(api: &impl Api, id: &str, record_type: &str) {
    put(
        api,
        &format!("/api/v1/segments/{id}"),
        json!({"name": format!("segment {id}"), "record_type": record_type, "priority": 1}),
    );
}

/// An active rule: `target` is the `assign_to` object; round robin with capacity.
pub fn rule(priority: u32, condition: Option<&str>, target: Value) -> Value {
    json!({"name": "rule", "priority": priority, "active": true, "condition": condition,
           "assign_to": target,
           "distribution": {"method": "round_robin", "use_capacity": true}})
}

pub fn any_seller() -> Value {
    json!({"type": "sellers", "match": "any"})
}

/// An `assign_to` of exactly the sellers `ids`.
pub fn sellers_by_id(ids: &[&str]) -> Value {
    json!({"type": "sellers", "match": "ids", "ids": ids})
}

/// An `assign_to` of the sellers meeting `condition`.
pub fn sellers_where(condition: &str) -> Value {
    json!({"type": "sellers", "match": "condition", "condition": condition})
}

#[track_caller]
pub fn put_rule(api: &impl Api, segment: &str, id: &str, body: Value) {
    put(api, &format!("/api/v1/segments/{segment}/rules/{id}"), body);
}

/// Sellers `sellers`, each of `capacity`, and segment `segment` of leads (every one) whose
/// one rule `rr` hands them round robin to any seller, counting capacity.
#[track_caller]
pub fn round_robin_over(api: &impl Api, segment: &str, sellers: &[&str], capacity: Option<u64>) {
    for s in sellers {
        put_seller(api, s, capacity);
    }
    put_segment(api, segment, "lead");
    put_rule(api, segment, "rr", rule(1, None, any_seller()));
}

pub fn record(id: &str, record_type: &str, created_on: Option<DateTime<Utc>>, attributes: Value) -> Value {
    let mut r =
        json!({"id": id, "record_type": record_type, "name": format!("name of {id}"), "attributes": attributes});
    if let Some(t) = created_on {
        r["created_on"] = json!(ts(t));
    }
    r
}

/// Posts a batch; answers the status views. With `wait`, they are processed.
#[track_caller]
pub fn post_records(api: &impl Api, records: &[Value], wait: bool) -> Vec<Value> {
    let path = if wait {
        "/api/v1/records?wait=true"
    } else {
        "/api/v1/records"
    };
    let r = api.api_post(path, json!({ "records": records }));
    assert_eq!(r.status, 202, "POST {path} with {} records: {}", records.len(), r.text);
    r.body["records"].as_array().cloned().unwrap_or_default()
}

/// Every item of a list, following `next` (`path` already has its query string).
#[track_caller]
pub fn list_all(api: &impl Api, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let url = match &after {
            Some(a) => format!("{path}{sep}limit=1000&after={a}"),
            None => format!("{path}{sep}limit=1000"),
        };
        let r = api.api_get(&url);
        assert_eq!(r.status, 200, "GET {url}: {}", r.text);
        out.extend(r.body["items"].as_array().cloned().unwrap_or_default());
        match r.body["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => return out,
        }
    }
}

/// Every record of a type, in both stages.
#[track_caller]
pub fn all_records(api: &impl Api, record_type: &str) -> Vec<Value> {
    let mut out = list_all(
        api,
        &format!("/api/v1/records?record_type={record_type}&view=processed"),
    );
    out.extend(list_all(
        api,
        &format!("/api/v1/records?record_type={record_type}&view=to_be_processed"),
    ));
    out
}

#[track_caller]
pub fn get_record(api: &impl Api, id: &str) -> Value {
    let r = api.api_get(&format!("/api/v1/records/{id}"));
    assert_eq!(r.status, 200, "GET record {id}: {}", r.text);
    r.body
}

#[track_caller]
pub fn open_records(api: &impl Api, seller: &str) -> u64 {
    let r = api.api_get(&format!("/api/v1/sellers/{seller}"));
    assert_eq!(r.status, 200, "GET seller {seller}: {}", r.text);
    r.body["open_records"]
        .as_u64()
        .unwrap_or_else(|| panic!("seller {seller} has open_records: {}", r.text))
}

/// Assignment history entries of a record, newest first.
#[track_caller]
pub fn history_of(api: &impl Api, record_id: &str) -> Vec<Value> {
    list_all(api, &format!("/api/v1/assignments?record_id={record_id}"))
}

pub fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| {
            i["id"]
                .as_str()
                .unwrap_or_else(|| panic!("an item has an id: {i}"))
                .to_string()
        })
        .collect()
}

/// Each seller's `open_records` equals the open records it owns.
#[track_caller]
pub fn check_counters(api: &impl Api, records: &[Value], sellers: &[&str]) {
    for s in sellers {
        let me = owner("seller", s);
        let owned = records
            .iter()
            .filter(|r| r["open"] == json!(true) && r["owner"] == me)
            .count() as u64;
        assert_eq!(
            open_records(api, s),
            owned,
            "seller {s}: open_records should equal the {owned} open records it owns"
        );
    }
}

/// The history of every record is one chain of real changes that ends at its owner:
/// each entry's previous owner is the assignee before it, no entry repeats the owner
/// it replaces, and a record without entries has no owner. So no change is recorded
/// twice and none is missing.
#[track_caller]
pub fn check_history(records: &[Value], history: &[Value]) {
    let mut by_record: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    let mut entry_ids = BTreeSet::new();
    for e in history {
        let id = e["id"].as_str().unwrap_or_else(|| panic!("entry has an id: {e}"));
        assert!(entry_ids.insert(id.to_string()), "history entry id {id} appears twice");
        let rid = e["record_id"]
            .as_str()
            .unwrap_or_else(|| panic!("entry has a record_id: {e}"));
        by_record.entry(rid.to_string()).or_default().push(e);
    }
    let mut seen = BTreeSet::new();
    for rec in records {
        let id = rec["id"].as_str().unwrap_or_else(|| panic!("record has an id: {rec}"));
        assert!(seen.insert(id.to_string()), "record {id} is listed twice");
        let mut entries = by_record.remove(id).unwrap_or_default();
        // Entry ids are zero-padded sequence numbers: their order is arrival order.
        entries.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        let mut current = Value::Null;
        for e in &entries {
            assert_eq!(
                e["previous_owner"], current,
                "record {id}: history entry {} should replace the owner before it; entries: {entries:?}",
                e["id"]
            );
            assert_ne!(
                e["assignee"], current,
                "record {id}: history entry {} changes nothing; entries: {entries:?}",
                e["id"]
            );
            current = e["assignee"].clone();
        }
        assert_eq!(
            rec["owner"], current,
            "record {id}: its owner should be the assignee of its last history entry; entries: {entries:?}"
        );
    }
    assert!(
        by_record.is_empty(),
        "history names records that are not stored: {:?}",
        by_record.keys().collect::<Vec<_>>()
    );
}
