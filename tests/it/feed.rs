//! The change feed (`GET /events`): an event for each kind of change, in commit order,
//! written with the change; the cursor after a restart; `wait` woken by a commit.

use serde_json::{Value, json};

use crate::fixtures::assert_invalid;
use crate::helpers::{ADMIN, TestApp};
use crate::work::{post_records, record, round_robin_over};

/// Every event after `after` (following `next`), and the cursor to resume from.
pub fn events_after(app: &TestApp, after: &str, types: Option<&str>) -> (Vec<Value>, String) {
    let mut out = Vec::new();
    let mut cursor = after.to_string();
    loop {
        let mut path = format!("/api/v1/events?after={cursor}&limit=1000");
        if let Some(t) = types {
            path.push_str(&format!("&types={t}"));
        }
        let r = app.get(&path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text);
        let items = r.body["items"].as_array().cloned().unwrap_or_default();
        let next = r.body["next"].as_str().expect("next is never null").to_string();
        if items.is_empty() {
            assert_eq!(next, cursor, "nothing new: next is the given cursor");
            return (out, next);
        }
        out.extend(items);
        cursor = next;
    }
}

fn types_of(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_string())
        .collect()
}

fn ids_of(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| {
            e["id"]
                .as_str()
                .and_then(|i| i.parse().ok())
                .expect("an event id is a number")
        })
        .collect()
}

