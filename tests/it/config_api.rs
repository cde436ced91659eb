//! Configuration API: upserts, reads, lists, deletes, validation.

use serde_json::{Value, json};

use crate::fixtures::{self, assert_echoes, assert_error};
use crate::helpers::TestApp;

#[test]
fn seller_upsert_is_201_then_200_and_delete_then_404() {
    let app = TestApp::spawn();
    let body = json!({"name": "Sam", "capacity": 20, "roles": ["seller"]});
    let r = app.put("/api/v1/sellers/s1", body.clone());
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["id"], "s1");
    assert_eq!(r.body["available_capacity"], 20);
    let r = app.put("/api/v1/sellers/s1", body);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.delete("/api/v1/sellers/s1").status, 204);
    let r = app.get("/api/v1/sellers/s1");
    assert_eq!(r.status, 404);
    assert_eq!(r.code(), "not_found");
}

#[test]
fn config_survives_a_restart() {
    let app = TestApp::spawn();
    assert_eq!(app.put("/api/v1/sellers/s1", json!({"name": "Sam"})).status, 201);
    let app = app.restart();
    let r = app.get("/api/v1/sellers/s1");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "Sam");
}

/// PUT creates (201) and echoes, the same PUT replaces (200), GET answers it, the list
/// shows it, DELETE removes it (204), then GET and DELETE are 404.
fn crud_round_trip(app: &TestApp, collection: &str, id: &str, body: Value, changed: Value) -> Value {
    let path = format!("{collection}/{id}");
    let r = app.put(&path, body.clone());
    assert_eq!(r.status, 201, "PUT {path} creates: {}", r.text);
    assert_eq!(r.body["id"], id, "PUT {path} answers the id");
    assert_echoes(&body, &r.body, &format!("PUT {path}"));
    let r = app.put(&path, body.clone());
    assert_eq!(r.status, 200, "the same PUT {path} replaces: {}", r.text);
    assert_echoes(&body, &r.body, &format!("PUT {path} again"));

    let r = app.put(&path, changed.clone());
    assert_eq!(r.status, 200, "a changed PUT {path} replaces: {}", r.text);
    let got = app.get(&path);
    assert_eq!(got.status, 200, "GET {path}: {}", got.text);
    assert_eq!(got.body["id"], id);
    assert_echoes(&changed, &got.body, &format!("GET {path} after the change"));
    let r = app.put(&path, body.clone());
    assert_eq!(r.status, 200, "{}", r.text);
    let got = app.get(&path);
    assert_echoes(&body, &got.body, &format!("GET {path}"));

    let list = app.get(collection);
    assert_eq!(list.status, 200, "GET {collection}: {}", list.text);
    let listed = list.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["id"] == id))
        .unwrap_or_else(|| panic!("GET {collection} lists {id}: {}", list.text));
    assert_eq!(listed, &got.body, "the list shows what GET shows");

    let r = app.delete(&path);
    assert_eq!(r.status, 204, "DELETE {path}: {}", r.text);
    assert!(r.text.is_empty(), "204 has no body: {}", r.text);
    assert_error(&app.get(&path), 404, "not_found", &format!("GET {path} after DELETE"));
    assert_error(&app.delete(&path), 404, "not_found", &format!("DELETE {path} again"));
    let list = app.get(collection);
    assert!(
        !list.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["id"] == id),
        "GET {collection} no longer lists {id}"
    );
    got.body
}

#[test]
fn sellers_round_trip_with_derived_fields() {
    let app = TestApp::spawn();
    let mut changed = fixtures::seller();
    changed["capacity"] = json!(null);
    changed["availability"] = json!(null);
    changed["assign_records"] = json!(false);
    let got = crud_round_trip(&app, "/api/v1/sellers", "s1", fixtures::seller(), changed);
    assert_eq!(got["open_records"], 0, "a new seller owns no records");
    assert_eq!(got["available_capacity"], 20, "capacity minus open records");
    assert_eq!(got["last_assigned_at"], Value::Null, "never assigned");

    let r = app.put("/api/v1/sellers/s2", json!({"name": "Min"}));
    assert_eq!(r.status, 201, "{}", r.text);
    let got = app.get("/api/v1/sellers/s2").body;
    for (field, default) in [
        ("email", Value::Null),
        ("roles", json!([])),
        ("record_access", Value::Null),
        ("attributes", json!({})),
        ("assign_records", json!(true)),
        ("capacity", Value::Null),
        ("availability", Value::Null),
        ("available_capacity", Value::Null),
        ("open_records", json!(0)),
    ] {
        assert_eq!(got[field], default, "a seller's {field} defaults to {default}: {got}");
    }
}

