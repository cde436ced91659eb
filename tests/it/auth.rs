//! Authentication and roles: every kind of route against every role (the matrix of
//! API.md "Authentication and roles"), 401 for missing or bad credentials, the token
//! lifecycle and the routes that need no token.

use std::time::Duration;

use serde_json::{Value, json};

use crate::fixtures::{self, assert_absent, assert_error};
use crate::helpers::{ADMIN, Resp, TestApp, agent, answer};

const ROLES: [&str; 5] = [
    "system_administrator",
    "sales_manager",
    "sequence_manager",
    "integration",
    "reader",
];

/// What a route needs, as API.md's role table grants it.
#[derive(Clone, Copy, Debug)]
enum Needs {
    /// Tokens and settings: administrators only.
    Administer,
    /// Sellers, teams, queues, segments, rules, record types: administrators and sales managers.
    Configure,
    /// Sequences: also sequence managers.
    ManageSequences,
    /// Reading configuration: everyone but integrations.
    ReadConfig,
    /// Any valid token.
    AnyToken,
}

fn allowed(role: &str, needs: Needs) -> bool {
    match needs {
        Needs::Administer => role == "system_administrator",
        Needs::Configure => matches!(role, "system_administrator" | "sales_manager"),
        Needs::ManageSequences => matches!(role, "system_administrator" | "sales_manager" | "sequence_manager"),
        Needs::ReadConfig => role != "integration",
        Needs::AnyToken => true,
    }
}

struct Case {
    method: &'static str,
    path: String,
    body: Option<Value>,
    /// Created by the administrator before the call (what a DELETE removes).
    setup: Option<(String, Value)>,
    needs: Needs,
    /// The status when the role may call it.
    ok: u16,
    /// When the call is refused: an administrator's GET of this path answers this status
    /// (the refused call changed nothing).
    unchanged: Option<(String, u16)>,
}

fn call(method: &'static str, path: impl Into<String>, needs: Needs, ok: u16) -> Case {
    Case {
        method,
        path: path.into(),
        body: None,
        setup: None,
        needs,
        ok,
        unchanged: None,
    }
}

/// A PUT that creates `path`; refused, the object must not exist afterwards.
fn create(path: String, body: Value, needs: Needs) -> Case {
    Case {
        body: Some(body),
        unchanged: Some((path.clone(), 404)),
        ..call("PUT", path, needs, 201)
    }
}

/// A DELETE of an object the administrator creates first; refused, it must still exist.
fn remove(path: String, body: Value, needs: Needs) -> Case {
    Case {
        setup: Some((path.clone(), body)),
        unchanged: Some((path.clone(), 200)),
        ..call("DELETE", path, needs, 204)
    }
}

/// The routes of one kind of object in `collection`: create `{tag}-new` from `new_body`
/// (`write` may), read `existing` and list (any reader may), delete `{tag}-old`, which
/// the administrator creates from `old_body` first (`write` may).
fn crud(collection: &str, tag: &str, existing: &str, new_body: Value, old_body: Value, write: Needs) -> [Case; 4] {
    [
        create(format!("{collection}/{tag}-new"), new_body, write),
        call("GET", format!("{collection}/{existing}"), Needs::ReadConfig, 200),
        call("GET", collection, Needs::ReadConfig, 200),
        remove(format!("{collection}/{tag}-old"), old_body, write),
    ]
}

