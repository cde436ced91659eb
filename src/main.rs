//! The `allot` binary: parse the command line, set up logging, run the server.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    },
    /// Print the OpenAPI document of the HTTP API.
    Openapi,
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
        } => {
            let mut config = allot::ServeConfig::new(data, bind);
            config.admin_token = admin_token;
            config.workers = workers;
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
