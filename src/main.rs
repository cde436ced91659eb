//! The `allot` binary: parse the command line, then run the server (`serve`, through
//! [`allot::cli::serve`]) or print the OpenAPI document (`openapi`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc, not the system allocator: records are built on one thread (the seller
/// actor) and freed on another (an HTTP worker), and glibc's malloc/free were a fifth of
/// the server's profile; with mimalloc the W1 ingest used about a quarter less CPU
/// (docs/perf-notes.md). The W1 driver's binary (`benches/w1`), which runs this same
/// server, sets the same allocator.
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
        Command::Serve(args) => allot::cli::serve(&args),
    }
}