#[test]
fn teams_queues_and_sequences_round_trip() {
    let app = TestApp::spawn();
    for id in ["s1", "s2"] {
        assert_eq!(
            app.put(&format!("/api/v1/sellers/{id}"), fixtures::seller()).status,
            201
        );
    }
    crud_round_trip(
        &app,
        "/api/v1/teams",
        "t1",
        fixtures::team(&["s1", "s2"]),
        fixtures::team(&["s2"]),
    );
    let mut changed = fixtures::queue();
    changed["name"] = json!("Overflow 2");
    crud_round_trip(&app, "/api/v1/queues", "q1", fixtures::queue(), changed);
    let mut changed = fixtures::sequence();
    changed["active"] = json!(false);
    changed["steps"] = json!([]);
    crud_round_trip(&app, "/api/v1/sequences", "seq1", fixtures::sequence(), changed);
}

#[test]
fn segments_round_trip_with_derived_fields() {
    let app = TestApp::spawn();
    assert_eq!(app.put("/api/v1/sequences/seq1", fixtures::sequence()).status, 201);
    let mut changed = fixtures::segment("lead", 3, None);
    changed["condition"] = json!(null);
    changed["active"] = json!(false);
    changed["accept_previously_segmented"] = json!(true);
    changed["run_rules_on_move"] = json!(true);
    let got = crud_round_trip(
        &app,
        "/api/v1/segments",
        "seg1",
        fixtures::segment("lead", 1, Some("seq1")),
        changed,
    );
    assert_eq!(got["unassigned_count"], 0, "a new segment has no unassigned records");
    assert_eq!(got["schedule"], Value::Null, "and no schedule");
}

#[test]
fn rules_round_trip() {
    let app = fixtures::seeded();
    let mut changed = fixtures::rule();
    changed["assign_to"] = json!({"type": "queue", "match": "ids", "condition": null, "ids": ["q1"]});
    changed["distribution"] =
        json!({"method": "single", "available_within_hours": null, "use_capacity": false, "script": null});
    crud_round_trip(&app, "/api/v1/segments/seg1/rules", "r2", fixtures::rule(), changed);
}

#[test]
fn record_type_schemas_round_trip() {
    let app = TestApp::spawn();
    let path = "/api/v1/record-types/opportunity";
    let body = fixtures::record_type_schema();
    let r = app.put(path, body.clone());
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["id"], "opportunity");
    assert_echoes(&body, &r.body, "PUT schema");
    let r = app.put(path, body.clone());
    assert_eq!(r.status, 200, "{}", r.text);
    let strict = json!({"attributes": {"amount": "number"}, "strict": true});
    assert_eq!(app.put(path, strict.clone()).status, 200);
    let got = app.get(path);
    assert_eq!(got.status, 200, "{}", got.text);
    assert_echoes(&strict, &got.body, "GET schema");
    assert_eq!(app.delete(path).status, 204);
    assert_error(&app.get(path), 404, "not_found", "GET schema after DELETE");
    assert_error(&app.delete(path), 404, "not_found", "DELETE schema again");
}

#[test]
fn deleting_a_segment_deletes_its_rules() {
    let app = fixtures::seeded();
    assert_eq!(app.put("/api/v1/segments/seg1/rules/r2", fixtures::rule()).status, 201);
    // A segment whose id starts like seg1's keeps its rules.
    assert_eq!(
        app.put("/api/v1/segments/seg10", fixtures::segment("lead", 2, None))
            .status,
        201
    );
    assert_eq!(app.put("/api/v1/segments/seg10/rules/r1", fixtures::rule()).status, 201);

    assert_eq!(app.delete("/api/v1/segments/seg1").status, 204);
    for rule in ["r1", "r2"] {
        let path = format!("/api/v1/segments/seg1/rules/{rule}");
        assert_error(
            &app.get(&path),
            404,
            "not_found",
            &format!("GET {path} after its segment was deleted"),
        );
        assert_error(&app.delete(&path), 404, "not_found", &format!("DELETE {path}"));
    }
    assert_eq!(
        app.put("/api/v1/segments/seg1", fixtures::segment("lead", 1, None))
            .status,
        201
    );
    let rules = app.get("/api/v1/segments/seg1/rules");
    assert_eq!(rules.status, 200, "{}", rules.text);
    assert_eq!(
        rules.body["items"],
        json!([]),
        "a re-created segment has none of the old rules"
    );
    assert_error(
        &app.get("/api/v1/segments/seg1/rules/r1"),
        404,
        "not_found",
        "an old rule",
    );

    let app = app.restart();
    let rules = app.get("/api/v1/segments/seg1/rules");
    assert_eq!(
        rules.body["items"],
        json!([]),
        "the old rules are gone from the store too"
    );
    let other = app.get("/api/v1/segments/seg10/rules/r1");
    assert_eq!(other.status, 200, "another segment's rules are kept: {}", other.text);
}

