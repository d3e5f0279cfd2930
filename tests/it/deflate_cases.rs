//! The `deflate` cases can fail: the compressing echo server (`wsspec::reference::echo`)
//! passes all of them; with one compression flaw switched on it fails exactly the cases
//! that check for that flaw; and with compression switched off every case that needs it
//! is `unimplemented`, never failed.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{assert_failed_exactly, assert_outcomes, ids, ids_where, ids_with, Expected, Flaws};
use wsspec::case::{Case, DeflateExpect, ExpectKind, Grade, Send, Step};
use wsspec::reference::echo::{EchoConfig, EchoServer};
use wsspec::reference::permessage_deflate::DeflateConfig;
use wsspec::results::RunResults;
use wsspec::run::{RunConfig, SessionConfig};

async fn run_deflate(cfg: EchoConfig) -> RunResults {
    let server = EchoServer::start_with(cfg)
        .await
        .expect("the echo server starts");
    let run = RunConfig {
        jobs: 64,
        session: SessionConfig {
            step_timeout: Duration::from_millis(1500),
            ..Default::default()
        },
        ..Default::default()
    };
    let suite = common::builtin()
        .select(&["deflate"], &["deflate.volume"])
        .expect("patterns parse");
    tokio::time::timeout(
        Duration::from_secs(60),
        suite.test_server(&server.url(), &run),
    )
    .await
    .expect("the run finishes")
    .expect("the run takes place")
}

async fn run_flawed(flaws: Flaws) -> RunResults {
    run_deflate(EchoConfig {
        flaws,
        ..Default::default()
    })
    .await
}

/// The offer of the case's handshake step, as written.
fn offer(c: &Case) -> String {
    c.steps
        .iter()
        .find_map(|s| match s {
            Step::Send(Send::Handshake(h), _) => Some(h.extensions.join(", ")),
            _ => None,
        })
        .unwrap_or_default()
}

/// Whether the case needs the server to accept compression.
fn needs_deflate(c: &Case) -> bool {
    c.steps.iter().any(|s| {
        matches!(s, Step::Expect(e) if matches!(&e.kind,
            ExpectKind::Handshake(h) if h.deflate == Some(DeflateExpect::Accepted)))
    })
}

/// How many data messages the case expects back.
fn messages_expected(c: &Case) -> usize {
    c.runs()
        .map(|(_, s)| s)
        .filter(|s| matches!(s, Step::Expect(e) if matches!(e.kind, ExpectKind::Message { .. })))
        .count()
}

/// Whether every message the case sends is empty (`deflate.echo.*.empty-*`): the
/// compressed form of nothing is the same one byte with or without context.
fn only_empty(c: &Case) -> bool {
    c.id.starts_with("deflate.echo.") && c.id.contains(".empty-")
}

fn deflate_where(pred: impl Fn(&Case) -> bool) -> BTreeSet<String> {
    ids_where(|c| c.area() == "deflate" && pred(c))
}

