//! Assignment history (`GET /assignments`): filters by record, seller (assignee or
//! previous owner) and record type, alone and combined; newest first; paging; and what
//! each entry says about who made the change (`rule`, `run`, `manual`).

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::fixtures::assert_invalid;
use crate::helpers::TestApp;
use crate::work::{
    any_seller, at, ids, list_all, owner, post_records, put_rule, put_segment, put_seller, record, rule, ts,
};

/// Entry ids of `GET /assignments?{query}`, the whole list.
fn listed(app: &TestApp, query: &str) -> Vec<String> {
    ids(&list_all(app, &format!("/api/v1/assignments?{query}")))
}

struct World {
    app: TestApp,
    /// E1..E5 in the order the changes were made, with their times.
    entries: Vec<(String, DateTime<Utc>)>,
    run_id: String,
    admin: Value,
}

/// Five changes of owner:
/// E1 lead L1 -> s1 by rule; E2 opportunity O1 -> s2 by rule; E3 lead L2 -> s1 by a run;
/// E4 L1 s1 -> s2 by hand; E5 O1 s2 -> s1 by hand.
fn world() -> World {
    let app = TestApp::spawn();
    let t0 = at("2026-11-24T09:00:00Z");
    app.clock.set(t0);
    put_seller(&app, "s1", None);
    put_seller(&app, "s2", None);
    put_segment(&app, "leads", "lead");
    put_segment(&app, "opps", "opportunity");
    put_rule(&app, "leads", "rl", rule(1, Some("record.auto == true"), any_seller()));
    put_rule(&app, "opps", "ro", rule(1, None, any_seller()));
    let admin = app.get("/api/v1/me").body["id"].clone();
    let mut times = Vec::new();
    let mut step = |i: i64| {
        let t = t0 + Duration::minutes(i);
        app.clock.set(t);
        times.push(t);
    };

    step(1);
    let v = post_records(&app, &[record("L1", "lead", None, json!({"auto": true}))], true);
    assert_eq!(v[0]["owner"], owner("seller", "s1"), "{v:?}");
    step(2);
    let v = post_records(&app, &[record("O1", "opportunity", None, json!({}))], true);
    assert_eq!(v[0]["owner"], owner("seller", "s2"), "{v:?}");
    let v = post_records(&app, &[record("L2", "lead", None, json!({"auto": false}))], true);
    assert_eq!(v[0]["owner"], Value::Null, "{v:?}");
    put_rule(&app, "leads", "rl", rule(1, None, any_seller()));
    step(3);
    let r = app.post("/api/v1/segments/leads/runs", json!({}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["assigned_records"], json!(["L2"]), "{}", r.text);
    let run_id = r.body["id"].as_str().expect("run id").to_string();
    step(4);
    let r = app.post(
        "/api/v1/assignments",
        json!({"record_ids": ["L1"], "assignee": {"type": "seller", "id": "s2"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    step(5);
    let r = app.post(
        "/api/v1/assignments",
        json!({"record_ids": ["O1"], "assignee": {"type": "seller", "id": "s1"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);

    let all = list_all(&app, "/api/v1/assignments");
    assert_eq!(all.len(), 5, "five changes, five entries: {all:?}");
    // Newest first: reverse to E1..E5.
    let entries = ids(&all).into_iter().rev().zip(times).collect();
    World {
        app,
        entries,
        run_id,
        admin,
    }
}

#[test]
fn history_entries_say_who_made_each_change() {
    let w = world();
    let all = list_all(&w.app, "/api/v1/assignments");
    let e = |n: usize| &all[5 - n];
    let expect = [
        (
            1,
            "L1",
            "lead",
            owner("seller", "s1"),
            Value::Null,
            "rule",
            json!("rl"),
            Value::Null,
            json!("system"),
        ),
        (
            2,
            "O1",
            "opportunity",
            owner("seller", "s2"),
            Value::Null,
            "rule",
            json!("ro"),
            Value::Null,
            json!("system"),
        ),
        (
            3,
            "L2",
            "lead",
            owner("seller", "s1"),
            Value::Null,
            "run",
            json!("rl"),
            json!(w.run_id),
            w.admin.clone(),
        ),
        (
            4,
            "L1",
            "lead",
            owner("seller", "s2"),
            owner("seller", "s1"),
            "manual",
            Value::Null,
            Value::Null,
            w.admin.clone(),
        ),
        (
            5,
            "O1",
            "opportunity",
            owner("seller", "s1"),
            owner("seller", "s2"),
            "manual",
            Value::Null,
            Value::Null,
            w.admin.clone(),
        ),
    ];
    for (n, record_id, record_type, assignee, previous, by, rule_id, run_id, actor) in expect {
        let entry = e(n);
        let what = format!("E{n}: {entry}");
        assert_eq!(entry["record_id"], record_id, "{what}");
        assert_eq!(entry["record_type"], record_type, "{what}");
        assert_eq!(entry["assignee"], assignee, "{what}");
        assert_eq!(entry["previous_owner"], previous, "{what}");
        assert_eq!(entry["by"], by, "{what}");
        assert_eq!(entry["rule_id"], rule_id, "{what}");
        assert_eq!(entry["run_id"], run_id, "{what}");
        assert_eq!(entry["actor"], actor, "{what}");
        assert_eq!(
            entry["at"],
            json!(ts(w.entries[n - 1].1)),
            "{what}: at the server's clock"
        );
    }
}

#[test]
fn history_filters_alone_and_combined_list_newest_first() {
    let w = world();
    let e = |n: usize| w.entries[n - 1].0.clone();
    let cases: [(&str, Vec<String>); 12] = [
        ("", vec![e(5), e(4), e(3), e(2), e(1)]),
        ("record_id=L1", vec![e(4), e(1)]),
        ("record_id=O1", vec![e(5), e(2)]),
        ("record_id=nope", vec![]),
        ("seller_id=s1", vec![e(5), e(4), e(3), e(1)]),
        ("seller_id=s2", vec![e(5), e(4), e(2)]),
        ("record_type=opportunity", vec![e(5), e(2)]),
        ("record_type=lead", vec![e(4), e(3), e(1)]),
        ("record_type=lead&seller_id=s2", vec![e(4)]),
        ("record_type=lead&seller_id=s1", vec![e(4), e(3), e(1)]),
        ("record_id=L1&seller_id=s2", vec![e(4)]),
        ("record_id=O1&record_type=lead", vec![]),
    ];
    for (query, want) in cases {
        assert_eq!(listed(&w.app, query), want, "GET /assignments?{query}");
    }
}

#[test]
fn history_pages_follow_after_and_end_with_no_next() {
    let w = world();
    let e = |n: usize| w.entries[n - 1].0.clone();
    for (query, want) in [
        ("limit=2", vec![e(5), e(4), e(3), e(2), e(1)]),
        ("limit=2&seller_id=s1", vec![e(5), e(4), e(3), e(1)]),
        ("limit=1&record_type=lead&seller_id=s2", vec![e(4)]),
        ("limit=1&record_type=lead&seller_id=s1", vec![e(4), e(3), e(1)]),
        ("limit=2&record_type=opportunity", vec![e(5), e(2)]),
    ] {
        let limit: usize = query
            .split('&')
            .find_map(|p| p.strip_prefix("limit="))
            .and_then(|n| n.parse().ok())
            .expect("a limit");
        let mut got = Vec::new();
        let mut after: Option<String> = None;
        let mut pages = 0;
        loop {
            let url = match &after {
                Some(a) => format!("/api/v1/assignments?{query}&after={a}"),
                None => format!("/api/v1/assignments?{query}"),
            };
            let r = w.app.get(&url);
            assert_eq!(r.status, 200, "GET {url}: {}", r.text);
            let items = ids(r.body["items"].as_array().expect("items"));
            pages += 1;
            assert!(pages <= want.len() + 1, "{query}: paging does not end");
            assert!(items.len() <= limit, "GET {url}: at most {limit} items: {}", r.text);
            match r.body["next"].as_str() {
                Some(next) => {
                    assert_eq!(
                        items.len(),
                        limit,
                        "GET {url}: a page with a next cursor is full: {}",
                        r.text
                    );
                    assert!(
                        got.len() + items.len() < want.len(),
                        "GET {url}: a next cursor although nothing is left: {}",
                        r.text
                    );
                    after = Some(next.to_string());
                    got.extend(items);
                }
                None => {
                    got.extend(items);
                    break;
                }
            }
        }
        assert_eq!(got, want, "the pages of GET /assignments?{query}");
    }
    assert_invalid(
        &w.app.get("/api/v1/assignments?after=bogus"),
        "after",
        "a cursor that is not one",
    );
}
