//! The W1 load driver (the `allot-w1` package, as a library) end to end against a server
//! it starts (the real `allot` binary): its configuration step and a tiny run of every
//! phase. No timing assertions: on a shared 2-core machine the figures are whatever
//! they are; the decisions are not.

use allot_w1::{Target, W1Options, run_w1};

#[test]
fn the_w1_driver_configures_w1_and_runs_every_phase_on_a_small_n() {
    let target = Target::Spawn {
        exe: env!("CARGO_BIN_EXE_allot").into(),
        workers: 2,
        data_parent: None,
        keep_data: false,
    };
    let mut opts = W1Options::new(2_000, target);
    opts.clients = 2;
    opts.latency_clients = 4;
    opts.latency_requests = 40;
    opts.small_runs = 1;
    opts.backlog = 600;
    opts.full_check = true;
    let report = run_w1(&opts).unwrap_or_else(|e| panic!("the driver failed: {e}"));

    let check = &report.check;
    assert!(check.ok(2_000), "decisions not as W1 expects: {:?}", check.first_wrong);
    assert_eq!((check.processed, check.unassigned, check.checked), (2_000, 0, 2_000));
    assert_eq!(check.by_rr + check.by_lb, 2_000);
    assert!(check.digest.is_some(), "a full check computes the digest");
    // Lead by lead, -rr exactly when revenue > 50000: the shares are the generator's.
    let rr_share = check.by_rr as f64 / 2_000.0;
    assert!((rr_share - check.expected_rr_share).abs() < 1e-9);

    let latency = report.latency.as_ref().expect("latency phase ran");
    assert_eq!(latency.requests, 40);
    assert!(latency.p50 <= latency.p99 && latency.p99 <= latency.max);

    assert_eq!(report.runs.small.len(), 1);
    assert_eq!(
        (report.runs.small[0].considered, report.runs.small[0].assigned),
        (500, 500)
    );
    let backlog = report.runs.backlog.as_ref().expect("backlog run ran");
    assert_eq!((backlog.considered, backlog.assigned), (600, 600));

    assert!(report.restart.is_some(), "a started server is restarted");
    let memory = report.memory.as_ref().expect("memory of a started server");
    assert!(memory.after_ingest.rss > 0);

    let summary = report.summary();
    for figure in [
        "batch ingest",
        "wait=true",
        "500 unassigned",
        "backlog",
        "restart",
        "resident memory",
    ] {
        assert!(summary.contains(figure), "the table names {figure}: {summary}");
    }
}
