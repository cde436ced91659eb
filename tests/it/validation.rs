//! Bad input of every class answers the contract's error, names the field, and stores
//! nothing.
//!
//! This file: the request's shape (JSON syntax, unknown, wrongly typed and missing
//! fields, nesting, size, routes); `validation/values.rs`: the values in it.

use serde_json::{Value, json};

use crate::fixtures::{self, assert_absent, assert_error, assert_invalid};
use crate::helpers::{ADMIN, TestApp};

mod values;

const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// `base` with `pointer` (a JSON pointer) set to `value`; the last step may be a new key.
pub(super) fn with(mut base: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    match base.pointer_mut(parent) {
        Some(Value::Object(o)) => {
            o.insert(key.to_string(), value);
        }
        Some(Value::Array(a)) => {
            let i: usize = key.parse().expect("an array index");
            a[i] = value;
        }
        _ => panic!("{parent} is an object or array in the body"),
    }
    base
}

/// `base` without the field at `pointer`.
fn without(mut base: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    base.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .and_then(|o| o.remove(key))
        .unwrap_or_else(|| panic!("{pointer} exists in the body"));
    base
}

#[test]
fn malformed_json_is_invalid_json() {
    let app = TestApp::spawn();
    for body in [
        &b"{\"name\": "[..],
        b"not json",
        b"{\"name\": \"Sam\"} trailing",
        b"",
        b"{\"name\": \"Sam\",}",
        b"\xff\xfe",
    ] {
        let r = app.raw("PUT", "/api/v1/sellers/s1", Some(ADMIN), body.to_vec());
        assert_error(
            &r,
            400,
            "invalid_json",
            &format!("body {:?}", String::from_utf8_lossy(body)),
        );
    }
    assert_absent(&app, "/api/v1/sellers/s1", "no seller was stored");
}

#[test]
fn unknown_fields_are_refused_naming_the_field() {
    let app = fixtures::seeded();
    let cases = [
        (
            "/api/v1/sellers/x",
            with(fixtures::seller(), "/nickname", json!("x")),
            "nickname",
        ),
        (
            "/api/v1/sellers/x",
            with(fixtures::seller(), "/availability/holidays", json!([])),
            "availability.holidays",
        ),
        (
            "/api/v1/sellers/x",
            with(fixtures::seller(), "/availability/time_off/0/reason", json!("x")),
            "availability.time_off[0].reason",
        ),
        (
            "/api/v1/teams/x",
            with(fixtures::team(&[]), "/leader", json!("s1")),
            "leader",
        ),
        ("/api/v1/queues/x", with(fixtures::queue(), "/size", json!(1)), "size"),
        (
            "/api/v1/sequences/x",
            with(fixtures::sequence(), "/steps/1/repeat", json!(true)),
            "steps[1].repeat",
        ),
        (
            "/api/v1/segments/x",
            with(fixtures::segment("lead", 1, None), "/color", json!("red")),
            "color",
        ),
        (
            "/api/v1/segments/seg1/rules/x",
            with(fixtures::rule(), "/assign_to/weight", json!(1)),
            "assign_to.weight",
        ),
        (
            "/api/v1/segments/seg1/rules/x",
            with(fixtures::rule(), "/distribution/fair", json!(true)),
            "distribution.fair",
        ),
        (
            "/api/v1/record-types/x",
            with(fixtures::record_type_schema(), "/version", json!(2)),
            "version",
        ),
        (
            "/api/v1/settings",
            json!({"max_records_per_run": 10, "turbo": true}),
            "turbo",
        ),
    ];
    for (path, body, field) in cases {
        let r = app.put(path, body);
        assert_invalid(&r, field, &format!("PUT {path} with unknown field {field}"));
    }
    for path in [
        "/api/v1/sellers/x",
        "/api/v1/teams/x",
        "/api/v1/queues/x",
        "/api/v1/sequences/x",
    ] {
        assert_absent(&app, path, "not stored");
    }
    assert_eq!(
        app.get("/api/v1/settings").body["max_records_per_run"],
        500,
        "settings unchanged"
    );
    let r = app.post(
        "/api/v1/tokens",
        json!({"name": "x", "role": "reader", "expires": "never"}),
    );
    assert_invalid(&r, "expires", "POST /tokens with an unknown field");
}

