//! Reassignment runs: the limit (request, setting, default 500), oldest `created_on`
//! first with ties by arrival, attempts on every considered record, run history (fields,
//! order, paging, restart), and a scheduled run that assigns what was waiting.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::fixtures::assert_error;
use crate::helpers::{ADMIN, TestApp, wait_until};
use crate::work::{
    at, get_record, history_of, ids, list_all, ok, owner, post_records, put, put_segment, record, round_robin_over,
    set_capacity, ts,
};

/// A permutation of `0..n` (xorshift Fisher–Yates), the same for the same seed.
fn shuffled(n: usize, mut seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    v
}

/// Posts leads `first..first + n` in a shuffled order, in batches of 100, processed.
/// Every three consecutive leads share a `created_on`, so the order among them is the
/// order they arrived in. Answers the ids in the order a run must take them: oldest
/// `created_on` first, ties by arrival.
fn post_backlog(app: &TestApp, first: usize, n: usize, seed: u64) -> Vec<String> {
    let base = at("2026-11-01T00:00:00Z");
    let created = |k: usize| base + Duration::minutes((k / 3) as i64);
    let arrival = shuffled(n, seed);
    let mut expected: Vec<(DateTime<Utc>, usize, String)> = Vec::with_capacity(n);
    for (pos, chunk) in arrival.chunks(100).enumerate() {
        let batch: Vec<Value> = chunk
            .iter()
            .map(|k| {
                record(
                    &format!("lead-{:04}", first + k),
                    "lead",
                    Some(created(first + k)),
                    json!({}),
                )
            })
            .collect();
        for (i, k) in chunk.iter().enumerate() {
            expected.push((created(first + k), pos * 100 + i, format!("lead-{:04}", first + k)));
        }
        post_records(app, &batch, true);
    }
    expected.sort();
    expected.into_iter().map(|(_, _, id)| id).collect()
}

fn run(app: &TestApp, segment: &str, body: Option<Value>) -> Value {
    let r = app.request(
        "POST",
        &format!("/api/v1/segments/{segment}/runs"),
        Some(ADMIN),
        body.as_ref(),
    );
    assert_eq!(r.status, 201, "POST /segments/{segment}/runs with {body:?}: {}", r.text);
    r.body
}

fn set_of(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("an array: {v}"))
        .iter()
        .map(|i| i.as_str().unwrap_or_else(|| panic!("a string: {i}")).to_string())
        .collect()
}

fn strings(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

/// The processed records of segment `all`, by id.
fn by_id(app: &TestApp) -> BTreeMap<String, Value> {
    list_all(app, "/api/v1/records?segment_id=all&view=processed")
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap_or_default().to_string(), r))
        .collect()
}

#[track_caller]
fn assert_attempted(records: &BTreeMap<String, Value>, ids: &[String], attempts: u64, last: DateTime<Utc>, what: &str) {
    for id in ids {
        let r = &records[id];
        assert_eq!(r["attempts"], json!(attempts), "{what}: record {id} attempts: {r}");
        assert_eq!(
            r["last_attempt_at"],
            json!(ts(last)),
            "{what}: record {id} last_attempt_at: {r}"
        );
    }
}

