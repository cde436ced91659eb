//! Restarts: records left in `to_be_processed` are processed at start, and processed
//! records keep their status, owner and the owners' counts.

use allot::domain::record::{RecordInput, StoredRecord};
use allot::domain::{Id, RecordType};
use allot::store::Store;
use allot::store::{RecordBatch, RecordRow};
use serde_json::json;

use super::*;
use crate::helpers::TestApp;

/// A record as ingest stores it before processing.
fn pending(id: &str, seq: u64, created_on: DateTime<Utc>) -> StoredRecord {
    let mut attributes = serde_json::Map::new();
    attributes.insert("country".into(), json!("UK"));
    let input = RecordInput {
        id: Id::parse("id", id).unwrap_or_else(|e| panic!("id {id}: {e}")),
        record_type: RecordType::parse("record_type", "lead").unwrap_or_else(|e| panic!("{e}")),
        name: format!("Lead {id}"),
        topic: "restart".into(),
        created_on: Some(created_on),
        attributes,
    };
    StoredRecord::new_pending(input, seq, created_on)
}

/// Writes `records` into the store in `dir` while no server runs.
fn write_pending(dir: &std::path::Path, records: Vec<StoredRecord>) {
    let store = Store::open(dir).unwrap_or_else(|e| panic!("opening the store: {e}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let rows = records
        .iter()
        .map(|rec| RecordRow::new(None, rec))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("encoding: {e}"));
    let batch = RecordBatch {
        rows,
        ..RecordBatch::default()
    };
    let result: Result<(), allot::store::StoreError> = rt.block_on(store.write(move |txn| txn.apply(&batch)));
    result.unwrap_or_else(|e| panic!("writing pending records: {e}"));
    store.close();
    store.wait_released(std::time::Duration::from_secs(10));
}

#[test]
fn records_left_to_be_processed_are_processed_at_start() {
    let app = TestApp::spawn();
    seller(&app, "s1", json!({}));
    seller(&app, "s2", json!({}));
    segment(&app, "uk", json!({"condition": "record.country == \"UK\""}));
    rule(&app, "uk", "r", json!({}));
    let t = now(&app);
    let dir = app.stop().unwrap_or_else(|| panic!("the test app owns its directory"));

    // More than one start-up batch (1000), so resuming has to go on.
    let records: Vec<StoredRecord> = (0..1203)
        .map(|i| {
            pending(
                &format!("p{i:04}"),
                1_000_000 + i,
                t - chrono::Duration::seconds(i as i64),
            )
        })
        .collect();
    write_pending(dir.path(), records);

    let app = TestApp::spawn_at(dir.path(), t);
    for id in ["p0000", "p0600", "p1202"] {
        let v = poll_record(&app, id, |v| v["stage"] == "processed");
        assert_eq!(v["segment_id"], "uk", "{v}");
        assert_eq!(v["status_reason"], "assigned", "{v}");
    }
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let s = summary(&app);
        if s["to_be_processed"] == 0 {
            assert_eq!(s["processed"], 1203, "{s}");
            break;
        }
        assert!(std::time::Instant::now() < until, "still pending after 30 s: {s}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let open: u64 = ["s1", "s2"]
        .iter()
        .map(|s| seller_view(&app, s)["open_records"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(open, 1203, "every resumed record counted once");
    assert_eq!(
        seller_view(&app, "s1")["open_records"],
        602,
        "round robin across the resume"
    );
    drop(app);
    drop(dir);
}

#[test]
fn processed_records_keep_their_status_owner_and_counts_across_a_restart() {
    let app = TestApp::spawn();
    one_seller_of_capacity(&app, "s1", 1, "r");
    let views = post_batch_wait(&app, vec![lead("l1", json!({})), lead("l2", json!({}))]);
    assert_eq!(owner_id(&views[0]), "s1");
    assert_eq!(views[1]["status_reason"], "sellers_at_capacity");

    let app = app.restart();
    let v = record(&app, "l1");
    assert_eq!(
        (owner_id(&v), v["status_reason"].clone()),
        ("s1".to_string(), json!("assigned")),
        "{v}"
    );
    let v = record(&app, "l2");
    assert_eq!(v["status_reason"], "sellers_at_capacity", "{v}");
    assert_eq!(
        v["decision"]["rules"][0]["excluded"]["capacity"], 1,
        "the decision is kept: {v}"
    );
    assert_eq!(seller_view(&app, "s1")["open_records"], 1, "the count is kept");
    assert_eq!(view_ids(&app, "unassigned"), ["l2"]);
    let run = run(&app, "seg");
    assert_eq!(run["assigned"], 0, "capacity still holds after the restart: {run}");
    let v = post_wait(&app, lead("l3", json!({})));
    assert_eq!(v["status_reason"], "sellers_at_capacity", "{v}");
}
