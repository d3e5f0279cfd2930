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
    let suite = Suite::builtin()
        .unwrap()
        .for_role(Role::Server)
        // h2.* run only over HTTP/2 (tests/it/h2_transport.rs).
        .select(&[], &["h2"])
        .unwrap();
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
            // tokio-tungstenite sends no keep-alive pings: the heartbeat cases that wait
            // for one are informational (INFO level), never failures.
            (false, Grade::Informational) if case.id.starts_with("heartbeat.") => {}
            // A documented refusal the case allows (a frame written with the request) is
            // graded unimplemented: it still occurs.
            (true, Grade::Fail | Grade::NonStrict | Grade::Unimplemented) => {}
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
    // A SHOULD case the reference server misses on purpose (it answers the ping the case
    // asks it to leave unanswered): non-strict, and a failure under --strict.
    let dir = std::env::temp_dir().join(format!("wsspec-strict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("strict.toml"),
        r#"[[case]]
id = "strictness.should-miss"
title = "A SHOULD case the server misses"
section = "RFC 6455 §5.5.2"
requirement = "It SHOULD respond with Pong frame as soon as is practical. [Here the case asks for silence, so a server that answers misses.]"
level = "SHOULD"
role = "server"
steps = [
  { send = "ping", payload = "p" },
  { expect = "silence", ms = 200 },
]
"#,
    )
    .unwrap();
    let server = ReferenceServer::start().await.unwrap();
    let suite = Suite::builtin_and(std::slice::from_ref(&dir))
        .unwrap()
        .select(&["strictness"], &[])
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(suite.cases().len(), 1);
    let mut cfg = RunConfig::default();
    let lenient = suite.test_server(&server.url(), &cfg).await.unwrap();
    assert_eq!(lenient.cases[0].verdict, Grade::NonStrict);
    cfg.session.strict = true;
    let strict = suite.test_server(&server.url(), &cfg).await.unwrap();
    assert_eq!(strict.cases[0].verdict, Grade::Fail);
}
