//! allot: a self-hosted work-assignment server.
//!
//! Records (leads, opportunities, ...) arrive over HTTP, are grouped into segments by
//! admin-written rhai conditions, and assigned to sellers, teams or queues by the
//! segment's assignment rules; what cannot be assigned keeps an exact status reason and
//! is retried by reassignment runs.
//!
//! # Layout
//! Lowest first; each module imports only modules above it in this list
//! (`tests/boundaries.rs` checks it, ARCHITECTURE.md's code map explains it).
//! - [`domain`]: plain types and the rules of the contract, no IO;
//! - [`scripting`]: the sandboxed rhai engine and the values scripts see;
//! - [`store`]: the only module that names redb: typed reads and writes, the
//!   group-commit writer, schema version;
//! - [`error`]: the error every operation answers, wrapping each layer's own;
//! - [`json`]: the strict JSON reader;
//! - [`pipeline`]: record processing as pure logic (catalog, seller book, engine);
//! - [`auth`]: bearer tokens and roles;
//! - [`actors`]: the state owners: segments, records (with sellers and counters),
//!   schedules, history;
//! - [`state`]: what every operation reaches;
//! - [`ops`]: one function per API operation, role check inside;
//! - [`http`]: routes, extractors, the code-to-status table, metrics, OpenAPI;
//! - [`app`]: builds and runs the server (store -> actors -> HTTP);
//! - [`cli`]: the `serve` command (options, logging, run until stopped).
//!
//! The reference workload W1 and its load driver are a package of their own, `allot-w1`
//! (`benches/w1`), outside the server.

pub mod actors;
pub mod app;
pub mod auth;
pub mod cli;
pub mod domain;
pub mod error;
pub mod http;
pub mod json;
pub mod ops;
pub mod pipeline;
pub mod scripting;
pub mod state;
pub mod store;

pub use app::{Application, ServeConfig};
