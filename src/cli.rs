//! The `serve` command as a library function: its options, logging, and running the
//! server until SIGINT/SIGTERM.
//!
//! It lives in the library, not in `src/main.rs`, so that every program that runs the
//! server runs this same code: the `allot` binary, and the W1 load driver's hidden
//! `serve` (`benches/w1`), whose measured server must be the one that is deployed.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::app::{Application, ServeConfig, StartError};

/// The options of `allot serve`.
#[derive(clap::Args, Clone, Debug)]
pub struct ServeArgs {
    /// Directory of the data file (allot.redb); created when missing.
    #[arg(long, env = "ALLOT_DATA", default_value = "./data")]
    pub data: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "ALLOT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Accepted as a system_administrator token.
    #[arg(long, env = "ALLOT_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// HTTP worker threads (0: one per core).
    #[arg(long, env = "ALLOT_WORKERS", default_value_t = 0)]
    pub workers: usize,
    /// Page cache of the store, in MiB (bounds resident memory on large stores).
    #[arg(long, env = "ALLOT_CACHE_MB", default_value_t = 128)]
    pub cache_mb: usize,
    /// Request-body MiB the server works on at once; a request past it is answered 503
    /// with Retry-After (bounds resident memory under concurrent large batches).
    #[arg(long, env = "ALLOT_MAX_INFLIGHT_MB", default_value_t = 64)]
    pub max_inflight_mb: usize,
    /// Log lines as text for a terminal, or as one JSON object a line for a collector.
    #[arg(long, env = "ALLOT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// The web console at /console (`off` serves only the API).
    #[arg(long, env = "ALLOT_CONSOLE", default_value = "on", value_parser = ["on", "off"])]
    pub console: String,
    /// How often console pages poll counts that change without a reload, in ms.
    #[arg(long, env = "ALLOT_CONSOLE_POLL_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub console_poll_ms: u64,
}

/// The format of the log on stderr.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl ServeArgs {
    pub fn config(&self) -> ServeConfig {
        let mut config = ServeConfig::new(&self.data, &self.bind);
        config.admin_token = self.admin_token.clone();
        config.workers = self.workers;
        config.cache_bytes = self.cache_mb.saturating_mul(1 << 20);
        config.max_inflight_bytes = self.max_inflight_mb.saturating_mul(1 << 20);
        config.console = (self.console == "on").then(|| crate::app::ConsoleOptions {
            poll_ms: self.console_poll_ms,
            ..Default::default()
        });
        config
    }
}

/// Logs to stderr in `format`, filtered by `RUST_LOG` (`info` when unset): one access
/// line per request (target `allot::access`) and the server's own events. Once per
/// process; a second call (a test running two servers) leaves the first in place.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        // Span fields (the request id) ride along in `span`/`spans`, the event's own in `fields`.
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
}

/// Runs the server as `args` say until SIGINT/SIGTERM; sets up logging first. Answers
/// the process's exit status: failure when the server cannot start or stops on an error.
pub fn serve(args: &ServeArgs) -> ExitCode {
    let config = args.config();
    init_logging(args.log_format);
    let system = actix::System::new();
    let result = system.block_on(async move {
        let app = Application::build(config.clone()).await?;
        if let Some(token) = &app.first_admin_token {
            // Shown once: only its hash is stored.
            println!("First start: created administrator token (shown only now):\n  {token}");
        }
        tracing::info!(addr = %app.addr(), data = %config.data_dir.display(), "allot is listening");
        app.run_until_stopped().await.map_err(|e| StartError::Bind {
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
