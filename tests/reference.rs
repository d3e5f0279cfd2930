//! The whole built-in corpus against the embedded tokio-tungstenite reference server.
//!
//! Every case passes, except the deviations the case files document for tokio-tungstenite;
//! and each documented deviation really occurs, so the documentation cannot go stale.

use wsspec::case::{Grade, Role};
use wsspec::reference::{ReferenceServer, IMPLEMENTATION};
use wsspec::run::RunConfig;
use wsspec::Suite;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_passes_against_the_reference_server_except_documented_deviations() {
    let server = ReferenceServer::start().await.unwrap();
    let suite = Suite::builtin().unwrap().for_role(Role::Server);
    let cfg = RunConfig {
        known_deviations: Some(IMPLEMENTATION.into()),
        ..Default::default()
    };
    let results = suite.test_server(&server.url(), &cfg).await.unwrap();
    assert_eq!(results.cases.len(), suite.cases().len());
    let mut unexpected = Vec::new();
    for (case, result) in suite.cases().iter().zip(&results.cases) {
        assert_eq!(case.id, result.id, "results keep the order of the cases");
        let documented = case.deviations.iter().any(|(who, _)| who == IMPLEMENTATION);
        match (documented, result.verdict) {
            (false, Grade::Pass) => {}
            (true, Grade::Fail | Grade::NonStrict) => {}
            (true, v) => unexpected.push(format!("{}: documented deviation but {v:?}", case.id)),
            (false, v) => unexpected.push(format!("{}: {v:?}: {:?}", case.id, result.reasons)),
        }
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert_eq!(results.unexpected_failures(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_keep_case_order_whatever_the_parallelism() {
    let server = ReferenceServer::start().await.unwrap();
    let suite = Suite::builtin()
        .unwrap()
        .select(&["framing", "control", "close"], &[])
        .unwrap()
        .for_role(Role::Server);
    let mut orders = Vec::new();
    for jobs in [1, 7, 64] {
        let cfg = RunConfig {
            jobs,
            ..Default::default()
        };
        let r = suite.test_server(&server.url(), &cfg).await.unwrap();
        assert_eq!(r.totals.fail, 0, "jobs={jobs}");
        orders.push(r.cases.iter().map(|c| c.id.clone()).collect::<Vec<_>>());
    }
    let expected: Vec<String> = suite.cases().iter().map(|c| c.id.clone()).collect();
    for o in &orders {
        assert_eq!(o, &expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_turns_non_strict_into_failure() {
    let server = ReferenceServer::start().await.unwrap();
    let suite = Suite::builtin()
        .unwrap()
        .select(&["handshake.frames-in-same-write"], &[])
        .unwrap();
    let mut cfg = RunConfig::default();
    let lenient = suite.test_server(&server.url(), &cfg).await.unwrap();
    assert_eq!(lenient.cases[0].verdict, Grade::NonStrict);
    cfg.session.strict = true;
    let strict = suite.test_server(&server.url(), &cfg).await.unwrap();
    assert_eq!(strict.cases[0].verdict, Grade::Fail);
}