#[test]
fn wrong_types_are_refused_naming_the_field() {
    let app = fixtures::seeded();
    let cases = [
        ("/api/v1/sellers/x", with(fixtures::seller(), "/name", json!(5)), "name"),
        (
            "/api/v1/sellers/x",
            with(fixtures::seller(), "/capacity", json!("20")),
            "capacity",
        ),
        (
            "/api/v1/sellers/x",
            with(fixtures::seller(), "/capacity", json!(-1)),
            "capacity",
        ),
        (
            "/api/v1/sellers/x",
            with(fixtures::seller(), "/roles", json!("seller")),
            "roles",
        ),
        (
            "/api/v1/sellers/x",
            with(fixtures::seller(), "/assign_records", json!("yes")),
            "assign_records",
        ),
        (
            "/api/v1/sellers/x",
            with(fixtures::seller(), "/attributes", json!([1])),
            "attributes",
        ),
        (
            "/api/v1/sellers/x",
            with(fixtures::seller(), "/availability/timezone", json!(5)),
            "availability.timezone",
        ),
        (
            "/api/v1/sellers/x",
            with(
                fixtures::seller(),
                "/availability/time_off/0/start",
                json!("next tuesday"),
            ),
            "availability.time_off[0].start",
        ),
        (
            "/api/v1/sellers/x",
            with(
                fixtures::seller(),
                "/availability/working_hours/mon/0",
                json!(["09:00"]),
            ),
            "availability.working_hours.mon[0]",
        ),
        (
            "/api/v1/sellers/x",
            with(fixtures::seller(), "/record_access/1", json!("Opportunity")),
            "record_access[1]",
        ),
        (
            "/api/v1/teams/x",
            with(fixtures::team(&[]), "/members", json!("s1")),
            "members",
        ),
        (
            "/api/v1/sequences/x",
            with(fixtures::sequence(), "/steps/0/kind", json!("fax")),
            "steps[0].kind",
        ),
        (
            "/api/v1/sequences/x",
            with(fixtures::sequence(), "/active", json!(1)),
            "active",
        ),
        (
            "/api/v1/segments/x",
            with(fixtures::segment("lead", 1, None), "/priority", json!("1")),
            "priority",
        ),
        (
            "/api/v1/segments/x",
            with(fixtures::segment("lead", 1, None), "/priority", json!(-1)),
            "priority",
        ),
        (
            "/api/v1/segments/x",
            with(fixtures::segment("lead", 1, None), "/record_type", json!("Lead")),
            "record_type",
        ),
        (
            "/api/v1/segments/x",
            with(fixtures::segment("lead", 1, None), "/condition", json!(true)),
            "condition",
        ),
        (
            "/api/v1/segments/seg1/rules/x",
            with(fixtures::rule(), "/assign_to/type", json!("seller")),
            "assign_to.type",
        ),
        (
            "/api/v1/segments/seg1/rules/x",
            with(fixtures::rule(), "/distribution/method", json!("fastest")),
            "distribution.method",
        ),
        (
            "/api/v1/segments/seg1/rules/x",
            with(fixtures::rule(), "/created_within_hours", json!(1.5)),
            "created_within_hours",
        ),
        (
            "/api/v1/record-types/x",
            with(fixtures::record_type_schema(), "/attributes/country", json!("text")),
            "attributes.country",
        ),
        (
            "/api/v1/settings",
            json!({"round_robin_scope": "team"}),
            "round_robin_scope",
        ),
        (
            "/api/v1/settings",
            json!({"eligible_roles": "seller"}),
            "eligible_roles",
        ),
    ];
    for (path, body, field) in cases {
        let r = app.put(path, body);
        assert_invalid(&r, field, &format!("PUT {path} with a wrong type at {field}"));
    }
    // serde would read a struct from an array of its fields in order.
    let r = app.put("/api/v1/sellers/x", json!(["Sam"]));
    assert_invalid(&r, "body", "a seller written as an array");
    let positional = [
        (
            "/api/v1/sellers/x",
            with(fixtures::seller(), "/availability", json!(["UTC", null, []])),
            "availability",
        ),
        (
            "/api/v1/sellers/x",
            with(
                fixtures::seller(),
                "/availability/time_off/0",
                json!(["2026-12-24T00:00:00Z", "2026-12-27T00:00:00Z"]),
            ),
            "availability.time_off[0]",
        ),
        (
            "/api/v1/sequences/x",
            with(fixtures::sequence(), "/steps/0", json!(["email", "hi", null])),
            "steps[0]",
        ),
        ("/api/v1/settings", json!([500, null, "rule"]), "body"),
    ];
    for (path, body, field) in positional {
        assert_invalid(
            &app.put(path, body),
            field,
            &format!("PUT {path} with an array for the struct at {field}"),
        );
    }
    assert_absent(&app, "/api/v1/sellers/x", "no seller was stored");
    assert_eq!(
        app.get("/api/v1/settings").body["max_records_per_run"],
        500,
        "settings unchanged"
    );
}

