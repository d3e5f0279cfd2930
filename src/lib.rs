//! wsspec: a WebSocket (RFC 6455, RFC 7692) conformance suite and fuzzer.
//!
//! The library is the product; the `wsspec` binary is a thin front end. A Rust project can
//! run the suite from its own tests:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let suite = wsspec::Suite::builtin()?.select(&["framing"], &[])?;
//! let results = suite.test_server("ws://127.0.0.1:9001/", &Default::default()).await?;
//! assert_eq!(results.totals.fail, 0);
//! # Ok(()) }
//! ```

// The library's documented API: `Suite`, the case model, results and their reports, the
// run's settings, client mode's listener, the reference server, the fuzzer. The modules
// below marked `testing` are the machinery under it: public only to wsspec's own tests,
// examples and fuzz crate (feature `testing`), private otherwise, where the items only
// those use are left unused (hence the allow).
pub mod case;
pub mod cli;
pub mod client_mode;
#[cfg(feature = "testing")]
pub mod codec;
#[cfg(not(feature = "testing"))]
#[allow(dead_code, unused_imports)]
mod codec;
#[cfg(feature = "testing")]
pub mod deflate;
#[cfg(not(feature = "testing"))]
#[allow(dead_code, unused_imports)]
mod deflate;
pub mod fuzz;
#[cfg(feature = "testing")]
pub mod handshake;
#[cfg(not(feature = "testing"))]
#[allow(dead_code, unused_imports)]
mod handshake;
#[cfg(feature = "testing")]
pub mod judge;
#[cfg(not(feature = "testing"))]
#[allow(dead_code, unused_imports)]
mod judge;
pub mod reference;
pub mod report;
pub mod results;
pub mod rules;
pub mod run;
#[cfg(feature = "testing")]
pub mod text;
#[cfg(not(feature = "testing"))]
#[allow(dead_code, unused_imports)]
mod text;
#[cfg(feature = "testing")]
pub mod time;
#[cfg(not(feature = "testing"))]
#[allow(dead_code, unused_imports)]
mod time;
pub mod transcript;
#[cfg(feature = "testing")]
pub mod utf8;
#[cfg(not(feature = "testing"))]
#[allow(dead_code, unused_imports)]
mod utf8;

use case::{Case, CaseError, IdPattern};
use results::RunResults;
use run::{RunConfig, RunError, Target};

/// A set of cases to run.
#[derive(Debug, Clone)]
pub struct Suite {
    cases: Vec<Case>,
}

impl Suite {
    /// The built-in corpus from `cases/`, compiled into wsspec.
    pub fn builtin() -> Result<Suite, CaseError> {
        Ok(Suite {
            cases: case::builtin()?,
        })
    }

    /// The built-in corpus plus every case file under `dirs`; ids must stay unique.
    pub fn builtin_and(dirs: &[std::path::PathBuf]) -> Result<Suite, CaseError> {
        let mut cases = case::builtin()?;
        for d in dirs {
            cases.extend(case::load_dir(d)?);
        }
        case::load::check_unique(&cases)?;
        Ok(Suite { cases })
    }

    pub fn from_cases(cases: Vec<Case>) -> Suite {
        Suite { cases }
    }

    /// Keeps cases matching `include` (all when empty) and not `exclude`; see
    /// [`IdPattern`] for the pattern forms.
    pub fn select(
        self,
        include: &[&str],
        exclude: &[&str],
    ) -> Result<Suite, case::select::PatternError> {
        let inc = include
            .iter()
            .map(|p| IdPattern::parse(p))
            .collect::<Result<Vec<_>, _>>()?;
        let exc = exclude
            .iter()
            .map(|p| IdPattern::parse(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Suite {
            cases: case::select(self.cases, &inc, &exc),
        })
    }

    pub fn cases(&self) -> &[Case] {
        &self.cases
    }

    /// Keeps the cases that apply when testing a peer in `role` (role = "both" included).
    pub fn for_role(self, role: case::Role) -> Suite {
        Suite {
            cases: self
                .cases
                .into_iter()
                .filter(|c| c.role.applies_to(role))
                .collect(),
        }
    }

    /// Runs the suite against a WebSocket server.
    pub async fn test_server(&self, url: &str, cfg: &RunConfig) -> Result<RunResults, RunError> {
        let target = Target::parse(url)?;
        let cases = self
            .cases
            .iter()
            .filter(|c| c.role.applies_to(case::Role::Server))
            .cloned()
            .collect();
        run::test_server(&target, cases, cfg, None).await
    }

    /// Serves the suite's client cases to WebSocket clients on `addr` (e.g.
    /// "127.0.0.1:0"), behind the Autobahn client URL protocol; see [`client_mode`].
    pub async fn test_clients(
        &self,
        addr: &str,
        cfg: client_mode::ClientConfig,
    ) -> std::io::Result<client_mode::ClientServer> {
        let cases = self
            .cases
            .iter()
            .filter(|c| c.role.applies_to(case::Role::Client))
            .cloned()
            .collect();
        client_mode::ClientServer::bind(addr, client_mode::order_cases(cases), cfg).await
    }
}
