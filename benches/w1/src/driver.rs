//! The W1 load driver: configures W1 over the HTTP API, then measures each figure of the
//! performance bars (`../shared/DESIGN.md`) and prints it beside its bar.
//!
//! Phases, in this order (each says what it measures in its output):
//! 1. configuration: settings, 500 sellers, 21 segments, 42 rules (`PUT`s);
//! 2. batch ingest: leads 0 … N−1 as `{"records": [...]}`, 1000 per POST, from C
//!    clients, timed until the lead summary shows all N processed;
//! 3. memory with N stored (`VmRSS`, `VmHWM` of the server process);
//! 4. decisions: the lead summary (all processed, none unassigned), and a sample of
//!    `GET /records/{id}` checked lead by lead against W1's expectation (segment, rule,
//!    seller country), or with `full_check` every lead paged from the processed view;
//! 5. restart: SIGTERM, start again, time until `/healthz` is 200;
//! 6. single-record latency: 16 clients posting one fresh lead each with `?wait=true`;
//! 7. runs: 500-record runs and a run over a backlog, on a record type of their own
//!    (`backlog`) so that W1's leads, sellers and figures are untouched.
//!
//! Restart and memory need the server's process: they are measured only when the
//! driver started the server itself.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::client::Client;
use crate::procfs::{self, CpuSnapshot, CpuUse, Memory};
use crate::report::{Row, median_min_max, mib, ms, percentile, table, thousands};
use crate::server::ServerProcess;
use crate::workload as w1;
use crate::{DriverError, Result};

/// Records per POST, as W1.md posts them.
pub const BATCH: u64 = 1000;
/// N of the bars.
pub const BAR_N: u64 = 1_000_000;
/// Records in a small run, as the bar says.
pub const SMALL_RUN: u64 = 500;

/// The server to measure.
#[derive(Clone, Debug)]
pub enum Target {
    /// Start `exe serve` on a fresh data directory (made under `data_parent`, the system
    /// temporary directory when None; removed at the end unless `keep_data`). `exe` takes
    /// the options of `allot serve`: an `allot` binary, or `allot-w1` itself.
    Spawn {
        exe: PathBuf,
        workers: usize,
        data_parent: Option<PathBuf>,
        keep_data: bool,
    },
    /// A running server; it must hold no leads yet.
    Url { url: String, token: String },
}

#[derive(Clone, Debug)]
pub struct W1Options {
    /// Leads to ingest (W1's N).
    pub n: u64,
    /// Concurrent clients of the batch ingest (and of the sample check).
    pub clients: usize,
    /// Concurrent clients of the single-record latency phase.
    pub latency_clients: usize,
    /// Single-record requests in all (0 skips the phase).
    pub latency_requests: u64,
    /// Runs of 500 records (0 skips them).
    pub small_runs: usize,
    /// Records of the backlog run (0 skips it).
    pub backlog: u64,
    /// Leads checked with `GET /records/{id}`, evenly spread over 0 … N−1.
    pub sample: u64,
    /// Check every lead (paging the processed view) instead of a sample.
    pub full_check: bool,
    pub target: Target,
}

impl W1Options {
    /// The defaults of `allot-w1`.
    pub fn new(n: u64, target: Target) -> W1Options {
        W1Options {
            n,
            clients: 4,
            latency_clients: 16,
            latency_requests: 20_000,
            small_runs: 5,
            backlog: 100_000,
            sample: 10_000,
            full_check: false,
            target,
        }
    }
}

pub struct IngestFigures {
    pub records: u64,
    /// From the first POST until the summary showed every record processed.
    pub seconds: f64,
    /// From the first POST until the last one was answered (stored, not yet processed).
    pub acknowledged_seconds: f64,
    pub cpu: CpuUse,
    pub store: Option<StoreDelta>,
}

impl IngestFigures {
    pub fn records_per_second(&self) -> f64 {
        self.records as f64 / self.seconds
    }
}

/// The store writer's counters (from `/metrics`) over a phase.
pub struct StoreDelta {
    pub commits: f64,
    pub jobs: f64,
    pub commit_seconds: f64,
    pub ingest_requests: f64,
    pub ingest_request_seconds: f64,
}

