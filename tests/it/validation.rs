//! Bad input of every class answers the contract's error, names the field, and stores
//! nothing.

use serde_json::{Value, json};

use crate::fixtures::{self, assert_absent, assert_error, assert_invalid};
use crate::helpers::{ADMIN, TestApp};

const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// `base` with `pointer` (a JSON pointer) set to `value`; the last step may be a new key.
fn with(mut base: Value, pointer: &str, value: Value) -> Value {
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
fn ids_in_bodies_and_paths_follow_the_id_alphabet() {
    let app = fixtures::seeded();
    let long = "x".repeat(129);
    for bad in ["bad%20id", "caf%C3%A9", long.as_str(), "a%2Fb", "semi%3Bcolon", "%FF"] {
        for path in [
            format!("/api/v1/sellers/{bad}"),
            format!("/api/v1/teams/{bad}"),
            format!("/api/v1/queues/{bad}"),
            format!("/api/v1/sequences/{bad}"),
            format!("/api/v1/segments/{bad}"),
            format!("/api/v1/segments/seg1/rules/{bad}"),
        ] {
            let body = if path.contains("/rules/") {
                fixtures::rule()
            } else if path.contains("/segments/") {
                fixtures::segment("lead", 1, None)
            } else if path.contains("/sequences/") {
                fixtures::sequence()
            } else {
                json!({"name": "n"})
            };
            assert_invalid(&app.put(&path, body), "id", &format!("PUT {path}"));
            assert_invalid(&app.get(&path), "id", &format!("GET {path}"));
            assert_invalid(&app.delete(&path), "id", &format!("DELETE {path}"));
        }
        let path = format!("/api/v1/segments/{bad}/rules/r1");
        assert_invalid(&app.put(&path, fixtures::rule()), "segment_id", &format!("PUT {path}"));
        assert_invalid(&app.get(&path), "segment_id", &format!("GET {path}"));
    }
    let max = "y".repeat(128);
    let r = app.put(&format!("/api/v1/sellers/{max}"), json!({"name": "n"}));
    assert_eq!(r.status, 201, "a 128-character id is allowed: {}", r.text);
    let r = app.put("/api/v1/sellers/A-z_0.9:x", json!({"name": "n"}));
    assert_eq!(
        r.status, 201,
        "every character of the id alphabet is allowed: {}",
        r.text
    );
    assert_eq!(r.body["id"], "A-z_0.9:x");

    for bad in ["Lead", "1lead", "le-ad"] {
        let path = format!("/api/v1/record-types/{bad}");
        assert_invalid(
            &app.put(&path, fixtures::record_type_schema()),
            "record_type",
            &format!("PUT {path}"),
        );
    }

    let cases = [
        ("/api/v1/teams/x", fixtures::team(&["s1", "bad id"]), "members[1]"),
        (
            "/api/v1/segments/x",
            fixtures::segment("lead", 1, Some("bad id")),
            "sequence_id",
        ),
        (
            "/api/v1/segments/seg1/rules/x",
            with(
                with(fixtures::rule(), "/assign_to/match", json!("ids")),
                "/assign_to/ids",
                json!(["s1", "é"]),
            ),
            "assign_to.ids[1]",
        ),
    ];
    for (path, body, field) in cases {
        assert_invalid(
            &app.put(path, body),
            field,
            &format!("PUT {path} with a bad id at {field}"),
        );
    }
}

#[test]
fn working_hours_and_time_off_are_checked() {
    let app = TestApp::spawn();
    let cases = [
        (
            "/availability/working_hours/mon/0/0",
            "9:00",
            "availability.working_hours.mon[0]",
        ),
        (
            "/availability/working_hours/mon/0/1",
            "25:00",
            "availability.working_hours.mon[0]",
        ),
        (
            "/availability/working_hours/mon/0/0",
            "24:00",
            "availability.working_hours.mon[0]",
        ),
        (
            "/availability/working_hours/mon/0/1",
            "17:60",
            "availability.working_hours.mon[0]",
        ),
        (
            "/availability/working_hours/mon/0/0",
            "nine",
            "availability.working_hours.mon[0]",
        ),
        (
            "/availability/working_hours/tue/1/0",
            "17:00",
            "availability.working_hours.tue[1]",
        ),
        (
            "/availability/working_hours/tue/1/1",
            "13:00",
            "availability.working_hours.tue[1]",
        ),
        (
            "/availability/time_off/0/end",
            "2026-12-24T00:00:00Z",
            "availability.time_off[0]",
        ),
        (
            "/availability/time_off/0/end",
            "2026-12-23T00:00:00Z",
            "availability.time_off[0]",
        ),
    ];
    for (pointer, value, field) in cases {
        let r = app.put("/api/v1/sellers/s1", with(fixtures::seller(), pointer, json!(value)));
        assert_invalid(&r, field, &format!("{pointer} = {value:?}"));
    }
    let r = app.put(
        "/api/v1/sellers/s1",
        with(
            fixtures::seller(),
            "/availability/working_hours/sun",
            json!([["00:00", "24:00"]]),
        ),
    );
    assert_eq!(r.status, 201, "24:00 ends a day: {}", r.text);
    let r = app.put(
        "/api/v1/sellers/s1",
        with(
            fixtures::seller(),
            "/availability/working_hours/funday",
            json!([["09:00", "10:00"]]),
        ),
    );
    assert_invalid(&r, "availability.working_hours.funday", "an unknown weekday");
}

#[test]
fn time_zones_are_iana_names() {
    let app = TestApp::spawn();
    for tz in ["Mars/Olympus_Mons", "", "GMT+25", "europe/london "] {
        let r = app.put(
            "/api/v1/sellers/s1",
            with(fixtures::seller(), "/availability/timezone", json!(tz)),
        );
        assert_invalid(&r, "availability.timezone", &format!("time zone {tz:?}"));
    }
    for tz in ["America/New_York", "UTC", "Asia/Kolkata"] {
        let r = app.put(
            "/api/v1/sellers/s1",
            with(fixtures::seller(), "/availability/timezone", json!(tz)),
        );
        assert!(
            r.status == 201 || r.status == 200,
            "time zone {tz} is accepted: {}",
            r.text
        );
    }
}

#[test]
fn ranges_are_checked() {
    let app = fixtures::seeded();
    let segment = |p: u32| fixtures::segment("lead", p, None);
    assert_invalid(
        &app.put("/api/v1/segments/x", segment(0)),
        "priority",
        "segment priority 0",
    );
    assert_invalid(
        &app.put(
            "/api/v1/segments/seg1/rules/x",
            with(fixtures::rule(), "/priority", json!(0)),
        ),
        "priority",
        "rule priority 0",
    );
    for hours in [0, 121] {
        let r = app.put(
            "/api/v1/segments/seg1/rules/x",
            with(fixtures::rule(), "/distribution/available_within_hours", json!(hours)),
        );
        assert_invalid(
            &r,
            "distribution.available_within_hours",
            &format!("available_within_hours {hours}"),
        );
    }
    assert_absent(&app, "/api/v1/segments/seg1/rules/x", "no rule was stored");
    for hours in [1, 120] {
        let r = app.put(
            "/api/v1/segments/seg1/rules/x",
            with(fixtures::rule(), "/distribution/available_within_hours", json!(hours)),
        );
        assert!(
            r.status == 201 || r.status == 200,
            "available_within_hours {hours}: {}",
            r.text
        );
    }
    for field in ["created_within_hours", "assignment_window_hours"] {
        let r = app.put(
            "/api/v1/segments/seg1/rules/x",
            with(fixtures::rule(), &format!("/{field}"), json!(0)),
        );
        assert_invalid(&r, field, &format!("{field} 0"));
    }
    let r = app.put("/api/v1/settings", json!({"max_records_per_run": 0}));
    assert_invalid(&r, "max_records_per_run", "max_records_per_run 0");
    let r = app.put("/api/v1/sellers/x", json!({"name": ""}));
    assert_invalid(&r, "name", "an empty name");
    let r = app.put("/api/v1/sellers/x", json!({"name": "x", "roles": ["seller", " "]}));
    assert_invalid(&r, "roles[1]", "a blank role");
    let r = app.put(
        "/api/v1/sequences/x",
        with(fixtures::sequence(), "/steps/1/wait_hours", Value::Null),
    );
    assert_invalid(&r, "steps[1].wait_hours", "a wait step without wait_hours");
    let r = app.put(
        "/api/v1/record-types/lead",
        with(
            fixtures::record_type_schema(),
            "/attributes/created_on",
            json!("string"),
        ),
    );
    assert_invalid(&r, "attributes.created_on", "an attribute shadowing a built-in field");
    let r = app.put(
        "/api/v1/segments/seg1/rules/x",
        with(fixtures::rule(), "/distribution/method", json!("single")),
    );
    assert_invalid(&r, "distribution.method", "a team method for sellers");
    let r = app.put(
        "/api/v1/segments/seg1/rules/x",
        with(fixtures::rule(), "/assign_to/condition", Value::Null),
    );
    assert_invalid(&r, "assign_to.condition", "match condition without a condition");
}

#[test]
fn references_to_missing_objects_are_refused() {
    let app = fixtures::seeded();
    let by_ids = |kind: &str, method: &str, ids: Value| {
        let rule = with(fixtures::rule(), "/assign_to/type", json!(kind));
        let rule = with(rule, "/assign_to/match", json!("ids"));
        let rule = with(rule, "/assign_to/condition", Value::Null);
        let rule = with(rule, "/assign_to/ids", ids);
        let rule = with(rule, "/distribution/method", json!(method));
        with(rule, "/distribution/use_capacity", json!(false))
    };
    let cases = [
        (by_ids("sellers", "round_robin", json!(["ghost"])), "assign_to.ids[0]"),
        (
            by_ids("sellers", "round_robin", json!(["s1", "ghost"])),
            "assign_to.ids[1]",
        ),
        (by_ids("team", "single", json!(["ghost"])), "assign_to.ids[0]"),
        (by_ids("team", "single", json!(["s1"])), "assign_to.ids[0]"),
        (by_ids("queue", "random", json!(["t1", "q1"])), "assign_to.ids[0]"),
    ];
    for (rule, field) in cases {
        let r = app.put("/api/v1/segments/seg1/rules/x", rule.clone());
        assert_invalid(&r, field, &format!("rule targeting {}", rule["assign_to"]));
    }
    for (rule, what) in [
        (by_ids("sellers", "round_robin", json!(["s1"])), "seller"),
        (by_ids("team", "single", json!(["t1"])), "team"),
        (by_ids("queue", "random", json!(["q1"])), "queue"),
    ] {
        let r = app.put("/api/v1/segments/seg1/rules/ok", rule);
        assert!(
            r.status == 201 || r.status == 200,
            "a rule targeting an existing {what}: {}",
            r.text
        );
    }

    let r = app.put("/api/v1/segments/ghost/rules/r1", fixtures::rule());
    assert_error(&r, 404, "not_found", "a rule under a missing segment");
    assert_error(
        &app.get("/api/v1/segments/ghost/rules/r1"),
        404,
        "not_found",
        "GET under a missing segment",
    );
    assert_error(
        &app.get("/api/v1/segments/ghost/rules"),
        404,
        "not_found",
        "listing under a missing segment",
    );

    let r = app.put("/api/v1/segments/x", fixtures::segment("lead", 1, Some("ghost")));
    assert_invalid(&r, "sequence_id", "a segment with a missing sequence");
    assert_absent(&app, "/api/v1/segments/x", "no segment was stored");

    let r = app.put("/api/v1/teams/x", fixtures::team(&["s1", "ghost"]));
    assert_invalid(&r, "members[1]", "a team with a missing member");
    assert_absent(&app, "/api/v1/teams/x", "no team was stored");
}

#[test]
fn list_limits_are_checked() {
    let app = fixtures::seeded();
    for list in [
        "/api/v1/sellers",
        "/api/v1/teams",
        "/api/v1/segments",
        "/api/v1/segments?record_type=lead",
    ] {
        let sep = if list.contains('?') { '&' } else { '?' };
        for limit in ["0", "1001", "5000", "-1", "abc", ""] {
            let path = format!("{list}{sep}limit={limit}");
            assert_invalid(&app.get(&path), "limit", &format!("GET {path}"));
        }
        for limit in ["1", "1000"] {
            let path = format!("{list}{sep}limit={limit}");
            assert_eq!(app.get(&path).status, 200, "GET {path}");
        }
    }
    let r = app.get("/api/v1/segments?record_type=Lead");
    assert_invalid(&r, "record_type", "a record type that is not an identifier");
    let r = app.get("/api/v1/segments?record_type=lead&after=nonsense");
    assert_invalid(&r, "after", "a cursor that is not one");
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
