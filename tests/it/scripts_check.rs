//! `POST /api/v1/scripts/check`: compile, schema-check and run a script on samples.

use serde_json::{Value, json};

use crate::helpers::{ADMIN, Resp, TestApp};

const CHECK: &str = "/api/v1/scripts/check";

/// A 422 `script_error` of `kind`; answers its details.
#[track_caller]
fn assert_script_error<'a>(r: &'a Resp, kind: &str) -> &'a Value {
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.code(), "script_error", "{}", r.text);
    let details = &r.body["error"]["details"];
    assert_eq!(details["kind"], kind, "{}", r.text);
    details
}

#[test]
fn a_condition_runs_on_a_sample_record_and_reports_its_reads() {
    let app = TestApp::spawn();
    let body = json!({
        "kind": "condition",
        "source": "record.country == \"UK\" && record[\"source\"] == \"trade show\"",
        "record": {"id": "lead-1", "record_type": "lead", "name": "Ann Lee", "topic": "Trade show",
                   "created_on": "2026-11-23T08:00:00Z",
                   "attributes": {"country": "UK", "source": "trade show", "revenue": 25000}}
    });
    let r = app.post(CHECK, body.clone());
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["ok"], true);
    assert_eq!(r.body["result"], true);
    assert_eq!(r.body["reads"]["record_fields"], json!(["country", "source"]));
    assert_eq!(r.body["reads"]["dynamic"], false);

    let mut other = body;
    other["record"]["attributes"]["country"] = json!("FR");
    let r = app.post(CHECK, other);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["result"], false);
}