#[test]
fn settings_have_defaults_and_are_replaced() {
    let app = TestApp::spawn();
    let r = app.get("/api/v1/settings");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"max_records_per_run": 500, "eligible_roles": null, "round_robin_scope": "organization",
               "event_retention_days": 7}),
        "the default settings"
    );
    let new = json!({"max_records_per_run": 250, "eligible_roles": ["seller", "senior"], "round_robin_scope": "rule",
                     "event_retention_days": 14});
    let r = app.put("/api/v1/settings", new.clone());
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, new, "PUT answers the settings");
    assert_eq!(app.get("/api/v1/settings").body, new, "GET answers what was put");
    let r = app.put("/api/v1/settings", json!({"round_robin_scope": "rule"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        app.get("/api/v1/settings").body,
        json!({"max_records_per_run": 500, "eligible_roles": null, "round_robin_scope": "rule",
               "event_retention_days": 7}),
        "PUT replaces: fields left out take their defaults"
    );
}

/// Creates segment `id` of `record_type` and `priority` from [`fixtures::segment`].
fn put_segment(app: &TestApp, id: &str, record_type: &str, priority: u32) {
    let r = app.put(
        &format!("/api/v1/segments/{id}"),
        fixtures::segment(record_type, priority, None),
    );
    assert_eq!(r.status, 201, "PUT segment {id}: {}", r.text);
}

#[test]
fn segments_of_a_record_type_list_in_priority_order() {
    let app = TestApp::spawn();
    for (id, rt, priority) in [
        ("m", "lead", 2),
        ("b", "lead", 1),
        ("z", "lead", 1),
        ("a", "lead", 3),
        ("c", "opportunity", 1),
        ("a1", "lead", 10),
        ("y", "lead", 2),
    ] {
        put_segment(&app, id, rt, priority);
    }
    let r = app.get("/api/v1/segments?record_type=lead");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.item_ids(), ["b", "z", "m", "y", "a", "a1"], "by priority, ties by id");
    assert_eq!(r.body["next"], Value::Null);
    let r = app.get("/api/v1/segments?record_type=opportunity");
    assert_eq!(r.item_ids(), ["c"]);
    let r = app.get("/api/v1/segments?record_type=contact");
    assert_eq!(r.item_ids(), Vec::<String>::new(), "a type without segments");
    let all = app.get("/api/v1/segments");
    assert_eq!(
        all.item_ids(),
        ["a", "a1", "b", "c", "m", "y", "z"],
        "without a type: every segment by id"
    );

    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            None => "/api/v1/segments?record_type=lead&limit=4".to_string(),
            Some(a) => format!("/api/v1/segments?record_type=lead&limit=4&after={a}"),
        };
        let page = app.get(&path);
        assert_eq!(page.status, 200, "{}", page.text);
        walked.extend(page.item_ids());
        match page.body["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(walked, ["b", "z", "m", "y", "a", "a1"], "pages of the priority order");
}

/// Walks a list with `?limit=` pages until `next` is null; answers the ids in order.
fn walk(app: &TestApp, collection: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    for page_no in 0.. {
        assert!(page_no < 10_000, "GET {collection} never ends");
        let path = match &after {
            None => format!("{collection}?limit={limit}"),
            Some(a) => format!("{collection}?limit={limit}&after={a}"),
        };
        let page = app.get(&path);
        assert_eq!(page.status, 200, "GET {path}: {}", page.text);
        let items = page.body["items"].as_array().expect("items");
        assert!(items.len() <= limit, "GET {path} answers at most {limit} items");
        ids.extend(items.iter().map(|i| i["id"].as_str().expect("id").to_string()));
        match page.body["next"].as_str() {
            Some(n) => {
                assert_eq!(items.len(), limit, "GET {path}: only the last page is short");
                after = Some(n.to_string());
            }
            None => break,
        }
    }
    ids
}

