//! allot: a self-hosted work-assignment server.
//!
//! Records (leads, opportunities, ...) arrive over HTTP, are grouped into segments by
//! admin-written rhai conditions, and assigned to sellers, teams or queues by the
//! segment's assignment rules; what cannot be assigned keeps an exact status reason and
//! is retried by reassignment runs.
//!
//! # Layout
//! - [`app`]: builds and runs the server (store -> actors -> HTTP);
//! - [`cli`]: the `serve` command (options, logging, run until stopped);
//! - [`auth`]: bearer tokens and roles;
//! - [`domain`]: plain types and assignment logic, no IO;
//! - [`store`]: redb tables, the group-commit writer, schema version;
//! - [`actors`]: segment, seller-capacity, scheduler and history state;
//! - [`scripting`]: the sandboxed rhai engine and the values scripts see;
//! - [`ops`]: one function per API operation, role check inside;
//! - [`http`]: routes, extractors, error mapping, metrics, OpenAPI;
//! - [`error`]: the error every operation answers.
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
pub mod ops;
pub mod pipeline;
pub mod scripting;
pub mod store;

pub use app::{Application, ServeConfig};
