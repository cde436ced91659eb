//! Single-record latency: concurrent clients each posting one fresh lead at a time with
//! `?wait=true`, timed per request; answers the percentiles and prints what the server
//! spent meanwhile.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use crate::client::Client;
use crate::driver::{LatencyFigures, StoreDelta, W1Options};
use crate::ingest::{metrics, print_cpu};
use crate::procfs::CpuSnapshot;
use crate::report::{ms, percentile, thousands};
use crate::workload as w1;
use crate::{DriverError, Result};

pub(crate) fn single_record_latency(client: &Client, opts: &W1Options, pid: Option<u32>) -> Result<LatencyFigures> {
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