/// Every kind of route. `tag` makes the ids a role creates or deletes its own;
/// `token_id` is a token the call may revoke.
fn cases(tag: &str, token_id: &str) -> Vec<Case> {
    use Needs::*;
    use fixtures::{queue, record_type_schema, rule, seller, sequence, team};
    let rt = format!("rt_{tag}");
    let mut cases = vec![
        // tokens
        Case {
            body: Some(json!({"name": format!("made by {tag}"), "role": "reader"})),
            ..call("POST", "/api/v1/tokens", Administer, 201)
        },
        call("GET", "/api/v1/tokens", Administer, 200),
        call("DELETE", format!("/api/v1/tokens/{token_id}"), Administer, 204),
        // settings
        call("GET", "/api/v1/settings", ReadConfig, 200),
        Case {
            body: Some(json!({"max_records_per_run": 400})),
            unchanged: None,
            ..call("PUT", "/api/v1/settings", Administer, 200)
        },
    ];
    let segment = || fixtures::segment("lead", 5, None);
    for (collection, existing, new_body, old_body, write) in [
        ("/api/v1/sellers", "s1", seller(), seller(), Configure),
        ("/api/v1/teams", "t1", team(&["s1"]), team(&[]), Configure),
        ("/api/v1/queues", "q1", queue(), queue(), Configure),
        ("/api/v1/sequences", "seq1", sequence(), sequence(), ManageSequences),
        ("/api/v1/segments", "seg1", segment(), segment(), Configure),
        ("/api/v1/segments/seg1/rules", "r1", rule(), rule(), Configure),
    ] {
        cases.extend(crud(collection, tag, existing, new_body, old_body, write));
    }
    cases.extend([
        call("GET", "/api/v1/segments?record_type=lead", ReadConfig, 200),
        // record-type schemas: ids are identifiers, so `_` joins the tag; no list
        create(
            format!("/api/v1/record-types/{rt}_new"),
            record_type_schema(),
            Configure,
        ),
        call("GET", "/api/v1/record-types/lead", ReadConfig, 200),
        remove(
            format!("/api/v1/record-types/{rt}_old"),
            record_type_schema(),
            Configure,
        ),
        // the caller
        call("GET", "/api/v1/me", AnyToken, 200),
    ]);
    cases
}

#[test]
fn every_role_gets_exactly_what_the_role_table_grants() {
    let app = fixtures::seeded();
    for role in ROLES {
        let token = app.token(role);
        let victim = app.post(
            "/api/v1/tokens",
            json!({"name": format!("victim of {role}"), "role": "reader"}),
        );
        assert_eq!(victim.status, 201, "{}", victim.text);
        let victim_id = victim.body["id"].as_str().expect("token id").to_string();
        for case in cases(role, &victim_id) {
            let what = format!("{role}: {} {}", case.method, case.path);
            if let Some((path, body)) = &case.setup {
                let r = app.put(path, body.clone());
                assert_eq!(r.status, 201, "{what}: setting up {path}: {}", r.text);
            }
            let r = app.request(case.method, &case.path, Some(&token), case.body.as_ref());
            if allowed(role, case.needs) {
                assert_eq!(
                    r.status, case.ok,
                    "{what}: the role may do this ({:?}): {}",
                    case.needs, r.text
                );
            } else {
                assert_error(&r, 403, "forbidden", &what);
                if let Some((path, status)) = &case.unchanged {
                    let after = app.get(path);
                    assert_eq!(
                        after.status, *status,
                        "{what}: a refused call changed {path}: {}",
                        after.text
                    );
                }
            }
        }
    }
}

#[test]
fn me_answers_the_calling_token() {
    let app = TestApp::spawn();
    for role in ROLES {
        let created = app.post("/api/v1/tokens", json!({"name": format!("{role} bot"), "role": role}));
        assert_eq!(created.status, 201, "{}", created.text);
        let secret = created.body["token"].as_str().expect("secret");
        let me = app.request("GET", "/api/v1/me", Some(secret), None);
        assert_eq!(me.status, 200, "{}", me.text);
        assert_eq!(
            me.body,
            json!({"id": created.body["id"], "name": format!("{role} bot"), "role": role}),
            "/me answers the token's id, name and role"
        );
    }
}

/// Sends `authorization` verbatim (None: no header).
fn with_authorization(
    app: &TestApp,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: Option<&Value>,
) -> Resp {
    let mut req = ureq::http::Request::builder().method(method).uri(app.url(path));
    if let Some(a) = authorization {
        req = req.header("Authorization", a);
    }
    let req = req
        .header("Content-Type", "application/json")
        .body(body.map(Value::to_string).unwrap_or_default())
        .expect("request");
    answer(method, path, agent(Duration::from_secs(60)).run(req))
}

