//! allot-w1: the reference workload W1 (`../shared/W1.md`) and the load driver that
//! measures an allot server on it over HTTP, as a client would see it.
//!
//! - [`workload`]: W1 itself, generated exactly: leads, sellers, segments, rules, the
//!   catalog and seller book they make in memory, and what W1 expects of each lead. It
//!   is the fixture the server's tests and benches share (`allot` has this package as a
//!   dev-dependency), and what the driver posts and checks.
//! - [`driver`]: runs W1 against a server it starts itself (`serve` on a fresh data
//!   directory: this package's own binary, which runs the server through
//!   `allot::cli::serve`, or a given `allot` binary) or against a running one, and
//!   prints each figure of the performance bars beside its bar. The driver is a plain
//!   blocking program: threads and a blocking HTTP client, no async runtime, so that
//!   what it measures is the server.
//!
//! The binary `allot-w1` (`src/main.rs`) is the driver's command line.

mod check;
mod client;
pub mod driver;
mod ingest;
mod latency;
mod procfs;
mod receiver;
mod report;
mod runs;
mod server;
pub mod workload;

pub use driver::{Target, W1Options, W1Report, run_w1};

/// What stops the driver: a clear message, never a panic.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DriverError(pub String);

impl DriverError {
    pub fn new(msg: impl Into<String>) -> DriverError {
        DriverError(msg.into())
    }
}

impl From<std::io::Error> for DriverError {
    fn from(e: std::io::Error) -> Self {
        DriverError(format!("I/O: {e}"))
    }
}

impl From<serde_json::Error> for DriverError {
    fn from(e: serde_json::Error) -> Self {
        DriverError(format!("JSON: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, DriverError>;
