//! The record actor serialises every record change: a message that reaches its
//! mailbox while an earlier one is committing must not read the record before that
//! commit, nor be overtaken by follow-up work the earlier one queued.
//!
//! Driven at the actor level so that both messages are in the mailbox before the actor
//! handles the first: over HTTP the interleaving is a matter of luck.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use allot::actors::records::sellers::GetSellerView;
use allot::actors::records::{Ingest, ManualAssign, RecordActor};
use allot::actors::segment::{PutRule, SegmentActor, SubscribeCatalog};
use allot::actors::table::Put;
use allot::domain::clock::SystemClock;
use allot::domain::config::{Rule, Segment, Seller};
use allot::domain::record::{Owner, RecordInput, Stage, StatusReason};
use allot::domain::{Id, RecordType};
use allot::scripting::Scripting;
use allot::store::{ReadTxn, RecordBatch, RecordRow, Store};
use serde_json::json;

fn id(s: &str) -> Id {
    Id::parse("id", s).unwrap()
}

/// The segment and record actors on a fresh store, with sellers s1 and s3 and
/// one segment `m` for every lead, whose rule assigns round robin to any seller.
async fn start() -> (tempfile::TempDir, Store, Addr<RecordActor>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let scripting = Arc::new(Scripting::new());
    let mut segment_actor = SegmentActor::load(store.clone(), scripting.clone()).unwrap();
    let catalog = Arc::new(segment_actor.catalog());
    let seller_actor = RecordActor::load(store.clone(), catalog, scripting, Arc::new(SystemClock)).unwrap();
    let segments = SegmentActor::start_in_arbiter(&Arbiter::new().handle(), |_| segment_actor);
    let sellers = RecordActor::start_in_arbiter(&Arbiter::new().handle(), |_| seller_actor);
    segments
        .send(SubscribeCatalog(sellers.clone().recipient()))
        .await
        .unwrap();

    for s in ["s1", "s3"] {
        let seller: Seller = serde_json::from_value(json!({"name": s})).unwrap();
        sellers
            .send(Put {
                id: id(s),
                value: seller,
            })
            .await
            .unwrap()
            .unwrap();
    }
    let segment: Segment = serde_json::from_value(json!({"name": "m", "record_type": "lead", "priority": 1})).unwrap();
    segments
        .send(Put {
            id: id("m"),
            value: segment,
        })
        .await
        .unwrap()
        .unwrap();
    let rule: Rule = serde_json::from_value(json!({"name": "auto", "priority": 1,
        "assign_to": {"type": "sellers", "match": "any"}, "distribution": {"method": "round_robin"}}))
    .unwrap();
    segments
        .send(PutRule {
            segment_id: id("m"),
            rule_id: id("auto"),
            rule,
        })
        .await
        .unwrap()
        .unwrap();

    (dir, store, sellers)
}

fn lead(rec_id: &Id) -> RecordInput {
    RecordInput {
        id: rec_id.clone(),
        record_type: RecordType::parse("t", "lead").unwrap(),
        name: String::new(),
        topic: String::new(),
        created_on: None,
        attributes: Default::default(),
    }
}

#[actix::test]
async fn a_manual_assignment_queued_behind_an_ingest_is_not_overwritten_by_its_processing() {
    let (_dir, store, sellers) = start().await;
    for i in 0..10 {
        let rec_id = id(&format!("r{i}"));
        let input = lead(&rec_id);
        // Both messages are in the mailbox before the actor handles the ingest.
        let ingest = sellers.send(Ingest {
            records: vec![input],
            presegmented: Vec::new(),
            received_at: None,
            wait: false,
            batch: false,
        });
        let manual = sellers.send(ManualAssign {
            record_ids: vec![rec_id.clone()],
            assignee: Owner::seller(id("s3")),
            only_eligible: false,
            actor: "test".into(),
        });
        ingest.await.unwrap().unwrap();
        let results = manual.await.unwrap().unwrap();
        assert!(results[0].ok, "the manual assignment of {rec_id} succeeds");

        let deadline = Instant::now() + Duration::from_secs(10);
        let rec = loop {
            let rec = read_record(&store.read().unwrap(), rec_id.as_str());
            if rec.stage == Stage::Processed || Instant::now() > deadline {
                break rec;
            }
            actix::clock::sleep(Duration::from_millis(10)).await;
        };
        assert_eq!(rec.stage, Stage::Processed, "{rec_id} is processed");
        assert_eq!(
            rec.owner,
            Some(Owner::seller(id("s3"))),
            "{rec_id}: the manual owner survives processing"
        );
        assert_eq!(rec.status_reason, Some(StatusReason::AssignedManually), "{rec_id}");
        assert_eq!(rec.segment_id, Some(id("m")), "{rec_id} is segmented");
    }
}