#[test]
fn cursor_paging_visits_every_object_once_in_order() {
    let app = TestApp::spawn();
    let mut sellers: Vec<String> = (0..250).map(|i| format!("s{i:03}")).collect();
    // Created out of order: the list order is the id order, not the creation order.
    for id in sellers.iter().rev() {
        let r = app.put(&format!("/api/v1/sellers/{id}"), json!({"name": id}));
        assert_eq!(r.status, 201, "{}", r.text);
    }
    sellers.sort();
    assert_eq!(walk(&app, "/api/v1/sellers", 100), sellers, "sellers in pages of 100");
    assert_eq!(walk(&app, "/api/v1/sellers", 250), sellers, "one full page");
    assert_eq!(walk(&app, "/api/v1/sellers", 7), sellers, "pages of 7");
    let first = app.get("/api/v1/sellers");
    assert_eq!(
        first.body["items"].as_array().map(Vec::len),
        Some(100),
        "the default limit is 100"
    );
    assert!(first.body["next"].is_string(), "and there is a next page");

    let queues: Vec<String> = (0..130).map(|i| format!("q-{i}")).collect();
    for id in &queues {
        assert_eq!(
            app.put(&format!("/api/v1/queues/{id}"), json!({"name": id})).status,
            201
        );
    }
    let mut sorted = queues.clone();
    sorted.sort();
    assert_eq!(walk(&app, "/api/v1/queues", 50), sorted, "queues in pages of 50");

    for id in ["seq-a", "seq-b", "seq-c"] {
        assert_eq!(
            app.put(&format!("/api/v1/sequences/{id}"), fixtures::sequence()).status,
            201
        );
    }
    assert_eq!(walk(&app, "/api/v1/sequences", 2), ["seq-a", "seq-b", "seq-c"]);
    assert_eq!(
        walk(&app, "/api/v1/teams", 10),
        Vec::<String>::new(),
        "an empty list is one empty page"
    );
}

#[test]
fn paging_segments_in_priority_order_survives_changes_between_pages() {
    let app = TestApp::spawn();
    for (id, priority) in [("b", 1), ("z", 1), ("m", 2), ("y", 2), ("a", 3)] {
        put_segment(&app, id, "lead", priority);
    }
    let first = app.get("/api/v1/segments?record_type=lead&limit=2");
    assert_eq!(first.item_ids(), ["b", "z"]);
    let next = first.body["next"].as_str().expect("a next page").to_string();
    // A segment already seen goes away, another arrives after the cursor.
    assert_eq!(app.delete("/api/v1/segments/b").status, 204);
    put_segment(&app, "c", "lead", 2);
    let second = app.get(&format!("/api/v1/segments?record_type=lead&limit=2&after={next}"));
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(
        second.item_ids(),
        ["c", "m"],
        "the next page starts after the last segment seen"
    );
    let next = second.body["next"].as_str().expect("a last page").to_string();
    let third = app.get(&format!("/api/v1/segments?record_type=lead&limit=2&after={next}"));
    assert_eq!(third.item_ids(), ["y", "a"]);
    assert_eq!(third.body["next"], Value::Null);
}

#[test]
fn eligible_roles_are_non_empty_strings() {
    let app = TestApp::spawn();
    for (roles, field) in [
        (json!([""]), "eligible_roles[0]"),
        (json!(["seller", "  "]), "eligible_roles[1]"),
    ] {
        let r = app.put(
            "/api/v1/settings",
            json!({"max_records_per_run": 500, "eligible_roles": roles, "round_robin_scope": "organization"}),
        );
        fixtures::assert_invalid(&r, field, &format!("eligible_roles {roles}"));
    }
    assert_eq!(
        app.get("/api/v1/settings").body["eligible_roles"],
        Value::Null,
        "the refused settings were not stored"
    );
    let r = app.put("/api/v1/settings", json!({"eligible_roles": []}));
    assert_eq!(
        r.status, 200,
        "an empty list (no role eligible) is still taken: {}",
        r.text
    );
}
