//! Ingest: batches, answers without `wait`, duplicates in a batch, record-type schemas,
//! summaries and counts, and concurrent clients against one seller's capacity.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::fixtures::assert_absent;
use crate::helpers::TestApp;

/// Seller s1 takes every lead (segment `seg`, rule `r`).
fn catch_all(app: &TestApp) {
    one_seller_one_rule(app, "s1", "r", json!({}));
}

#[test]
fn a_batch_of_1000_is_accepted_and_1001_is_refused() {
    let app = TestApp::spawn();
    catch_all(&app);
    let records: Vec<Value> = (0..1001).map(|i| lead(&format!("l{i:04}"), json!({"n": i}))).collect();
    let r = app.post("/api/v1/records", json!({ "records": records }));
    assert_eq!(r.status, 422, "1001 records: {}", r.text);
    assert_eq!(r.code(), "validation_failed");
    assert_eq!(r.body["error"]["details"]["field"], "records", "{}", r.text);
    assert_absent(&app, "/api/v1/records/l0000", "nothing of a refused batch is stored");

    let r = app.post("/api/v1/records", json!({ "records": records[..1000] }));
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["accepted"], 1000);
    let items = r.body["records"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1000);
    assert!(
        items.iter().all(|v| v["stage"] == "to_be_processed"),
        "without wait the answer is the stored stage"
    );
    poll_record(&app, "l0999", |v| v["stage"] == "processed");
    poll_record(&app, "l0000", |v| v["stage"] == "processed");
    let s = summary(&app);
    assert_eq!(s["processed"], 1000, "{s}");
    assert_eq!(s["to_be_processed"], 0, "{s}");
    assert_eq!(seller_view(&app, "s1")["open_records"], 1000);
}

#[test]
fn without_wait_records_are_processed_shortly_after() {
    let app = TestApp::spawn();
    catch_all(&app);
    let r = app.post("/api/v1/records", lead("l1", json!({})));
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["records"][0]["stage"], "to_be_processed", "{}", r.text);
    assert_eq!(r.body["records"][0]["status_reason"], "in_progress", "{}", r.text);
    let v = poll_record(&app, "l1", |v| v["stage"] == "processed");
    assert_eq!(v["status_reason"], "assigned", "{v}");
    assert_eq!(v["attempts"], 1, "{v}");
}

