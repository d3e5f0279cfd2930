//! Synthetic results for tests and benchmarks of the reporters: realistic runs of any size,
//! and a hostile run whose every peer-controlled string tries to break a report format.

use crate::case::{Grade, Level};
use crate::judge::PeerViolation;
use crate::results::{Check, CloseResult, Party, RunOptions, RunResults, Totals};
use crate::text::hex;
use crate::transcript::{Direction, Entry, Transcript};

const AREAS: [&str; 8] = [
    "framing",
    "control",
    "reserved",
    "opcode",
    "fragmentation",
    "utf8",
    "close",
    "handshake",
];

/// A transcript like a real case's: handshake bytes, a few frames both ways, a close.
fn transcript(i: usize, frames: usize) -> Transcript {
    let mut t = Transcript::default();
    let req = format!(
        "GET /case/{i} HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    let mut us = 50;
    let push = |t: &mut Transcript, e: Entry| t.entries.push(e);
    push(
        &mut t,
        Entry::Note {
            t_us: us,
            text: "opening handshake request".into(),
        },
    );
    us += 3;
    push(
        &mut t,
        Entry::Bytes {
            t_us: us,
            dir: Direction::Out,
            len: req.len(),
            hex: hex(req.as_bytes()),
            truncated: false,
        },
    );
    us += 180;
    push(
        &mut t,
        Entry::Bytes {
            t_us: us,
            dir: Direction::In,
            len: resp.len(),
            hex: hex(resp.as_bytes()),
            truncated: false,
        },
    );
    for f in 0..frames {
        us += 40;
        let payload = format!("Hello, wsspec frame {f} of case {i}");
        push(
            &mut t,
            Entry::Frame {
                t_us: us,
                dir: Direction::Out,
                fin: true,
                rsv: 0,
                opcode: 1,
                masked: true,
                len: payload.len() as u64,
                preview: payload.clone(),
            },
        );
        let mut wire = vec![0x81, 0x80 | payload.len() as u8, 1, 2, 3, 4];
        wire.extend(
            payload
                .bytes()
                .enumerate()
                .map(|(k, b)| b ^ [1, 2, 3, 4][k % 4]),
        );
        push(
            &mut t,
            Entry::Bytes {
                t_us: us + 1,
                dir: Direction::Out,
                len: wire.len(),
                hex: hex(&wire),
                truncated: false,
            },
        );
        us += 60;
        let mut back = vec![0x81, payload.len() as u8];
        back.extend(payload.bytes());
        push(
            &mut t,
            Entry::Bytes {
                t_us: us,
                dir: Direction::In,
                len: back.len(),
                hex: hex(&back),
                truncated: false,
            },
        );
        push(
            &mut t,
            Entry::Frame {
                t_us: us + 1,
                dir: Direction::In,
                fin: true,
                rsv: 0,
                opcode: 1,
                masked: false,
                len: payload.len() as u64,
                preview: payload,
            },
        );
    }
    us += 30;
    push(
        &mut t,
        Entry::Frame {
            t_us: us,
            dir: Direction::Out,
            fin: true,
            rsv: 0,
            opcode: 8,
            masked: true,
            len: 2,
            preview: "code 1000 ".into(),
        },
    );
    push(
        &mut t,
        Entry::Bytes {
            t_us: us + 1,
            dir: Direction::Out,
            len: 8,
            hex: "8882010203040203".into(),
            truncated: false,
        },
    );
    push(
        &mut t,
        Entry::Bytes {
            t_us: us + 90,
            dir: Direction::In,
            len: 4,
            hex: "880203e8".into(),
            truncated: false,
        },
    );
    push(
        &mut t,
        Entry::Frame {
            t_us: us + 91,
            dir: Direction::In,
            fin: true,
            rsv: 0,
            opcode: 8,
            masked: false,
            len: 2,
            preview: "code 1000 ".into(),
        },
    );
    push(
        &mut t,
        Entry::Note {
            t_us: us + 120,
            text: "peer closed TCP".into(),
        },
    );
    t
}

fn grade_for(i: usize, seed: u64) -> Grade {
    match (i as u64)
        .wrapping_mul(2654435761)
        .wrapping_add(seed.wrapping_mul(97))
        % 20
    {
        0 | 1 => Grade::Fail,
        2 => Grade::NonStrict,
        3 => Grade::Informational,
        4 => Grade::Unimplemented,
        _ => Grade::Pass,
    }
}

/// A run of `n` cases over eight areas with a realistic mix of verdicts (about one in ten
/// fails); `seed` varies the verdicts so several agents differ.
pub fn synthetic(n: usize, agent: &str, seed: u64) -> RunResults {
    let mut cases = Vec::with_capacity(n);
    for i in 0..n {
        let area = AREAS[i % AREAS.len()];
        let verdict = grade_for(i, seed);
        let matched = verdict == Grade::Pass;
        let reasons = if matched {
            vec![]
        } else {
            vec![format!(
                "step 3: expected an echo of the 125-byte text message; observed close 1002 \"protocol error\" (case {i})"
            )]
        };
        cases.push(crate::results::CaseResult {
            id: format!("{area}.sample.{i:04}"),
            title: format!("Sample case {i}: a text message of 125 bytes is echoed unchanged"),
            area: area.to_owned(),
            section: "RFC 6455 §5.6".to_owned(),
            requirement: "A text frame's payload is UTF-8 encoded text data; an echo server sends it back unchanged.".to_owned(),
            // A SHOULD miss is non-strict at worst (without --strict): failures are MUSTs,
            // so their evidence explains their verdict as the judge's would.
            level: if i % 5 == 0 && verdict != Grade::Fail {
                Level::Should
            } else {
                Level::Must
            },
            autobahn: (i % 3 == 0).then(|| format!("1.1.{}", i % 8 + 1)),
            origin: format!("cases/{area}.toml:{}", 3 + i * 7),
            verdict,
            deviation: None,
            reasons,
            checks: vec![
                Check { step: 1, expected: "status 101 with a valid handshake response (RFC 6455 §4.1)".into(), observed: "status 101".into(), matched: true, grade: Grade::Pass, implicit: true, count: 1, limit: false },
                Check { step: 3, expected: "a text message of 125 bytes equal to what was sent".into(), observed: if matched { "text message of 125 bytes".into() } else { "close 1002 \"protocol error\"".into() }, matched, grade: if matched { Grade::Pass } else { verdict }, implicit: false, count: 1, limit: false },
            ],
            violations: vec![],
            close: Some(CloseResult {
                verdict: if i % 17 == 0 { Grade::NonStrict } else { Grade::Pass },
                closed_by: Party::Wsspec,
                clean: true,
                peer_code: Some(1000),
                wsspec_code: Some(1000),
                tcp_closed_by: Party::Peer,
                detail: "closing handshake completed and the peer closed TCP".into(),
                tcp: None,
            }),
            duration_ms: 0.4 + (i % 13) as f64 * 0.37,
            bytes_sent: 180,
            bytes_received: 160,
            bytes_per_sec: 0.0,
            timings: Default::default(),
            transcript: transcript(i, 1 + i % 4),
        });
    }
    finish(cases, agent, "ws://127.0.0.1:9001/")
}

fn finish(cases: Vec<crate::results::CaseResult>, agent: &str, target: &str) -> RunResults {
    RunResults {
        schema: crate::results::SCHEMA.to_owned(),
        wsspec_version: env!("CARGO_PKG_VERSION").to_owned(),
        agent: agent.to_owned(),
        target: target.to_owned(),
        peer_role: "server".to_owned(),
        transport: "http/1.1".to_owned(),
        started_at: "2026-01-02T03:04:05Z".to_owned(),
        duration_ms: cases.iter().map(|c| c.duration_ms).sum(),
        options: RunOptions {
            jobs: 2,
            timeout_ms: 2000,
            strict: false,
            cases: vec![],
            exclude: vec![],
            header_names: vec![],
        },
        totals: Totals::of(&cases),
        cases,
        incomplete: None,
        tls: None,
    }
}

/// Strings a hostile peer could make wsspec record.
pub(crate) const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "</textarea><img src=x onerror=alert(2)>",
    "\"'&amp;&",
    "nul\0byte",
    "cdata]]>end",
    "invalid utf-8 \u{fffd}\u{fffd}",
    "ansi \x1b[31mred\x1b[0m \x1b]0;title\x07",
    "markdown | pipe ` backtick <b>bold</b> [link](javascript:alert(3)) **x**",
    "non-chars \u{fffe}\u{ffff} and C1 \u{85}\u{9b}",
    "--><!-- comment",
];

