//! Case files: the declarative description of what wsspec checks (DESIGN.md §4).
//!
//! `model` holds the typed case, `payload` payload descriptions, `steps` the parsing of one
//! step, `matrix` family expansion, `load` files and validation, `select` id patterns.

pub mod autobahn_ids;
mod client;
pub mod load;
pub mod matrix;
pub mod model;
pub mod payload;
pub mod select;
pub mod steps;
pub mod vectors;

pub use load::{load_dir, load_sources, CaseError};
pub use model::*;
pub use payload::Payload;
pub use select::{select, select_listing, IdPattern};

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_cases.rs"));
}

/// The case files compiled into wsspec, as (path, text).
pub fn builtin_sources() -> &'static [(&'static str, &'static str)] {
    builtin::BUILTIN
}

/// The built-in corpus. It is checked by the test suite, so failing here is a build bug.
pub fn builtin() -> Result<Vec<Case>, CaseError> {
    load_sources(builtin::BUILTIN.iter().copied())
}
