//! Deciding one expectation from the events that arrive after it starts.
//!
//! A matcher sees events one at a time, in order, and decides as soon as it can: the runner
//! never waits longer than the evidence requires, which is what keeps a full run in seconds.

use super::event::Event;
use crate::case::{DeflateExpect, Expect, ExpectKind, Grade, HandshakeExpect, Payload};
use crate::codec::OpCode;
use crate::handshake::{validate_response, Offer};
use crate::text::bounded_lossy;

/// What the case has sent so far that an expectation may refer to.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The last message sent, as its description: a large one is generated again, chunk
    /// by chunk, to check its echo.
    pub last_message: Option<(u8, Payload)>,
    /// A message being sent frame by frame (`send = "frame"` steps), until its FIN frame.
    pub open_message: Option<(u8, Vec<u8>)>,
    pub last_ping: Option<Vec<u8>>,
    pub key: String,
    /// The peer's declared message size limit (`--max-message-size`), if any.
    pub peer_limit: Option<u64>,
    pub protocols: Vec<String>,
    pub extensions: Vec<String>,
    /// The permessage-deflate agreement, once the server's answer was read and is valid.
    pub deflate: Option<crate::deflate::Agreement>,
    /// The codes of the close frames wsspec sent, well formed or not (1005 for none): a
    /// peer that took one as a valid close answers with its code, 1000 or no code, which
    /// is never "failing the connection" on it.
    pub closes_sent: Vec<u16>,
    /// Payloads of the well-formed pings wsspec sent (the latest [`PROBES_KEEP`]): a pong
    /// answering one of them may come from a peer that read it in the same segment as an
    /// offending frame, so it is no evidence that the peer ignored that frame. A pong with
    /// any other payload answers a malformed ping, which a peer must not process.
    pub probe_pings: Vec<Vec<u8>>,
    /// The handshake is an HTTP/2 extended CONNECT (RFC 8441): a 2xx accepts as 101 does
    /// over HTTP/1.1, and the HTTP/1.1-only parts of the response (Upgrade, Connection,
    /// Sec-WebSocket-Accept) are not asked for.
    pub extended_connect: bool,
    /// The protocols the request's `Upgrade` header offered, lower-cased: a 101 that
    /// switches to one of these other than websocket (h2c, say) is an HTTP server taking up
    /// another protocol the request asked for, not a WebSocket acceptance.
    pub upgrade_offered: Vec<String>,
}

/// Well-formed ping payloads remembered per case.
pub const PROBES_KEEP: usize = 16;

impl Context {
    /// Whether a close with `code` is what a peer that ignored the offending input would
    /// answer to wsspec's own close frame.
    fn answers_own_close(&self, code: u16) -> bool {
        !self.closes_sent.is_empty()
            && (code == 1000 || code == 1005 || self.closes_sent.contains(&code))
    }
}

/// The decision on one expectation.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub matched: bool,
    pub grade: Grade,
    pub expected: String,
    pub observed: String,
    /// The peer refused for a size, fragment-count or resource limit (close 1009 or 1008,
    /// HTTP 413, 431 or 503) where the case asked for an echo or an accepted handshake: the
    /// "limit" outcome of DESIGN.md §5, never a failure unless a declared limit says so.
    pub limit: bool,
}

pub enum Progress {
    Pending,
    Done(Outcome),
}

/// Events described in the "observed" text of a timeout; the rest are only counted, so a
/// peer that floods cannot grow a check (and the report) without bound.
pub const SEEN_KEEP: usize = 10;

pub struct Matcher {
    expect: Expect,
    expected_text: String,
    /// Resolved expected payload (echo or explicit) for message and pong.
    want: Option<(Option<u8>, Payload)>,
    /// The digest of `want`, computed once when a summarised echo needs it.
    want_digest: Option<u64>,
    alternatives: Vec<Option<Matcher>>,
    seen: Vec<String>,
    /// Events seen past the first SEEN_KEEP.
    unseen: u64,
}

impl Matcher {
    pub fn new(expect: &Expect, ctx: &Context) -> Matcher {
        let want = match &expect.kind {
            ExpectKind::Message { opcode, payload } => {
                let (op, bytes) = match (payload, &ctx.last_message) {
                    (Some(p), _) => (opcode.or(ctx.last_message.as_ref().map(|m| m.0)), p.clone()),
                    (None, Some((o, b))) => (opcode.or(Some(*o)), b.clone()),
                    (None, None) => (*opcode, Payload::default()),
                };
                Some((op, bytes))
            }
            ExpectKind::Pong { payload } => Some((
                None,
                match payload {
                    Some(p) => p.clone(),
                    None => Payload::Bytes(ctx.last_ping.clone().unwrap_or_default()),
                },
            )),
            _ => None,
        };
        let alternatives = match &expect.kind {
            ExpectKind::Any(alts) => alts.iter().map(|a| Some(Matcher::new(a, ctx))).collect(),
            _ => Vec::new(),
        };
        let mut m = Matcher {
            expect: expect.clone(),
            expected_text: String::new(),
            want,
            want_digest: None,
            alternatives,
            seen: Vec::new(),
            unseen: 0,
        };
        m.expected_text = m.describe_expected();
        m
    }

    pub fn expected(&self) -> &str {
        &self.expected_text
    }

