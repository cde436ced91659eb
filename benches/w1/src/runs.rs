//! The runs: 500-record runs and a run over a backlog, on records of their own type
//! `backlog` (their own sellers, segments and rules), ingested unassigned and then
//! assigned by `POST /segments/{id}/runs`, timed.

use std::time::Instant;

use serde_json::json;

use crate::client::Client;
use crate::driver::{RunFigure, RunFigures, SMALL_RUN, W1Options};
use crate::ingest::{post_batches, wait_processed};
use crate::report::{median_min_max, ms, thousands};
use crate::workload as w1;
use crate::{DriverError, Result};

/// The seller, segment and rule of one backlog set (`small` or `big`).
fn configure_backlog_set(client: &Client, set: &str, priority: u32, capacity: u64) -> Result<()> {
    client.put(
        &format!("/api/v1/sellers/bl-{set}"),
        &json!({"name": format!("Backlog {set}"), "roles": ["seller"], "record_access": ["backlog"],
                "attributes": {}, "assign_records": true, "capacity": capacity, "availability": null}),
    )?;
    client.put(
        &format!("/api/v1/segments/bl-{set}"),
        &json!({"name": format!("Backlog {set}"), "record_type": "backlog", "priority": priority, "active": true,
                "condition": format!("record.set == \"{set}\""), "sequence_id": null,
                "accept_previously_segmented": false, "run_rules_on_move": false}),
    )?;
    client.put(
        &format!("/api/v1/segments/bl-{set}/rules/bl-{set}-r"),
        &json!({"name": format!("Backlog {set}"), "priority": 1, "active": true, "condition": "",
                "created_within_hours": null, "assignment_window_hours": null,
                "assign_to": {"type": "sellers", "match": "ids", "condition": null, "ids": [format!("bl-{set}")]},
                "distribution": {"method": "round_robin", "available_within_hours": null, "use_capacity": true, "script": null}}),
    )?;
    Ok(())
}

fn write_backlog(set: &'static str) -> impl Fn(u64, &mut String) + Sync {
    move |i, out| {
        use std::fmt::Write;
        let created = w1::epoch() + chrono::Duration::seconds(i as i64);
        let _ = write!(
            out,
            r#"{{"id":"bl-{set}-{i:07}","record_type":"backlog","name":"Backlog {i}","topic":"W1 runs","created_on":"{}","attributes":{{"set":"{set}"}}}}"#,
            created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
    }
}

fn run_segment(client: &Client, segment: &str, limit: u64) -> Result<RunFigure> {
    let t = Instant::now();
    let run = client.call(
        "POST",
        &format!("/api/v1/segments/{segment}/runs"),
        Some(&json!({ "limit": limit })),
        &[201],
    )?;
    let http = t.elapsed();
    let field = |k: &str| {
        run[k]
            .as_u64()
            .ok_or_else(|| DriverError(format!("run of {segment}: no {k}")))
    };
    Ok(RunFigure {
        http,
        run_ms: field("duration_ms")?,
        considered: field("considered")?,
        assigned: field("assigned")?,
    })
}

/// Runs over records of their own type `backlog`: their sellers may take only that
/// type, so W1's leads and figures are untouched. The records are ingested while their
/// seller's capacity is 0 (so they stay unassigned, `sellers_at_capacity`), then the
/// capacity is raised and the runs are timed.
pub(crate) fn runs(client: &Client, opts: &W1Options) -> Result<RunFigures> {
    let mut fig = RunFigures {
        backlog_records: opts.backlog,
        ..Default::default()
    };
    let small = SMALL_RUN * opts.small_runs as u64;
    if small == 0 && opts.backlog == 0 {
        return Ok(fig);
    }
    configure_backlog_set(client, "small", 1, 0)?;
    configure_backlog_set(client, "big", 2, 0)?;
    let started = Instant::now();
    post_batches(client, 0..small, opts.clients, &write_backlog("small"), |_| Ok(()))?;
    post_batches(client, 0..opts.backlog, opts.clients, &write_backlog("big"), |_| Ok(()))?;
    let s = wait_processed(client, "backlog", small + opts.backlog)?;
    let seconds = started.elapsed().as_secs_f64();
    fig.backlog_ingest_per_second = Some((small + opts.backlog) as f64 / seconds);
    if s.unassigned != small + opts.backlog {
        return Err(DriverError(format!(
            "backlog: {} unassigned after ingest, {} expected",
            s.unassigned,
            small + opts.backlog
        )));
    }
    println!(
        "runs: {} backlog records ingested unassigned (seller at capacity 0) in {seconds:.1} s",
        thousands(small + opts.backlog)
    );
    if small > 0 {
        configure_backlog_set(client, "small", 1, 1_000_000)?;
        for _ in 0..opts.small_runs {
            let r = run_segment(client, "bl-small", SMALL_RUN)?;
            if r.considered != SMALL_RUN || r.assigned != SMALL_RUN {
                return Err(DriverError(format!(
                    "run of bl-small considered {} and assigned {}, {SMALL_RUN} expected",
                    r.considered, r.assigned
                )));
            }
            fig.small.push(r);
        }
        let http: Vec<f64> = fig.small.iter().map(|r| ms(r.http)).collect();
        let own: Vec<f64> = fig.small.iter().map(|r| r.run_ms as f64).collect();
        if let (Some((h, hmin, hmax)), Some((o, omin, omax))) = (median_min_max(&http), median_min_max(&own)) {
            println!(
                "runs of {SMALL_RUN} unassigned records × {}: round trip median {h:.1} ms ({hmin:.1} … {hmax:.1}); run's own duration_ms median {o:.0} ({omin:.0} … {omax:.0})",
                fig.small.len()
            );
        }
    }
    if opts.backlog > 0 {
        configure_backlog_set(client, "big", 2, 1_000_000)?;
        let r = run_segment(client, "bl-big", opts.backlog)?;
        if r.considered != opts.backlog || r.assigned != opts.backlog {
            return Err(DriverError(format!(
                "run of bl-big considered {} and assigned {}, {} expected",
                r.considered, r.assigned, opts.backlog
            )));
        }
        println!(
            "run over a backlog of {} (limit {}): round trip {:.2} s; run's own duration_ms {}",
            thousands(opts.backlog),
            opts.backlog,
            r.http.as_secs_f64(),
            r.run_ms
        );
        fig.backlog = Some(r);
    }
    Ok(fig)
}
