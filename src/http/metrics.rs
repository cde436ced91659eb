//! Prometheus text metrics: request counts and latency histograms per route (bounded
//! labels: a fixed method set, route templates), the domain figures, the store
//! writer's group-commit figures, scheduled runs per segment and script suspensions.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use crate::store::{WriterStats, writer_batch_buckets};

/// Latency bucket upper bounds, seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; LATENCY_BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    /// (method, route pattern, status) -> series
    requests: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl Metrics {
    /// `method` is one of a fixed set (others count as `OTHER`) and `route` a route
    /// template or `unmatched`, so that no client can add series.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        const METHODS: [&str; 7] = ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"];
        let method = METHODS.iter().find(|m| **m == method).copied().unwrap_or("OTHER");
        let Ok(mut map) = self.requests.lock() else { return };
        let s = map.entry((method.to_string(), route.to_string(), status)).or_default();
        s.count += 1;
        s.sum_seconds += seconds;
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                s.buckets[i] += 1;
            }
        }
    }

    pub fn render(&self, writer: &WriterStats) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP allot_http_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE allot_http_requests_total counter");
        let map = match self.requests.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        for ((method, route, status), s) in map.iter() {
            let _ = writeln!(
                out,
                "allot_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        let _ = writeln!(out, "# HELP allot_http_request_duration_seconds HTTP request latency.");
        let _ = writeln!(out, "# TYPE allot_http_request_duration_seconds histogram");
        for ((method, route, status), s) in map.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "allot_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "allot_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "allot_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum_seconds
            );
            let _ = writeln!(out, "allot_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        drop(map);
        let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        counter(
            &mut out,
            "allot_store_commits_total",
            "Group-commit transactions committed.",
            load(&writer.commits),
        );
        counter(
            &mut out,
            "allot_store_jobs_total",
            "Write jobs committed.",
            load(&writer.jobs),
        );
        counter(
            &mut out,
            "allot_store_failed_commits_total",
            "Group commits that failed.",
            load(&writer.failed_commits),
        );
        counter(
            &mut out,
            "allot_store_commit_seconds_total",
            "Time spent in group commits.",
            load(&writer.commit_micros) as f64 / 1e6,
        );
        let _ = writeln!(out, "# HELP allot_store_commit_batch_jobs Write jobs per group commit.");
        let _ = writeln!(out, "# TYPE allot_store_commit_batch_jobs histogram");
        let mut cumulative = 0;
        for (i, bound) in writer_batch_buckets().iter().enumerate() {
            cumulative += writer.batch_buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "allot_store_commit_batch_jobs_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(out, "allot_store_commit_batch_jobs_bucket{{le=\"+Inf\"}} {cumulative}");
        let _ = writeln!(out, "allot_store_commit_batch_jobs_count {cumulative}");
        let _ = writeln!(
            out,
            "allot_store_commit_batch_jobs_sum {}",
            writer.jobs.load(Ordering::Relaxed)
        );
        out
    }
}

/// One unlabelled counter with its help and type lines.
fn counter(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    let _ = writeln!(out, "{name} {value}");
}

/// Scripts suspended for failing on consecutive records: since start (a counter) and in
/// the current catalog (a gauge; saving a script again clears its suspension).
pub fn render_script_suspensions(total: u64, now: usize) -> String {
    let mut out = String::new();
    counter(
        &mut out,
        "allot_script_suspensions_total",
        "Scripts suspended since start after failing on consecutive records.",
        total,
    );
    let _ = writeln!(
        out,
        "# HELP allot_scripts_suspended Saved scripts suspended now (until saved again)."
    );
    let _ = writeln!(out, "# TYPE allot_scripts_suspended gauge");
    let _ = writeln!(out, "allot_scripts_suspended {now}");
    out
}

pub fn render_deferred(total: u64, now: u64) -> String {
    let mut out = String::new();
    counter(
        &mut out,
        "allot_records_deferred_total",
        "Records stored without being decided at once because their batch spent its time budget or their type was backlogged.",
        total,
    );
    let _ = writeln!(
        out,
        "# HELP allot_records_deferred Records stored and waiting to be decided in slices now."
    );
    let _ = writeln!(out, "# TYPE allot_records_deferred gauge");
    let _ = writeln!(out, "allot_records_deferred {now}");
    out
}

/// `allot_scheduled_runs_total{segment="..."}`: scheduled runs fired since start, for every
/// segment with a schedule. Ids are `[A-Za-z0-9_.:-]`, so labels need no escaping.
pub fn render_scheduled_runs(counts: &BTreeMap<crate::domain::Id, u64>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP allot_scheduled_runs_total Scheduled reassignment runs fired since start, per segment."
    );
    let _ = writeln!(out, "# TYPE allot_scheduled_runs_total counter");
    for (segment, n) in counts {
        let _ = writeln!(out, "allot_scheduled_runs_total{{segment=\"{segment}\"}} {n}");
    }
    out
}

/// The domain's figures (`ops::domain_figures`): unassigned records per record type and
/// segment, automatic outcomes by status reason, run durations by run status. Record
/// types and ids are `[a-z0-9_]` and `[A-Za-z0-9_.:-]`: labels need no escaping, and
/// there are as many as configured segments and types, not as many as requests.
pub fn render_domain(f: &crate::ops::DomainFigures) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP allot_unassigned_records Open processed records without an owner, per record type."
    );
    let _ = writeln!(out, "# TYPE allot_unassigned_records gauge");
    for (t, n) in &f.unassigned_by_type {
        let _ = writeln!(out, "allot_unassigned_records{{record_type=\"{t}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP allot_segment_unassigned_records Open processed records without an owner, per segment."
    );
    let _ = writeln!(out, "# TYPE allot_segment_unassigned_records gauge");
    for (t, seg, n) in &f.unassigned_by_segment {
        let _ = writeln!(
            out,
            "allot_segment_unassigned_records{{record_type=\"{t}\",segment=\"{seg}\"}} {n}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP allot_record_outcomes_total Records decided automatically (ingest, update, run), by the status reason they got."
    );
    let _ = writeln!(out, "# TYPE allot_record_outcomes_total counter");
    for (reason, n) in &f.outcomes {
        let _ = writeln!(out, "allot_record_outcomes_total{{status_reason=\"{reason}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP allot_run_duration_seconds Reassignment runs by how long they took, per run status."
    );
    let _ = writeln!(out, "# TYPE allot_run_duration_seconds histogram");
    for (status, r) in &f.runs {
        let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        for (i, bound) in crate::ops::RUN_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "allot_run_duration_seconds_bucket{{status=\"{status}\",le=\"{bound}\"}} {}",
                load(&r.buckets[i])
            );
        }
        let count = load(&r.count);
        let _ = writeln!(
            out,
            "allot_run_duration_seconds_bucket{{status=\"{status}\",le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "allot_run_duration_seconds_sum{{status=\"{status}\"}} {}",
            load(&r.millis) as f64 / 1e3
        );
        let _ = writeln!(out, "allot_run_duration_seconds_count{{status=\"{status}\"}} {count}");
    }
    out
}
