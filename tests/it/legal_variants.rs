//! A peer that fails or refuses in a way the RFC allows is never failed (DESIGN.md §5).
//!
//! Each test switches on one behaviour of the echo server that is *not* a violation: the
//! connection failed by dropping TCP, with close code 1011, an HTTP/1.0 request refused
//! with 505, version 8 accepted, a buffered ping answered before failing, a refused
//! handshake answered by dropping the connection. The whole suite but `limits` (which
//! none of these changes) must then produce no FAIL verdict at all; and, so that the test
//! can fail for the right reason, the variant must show up somewhere as something other
//! than a pass (a non-strict or informational verdict, or a note) where it is observable.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{explain, failed, Flaws};
use wsspec::case::Grade;
use wsspec::results::RunResults;

async fn run(flaws: Flaws) -> RunResults {
    // No case waits for its timeout against these servers, so a long one costs nothing and
    // keeps a loaded machine (six runs at once in this binary) from missing a deadline.
    common::run_without_limits(flaws, 32, Duration::from_millis(5000)).await
}

/// The cases that are neither pass nor fail.
fn softened(r: &RunResults) -> BTreeSet<String> {
    r.cases
        .iter()
        .filter(|c| matches!(c.verdict, Grade::NonStrict | Grade::Informational))
        .map(|c| c.id.clone())
        .collect()
}

fn assert_no_fail(r: &RunResults, what: &str) {
    let f = failed(r);
    assert!(
        f.is_empty(),
        "{what}: {} cases FAILED, though the RFC allows this behaviour:{}",
        f.len(),
        explain(r, &f)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_by_dropping_tcp_is_not_failed() {
    let r = run(Flaws {
        fail_by_dropping_tcp: true,
        ..Flaws::default()
    })
    .await;
    assert_no_fail(&r, "fails by dropping TCP");
    // Where a case names the close code, dropping TCP instead passes the expectation
    // and shows in the close verdict as informational; the fail-fast UTF-8 cases (whose
    // second `fail` step comes after the drop) pass.
    let c = common::case(&r, "utf8.fail-fast.above-max-110000-4");
    assert_eq!(c.verdict, Grade::Pass, "{:?}", c.reasons);
    let close = c.close.as_ref().expect("the connection was established");
    assert_eq!(close.verdict, Grade::Informational, "{}", close.detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_with_another_close_code_is_not_failed() {
    let r = run(Flaws {
        fail_with_1011: true,
        ..Flaws::default()
    })
    .await;
    assert_no_fail(&r, "fails with 1011");
    // Cases that name 1002 or 1007 see 1011 as a failure with another code: non-strict.
    let soft = softened(&r);
    assert!(
        soft.contains("close.code.invalid.999") && soft.contains("reserved.opcode.3.empty"),
        "1011 instead of 1002 should be non-strict: {soft:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_1_0_refused_with_505_is_not_failed() {
    let r = run(Flaws {
        refuse_http_1_0_with_505: true,
        ..Flaws::default()
    })
    .await;
    assert_no_fail(&r, "HTTP/1.0 refused with 505");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_version_8_is_not_failed() {
    let r = run(Flaws {
        accept_version_8: true,
        ..Flaws::default()
    })
    .await;
    assert_no_fail(&r, "accepts Sec-WebSocket-Version 8");
    let c = common::case(&r, "handshake.version.8");
    assert_eq!(c.verdict, Grade::Informational, "{:?}", c.reasons);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answering_a_buffered_ping_before_failing_is_not_failed() {
    let r = run(Flaws {
        pong_before_failing: true,
        ..Flaws::default()
    })
    .await;
    assert_no_fail(&r, "answers a buffered ping before failing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusing_a_handshake_by_dropping_tcp_is_not_failed() {
    let r = run(Flaws {
        no_error_response: true,
        ..Flaws::default()
    })
    .await;
    assert_no_fail(&r, "refuses handshakes by dropping TCP");
    let c = common::case(&r, "handshake.method.post");
    assert_eq!(c.verdict, Grade::NonStrict, "{:?}", c.reasons);
}
