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
//!
//! This file holds the options, the figures each phase answers, the phase order
//! ([`run_w1`]) and W1's configuration; the phases themselves are in `ingest.rs` (batch
//! ingest, waiting until processed, CPU and store deltas), `check.rs` (the decisions and
//! their digest), `latency.rs` (single-record latency) and `runs.rs` (the runs and their
//! backlog); `report.rs` prints the figures beside their bars.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::check::check_decisions;
use crate::client::Client;
use crate::ingest::ingest_leads;
use crate::latency::single_record_latency;
use crate::procfs::{self, CpuUse, Memory};
use crate::report::{mib, ms, thousands};
use crate::runs::runs;
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
    /// Ingest with one active webhook (a receiver in the driver) taking every
    /// record event.
    pub webhook: bool,
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
            webhook: false,
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
    let receiver = if opts.webhook {
        let receiver = crate::receiver::Receiver::start()?;
        client.put(
            "/api/v1/webhooks/w1",
            &json!({"url": receiver.url, "events": ["record.owner_changed", "record.status_changed"],
                    "secret": "w1-driver-webhook-secret", "active": true}),
        )?;
        println!(
            "webhook: one active webhook, every record event POSTed to {}",
            receiver.url
        );
        Some(receiver)
    } else {
        None
    };
    let pid = server.as_ref().and_then(ServerProcess::pid);
    let ingest = ingest_leads(&client, opts, pid)?;
    if let Some(receiver) = &receiver {
        let hook = client.get("/api/v1/webhooks/w1")?;
        println!(
            "webhook: {} events received by the end of ingest, backlog {}",
            thousands(receiver.received()),
            hook["backlog"]
        );
    }
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