#[derive(Default)]
pub struct CheckFigures {
    pub processed: u64,
    pub unassigned: u64,
    pub needs_attention: u64,
    pub to_be_processed: u64,
    /// How the leads were checked: `sample` or `full`.
    pub method: &'static str,
    pub checked: u64,
    pub by_rr: u64,
    pub by_lb: u64,
    pub wrong: u64,
    pub first_wrong: Vec<String>,
    /// Share of -rr over all N leads, from the generator.
    pub expected_rr_share: f64,
    /// W1.md's decisions digest, over every lead (full check only).
    pub digest: Option<u64>,
}

impl CheckFigures {
    /// Every lead processed and assigned, and every checked lead as W1 expects.
    pub fn ok(&self, n: u64) -> bool {
        self.processed == n && self.unassigned == 0 && self.to_be_processed == 0 && self.wrong == 0 && self.checked > 0
    }
}

pub struct LatencyFigures {
    pub requests: u64,
    pub clients: usize,
    pub seconds: f64,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
}

#[derive(Clone, Debug)]
pub struct RunFigure {
    /// Round trip of `POST /segments/{id}/runs`.
    pub http: Duration,
    /// The run's own `duration_ms`.
    pub run_ms: u64,
    pub considered: u64,
    pub assigned: u64,
}

#[derive(Default)]
pub struct RunFigures {
    pub small: Vec<RunFigure>,
    pub backlog: Option<RunFigure>,
    pub backlog_records: u64,
    /// Backlog records ingested per second (unassignable on ingest; context only).
    pub backlog_ingest_per_second: Option<f64>,
}

pub struct RestartFigures {
    /// SIGTERM until the process exited.
    pub stop: Duration,
    /// Spawn until `/healthz` answered 200.
    pub start: Duration,
}

pub struct MemoryFigures {
    pub after_ingest: Memory,
    pub after_restart: Option<Memory>,
    pub at_end: Option<Memory>,
}

pub struct W1Report {
    pub date: String,
    pub n: u64,
    pub clients: usize,
    pub cores: usize,
    pub load_before: String,
    pub load_after: String,
    pub server: String,
    pub ingest: IngestFigures,
    pub check: CheckFigures,
    pub latency: Option<LatencyFigures>,
    pub runs: RunFigures,
    pub restart: Option<RestartFigures>,
    pub memory: Option<MemoryFigures>,
}

/// Runs W1 as `opts` says, printing each phase as it goes; answers the figures.
pub fn run_w1(opts: &W1Options) -> Result<W1Report> {
    if opts.n == 0 || opts.clients == 0 {
        return Err(DriverError::new("--n and --clients must be at least 1"));
    }
    let date = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let load_before = procfs::load_average();
    let cores = procfs::cores();
    println!(
        "W1 over HTTP: {date}, N = {}, {} batch client(s), {cores} cores, load average {load_before}",
        thousands(opts.n),
        opts.clients
    );

    let mut data_dir: Option<tempfile::TempDir> = None;
    let mut server: Option<ServerProcess> = None;
    let client = match &opts.target {
        Target::Spawn {
            exe,
            workers,
            data_parent,
            keep_data,
        } => {
            let mut builder = tempfile::Builder::new();
            builder.prefix("allot-w1-").disable_cleanup(*keep_data);
            let dir = match data_parent {
                Some(parent) => builder.tempdir_in(parent)?,
                None => builder.tempdir()?,
            };
            let token = format!(
                "w1-driver-{}-{}",
                std::process::id(),
                chrono::Utc::now().timestamp_micros()
            );
            let started = ServerProcess::start(exe, dir.path(), &token, *workers)?;
            println!(
                "server: {} serve --data {} (pid {}, workers {}, log {})",
                exe.display(),
                dir.path().display(),
                started.pid().unwrap_or(0),
                if *workers == 0 {
                    "one per core".to_string()
                } else {
                    workers.to_string()
                },
                started.log_path().display()
            );
            let client = Client::new(&started.base(), &token);
            server = Some(started);
            data_dir = Some(dir);
            client
        }
        Target::Url { url, token } => {
            println!("server: {url} (not started by the driver: restart and memory are not measured)");
            Client::new(url, token)
        }
    };
    let server_desc = match &opts.target {
        Target::Spawn { workers, .. } => format!(
            "spawned, workers {}",
            if *workers == 0 {
                "one per core".into()
            } else {
                workers.to_string()
            }
        ),
        Target::Url { url, .. } => url.clone(),
    };

    configure(&client)?;
    let pid = server.as_ref().and_then(ServerProcess::pid);
    let ingest = ingest_leads(&client, opts, pid)?;
    let after_ingest = pid.and_then(procfs::memory);
    if let Some(m) = after_ingest {
        println!(
            "memory: with {} leads stored, VmRSS {:.0} MiB, peak VmHWM {:.0} MiB",
            thousands(opts.n),
            mib(m.rss),
            mib(m.hwm)
        );
    }
    let check = check_decisions(&client, opts)?;

    let mut restart = None;
    let mut after_restart = None;
    if let Some(s) = server.as_mut() {
        let stop = s.stop(Duration::from_secs(120))?;
        let start = s.spawn_and_wait(Duration::from_secs(600))?;
        println!(
            "restart: with {} leads stored, SIGTERM to exit {:.0} ms; start to /healthz 200 {:.0} ms",
            thousands(opts.n),
            ms(stop),
            ms(start)
        );
        after_restart = s.pid().and_then(procfs::memory);
        if let Some(m) = after_restart {
            println!("memory: right after the restart, VmRSS {:.0} MiB", mib(m.rss));
        }
        restart = Some(RestartFigures { stop, start });
    }

    let latency = if opts.latency_requests > 0 {
        let pid = server.as_ref().and_then(ServerProcess::pid);
        Some(single_record_latency(&client, opts, pid)?)
    } else {
        None
    };
    let runs = runs(&client, opts)?;
    let at_end = server.as_ref().and_then(ServerProcess::pid).and_then(procfs::memory);
    let memory = after_ingest.map(|after_ingest| MemoryFigures {
        after_ingest,
        after_restart,
        at_end,
    });
    if let Some(s) = server.as_mut() {
        s.stop(Duration::from_secs(120))?;
    }
    drop(server);
    if let Some(dir) = data_dir
        && let Target::Spawn { keep_data: true, .. } = opts.target
    {
        println!("data kept in {}", dir.path().display());
    }
    let report = W1Report {
        date,
        n: opts.n,
        clients: opts.clients,
        cores,
        load_before,
        load_after: procfs::load_average(),
        server: server_desc,
        ingest,
        check,
        latency,
        runs,
        restart,
        memory,
    };
    Ok(report)
}