    fn describe_expected(&self) -> String {
        let codes = |c: &[u16]| {
            c.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let text = match &self.expect.kind {
            ExpectKind::Handshake(h) => describe_handshake(h),
            ExpectKind::Message { payload, .. } => {
                let (op, bytes) = self.want.as_ref().unwrap();
                let kind = match op {
                    Some(1) => "text",
                    Some(2) => "binary",
                    _ => "data",
                };
                if payload.is_some() {
                    format!(
                        "a {kind} message of {} bytes: {}",
                        bytes.len(),
                        payload.as_ref().unwrap().describe()
                    )
                } else {
                    format!("the {}-byte {kind} message echoed back", bytes.len())
                }
            }
            ExpectKind::Pong { .. } => {
                format!(
                    "a pong with the {}-byte ping payload",
                    self.want.as_ref().unwrap().1.len()
                )
            }
            ExpectKind::Ping => "a ping from the peer (a heartbeat)".into(),
            ExpectKind::Close { codes: c } if c.is_empty() => "a close frame".into(),
            ExpectKind::Close { codes: c } => format!("a close frame with code {}", codes(c)),
            ExpectKind::Fail {
                codes: c,
                codes_not: n,
            } => {
                let mut t = if c.is_empty() {
                    "the peer fails the connection (close frame or TCP close, nothing processed)"
                        .to_owned()
                } else {
                    format!(
                        "the peer fails the connection with close code {} (or drops TCP), nothing processed",
                        codes(c)
                    )
                };
                if !n.is_empty() {
                    t.push_str(&format!(", not a close with {}", codes(n)));
                }
                t
            }
            ExpectKind::TcpClosed => "the peer closes TCP".into(),
            ExpectKind::Silence { ms } => format!("nothing from the peer for {ms} ms"),
            ExpectKind::Any(_) => self
                .alternatives
                .iter()
                .flatten()
                .map(|m| format!("{} ({})", m.expected_text, m.expect.grade.as_str()))
                .collect::<Vec<_>>()
                .join(", or "),
        };
        match &self.expect.note {
            Some(n) => format!("{text} [{n}]"),
            None => text,
        }
    }

    fn done(&self, matched: bool, observed: String) -> Progress {
        let grade = if matched {
            self.expect.grade
        } else {
            self.expect.otherwise
        };
        self.done_graded(matched, observed, grade)
    }

    /// No usable response at all: with a `deflate` expectation that is a broken handshake,
    /// not a missing optional feature, so `otherwise` does not soften it.
    fn handshake_missed(&self, h: &HandshakeExpect, observed: String) -> Progress {
        if h.deflate.is_some() {
            self.done_graded(false, observed, Grade::Fail)
        } else {
            self.done(false, observed)
        }
    }

    /// Not an HTTP response (garbage, or part of one and then the end of TCP): a broken
    /// handshake, not a refusal, so an `otherwise` softer than `fail` (a feature the server
    /// may lack, a request it may refuse) does not soften it. A refusal is a 4xx/5xx, or TCP
    /// closed before any byte of a response (RFC 6455 §4.2.1, §10.7).
    fn handshake_broken(&self, observed: String) -> Progress {
        self.done_graded(false, observed, Grade::Fail)
    }

    fn done_graded(&self, matched: bool, observed: String, grade: Grade) -> Progress {
        Progress::Done(Outcome {
            matched,
            grade,
            expected: self.expected_text.clone(),
            observed,
            limit: false,
        })
    }

    /// Met, but in a way the RFC words as SHOULD or "such as" (another close code, another
    /// error status, TCP dropped instead of a status): non-strict at most (DESIGN.md §5).
    fn done_loosely(&self, observed: String) -> Progress {
        self.done_graded(true, observed, self.expect.grade.max(Grade::NonStrict))
    }

    /// The "limit" outcome: informational, never a failure.
    fn done_limit(&self, observed: String) -> Progress {
        Progress::Done(Outcome {
            matched: false,
            grade: Grade::Informational,
            expected: self.expected_text.clone(),
            observed,
            limit: true,
        })
    }

    /// A close with 1009 (message too big, RFC 6455 §7.4.1), or 1008 (policy violation,
    /// which servers use for fragment-count and other resource limits), instead of an echo. Size limits
    /// are not bugs: without a declared limit it is informational, naming the size; with
    /// `--max-message-size` it must happen above the limit and only there.
    fn size_limit(&self, ctx: &Context, ev: &Event) -> Progress {
        let size = self.want.as_ref().map(|w| w.1.len() as u64).unwrap_or(0);
        match ctx.peer_limit {
            Some(limit) if size <= limit => self.done(
                false,
                format!("{}: the peer refused a {size}-byte message, below its declared limit of {limit}", ev.describe()),
            ),
            Some(limit) => Progress::Done(Outcome {
                matched: true,
                grade: Grade::Pass,
                expected: self.expected_text.clone(),
                observed: format!("{}: the {size}-byte message is above the declared limit of {limit}", ev.describe()),
                limit: true,
            }),
            None => self.done_limit(format!(
                "{}: size limit, the peer refuses messages of {size} bytes",
                ev.describe()
            )),
        }
    }

    /// The timeout this expectation asked for, if any.
    pub fn timeout_ms(&self) -> Option<u64> {
        match &self.expect.kind {
            ExpectKind::Silence { ms } => Some(*ms),
            _ => self.expect.timeout_ms,
        }
    }

    /// Feeds the next event.
    pub fn feed(&mut self, ev: &Event, ctx: &Context) -> Progress {
        if !matches!(ev, Event::Violation(_)) {
            if self.seen.len() < SEEN_KEEP {
                self.seen.push(ev.describe());
            } else {
                self.unseen += 1;
            }
        }
        match &self.expect.kind {
            ExpectKind::Handshake(h) => self.feed_handshake(h, ev, ctx),
            ExpectKind::Message { .. } => self.feed_message(ev, ctx),
            ExpectKind::Pong { .. } => self.feed_pong(ev),
            // Data the peer sends on its own does not end the wait; a close or the end of
            // TCP does: no heartbeat came while the connection lasted.
            ExpectKind::Ping => match ev {
                Event::Ping(_) => self.done(true, ev.describe()),
                Event::Close { .. } => self.done(false, ev.describe()),
                e if e.is_end() => self.done(false, e.describe()),
                _ => Progress::Pending,
            },
            ExpectKind::Close { codes } => self.feed_close(codes, ev),
            ExpectKind::Fail { codes, codes_not } => self.feed_fail(codes, codes_not, ev, ctx),
            ExpectKind::TcpClosed => match ev {
                Event::Eof | Event::Reset(_) => self.done(true, ev.describe()),
                Event::Message { .. } | Event::Unreadable { .. } => self.done(false, ev.describe()),
                _ => Progress::Pending,
            },
            ExpectKind::Silence { .. } => match ev {
                Event::Ping(_) | Event::Violation(_) => Progress::Pending,
                _ => self.done(false, ev.describe()),
            },
            ExpectKind::Any(_) => self.feed_any(ev, ctx),
        }
    }

    /// The opening handshake's response (or its absence) against a handshake expectation.
    fn feed_handshake(&self, h: &HandshakeExpect, ev: &Event, ctx: &Context) -> Progress {
        match ev {
            Event::Handshake(resp) => self.judge_response(h, resp, ctx),
            Event::HandshakeInvalid(e) => self.handshake_broken(format!("invalid response: {e}")),
            // Only the peer's own stream or connection error (not a request wsspec could
            // not send) refuses.
            Event::Reset(why)
                if ctx.extended_connect && is_refusal(h) && peer_stream_error(why) =>
            {
                self.done(
                    true,
                    format!("{why}, before any response: refused with a stream error (RFC 9113 §8.1.1 and RFC 9114 §4.1.2: a malformed request \"MUST be treated as a stream error\", which RFC 9114 §8 lets an endpoint \"treat as a connection error\"; RFC 8441 §3: a peer without extended CONNECT \"would detect a malformed request and generate a stream error\")"),
                )
            }
            e if e.is_end() && is_refusal(h) => self.done_loosely(format!(
                "{} before any HTTP response: refused by dropping the connection (RFC 6455 §10.7: the endpoint \"MAY drop the TCP connection\"; a status code SHOULD be returned)",
                e.describe()
            )),
            e if e.is_end() => {
                self.handshake_missed(h, format!("{} before any HTTP response", e.describe()))
            }
            _ => Progress::Pending,
        }
    }

    /// A response's status, headers and extension answer against the expectation: a
    /// refusal where one was asked, a valid 101 otherwise, each graded as the case says.
    fn judge_response(
        &self,
        h: &HandshakeExpect,
        resp: &crate::handshake::Response,
        ctx: &Context,
    ) -> Progress {
        // Over an extended CONNECT a 2xx is the acceptance a case writes as 101.
        let accepted_status = accepts(resp, ctx);
        let matched_status = if accepted_status { 101 } else { resp.status };
        let ok_status = if h.status.is_empty() {
            accepted_status
        } else {
            h.status.iter().any(|p| p.matches(matched_status))
        };
        let refusal = is_refusal(h);
        if let (true, Some(to)) = (refusal, switched_elsewhere(resp, ctx)) {
            return self.judge_switch(h, resp, &to);
        }
        if let (true, Some(grade), true) = (refusal, h.accepted, accepted_status) {
            let offer = Offer {
                key: &ctx.key,
                protocols: &ctx.protocols,
                extensions: &ctx.extensions,
            };
            let problems: Vec<String> = response_problems(resp, &offer, ctx)
                .iter()
                .map(|p| format!("{} ({}: {})", p.detail, p.rule.section(), p.rule.text()))
                .collect();
            return if problems.is_empty() {
                self.done_graded(
                    true,
                    format!("status {}: accepted, as the case allows", resp.status),
                    grade,
                )
            } else {
                self.done(
                    false,
                    format!("status {}: {}", resp.status, problems.join("; ")),
                )
            };
        }
        if !refusal && LIMIT_STATUSES.contains(&resp.status) && !ok_status {
            return self.done_limit(format!(
                "status {} {}: the peer refused for a limit",
                resp.status,
                bounded_lossy(resp.reason.as_bytes(), 80)
            ));
        }
        // Refused with an error code the case does not name: RFC 6455 asks for
        // "an appropriate error code (such as 400 Bad Request)" (§4.2.1), so any
        // 4xx or 5xx refuses; naming another is graded non-strict at most.
        let other_error = refusal && !ok_status && (400..600).contains(&resp.status);
        let mut problems = Vec::new();
        if !ok_status && !other_error {
            problems.push(format!(
                "status {} {}",
                resp.status,
                bounded_lossy(resp.reason.as_bytes(), 80)
            ));
        }
        // A 101 that breaks §4.2.2 (a wrong Sec-WebSocket-Accept, say) is broken,
        // not refused: `otherwise` speaks for refusals only.
        let mut broken_101 = false;
        if accepted_status && ok_status {
            let offer = Offer {
                key: &ctx.key,
                protocols: &ctx.protocols,
                extensions: &ctx.extensions,
            };
            for p in response_problems(resp, &offer, ctx) {
                broken_101 = true;
                problems.push(format!(
                    "{} ({}: {})",
                    p.detail,
                    p.rule.section(),
                    p.rule.text()
                ));
            }
        }
        header_problems(&resp.headers, h, &mut problems);
        // The case's `otherwise` speaks for the optional feature only: a response
        // that is wrong in itself fails whatever the case says of compression.
        let broken = !problems.is_empty() && (h.deflate.is_some() || broken_101);
        let agreed = deflate_answer(h, resp, ctx, &mut problems);
        if problems.is_empty() && other_error {
            self.done_loosely(format!(
                "status {} {}: refused, with another error code than the case names (RFC 6455 §4.2.1: \"an appropriate error code (such as 400 Bad Request)\")",
                resp.status,
                bounded_lossy(resp.reason.as_bytes(), 80)
            ))
        } else if problems.is_empty() {
            self.done(true, format!("status {}{agreed}", resp.status))
        } else if h.deflate.is_some() && (400..600).contains(&resp.status) {
            // A server may refuse a handshake it cannot serve; for an optional
            // feature that is the feature missing, not a broken response.
            self.done(false, problems.join("; "))
        } else if broken_101 {
            // Named like the `accepted` branch's, so that a reader (and the
            // fuzzer's classifier) sees a broken 101, not a refusal.
            self.done_graded(
                false,
                format!("status 101: {}", problems.join("; ")),
                Grade::Fail,
            )
        } else if broken {
            self.done_graded(false, problems.join("; "), Grade::Fail)
        } else {
            self.done(false, problems.join("; "))
        }
    }

    /// A 101 that switches to another protocol the request offered, where a refusal was
    /// asked. The server did not accept a WebSocket: the request named another protocol and
    /// the server took it up, as HTTP lets it (RFC 9110 §7.8). That is a refusal of the
    /// WebSocket, but not with the error status RFC 6455 §4.2.1 describes ("such as 400 Bad
    /// Request"), so non-strict at most, as a dropped connection is (§10.7). The text must
    /// not start with "status 101": that prefix means an established WebSocket to the
    /// runner, the report and the fuzzer.
    fn judge_switch(
        &self,
        h: &HandshakeExpect,
        resp: &crate::handshake::Response,
        to: &str,
    ) -> Progress {
        let mut problems = Vec::new();
        header_problems(&resp.headers, h, &mut problems);
        if !problems.is_empty() {
            return self.done(
                false,
                format!("switched to {to} (status 101); {}", problems.join("; ")),
            );
        }
        self.done_loosely(format!(
            "switched to {to} (status {}, Upgrade: {to}), not to WebSocket: the request offered {to} and the server took it up (RFC 9110 §7.8), refusing the WebSocket without the error status RFC 6455 §4.2.1 describes (\"an appropriate error code (such as 400 Bad Request)\")",
            resp.status
        ))
    }

    /// A data message against the expected one (an echo of the last message sent, or the
    /// case's payload).
    fn feed_message(&mut self, ev: &Event, ctx: &Context) -> Progress {
        match ev {
            Event::Message {
                opcode,
                payload,
                summary,
                ..
            } => {
                let (want_op, _) = self.want.as_ref().unwrap();
                if let Some(w) = want_op {
                    if w != opcode {
                        return self.done(
                            false,
                            format!(
                                "{} (wrong opcode: {}, expected {})",
                                ev.describe(),
                                OpCode(*opcode).name(),
                                OpCode(*w).name()
                            ),
                        );
                    }
                }
                match self.echo_difference(payload, *summary) {
                    None => self.done(true, ev.describe()),
                    Some(diff) => self.done(false, format!("{}: {diff}", ev.describe())),
                }
            }
            Event::Close {
                code: Some(1008 | 1009),
                ..
            } => self.size_limit(ctx, ev),
            Event::Close { .. } | Event::Unreadable { .. } => self.done(false, ev.describe()),
            e if e.is_end() => self.done(false, e.describe()),
            _ => Progress::Pending,
        }
    }

    /// A pong against the payload of the ping it answers.
    fn feed_pong(&self, ev: &Event) -> Progress {
        match ev {
            Event::Pong(p) => {
                let want = &self.want.as_ref().unwrap().1.bytes();
                if p == want {
                    self.done(true, ev.describe())
                } else {
                    // The answer to an earlier ping of wsspec's (a peer may answer every
                    // ping or only the latest), or an unsolicited pong ("A Pong frame MAY
                    // be sent unsolicited", RFC 6455 §5.5.3; a peer may even send one back
                    // for wsspec's): neither answers this ping, so neither decides. The
                    // ping is missed only if its pong never comes, and the timeout's
                    // observation lists the pongs that came instead.
                    Progress::Pending
                }
            }
            Event::Message { .. } | Event::Unreadable { .. } | Event::Close { .. } => {
                self.done(false, ev.describe())
            }
            e if e.is_end() => self.done(false, e.describe()),
            _ => Progress::Pending,
        }
    }

    /// A close frame with one of `codes` (any code when empty).
    fn feed_close(&self, codes: &[u16], ev: &Event) -> Progress {
        match ev {
            Event::Close { code, .. } => {
                if codes.is_empty() || code.is_some_and(|c| codes.contains(&c)) {
                    self.done(true, ev.describe())
                } else {
                    // The MUST is to answer a close with a close (RFC 6455 §5.5.1); the
                    // code is only "typically" echoed.
                    self.done_loosely(format!(
                        "{}: a close frame, with another code than the case names",
                        ev.describe()
                    ))
                }
            }
            Event::Message { .. } | Event::Unreadable { .. } => self.done(false, ev.describe()),
            e if e.is_end() => self.done(false, format!("{} without a close frame", e.describe())),
            _ => Progress::Pending,
        }
    }

    /// The peer failing the connection: a close with one of `codes`, or the connection
    /// ending, and never the answers of a peer that took the input as valid.
    fn feed_fail(&self, codes: &[u16], codes_not: &[u16], ev: &Event, ctx: &Context) -> Progress {
        match ev {
            Event::Close { code, .. } => {
                let c = code.unwrap_or(1005);
                if codes.contains(&c) {
                    self.done(true, ev.describe())
                } else if codes_not.contains(&c) || ctx.answers_own_close(c) {
                    self.done(
                        false,
                        format!(
                            "{}: the answer of a peer that took the input as valid",
                            ev.describe()
                        ),
                    )
                } else if codes.is_empty() {
                    self.done(true, ev.describe())
                } else {
                    self.done_loosely(format!(
                        "{}: failed the connection, with another code (RFC 6455 §7.1.7: the endpoint SHOULD send \"an appropriate status code\")",
                        ev.describe()
                    ))
                }
            }
            Event::Eof | Event::Reset(_) => {
                self.done(true, format!("{} without a close frame", ev.describe()))
            }
            Event::Message { .. } | Event::Unreadable { .. } => self.done(
                false,
                format!(
                    "{}: the peer went on instead of failing the connection",
                    ev.describe()
                ),
            ),
            // A pong to a well-formed ping is not decisive: a peer may answer a ping it
            // read together with the offending frame before it fails the connection,
            // and how the bytes were segmented must not decide a verdict. A peer that
            // ignored the offending input is still caught: it answers and then does not
            // fail within the timeout.
            Event::Pong(p) if ctx.probe_pings.contains(p) => Progress::Pending,
            Event::Pong(_) => self.done(
                false,
                format!(
                    "{}: the peer answered a malformed ping instead of failing the connection",
                    ev.describe()
                ),
            ),
            Event::Fatal(_) => self.done(false, ev.describe()),
            _ => Progress::Pending,
        }
    }

    /// The first alternative that decides with a match wins; the expectation misses once
    /// every alternative has missed.
    fn feed_any(&mut self, ev: &Event, ctx: &Context) -> Progress {
        let mut missed = Vec::new();
        for slot in self.alternatives.iter_mut() {
            if let Some(m) = slot {
                match m.feed(ev, ctx) {
                    Progress::Pending => {}
                    Progress::Done(o) if o.matched => {
                        return Progress::Done(Outcome {
                            expected: self.expected_text.clone(),
                            ..o
                        });
                    }
                    Progress::Done(o) => {
                        missed.push(o.observed);
                        *slot = None;
                    }
                }
            }
        }
        if self.alternatives.iter().all(Option::is_none) {
            let observed = missed.pop().unwrap_or_else(|| ev.describe());
            self.done(false, observed)
        } else {
            Progress::Pending
        }
    }

    /// How a received message differs from the expected one, or None when it is the
    /// same. A summarised message (one too large to hold) is compared by length, then by
    /// its head, then by digest, the expected side generated chunk by chunk.
    fn echo_difference(
        &mut self,
        got: &[u8],
        summary: Option<crate::codec::Summary>,
    ) -> Option<String> {
        let want = &self
            .want
            .as_ref()
            .expect("message expectations have a payload")
            .1;
        let want_len = want.len() as u64;
        let got_len = summary.map_or(got.len() as u64, |s| s.len);
        if got_len != want_len {
            return Some(format!("length {got_len} where {want_len} was expected"));
        }
        let Some(s) = summary else {
            let w = want.bytes();
            return (got != w.as_slice()).then(|| payload_diff(&w, got));
        };
        let mut head = vec![0u8; got.len().min(want.len())];
        want.fill(0, &mut head);
        if head != got {
            return Some(payload_diff(&head, &got[..head.len()]));
        }
        let digest = *self.want_digest.get_or_insert_with(|| want.digest());
        (digest != s.digest).then(|| {
            format!(
                "the same length and first {} bytes, but different content after them (the digests of the whole message differ)",
                got.len()
            )
        })
    }

    /// No decision within the time allowed.
    pub fn timeout(&mut self, waited_ms: u64) -> Outcome {
        let seen = match (self.seen.is_empty(), self.unseen) {
            (true, _) => "nothing".to_owned(),
            (false, 0) => self.seen.join(", "),
            (false, n) => format!("{} and {n} more events", self.seen.join(", ")),
        };
        let (matched, observed) = match &self.expect.kind {
            ExpectKind::Silence { .. } => (true, format!("silence for {waited_ms} ms")),
            // A heartbeat wait is `--idle` long, not the step timeout: the text says
            // which, so a report does not send a reader to the wrong option.
            _ if self.expect.waits_idle() => (
                false,
                format!("{seen} within {waited_ms} ms, the --idle wait (timed out)"),
            ),
            _ => (false, format!("{seen} within {waited_ms} ms (timed out)")),
        };
        let done = match &self.expect.kind {
            ExpectKind::Handshake(h) => self.handshake_missed(h, observed),
            _ => self.done(matched, observed),
        };
        match done {
            Progress::Done(o) => o,
            Progress::Pending => unreachable!(),
        }
    }
}

/// The RFC 6455 checks of an accepting response. Over an extended CONNECT (RFC 8441 §5)
/// the status is a 2xx, and Upgrade, Connection and Sec-WebSocket-Accept are not part of
/// the exchange ("Implementations using this extended CONNECT to bootstrap WebSockets do not
/// do the processing of the Sec-WebSocket-Key and Sec-WebSocket-Accept header fields"); the
/// subprotocol and extension answers are checked as in RFC 6455.
fn response_problems(
    resp: &crate::handshake::Response,
    offer: &Offer<'_>,
    ctx: &Context,
) -> Vec<crate::handshake::Problem> {
    use crate::handshake::HandshakeRule::*;
    if !ctx.extended_connect {
        return validate_response(resp, offer);
    }
    let mut as_101 = resp.clone();
    as_101.status = 101;
    validate_response(&as_101, offer)
        .into_iter()
        .filter(|p| {
            !matches!(
                p.rule,
                UpgradeMissing
                    | UpgradeNotWebsocket
                    | ConnectionMissingUpgrade
                    | AcceptMissing
                    | AcceptWrong
                    | AcceptDuplicated
                    | HttpVersion
            )
        })
        .collect()
}

/// The response accepts the WebSocket: 101 over HTTP/1.1, a 2xx over an extended CONNECT
/// (RFC 8441 §5).
fn accepts(resp: &crate::handshake::Response, ctx: &Context) -> bool {
    resp.status == 101 || (ctx.extended_connect && (200..300).contains(&resp.status))
}

/// The protocol a 101 switches to when it is not WebSocket but one the request's Upgrade
/// header offered (h2c for a request with `Upgrade: h2c`), as the response's Upgrade names
/// it. None for any other response: a 101 over an extended CONNECT, one without an Upgrade
/// header or naming websocket (judged as a WebSocket acceptance), or one naming a protocol
/// the request did not offer ("A server MUST NOT switch to a protocol that was not indicated
/// by the client in the corresponding request's Upgrade header field", RFC 9110 §7.8).
/// Protocol names compare case-insensitively, as RFC 9110 §7.8 advises recipients.
fn switched_elsewhere(resp: &crate::handshake::Response, ctx: &Context) -> Option<String> {
    if ctx.extended_connect || resp.status != 101 {
        return None;
    }
    let named: Vec<String> = resp
        .headers_named("Upgrade")
        .flat_map(crate::handshake::tokens)
        .map(|t| t.to_ascii_lowercase())
        .collect();
    let offered = |t: &String| ctx.upgrade_offered.iter().any(|o| o == t);
    if named.is_empty() || named.iter().any(|t| t == "websocket") || !named.iter().all(offered) {
        return None;
    }
    Some(bounded_lossy(named.join(", ").as_bytes(), 80))
}

/// HTTP statuses that refuse for a size or resource limit: 413 Content Too Large, 431
/// Request Header Fields Too Large, 503 Service Unavailable (RFC 9110 §15.5.14, RFC 6585
/// §5, RFC 9110 §15.6.4).
pub const LIMIT_STATUSES: [u16; 3] = [413, 431, 503];

/// What the response says of permessage-deflate against `deflate = "accepted"` or
/// `"declined"`: the note for a match (", permessage-deflate agreed (...)"), and a problem
/// pushed where the answer is not the one expected.
fn deflate_answer(
    h: &HandshakeExpect,
    resp: &crate::handshake::Response,
    ctx: &Context,
    problems: &mut Vec<String>,
) -> String {
    let mut agreed = String::new();
    match h.deflate {
        Some(DeflateExpect::Accepted) => match &ctx.deflate {
            Some(a) => agreed = format!(", permessage-deflate agreed ({})", a.answer),
            None if accepts(resp, ctx) => problems
                .push("permessage-deflate not agreed (no valid permessage-deflate answer)".into()),
            None => {}
        },
        Some(DeflateExpect::Declined) => {
            let answer = crate::handshake::parse_extension_lines(
                resp.headers_named("Sec-WebSocket-Extensions"),
            )
            .unwrap_or_default();
            if let Some(e) = answer
                .iter()
                .find(|e| e.name.eq_ignore_ascii_case(crate::deflate::negotiate::NAME))
            {
                problems.push(format!(
                    "the server accepted permessage-deflate ({})",
                    bounded_lossy(crate::deflate::negotiate::describe(e).as_bytes(), 120)
                ));
            } else if accepts(resp, ctx) {
                agreed = ", permessage-deflate declined".into();
            }
        }
        // The client-role expectations judge requests (judge::request).
        Some(_) | None => {}
    }
    agreed
}

/// A handshake expectation that asks for a refusal: no accepted status is 101.
fn is_refusal(h: &HandshakeExpect) -> bool {
    !h.status.is_empty() && !h.status.iter().any(|p| p.matches(101))
}

/// The `headers` (present, containing a text) and `absent` checks of a handshake
/// expectation, on a request or a response alike.
pub(crate) fn header_problems(
    headers: &[(String, Vec<u8>)],
    h: &HandshakeExpect,
    problems: &mut Vec<String>,
) {
    let named = |name: &str| {
        headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).to_ascii_lowercase())
            .collect::<Vec<String>>()
    };
    for (name, want) in &h.headers {
        let values = named(name);
        if values.is_empty() {
            problems.push(format!("header {name} missing"));
        } else if !want.is_empty()
            && !values
                .iter()
                .any(|v| v.contains(&want.to_ascii_lowercase()))
        {
            problems.push(format!(
                "header {name} is {:?}, expected it to contain {want:?}",
                bounded_lossy(values.join(", ").as_bytes(), 120)
            ));
        }
    }
    for name in &h.absent {
        if !named(name).is_empty() {
            problems.push(format!("header {name} present"));
        }
    }
}

