//! One integration binary: every test starts a real allot server on port 0 with a
//! temporary redb file and talks to it over HTTP.

mod admission;
mod auth;
mod authz_matrix;
mod bench_w1;
mod concurrency;
mod config_api;
mod console;
mod crash;
mod deferral;
mod feed;
#[allow(dead_code)] // not every test module uses every fixture
mod fixtures;
#[allow(dead_code)] // not every test module uses every helper
mod helpers;
mod history;
mod manual;
mod observability;
mod persistence;
mod pipeline;
#[allow(dead_code)] // not every test uses every part of the receiver
mod receiver;
mod runs;
mod schedules;
mod scripts_at_save;
mod scripts_check;
mod validation;
mod webhooks;
mod work;
