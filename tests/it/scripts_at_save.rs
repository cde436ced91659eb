//! Scripts are compiled when a segment or rule is saved: a script that does not compile,
//! or that uses `eval` or `import`, is refused with `script_error` and its position, and
//! nothing is stored.

use serde_json::{Value, json};

use crate::fixtures::{self, assert_absent, assert_error};
use crate::helpers::{Resp, TestApp};

/// A `script_error` of `kind` in the script saved in `field`, with a line and a column.
#[track_caller]
fn assert_script_error(r: &Resp, field: &str, kind: &str, line: u64, what: &str) {
    assert_script_refused(r, field, line, what);
    let details = &r.body["error"]["details"];
    assert_eq!(details["kind"], kind, "{what}: details.kind: {}", r.text);
}

/// A `script_error` (of any kind) in the script saved in `field`, with a line and a column.
#[track_caller]
fn assert_script_refused(r: &Resp, field: &str, line: u64, what: &str) {
    assert_error(r, 422, "script_error", what);
    let details = &r.body["error"]["details"];
    assert!(details["kind"].is_string(), "{what}: details.kind: {}", r.text);
    assert_eq!(details["line"], line, "{what}: details.line: {}", r.text);
    assert!(
        details["column"].as_u64().is_some_and(|c| c >= 1),
        "{what}: details.column is a position: {}",
        r.text
    );
    assert_eq!(
        details["script"], field,
        "{what}: details.script names the field: {}",
        r.text
    );
}

fn segment_with(condition: &str) -> Value {
    let mut s = fixtures::segment("lead", 1, None);
    s["condition"] = json!(condition);
    s
}

#[test]
fn a_segment_condition_that_does_not_compile_is_refused() {
    let app = TestApp::spawn();
    for (condition, line) in [
        ("record.country ==", 1),
        ("let x = 1;\nrecord.country == (", 2),
        ("record.country = = \"UK\"", 1),
        ("country == \"UK\"", 1),
        ("record.revenue > 10 &&\n\n  }", 3),
    ] {
        let r = app.put("/api/v1/segments/s", segment_with(condition));
        assert_script_error(&r, "condition", "syntax", line, &format!("condition {condition:?}"));
    }
    assert_absent(&app, "/api/v1/segments/s", "no segment was stored");

    let r = app.put(
        "/api/v1/segments/s",
        segment_with("let c = record.country;\nc == \"UK\""),
    );
    assert_eq!(r.status, 201, "statements before the value are allowed: {}", r.text);
    let r = app.put("/api/v1/segments/s", segment_with("record.country = = 1"));
    assert_script_error(&r, "condition", "syntax", 1, "replacing with a broken condition");
    let stored = app.get("/api/v1/segments/s");
    assert_eq!(
        stored.body["condition"], "let c = record.country;\nc == \"UK\"",
        "a refused replacement keeps the old segment"
    );
}

const FORBIDDEN_SOURCES: [(&str, &str, u64); 3] = [
    ("eval(\"true\")", "eval", 1),
    ("let x = 1;\neval(\"record.country == 1\")", "eval", 2),
    ("import \"fs\" as fs;\ntrue", "import", 1),
];

/// Saves `source` as a segment condition, a rule condition and a seller condition;
/// answers each answer with the field it was saved in.
fn save_everywhere(app: &TestApp, source: &str) -> Vec<(Resp, &'static str)> {
    let segment = app.put("/api/v1/segments/s", segment_with(source));
    let mut rule = fixtures::rule();
    rule["condition"] = json!(source);
    let rule_condition = app.put("/api/v1/segments/seg1/rules/x", rule);
    let mut rule = fixtures::rule();
    rule["assign_to"]["condition"] = json!(source);
    let seller_condition = app.put("/api/v1/segments/seg1/rules/x", rule);
    vec![
        (segment, "condition"),
        (rule_condition, "condition"),
        (seller_condition, "assign_to.condition"),
    ]
}

/// Each of the [`FORBIDDEN_SOURCES`] saved everywhere ([`save_everywhere`]): the answer,
/// the field it was saved in, the forbidden keyword, its line, and what was saved.
fn save_forbidden_everywhere(app: &TestApp) -> Vec<(Resp, &'static str, &'static str, u64, String)> {
    let mut saves = Vec::new();
    for (source, keyword, line) in FORBIDDEN_SOURCES {
        for (r, field) in save_everywhere(app, source) {
            saves.push((r, field, keyword, line, format!("{field} {source:?}")));
        }
    }
    saves
}

#[test]
fn eval_and_import_are_refused_where_they_stand() {
    let app = fixtures::seeded();
    for (r, field, keyword, line, what) in save_forbidden_everywhere(&app) {
        assert_script_refused(&r, field, line, &what);
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(keyword),
            "{what}: the message names {keyword}: {message}"
        );
    }
    assert_absent(&app, "/api/v1/segments/s", "no segment was stored");
    assert_absent(&app, "/api/v1/segments/seg1/rules/x", "no rule was stored");
    let r = app.put(
        "/api/v1/segments/seg1/rules/x",
        scripted_rule("fn distribute(record, candidates) { eval(\"()\") }"),
    );
    assert_script_refused(&r, "distribution.script", 1, "eval inside distribute");
}

#[test]
fn eval_and_import_are_of_kind_forbidden() {
    let app = fixtures::seeded();
    for (r, field, _, line, what) in save_forbidden_everywhere(&app) {
        assert_script_error(&r, field, "forbidden", line, &what);
    }
}

