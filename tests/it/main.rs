//! One integration binary: every test starts a real allot server on port 0 with a
//! temporary redb file and talks to it over HTTP.

mod config_api;
#[allow(dead_code)] // not every test module uses every helper
mod helpers;
mod pipeline;
