//! Load drivers that measure allot over HTTP, as a client would see it.
//!
//! [`driver`] runs the reference workload W1 (`../shared/W1.md`) against a server it
//! starts itself (the same binary, `serve` on a fresh data directory) or against a
//! running one, and prints each figure of the performance bars beside its bar. The
//! driver is a plain blocking program: threads and a blocking HTTP client, no async
//! runtime, so that what it measures is the server.

mod client;
pub mod driver;
mod procfs;
mod report;
mod server;

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
