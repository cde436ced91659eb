//! Two runs of one segment and a manual assignment at the same time (DESIGN.md's
//! concurrency bar): every record ends with one owner, history has one entry per change
//! of owner, no run assigns a record another run assigned, no seller goes over capacity
//! through a run, and each seller's `open_records` equals the open records it owns.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Barrier;

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, Api, TestApp};
use crate::work::{
    all_records, at, check_counters, check_history, list_all, open_records, owner, post_records, put_rule, put_segment,
    put_seller, record, rule, set_capacity,
};

const RULE_SELLERS: [&str; 3] = ["s1", "s2", "s3"];
const PER_ROUND: usize = 400;
const MANUAL: usize = 60;
const ROOM: u64 = 100;

#[test]
fn two_runs_and_a_manual_assignment_at_once_give_each_record_one_owner() {
    let app = TestApp::spawn();
    app.clock.set(at("2026-11-24T09:00:00Z"));
    for s in RULE_SELLERS {
        put_seller(&app, s, Some(0));
    }
    put_seller(&app, "s4", None);
    put_segment(&app, "race", "lead");
    put_rule(
        &app,
        "race",
        "rr",
        rule(1, None, json!({"type": "sellers", "match": "ids", "ids": RULE_SELLERS})),
    );
    let base = at("2026-11-01T00:00:00Z");
    let mut run_assigned: BTreeMap<String, String> = BTreeMap::new();
    for round in 0..3 {
        // A backlog the rule sellers have no room for.
        let ids: Vec<String> = (0..PER_ROUND).map(|i| format!("race-{round}-{i:03}")).collect();
        for chunk in ids.chunks(200) {
            let batch: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    let created = base + Duration::hours(round) + Duration::seconds(i as i64);
                    record(id, "lead", Some(created), json!({}))
                })
                .collect();
            post_records(&app, &batch, true);
        }
        // Room for 100 more each: the runs can place 300 of the 400.
        let mut caps = BTreeMap::new();
        for s in RULE_SELLERS {
            let cap = open_records(&app, s) + ROOM;
            set_capacity(&app, s, Some(cap));
            caps.insert(s, cap);
        }
        // The manual assignment names the oldest records, the ones the runs take first.
        let manual: Vec<String> = ids[..MANUAL].to_vec();

        let barrier = Barrier::new(3);
        let client = app.client(ADMIN);
        let (a, b, m) = std::thread::scope(|scope| {
            let run = || {
                let c = client.clone();
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    c.api_post("/api/v1/segments/race/runs", json!({}))
                })
            };
            let a = run();
            let b = run();
            let c = client.clone();
            let barrier = &barrier;
            let manual = &manual;
            let m = scope.spawn(move || {
                barrier.wait();
                c.api_post(
                    "/api/v1/assignments",
                    json!({"record_ids": manual, "assignee": {"type": "seller", "id": "s4"}}),
                )
            });
            (
                a.join().expect("run thread"),
                b.join().expect("run thread"),
                m.join().expect("manual thread"),
            )
        });
        assert_eq!(a.status, 201, "round {round}: run A: {}", a.text);
        assert_eq!(b.status, 201, "round {round}: run B: {}", b.text);
        assert_eq!(m.status, 200, "round {round}: manual assignment: {}", m.text);
        for (i, res) in m.body["results"].as_array().expect("results").iter().enumerate() {
            assert_eq!(res["ok"], true, "round {round}: manual result {i}: {res}");
        }
        // No record is assigned by both runs.
        for run in [&a.body, &b.body] {
            let run_id = run["id"].as_str().expect("run id").to_string();
            for id in run["assigned_records"].as_array().expect("assigned_records") {
                let id = id.as_str().expect("record id").to_string();
                if let Some(other) = run_assigned.insert(id.clone(), run_id.clone()) {
                    panic!("round {round}: record {id} was assigned by run {other} and by run {run_id}");
                }
            }
        }
        let placed = a.body["assigned"].as_u64().unwrap_or(0) + b.body["assigned"].as_u64().unwrap_or(0);
        assert!(
            placed >= 3 * ROOM,
            "round {round}: the runs fill the room of the rule sellers (300), placed {placed}"
        );
        // Manual assignment wins whatever the order: it reassigns what a run took.
        for id in &manual {
            let r = app.get(&format!("/api/v1/records/{id}"));
            assert_eq!(
                r.body["owner"],
                owner("seller", "s4"),
                "round {round}: {id}: {}",
                r.text
            );
        }
        // Runs respect capacity: the manual assignment only took records away from them.
        for s in RULE_SELLERS {
            let open = open_records(&app, s);
            assert!(
                open <= caps[s],
                "round {round}: seller {s} has {open} open records, over its capacity {}",
                caps[s]
            );
        }
    }

    let records = all_records(&app, "lead");
    assert_eq!(records.len(), 3 * PER_ROUND, "every record is stored once");
    let history = list_all(&app, "/api/v1/assignments?record_type=lead");
    check_history(&records, &history);
    let mut sellers: Vec<&str> = RULE_SELLERS.to_vec();
    sellers.push("s4");
    check_counters(&app, &records, &sellers);
    // At most one entry by a run per record, and it names the run that listed it.
    let mut by_run = BTreeSet::new();
    for e in &history {
        if e["by"] == "run" {
            let id = e["record_id"].as_str().expect("record_id").to_string();
            assert!(by_run.insert(id.clone()), "record {id} has two entries by a run");
            assert_eq!(
                e["run_id"].as_str(),
                run_assigned.get(&id).map(String::as_str),
                "record {id}: the entry names the run that assigned it: {e}"
            );
        }
    }
    assert_eq!(
        by_run.len(),
        run_assigned.len(),
        "every record a run assigned has its entry"
    );
}