#[test]
fn each_kind_of_change_is_an_event_in_commit_order() {
    let app = TestApp::spawn();
    round_robin_over(&app, "all", &["s1", "s2"], None);
    let (config, cursor) = events_after(&app, "0", None);
    let config_changes: Vec<(String, String, String)> = config
        .iter()
        .map(|e| {
            assert_eq!(e["type"], "config.changed", "{e}");
            (
                e["data"]["kind"].as_str().unwrap_or("").to_string(),
                e["data"]["id"].as_str().unwrap_or("").to_string(),
                e["data"]["action"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("seller", "s1", "created"),
        ("seller", "s2", "created"),
        ("segment", "all", "created"),
        ("rule", "all/rr", "created"),
    ]
    .iter()
    .map(|(k, i, a)| (k.to_string(), i.to_string(), a.to_string()))
    .collect();
    assert_eq!(config_changes, expected);

    // A lead the rule assigns (owner changed); a contact no segment takes (status
    // changed); a run with nothing to do (run finished); a seller replaced and deleted;
    // a close, which changes neither owner nor status reason (no event).
    post_records(&app, &[record("lead-1", "lead", None, json!({}))], true);
    post_records(&app, &[record("contact-1", "contact", None, json!({}))], true);
    let run = app.post("/api/v1/segments/all/runs", json!({}));
    assert_eq!(run.status, 201, "{}", run.text);
    let r = app.put("/api/v1/sellers/s2", crate::work::seller(Some(5)));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.delete("/api/v1/sellers/s2").status, 204);
    let close = app.post("/api/v1/records/lead-1/close", json!({}));
    assert!((200..300).contains(&close.status), "{}", close.text);

    let (events, _) = events_after(&app, &cursor, None);
    assert_eq!(
        types_of(&events),
        [
            "record.owner_changed",
            "record.status_changed",
            "run.finished",
            "config.changed",
            "config.changed",
        ],
        "{events:#?}"
    );
    let ids = ids_of(&events);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
    let owner = &events[0]["data"];
    assert_eq!(owner["record_id"], "lead-1");
    assert_eq!(owner["record_type"], "lead");
    assert_eq!(owner["owner"]["type"], "seller");
    assert_eq!(owner["previous_owner"], Value::Null);
    assert_eq!(owner["by"], "rule");
    assert_eq!(owner["rule_id"], "rr");
    assert_eq!(owner["status_reason"], "assigned");
    let status = &events[1]["data"];
    assert_eq!(status["id"], "contact-1");
    assert_eq!(status["status_reason"], Value::Null);
    assert_eq!(status["segment_status"], "no_matching_segments");
    assert_eq!(events[2]["data"]["segment_id"], "all");
    assert_eq!(events[2]["data"]["id"], run.body["id"]);
    assert_eq!(
        events[3]["data"],
        json!({"kind": "seller", "id": "s2", "action": "updated"})
    );
    assert_eq!(
        events[4]["data"],
        json!({"kind": "seller", "id": "s2", "action": "deleted"})
    );
    for e in &events {
        assert!(e["at"].as_str().is_some_and(|a| a.ends_with('Z')), "{e}");
    }

    // `types` keeps only the types asked for, in the same order.
    let (runs, _) = events_after(&app, &cursor, Some("run.finished,record.owner_changed"));
    assert_eq!(types_of(&runs), ["record.owner_changed", "run.finished"]);
    assert_eq!(ids_of(&runs), [ids[0], ids[2]]);
}

#[test]
fn the_cursor_resumes_exactly_after_a_restart() {
    let app = TestApp::spawn();
    round_robin_over(&app, "all", &["s1"], None);
    post_records(&app, &[record("a", "lead", None, json!({}))], true);
    let (before, cursor) = events_after(&app, "0", None);
    assert!(!before.is_empty());

    let app = app.restart();
    let (same, same_cursor) = events_after(&app, "0", None);
    assert_eq!(same, before, "the feed is the same after a restart");
    assert_eq!(same_cursor, cursor);
    let (nothing, _) = events_after(&app, &cursor, None);
    assert!(nothing.is_empty(), "nothing new after the cursor: {nothing:?}");

    post_records(&app, &[record("b", "lead", None, json!({}))], true);
    let (after, _) = events_after(&app, &cursor, None);
    assert_eq!(types_of(&after), ["record.owner_changed"]);
    assert_eq!(after[0]["data"]["record_id"], "b");
    assert_eq!(
        ids_of(&after)[0],
        ids_of(&before).last().copied().unwrap_or(0) + 1,
        "numbering goes on after the last event, with no gap"
    );
}

#[test]
fn wait_returns_when_an_event_commits() {
    let app = TestApp::spawn();
    round_robin_over(&app, "all", &["s1"], None);
    let (_, cursor) = events_after(&app, "0", None);

    // Nothing new within the wait: an empty page resuming from the same cursor.
    let r = app.get(&format!("/api/v1/events?after={cursor}&wait=1"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["items"], json!([]));
    assert_eq!(r.body["next"], cursor.as_str());

    // A long poll held for up to 30 s gets the event committed while it waits (only a
    // commit can end it with an item before the wait is over).
    let client = app.client(ADMIN);
    let path = format!("/api/v1/events?after={cursor}&wait=30&types=record.owner_changed");
    let poll = std::thread::spawn(move || {
        use crate::helpers::Api;
        client.api_get(&path)
    });
    // A configuration change does not end a poll for other types.
    crate::work::put_seller(&app, "s2", None);
    post_records(&app, &[record("late", "lead", None, json!({}))], false);
    let r = poll.join().expect("poll thread");
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{}", r.text);
    assert_eq!(items[0]["data"]["record_id"], "late");
    assert_eq!(r.body["next"], items[0]["id"]);
}

#[test]
fn every_role_reads_the_feed_and_bad_queries_are_refused() {
    let app = TestApp::spawn();
    for role in ["reader", "integration", "sequence_manager", "sales_manager"] {
        let token = app.token(role);
        let r = app.request("GET", "/api/v1/events", Some(&token), None);
        assert_eq!(r.status, 200, "{role}: {}", r.text);
    }
    assert_eq!(app.request("GET", "/api/v1/events", None, None).status, 401);
    assert_invalid(&app.get("/api/v1/events?wait=31"), "wait", "wait over 30 s");
    assert_invalid(
        &app.get("/api/v1/events?after=abc"),
        "after",
        "a cursor that is not one",
    );
    assert_invalid(&app.get("/api/v1/events?types=record.nope"), "types", "an unknown type");
    assert_invalid(&app.get("/api/v1/events?limit=0"), "limit", "limit 0");
}

#[test]
fn retention_is_a_setting() {
    let app = TestApp::spawn();
    let r = app.get("/api/v1/settings");
    assert_eq!(r.body["event_retention_days"], 7, "default 7 days: {}", r.text);
    let mut body = r.body.clone();
    body["event_retention_days"] = json!(30);
    let r = app.put("/api/v1/settings", body.clone());
    assert!((200..300).contains(&r.status), "{}", r.text);
    assert_eq!(app.get("/api/v1/settings").body["event_retention_days"], 30);
    body["event_retention_days"] = json!(0);
    assert_invalid(&app.put("/api/v1/settings", body), "event_retention_days", "0 days");
}
