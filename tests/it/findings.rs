//! Findings on real runs: a peer with one bug that fails hundreds of cases for one reason
//! yields one finding holding exactly those cases, and every report says so in a few lines.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{ids, Flaws};
use wsspec::case::Grade;
use wsspec::report::findings::{self, FindingClass, Source};
use wsspec::report::terminal::{self, Style};
use wsspec::report::{junit, markdown};
use wsspec::results::RunResults;

/// Everything but `limits` (about 100 MiB) against the echo server with `bugs`.
async fn run(bugs: Flaws) -> RunResults {
    common::run_without_limits(bugs, 64, Duration::from_millis(1000)).await
}

fn not_passed(r: &RunResults) -> BTreeSet<String> {
    r.cases
        .iter()
        .filter(|c| c.verdict != Grade::Pass)
        .map(|c| c.id.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf8_checked_only_at_message_end_is_one_should_finding() {
    let mut r = run(Flaws {
        utf8_check_at_end_only: true,
        ..Default::default()
    })
    .await;
    // The echo server sends no heartbeat, whatever its flaws: that informational case is
    // another finding, left out here.
    r.cases.retain(|c| c.id != "heartbeat.idle.ping");
    // The fail-fast cases, and only they, miss (tests/it/broken_peers.rs holds them to it).
    let mut fail_fast = ids(&["utf8.fail-fast", "utf8.split.*.early"]);
    // Failing inside one frame, before it ends, is recorded but not graded (RFC 6455 §8.1
    // says nothing of timing within a frame): those cases pass a peer that checks at the end.
    fail_fast.retain(|id| !id.starts_with("utf8.fail-fast.within-frame."));
    assert!(fail_fast.len() > 200, "{}", fail_fast.len());
    assert_eq!(not_passed(&r), fail_fast);

    let f = findings::group(&r.cases);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].class, FindingClass::Should);
    assert_eq!(f[0].source, Source::Check);
    assert_eq!(f[0].section, "RFC 6455 §8.1");
    assert_eq!(f[0].behaviour, "nothing within the step timeout");
    assert_eq!(f[0].count, fail_fast.len());
    assert_eq!(
        f[0].cases.iter().cloned().collect::<BTreeSet<_>>(),
        fail_fast
    );
    assert_eq!(
        findings::Summary::of(&f).line(),
        format!(
            "0 MUST findings (0 cases), 1 SHOULD finding ({} cases), 0 limits, 0 unimplemented features, 0 informational",
            fail_fast.len()
        )
    );

    // The terminal tells it in one block, not one line per case.
    let text = terminal::render(
        &r,
        &Style {
            color: false,
            verbose: false,
        },
    );
    let lines_naming_utf8_cases = text.lines().filter(|l| l.contains("utf8.")).count();
    assert_eq!(lines_naming_utf8_cases, 1, "{text}");
    assert!(
        text.contains(&format!(
            "and {} more",
            fail_fast.len() - terminal::IDS_SHOWN
        )),
        "{text}"
    );
    assert!(text.lines().count() < 40, "{text}");
    // -v lists every id.
    let verbose = terminal::render(
        &r,
        &Style {
            color: false,
            verbose: true,
        },
    );
    assert!(!verbose.contains(" more\n"), "every id is listed with -v");

    let md = markdown::render(&r, None);
    assert!(md.contains("### Findings (1)"), "{md}");
    assert!(md.contains("| 1 | SHOULD | RFC 6455 §8.1: "), "{md}");

    // JUnit keeps one testcase per case; the non-strict ones name their finding.
    let xml = junit::render(&r, None);
    assert_eq!(xml.matches("<testcase ").count(), r.cases.len());
    assert_eq!(
        xml.matches("<property name=\"finding\" value=\"1\"/>")
            .count(),
        fail_fast.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn masked_server_frames_are_one_must_finding_whatever_the_case() {
    let r = run(Flaws {
        mask_server_frames: true,
        ..Default::default()
    })
    .await;
    let failed = not_passed(&r);
    assert!(failed.len() > 500, "{}", failed.len());
    assert!(r.cases.iter().all(|c| c.verdict != Grade::NonStrict));

    let f = findings::group(&r.cases);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].class, FindingClass::Must);
    assert_eq!(f[0].source, Source::Violation);
    assert_eq!(f[0].section, "RFC 6455 §5.1");
    assert_eq!(
        f[0].behaviour,
        "client received a frame with the MASK bit set"
    );
    assert_eq!(f[0].cases.iter().cloned().collect::<BTreeSet<_>>(), failed);

    // Failures keep one <failure> each, tagged with the finding.
    let xml = junit::render(&r, None);
    assert_eq!(xml.matches("<failure ").count(), failed.len());
    assert_eq!(
        xml.matches("message=\"[finding 1: MUST RFC 6455 §5.1: ")
            .count(),
        failed.len()
    );
}