fn describe_handshake(h: &HandshakeExpect) -> String {
    let status = if h.status.is_empty() {
        "status 101 with a valid handshake response (RFC 6455 §4.1)".to_owned()
    } else {
        let s: Vec<String> = h.status.iter().map(|p| p.to_string()).collect();
        format!("status {}", s.join(" or "))
    };
    let mut parts = vec![status];
    for (n, v) in &h.headers {
        if v.is_empty() {
            parts.push(format!("header {n}"));
        } else {
            parts.push(format!("header {n} containing {v:?}"));
        }
    }
    for n in &h.absent {
        parts.push(format!("no header {n}"));
    }
    match h.deflate {
        Some(DeflateExpect::Accepted) => {
            parts.push("permessage-deflate accepted with a valid answer (RFC 7692 §7)".into())
        }
        Some(DeflateExpect::Declined) => {
            parts.push("permessage-deflate declined (RFC 7692 §7)".into())
        }
        Some(_) | None => {}
    }
    parts.join(", ")
}

/// Where two payloads first differ, in words.
pub fn payload_diff(want: &[u8], got: &[u8]) -> String {
    if want.len() != got.len() {
        return format!("length {} where {} was expected", got.len(), want.len());
    }
    match want.iter().zip(got).position(|(a, b)| a != b) {
        Some(i) => format!("byte {i} is 0x{:02x}, expected 0x{:02x}", got[i], want[i]),
        None => "identical".into(),
    }
}

