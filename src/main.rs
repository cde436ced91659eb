//! The `allot` binary: parse the command line, then run the server (`serve`, through
//! [`allot::cli::serve`]) or print the OpenAPI document (`openapi`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc, not the system allocator: records are built on one thread (the seller
/// actor) and freed on another (an HTTP worker), and glibc's malloc/free were a fifth of
/// the server's profile; with mimalloc the W1 ingest used about a quarter less CPU
/// (docs/perf-notes.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "allot", version, about = "Self-hosted work-assignment server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server on an embedded redb store.
    Serve(allot::cli::ServeArgs),
    /// Print the OpenAPI document of the HTTP API.
    Openapi,
    /// Load drivers that measure a server over HTTP.
    Bench {
        #[command(subcommand)]
        workload: Workload,
    },
}

#[derive(Subcommand)]
enum Workload {
    /// The reference workload W1: prints each figure of the performance bars beside its
    /// bar. Starts its own server (this binary, `serve` on a fresh data directory) unless
    /// --url is given.
    W1 {
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
        /// A running server to measure (it must hold no leads); restart and memory are
        /// then not measured.
        #[arg(long, requires = "token")]
        url: Option<String>,
        /// A system_administrator token of the --url server.
        #[arg(long, env = "ALLOT_ADMIN_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// HTTP workers of the started server (0: one per core).
        #[arg(long, default_value_t = 0)]
        workers: usize,
        /// Where the started server's temporary data directory is made.
        #[arg(long)]
        data_parent: Option<PathBuf>,
        /// Keep the started server's data directory.
        #[arg(long)]
        keep_data: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Bench { workload } => bench(workload),
        Command::Openapi => match serde_json::to_string_pretty(&allot::http::openapi()) {
            Ok(s) => {
                println!("{s}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Serve(args) => allot::cli::serve(&args),
    }
}

fn bench(workload: Workload) -> ExitCode {
    let Workload::W1 {
        n,
        clients,
        latency_clients,
        latency_requests,
        small_runs,
        backlog,
        sample,
        full_check,
        url,
        token,
        workers,
        data_parent,
        keep_data,
    } = workload;
    let target = match url {
        Some(url) => allot::bench::Target::Url {
            url,
            token: token.unwrap_or_default(),
        },
        None => match std::env::current_exe() {
            Ok(exe) => allot::bench::Target::Spawn {
                exe,
                workers,
                data_parent,
                keep_data,
            },
            Err(e) => {
                eprintln!("error: cannot find this binary to start a server: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let mut opts = allot::bench::W1Options::new(n, target);
    opts.clients = clients;
    opts.latency_clients = latency_clients;
    opts.latency_requests = latency_requests;
    opts.small_runs = small_runs;
    opts.backlog = backlog;
    opts.sample = sample;
    opts.full_check = full_check;
    match allot::bench::run_w1(&opts) {
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