#[test]
fn a_run_takes_the_oldest_waiting_records_first_up_to_its_limit() {
    let app = TestApp::spawn();
    let t0 = at("2026-11-24T09:00:00Z");
    app.clock.set(t0);
    round_robin_over(&app, "all", &["s1"], Some(0));
    let expected = post_backlog(&app, 0, 600, 0x9e37_79b9_7f4a_7c15);

    let waiting = list_all(&app, "/api/v1/records?segment_id=all&view=unassigned");
    assert_eq!(
        ids(&waiting),
        expected,
        "the unassigned view lists the 600 records oldest created_on first, ties by arrival"
    );
    for r in &waiting {
        assert_eq!(r["status_reason"], "sellers_at_capacity", "{r}");
    }
    assert_attempted(&by_id(&app), &expected, 1, t0, "after ingest");

    // Default limit: the setting's 500.
    set_capacity(&app, "s1", Some(100_000));
    let t1 = t0 + Duration::hours(1);
    app.clock.set(t1);
    let first = run(&app, "all", None);
    assert_eq!(
        first["considered"], 500,
        "a run considers 500 records by default: {first}"
    );
    assert_eq!(first["assigned"], 500, "{first}");
    assert_eq!(first["unassigned"], 0, "{first}");
    assert_eq!(
        set_of(&first["assigned_records"]),
        strings(&expected[..500]),
        "the first run assigns exactly the 500 oldest records"
    );
    let records = by_id(&app);
    assert_attempted(&records, &expected[..500], 2, t1, "considered by the first run");
    assert_attempted(&records, &expected[500..], 1, t0, "not considered by the first run");
    for id in &expected[..500] {
        assert_eq!(records[id]["owner"], owner("seller", "s1"), "{id}");
        assert_eq!(records[id]["status_reason"], "assigned", "{id}");
    }
    for id in &expected[500..] {
        assert_eq!(records[id]["owner"], Value::Null, "{id} waits for the next run");
    }

    let t2 = t1 + Duration::hours(1);
    app.clock.set(t2);
    let second = run(&app, "all", Some(json!({})));
    assert_eq!(
        second["considered"], 100,
        "the second run considers the other 100: {second}"
    );
    assert_eq!(second["assigned"], 100, "{second}");
    assert_eq!(set_of(&second["assigned_records"]), strings(&expected[500..]));
    let records = by_id(&app);
    assert_attempted(&records, &expected[500..], 2, t2, "considered by the second run");
    assert_attempted(&records, &expected[..500], 2, t1, "assigned by the first run");

    // `limit` in the request; records considered but left unassigned are attempts too.
    set_capacity(&app, "s1", Some(600));
    let more = post_backlog(&app, 1000, 100, 42);
    set_capacity(&app, "s1", Some(605));
    let t3 = t2 + Duration::hours(1);
    app.clock.set(t3);
    let limited = run(&app, "all", Some(json!({"limit": 10})));
    assert_eq!(limited["considered"], 10, "limit 10 is honoured: {limited}");
    assert_eq!(limited["assigned"], 5, "capacity left for 5: {limited}");
    assert_eq!(limited["unassigned"], 5, "{limited}");
    assert_eq!(
        set_of(&limited["assigned_records"]),
        strings(&more[..5]),
        "the 5 oldest of the 10 are assigned"
    );
    let records = by_id(&app);
    assert_attempted(&records, &more[..10], 2, t3, "considered by the limited run");
    assert_attempted(&records, &more[10..], 1, t2, "not considered by the limited run");
    for id in &more[5..10] {
        assert_eq!(records[id]["status_reason"], "sellers_at_capacity", "{id}");
    }

    for limit in [json!(0), json!(1_000_001), json!(-1), json!("ten")] {
        let r = app.post("/api/v1/segments/all/runs", json!({ "limit": limit }));
        crate::fixtures::assert_invalid(&r, "limit", &format!("a run of limit {limit}"));
    }
    assert_eq!(
        list_all(&app, "/api/v1/segments/all/runs").len(),
        3,
        "refused runs are not recorded"
    );

    // The setting changes the default.
    set_capacity(&app, "s1", None);
    let r = app.put(
        "/api/v1/settings",
        json!({"max_records_per_run": 50, "eligible_roles": null, "round_robin_scope": "organization"}),
    );
    ok(&r, "PUT /settings");
    let t4 = t3 + Duration::hours(1);
    app.clock.set(t4);
    let fifty = run(&app, "all", None);
    assert_eq!(
        fifty["considered"], 50,
        "max_records_per_run 50 is the default: {fifty}"
    );
    assert_eq!(fifty["assigned"], 50, "{fifty}");
    assert_eq!(set_of(&fifty["assigned_records"]), strings(&more[5..55]));
    let rest = run(&app, "all", None);
    assert_eq!(rest["considered"], 45, "{rest}");
    assert_eq!(set_of(&rest["assigned_records"]), strings(&more[55..]));
    let none = run(&app, "all", None);
    assert_eq!(none["considered"], 0, "nothing is left: {none}");
    assert_eq!(none["assigned"], 0, "{none}");
}

