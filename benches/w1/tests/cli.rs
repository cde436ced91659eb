//! The `allot-w1` binary end to end on a tiny N: without --server or --url it starts
//! itself as the server (the hidden `serve`, i.e. `allot::cli::serve`), runs W1 and
//! prints the table of bars. No timing assertions; the decisions must be W1's.

use std::process::Command;

#[test]
fn the_driver_binary_serves_itself_and_prints_the_table_of_bars() {
    let exe = env!("CARGO_BIN_EXE_allot-w1");
    let out = Command::new(exe)
        .args(
            "--n 1000 --clients 2 --latency-clients 2 --latency-requests 8 --small-runs 0 --backlog 0 --sample 50 --workers 1"
                .split(' '),
        )
        .output()
        .unwrap_or_else(|e| panic!("running {exe}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{exe} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains(&format!("server: {exe} serve --data ")),
        "the driver started its own binary as the server:\n{stdout}"
    );
    assert!(
        stdout.contains("| figure ") && stdout.contains(" | verdict"),
        "the table of bars:\n{stdout}"
    );
    assert!(
        stdout.contains("restart: with 1,000 leads stored"),
        "a started server is restarted:\n{stdout}"
    );
    assert!(
        stdout.contains(
            "decisions: as W1 expects (50 leads checked, 0 not as W1 expects; 0 unassigned of 1,000 processed)"
        ),
        "{stdout}"
    );
}
