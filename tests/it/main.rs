//! wsspec's integration tests, compiled into one test binary (`it`).
//!
//! Each file in this folder was a test binary of its own; each linked all of wsspec and its
//! dependencies, and on two cores linking dominated `cargo test`. Here they are modules of
//! one crate: one link. To add a test file, put it beside this one and add its `mod` line
//! below (a file without one is not compiled); reach the shared helpers with
//! `use crate::common;` (fixtures, the broken echo server) or `use crate::client_harness;`.
//! Run one file's tests with `cargo test --test it NAME::`, e.g. `cargo test --test it tls::` (a
//! filter matches any test path that contains it).

mod client_harness;
mod common;

mod architecture;
mod autobahn_mapping;
mod broken_peers;
mod case_errors;
mod case_ids;
mod ci_recipe;
mod cli;
mod client_cli;
mod client_deflate;
mod client_mode;
mod deflate_cases;
mod deflate_peer;
mod docs_examples;
mod findings;
mod h2_transport;
mod h3_transport;
mod heartbeat;
mod hostile_peers;
mod legal_variants;
mod netfuzz;
mod panic_isolation;
mod prompt_pongs;
mod reference;
mod reports;
mod reports_bench;
mod reports_hostile_peer;
mod requirement_quotes;
mod robust_cli;
mod tls;
mod verdict_doubts;