#[test]
fn every_api_route_refuses_missing_wrong_and_malformed_credentials() {
    let app = fixtures::seeded();
    let reader = app.token("reader");
    let wrong = format!("{reader}x");
    for case in cases("anon", "tok_0000000000000000") {
        let what = format!("{} {}", case.method, case.path);
        if let Some((path, body)) = &case.setup {
            assert_eq!(app.put(path, body.clone()).status, 201, "{what}: setting up {path}");
        }
        let body = case.body.as_ref();
        let r = with_authorization(&app, case.method, &case.path, None, body);
        assert_error(&r, 401, "unauthorized", &format!("{what} without a token"));
        let r = with_authorization(&app, case.method, &case.path, Some(&format!("Bearer {wrong}")), body);
        assert_error(&r, 401, "unauthorized", &format!("{what} with a wrong token"));
        if let Some((path, status)) = &case.unchanged {
            let after = app.get(path);
            assert_eq!(after.status, *status, "{what}: an unauthenticated call changed {path}");
        }
    }
    for malformed in [
        format!("Basic {reader}"),
        format!("Token {reader}"),
        format!("Bearer{reader}"),
        reader.clone(),
        "Bearer".to_string(),
        "Bearer ".to_string(),
        "Bearer    ".to_string(),
        String::new(),
    ] {
        for (method, path) in [("GET", "/api/v1/me"), ("GET", "/api/v1/sellers")] {
            let r = with_authorization(&app, method, path, Some(&malformed), None);
            assert_error(
                &r,
                401,
                "unauthorized",
                &format!("{method} {path} with Authorization {malformed:?}"),
            );
        }
    }
    // The same secret, well formed, is accepted: the refusals above were about the form.
    // The scheme's case does not matter (RFC 9110).
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = with_authorization(&app, "GET", "/api/v1/me", Some(&format!("{scheme} {reader}")), None);
        assert_eq!(
            r.status, 200,
            "a well-formed header with the same token ({scheme}): {}",
            r.text
        );
    }
}

#[test]
fn a_sequence_manager_may_only_connect_sequences_to_existing_segments() {
    let app = fixtures::seeded();
    assert_eq!(app.put("/api/v1/sequences/seq2", fixtures::sequence()).status, 201);
    let manager = app.token("sequence_manager");
    let put = |path: &str, body: Value| app.request("PUT", path, Some(&manager), Some(&body));

    let r = put("/api/v1/segments/seg1", fixtures::segment("lead", 1, Some("seq2")));
    assert_eq!(r.status, 200, "connecting another sequence: {}", r.text);
    assert_eq!(r.body["sequence_id"], "seq2");
    assert_eq!(
        app.get("/api/v1/segments/seg1").body["sequence_id"],
        "seq2",
        "the change is stored"
    );

    let r = put("/api/v1/segments/seg1", fixtures::segment("lead", 1, None));
    assert_eq!(r.status, 200, "disconnecting the sequence: {}", r.text);
    assert_eq!(app.get("/api/v1/segments/seg1").body["sequence_id"], Value::Null);

    let r = put(
        "/api/v1/segments/seg1",
        fixtures::segment("lead", 1, Some("missing-seq")),
    );
    fixtures::assert_invalid(&r, "sequence_id", "connecting a sequence that does not exist");

    for (sequence_id, field, value, what) in [
        (Some("seq1"), "name", json!("Renamed"), "renaming a segment"),
        (None, "priority", json!(2), "changing a segment's priority"),
        (
            Some("seq1"),
            "condition",
            json!("true"),
            "changing a segment's condition",
        ),
    ] {
        let mut changed = fixtures::segment("lead", 1, sequence_id);
        changed[field] = value;
        assert_error(&put("/api/v1/segments/seg1", changed), 403, "forbidden", what);
    }
    let stored = app.get("/api/v1/segments/seg1");
    assert_eq!(
        stored.body["name"], "UK trade shows",
        "refused changes left the segment alone"
    );
    assert_eq!(stored.body["priority"], 1);

    assert_error(
        &put("/api/v1/segments/new-seg", fixtures::segment("lead", 1, Some("seq1"))),
        403,
        "forbidden",
        "creating a segment",
    );
    assert_absent(&app, "/api/v1/segments/new-seg", "no segment was created");

    for role in ["reader", "integration"] {
        let token = app.token(role);
        let r = app.request(
            "PUT",
            "/api/v1/segments/seg1",
            Some(&token),
            Some(&fixtures::segment("lead", 1, Some("seq1"))),
        );
        assert_error(&r, 403, "forbidden", &format!("{role} connecting a sequence"));
    }
}