/// Every expectation kind with plain values: each test writes the events and the decision
/// it expects by hand.
/// Whether a reset is the peer's own stream or connection error: RST_STREAM or GOAWAY over
/// HTTP/2, RESET_STREAM, STOP_SENDING or CONNECTION_CLOSE over HTTP/3 (the transports name
/// the frame), not a request wsspec could not send.
fn peer_stream_error(why: &str) -> bool {
    [
        "RST_STREAM",
        "GOAWAY",
        "RESET_STREAM",
        "STOP_SENDING",
        "CONNECTION_CLOSE",
    ]
    .iter()
    .any(|f| why.contains(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Payload, StatusPattern};
    use crate::handshake::Response;

    fn expect(kind: ExpectKind) -> Expect {
        Expect {
            kind,
            grade: Grade::Pass,
            otherwise: Grade::Fail,
            timeout_ms: None,
            note: None,
            implicit: false,
            idle: false,
        }
    }

    fn fail(codes: &[u16], codes_not: &[u16]) -> Expect {
        expect(ExpectKind::Fail {
            codes: codes.to_vec(),
            codes_not: codes_not.to_vec(),
        })
    }

    fn close(code: u16) -> Event {
        Event::Close {
            code: Some(code),
            reason: Vec::new(),
        }
    }

    fn response(status: u16) -> Event {
        Event::Handshake(Box::new(Response {
            version: 1,
            status,
            reason: "R".into(),
            headers: Vec::new(),
            head_len: 0,
        }))
    }

    /// Feeds the events in order and returns the decision, or None while pending.
    fn decide(e: &Expect, ctx: &Context, events: &[Event]) -> Option<Outcome> {
        let mut m = Matcher::new(e, ctx);
        for ev in events {
            if let Progress::Done(o) = m.feed(ev, ctx) {
                return Some(o);
            }
        }
        None
    }

    fn graded(o: Option<Outcome>) -> (bool, Grade) {
        let o = o.expect("decided");
        (o.matched, o.grade)
    }

    #[test]
    fn fail_is_met_by_the_named_code_by_tcp_closing_and_by_reset() {
        let ctx = Context::default();
        let e = fail(&[1002], &[]);
        assert_eq!(
            graded(decide(&e, &ctx, &[close(1002)])),
            (true, Grade::Pass)
        );
        assert_eq!(graded(decide(&e, &ctx, &[Event::Eof])), (true, Grade::Pass));
        let reset = Event::Reset("reset".into());
        assert_eq!(graded(decide(&e, &ctx, &[reset])), (true, Grade::Pass));
    }

    #[test]
    fn fail_with_another_code_is_non_strict() {
        let ctx = Context::default();
        let o = decide(&fail(&[1002], &[]), &ctx, &[close(1011)]);
        assert_eq!(graded(o), (true, Grade::NonStrict));
        // A close without code where a code was named: failed, the code is off.
        let none = Event::Close {
            code: None,
            reason: Vec::new(),
        };
        let o = decide(&fail(&[1007], &[]), &ctx, &[none]);
        assert_eq!(graded(o), (true, Grade::NonStrict));
    }

    #[test]
    fn fail_misses_on_the_answers_of_an_ignoring_peer() {
        let ctx = Context::default();
        // codes_not, named by the case.
        let o = decide(&fail(&[1002], &[1000]), &ctx, &[close(1000)]);
        assert_eq!(graded(o), (false, Grade::Fail));
        // A data message: the peer went on.
        let msg = Event::Message {
            opcode: 1,
            payload: b"x".to_vec(),
            frames: 1,
            summary: None,
        };
        assert_eq!(
            graded(decide(&fail(&[], &[]), &ctx, &[msg])),
            (false, Grade::Fail)
        );
        // wsspec sent a close frame with code 999: 999, 1000 and no code are the answers
        // of a peer that took it as valid; 1002 and 1011 are failures.
        let ctx = Context {
            closes_sent: vec![999],
            ..Context::default()
        };
        for c in [999, 1000] {
            let o = decide(&fail(&[1002], &[]), &ctx, &[close(c)]);
            assert_eq!(graded(o), (false, Grade::Fail), "close {c}");
        }
        let none = Event::Close {
            code: None,
            reason: Vec::new(),
        };
        let o = decide(&fail(&[], &[]), &ctx, &[none]);
        assert_eq!(graded(o), (false, Grade::Fail));
        let o = decide(&fail(&[1002], &[]), &ctx, &[close(1011)]);
        assert_eq!(graded(o), (true, Grade::NonStrict));
    }

    #[test]
    fn a_pong_does_not_decide_a_fail() {
        let ctx = Context::default();
        let ctx = Context {
            probe_pings: vec![b"p".to_vec()],
            ..ctx
        };
        let e = fail(&[1007], &[]);
        let pong = Event::Pong(b"p".to_vec());
        assert!(decide(&e, &ctx, std::slice::from_ref(&pong)).is_none());
        // A pong to anything else answers a malformed ping: the peer processed it.
        let other = Event::Pong(b"frag".to_vec());
        assert_eq!(graded(decide(&e, &ctx, &[other])), (false, Grade::Fail));
        // The pong and then the failure: met.
        assert_eq!(
            graded(decide(&e, &ctx, &[pong.clone(), close(1007)])),
            (true, Grade::Pass)
        );
        // The pong and then nothing: missed at the timeout.
        let mut m = Matcher::new(&e, &ctx);
        assert!(matches!(m.feed(&pong, &ctx), Progress::Pending));
        let o = m.timeout(1000);
        assert!(!o.matched);
        assert_eq!(o.grade, Grade::Fail);
        assert!(o.observed.contains("pong"), "{}", o.observed);
    }

    #[test]
    fn close_with_another_code_is_non_strict() {
        let ctx = Context::default();
        let e = expect(ExpectKind::Close { codes: vec![1000] });
        assert_eq!(
            graded(decide(&e, &ctx, &[close(1000)])),
            (true, Grade::Pass)
        );
        assert_eq!(
            graded(decide(&e, &ctx, &[close(1001)])),
            (true, Grade::NonStrict)
        );
        assert_eq!(
            graded(decide(&e, &ctx, &[Event::Eof])),
            (false, Grade::Fail)
        );
    }

    #[test]
    fn a_limit_where_an_echo_was_expected_is_informational() {
        let ctx = Context {
            last_message: Some((2, Payload::Bytes(vec![0; 100]))),
            ..Context::default()
        };
        let e = expect(ExpectKind::Message {
            opcode: None,
            payload: None,
        });
        for c in [1008, 1009] {
            let o = decide(&e, &ctx, &[close(c)]).expect("decided");
            assert!(o.limit, "close {c}");
            assert_eq!(o.grade, Grade::Informational);
        }
        // Another close code is a plain miss.
        let o = decide(&e, &ctx, &[close(1011)]).expect("decided");
        assert!(!o.limit);
        assert_eq!(o.grade, Grade::Fail);
        // Below a declared limit, a refusal is a miss.
        let ctx = Context {
            peer_limit: Some(1000),
            ..ctx
        };
        let o = decide(&e, &ctx, &[close(1009)]).expect("decided");
        assert_eq!((o.matched, o.grade), (false, Grade::Fail));
    }

    fn handshake(status: &[StatusPattern]) -> Expect {
        expect(ExpectKind::Handshake(HandshakeExpect {
            status: status.to_vec(),
            ..HandshakeExpect::default()
        }))
    }

    fn switching(upgrade: &str) -> Event {
        Event::Handshake(Box::new(Response {
            version: 1,
            status: 101,
            reason: "Switching Protocols".into(),
            headers: vec![
                ("connection".into(), b"upgrade".to_vec()),
                ("upgrade".into(), upgrade.as_bytes().to_vec()),
            ],
            head_len: 0,
        }))
    }

    #[test]
    fn a_101_to_another_protocol_the_request_offered_refuses_the_websocket() {
        let e = handshake(&[StatusPattern::Class(4)]);
        let offered_h2c = Context {
            upgrade_offered: vec!["h2c".into()],
            ..Context::default()
        };
        // hypercorn's answer to `Upgrade: h2c`: a switch to HTTP/2, so no WebSocket
        // was accepted; refused without an error status, non-strict like a dropped TCP.
        let o = decide(&e, &offered_h2c, &[switching("h2c")]).unwrap();
        assert_eq!(
            (o.matched, o.grade),
            (true, Grade::NonStrict),
            "{}",
            o.observed
        );
        assert!(o.observed.starts_with("switched to h2c"), "{}", o.observed);
        assert!(o.observed.contains("RFC 9110 §7.8"), "{}", o.observed);
        // Protocol names compare case-insensitively.
        let o = decide(&e, &offered_h2c, &[switching("H2C")]).unwrap();
        assert_eq!((o.matched, o.grade), (true, Grade::NonStrict));
        // The other side: a 101 to a protocol the request did not offer, or naming
        // websocket, or with no Upgrade at all, stays a failed refusal.
        for (ctx, ev) in [
            (Context::default(), switching("h2c")),
            (offered_h2c.clone(), switching("websocket2")),
            (offered_h2c.clone(), switching("h2c, websocket")),
            (offered_h2c.clone(), response(101)),
        ] {
            let o = decide(&e, &ctx, &[ev]).unwrap();
            assert_eq!((o.matched, o.grade), (false, Grade::Fail), "{}", o.observed);
        }
        // Where a 101 is what the case asks for, a switch elsewhere is a broken one.
        let o = decide(
            &handshake(&[StatusPattern::Exact(101)]),
            &offered_h2c,
            &[switching("h2c")],
        )
        .unwrap();
        assert_eq!((o.matched, o.grade), (false, Grade::Fail), "{}", o.observed);
        // Over an extended CONNECT there is no Upgrade to switch.
        let h2 = Context {
            extended_connect: true,
            ..offered_h2c
        };
        let o = decide(&e, &h2, &[switching("h2c")]).unwrap();
        assert!(!o.observed.starts_with("switched"), "{}", o.observed);
    }

    #[test]
    fn a_refusal_with_another_error_status_or_a_dropped_connection_is_non_strict() {
        let ctx = Context::default();
        let e = handshake(&[StatusPattern::Class(4)]);
        assert_eq!(
            graded(decide(&e, &ctx, &[response(400)])),
            (true, Grade::Pass)
        );
        assert_eq!(
            graded(decide(&e, &ctx, &[response(505)])),
            (true, Grade::NonStrict)
        );
        assert_eq!(
            graded(decide(&e, &ctx, &[Event::Eof])),
            (true, Grade::NonStrict)
        );
        // Accepting is a miss; so is a redirect.
        assert_eq!(
            graded(decide(&e, &ctx, &[response(101)])),
            (false, Grade::Fail)
        );
        assert_eq!(
            graded(decide(&e, &ctx, &[response(302)])),
            (false, Grade::Fail)
        );
    }

    #[test]
    fn a_header_the_refusal_must_carry_is_still_required() {
        let ctx = Context::default();
        let mut e = handshake(&[StatusPattern::Class(4)]);
        if let ExpectKind::Handshake(h) = &mut e.kind {
            h.headers = vec![("Sec-WebSocket-Version".into(), "13".into())];
        }
        assert_eq!(
            graded(decide(&e, &ctx, &[response(426)])),
            (false, Grade::Fail)
        );
    }

    #[test]
    fn accepted_grades_a_valid_101_where_a_refusal_was_asked() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let ctx = Context {
            key: key.into(),
            ..Context::default()
        };
        let mut e = handshake(&[StatusPattern::Class(4)]);
        if let ExpectKind::Handshake(h) = &mut e.kind {
            h.accepted = Some(Grade::Informational);
        }
        let valid = Event::Handshake(Box::new(Response {
            version: 1,
            status: 101,
            reason: "Switching Protocols".into(),
            headers: vec![
                ("Upgrade".into(), b"websocket".to_vec()),
                ("Connection".into(), b"Upgrade".to_vec()),
                (
                    "Sec-WebSocket-Accept".into(),
                    b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_vec(),
                ),
            ],
            head_len: 0,
        }));
        assert_eq!(
            graded(decide(&e, &ctx, &[valid])),
            (true, Grade::Informational)
        );
        // A broken 101 is still a miss.
        assert_eq!(
            graded(decide(&e, &ctx, &[response(101)])),
            (false, Grade::Fail)
        );
    }

    /// An acceptance the server may decline (`otherwise` softer than fail: a request
    /// trickled in tiny writes, a frame written with the request) grades a refusal with
    /// `otherwise`, and a broken 101 or a response that is not HTTP as a failure.
    #[test]
    fn a_softened_acceptance_still_fails_a_broken_101() {
        let ctx = Context {
            key: "dGhlIHNhbXBsZSBub25jZQ==".into(),
            ..Context::default()
        };
        let mut e = handshake(&[StatusPattern::Exact(101)]);
        e.otherwise = Grade::Unimplemented;
        let with_accept = |accept: &[u8]| {
            Event::Handshake(Box::new(Response {
                version: 1,
                status: 101,
                reason: "Switching Protocols".into(),
                headers: vec![
                    ("Upgrade".into(), b"websocket".to_vec()),
                    ("Connection".into(), b"Upgrade".to_vec()),
                    ("Sec-WebSocket-Accept".into(), accept.to_vec()),
                ],
                head_len: 0,
            }))
        };
        assert_eq!(
            graded(decide(
                &e,
                &ctx,
                &[with_accept(b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")]
            )),
            (true, Grade::Pass)
        );
        // The accept value of another key (RFC 6455 §4.2.2 step 5).
        let o = decide(&e, &ctx, &[with_accept(b"HSmrc0sMlYUkAGmm5OPpG2HaGWk=")]).unwrap();
        assert_eq!((o.matched, o.grade), (false, Grade::Fail), "{}", o.observed);
        assert!(
            o.observed.contains("Sec-WebSocket-Accept"),
            "{}",
            o.observed
        );
        // Refusals: an error status, TCP closed before any response.
        for refusal in [response(400), response(500), Event::Eof] {
            let o = decide(&e, &ctx, &[refusal]).unwrap();
            assert_eq!(o.grade, Grade::Unimplemented, "{}", o.observed);
        }
        // Part of a response, then the end of TCP: not a refusal.
        let o = decide(&e, &ctx, &[Event::HandshakeInvalid("cut".into())]).unwrap();
        assert_eq!((o.matched, o.grade), (false, Grade::Fail));
    }

    #[test]
    fn a_limit_status_where_a_101_was_expected_is_informational() {
        let ctx = Context::default();
        let e = handshake(&[]);
        for s in [413, 431, 503] {
            let o = decide(&e, &ctx, &[response(s)]).expect("decided");
            assert!(o.limit, "status {s}");
            assert_eq!(o.grade, Grade::Informational);
        }
        let o = decide(&e, &ctx, &[response(400)]).expect("decided");
        assert!(!o.limit);
        assert_eq!(o.grade, Grade::Fail);
    }

    /// RFC 6455 §5.5.3: of several pings, a peer may answer each or only the latest, so a
    /// pong to an earlier ping is skipped; a pong to a ping never sent is still a miss.
    #[test]
    fn a_pong_to_an_earlier_ping_is_skipped() {
        let ctx = Context {
            probe_pings: vec![b"payload-0".to_vec(), b"payload-9".to_vec()],
            ..Context::default()
        };
        let e = expect(ExpectKind::Pong {
            payload: Some(Payload::Text("payload-9".into())),
        });
        let early = Event::Pong(b"payload-0".to_vec());
        let latest = Event::Pong(b"payload-9".to_vec());
        assert!(decide(&e, &ctx, std::slice::from_ref(&early)).is_none());
        assert_eq!(
            graded(decide(&e, &ctx, &[early, latest])),
            (true, Grade::Pass)
        );
        // A pong to a ping never sent is unsolicited: it answers nothing, so the ping is
        // missed at the timeout, and the observation names what came instead.
        let never = Event::Pong(b"payload-5".to_vec());
        let mut m = Matcher::new(&e, &ctx);
        assert!(matches!(m.feed(&never, &ctx), Progress::Pending));
        let o = m.timeout(100);
        assert_eq!((o.matched, o.grade), (false, Grade::Fail));
        assert!(o.observed.contains("pong"), "{}", o.observed);
    }

    /// RFC 6455 §5.5.3: "A Pong frame MAY be sent unsolicited." A peer that sends one back
    /// for wsspec's unsolicited pong (Autobahn 2.9) and then answers the ping passes; one
    /// whose only pong carries the wrong payload misses the ping.
    #[test]
    fn an_unsolicited_pong_before_the_answer_is_skipped() {
        let ctx = Context {
            probe_pings: vec![b"solicited".to_vec()],
            ..Context::default()
        };
        let e = expect(ExpectKind::Pong {
            payload: Some(Payload::Text("solicited".into())),
        });
        let unsolicited = Event::Pong(b"unsolicited".to_vec());
        let answer = Event::Pong(b"solicited".to_vec());
        assert_eq!(
            graded(decide(&e, &ctx, &[unsolicited.clone(), answer])),
            (true, Grade::Pass)
        );
        let mut m = Matcher::new(&e, &ctx);
        assert!(matches!(m.feed(&unsolicited, &ctx), Progress::Pending));
        assert_eq!(m.timeout(100).grade, Grade::Fail);
        // A close before the answer still misses it.
        assert!(!graded(decide(&e, &ctx, &[unsolicited, close(1000)])).0);
    }

    #[test]
    fn pong_and_silence() {
        let ctx = Context {
            last_ping: Some(b"abc".to_vec()),
            ..Context::default()
        };
        let e = expect(ExpectKind::Pong { payload: None });
        let good = Event::Pong(b"abc".to_vec());
        assert_eq!(graded(decide(&e, &ctx, &[good])), (true, Grade::Pass));
        let bad = Event::Pong(b"abd".to_vec());
        let mut m = Matcher::new(&e, &ctx);
        assert!(matches!(m.feed(&bad, &ctx), Progress::Pending));
        assert_eq!(m.timeout(100).grade, Grade::Fail);
        let e = expect(ExpectKind::Pong {
            payload: Some(Payload::Text("x".into())),
        });
        assert_eq!(
            graded(decide(&e, &ctx, &[Event::Pong(b"x".to_vec())])),
            (true, Grade::Pass)
        );
        let s = expect(ExpectKind::Silence { ms: 10 });
        let mut m = Matcher::new(&s, &ctx);
        assert!(matches!(
            m.feed(&Event::Ping(b"p".to_vec()), &ctx),
            Progress::Pending
        ));
        assert!(m.timeout(10).matched);
        assert_eq!(
            graded(decide(&s, &ctx, &[close(1000)])),
            (false, Grade::Fail)
        );
    }

    fn message(opcode: u8, payload: &[u8]) -> Event {
        Event::Message {
            opcode,
            payload: payload.to_vec(),
            frames: 1,
            summary: None,
        }
    }

    fn echo() -> Expect {
        expect(ExpectKind::Message {
            opcode: None,
            payload: None,
        })
    }

    fn sent(opcode: u8, payload: &[u8]) -> Context {
        Context {
            last_message: Some((opcode, Payload::Bytes(payload.to_vec()))),
            ..Context::default()
        }
    }

    #[test]
    fn an_echo_must_repeat_the_last_message_opcode_and_bytes() {
        let ctx = sent(1, b"hi");
        assert_eq!(
            graded(decide(&echo(), &ctx, &[message(1, b"hi")])),
            (true, Grade::Pass)
        );
        let wrong_op = decide(&echo(), &ctx, &[message(2, b"hi")]).expect("decided");
        assert_eq!((wrong_op.matched, wrong_op.grade), (false, Grade::Fail));
        assert!(
            wrong_op.observed.contains("wrong opcode"),
            "{}",
            wrong_op.observed
        );
        let wrong_byte = decide(&echo(), &ctx, &[message(1, b"hx")]).expect("decided");
        assert_eq!((wrong_byte.matched, wrong_byte.grade), (false, Grade::Fail));
        assert!(
            wrong_byte
                .observed
                .ends_with("byte 1 is 0x78, expected 0x69"),
            "{}",
            wrong_byte.observed
        );
        let short = decide(&echo(), &ctx, &[message(1, b"h")]).expect("decided");
        assert!(
            short.observed.ends_with("length 1 where 2 was expected"),
            "{}",
            short.observed
        );
    }

    #[test]
    fn an_explicit_message_is_compared_with_the_case_payload_not_the_last_sent() {
        let ctx = sent(1, b"sent");
        let e = expect(ExpectKind::Message {
            opcode: Some(2),
            payload: Some(Payload::Bytes(vec![0xce, 0xba])),
        });
        assert_eq!(
            graded(decide(&e, &ctx, &[message(2, &[0xce, 0xba])])),
            (true, Grade::Pass)
        );
        assert_eq!(
            graded(decide(&e, &ctx, &[message(2, b"sent")])),
            (false, Grade::Fail)
        );
        assert_eq!(
            graded(decide(&e, &ctx, &[message(1, &[0xce, 0xba])])),
            (false, Grade::Fail)
        );
    }

    /// A message that came but cannot be read (compressed data that does not inflate)
    /// decides at once, as a message that does not match would: waiting on would only run
    /// out the timeout. A heartbeat wait goes on: data does not answer it.
    #[test]
    fn an_unreadable_message_decides_at_once() {
        let ctx = sent(2, b"m");
        let lost = Event::Unreadable {
            opcode: 2,
            why: "does not inflate",
        };
        let o = decide(&echo(), &ctx, std::slice::from_ref(&lost)).expect("decided");
        assert!(!o.matched);
        assert!(o.observed.contains("does not inflate"), "{}", o.observed);
        assert_eq!(
            graded(decide(&fail(&[], &[]), &ctx, std::slice::from_ref(&lost))),
            (false, Grade::Fail)
        );
        assert!(decide(&expect(ExpectKind::Ping), &ctx, &[lost]).is_none());
    }

    #[test]
    fn a_message_expectation_waits_through_pings_and_pongs_and_misses_on_close_or_end() {
        let ctx = sent(1, b"m");
        let mut m = Matcher::new(&echo(), &ctx);
        assert!(matches!(
            m.feed(&Event::Ping(b"p".to_vec()), &ctx),
            Progress::Pending
        ));
        assert!(matches!(
            m.feed(&Event::Pong(b"p".to_vec()), &ctx),
            Progress::Pending
        ));
        assert!(matches!(
            m.feed(&message(1, b"m"), &ctx),
            Progress::Done(Outcome { matched: true, .. })
        ));
        assert_eq!(
            graded(decide(&echo(), &ctx, &[close(1000)])),
            (false, Grade::Fail)
        );
        assert_eq!(
            graded(decide(&echo(), &ctx, &[Event::Eof])),
            (false, Grade::Fail)
        );
        assert_eq!(
            graded(decide(&echo(), &ctx, &[Event::Reset("reset".into())])),
            (false, Grade::Fail)
        );
    }

    #[test]
    fn a_miss_takes_the_grade_the_case_gives_otherwise() {
        let mut e = echo();
        e.otherwise = Grade::NonStrict;
        assert_eq!(
            graded(decide(&e, &sent(1, b"a"), &[message(1, b"b")])),
            (false, Grade::NonStrict)
        );
        e.grade = Grade::Informational;
        assert_eq!(
            graded(decide(&e, &sent(1, b"a"), &[message(1, b"a")])),
            (true, Grade::Informational)
        );
    }

    #[test]
    fn close_with_any_code_or_none_and_misses() {
        let ctx = Context::default();
        let any = expect(ExpectKind::Close { codes: vec![] });
        assert_eq!(
            graded(decide(&any, &ctx, &[close(4000)])),
            (true, Grade::Pass)
        );
        let none = Event::Close {
            code: None,
            reason: Vec::new(),
        };
        assert_eq!(graded(decide(&any, &ctx, &[none])), (true, Grade::Pass));
        assert_eq!(
            graded(decide(&any, &ctx, &[message(1, b"x")])),
            (false, Grade::Fail)
        );
        let eof = decide(&any, &ctx, &[Event::Eof]).expect("decided");
        assert_eq!((eof.matched, eof.grade), (false, Grade::Fail));
        assert!(
            eof.observed.ends_with("without a close frame"),
            "{}",
            eof.observed
        );
        // Pings and pongs before the close do not decide.
        assert_eq!(
            graded(decide(
                &any,
                &ctx,
                &[Event::Ping(vec![]), Event::Pong(vec![]), close(1000)]
            )),
            (true, Grade::Pass)
        );
    }

    #[test]
    fn tcp_closed_is_met_by_end_or_reset_only() {
        let ctx = Context::default();
        let e = expect(ExpectKind::TcpClosed);
        assert_eq!(graded(decide(&e, &ctx, &[Event::Eof])), (true, Grade::Pass));
        assert_eq!(
            graded(decide(&e, &ctx, &[Event::Reset("r".into())])),
            (true, Grade::Pass)
        );
        assert_eq!(
            graded(decide(&e, &ctx, &[message(2, b"")])),
            (false, Grade::Fail)
        );
        // A close frame is not the TCP close: still waiting.
        assert!(decide(&e, &ctx, &[close(1000)]).is_none());
        let mut m = Matcher::new(&e, &ctx);
        let _ = m.feed(&close(1000), &ctx);
        let t = m.timeout(40);
        assert_eq!((t.matched, t.grade), (false, Grade::Fail));
    }

    #[test]
    fn silence_is_broken_by_a_pong_or_data_but_not_by_a_ping() {
        let ctx = Context::default();
        let s = expect(ExpectKind::Silence { ms: 30 });
        assert!(decide(&s, &ctx, &[Event::Ping(vec![1])]).is_none());
        assert_eq!(
            graded(decide(&s, &ctx, &[Event::Pong(vec![1])])),
            (false, Grade::Fail)
        );
        assert_eq!(
            graded(decide(&s, &ctx, &[message(1, b"x")])),
            (false, Grade::Fail)
        );
        assert_eq!(
            graded(decide(&s, &ctx, &[Event::Eof])),
            (false, Grade::Fail)
        );
    }

    fn graded_as(kind: ExpectKind, grade: Grade) -> Expect {
        Expect {
            grade,
            ..expect(kind)
        }
    }

    #[test]
    fn any_takes_the_first_alternative_that_matches_with_its_own_grade() {
        let ctx = Context::default();
        let e = expect(ExpectKind::Any(vec![
            graded_as(ExpectKind::Close { codes: vec![1002] }, Grade::Pass),
            graded_as(ExpectKind::TcpClosed, Grade::NonStrict),
        ]));
        let m = Matcher::new(&e, &ctx);
        assert_eq!(
            m.expected(),
            "a close frame with code 1002 (pass), or the peer closes TCP (non-strict)"
        );
        assert_eq!(
            graded(decide(&e, &ctx, &[close(1002)])),
            (true, Grade::Pass)
        );
        // The close alternative misses on the end of the connection; the TCP one matches.
        assert_eq!(
            graded(decide(&e, &ctx, &[Event::Eof])),
            (true, Grade::NonStrict)
        );
        // Every alternative missed: the Any expectation's own `otherwise`.
        let o = decide(&e, &ctx, &[message(1, b"go on")]).expect("decided");
        assert_eq!((o.matched, o.grade), (false, Grade::Fail));
        assert_eq!(o.expected, m.expected());
    }

    #[test]
    fn any_waits_while_one_alternative_is_pending() {
        let ctx = Context::default();
        let e = expect(ExpectKind::Any(vec![
            graded_as(ExpectKind::TcpClosed, Grade::Pass),
            graded_as(ExpectKind::Silence { ms: 20 }, Grade::Informational),
        ]));
        // A close frame: silence is broken (missed), TCP not closed yet (pending).
        assert!(decide(&e, &ctx, &[close(1000)]).is_none());
        assert_eq!(
            graded(decide(&e, &ctx, &[close(1000), Event::Eof])),
            (true, Grade::Pass)
        );
    }

    #[test]
    fn a_timeout_misses_with_what_was_seen_bounded() {
        let ctx = sent(1, b"m");
        let mut m = Matcher::new(&echo(), &ctx);
        let t = m.timeout(50);
        assert_eq!((t.matched, t.grade), (false, Grade::Fail));
        assert_eq!(t.observed, "nothing within 50 ms (timed out)");
        // A heartbeat wait names --idle, what the user would change, not the step timeout;
        // one with its own timeout_ms waits that instead.
        let ping = expect(ExpectKind::Ping);
        let t = Matcher::new(&ping, &ctx).timeout(1001);
        assert_eq!(
            t.observed,
            "nothing within 1001 ms, the --idle wait (timed out)"
        );
        let mut idle_echo = echo();
        idle_echo.idle = true;
        let t = Matcher::new(&idle_echo, &ctx).timeout(1001);
        assert!(t.observed.contains("the --idle wait"), "{}", t.observed);
        let mut own = expect(ExpectKind::Ping);
        own.timeout_ms = Some(300);
        let t = Matcher::new(&own, &ctx).timeout(300);
        assert_eq!(t.observed, "nothing within 300 ms (timed out)");
        let mut m = Matcher::new(&echo(), &ctx);
        for _ in 0..SEEN_KEEP + 2 {
            assert!(matches!(
                m.feed(&Event::Ping(vec![7]), &ctx),
                Progress::Pending
            ));
        }
        let t = m.timeout(50);
        let listed = ["ping with 1 bytes"; SEEN_KEEP].join(", ");
        assert_eq!(
            t.observed,
            format!("{listed} and 2 more events within 50 ms (timed out)")
        );
        // A handshake expectation that times out misses like any other.
        let mut h = Matcher::new(&handshake(&[]), &ctx);
        let t = h.timeout(10);
        assert_eq!((t.matched, t.grade), (false, Grade::Fail));
    }

    #[test]
    fn the_timeout_is_the_silence_or_the_case_s_own() {
        let ctx = Context::default();
        assert_eq!(
            Matcher::new(&expect(ExpectKind::Silence { ms: 30 }), &ctx).timeout_ms(),
            Some(30)
        );
        let mut e = expect(ExpectKind::TcpClosed);
        assert_eq!(Matcher::new(&e, &ctx).timeout_ms(), None);
        e.timeout_ms = Some(77);
        assert_eq!(Matcher::new(&e, &ctx).timeout_ms(), Some(77));
    }
    /// The peer's echo of a 16 MiB message as the reader delivers it: its first
    /// `HEAD_KEEP` bytes, its length and its digest, computed from `bytes`.
    fn summarised(bytes: &[u8]) -> Event {
        Event::Message {
            opcode: 2,
            payload: bytes[..crate::codec::message::HEAD_KEEP].to_vec(),
            frames: 1,
            summary: Some(crate::codec::Summary {
                len: bytes.len() as u64,
                digest: crate::codec::Digest::of(bytes),
            }),
        }
    }

    /// A 16 MiB echo is compared without holding the expected side: right passes, one byte
    /// changed at 9,000,000 fails, a truncated one fails, a changed head names the byte.
    #[test]
    fn large_echoes_are_compared_by_length_head_and_digest() {
        let sent = Payload::Repeat {
            pattern: vec![0xfe],
            len: 16 << 20,
        };
        let ctx = Context {
            last_message: Some((2, sent)),
            ..Default::default()
        };
        let e = expect(ExpectKind::Message {
            opcode: None,
            payload: None,
        });
        let mut echo = vec![0xfeu8; 16 << 20];
        let o = decide(&e, &ctx, &[summarised(&echo)]).unwrap();
        assert!(o.matched, "{}", o.observed);
        echo[9_000_000] = 0xff;
        let o = decide(&e, &ctx, &[summarised(&echo)]).unwrap();
        assert!(!o.matched);
        assert!(o.observed.contains("digests"), "{}", o.observed);
        echo[9_000_000] = 0xfe;
        let o = decide(&e, &ctx, &[summarised(&echo[..(16 << 20) - 1])]).unwrap();
        assert!(!o.matched);
        assert!(
            o.observed
                .contains("length 16777215 where 16777216 was expected"),
            "{}",
            o.observed
        );
        echo[10] = 0x00;
        let o = decide(&e, &ctx, &[summarised(&echo)]).unwrap();
        assert!(!o.matched);
        assert!(
            o.observed.contains("byte 10 is 0x00, expected 0xfe"),
            "{}",
            o.observed
        );
    }
}