#[track_caller]
fn assert_run_shape(run: &Value, segment: &str, at_: DateTime<Utc>, counts: (u64, u64, u64), assigned: &[&str]) {
    assert!(
        run["id"].as_str().is_some_and(|s| !s.is_empty()),
        "a run has an id: {run}"
    );
    assert_eq!(run["segment_id"], segment, "{run}");
    assert_eq!(run["trigger"], "manual", "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["error"], Value::Null, "{run}");
    assert_eq!(
        run["started_at"],
        json!(ts(at_)),
        "started at the server's clock: {run}"
    );
    let started = at(run["started_at"].as_str().unwrap_or_default());
    let finished = at(run["finished_at"]
        .as_str()
        .unwrap_or_else(|| panic!("finished_at: {run}")));
    assert!(finished >= started, "finished_at is not before started_at: {run}");
    let duration = run["duration_ms"]
        .as_u64()
        .unwrap_or_else(|| panic!("duration_ms is a number: {run}"));
    assert_eq!(
        (finished - started).num_milliseconds() as u64,
        duration,
        "duration_ms is finished_at − started_at: {run}"
    );
    assert_eq!(run["considered"], counts.0, "considered: {run}");
    assert_eq!(run["assigned"], counts.1, "assigned: {run}");
    assert_eq!(run["unassigned"], counts.2, "unassigned: {run}");
    assert_eq!(run["assigned_records"], json!(assigned), "assigned_records: {run}");
}

#[test]
fn run_history_keeps_every_run_newest_first_across_a_restart() {
    let app = TestApp::spawn();
    let t0 = at("2026-11-24T09:00:00Z");
    app.clock.set(t0);
    round_robin_over(&app, "all", &["s1"], Some(0));
    put_segment(&app, "other", "lead");
    let base = at("2026-11-20T00:00:00Z");
    let recs: Vec<Value> = (1..=3)
        .map(|i| record(&format!("r{i}"), "lead", Some(base + Duration::hours(i)), json!({})))
        .collect();
    post_records(&app, &recs, true);

    // At capacity: considered, none assigned, still recorded.
    let t1 = t0 + Duration::minutes(1);
    app.clock.set(t1);
    let a = run(&app, "all", None);
    assert_run_shape(&a, "all", t1, (3, 0, 3), &[]);
    set_capacity(&app, "s1", Some(2));
    let t2 = t0 + Duration::minutes(2);
    app.clock.set(t2);
    let b = run(&app, "all", None);
    assert_run_shape(&b, "all", t2, (3, 2, 1), &["r1", "r2"]);
    set_capacity(&app, "s1", None);
    let t3 = t0 + Duration::minutes(3);
    app.clock.set(t3);
    let c = run(&app, "all", None);
    assert_run_shape(&c, "all", t3, (1, 1, 0), &["r3"]);
    let t4 = t0 + Duration::minutes(4);
    app.clock.set(t4);
    let d = run(&app, "all", None);
    assert_run_shape(&d, "all", t4, (0, 0, 0), &[]);
    let other = run(&app, "other", None);
    assert_eq!(other["considered"], 0, "{other}");

    let runs = [&a, &b, &c, &d];
    let run_ids: Vec<String> = runs
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let distinct: BTreeSet<&String> = run_ids.iter().collect();
    assert_eq!(distinct.len(), 4, "run ids are distinct: {run_ids:?}");

    let check = |app: &TestApp, when: &str| {
        for r in runs {
            let id = r["id"].as_str().unwrap_or_default();
            let got = app.get(&format!("/api/v1/runs/{id}"));
            assert_eq!(got.status, 200, "{when}: GET /runs/{id}: {}", got.text);
            assert_eq!(&got.body, r, "{when}: GET /runs/{id} answers the run as POST did");
        }
        let listed = app.get("/api/v1/segments/all/runs");
        assert_eq!(listed.status, 200, "{when}: {}", listed.text);
        let want: Vec<Value> = runs.iter().rev().map(|r| (*r).clone()).collect();
        assert_eq!(
            listed.body["items"],
            json!(want),
            "{when}: a segment's runs, newest first, and only its own"
        );
        assert_eq!(listed.body["next"], Value::Null, "{when}");
        // Paging: 3, then the last one.
        let page = app.get("/api/v1/segments/all/runs?limit=3");
        assert_eq!(
            page.item_ids(),
            vec![run_ids[3].clone(), run_ids[2].clone(), run_ids[1].clone()],
            "{when}: the first page of 3"
        );
        let next = page.body["next"]
            .as_str()
            .unwrap_or_else(|| panic!("{when}: a full page has a next cursor: {}", page.text));
        let page = app.get(&format!("/api/v1/segments/all/runs?limit=3&after={next}"));
        assert_eq!(page.status, 200, "{when}: {}", page.text);
        assert_eq!(page.item_ids(), vec![run_ids[0].clone()], "{when}: the second page");
        assert_eq!(page.body["next"], Value::Null, "{when}: the last page has no next");
    };
    check(&app, "before the restart");
    let app = app.restart();
    check(&app, "after a restart");
    // Run ids go on from where they were.
    let e = run(&app, "all", None);
    assert!(
        !run_ids.iter().any(|id| e["id"] == json!(id)),
        "a run after the restart gets a new id: {e}"
    );
    assert_eq!(app.get("/api/v1/segments/all/runs").body["items"][0], e);

    // Unknown segments and runs.
    assert_error(
        &app.post("/api/v1/segments/nope/runs", json!({})),
        404,
        "not_found",
        "a run of an unknown segment",
    );
    assert_error(
        &app.get("/api/v1/segments/nope/runs"),
        404,
        "not_found",
        "the runs of an unknown segment",
    );
    assert_error(&app.get("/api/v1/runs/nope"), 404, "not_found", "an unknown run");

    // Roles: readers read runs, only configurers run.
    let reader = app.token("reader");
    let r = app.request("GET", "/api/v1/segments/all/runs", Some(&reader), None);
    assert_eq!(r.status, 200, "a reader lists runs: {}", r.text);
    for role in ["reader", "integration", "sequence_manager"] {
        let t = app.token(role);
        let r = app.request("POST", "/api/v1/segments/all/runs", Some(&t), Some(&json!({})));
        assert_error(&r, 403, "forbidden", &format!("a run by a {role}"));
    }
    let manager = app.token("sales_manager");
    let r = app.request("POST", "/api/v1/segments/all/runs", Some(&manager), Some(&json!({})));
    assert_eq!(r.status, 201, "a sales manager runs: {}", r.text);
}

#[test]
fn a_scheduled_run_assigns_waiting_records_and_is_in_run_history() {
    // Tuesday 2026-11-24, 05:59:58.5 in New York: a 06:00 run is 1.5 s away.
    let app = TestApp::spawn();
    app.clock.set(at("2026-11-24T10:59:58.500Z"));
    round_robin_over(&app, "ny", &["s1"], Some(0));
    let recs: Vec<Value> = (1..=3)
        .map(|i| record(&format!("w{i}"), "lead", None, json!({})))
        .collect();
    for v in post_records(&app, &recs, true) {
        assert_eq!(v["status_reason"], "sellers_at_capacity", "{v}");
    }
    // Raising capacity assigns nothing by itself: the scheduled run does.
    set_capacity(&app, "s1", None);
    assert_eq!(get_record(&app, "w1")["owner"], Value::Null);
    put(
        &app,
        "/api/v1/segments/ny/schedule",
        json!({"start_date": "2026-11-24", "days": ["tue"], "times": ["06:00"], "timezone": "America/New_York"}),
    );

    let mut runs = Vec::new();
    wait_until("the scheduled run in run history", 20, || {
        runs = list_all(&app, "/api/v1/segments/ny/runs");
        !runs.is_empty()
    });
    assert_eq!(runs.len(), 1, "one scheduled run: {runs:?}");
    let run = &runs[0];
    assert_eq!(run["trigger"], "scheduled", "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["considered"], 3, "{run}");
    assert_eq!(run["assigned"], 3, "{run}");
    assert_eq!(
        set_of(&run["assigned_records"]),
        strings(&["w1".into(), "w2".into(), "w3".into()])
    );
    for id in ["w1", "w2", "w3"] {
        let r = get_record(&app, id);
        assert_eq!(
            r["owner"],
            owner("seller", "s1"),
            "{id} is assigned by the scheduled run: {r}"
        );
        let h = history_of(&app, id);
        assert_eq!(h.len(), 1, "{id}: one history entry: {h:?}");
        assert_eq!(h[0]["by"], "run", "{h:?}");
        assert_eq!(h[0]["run_id"], run["id"], "{h:?}");
    }
}