#[test]
fn a_token_is_shown_once_used_listed_without_secret_and_revoked() {
    let app = TestApp::spawn();
    let r = app.post("/api/v1/tokens", json!({"name": "crm sync", "role": "integration"}));
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().expect("id").to_string();
    let secret = r.body["token"].as_str().expect("secret").to_string();
    assert_eq!(r.body["name"], "crm sync");
    assert_eq!(r.body["role"], "integration");
    assert!(secret.len() >= 32, "a secret is long enough to guess: {secret}");

    let me = app.request("GET", "/api/v1/me", Some(&secret), None);
    assert_eq!(me.status, 200, "the new token authenticates: {}", me.text);
    assert_eq!(me.body["id"], id.as_str());

    let list = app.get("/api/v1/tokens");
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.body["items"].as_array().expect("items");
    let listed = items
        .iter()
        .find(|t| t["id"] == id.as_str())
        .expect("the token is listed");
    assert_eq!(listed["name"], "crm sync");
    assert_eq!(listed["role"], "integration");
    assert!(listed.get("token").is_none(), "a listed token has no secret: {listed}");
    assert!(!list.text.contains(&secret), "the secret never appears in the list");
    assert!(!list.text.contains(ADMIN), "nor does the administrator's");

    let other = app.post("/api/v1/tokens", json!({"name": "crm sync", "role": "integration"}));
    assert_ne!(other.body["token"], secret.as_str(), "each token has its own secret");
    assert_ne!(other.body["id"], id.as_str(), "and its own id");

    assert_eq!(app.delete(&format!("/api/v1/tokens/{id}")).status, 204);
    let r = app.request("GET", "/api/v1/me", Some(&secret), None);
    assert_error(&r, 401, "unauthorized", "a revoked token");
    let list = app.get("/api/v1/tokens");
    assert!(
        !list.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|t| t["id"] == id.as_str()),
        "a revoked token is not listed: {}",
        list.text
    );
    assert_error(
        &app.delete(&format!("/api/v1/tokens/{id}")),
        404,
        "not_found",
        "revoking twice",
    );
    let other_secret = other.body["token"].as_str().expect("secret");
    let r = app.request("GET", "/api/v1/me", Some(other_secret), None);
    assert_eq!(r.status, 200, "revoking one token leaves the others: {}", r.text);
}

#[test]
fn creating_a_token_validates_name_and_role() {
    let app = TestApp::spawn();
    let r = app.post("/api/v1/tokens", json!({"name": "x", "role": "owner"}));
    fixtures::assert_invalid(&r, "role", "an unknown role");
    let r = app.post("/api/v1/tokens", json!({"name": "  ", "role": "reader"}));
    fixtures::assert_invalid(&r, "name", "a blank name");
    let r = app.post("/api/v1/tokens", json!({"role": "reader"}));
    fixtures::assert_invalid(&r, "name", "a missing name");
    assert_eq!(
        app.get("/api/v1/tokens").body["items"].as_array().map(Vec::len),
        Some(0),
        "no token was made"
    );
}

#[test]
fn health_metrics_and_openapi_need_no_token() {
    let app = TestApp::spawn();
    let health = app.request("GET", "/healthz", None, None);
    assert_eq!(health.status, 200, "{}", health.text);
    assert_eq!(health.body["status"], "ok");

    // One API call so that the metrics have a series to show.
    assert_eq!(app.get("/api/v1/me").status, 200);
    let metrics = app.request("GET", "/metrics", None, None);
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    assert!(
        metrics
            .text
            .contains("allot_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"200\"}"),
        "Prometheus text with the request just made: {}",
        metrics.text
    );
    // The store's counters, each with its type line and a value.
    assert!(
        metrics.text.contains("# TYPE allot_store_commits_total counter\n")
            && metrics.text.lines().any(|l| l
                .strip_prefix("allot_store_commits_total ")
                .is_some_and(|n| n.parse::<u64>().is_ok())),
        "the store's commit counter: {}",
        metrics.text
    );

    let doc = app.request("GET", "/openapi.json", None, None);
    assert_eq!(doc.status, 200, "{}", doc.text);
    assert!(
        doc.body["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "an OpenAPI 3 document: {}",
        doc.body["openapi"]
    );
    for path in [
        "/api/v1/sellers/{id}",
        "/api/v1/segments/{sid}/rules/{rid}",
        "/api/v1/tokens",
        "/api/v1/settings",
    ] {
        assert!(doc.body["paths"].get(path).is_some(), "the document describes {path}");
    }
}
