//! The decisions check: the lead summary, then each checked lead's status view against
//! what W1 expects of it (segment, rule, seller of the lead's country for -rr), a sample
//! by `GET /records/{id}` or every lead paged from the processed view, and over a full
//! check W1.md's decisions digest.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde_json::Value;

use crate::client::Client;
use crate::driver::{CheckFigures, W1Options};
use crate::ingest::summary;
use crate::report::thousands;
use crate::workload as w1;
use crate::{DriverError, Result};

/// Checks lead `i`'s status view against W1; answers the rule position (0 for -rr, 1
/// for -lb) and seller position, or what is wrong.
fn check_lead(i: u64, view: &Value) -> std::result::Result<(u64, u64, u64), String> {
    let a = w1::lead_attributes(i);
    let seg = w1::expected_segment(&a);
    let seg_id = w1::SEGMENTS[seg].0;
    let rr = w1::expects_round_robin(&a);
    let rule = format!("{seg_id}-{}", if rr { "rr" } else { "lb" });
    let id = format!("lead-{i:07}");
    let stage = view["stage"].as_str().unwrap_or("");
    if view["id"].as_str() != Some(id.as_str()) || stage != "processed" {
        return Err(format!("{id}: stage {stage:?}, id {}", view["id"]));
    }
    if view["segment_id"].as_str() != Some(seg_id) {
        return Err(format!("{id}: segment {} (W1 expects {seg_id})", view["segment_id"]));
    }
    if view["rule_id"].as_str() != Some(rule.as_str()) {
        return Err(format!(
            "{id}: rule {} (W1 expects {rule}), status {}",
            view["rule_id"], view["status_reason"]
        ));
    }
    let owner = &view["owner"];
    let seller = owner["id"]
        .as_str()
        .filter(|_| owner["type"] == "seller")
        .and_then(|s| s.strip_prefix("s-"))
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|j| *j < w1::SELLERS)
        .ok_or_else(|| format!("{id}: owner {owner} is not a W1 seller"))?;
    if rr && w1::COUNTRIES[seller % 10] != a.country {
        return Err(format!(
            "{id}: -rr assigned s-{seller:03} of {}, the lead is from {}",
            w1::COUNTRIES[seller % 10],
            a.country
        ));
    }
    Ok((seg as u64, u64::from(!rr), seller as u64))
}

/// FNV-1a over each lead's (segment, rule, seller) positions as three u32 LE.
struct Digest(u64);

impl Digest {
    fn new() -> Digest {
        Digest(0xcbf2_9ce4_8422_2325)
    }

    fn add(&mut self, (seg, rule, seller): (u64, u64, u64)) {
        for x in [seg as u32, rule as u32, seller as u32] {
            for b in x.to_le_bytes() {
                self.0 ^= u64::from(b);
                self.0 = self.0.wrapping_mul(0x100_0000_01b3);
            }
        }
    }
}

pub(crate) fn check_decisions(client: &Client, opts: &W1Options) -> Result<CheckFigures> {
    let started = Instant::now();
    let s = summary(client, "lead")?;
    let expected_rr = (0..opts.n)
        .filter(|i| w1::expects_round_robin(&w1::lead_attributes(*i)))
        .count() as u64;
    let mut fig = CheckFigures {
        processed: s.processed,
        unassigned: s.unassigned,
        needs_attention: s.needs_attention,
        to_be_processed: s.to_be_processed,
        expected_rr_share: expected_rr as f64 / opts.n as f64,
        ..Default::default()
    };
    let tally = Mutex::new(&mut fig);
    let record = |i: u64, view: &Value| {
        let outcome = check_lead(i, view);
        if let Ok(mut f) = tally.lock() {
            f.checked += 1;
            match outcome {
                Ok((_, 0, _)) => f.by_rr += 1,
                Ok(_) => f.by_lb += 1,
                Err(e) => {
                    f.wrong += 1;
                    if f.first_wrong.len() < 5 {
                        f.first_wrong.push(e);
                    }
                }
            }
        }
    };
    let mut digest = None;
    if opts.full_check {
        // Every lead, oldest created_on first (= lead order), 1000 per page.
        let mut d = Digest::new();
        let mut after: Option<String> = None;
        let mut expected_i = 0u64;
        loop {
            let path = match &after {
                Some(c) => format!("/api/v1/records?record_type=lead&view=processed&limit=1000&after={c}"),
                None => "/api/v1/records?record_type=lead&view=processed&limit=1000".to_string(),
            };
            let page = client.get(&path)?;
            for view in page["items"].as_array().map(Vec::as_slice).unwrap_or_default() {
                let i = view["id"]
                    .as_str()
                    .and_then(|id| id.strip_prefix("lead-"))
                    .and_then(|n| n.parse::<u64>().ok())
                    .ok_or_else(|| DriverError(format!("not a W1 lead in the processed view: {}", view["id"])))?;
                if i != expected_i {
                    return Err(DriverError(format!(
                        "the processed view lists lead-{i:07} where lead-{expected_i:07} was expected"
                    )));
                }
                expected_i += 1;
                if let Ok(positions) = check_lead(i, view) {
                    d.add(positions);
                }
                record(i, view);
            }
            match page["next"].as_str() {
                Some(c) => after = Some(c.to_string()),
                None => break,
            }
        }
        digest = Some(d.0);
    } else {
        let sample = opts.sample.clamp(1, opts.n);
        let next = AtomicU64::new(0);
        std::thread::scope(|scope| -> Result<()> {
            let handles: Vec<_> = (0..opts.clients.max(4))
                .map(|_| {
                    scope.spawn(|| -> Result<()> {
                        let c = client.fresh();
                        loop {
                            let k = next.fetch_add(1, Ordering::Relaxed);
                            if k >= sample {
                                return Ok(());
                            }
                            let i = k * opts.n / sample;
                            let view = c.get(&format!("/api/v1/records/lead-{i:07}"))?;
                            record(i, &view);
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().map_err(|_| DriverError::new("a check thread panicked"))??;
            }
            Ok(())
        })?;
    }
    fig.method = if opts.full_check { "full" } else { "sample" };
    fig.digest = digest;
    let pct = |x: u64| 100.0 * x as f64 / fig.checked.max(1) as f64;
    println!(
        "decisions: summary {} processed, {} unassigned, {} needing attention, {} to be processed; \
         {} leads checked ({}) in {:.1} s: {:.2} % by -rr, {:.2} % by -lb (W1 over these N: {:.2} % / {:.2} %), {} not as W1 expects",
        thousands(fig.processed),
        fig.unassigned,
        fig.needs_attention,
        fig.to_be_processed,
        thousands(fig.checked),
        if opts.full_check {
            "every lead, paging GET /records?view=processed"
        } else {
            "a sample, GET /records/{id}"
        },
        started.elapsed().as_secs_f64(),
        pct(fig.by_rr),
        pct(fig.by_lb),
        100.0 * fig.expected_rr_share,
        100.0 - 100.0 * fig.expected_rr_share,
        fig.wrong
    );
    for w in &fig.first_wrong {
        println!("  not as W1 expects: {w}");
    }
    if let Some(d) = fig.digest {
        println!(
            "  decisions digest {d:016x} (W1.md: 810c9725dc6ab196 for N = 1,000,000, 1e80d6e7eed9e903 for 100,000; \
             comparable only with --clients 1, since round robin follows arrival order)"
        );
    }
    Ok(fig)
}
