//! Batch ingest: posting records 1000 per POST from concurrent clients, waiting until a
//! record type's summary shows them all processed, and what the server spent meanwhile
//! (its CPU by thread, the store writer's counters from `/metrics`). The W1 leads'
//! ingest phase is here; the runs' backlog is posted and awaited the same way.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::driver::{BATCH, IngestFigures, StoreDelta, W1Options};
use crate::procfs::{self, CpuSnapshot, CpuUse};
use crate::report::thousands;
use crate::workload as w1;
use crate::{DriverError, Result};

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Summary {
    pub(crate) to_be_processed: u64,
    pub(crate) processed: u64,
    pub(crate) unassigned: u64,
    pub(crate) needs_attention: u64,
}

pub(crate) fn summary(client: &Client, record_type: &str) -> Result<Summary> {
    let v = client.get(&format!("/api/v1/record-types/{record_type}/summary"))?;
    let field = |k: &str| {
        v[k].as_u64()
            .ok_or_else(|| DriverError(format!("summary of {record_type}: no {k} in {v}")))
    };
    Ok(Summary {
        to_be_processed: field("to_be_processed")?,
        processed: field("processed")?,
        unassigned: field("unassigned")?,
        needs_attention: field("needs_attention")?,
    })
}

/// Posts records `range` (`write` appends record `i`'s JSON), 1000 per POST from
/// `clients` threads; calls `tick` about once a second while they run.
pub(crate) fn post_batches(
    client: &Client,
    range: std::ops::Range<u64>,
    clients: usize,
    write: &(dyn Fn(u64, &mut String) + Sync),
    mut tick: impl FnMut(u64) -> Result<()>,
) -> Result<()> {
    let batches = (range.end - range.start).div_ceil(BATCH);
    let next = AtomicU64::new(0);
    let posted = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    let c = client.fresh();
                    let mut body = String::with_capacity(BATCH as usize * 256 + 16);
                    let mut out = Vec::with_capacity(1 << 20);
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= batches || failed.load(Ordering::Relaxed) {
                            return Ok(());
                        }
                        let lo = range.start + k * BATCH;
                        let hi = (lo + BATCH).min(range.end);
                        body.clear();
                        body.push_str(r#"{"records":["#);
                        for i in lo..hi {
                            if i > lo {
                                body.push(',');
                            }
                            write(i, &mut body);
                        }
                        body.push_str("]}");
                        let answer = c.send("POST", "/api/v1/records", Some(body.as_bytes()), &mut out);
                        match answer {
                            Ok(a) if a.status == 202 => {
                                posted.fetch_add(hi - lo, Ordering::Relaxed);
                            }
                            Ok(a) => {
                                failed.store(true, Ordering::Relaxed);
                                return Err(DriverError(format!(
                                    "POST /api/v1/records (records {lo}..{hi}) answered {}: {}",
                                    a.status,
                                    String::from_utf8_lossy(&out[..out.len().min(2000)])
                                )));
                            }
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                })
            })
            .collect();
        let mut last_tick = Instant::now();
        while !handles.iter().all(|h| h.is_finished()) {
            std::thread::sleep(Duration::from_millis(20));
            if last_tick.elapsed() >= Duration::from_secs(1) {
                last_tick = Instant::now();
                if let Err(e) = tick(posted.load(Ordering::Relaxed)) {
                    failed.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        for h in handles {
            h.join()
                .map_err(|_| DriverError::new("an ingest client thread panicked"))??;
        }
        Ok(())
    })
}

/// Polls the summary of `record_type` until nothing waits and `processed` reaches
/// `expected`; fails when nothing moves for a minute.
pub(crate) fn wait_processed(client: &Client, record_type: &str, expected: u64) -> Result<Summary> {
    let mut last = summary(client, record_type)?;
    let mut moved = Instant::now();
    loop {
        if last.to_be_processed == 0 && last.processed >= expected {
            return Ok(last);
        }
        std::thread::sleep(Duration::from_millis(10));
        let now = summary(client, record_type)?;
        if now.processed != last.processed || now.to_be_processed != last.to_be_processed {
            moved = Instant::now();
        } else if moved.elapsed() > Duration::from_secs(60) {
            return Err(DriverError(format!(
                "{record_type}: nothing processed for 60 s; {} processed, {} to be processed, {expected} expected",
                now.processed, now.to_be_processed
            )));
        }
        last = now;
    }
}

