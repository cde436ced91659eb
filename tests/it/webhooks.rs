//! Webhooks against a real receiver on port 0 (`receiver.rs`): every event once and
//! signed, one record's events in order, retries after a 500 and a timeout, state and
//! backlog, redelivery, and that a receiver that does not answer holds up neither
//! ingest nor other webhooks.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::{Value, json};

use crate::fixtures::{assert_error, assert_invalid};
use crate::helpers::{TestApp, wait_until};
use crate::receiver::Receiver;
use crate::work::{post_records, record, round_robin_over};

pub const SECRET: &str = "a-secret-of-at-least-16";

pub fn hook(url: &str, events: &[&str]) -> Value {
    json!({"url": url, "events": events, "secret": SECRET, "active": true})
}

fn leads(prefix: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| record(&format!("{prefix}-{i}"), "lead", None, json!({})))
        .collect()
}

#[test]
fn webhooks_are_configured_without_showing_the_secret() {
    let app = TestApp::spawn();
    let r = app.put(
        "/api/v1/webhooks/crm",
        hook("https://crm.example/allot", &["record.owner_changed"]),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["id"], "crm");
    assert_eq!(r.body["state"], "active");
    assert_eq!(r.body["backlog"], 0);
    assert!(r.body.get("secret").is_none(), "the secret is never shown: {}", r.text);
    let mut paused = hook("http://crm.example/allot", &["record.owner_changed", "run.finished"]);
    paused["active"] = json!(false);
    let r = app.put("/api/v1/webhooks/crm", paused);
    assert_eq!(r.status, 200, "{}", r.text);
    let got = app.get("/api/v1/webhooks/crm");
    assert_eq!(got.status, 200);
    assert_eq!(got.body["state"], "paused");
    assert_eq!(got.body["events"], json!(["record.owner_changed", "run.finished"]));
    assert!(!got.text.contains(SECRET), "{}", got.text);
    let list = app.get("/api/v1/webhooks");
    assert_eq!(list.item_ids(), ["crm"]);
    assert!(!list.text.contains(SECRET));

    for (body, field) in [
        (hook("ftp://crm.example/allot", &["run.finished"]), "url"),
        (hook("javascript:alert(1)", &["run.finished"]), "url"),
        (hook("http://crm.example/allot", &["record.nope"]), "events[0]"),
        (hook("http://crm.example/allot", &[]), "events"),
        (
            json!({"url": "http://crm.example", "events": ["run.finished"], "secret": "short"}),
            "secret",
        ),
    ] {
        assert_invalid(&app.put("/api/v1/webhooks/bad", body.clone()), field, &body.to_string());
    }
    let manager = app.token("sales_manager");
    let r = app.request(
        "PUT",
        "/api/v1/webhooks/m",
        Some(&manager),
        Some(&hook("http://crm.example/m", &["run.finished"])),
    );
    assert_eq!(r.status, 201, "sales managers configure webhooks: {}", r.text);
    let integration = app.token("integration");
    let r = app.request(
        "PUT",
        "/api/v1/webhooks/i",
        Some(&integration),
        Some(&hook("http://crm.example/i", &["run.finished"])),
    );
    assert_error(&r, 403, "forbidden", "integration tokens do not");

    assert_eq!(app.delete("/api/v1/webhooks/crm").status, 204);
    assert_error(&app.get("/api/v1/webhooks/crm"), 404, "not_found", "deleted");
    assert_error(&app.delete("/api/v1/webhooks/crm"), 404, "not_found", "deleted twice");
}

