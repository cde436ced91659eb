//! The `allot` binary: parse the command line, set up logging, run the server.

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
    Serve {
        /// Directory of the data file (allot.redb); created when missing.
        #[arg(long, env = "ALLOT_DATA", default_value = "./data")]
        data: PathBuf,
        /// Address to listen on.
        #[arg(long, env = "ALLOT_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Accepted as a system_administrator token.
        #[arg(long, env = "ALLOT_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// HTTP worker threads (0: one per core).
        #[arg(long, env = "ALLOT_WORKERS", default_value_t = 0)]
        workers: usize,
        /// Page cache of the store, in MiB (bounds resident memory on large stores).
        #[arg(long, env = "ALLOT_CACHE_MB", default_value_t = 128)]
        cache_mb: usize,
    },
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
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
        Command::Serve {
            data,
            bind,
            admin_token,
            workers,
            cache_mb,
        } => {
            let mut config = allot::ServeConfig::new(data, bind);
            config.admin_token = admin_token;
            config.workers = workers;
            config.cache_bytes = cache_mb.saturating_mul(1 << 20);
            let system = actix::System::new();
            let result = system.block_on(async move {
                let app = allot::Application::build(config.clone()).await?;
                if let Some(token) = &app.first_admin_token {
                    // Shown once: only its hash is stored.
                    println!("First start: created administrator token (shown only now):\n  {token}");
                }
                tracing::info!(addr = %app.addr(), data = %config.data_dir.display(), "allot is listening");
                app.run_until_stopped().await.map_err(|e| allot::app::StartError::Bind {
                    addr: config.bind.clone(),
                    source: e,
                })
            });
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
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