pub(crate) fn ingest_leads(client: &Client, opts: &W1Options, pid: Option<u32>) -> Result<IngestFigures> {
    let metrics_before = metrics(client);
    let cpu_before = CpuSnapshot::take(pid);
    let started = Instant::now();
    let mut last_print = Instant::now();
    let poll = client.fresh();
    post_batches(client, 0..opts.n, opts.clients, &w1::write_lead_json, |posted| {
        if last_print.elapsed() >= Duration::from_secs(10) {
            last_print = Instant::now();
            let s = summary(&poll, "lead")?;
            println!(
                "  … {:.0} s: {} acknowledged, {} processed",
                started.elapsed().as_secs_f64(),
                thousands(posted),
                thousands(s.processed)
            );
        }
        Ok(())
    })?;
    let acknowledged = started.elapsed();
    wait_processed(client, "lead", opts.n)?;
    let elapsed = started.elapsed();
    let cpu = CpuSnapshot::take(pid).since(&cpu_before);
    let store = StoreDelta::between(metrics_before, metrics(client));
    let figures = IngestFigures {
        records: opts.n,
        seconds: elapsed.as_secs_f64(),
        acknowledged_seconds: acknowledged.as_secs_f64(),
        cpu,
        store,
    };
    println!(
        "batch ingest: {} leads, {} per POST, {} client(s): all acknowledged after {:.2} s, all processed after {:.2} s = {} records/s",
        thousands(opts.n),
        BATCH,
        opts.clients,
        figures.acknowledged_seconds,
        figures.seconds,
        thousands(figures.records_per_second().round() as u64)
    );
    print_cpu(&figures.cpu, figures.seconds);
    if let Some(s) = &figures.store {
        s.print(figures.seconds);
    }
    Ok(figures)
}

impl StoreDelta {
    pub(crate) fn between(before: Option<StoreMetrics>, after: Option<StoreMetrics>) -> Option<StoreDelta> {
        let (a, b) = (before?, after?);
        Some(StoreDelta {
            commits: b.commits - a.commits,
            jobs: b.jobs - a.jobs,
            commit_seconds: b.commit_seconds - a.commit_seconds,
            ingest_requests: b.ingest_requests - a.ingest_requests,
            ingest_request_seconds: b.ingest_request_seconds - a.ingest_request_seconds,
        })
    }

    pub(crate) fn print(&self, wall: f64) {
        println!(
            "  store: {:.0} group commits ({:.2} write jobs each); the writer thread was busy {:.2} s building and committing them ({:.0} % of the wall); \
             server time per POST /records {:.1} ms",
            self.commits,
            self.jobs / self.commits.max(1.0),
            self.commit_seconds,
            100.0 * self.commit_seconds / wall,
            1e3 * self.ingest_request_seconds / self.ingest_requests.max(1.0)
        );
    }
}

pub(crate) fn print_cpu(cpu: &CpuUse, wall: f64) {
    let cores = procfs::cores() as f64;
    let mut parts = Vec::new();
    if let Some(s) = cpu.server {
        parts.push(format!("server {s:.1} s"));
    }
    if let Some(d) = cpu.driver {
        parts.push(format!("driver {d:.1} s"));
    }
    if let (Some(busy), Some(idle)) = (cpu.machine_busy, cpu.machine_idle) {
        let ours = cpu.server.unwrap_or(0.0) + cpu.driver.unwrap_or(0.0);
        parts.push(format!("other processes {:.1} s", (busy - ours).max(0.0)));
        parts.push(format!("idle {idle:.1} s"));
    }
    println!(
        "  CPU over {wall:.2} s wall × {cores:.0} cores = {:.1} core-seconds: {}",
        wall * cores,
        parts.join(", ")
    );
    if !cpu.threads.is_empty() {
        // Summed by thread name (the HTTP workers share one), in order of creation.
        let mut by_name: Vec<(String, usize, f64)> = Vec::new();
        for (_, name, s) in &cpu.threads {
            match by_name.iter_mut().find(|(n, ..)| n == name) {
                Some(entry) => {
                    entry.1 += 1;
                    entry.2 += s;
                }
                None => by_name.push((name.clone(), 1, *s)),
            }
        }
        let threads: Vec<String> = by_name
            .iter()
            .filter(|(.., s)| *s >= 0.05)
            .map(|(name, count, s)| match count {
                1 => format!("{name} {s:.1} s"),
                _ => format!("{name} (×{count}) {s:.1} s"),
            })
            .collect();
        println!("  server threads: {}", threads.join(", "));
    }
}

#[derive(Clone, Copy)]
pub(crate) struct StoreMetrics {
    commits: f64,
    jobs: f64,
    commit_seconds: f64,
    ingest_requests: f64,
    ingest_request_seconds: f64,
}

/// The store writer's counters and the ingest route's time from `/metrics`.
pub(crate) fn metrics(client: &Client) -> Option<StoreMetrics> {
    let (status, text) = client.get_text("/metrics").ok()?;
    if status != 200 {
        return None;
    }
    let mut m = StoreMetrics {
        commits: 0.0,
        jobs: 0.0,
        commit_seconds: 0.0,
        ingest_requests: 0.0,
        ingest_request_seconds: 0.0,
    };
    for line in text.lines() {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let ingest_route = name.contains(r#"method="POST",route="/api/v1/records""#);
        match name {
            "allot_store_commits_total" => m.commits = value,
            "allot_store_jobs_total" => m.jobs = value,
            "allot_store_commit_seconds_total" => m.commit_seconds = value,
            _ if ingest_route && name.starts_with("allot_http_request_duration_seconds_sum") => {
                m.ingest_request_seconds += value
            }
            _ if ingest_route && name.starts_with("allot_http_request_duration_seconds_count") => {
                m.ingest_requests += value
            }
            _ => {}
        }
    }
    Some(m)
}