#[test]
fn without_samples_the_script_is_only_compiled() {
    let app = TestApp::spawn();
    let r = app.post(CHECK, json!({"kind": "condition", "source": "let r = record; r.vip"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["result"], json!(null));
    assert_eq!(r.body["reads"]["dynamic"], true);
}

#[test]
fn a_seller_condition_runs_on_a_record_and_a_seller() {
    let app = TestApp::spawn();
    let body = |language: &str| {
        json!({
            "kind": "seller_condition",
            "source": "record.language in (seller.attributes.language ?? []) && seller.available_capacity > 0",
            "record": {"attributes": {"language": language}},
            "seller": {"id": "s1", "name": "Sam", "capacity": 20, "open_records": 19,
                       "attributes": {"language": ["en", "fr"], "country": "UK"}}
        })
    };
    let r = app.post(CHECK, body("fr"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["result"], true);
    assert_eq!(
        r.body["reads"]["seller_fields"],
        json!(["attributes", "available_capacity"])
    );
    assert_eq!(r.body["reads"]["reads_counters"], true);
    let r = app.post(CHECK, body("de"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["result"], false);
}

#[test]
fn a_distribution_picks_among_the_candidates() {
    let app = TestApp::spawn();
    let r = app.post(
        CHECK,
        json!({
            "kind": "distribution",
            "source": "fn distribute(record, candidates) { min_by_key(candidates, \"open_records\")?.id }",
            "record": {"attributes": {"country": "UK"}},
            "candidates": [
                {"id": "s1", "name": "Sam", "open_records": 4, "available_capacity": 16,
                 "last_assigned_at": "2026-11-22T10:00:00Z", "available_now": true, "attributes": {}},
                {"id": "s2", "name": "Kim", "open_records": 1, "available_capacity": null,
                 "last_assigned_at": null, "available_now": false, "attributes": {}}
            ]
        }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["result"], "s2");

    let r = app.post(
        CHECK,
        json!({"kind": "distribution", "source": "fn distribute(record, candidates) { () }",
               "record": {}, "candidates": [{"id": "s1"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["result"], json!(null), "() means nobody");
}

#[test]
fn a_distribution_answering_a_stranger_is_a_script_error() {
    let app = TestApp::spawn();
    let r = app.post(
        CHECK,
        json!({"kind": "distribution", "source": "fn distribute(record, candidates) { \"s9\" }",
               "record": {}, "candidates": [{"id": "s1"}]}),
    );
    assert_script_error(&r, "runtime");
}

#[test]
fn a_compile_error_has_its_position() {
    let app = TestApp::spawn();
    let r = app.post(
        CHECK,
        json!({"kind": "condition", "source": "record.country == \"UK\" &&\n  (record.revenue > )"}),
    );
    let details = assert_script_error(&r, "syntax");
    assert_eq!(details["line"], 2);
    assert!(details["column"].as_u64().is_some_and(|c| c > 1), "{details}");
    assert_eq!(details["script"], "source");

    let r = app.post(CHECK, json!({"kind": "condition", "source": "eval(\"true\")"}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["kind"], "forbidden");
}

#[test]
fn a_script_that_never_ends_is_stopped_with_a_limit_error() {
    let app = TestApp::spawn();
    let r = app.post(
        CHECK,
        json!({"kind": "condition", "source": "let n = 0;\nloop { n += 1; }\ntrue", "record": {"attributes": {}}}),
    );
    assert_script_error(&r, "limit");
    assert!(r.body["error"]["details"]["line"].is_u64(), "{}", r.text);
    // The server goes on.
    assert_eq!(app.get("/healthz").status, 200);
}

#[test]
fn a_script_reading_an_undeclared_attribute_is_a_schema_error() {
    let app = TestApp::spawn();
    let r = app.put(
        "/api/v1/record-types/lead",
        json!({"attributes": {"country": "string", "revenue": "number", "source": "string"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);

    let r = app.post(
        CHECK,
        json!({"kind": "condition", "record_type": "lead", "source": "record.country == \"UK\" ||\nrecord.contry == \"UK\""}),
    );
    let details = assert_script_error(&r, "schema");
    assert_eq!(
        (details["line"].as_u64(), details["column"].as_u64()),
        (Some(2), Some(8))
    );
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("record.contry is not an attribute of lead; declared: country, revenue, source"),
        "{message}"
    );

    // The sample record's type selects the schema too; a wrong-typed literal is refused.
    let r = app.post(
        CHECK,
        json!({"kind": "condition", "source": "record.revenue == \"big\"",
               "record": {"record_type": "lead", "attributes": {"revenue": 5}}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["kind"], "schema");

    // Another type has no schema: nothing to check against.
    let r = app.post(
        CHECK,
        json!({"kind": "condition", "record_type": "ticket", "source": "record.contry == \"UK\""}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn samples_are_validated_like_the_objects_they_stand_for() {
    let app = TestApp::spawn();
    let r = app.post(
        CHECK,
        json!({"kind": "seller_condition", "source": "true", "record": {"attributes": {}}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["field"], "seller");

    let r = app.post(
        CHECK,
        json!({"kind": "seller_condition", "source": "true", "record": {},
               "seller": {"id": "s1", "name": "Sam", "capacity": "many"}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["field"], "seller.capacity");

    let r = app.post(CHECK, json!({"kind": "condition", "source": "true", "samples": {}}));
    assert_eq!(r.status, 422, "unknown fields are refused: {}", r.text);

    let r = app.put(
        "/api/v1/record-types/lead",
        json!({"attributes": {"revenue": "number"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.post(
        CHECK,
        json!({"kind": "condition", "source": "true",
               "record": {"record_type": "lead", "attributes": {"revenue": "lots"}}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["field"], "record.attributes.revenue");
}

#[test]
fn only_roles_that_configure_may_run_scripts() {
    let app = TestApp::spawn();
    let body = json!({"kind": "condition", "source": "true", "record": {}});
    for (role, status) in [
        ("reader", 403),
        ("integration", 403),
        ("sequence_manager", 200),
        ("sales_manager", 200),
    ] {
        let token = app.token(role);
        let r = app.request("POST", CHECK, Some(&token), Some(&body));
        assert_eq!(r.status, status, "{role}: {}", r.text);
    }
    let r = app.request("POST", CHECK, None, Some(&body));
    assert_eq!(r.status, 401);
    let r = app.request("POST", CHECK, Some(ADMIN), Some(&body));
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn the_route_is_in_the_openapi_document() {
    let app = TestApp::spawn();
    let r = app.request("GET", "/openapi.json", None, None);
    assert_eq!(r.status, 200);
    assert!(
        r.body["paths"]["/api/v1/scripts/check"]["post"].is_object(),
        "{}",
        r.text
    );
}

#[test]
fn saving_a_segment_or_rule_checks_its_scripts_against_the_schema() {
    let app = TestApp::spawn();
    let r = app.put(
        "/api/v1/record-types/lead",
        json!({"attributes": {"country": "string", "revenue": "number"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let segment = |condition: &str| json!({"name": "UK", "record_type": "lead", "priority": 1, "condition": condition});
    let r = app.put("/api/v1/segments/uk", segment("record.contry == \"UK\""));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["kind"], "schema");
    assert_eq!(r.body["error"]["details"]["script"], "condition");
    let r = app.put("/api/v1/segments/uk", segment("record.revenue > \"10k\""));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["kind"], "schema");
    let r = app.put("/api/v1/segments/uk", segment("record.country == \"UK\""));
    assert_eq!(r.status, 201, "{}", r.text);

    let r = app.put(
        "/api/v1/segments/uk/rules/rr",
        json!({"name": "rr", "priority": 1,
               "assign_to": {"type": "sellers", "match": "condition",
                             "condition": "seller.attributes.language == record.language"},
               "distribution": {"method": "round_robin"}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["script"], "assign_to.condition");
    assert_eq!(r.body["error"]["details"]["kind"], "schema");
}

/// Issue #10: `covers` compared every element with every element inside one rhai
/// operation (1.9 s), past the deadline. Linear and charged, it answers within the
/// limits; called often enough, it stops with the `limit` a rhai loop gets.
#[test]
fn covers_over_the_largest_arrays_stays_within_the_limits() {
    let app = TestApp::spawn();
    let check = |source: &str| {
        app.post(
            CHECK,
            json!({"kind": "condition", "record": {"attributes": {}}, "source": source}),
        )
    };
    let arrays = "let h = []; h.pad(9999, 0); h.push(1); let n = []; n.pad(10000, 1); ";
    let r = check(&format!("{arrays}covers(h, n)"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["result"], true, "{}", r.text);
    let r = check(&format!(
        "{arrays}let all = true; for i in 0..100 {{ all = all && covers(h, n); }} all"
    ));
    let details = assert_script_error(&r, "limit");
    assert_eq!(details["line"], 1, "{}", r.text);
}
