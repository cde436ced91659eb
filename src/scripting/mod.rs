//! The sandboxed rhai engine, the errors scripts produce, and the values scripts see.
//!
//! One [`Scripting`] engine serves every script: no `eval`, no `import` (both refused at
//! compile time, also when reached by a name: `forbidden`), no module resolution at run time, bounded operations, call depth,
//! expression depth, string/array/map sizes and wall time. Scripts compile once when saved
//! and the AST is cached in [`Script`]; scripts never touch the store.
//!
//! - [`analysis`]: what a script reads (for schema checks and memos);
//! - [`Bindings`]: a record bound once for many evaluations;
//! - native helpers for distributions (`min_by_key`, `max_by_key`, `covers`), documented
//!   in `scripts/README.md`.

pub mod analysis;
mod engine;
mod error;
mod forbidden;
mod health;
mod natives;
pub mod view;

pub use analysis::{ScriptReads, analyse, check_schema};
pub use engine::{Script, ScriptPurpose, Scripting};
pub use error::{ScriptError, ScriptErrorKind};
pub use health::{SUSPEND_AFTER, suspensions_total};
pub use view::{Bindings, add_seller_counters, api_time, json_to_dynamic, record_map, seller_map, target_map};
