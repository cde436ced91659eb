//! Crash tests (DESIGN.md's reliability bar): the real binary is killed with SIGKILL in
//! the middle of a stream of batch ingests and in the middle of a large run, then
//! started again on the same data directory. After the restart every acknowledged
//! record is there and processed, no record has two owners or a change recorded twice,
//! and each seller's `open_records` equals the open records it owns.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Api, Client, free_port, serve_command, wait_until};
use crate::work::{
    all_records, check_counters, check_history, list_all, open_records, post_records, record, round_robin_over,
    set_capacity,
};

const TOKEN: &str = "crash-test-admin-token";

/// The binary serving a data directory; killed (SIGKILL) when dropped, so a failing
/// test leaves no process behind.
pub struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Starts `allot serve` on `dir` and waits until `/healthz` answers 200. Its log
    /// (info level) goes to `log`.
    pub fn start(dir: &Path, log: &Path) -> (Server, Client) {
        let port = free_port();
        let log_file = File::create(log).expect("log file");
        let child = serve_command(dir, port, 2, "info")
            .env("ALLOT_ADMIN_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start allot");
        let mut server = Server {
            child,
            log: log.to_path_buf(),
        };
        let client = Client::new(format!("http://127.0.0.1:{port}"), TOKEN, Duration::from_secs(60));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "allot exited with {status} before it was healthy: {}",
                    server.log_text()
                );
            }
            if client.try_call("GET", "/healthz", None).is_ok_and(|r| r.status == 200) {
                return (server, client);
            }
            assert!(
                Instant::now() < deadline,
                "allot was not healthy within 60 s: {}",
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, then reap.
    pub fn kill(mut self) {
        kill(&mut self.child);
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Server {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// Waits until nothing of type lead is left to be processed.
fn wait_processed(c: &Client) {
    wait_until("every lead to be processed after the restart", 120, || {
        let r = c.api_get("/api/v1/record-types/lead/summary");
        r.status == 200 && r.body["to_be_processed"] == 0
    });
}

/// The checks every restart must pass; answers the records.
fn check_store(c: &Client, sellers: &[&str]) -> Vec<Value> {
    let records = all_records(c, "lead");
    for r in &records {
        assert_eq!(
            r["stage"], "processed",
            "after the restart every record is processed: {r}"
        );
    }
    let history = list_all(c, "/api/v1/assignments?record_type=lead");
    check_history(&records, &history);
    check_counters(c, &records, sellers);
    records
}

#[test]
fn kill_9_during_batch_ingests_loses_no_acknowledged_record() {
    let data = tempfile::tempdir().expect("data dir");
    let logs = tempfile::tempdir().expect("log dir");
    let sellers = ["s1", "s2", "s3", "s4", "s5"];
    let capacity = 150;
    let (server, c) = Server::start(data.path(), &logs.path().join("first.log"));
    round_robin_over(&c, "all", &sellers, Some(capacity));

    // Two clients post batches of 250 without waiting; the first kills the server right
    // after its 8th acknowledgement, while the other's request is in flight and the
    // batch just acknowledged is most likely still to be processed.
    let child = Arc::new(Mutex::new(Some(server)));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let unexpected = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut threads = Vec::new();
    for t in 0..2 {
        let (c, child, acked, unexpected) = (c.clone(), child.clone(), acked.clone(), unexpected.clone());
        threads.push(std::thread::spawn(move || {
            for batch in 0..200 {
                let ids: Vec<String> = (0..250).map(|i| format!("c{t}-{batch:03}-{i:03}")).collect();
                let records: Vec<Value> = ids.iter().map(|id| record(id, "lead", None, json!({}))).collect();
                match c.try_call("POST", "/api/v1/records", Some(&json!({ "records": records }))) {
                    Ok(r) if r.status == 202 => {
                        acked.lock().expect("acked").extend(ids);
                        if t == 0 && batch == 7 {
                            if let Some(server) = child.lock().expect("child").take() {
                                server.kill();
                            }
                            return;
                        }
                    }
                    Ok(r) => {
                        unexpected
                            .lock()
                            .expect("unexpected")
                            .push(format!("{} {}", r.status, r.text));
                        return;
                    }
                    // The server is gone.
                    Err(_) => return,
                }
            }
        }));
    }
    for t in threads {
        t.join().expect("client thread");
    }
    // Also killed if the first client failed early.
    drop(child.lock().expect("child").take());
    let unexpected = unexpected.lock().expect("unexpected").clone();
    assert!(unexpected.is_empty(), "ingest answered other than 202: {unexpected:?}");
    let acked: BTreeSet<String> = acked.lock().expect("acked").iter().cloned().collect();
    assert!(acked.len() >= 8 * 250, "the first client had 8 batches acknowledged");

    let (server, c) = Server::start(data.path(), &logs.path().join("second.log"));
    wait_processed(&c);
    let records = check_store(&c, &sellers);
    let stored: BTreeSet<String> = records
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged records are missing: {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    for s in sellers {
        let open = open_records(&c, s);
        assert!(
            open <= capacity,
            "seller {s} has {open} open records, over its capacity {capacity}"
        );
    }
    let owned = records.iter().filter(|r| !r["owner"].is_null()).count() as u64;
    assert_eq!(
        owned,
        (sellers.len() as u64 * capacity).min(records.len() as u64),
        "rules filled every seller up to capacity"
    );
    let resumed = server.log_text().contains("resuming records left to be processed");
    eprintln!(
        "crash during ingest: {} acknowledged, {} stored, resumed pending records at restart: {resumed}",
        acked.len(),
        stored.len()
    );

    // The restarted server goes on: a new batch is processed.
    let v = post_records(&c, &[record("after-restart", "lead", None, json!({}))], true);
    assert_eq!(v[0]["stage"], "processed", "{v:?}");
}

/// A large run commits in batches of 1000: killed during it, the batches already durable
/// keep their assignments, and the run is recorded as failed ("interrupted") with what
/// they did; it never assigns a record twice nor loses one.
#[test]
fn kill_9_during_a_large_run_keeps_its_committed_batches_and_records_it_failed() {
    const N: usize = 8000;
    let data = tempfile::tempdir().expect("data dir");
    let logs = tempfile::tempdir().expect("log dir");
    let sellers = ["s1", "s2", "s3", "s4"];
    let (server, c) = Server::start(data.path(), &logs.path().join("first.log"));
    round_robin_over(&c, "all", &sellers, Some(0));
    let ids: Vec<String> = (0..N).map(|i| format!("big-{i:05}")).collect();
    for chunk in ids.chunks(1000) {
        let batch: Vec<Value> = chunk.iter().map(|id| record(id, "lead", None, json!({}))).collect();
        post_records(&c, &batch, true);
    }
    for s in sellers {
        set_capacity(&c, s, None);
    }

    let runner = c.clone();
    let run =
        std::thread::spawn(move || runner.try_call("POST", "/api/v1/segments/all/runs", Some(&json!({"limit": N}))));
    // Give the request time to reach the run, then kill it while it works.
    std::thread::sleep(Duration::from_millis(150));
    server.kill();
    let answer = run.join().expect("run thread");
    let acknowledged = matches!(&answer, Ok(r) if r.status == 201);

    let (_server, c) = Server::start(data.path(), &logs.path().join("second.log"));
    wait_processed(&c);
    let records = check_store(&c, &sellers);
    assert_eq!(records.len(), N, "every record is still there");
    let owned = records.iter().filter(|r| !r["owner"].is_null()).count();
    let runs = list_all(&c, "/api/v1/segments/all/runs");
    let history = list_all(&c, "/api/v1/assignments?record_type=lead");
    match runs.as_slice() {
        [] => {
            assert!(!acknowledged, "a run answered 201 is in run history after a crash");
            assert_eq!(owned, 0, "a run with no trace assigned nothing");
        }
        [run] if run["status"] == "succeeded" => {
            assert_eq!(run["assigned"], N, "the finished run assigned every record: {run}");
            assert_eq!(owned, N, "and every record has its owner");
        }
        [run] => {
            assert!(!acknowledged, "a run answered 201 finished: {run}");
            assert_eq!(run["status"], "failed", "{run}");
            assert!(
                run["error"].as_str().is_some_and(|e| e.starts_with("interrupted")),
                "{run}"
            );
            assert_eq!(
                run["assigned"].as_u64(),
                Some(owned as u64),
                "the interrupted run counts what its durable batches assigned: {run}"
            );
            assert_eq!(
                run["considered"].as_u64().map(|c| c % 1000),
                Some(0),
                "whole batches: {run}"
            );
            let mut listed: Vec<&str> = run["assigned_records"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut in_history: Vec<&str> = history
                .iter()
                .filter(|h| h["run_id"] == run["id"])
                .filter_map(|h| h["record_id"].as_str())
                .collect();
            assert_eq!(
                listed.len(),
                owned,
                "the interrupted run lists what its batches assigned"
            );
            listed.sort_unstable();
            in_history.sort_unstable();
            assert_eq!(listed, in_history, "assigned_records are the run's history entries");
        }
        more => panic!("one run was started, run history has {}", more.len()),
    }
    let run_id = runs.first().map(|r| r["id"].clone());
    assert_eq!(
        history.iter().filter(|h| Some(&h["run_id"]) == run_id.as_ref()).count(),
        owned,
        "one history entry per record the run assigned"
    );
    eprintln!(
        "crash during a run: {}",
        runs.first()
            .map(|r| format!("{} with {} assigned", r["status"], r["assigned"]))
            .unwrap_or_else(|| "no trace of it".into())
    );

    // A run after the restart assigns what is left, and nothing twice.
    let r = c.api_post("/api/v1/segments/all/runs", json!({"limit": N}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.body["assigned"],
        N - owned,
        "the new run assigns exactly the rest: {}",
        r.body["considered"]
    );
    let records = check_store(&c, &sellers);
    assert!(
        records.iter().all(|r| !r["owner"].is_null()),
        "every record is owned after the second run"
    );
    let history = list_all(&c, "/api/v1/assignments?record_type=lead");
    assert_eq!(history.len(), N, "one history entry per record, none twice");
}
