//! Bad values in well-formed requests: ids in bodies and paths, working hours and time
//! off, time zones, ranges, references to missing objects, list limits. Each answers the
//! contract's error, names the field, and stores nothing.

use serde_json::{Value, json};

use crate::fixtures::{self, assert_absent, assert_error, assert_invalid};
use crate::helpers::TestApp;

use super::with;

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

/// Values schemathesis found accepted past the document's bounds (issue #10), and what
/// JSON Schema's `integer` allows that the server refused.
#[test]
fn values_past_the_documents_bounds_are_refused_and_integral_numbers_taken() {
    let app = TestApp::spawn();
    for hours in [0, 8761, 4_000_000_000u64] {
        let r = app.put(
            "/api/v1/sequences/x",
            with(fixtures::sequence(), "/steps/1/wait_hours", json!(hours)),
        );
        assert_invalid(&r, "steps[1].wait_hours", &format!("wait_hours {hours}"));
    }
    let r = app.put(
        "/api/v1/sequences/x",
        with(fixtures::sequence(), "/steps/1/wait_hours", json!(8760)),
    );
    assert!(r.status < 300, "a year's wait is taken: {}", r.text);
    // A capacity past a billion made available_capacity overflow to a negative number.
    let r = app.put(
        "/api/v1/sellers/x",
        with(fixtures::seller(), "/capacity", json!(9_223_372_036_854_775_808u64)),
    );
    assert_invalid(&r, "capacity", "a capacity past i64");
    let r = app.put(
        "/api/v1/sellers/x",
        with(fixtures::seller(), "/capacity", json!(1_000_000_001u64)),
    );
    assert_invalid(&r, "capacity", "a capacity past a billion");
    // A name is counted in characters, as the document's maxLength counts.
    let r = app.put(
        "/api/v1/sellers/x",
        with(fixtures::seller(), "/name", json!("é".repeat(256))),
    );
    assert_eq!(r.status, 201, "256 two-byte characters are a name: {}", r.text);
    // 500.0 is an integer in JSON Schema; 500.5 is not.
    let r = app.put("/api/v1/settings", json!({"max_records_per_run": 500.0}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["max_records_per_run"], 500);
    let r = app.put("/api/v1/settings", json!({"max_records_per_run": 500.5}));
    assert_invalid(&r, "max_records_per_run", "500.5 records");
    // History filters that no entry could match are typos.
    for (query, field) in [
        ("record_type=", "record_type"),
        ("record_type=Lead", "record_type"),
        ("record_id=%C2%B9", "record_id"),
        ("seller_id=a%20b", "seller_id"),
    ] {
        let r = app.get(&format!("/api/v1/assignments?{query}"));
        assert_invalid(&r, field, query);
    }
}