/// Asserts that exactly the deflate cases in `fail` failed, and all others passed.
async fn flaw_fails(flaws: Flaws, fail: BTreeSet<String>) {
    assert!(
        !fail.is_empty(),
        "a flaw with nothing to fail proves nothing"
    );
    let r = run_flawed(flaws).await;
    assert_failed_exactly(&r, &fail, &format!("{flaws:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_compressing_server_passes_every_deflate_case() {
    let r = run_flawed(Flaws::default()).await;
    assert_eq!(r.cases.len(), deflate_where(|_| true).len());
    assert_outcomes(&r, &Expected::default(), "correct compressing server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_compression_is_unimplemented_not_failed() {
    let r = run_deflate(EchoConfig {
        deflate: DeflateConfig::disabled(),
        ..Default::default()
    })
    .await;
    let needs = deflate_where(needs_deflate);
    assert_eq!(ids_with(&r, Grade::Unimplemented), needs);
    // The invalid offers are declined, which is right: those cases pass.
    let rest: BTreeSet<String> = deflate_where(|c| !needs_deflate(c));
    assert_eq!(ids_with(&r, Grade::Pass), rest);
    assert!(rest.len() >= 15, "{rest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsv1_on_its_own_continuation_frames_fails_every_echo() {
    // The flawed server splits each compressed reply in two, RSV1 on both (RFC 7692 §6.1).
    // An empty message compresses to the single byte 0x00, which it cannot split.
    flaw_fails(
        Flaws {
            rsv1_on_continuation: true,
            ..Flaws::default()
        },
        deflate_where(|c| needs_deflate(c) && messages_expected(c) > 0 && !only_empty(c)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_rsv1_on_continuation_frames_fails_those_cases() {
    let flaws = Flaws {
        accept_rsv1_on_continuation: true,
        ..Flaws::default()
    };
    let r = run_flawed(flaws).await;
    // The continuation of an uncompressed message is taken as compressed data, which does
    // not inflate: the server fails the connection after all, with 1007 where the RSV1
    // rule gives 1002. Another code is non-strict (RFC 6455 §7.1.7).
    assert_outcomes(
        &r,
        &Expected {
            fail: ids(&["deflate.rsv1.continuation"]),
            non_strict: ids(&["deflate.rsv1.uncompressed-continuation"]),
            ..Expected::default()
        },
        &format!("{flaws:?}"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_rsv1_on_control_frames_fails_those_cases() {
    flaw_fails(
        Flaws {
            accept_rsv1_on_control: true,
            ..Flaws::default()
        },
        ids(&[
            "deflate.rsv1.ping",
            "deflate.rsv1.pong",
            "deflate.rsv1.ping-alone",
            "deflate.rsv1.pong-alone",
            "deflate.rsv1.close",
        ]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsv1_on_its_own_control_frames_fails_every_compressed_connection() {
    // Its close frame carries RSV1, and every compressed connection ends with one.
    flaw_fails(
        Flaws {
            rsv1_on_control: true,
            ..Flaws::default()
        },
        deflate_where(needs_deflate),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeping_context_despite_server_no_context_takeover_fails_from_the_second_message() {
    // One message cannot show it; the second refers back into the first, but only when
    // the first is still in the window: random bytes repeat nothing of their own, so a
    // copy of a message as large as the window (1 KiB with server_max_window_bits=10,
    // else 32 KiB) finds nothing to refer to and inflates the same either way.
    let beyond_window = |c: &Case| {
        let window = if offer(c).contains("server_max_window_bits=10") {
            1024
        } else {
            32768
        };
        c.id.starts_with("deflate.echo.")
            && c.id.contains(".binary.")
            && c.id
                .rsplit('.')
                .next()
                .and_then(|n| n.parse::<usize>().ok())
                >= Some(window)
    };
    flaw_fails(
        Flaws {
            keep_context_despite_no_context_takeover: true,
            ..Flaws::default()
        },
        deflate_where(|c| {
            needs_deflate(c)
                && offer(c).contains("server_no_context_takeover")
                && messages_expected(c) >= 2
                && !beyond_window(c)
                && !only_empty(c)
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_bad_window_bits_fails_the_window_offers() {
    flaw_fails(
        Flaws {
            accept_bad_window_bits: true,
            ..Flaws::default()
        },
        ids(&[
            "deflate.negotiate.invalid.server-max-window-bits.*",
            "deflate.negotiate.invalid.client-max-window-bits.*",
            // It accepts server_max_window_bits=7 in the first offer.
            "deflate.negotiate.preference.invalid-then-valid",
        ]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_unknown_parameters_fails_those_offers() {
    flaw_fails(
        Flaws {
            accept_unknown_params: true,
            ..Flaws::default()
        },
        ids(&["deflate.negotiate.invalid.unknown-parameter*"]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_duplicate_parameters_fails_those_offers() {
    flaw_fails(
        Flaws {
            accept_duplicate_params: true,
            ..Flaws::default()
        },
        ids(&["deflate.negotiate.invalid.duplicate"]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answering_client_max_window_bits_unoffered_fails_every_offer_without_it() {
    flaw_fails(
        Flaws {
            client_max_window_bits_unoffered: true,
            ..Flaws::default()
        },
        deflate_where(|c| needs_deflate(c) && !offer(c).contains("client_max_window_bits")),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignoring_corrupt_deflate_data_fails_the_corrupt_cases() {
    flaw_fails(
        Flaws {
            accept_corrupt_deflate: true,
            ..Flaws::default()
        },
        ids(&["deflate.corrupt"]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_utf8_check_after_inflation_fails_that_case() {
    flaw_fails(
        Flaws {
            no_utf8_check_after_inflate: true,
            ..Flaws::default()
        },
        ids(&["deflate.utf8.invalid-after-inflation"]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressing_with_a_larger_window_than_agreed_fails_where_the_data_shows_it() {
    // The flawed server answers server_max_window_bits=N and compresses with 15 bits. wsspec
    // reads the distance codes (the inflater, with its 32 KiB window, cannot tell), so the
    // flaw shows wherever the server's own data offers a match farther back than 2^N:
    // - windows of 8 and 9 bits: messages of 1 KiB and more, which repeat (each is sent
    //   three times), except 128 KiB of random bytes, whose only repeat is out of any window;
    //   the 4000-byte fragmented messages too;
    // - `everything` (10 bits, and server_no_context_takeover, so references stay inside one
    //   message): text and repetitive messages larger than the 1 KiB window.
    let shows = |c: &Case| {
        if c.id.starts_with("deflate.fragmented.server-window-9.") {
            return true;
        }
        let Some(rest) = c.id.strip_prefix("deflate.echo.") else {
            return false;
        };
        let parts: Vec<&str> = rest.split('.').collect();
        let [set, kind, size] = parts[..] else {
            return false;
        };
        let Ok(size) = size.parse::<usize>() else {
            return false;
        };
        match set {
            "server-window-8" | "server-window-9" => {
                size >= 1024 && !(kind == "binary" && size > 32768)
            }
            "everything" => kind != "binary" && size > 1024,
            _ => false,
        }
    };
    let expected = deflate_where(shows);
    assert_eq!(expected.len(), 25);
    flaw_fails(
        Flaws {
            ignore_server_max_window_bits: true,
            ..Flaws::default()
        },
        expected,
    )
    .await;
}