/// A batch whose commit fails costs that batch and the ones queued behind it, nothing
/// else: the actor resynchronises from the store, and the next batch is decided on it.
/// The failure is made real: the record's row is changed behind the actor's back while
/// the writer is held, so the batch decided on the old row is refused (`StaleRow`).
#[actix::test]
async fn a_failed_commit_refuses_the_batches_behind_it_and_the_actor_resynchronises() {
    let (_dir, store, sellers) = start().await;
    let ingest = |rec_id: &str, name: &str| {
        let mut input = lead(&id(rec_id));
        input.name = name.to_string();
        sellers.send(Ingest {
            records: vec![input],
            presegmented: Vec::new(),
            received_at: None,
            wait: true,
            batch: false,
        })
    };
    let first = ingest("r0", "first").await.unwrap().unwrap();
    assert_eq!(first.len(), 1);
    assert!(first.views().all(|v| v.record.owner.is_some()), "r0 is assigned");

    // Keep the writer busy until released, and queue a change of r0's row behind it.
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = std::sync::Mutex::new(release_rx);
    // Held on its first run only: when the refused batch shares its group, the group is
    // redone, and this job with it.
    let mut held = false;
    let busy = store.write(move |_txn| {
        if !held && let Ok(rx) = release_rx.lock() {
            held = true;
            let _ = rx.recv_timeout(Duration::from_secs(30));
        }
        Ok::<(), allot::store::StoreError>(())
    });
    // r0's row as the first ingest committed it.
    let (old, bytes) = store.read().unwrap().records().unwrap().row("r0").unwrap().unwrap();
    let mut changed = old.clone();
    changed.name = "changed behind the actor's back".into();
    let tamper_row = RecordBatch {
        rows: vec![RecordRow::new(Some((&old, bytes.as_slice())), &changed).unwrap()],
        ..RecordBatch::default()
    };
    let tamper = store.write(move |txn| txn.apply(&tamper_row));
    // Decided on the old row while the writer is held; then one more batch behind it.
    let stale = ingest("r0", "second");
    let behind = ingest("r1", "behind");
    // Once the actor answers a later message, it has decided (and queued) both ingests.
    sellers.send(GetSellerView(id("s1"))).await.unwrap().unwrap();
    release.send(()).unwrap();
    busy.await.unwrap();
    tamper.await.unwrap();
    let stale = stale.await.unwrap();
    let behind = behind.await.unwrap();
    assert!(stale.is_err(), "the batch decided on the old row is refused: {stale:?}");
    assert!(behind.is_err(), "the batch queued behind it is refused too: {behind:?}");
    let txn = store.read().unwrap();
    assert!(
        txn.record("r1").unwrap().is_none(),
        "nothing of the refused batch is stored"
    );
    assert_eq!(read_record(&txn, "r0").name, "changed behind the actor's back");
    drop(txn);

    // Resynchronised: the next batches are decided on the store, and the counters in
    // memory are the store's.
    for (i, rec_id) in ["r0", "r1", "r2"].iter().enumerate() {
        let views = ingest(rec_id, &format!("after {i}")).await.unwrap().unwrap();
        assert!(
            views.views().all(|v| v.record.owner.is_some()),
            "{rec_id} is assigned after the resync"
        );
    }
    let txn = store.read().unwrap();
    let mut owned = std::collections::HashMap::<String, u64>::new();
    for r in ["r0", "r1", "r2"] {
        let rec = read_record(&txn, r);
        assert_eq!(
            rec.name,
            format!("after {}", ["r0", "r1", "r2"].iter().position(|x| *x == r).unwrap())
        );
        *owned.entry(rec.owner.unwrap().id.to_string()).or_default() += 1;
    }
    for s in ["s1", "s3"] {
        let view = sellers.send(GetSellerView(id(s))).await.unwrap().unwrap();
        assert_eq!(
            view.open_records,
            owned.get(s).copied().unwrap_or(0),
            "{s}: open records in memory equal the records it owns in the store"
        );
    }
}

fn read_record(txn: &ReadTxn, rec_id: &str) -> allot::domain::record::StoredRecord {
    txn.record(rec_id)
        .unwrap_or_else(|e| panic!("reading {rec_id}: {e}"))
        .unwrap_or_else(|| panic!("{rec_id} is stored"))
}