#[test]
fn rule_scripts_that_do_not_compile_are_refused() {
    let app = fixtures::seeded();
    let mut rule = fixtures::rule();
    rule["condition"] = json!("record.revenue >");
    let r = app.put("/api/v1/segments/seg1/rules/x", rule);
    assert_script_error(&r, "condition", "syntax", 1, "a broken rule condition");

    let mut rule = fixtures::rule();
    rule["assign_to"]["condition"] = json!("seller.attributes.country ==\n== record.country");
    let r = app.put("/api/v1/segments/seg1/rules/x", rule);
    assert_script_error(&r, "assign_to.condition", "syntax", 2, "a broken seller condition");

    let mut rule = fixtures::rule();
    rule["assign_to"]["condition"] = json!("team.name == \"x\"");
    let r = app.put("/api/v1/segments/seg1/rules/x", rule);
    assert_script_error(
        &r,
        "assign_to.condition",
        "syntax",
        1,
        "a seller condition reading `team`",
    );
    assert_absent(&app, "/api/v1/segments/seg1/rules/x", "no rule was stored");
}

fn scripted_rule(script: &str) -> Value {
    let mut rule = fixtures::rule();
    rule["distribution"] =
        json!({"method": "script", "available_within_hours": null, "use_capacity": false, "script": script});
    rule
}

#[test]
fn a_distribution_script_must_define_distribute_of_two_parameters() {
    let app = fixtures::seeded();
    for script in [
        "fn pick(record, candidates) { () }",
        "fn distribute(candidates) { () }",
        "fn distribute(record, candidates, extra) { () }",
        "let distribute = 1; distribute",
    ] {
        let r = app.put("/api/v1/segments/seg1/rules/x", scripted_rule(script));
        assert_error(&r, 422, "script_error", &format!("distribution {script:?}"));
        let details = &r.body["error"]["details"];
        assert_eq!(details["script"], "distribution.script", "{script:?}: {}", r.text);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("distribute"),
            "{script:?}: the message says what is missing: {}",
            r.text
        );
    }
    let r = app.put(
        "/api/v1/segments/seg1/rules/x",
        scripted_rule("fn distribute(record, candidates) {\n  let = candidates;\n}"),
    );
    assert_script_error(
        &r,
        "distribution.script",
        "syntax",
        2,
        "a distribution that does not compile",
    );
    let r = app.put(
        "/api/v1/segments/seg1/rules/x",
        scripted_rule(
            "fn distribute(record, candidates) {\n  if candidates.is_empty() { return (); }\n  candidates[0].id\n}",
        ),
    );
    assert_eq!(r.status, 201, "a well-formed distribution script is saved: {}", r.text);
    let r = app.put("/api/v1/segments/seg1/rules/y", scripted_rule(""));
    fixtures::assert_invalid(&r, "distribution.script", "method script without a script");
}

#[test]
fn reading_an_undeclared_attribute_of_a_declared_type_is_refused() {
    let app = TestApp::spawn();
    let r = app.put(
        "/api/v1/record-types/lead",
        json!({"attributes": {"country": "string"}, "strict": false}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.put("/api/v1/segments/s", segment_with("record.contry == \"UK\""));
    assert_error(&r, 422, "script_error", "reading an undeclared attribute");
    assert_eq!(r.body["error"]["details"]["kind"], "schema", "{}", r.text);
}

#[test]
fn eval_and_import_reached_by_a_name_are_refused_where_they_stand() {
    let app = fixtures::seeded();
    for (source, line) in [
        ("Fn(\"eval\").call(\"true\")", 1),
        ("let f = Fn(\"eval\");\ncall(f, \"true\")", 1),
        ("let x = 1;\ncurry(Fn(\"eval\"), \"true\").call()", 2),
        ("let x = 1;\n\nFn(\"import\") == ()", 3),
        ("let name = \"ev\" + \"al\";\nFn(name).call(\"true\")", 2),
        ("let f = Fn(\"ev\" + \"al\");\nf.call(\"true\")", 1),
    ] {
        for (r, field) in save_everywhere(&app, source) {
            let what = format!("{field} {source:?}");
            assert_script_error(&r, field, "forbidden", line, &what);
        }
        let check = app.post(
            "/api/v1/scripts/check",
            json!({"kind": "condition", "source": source, "record": {}}),
        );
        assert_error(&check, 422, "script_error", &format!("check {source:?}"));
        assert_eq!(
            check.body["error"]["details"]["kind"], "forbidden",
            "check {source:?}: {}",
            check.text
        );
    }
    let r = app.put(
        "/api/v1/segments/seg1/rules/x",
        scripted_rule("fn distribute(record, candidates) {\n  Fn(\"eval\").call(\"()\")\n}"),
    );
    assert_script_error(
        &r,
        "distribution.script",
        "forbidden",
        2,
        "Fn(\"eval\") inside distribute",
    );
    assert_absent(&app, "/api/v1/segments/s", "no segment was stored");
    assert_absent(&app, "/api/v1/segments/seg1/rules/x", "no rule was stored");
    // A function reached by a literal name that is not eval stays allowed.
    let r = app.put(
        "/api/v1/segments/s",
        segment_with("fn uk(r) { r.country == \"UK\" }\nFn(\"uk\").call(record)"),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}
