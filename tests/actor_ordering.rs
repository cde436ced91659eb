//! The seller-capacity actor serialises every record change: a message that reaches its
//! mailbox while an earlier one is committing must not read the record before that
//! commit, nor be overtaken by follow-up work the earlier one queued.
//!
//! Driven at the actor level so that both messages are in the mailbox before the actor
//! handles the first: over HTTP the interleaving is a matter of luck.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use allot::actors::assign::ManualAssign;
use allot::actors::records::Ingest;
use allot::actors::segment::{PutRule, SegmentActor, SubscribeCatalog};
use allot::actors::seller_capacity::SellerCapacityActor;
use allot::actors::table::Put;
use allot::domain::clock::SystemClock;
use allot::domain::config::{Rule, Segment, Seller};
use allot::domain::record::{Owner, RecordInput, Stage, StatusReason};
use allot::domain::{Id, RecordType};
use allot::scripting::Scripting;
use allot::store::Store;
use allot::store::records::read_record;
use serde_json::json;

fn id(s: &str) -> Id {
    Id::parse("id", s).unwrap()
}

#[actix::test]
async fn a_manual_assignment_queued_behind_an_ingest_is_not_overwritten_by_its_processing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let scripting = Arc::new(Scripting::new());
    let mut segment_actor = SegmentActor::load(store.clone(), scripting.clone()).unwrap();
    let catalog = Arc::new(segment_actor.catalog());
    let seller_actor = SellerCapacityActor::load(store.clone(), catalog, scripting, Arc::new(SystemClock)).unwrap();
    let segments = SegmentActor::start_in_arbiter(&Arbiter::new().handle(), |_| segment_actor);
    let sellers = SellerCapacityActor::start_in_arbiter(&Arbiter::new().handle(), |_| seller_actor);
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

    for i in 0..10 {
        let rec_id = id(&format!("r{i}"));
        let input = RecordInput {
            id: rec_id.clone(),
            record_type: RecordType::parse("t", "lead").unwrap(),
            name: String::new(),
            topic: String::new(),
            created_on: None,
            attributes: Default::default(),
        };
        // Both messages are in the mailbox before the actor handles the ingest.
        let ingest = sellers.send(Ingest {
            records: vec![input],
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
            let rec = read_record(&store.read().unwrap(), rec_id.as_str()).unwrap().unwrap();
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
