//! Micro-benchmarks (criterion) of the hot functions of record processing, on W1:
//! deciding one lead, segmenting one, encoding and decoding a record row, parsing a
//! 1000-lead batch body, and one durable commit of a 1000-lead batch (records,
//! monitor-view index, history) into a real redb file.
//!
//! `cargo bench --bench hot` (add `-- <filter>` for one group). Compare runs with
//! criterion's own report: a regression shows as "Performance has regressed".

use std::hint::black_box;
use std::time::{Duration, Instant};

use allot::domain::history::{ChangedBy, HistoryEntry};
use allot::domain::record::{Owner, StoredRecord};
use allot::pipeline::book::SellerBook;
use allot::pipeline::catalog::SegmentCatalog;
use allot::pipeline::engine::{self, Env, Mode, Rng};
use allot::scripting::{Bindings, ScriptPurpose, Scripting};
use allot::store::{RecordBatch, RecordRow, Store, decode_record};
use allot_w1::workload as w1;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

struct W1 {
    scripting: Scripting,
    catalog: SegmentCatalog,
    book: SellerBook,
    rng: Rng,
}

impl W1 {
    fn new() -> W1 {
        let scripting = Scripting::new();
        let catalog = w1::catalog(&scripting);
        W1 {
            scripting,
            catalog,
            book: w1::book(),
            rng: Rng::seeded(),
        }
    }

    fn pending(i: u64) -> StoredRecord {
        let input = w1::lead(i);
        let created = input.created_on.unwrap_or_else(w1::epoch);
        StoredRecord::new_pending(input, i + 1, created)
    }

    /// Lead `i` as processing leaves it (segment, owner, decision).
    fn processed(&mut self, i: u64) -> StoredRecord {
        let mut rec = W1::pending(i);
        let mut env = Env {
            catalog: &self.catalog,
            scripting: &self.scripting,
            now: w1::epoch() + chrono::Duration::days(30),
            rng: &mut self.rng,
        };
        engine::process(
            &mut env,
            &mut self.book,
            &mut rec,
            Mode::Process { resegment: true },
            None,
        );
        rec
    }
}

fn decide(c: &mut Criterion) {
    let mut w = W1::new();
    let mut i = 0u64;
    c.bench_function("engine/process one W1 lead", |b| {
        b.iter_batched(
            || {
                i += 1;
                W1::pending(i)
            },
            |mut rec| {
                let mut env = Env {
                    catalog: &w.catalog,
                    scripting: &w.scripting,
                    now: w1::epoch() + chrono::Duration::days(30),
                    rng: &mut w.rng,
                };
                engine::process(&mut env, &mut w.book, &mut rec, Mode::Process { resegment: true }, None)
            },
            BatchSize::SmallInput,
        )
    });
}

fn scripts(c: &mut Criterion) {
    let w = W1::new();
    let input = w1::lead(7);
    let now = w1::epoch() + chrono::Duration::days(30);
    c.bench_function(
        "scripts/segment one W1 lead (all segment conditions up to the match)",
        |b| b.iter(|| engine::presegment(&w.catalog, &w.scripting, black_box(&input), now)),
    );
    let script = w
        .scripting
        .compile(
            ScriptPurpose::RecordCondition,
            r#"record.country == "FR" && record.revenue > 50000"#,
        )
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("compiles"));
    let mut bindings = Bindings::new(allot::pipeline::engine::script_record(&W1::pending(7), now));
    c.bench_function("scripts/one W1 segment condition", |b| {
        b.iter(|| w.scripting.eval_condition_in(&script, &mut bindings))
    });
}

fn rows(c: &mut Criterion) {
    let mut w = W1::new();
    let rec = w.processed(7);
    let bytes = RecordRow::new(None, &rec)
        .unwrap_or_else(|e| panic!("{e}"))
        .bytes()
        .to_vec();
    println!("a processed W1 lead's row: {} bytes", bytes.len());
    c.bench_function("rows/encode a W1 record row with its index keys", |b| {
        b.iter(|| RecordRow::new(None, black_box(&rec)))
    });
    c.bench_function("rows/decode a W1 record row", |b| {
        b.iter(|| decode_record("lead-0000007", black_box(&bytes)))
    });
}

fn parse(c: &mut Criterion) {
    let mut body = String::from(r#"{"records":["#);
    for i in 0..1000 {
        if i > 0 {
            body.push(',');
        }
        w1::write_lead_json(i, &mut body);
    }
    body.push_str("]}");
    let parsed = allot::ops::records::parse_ingest_body(body.as_bytes());
    assert!(
        parsed.is_ok_and(|(records, batch)| records.len() == 1000 && batch),
        "the W1 body parses"
    );
    c.bench_function("http/parse a 1000-lead W1 batch body (strict, typed)", |b| {
        b.iter(|| allot::ops::records::parse_ingest_body(black_box(body.as_bytes())))
    });
}

fn history_entry(rec: &StoredRecord) -> HistoryEntry {
    HistoryEntry {
        id: String::new(),
        record_id: rec.id.clone(),
        record_type: rec.record_type.clone(),
        assignee: rec.owner.clone().unwrap_or_else(|| Owner::seller(rec.id.clone())),
        previous_owner: None,
        at: rec.updated_at,
        by: ChangedBy::Rule,
        rule_id: rec.rule_id.clone(),
        run_id: None,
        actor: "system".into(),
    }
}

fn commit(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut w = W1::new();
    let mut next = 0u64;
    let mut group = c.benchmark_group("store");
    group.sample_size(20).measurement_time(Duration::from_secs(10));
    group.bench_function("commit 1000 new W1 leads with history (durable)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut batch = RecordBatch::default();
                for _ in 0..1000 {
                    next += 1;
                    let rec = w.processed(next);
                    batch
                        .rows
                        .push(RecordRow::new(None, &rec).unwrap_or_else(|e| panic!("{e}")));
                    batch.history.push(history_entry(&rec));
                }
                let started = Instant::now();
                rt.block_on(store.write(move |txn| txn.apply(&batch)))
                    .unwrap_or_else(|e| panic!("{e}"));
                total += started.elapsed();
            }
            total
        })
    });
    group.finish();
    store.close();
}

criterion_group!(benches, decide, scripts, rows, parse, commit);
criterion_main!(benches);