#[test]
fn the_same_id_twice_in_one_batch_ends_as_the_last_version() {
    let app = TestApp::spawn();
    catch_all(&app);
    let views = post_batch_wait(
        &app,
        vec![
            lead("dup", json!({"version": 1})),
            lead("other", json!({})),
            lead("dup", json!({"version": 2})),
        ],
    );
    assert_eq!(views.len(), 3, "one view per input");
    let v = record(&app, "dup");
    assert_eq!(v["attributes"]["version"], 2, "{v}");
    assert_eq!(v["attempts"], 1, "processed once: {v}");
    assert_eq!(seller_view(&app, "s1")["open_records"], 2, "two records, not three");
    assert_eq!(summary(&app)["processed"], 2);
    // The same without wait.
    let r = app.post(
        "/api/v1/records",
        json!({"records": [lead("dup2", json!({"version": 1})), lead("dup2", json!({"version": 2}))]}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let v = poll_record(&app, "dup2", |v| v["stage"] == "processed");
    assert_eq!(v["attributes"]["version"], 2, "{v}");
    assert_eq!(v["attempts"], 1, "{v}");
}

#[test]
fn two_quick_posts_of_one_record_without_wait_are_processed_as_the_last_one() {
    let app = TestApp::spawn();
    seller(&app, "s1", json!({}));
    // Both accept previously segmented leads, so however the posts interleave with
    // processing, the last version decides.
    segment(
        &app,
        "a",
        json!({"priority": 1, "condition": "record.seg == \"a\"", "accept_previously_segmented": true}),
    );
    segment(&app, "b", json!({"priority": 2, "accept_previously_segmented": true}));
    rule(&app, "b", "r", json!({}));
    for (i, seg) in ["b", "a", "b", "a"].iter().enumerate() {
        let r = app.post("/api/v1/records", lead("l1", json!({ "seg": seg })));
        assert_eq!(r.status, 202, "post {i}: {}", r.text);
    }
    let r = app.post("/api/v1/records?wait=true", lead("marker", json!({})));
    assert_eq!(r.status, 202, "{}", r.text);
    let v = poll_record(&app, "l1", |v| v["stage"] == "processed");
    assert_eq!(v["segment_id"], "a", "the last version decides the segment: {v}");
    assert_eq!(v["attributes"]["seg"], "a");
    assert_eq!(v["segment_status"], json!(null), "{v}");
}

#[test]
fn declared_attributes_are_type_checked_and_strict_refuses_undeclared_ones() {
    let app = TestApp::spawn();
    catch_all(&app);
    let r = app.put(
        "/api/v1/record-types/lead",
        json!({"attributes": {"revenue": "number", "country": "string"}, "strict": false}),
    );
    assert_eq!(r.status, 201, "{}", r.text);

    let r = app.post("/api/v1/records", lead("l1", json!({"revenue": "big"})));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.code(), "validation_failed");
    assert_eq!(r.body["error"]["details"]["field"], "attributes.revenue", "{}", r.text);

    let r = app.post(
        "/api/v1/records",
        json!({"records": [lead("ok", json!({"revenue": 1})), lead("bad", json!({"country": 44}))]}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body["error"]["details"]["field"], "records[1].attributes.country",
        "{}",
        r.text
    );
    assert_absent(&app, "/api/v1/records/ok", "nothing of the batch is stored");

    let r = app.post(
        "/api/v1/records",
        json!({"records": [lead("bad", json!({"country": 44}))]}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body["error"]["details"]["field"], "records[0].attributes.country",
        "a batch of one still names its position: {}",
        r.text
    );

    let v = post_wait(&app, lead("free", json!({"revenue": 5, "extra": "fine"})));
    assert_eq!(
        v["status_reason"], "assigned",
        "undeclared attributes pass when not strict: {v}"
    );

    let r = app.put(
        "/api/v1/record-types/lead",
        json!({"attributes": {"revenue": "number", "country": "string"}, "strict": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.post("/api/v1/records", lead("l2", json!({"revenue": 5, "extra": "no"})));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["field"], "attributes.extra", "{}", r.text);
    let v = post_wait(&app, lead("l3", json!({"revenue": 5, "country": "UK"})));
    assert_eq!(v["status_reason"], "assigned", "{v}");
    // Other record types are not affected.
    let r = app.post(
        "/api/v1/records?wait=true",
        json!({"id": "o1", "record_type": "opportunity", "attributes": {"revenue": "big"}}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
}

#[test]
fn summaries_and_counts_follow_the_records() {
    let app = TestApp::spawn();
    seller(&app, "s1", json!({"capacity": 2}));
    segment(&app, "seg", json!({"condition": "record.country == \"UK\""}));
    rule(&app, "seg", "r", json!({"distribution": {"use_capacity": true}}));
    let r = app.put("/api/v1/record-types/contact", json!({"attributes": {}}));
    assert_eq!(r.status, 201, "{}", r.text);
    post_batch_wait(
        &app,
        vec![
            lead("a1", json!({"country": "UK"})),
            lead("a2", json!({"country": "UK"})),
            lead("w1", json!({"country": "UK"})),
            lead("x1", json!({"country": "FR"})),
        ],
    );
    let s = summary(&app);
    assert_eq!(
        s,
        json!({"to_be_processed": 0, "processed": 4, "unassigned": 2, "needs_attention": 2, "has_unassigned": true}),
        "two assigned, one at capacity, one without segment"
    );
    assert_eq!(app.get("/api/v1/segments/seg").body["unassigned_count"], 1);
    let r = app.get("/api/v1/record-types");
    assert_eq!(r.status, 200, "{}", r.text);
    let by_type: BTreeMap<String, Value> = r.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| (i["record_type"].as_str().unwrap_or_default().to_string(), i.clone()))
        .collect();
    assert_eq!(
        by_type.keys().cloned().collect::<Vec<_>>(),
        ["contact", "lead"],
        "types with records, segments or a schema: {}",
        r.text
    );
    assert_eq!(by_type["lead"]["processed"], 4);
    assert_eq!(by_type["lead"]["unassigned"], 2);
    assert_eq!(by_type["contact"]["processed"], 0);
    assert_eq!(by_type["contact"]["has_unassigned"], false);

    // Closing the waiting record and the segmentless one empties the unassigned view.
    for id in ["w1", "x1"] {
        assert_eq!(app.post(&format!("/api/v1/records/{id}/close"), json!({})).status, 200);
    }
    let s = summary(&app);
    assert_eq!(s["unassigned"], 0, "{s}");
    assert_eq!(s["has_unassigned"], false, "{s}");
    assert_eq!(s["needs_attention"], 0, "closed records need no attention: {s}");
    assert_eq!(app.get("/api/v1/segments/seg").body["unassigned_count"], 0);
    // The lists agree with the counts.
    assert_eq!(view_ids(&app, "processed").len(), 4);
    assert!(view_ids(&app, "needs_attention").is_empty());
    let r = app.get("/api/v1/records?segment_id=seg&view=processed");
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(3), "{}", r.text);
}

#[test]
fn concurrent_batches_never_push_a_seller_over_capacity() {
    let app = TestApp::spawn();
    one_seller_of_capacity(&app, "s1", 50, "r");
    std::thread::scope(|scope| {
        for t in 0..8 {
            let app = &app;
            scope.spawn(move || {
                for b in 0..2 {
                    let records: Vec<Value> = (0..10).map(|i| lead(&format!("t{t}-b{b}-{i}"), json!({}))).collect();
                    let r = app.post("/api/v1/records?wait=true", json!({ "records": records }));
                    assert_eq!(r.status, 202, "thread {t} batch {b}: {}", r.text);
                }
            });
        }
    });
    let processed = view_ids(&app, "processed");
    assert_eq!(processed.len(), 160, "every record processed");
    let owned = processed
        .iter()
        .filter(|id| record(&app, id)["owner"]["id"] == "s1")
        .count();
    assert_eq!(owned, 50, "exactly the capacity is assigned");
    let s = seller_view(&app, "s1");
    assert_eq!(s["open_records"], 50, "{s}");
    assert_eq!(s["available_capacity"], 0, "{s}");
    assert_eq!(summary(&app)["unassigned"], 110);
}

/// A batch is read in one typed pass; a bad one still gets the contract's code and the
/// path of the failing field, and nothing of it is stored.
#[test]
fn bad_ingest_bodies_name_the_failing_field_and_store_nothing() {
    let app = TestApp::spawn();
    catch_all(&app);
    let cases: [(&str, u16, &str, Option<&str>); 10] = [
        (
            r#"{"records":[{"id":"ok-1","record_type":"lead"},{"id":"bad id!","record_type":"lead"}]}"#,
            422,
            "validation_failed",
            Some("records[1].id"),
        ),
        (
            r#"{"records":[{"id":"ok-1","record_type":"lead","extra":1}]}"#,
            422,
            "validation_failed",
            Some("records[0].extra"),
        ),
        (
            r#"{"records":[["ok-1","lead"]]}"#,
            422,
            "validation_failed",
            Some("records[0]"),
        ),
        (r#"{"x":1,"records":[]}"#, 422, "validation_failed", Some("body")),
        (
            r#"{"records":{"id":"ok-1"}}"#,
            422,
            "validation_failed",
            Some("records"),
        ),
        (
            r#"{"records":[{"id":"ok-1","record_type":"lead","created_on":"yesterday"}]}"#,
            422,
            "validation_failed",
            Some("records[0].created_on"),
        ),
        (r#"[1,2]"#, 422, "validation_failed", Some("body")),
        (
            r#"{"id":"ok-1","record_type":"lead","attributes":[1]}"#,
            422,
            "validation_failed",
            Some("attributes"),
        ),
        (r#"{"records":["#, 400, "invalid_json", None),
        (
            r#"{"records":[{"id":"ok-1","record_type":"lead"}]} x"#,
            400,
            "invalid_json",
            None,
        ),
    ];
    for (body, status, code, field) in cases {
        let r = app.raw(
            "POST",
            "/api/v1/records",
            Some(crate::helpers::ADMIN),
            body.as_bytes().to_vec(),
        );
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert_eq!(r.code(), code, "{body}: {}", r.text);
        if let Some(field) = field {
            assert_eq!(r.body["error"]["details"]["field"], field, "{body}: {}", r.text);
        }
    }
    assert_absent(&app, "/api/v1/records/ok-1", "nothing of a refused body is stored");
    let r = app.raw(
        "POST",
        "/api/v1/records",
        Some(crate::helpers::ADMIN),
        br#"{"records":[{"id":"ok-1","record_type":"lead"}]}"#.to_vec(),
    );
    assert_eq!(r.status, 202, "{}", r.text);
}

/// Times are stored compactly but read back exactly as RFC 3339, to the nanosecond.
#[test]
fn times_read_back_as_sent_and_as_answered() {
    let app = TestApp::spawn();
    catch_all(&app);
    let mut rec = lead("t1", json!({}));
    rec["created_on"] = json!("2026-11-23T08:00:00.123456789Z");
    let r = app.post("/api/v1/records?wait=true", rec);
    assert_eq!(r.status, 202, "{}", r.text);
    let answered = r.body["records"][0].clone();
    let stored = app.get("/api/v1/records/t1").body;
    assert_eq!(stored["created_on"], "2026-11-23T08:00:00.123456789Z", "{stored}");
    for field in ["created_on", "updated_at", "last_attempt_at"] {
        assert!(stored[field].is_string(), "{field}: {stored}");
        assert_eq!(stored[field], answered[field], "{field} as answered and as stored");
    }
    let history = app.get("/api/v1/assignments?record_id=t1").body;
    assert_eq!(history["items"][0]["at"], stored["updated_at"], "{history}");
}