#[test]
fn every_event_arrives_once_signed_and_in_order_per_record() {
    let app = TestApp::spawn();
    round_robin_over(&app, "all", &["s1", "s2", "s3"], None);
    let receiver = Receiver::ok();
    let r = app.put(
        "/api/v1/webhooks/crm",
        hook(&receiver.url, &["record.owner_changed", "record.status_changed"]),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    // Each lead is assigned as it arrives; two are then assigned by hand to a seller
    // added later: one event each, two for those (in commit order).
    let n = 60;
    post_records(&app, &leads("l", n), true);
    crate::work::put_seller(&app, "s9", None);
    let manual = app.post(
        "/api/v1/assignments",
        json!({"record_ids": ["l-0", "l-1"], "assignee": {"type": "seller", "id": "s9"}}),
    );
    assert_eq!(manual.status, 200, "{}", manual.text);
    let (feed, _) = crate::feed::events_after(&app, "0", Some("record.owner_changed,record.status_changed"));
    let expected: BTreeSet<String> = feed
        .iter()
        .map(|e| e["id"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(expected.len(), n + 2, "an event per lead, and per manual assignment");

    wait_until("every event to be delivered", 60, || {
        let got: BTreeSet<String> = receiver.received().iter().map(|r| r.event_id()).collect();
        got == expected
    });
    let received = receiver.received();
    assert_eq!(received.len(), expected.len(), "each event once");
    for r in &received {
        assert!(r.signed_by(SECRET), "signed with the webhook's secret: {:?}", r.headers);
        assert!(!r.signed_by("another-secret-16chars"), "and not with another");
        assert_eq!(
            r.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        let fed = feed.iter().find(|e| e["id"] == r.json["id"]).expect("a feed event");
        assert_eq!(&r.json, fed, "the body is the feed's event");
    }
    // One record's events arrive in commit order.
    let mut per_record: HashMap<String, Vec<u64>> = HashMap::new();
    for r in &received {
        let record = r.json["data"]["record_id"]
            .as_str()
            .or(r.json["data"]["id"].as_str())
            .unwrap_or("")
            .to_string();
        per_record
            .entry(record)
            .or_default()
            .push(r.event_id().parse().unwrap_or(0));
    }
    for (record, ids) in &per_record {
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{record}: {ids:?}");
    }
    assert_eq!(per_record["l-0"].len(), 2, "l-0 was assigned twice: {per_record:?}");
    let last_of_l0 = received
        .iter()
        .rfind(|r| r.json["data"]["record_id"] == "l-0")
        .expect("l-0's events");
    assert_eq!(last_of_l0.json["data"]["by"], "manual", "the manual one last");
    assert_eq!(last_of_l0.json["data"]["owner"]["id"], "s9");

    wait_until("the deliveries to be written", 30, || {
        let d = app.get("/api/v1/webhooks/crm/deliveries?limit=1000");
        let items = d.body["items"].as_array().cloned().unwrap_or_default();
        items.len() == expected.len() && items.iter().all(|i| i["status"] == "delivered")
    });
    let d = app.get("/api/v1/webhooks/crm/deliveries?limit=1");
    let first = &d.body["items"][0];
    assert_eq!(first["attempts"], 1);
    assert_eq!(first["last_status_code"], 200);
    assert!(first["delivered_at"].is_string());
    let page2 = app.get(&format!(
        "/api/v1/webhooks/crm/deliveries?limit=1&after={}",
        d.body["next"].as_str().expect("a next page")
    ));
    assert!(page2.body["items"][0]["event_id"].as_str() > first["event_id"].as_str());
    assert_eq!(app.get("/api/v1/webhooks/crm").body["backlog"], 0);
}

#[test]
fn a_delivery_is_retried_after_a_500_and_after_a_timeout() {
    let app = TestApp::spawn();
    // First attempt 500, second unanswered past the 10 s timeout, third 200.
    let receiver = Receiver::with(|n, _| match n {
        0 => (500, Duration::ZERO),
        1 => (200, Duration::from_secs(12)),
        _ => (200, Duration::ZERO),
    });
    let r = app.put("/api/v1/webhooks/crm", hook(&receiver.url, &["config.changed"]));
    assert_eq!(r.status, 201, "{}", r.text);
    crate::work::put_seller(&app, "s1", None);
    wait_until("a delivered delivery", 60, || {
        let d = app.get("/api/v1/webhooks/crm/deliveries");
        d.body["items"][0]["status"] == "delivered"
    });
    let d = app.get("/api/v1/webhooks/crm/deliveries");
    let item = &d.body["items"][0];
    assert_eq!(item["attempts"], 3, "{}", d.text);
    assert_eq!(item["last_status_code"], 200);
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    let id = received[0].event_id();
    assert!(received.iter().all(|r| r.event_id() == id), "the same event each time");
    assert!(received.iter().all(|r| r.signed_by(SECRET)));
    assert_eq!(received[0].json["data"]["kind"], "seller");
}

#[test]
fn a_receiver_that_never_answers_holds_up_neither_ingest_nor_other_webhooks() {
    let app = TestApp::spawn();
    round_robin_over(&app, "all", &["s1"], None);
    // One receiver holds every request past the timeout, the other answers at once.
    let stuck = Receiver::with(|_, _| (200, Duration::from_secs(60)));
    let healthy = Receiver::ok();
    assert_eq!(
        app.put("/api/v1/webhooks/stuck", hook(&stuck.url, &["record.owner_changed"]))
            .status,
        201
    );
    assert_eq!(
        app.put("/api/v1/webhooks/ok", hook(&healthy.url, &["record.owner_changed"]))
            .status,
        201
    );
    let mut paused = hook(&healthy.url, &["record.owner_changed"]);
    paused["active"] = json!(false);
    assert_eq!(app.put("/api/v1/webhooks/paused", paused.clone()).status, 201);

    for batch in 0..5 {
        let records = post_records(&app, &leads(&format!("b{batch}"), 200), true);
        assert!(
            records.iter().all(|r| r["status_reason"] == "assigned"),
            "ingest goes on while a receiver hangs"
        );
    }
    wait_until("the healthy webhook to get every event", 60, || {
        healthy.events_of("record.owner_changed").len() >= 1000
    });
    let paused_view = app.get("/api/v1/webhooks/paused");
    assert_eq!(paused_view.body["state"], "paused");
    assert_eq!(paused_view.body["backlog"], 1000, "{}", paused_view.text);
    let stuck_view = app.get("/api/v1/webhooks/stuck");
    assert!(
        stuck_view.body["backlog"].as_u64().unwrap_or(0) > 0,
        "{}",
        stuck_view.text
    );

    // Resumed, the paused webhook delivers what waited.
    paused["active"] = json!(true);
    paused["url"] = json!(healthy.url);
    assert_eq!(app.put("/api/v1/webhooks/paused", paused).status, 200);
    wait_until("the resumed webhook to catch up", 60, || {
        healthy.events_of("record.owner_changed").len() >= 2000
    });
    wait_until("its backlog to drain", 30, || {
        app.get("/api/v1/webhooks/paused").body["backlog"] == 0
    });
}

#[test]
fn redeliver_one_event_or_everything_after_a_cursor() {
    let app = TestApp::spawn();
    let receiver = Receiver::ok();
    assert_eq!(
        app.put("/api/v1/webhooks/crm", hook(&receiver.url, &["config.changed"]))
            .status,
        201
    );
    for s in ["s1", "s2", "s3"] {
        crate::work::put_seller(&app, s, None);
    }
    wait_until("three deliveries", 30, || receiver.received().len() == 3);
    let mut ids: Vec<String> = receiver.received().iter().map(|r| r.event_id()).collect();
    ids.sort_by_key(|id| id.parse::<u64>().unwrap_or(0));

    let r = app.post("/api/v1/webhooks/crm/redeliver", json!({"event_id": ids[1]}));
    assert_eq!(r.status, 202, "{}", r.text);
    wait_until("the redelivery", 30, || receiver.received().len() == 4);
    assert_eq!(receiver.received()[3].event_id(), ids[1]);

    let r = app.post("/api/v1/webhooks/crm/redeliver", json!({"after": ids[0]}));
    assert_eq!(r.status, 202, "{}", r.text);
    wait_until("everything after the cursor again", 30, || {
        receiver.received().len() == 6
    });
    // Configuration events are about no record: they may arrive in any order.
    let again: BTreeSet<String> = receiver.received()[4..].iter().map(|r| r.event_id()).collect();
    assert_eq!(again, ids[1..].iter().cloned().collect::<BTreeSet<_>>());

    assert_error(
        &app.post("/api/v1/webhooks/crm/redeliver", json!({"event_id": "999999"})),
        404,
        "not_found",
        "an event that does not exist",
    );
    assert_invalid(
        &app.post("/api/v1/webhooks/crm/redeliver", json!({})),
        "event_id",
        "neither event_id nor after",
    );
    assert_error(
        &app.post("/api/v1/webhooks/none/redeliver", json!({"after": "0"})),
        404,
        "not_found",
        "no such webhook",
    );
}

#[test]
fn after_kill_9_every_committed_event_is_delivered() {
    use crate::crash::Server;
    use crate::helpers::Api;
    let data = tempfile::tempdir().expect("data dir");
    let logs = tempfile::tempdir().expect("log dir");
    // A receiver a little slower than ingest, so that deliveries are in flight and
    // waiting when the server is killed.
    let receiver = Receiver::with(|_, _| (200, Duration::from_millis(20)));
    let (server, c) = Server::start(data.path(), &logs.path().join("first.log"));
    round_robin_over(&c, "all", &["s1", "s2"], None);
    let r = c.api_put("/api/v1/webhooks/crm", hook(&receiver.url, &["record.owner_changed"]));
    assert_eq!(r.status, 201, "{}", r.text);
    let mut acked = BTreeSet::new();
    for batch in 0..8 {
        for r in post_records(&c, &leads(&format!("k{batch}"), 250), false) {
            acked.insert(r["id"].as_str().unwrap_or("").to_string());
        }
    }
    server.kill();
    let before_restart = receiver.received().len();

    let (_server, c) = Server::start(data.path(), &logs.path().join("second.log"));
    // Every owner change the store holds (the feed, read from the restarted server).
    let mut committed = BTreeSet::new();
    let mut cursor = "0".to_string();
    loop {
        let r = c.api_get(&format!(
            "/api/v1/events?after={cursor}&limit=1000&types=record.owner_changed"
        ));
        assert_eq!(r.status, 200, "{}", r.text);
        let items = r.body["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        committed.extend(items.iter().map(|e| e["id"].as_str().unwrap_or("").to_string()));
        cursor = r.body["next"].as_str().unwrap_or("").to_string();
    }
    assert_eq!(committed.len(), acked.len(), "one owner change per acknowledged lead");
    wait_until("every committed event to be delivered after the restart", 120, || {
        let got: BTreeSet<String> = receiver.received().iter().map(|r| r.event_id()).collect();
        committed.is_subset(&got)
    });
    let records: BTreeSet<String> = receiver
        .received()
        .iter()
        .filter_map(|r| r.json["data"]["record_id"].as_str().map(str::to_string))
        .collect();
    assert!(
        acked.is_subset(&records),
        "every acknowledged lead's assignment arrived"
    );
    eprintln!(
        "{before_restart} of {} deliveries arrived before the kill",
        receiver.received().len()
    );
}
