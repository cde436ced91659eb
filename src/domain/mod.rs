//! Plain types and the assignment logic: no IO, time comes from a [`clock::Clock`].

pub mod availability;
pub mod clock;
pub mod config;
pub mod ids;
pub mod record;
pub mod schedule;
pub mod time;

pub use ids::{Id, RecordType};