/// Settings at their defaults, 500 sellers, 21 segments and their 42 rules.
fn configure(client: &Client) -> Result<()> {
    let started = Instant::now();
    let summary = client.get("/api/v1/record-types/lead/summary")?;
    let held: u64 = ["to_be_processed", "processed"]
        .iter()
        .map(|k| summary[k].as_u64().unwrap_or(0))
        .sum();
    if held > 0 {
        return Err(DriverError(format!(
            "the server already holds {held} leads: W1 needs a server without leads"
        )));
    }
    client.put(
        "/api/v1/settings",
        &json!({"max_records_per_run": 500, "eligible_roles": null, "round_robin_scope": "organization"}),
    )?;
    for j in 0..w1::SELLERS {
        client.put(&format!("/api/v1/sellers/s-{j:03}"), &w1::seller_body(j))?;
    }
    let mut rules = 0;
    for (k, (id, ..)) in w1::SEGMENTS.iter().enumerate() {
        client.put(&format!("/api/v1/segments/{id}"), &w1::segment_body(k))?;
        for (rule, body) in w1::rule_bodies(id) {
            client.put(&format!("/api/v1/segments/{id}/rules/{rule}"), &body)?;
            rules += 1;
        }
    }
    println!(
        "configured W1: {} sellers, {} segments, {rules} rules in {:.1} s",
        w1::SELLERS,
        w1::SEGMENTS.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[derive(Clone, Copy, Debug, Default)]
struct Summary {
    to_be_processed: u64,
    processed: u64,
    unassigned: u64,
    needs_attention: u64,
}

fn summary(client: &Client, record_type: &str) -> Result<Summary> {
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
fn post_batches(
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
fn wait_processed(client: &Client, record_type: &str, expected: u64) -> Result<Summary> {
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

fn ingest_leads(client: &Client, opts: &W1Options, pid: Option<u32>) -> Result<IngestFigures> {
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
    fn between(before: Option<StoreMetrics>, after: Option<StoreMetrics>) -> Option<StoreDelta> {
        let (a, b) = (before?, after?);
        Some(StoreDelta {
            commits: b.commits - a.commits,
            jobs: b.jobs - a.jobs,
            commit_seconds: b.commit_seconds - a.commit_seconds,
            ingest_requests: b.ingest_requests - a.ingest_requests,
            ingest_request_seconds: b.ingest_request_seconds - a.ingest_request_seconds,
        })
    }

    fn print(&self, wall: f64) {
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

fn print_cpu(cpu: &CpuUse, wall: f64) {
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
struct StoreMetrics {
    commits: f64,
    jobs: f64,
    commit_seconds: f64,
    ingest_requests: f64,
    ingest_request_seconds: f64,
}

/// The store writer's counters and the ingest route's time from `/metrics`.
fn metrics(client: &Client) -> Option<StoreMetrics> {
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

fn check_decisions(client: &Client, opts: &W1Options) -> Result<CheckFigures> {
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

fn single_record_latency(client: &Client, opts: &W1Options, pid: Option<u32>) -> Result<LatencyFigures> {
    let metrics_before = metrics(client);
    let cpu_before = CpuSnapshot::take(pid);
    let total = opts.latency_requests;
    let first = opts.n;
    let next = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let times = Mutex::new(Vec::with_capacity(total as usize));
    let started = Instant::now();
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = (0..opts.latency_clients.max(1))
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    let c = client.fresh();
                    let mut body = String::with_capacity(512);
                    let mut out = Vec::with_capacity(4096);
                    let mut mine = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= total || failed.load(Ordering::Relaxed) {
                            break;
                        }
                        body.clear();
                        w1::write_lead_json(first + k, &mut body);
                        let t = Instant::now();
                        let answer = c.send("POST", "/api/v1/records?wait=true", Some(body.as_bytes()), &mut out);
                        let took = t.elapsed();
                        let ok = matches!(&answer, Ok(a) if a.status == 202)
                            && out.windows(20).any(|w| w == br#""stage":"processed","#);
                        if !ok {
                            failed.store(true, Ordering::Relaxed);
                            return Err(DriverError(format!(
                                "POST /api/v1/records?wait=true (lead {}): {}",
                                first + k,
                                match answer {
                                    Ok(a) => format!("{} {}", a.status, String::from_utf8_lossy(&out)),
                                    Err(e) => e.to_string(),
                                }
                            )));
                        }
                        mine.push(took);
                    }
                    if let Ok(mut all) = times.lock() {
                        all.extend(mine);
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| DriverError::new("a latency client thread panicked"))??;
        }
        Ok(())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let mut times = times
        .into_inner()
        .map_err(|_| DriverError::new("latency figures lost"))?;
    times.sort();
    let at = |p| percentile(&times, p).unwrap_or_default();
    let fig = LatencyFigures {
        requests: times.len() as u64,
        clients: opts.latency_clients,
        seconds,
        p50: at(50.0),
        p95: at(95.0),
        p99: at(99.0),
        max: at(100.0),
    };
    println!(
        "single record ?wait=true: {} requests from {} clients in {:.1} s ({:.0} requests/s): p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        thousands(fig.requests),
        fig.clients,
        seconds,
        fig.requests as f64 / seconds,
        ms(fig.p50),
        ms(fig.p95),
        ms(fig.p99),
        ms(fig.max)
    );
    print_cpu(&CpuSnapshot::take(pid).since(&cpu_before), seconds);
    if let Some(s) = StoreDelta::between(metrics_before, metrics(client)) {
        s.print(seconds);
    }
    Ok(fig)
}

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
fn runs(client: &Client, opts: &W1Options) -> Result<RunFigures> {
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

impl W1Report {
    /// Each figure of the bars table beside its bar.
    pub fn rows(&self) -> Vec<Row> {
        let at_n = |what: &str| {
            if self.n == BAR_N {
                what.to_string()
            } else {
                format!("{what} (at N = {}, the bar's N is 1,000,000)", thousands(self.n))
            }
        };
        let rps = self.ingest.records_per_second();
        let mut rows = vec![Row {
            figure: at_n("batch ingest, HTTP, 1000 records per POST, until all processed"),
            measured: format!(
                "{} records/s ({} client{})",
                thousands(rps.round() as u64),
                self.clients,
                if self.clients == 1 { "" } else { "s" }
            ),
            bar: "≥ 50,000 records/s",
            met: Some(rps >= 50_000.0),
        }];
        rows.push(match &self.latency {
            Some(l) => Row {
                figure: format!(
                    "single record POST /records?wait=true, {} concurrent clients",
                    l.clients
                ),
                measured: format!(
                    "p99 {:.1} ms (p50 {:.1}, p95 {:.1}, max {:.1}; {} requests)",
                    ms(l.p99),
                    ms(l.p50),
                    ms(l.p95),
                    ms(l.max),
                    thousands(l.requests)
                ),
                bar: "p99 ≤ 10 ms",
                met: Some(ms(l.p99) <= 10.0),
            },
            None => Row {
                figure: "single record POST /records?wait=true".into(),
                measured: "-".into(),
                bar: "p99 ≤ 10 ms",
                met: None,
            },
        });
        let http: Vec<f64> = self.runs.small.iter().map(|r| ms(r.http)).collect();
        let own: Vec<f64> = self.runs.small.iter().map(|r| r.run_ms as f64).collect();
        rows.push(match (median_min_max(&http), median_min_max(&own)) {
            (Some((h, hmin, hmax)), Some((o, ..))) => Row {
                figure: "reassignment run of 500 unassigned records".into(),
                measured: format!(
                    "{h:.1} ms round trip, median of {} ({hmin:.1} … {hmax:.1}); run's own {o:.0} ms",
                    http.len()
                ),
                bar: "≤ 50 ms",
                met: Some(h <= 50.0),
            },
            _ => Row {
                figure: "reassignment run of 500 unassigned records".into(),
                measured: "-".into(),
                bar: "≤ 50 ms",
                met: None,
            },
        });
        let backlog_figure = if matches!(self.runs.backlog_records, 0 | 100_000) {
            "run over a 100,000-record backlog (limit 100000)".to_string()
        } else {
            format!(
                "run over a {}-record backlog (the bar's backlog is 100,000)",
                thousands(self.runs.backlog_records)
            )
        };
        rows.push(match &self.runs.backlog {
            Some(r) => Row {
                figure: backlog_figure,
                measured: format!(
                    "{:.2} s round trip; run's own {:.2} s",
                    r.http.as_secs_f64(),
                    r.run_ms as f64 / 1e3
                ),
                bar: "≤ 3 s",
                met: Some(r.http.as_secs_f64() <= 3.0),
            },
            None => Row {
                figure: backlog_figure,
                measured: "-".into(),
                bar: "≤ 3 s",
                met: None,
            },
        });
        rows.push(match &self.restart {
            Some(r) => Row {
                figure: at_n("restart with N records stored, until /healthz is 200"),
                measured: format!(
                    "{:.0} ms to /healthz 200 (SIGTERM to exit took {:.0} ms)",
                    ms(r.start),
                    ms(r.stop)
                ),
                bar: "≤ 2 s",
                met: Some(r.start.as_secs_f64() <= 2.0),
            },
            None => Row {
                figure: "restart with N records stored".into(),
                measured: "- (server not started by the driver)".into(),
                bar: "≤ 2 s",
                met: None,
            },
        });
        rows.push(match &self.memory {
            Some(m) => {
                let mut measured = format!(
                    "peak VmHWM {:.0} MiB; VmRSS {:.0} MiB after ingest",
                    mib(m.after_ingest.hwm),
                    mib(m.after_ingest.rss)
                );
                if let Some(r) = m.after_restart {
                    measured.push_str(&format!(", {:.0} MiB after restart", mib(r.rss)));
                }
                if let Some(e) = m.at_end {
                    measured.push_str(&format!(", {:.0} MiB at the end", mib(e.rss)));
                }
                Row {
                    figure: at_n("resident memory with N records stored (judged on the peak)"),
                    measured,
                    bar: "≤ 500 MiB",
                    met: Some(mib(m.after_ingest.hwm) <= 500.0),
                }
            }
            None => Row {
                figure: "resident memory with N records stored".into(),
                measured: "- (server not started by the driver)".into(),
                bar: "≤ 500 MiB",
                met: None,
            },
        });
        rows
    }

    /// The final table, with when and where it was measured.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "W1 figures: {}, N = {}, {} cores, server {}; load average before {}, after {}\n",
            self.date,
            thousands(self.n),
            self.cores,
            self.server,
            self.load_before,
            self.load_after
        );
        out.push_str(&table(&self.rows()));
        out.push_str(&format!(
            "decisions: {} ({} leads checked, {} not as W1 expects; {} unassigned of {} processed)\n",
            if self.check.ok(self.n) {
                "as W1 expects"
            } else {
                "NOT as W1 expects"
            },
            thousands(self.check.checked),
            self.check.wrong,
            self.check.unassigned,
            thousands(self.check.processed)
        ));
        out
    }
}