#[test]
fn missing_required_fields_are_refused_naming_the_field() {
    let app = fixtures::seeded();
    let cases = [
        ("/api/v1/sellers/x", without(fixtures::seller(), "/name"), "name"),
        (
            "/api/v1/sellers/x",
            without(fixtures::seller(), "/availability/timezone"),
            "availability.timezone",
        ),
        (
            "/api/v1/sellers/x",
            without(fixtures::seller(), "/availability/time_off/0/end"),
            "availability.time_off[0].end",
        ),
        ("/api/v1/teams/x", without(fixtures::team(&[]), "/name"), "name"),
        ("/api/v1/queues/x", without(fixtures::queue(), "/name"), "name"),
        (
            "/api/v1/sequences/x",
            without(fixtures::sequence(), "/steps/0/kind"),
            "steps[0].kind",
        ),
        (
            "/api/v1/segments/x",
            without(fixtures::segment("lead", 1, None), "/record_type"),
            "record_type",
        ),
        (
            "/api/v1/segments/x",
            without(fixtures::segment("lead", 1, None), "/priority"),
            "priority",
        ),
        (
            "/api/v1/segments/seg1/rules/x",
            without(fixtures::rule(), "/assign_to"),
            "assign_to",
        ),
        (
            "/api/v1/segments/seg1/rules/x",
            without(fixtures::rule(), "/assign_to/match"),
            "assign_to.match",
        ),
        (
            "/api/v1/segments/seg1/rules/x",
            without(fixtures::rule(), "/distribution/method"),
            "distribution.method",
        ),
        (
            "/api/v1/record-types/x",
            without(fixtures::record_type_schema(), "/attributes"),
            "attributes",
        ),
    ];
    for (path, body, field) in cases {
        let r = app.put(path, body);
        assert_invalid(&r, field, &format!("PUT {path} without {field}"));
    }
    let r = app.put("/api/v1/sellers/x", json!({}));
    assert_invalid(&r, "name", "an empty object");
}

