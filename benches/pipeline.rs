//! Segmentation + assignment over in-memory state on W1 (20 segments plus a catch-all,
//! 2 rules each, 500 sellers): no HTTP, no store. Prints records/s and the decisions
//! digest, so a regression in speed or in decisions shows.
//!
//! `cargo bench --bench pipeline` (N from `W1_N`, default 100000).

use std::collections::HashMap;
use std::time::Instant;

use allot::domain::record::StoredRecord;
use allot::pipeline::engine::{self, Env, Mode, Rng};
use allot::scripting::Scripting;
use allot_w1::workload as w1;

fn record(i: u64) -> StoredRecord {
    let input = w1::lead(i);
    let created = input.created_on.unwrap_or_else(w1::epoch);
    StoredRecord::new_pending(input, i + 1, created)
}

fn main() {
    let n: u64 = std::env::var("W1_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let scripting = Scripting::new();
    let cat = w1::catalog(&scripting);
    let mut book = w1::book();
    let seg_pos: HashMap<String, u64> = w1::SEGMENTS
        .iter()
        .enumerate()
        .map(|(i, s)| (s.0.to_string(), i as u64))
        .collect();
    let mut rng = Rng::seeded();
    let now = w1::epoch() + chrono::Duration::days(30);
    let records: Vec<StoredRecord> = (0..n).map(record).collect();
    let started = Instant::now();
    let mut decisions: Vec<(u64, u64, u64)> = Vec::with_capacity(n as usize);
    let (mut by_rr, mut by_lb, mut unassigned) = (0u64, 0u64, 0u64);
    for mut rec in records {
        let mut env = Env {
            catalog: &cat,
            scripting: &scripting,
            now,
            rng: &mut rng,
        };
        engine::process(&mut env, &mut book, &mut rec, Mode::Process { resegment: true }, None);
        match (&rec.owner, &rec.rule_id, &rec.segment_id) {
            (Some(owner), Some(rule), Some(seg)) => {
                let rule_pos = u64::from(rule.as_str().ends_with("-lb"));
                if rule_pos == 0 {
                    by_rr += 1
                } else {
                    by_lb += 1
                }
                let seller_pos: u64 = owner.id.as_str()[2..].parse().unwrap_or(u64::MAX);
                decisions.push((seg_pos[seg.as_str()], rule_pos, seller_pos));
            }
            _ => unassigned += 1,
        }
    }
    let elapsed = started.elapsed();
    println!(
        "W1 in-memory pipeline: N={n} in {:.3} s = {:.0} records/s ({:.2} us/record) on 1 thread",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "assigned by -rr {:.2} %, by -lb {:.2} %, unassigned {unassigned}",
        by_rr as f64 * 100.0 / n as f64,
        by_lb as f64 * 100.0 / n as f64
    );
    for (name, digest) in digests(&decisions) {
        println!("digest {name}: {digest:016x}");
    }
}

fn fnv(bytes: impl Iterator<Item = u8>, mut h: u64) -> u64 {
    for b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// W1.md gives the digest as FNV-1a over segment, rule and seller positions, lead by
/// lead; the byte layout is not spelled out, so the common ones are printed.
fn digests(d: &[(u64, u64, u64)]) -> Vec<(&'static str, u64)> {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    let mut out = Vec::new();
    let mut h = OFFSET;
    for (s, r, p) in d {
        h = fnv(
            [*s as u32, *r as u32, *p as u32].iter().flat_map(|x| x.to_le_bytes()),
            h,
        );
    }
    out.push(("u32le", h));
    let mut h = OFFSET;
    for (s, r, p) in d {
        h = fnv([*s, *r, *p].iter().flat_map(|x| x.to_le_bytes()), h);
    }
    out.push(("u64le", h));
    let mut h = OFFSET;
    for (s, r, p) in d {
        h = fnv(
            [*s as u16, *r as u16, *p as u16].iter().flat_map(|x| x.to_le_bytes()),
            h,
        );
    }
    out.push(("u16le", h));
    let mut h = OFFSET;
    for (s, r, p) in d {
        h = fnv(format!("{s},{r},{p}\n").into_bytes().into_iter(), h);
    }
    out.push(("text", h));
    let mut h = OFFSET;
    for (s, r, p) in d {
        h = fnv([*s as u8, *r as u8].into_iter().chain((*p as u16).to_le_bytes()), h);
    }
    out.push(("u8,u8,u16le", h));
    out
}
