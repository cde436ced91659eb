//! `allot-w1`: the W1 load driver's command line. Runs the reference workload W1 over
//! HTTP and prints each figure of the performance bars beside its bar
//! (`cargo run --release -p allot-w1 -- --n 1000000`).
//!
//! The server it measures is, by default, this binary itself: the driver starts
//! `allot-w1 serve` (hidden from `--help`), which runs the server through
//! `allot::cli::serve`, the same function `allot serve` runs, so that one command from a
//! clean clone builds and measures the deployed server code. `--server PATH` starts a
//! given `allot` binary instead (two builds of the server, one driver), and `--url` a
//! server that is already running.

use std::path::PathBuf;
use std::process::ExitCode;

use allot_w1::{Target, W1Options, run_w1};
use clap::{Args, Parser, Subcommand};

/// The allocator of the `allot` binary, for the reason its `src/main.rs` gives: the
/// server this binary runs (`serve`) must allocate as the deployed one does, or its
/// profile and figures are not the deployed server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "allot-w1",
    version,
    about = "The reference workload W1 over HTTP: prints each figure of the performance bars beside its bar",
    long_about = "The reference workload W1 over HTTP: prints each figure of the performance bars beside its bar. \
                  Starts its own server (this binary's copy of the allot server, or --server PATH, `serve` on a \
                  fresh data directory) unless --url is given.",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    w1: W1Args,
}

#[derive(Subcommand)]
enum Command {
    /// Run the allot server, as `allot serve` does: what the driver starts when neither
    /// --server nor --url is given.
    #[command(hide = true)]
    Serve(allot::cli::ServeArgs),
}

/// The options of a W1 run (formerly `allot bench w1`'s, unchanged), plus --server.
#[derive(Args)]
struct W1Args {
    /// Leads to ingest.
    #[arg(long, default_value_t = 1_000_000)]
    n: u64,
    /// Concurrent clients of the batch ingest (1000 records per POST).
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Concurrent clients of the single-record latency phase.
    #[arg(long, default_value_t = 16)]
    latency_clients: usize,
    /// Single-record `?wait=true` requests in all (0 skips the phase).
    #[arg(long, default_value_t = 20_000)]
    latency_requests: u64,
    /// Runs of 500 unassigned records (0 skips them).
    #[arg(long, default_value_t = 5)]
    small_runs: usize,
    /// Records of the backlog run (0 skips it).
    #[arg(long, default_value_t = 100_000)]
    backlog: u64,
    /// Leads checked one by one with GET /records/{id}.
    #[arg(long, default_value_t = 10_000)]
    sample: u64,
    /// Check every lead (paging the processed view) and print the decisions digest.
    #[arg(long)]
    full_check: bool,
    /// Ingest with one active webhook: a receiver in the driver gets every record event.
    #[arg(long)]
    webhook: bool,
    /// A running server to measure (it must hold no leads); restart and memory are
    /// then not measured.
    #[arg(long, requires = "token", conflicts_with = "server")]
    url: Option<String>,
    /// A system_administrator token of the --url server.
    #[arg(long, env = "ALLOT_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// An `allot` binary to start as the server (`PATH serve`) instead of this binary's
    /// own copy of it, e.g. to measure two builds of the server with one driver.
    #[arg(long, value_name = "PATH")]
    server: Option<PathBuf>,
    /// HTTP workers of the started server (0: one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Where the started server's temporary data directory is made.
    #[arg(long)]
    data_parent: Option<PathBuf>,
    /// Keep the started server's data directory.
    #[arg(long)]
    keep_data: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => allot::cli::serve(&args),
        None => drive(cli.w1),
    }
}

/// Runs W1 as `args` say and prints the table of bars; fails when the driver cannot run
/// or the decisions are not as W1 expects.
fn drive(args: W1Args) -> ExitCode {
    let W1Args {
        n,
        clients,
        latency_clients,
        latency_requests,
        small_runs,
        backlog,
        sample,
        full_check,
        webhook,
        url,
        token,
        server,
        workers,
        data_parent,
        keep_data,
    } = args;
    let target = match url {
        Some(url) => Target::Url {
            url,
            token: token.unwrap_or_default(),
        },
        None => {
            let exe = match server {
                Some(path) => path,
                None => match std::env::current_exe() {
                    Ok(exe) => exe,
                    Err(e) => {
                        eprintln!("error: cannot find this binary to start a server: {e}");
                        return ExitCode::FAILURE;
                    }
                },
            };
            Target::Spawn {
                exe,
                workers,
                data_parent,
                keep_data,
            }
        }
    };
    let mut opts = W1Options::new(n, target);
    opts.clients = clients;
    opts.latency_clients = latency_clients;
    opts.latency_requests = latency_requests;
    opts.small_runs = small_runs;
    opts.backlog = backlog;
    opts.sample = sample;
    opts.full_check = full_check;
    opts.webhook = webhook;
    match run_w1(&opts) {
        Ok(report) => {
            println!("\n{}", report.summary());
            if report.check.ok(n) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