#[test]
fn deeply_nested_json_is_refused_without_harm() {
    let app = TestApp::spawn();
    let deep = format!(
        "{{\"name\": \"Sam\", \"attributes\": {{\"x\": {}1{}}}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let r = app.raw("PUT", "/api/v1/sellers/s1", Some(ADMIN), deep.into_bytes());
    assert!(
        r.status == 400 || r.status == 422,
        "nesting beyond the parser's limit is refused: {}",
        r.text
    );
    assert_absent(&app, "/api/v1/sellers/s1", "nothing was stored");

    // Nesting the parser accepts is stored and still loads after a restart.
    let nested = format!(
        "{{\"name\": \"Sam\", \"attributes\": {{\"x\": {}1{}}}}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    let r = app.raw("PUT", "/api/v1/sellers/s1", Some(ADMIN), nested.into_bytes());
    assert_eq!(r.status, 201, "{}", r.text);
    let app = app.restart();
    let r = app.get("/api/v1/sellers/s1");
    assert_eq!(
        r.status, 200,
        "a stored seller with nested attributes loads again: {}",
        r.text
    );
}

#[test]
fn a_body_over_16_mib_is_payload_too_large() {
    let app = TestApp::spawn();
    // Valid JSON padded with whitespace: exactly at the limit it is accepted.
    let mut body = br#"{"name": "Sam"}"#.to_vec();
    body.resize(BODY_LIMIT, b' ');
    let r = app.raw("PUT", "/api/v1/sellers/s1", Some(ADMIN), body.clone());
    assert_eq!(r.status, 201, "a body of exactly 16 MiB is accepted: {}", r.text);

    body.push(b' ');
    let r = app.raw("PUT", "/api/v1/sellers/s2", Some(ADMIN), body);
    assert_error(&r, 413, "payload_too_large", "a body one byte over 16 MiB");
    assert_absent(&app, "/api/v1/sellers/s2", "nothing was stored");
    assert_eq!(app.get("/api/v1/me").status, 200, "the server is still up");
}

#[test]
fn unknown_routes_answer_404_json() {
    let app = TestApp::spawn();
    for (method, path, token) in [
        ("GET", "/api/v1/nope", Some(ADMIN)),
        ("GET", "/api/v1/nope", None),
        ("GET", "/nope", None),
        ("GET", "/api/v2/sellers", Some(ADMIN)),
        ("GET", "/api/v1/sellers/s1/nope", Some(ADMIN)),
    ] {
        let r = app.request(method, path, token, None);
        let what = format!("{method} {path}");
        assert_error(&r, 404, "not_found", &what);
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(method) && message.contains(path),
            "{what}: the message names the method and path: {message:?}"
        );
    }
}

#[test]
fn a_wrong_method_on_a_known_path_answers_405_with_allow() {
    let app = TestApp::spawn();
    for (method, path, token, allowed) in [
        ("POST", "/api/v1/sellers", Some(ADMIN), "GET"),
        ("PATCH", "/api/v1/sellers/s1", Some(ADMIN), "DELETE, GET, PUT"),
        ("DELETE", "/api/v1/records", None, "GET, POST"),
        ("GET", "/api/v1/records/lead-1/close", Some(ADMIN), "POST"),
        ("PUT", "/api/v1/segments/seg1/runs", Some(ADMIN), "GET, POST"),
        ("POST", "/openapi.json", None, "GET"),
        ("DELETE", "/healthz", None, "GET"),
    ] {
        let r = app.request(method, path, token, None);
        let what = format!("{method} {path}");
        assert_error(&r, 405, "method_not_allowed", &what);
        assert_eq!(
            r.allow.as_deref(),
            Some(allowed),
            "{what}: the Allow header lists the path's methods"
        );
        assert_eq!(r.body["error"]["details"]["method"], method, "{what}: {}", r.text);
        assert_eq!(r.body["error"]["details"]["path"], path, "{what}: {}", r.text);
        let listed: Vec<&str> = allowed.split(", ").collect();
        assert_eq!(
            r.body["error"]["details"]["allowed"],
            serde_json::json!(listed),
            "{what}: {}",
            r.text
        );
    }
    assert_eq!(app.get("/api/v1/sellers").status, 200, "the right method still answers");
}

#[test]
fn duplicate_keys_are_refused_in_a_single_record_as_in_a_batch() {
    let app = TestApp::spawn();
    for (body, field) in [
        (r#"{"id": "lead-1", "record_type": "lead", "id": "lead-2"}"#, "id"),
        (
            r#"{"id": "lead-1", "record_type": "lead", "name": "a", "name": "b"}"#,
            "name",
        ),
        (
            r#"{"records": [{"id": "lead-1", "record_type": "lead", "id": "lead-2"}]}"#,
            "records[0].id",
        ),
    ] {
        let r = app.raw(
            "POST",
            "/api/v1/records?wait=true",
            Some(ADMIN),
            body.as_bytes().to_vec(),
        );
        assert_invalid(&r, field, body);
    }
    assert_absent(&app, "/api/v1/records/lead-1", "nothing was stored");
    assert_absent(&app, "/api/v1/records/lead-2", "nothing was stored");
}

#[test]
fn a_wrong_length_array_is_validation_failed_naming_the_field() {
    let app = TestApp::spawn();
    for (hours, what) in [
        (json!([["09:00", "12:00", "17:00"]]), "three times for an interval"),
        (json!([["09:00"]]), "one time for an interval"),
        (json!([[]]), "no time for an interval"),
    ] {
        let body = with(crate::fixtures::seller(), "/availability/working_hours/mon", hours);
        let r = app.put("/api/v1/sellers/s1", body);
        assert_invalid(&r, "availability.working_hours.mon[0]", what);
        assert_absent(&app, "/api/v1/sellers/s1", what);
    }
    assert_eq!(app.get("/api/v1/me").status, 200, "the server is still up");
}