/// One hostile string plus `big` bytes of filler.
fn nasty(k: usize, big: usize) -> String {
    let mut s = HOSTILE.join(" / ");
    s.push(' ');
    s.push_str(HOSTILE[k % HOSTILE.len()]);
    if big > 0 {
        s.push(' ');
        s.push_str(&"<script>alert(1)</script>\0]]>|`".repeat(big / 32 + 1));
    }
    s
}

/// A run in which every string that can come from the peer is hostile, some of them
/// megabytes long, over `n` cases.
pub fn hostile(n: usize) -> RunResults {
    let mut r = synthetic(n, "hostile <script>alert(1)</script>", 7);
    r.target = format!("ws://evil.invalid/{}", nasty(0, 0));
    r.options.header_names = vec![nasty(1, 0)];
    for (i, c) in r.cases.iter_mut().enumerate() {
        let big = if i < 3 { 3 << 20 } else { 0 };
        c.verdict = if i % 2 == 0 { Grade::Fail } else { c.verdict };
        c.reasons = vec![nasty(i, big), nasty(i + 1, 0)];
        for ch in &mut c.checks {
            ch.observed = nasty(i + 2, big);
            ch.matched = false;
            ch.grade = Grade::Fail;
        }
        c.violations.push(PeerViolation::new(
            crate::rules::Rule::MaskPresent,
            nasty(i + 3, 0),
        ));
        if let Some(close) = &mut c.close {
            close.detail = nasty(i + 4, big);
        }
        c.transcript.entries.push(Entry::Frame {
            t_us: 9_999,
            dir: Direction::In,
            fin: true,
            rsv: 7,
            opcode: 8,
            masked: false,
            len: 123,
            preview: nasty(i + 5, big),
        });
        c.transcript.entries.push(Entry::Note {
            t_us: 10_000,
            text: nasty(i + 6, big),
        });
        c.transcript.entries.push(Entry::Bytes {
            t_us: 10_001,
            dir: Direction::In,
            len: 40,
            // Not valid hex: a hand-edited results.json must not break the renderer.
            hex: "3c7363726970743e<script>zz".into(),
            truncated: true,
        });
    }
    r.totals = Totals::of(&r.cases);
    r
}
