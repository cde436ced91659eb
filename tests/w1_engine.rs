//! The record-processing engine on W1's catalog and sellers, in memory: segmenting a
//! record on the way in (`presegment`) decides exactly what segmenting it in `process`
//! does.
//!
//! An integration test, not a unit test inside `src/pipeline/engine.rs`, because W1's
//! definitions live in the `allot-w1` package, which depends on `allot`: only tests
//! outside the library may use it.

use allot::domain::Id;
use allot::domain::record::{Owner, RecordInput, StoredRecord};
use allot::pipeline::catalog::SegmentCatalog;
use allot::pipeline::engine::{Env, Mode, Presegmented, Rng, presegment, process};
use allot::scripting::Scripting;
use allot_w1::workload as w1;
use chrono::Duration;

/// Segment, rule, owner and error of each lead.
type Outcome = (Option<Id>, Option<Id>, Option<Owner>, Option<String>);

fn run(
    catalog: &SegmentCatalog,
    scripting: &Scripting,
    hints: impl Fn(&RecordInput) -> Option<Presegmented>,
) -> Vec<Outcome> {
    let mut book = w1::book();
    let mut rng = Rng::from_seed(7);
    let now = w1::epoch() + Duration::days(30);
    (0..300)
        .map(|i| {
            let input = w1::lead(i);
            let pre = hints(&input);
            let created = input.created_on.unwrap_or(now);
            let mut rec = StoredRecord::new_pending(input, i + 1, created);
            let mut env = Env {
                catalog,
                scripting,
                now,
                rng: &mut rng,
            };
            process(&mut env, &mut book, &mut rec, Mode::Process { resegment: true }, pre);
            (rec.segment_id, rec.rule_id, rec.owner, rec.error_details)
        })
        .collect()
}

/// Segmenting on the way in decides exactly what segmenting in `process` does; a
/// hint of another catalog generation or another `created_on` is not used.
#[test]
fn a_presegmented_record_is_decided_as_if_segmented_here() {
    let scripting = Scripting::new();
    let catalog = w1::catalog(&scripting);
    let now = w1::epoch() + Duration::days(30);
    let plain = run(&catalog, &scripting, |_| None);
    assert!(plain.iter().all(|d| d.2.is_some()), "W1 assigns every lead");
    let hinted = run(&catalog, &scripting, |input| {
        Some(presegment(&catalog, &scripting, input, now))
    });
    assert_eq!(hinted, plain);

    // A wrong answer under a stale generation or created_on is never used.
    let wrong = |input: &RecordInput, generation: u64, shift: i64| {
        let mut p = presegment(&catalog, &scripting, input, now);
        p.generation = generation;
        p.created_on += Duration::seconds(shift);
        p.segment = Ok(Some(Id::parse("id", "w1-99").unwrap_or_else(|e| panic!("{e}"))));
        Some(p)
    };
    let stale_generation = run(&catalog, &scripting, |input| wrong(input, catalog.generation + 1, 0));
    assert_eq!(stale_generation, plain);
    let stale_created = run(&catalog, &scripting, |input| wrong(input, catalog.generation, 1));
    assert_eq!(stale_created, plain);
    // And a fresh one is used as given (the hint is what decides).
    let used = run(&catalog, &scripting, |input| wrong(input, catalog.generation, 0));
    assert!(
        used.iter().all(|d| d.0.is_none()),
        "an unknown segment id leaves the record unsegmented"
    );
}
