//! Figures: percentiles, medians, number formatting and the final table of bars, with
//! [`W1Report`]'s rows and summary (each figure of the bars beside its bar).

use std::time::Duration;

use crate::driver::{BAR_N, W1Report};

/// The value at percentile `p` (0–100) of sorted `values`, nearest rank.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// The median of `values` (the lower middle of an even count), with min and max.
pub fn median_min_max(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = *v.get((v.len().checked_sub(1)?) / 2)?;
    Some((mid, *v.first()?, *v.last()?))
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// One row of the bars table.
pub struct Row {
    pub figure: String,
    pub measured: String,
    pub bar: &'static str,
    /// None: not measured.
    pub met: Option<bool>,
}

pub fn table(rows: &[Row]) -> String {
    let header = ["figure", "measured", "bar (2 cores)", "verdict"];
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.figure.clone(),
                r.measured.clone(),
                r.bar.to_string(),
                match r.met {
                    Some(true) => "met".into(),
                    Some(false) => "NOT MET".into(),
                    None => "not measured".into(),
                },
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: [&str; 4]| -> String {
        let padded: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(header);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&format!("| {} |\n", rule.join(" | ")));
    for row in &cells {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3]]));
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&[7u32], 99.0), Some(7));
        assert_eq!(percentile::<u32>(&[], 50.0), None);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(median_min_max(&[3.0, 1.0, 2.0]), Some((2.0, 1.0, 3.0)));
        assert_eq!(median_min_max(&[]), None);
    }
}
