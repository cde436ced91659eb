//! Plain types and the rules of the contract: no IO, time comes from a [`clock::Clock`].
//! Nothing here imports another folder of the crate.

pub mod availability;
pub mod clock;
pub mod config;
pub mod event;
pub mod history;
pub mod ids;
mod invalid;
pub mod page;
pub mod record;
pub mod run;
pub mod schedule;
pub mod seller;
pub mod time;
pub mod webhook;

pub use ids::{Id, RecordType};
pub use invalid::Invalid;
pub use page::Page;
