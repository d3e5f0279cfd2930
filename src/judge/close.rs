//! The close-behaviour verdict: how the connection ended, judged on RFC 6455 §5.5.1 and
//! §7.1.1 apart from what the case itself checked.

use crate::case::Grade;
use crate::results::{CloseResult, Party, TcpEnd, TcpView};

/// When the closing happened on the wire, in microseconds since the case started: the
/// close frames both ways and each side's end of TCP. The reader stamps what the peer
/// does as it reads it, the writer stamps wsspec's FIN as it shuts its side, so the order
/// is the order on the wire as wsspec saw it, not the order the interpreter got to it.
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpTimes {
    pub peer_close_frame_us: Option<u64>,
    pub wsspec_close_frame_us: Option<u64>,
    /// How the peer's side ended (a zero read is FIN; ECONNRESET on a read or a write is
    /// RST) and when wsspec saw it.
    pub peer_end: Option<(TcpEnd, u64)>,
    /// wsspec shut its write side (FIN).
    pub wsspec_fin_us: Option<u64>,
}

impl TcpTimes {
    /// Records the peer's end of TCP; the first one seen counts.
    pub fn peer_ended(&mut self, how: TcpEnd, at_us: u64) {
        self.peer_end.get_or_insert((how, at_us));
    }

    /// Whether the peer's TCP end came before wsspec's FIN (or with no FIN from wsspec).
    pub fn peer_first(&self) -> Option<bool> {
        let (_, p) = self.peer_end?;
        Some(self.wsspec_fin_us.is_none_or(|w| p < w))
    }
}

/// What the session saw of the ending.
#[derive(Debug, Clone, Default)]
pub struct CloseFacts {
    /// wsspec sent a close frame, and whether it did so before the peer's close arrived.
    pub wsspec_sent: Option<u16>,
    pub wsspec_first: bool,
    /// The peer's close frame: Some(code) where code may itself be None (empty payload).
    pub peer_sent: Option<Option<u16>>,
    /// Who closed TCP first (Nobody: still open when wsspec gave up waiting).
    pub tcp_closed_by: Option<Party>,
    /// The case expected the peer to fail the connection and it did.
    pub failure_expected: bool,
    /// wsspec stopped early (a fatal decoding error or a failed expectation) and did not
    /// run the closing handshake.
    pub aborted: bool,
    /// The peer is a client (wsspec plays the server): it need not close TCP first
    /// (RFC 6455 §7.1.1).
    pub peer_is_client: bool,
    /// The wire times of the closing (the TCP view).
    pub times: TcpTimes,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// "0.4 ms", "12 ms", "2.0 s": the gap between two moments of the closing.
fn gap(from_us: u64, to_us: u64) -> String {
    let us = to_us.saturating_sub(from_us);
    let d = us as f64 / 1000.0;
    if us < 100 {
        format!("{us} µs")
    } else if d < 10.0 {
        format!("{d:.1} ms")
    } else if d < 1000.0 {
        format!("{d:.0} ms")
    } else {
        format!("{:.1} s", d / 1000.0)
    }
}

/// The TCP view of one connection's end, with its one-line summary ("server sent FIN
/// 0.4 ms after its close frame"): what a packet capture would show of who closed TCP
/// first and how, relative to the close frames.
pub fn tcp_view(t: &TcpTimes, peer_is_client: bool) -> TcpView {
    let peer = if peer_is_client { "client" } else { "server" };
    let first = match (t.peer_first(), t.wsspec_fin_us) {
        (Some(true), _) => Party::Peer,
        (Some(false), _) | (None, Some(_)) => Party::Wsspec,
        (None, None) => Party::Nobody,
    };
    // The reference point of an end: the closer's own close frame, else the other's.
    let since =
        |own: Option<u64>, other: Option<u64>, own_name: &str, other_name: &str| match (own, other)
        {
            (Some(c), _) => Some((c, format!("{own_name} close frame"))),
            (None, Some(c)) => Some((c, format!("{other_name} close frame"))),
            (None, None) => None,
        };
    let peer_part = t.peer_end.map(|(how, at)| {
        let what = match how {
            TcpEnd::Fin => format!("{peer} sent FIN"),
            TcpEnd::Rst => format!("{peer} reset TCP (RST)"),
        };
        match since(
            t.peer_close_frame_us,
            t.wsspec_close_frame_us,
            "its",
            "wsspec's",
        ) {
            Some((c, name)) if at >= c => format!("{what} {} after {name}", gap(c, at)),
            Some((c, name)) => format!("{what} {} before {name}", gap(at, c)),
            None => format!(
                "{what} with no close frame either way, {:.1} ms into the case",
                ms(at)
            ),
        }
    });
    let wsspec_part = t.wsspec_fin_us.map(|at| {
        let peer_frame = format!("the {peer}'s");
        match since(
            t.wsspec_close_frame_us,
            t.peer_close_frame_us,
            "its",
            &peer_frame,
        ) {
            Some((c, name)) if at >= c => format!("wsspec sent FIN {} after {name}", gap(c, at)),
            Some((c, name)) => format!("wsspec sent FIN {} before {name}", gap(at, c)),
            None => format!(
                "wsspec sent FIN with no close frame either way, {:.1} ms into the case",
                ms(at)
            ),
        }
    });
    let summary = match (first, peer_part, wsspec_part) {
        (Party::Peer, Some(p), Some(w)) => format!("{p}; then {w}"),
        (Party::Peer, Some(p), None) => p,
        (Party::Wsspec, Some(p), Some(w)) => format!("{w}; then {p}"),
        (Party::Wsspec, None, Some(w)) => {
            format!("{w}; the {peer} had not closed TCP by the end of the case")
        }
        _ => format!("TCP still open on both sides when wsspec stopped ({peer} under test)"),
    };
    TcpView {
        first,
        peer_end: t.peer_end.map(|(h, _)| h),
        peer_end_ms: t.peer_end.map(|(_, at)| ms(at)),
        wsspec_fin_ms: t.wsspec_fin_us.map(ms),
        peer_close_frame_ms: t.peer_close_frame_us.map(ms),
        wsspec_close_frame_ms: t.wsspec_close_frame_us.map(ms),
        summary,
    }
}

pub fn judge_close(f: &CloseFacts) -> CloseResult {
    let closed_by = match (f.wsspec_sent, f.peer_sent, f.wsspec_first) {
        (Some(_), _, true) => Party::Wsspec,
        (_, Some(_), _) => Party::Peer,
        (Some(_), None, false) => Party::Wsspec,
        (None, None, _) => Party::Nobody,
    };
    let clean = f.wsspec_sent.is_some() && f.peer_sent.is_some();
    let view = tcp_view(&f.times, f.peer_is_client);
    // Whether the peer closed TCP while wsspec still waited for it (the interpreter's
    // bookkeeping), or before wsspec's own FIN on the wire (a client that did not wait).
    let tcp = match (f.times.peer_first(), f.tcp_closed_by) {
        (Some(true), _) => Party::Peer,
        (_, t) => t.unwrap_or(Party::Nobody),
    };
    let client_first = f.peer_is_client && f.times.peer_first() == Some(true);
    let (verdict, detail) = if f.aborted {
        (
            Grade::Pass,
            "wsspec ended the connection after the case was decided".to_owned(),
        )
    } else if clean && client_first {
        // RFC 6455 §5.5.1: the client "SHOULD wait for the server to close the connection
        // but MAY close the connection at any time after sending and receiving a Close
        // message"; §7.1.1: it "SHOULD wait for a TCP Close from the server". Closing
        // before wsspec's close frame was even written is outside the MAY, unless the
        // client was failing the connection (a failure the case expected, or a close
        // code other than 1000, 1001 or none), which §7.1.7 lets it end with TCP.
        let before_close = match (f.times.peer_end, f.times.wsspec_close_frame_us) {
            (Some((_, p)), Some(w)) => p < w,
            _ => false,
        };
        let failing = f.failure_expected || !matches!(f.peer_sent, Some(None | Some(1000 | 1001)));
        if before_close && failing {
            (
                Grade::Informational,
                "the client failed the connection and closed TCP at once, before wsspec's close frame: RFC 6455 §7.1.7 lets an endpoint failing the connection close TCP".to_owned(),
            )
        } else if before_close {
            (
                Grade::NonStrict,
                "the client closed TCP before wsspec's close frame was written, so before it could receive it; a client SHOULD wait for a TCP Close from the server (RFC 6455 §7.1.1) and MAY close only after sending and receiving a Close message (§5.5.1)".to_owned(),
            )
        } else {
            // Whether its FIN overtakes wsspec's is a race the MAY allows: no grade.
            (
                Grade::Pass,
                "closing handshake completed; the client closed TCP before wsspec, the server, did: RFC 6455 §5.5.1 lets it (\"MAY close the connection at any time after sending and receiving a Close message\"), though it SHOULD wait for the server's TCP Close (§7.1.1)".to_owned(),
            )
        }
    } else if clean && tcp == Party::Peer {
        (
            Grade::Pass,
            "closing handshake completed and the peer closed TCP".to_owned(),
        )
    } else if clean && f.peer_is_client {
        (
            Grade::Pass,
            "closing handshake completed and wsspec, the server, closed TCP first (RFC 6455 §7.1.1)".to_owned(),
        )
    } else if clean {
        (
            Grade::NonStrict,
            "closing handshake completed but the peer did not close TCP; the server SHOULD close it first (RFC 6455 §7.1.1)".to_owned(),
        )
    } else if f.peer_sent.is_none() && tcp == Party::Peer && f.failure_expected {
        // Checked before the unanswered close below: a peer that failed the connection the
        // case allowed it to fail owes no close frame to one wsspec sent after the fault.
        (
            Grade::Informational,
            "the peer failed the connection by dropping TCP without a close frame; it SHOULD send one first (RFC 6455 §7.1.7)".to_owned(),
        )
    } else if f.wsspec_sent.is_some() && f.peer_sent.is_none() {
        (
            Grade::Fail,
            "wsspec sent a close frame and got none back; an endpoint MUST answer a close frame with one (RFC 6455 §5.5.1)".to_owned(),
        )
    } else if f.peer_sent.is_none() && tcp == Party::Peer {
        (
            Grade::Fail,
            "the peer dropped TCP without a close frame".to_owned(),
        )
    } else {
        (Grade::Pass, "the connection ended".to_owned())
    };
    CloseResult {
        verdict,
        closed_by,
        clean,
        peer_code: f.peer_sent.flatten(),
        wsspec_code: f.wsspec_sent,
        tcp_closed_by: tcp,
        detail,
        tcp: Some(view),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_close_by_peer_tcp_passes() {
        let r = judge_close(&CloseFacts {
            wsspec_sent: Some(1000),
            wsspec_first: true,
            peer_sent: Some(Some(1000)),
            tcp_closed_by: Some(Party::Peer),
            ..Default::default()
        });
        assert_eq!(r.verdict, Grade::Pass);
        assert!(r.clean);
        assert_eq!(r.closed_by, Party::Wsspec);
    }

    #[test]
    fn unanswered_close_fails() {
        let r = judge_close(&CloseFacts {
            wsspec_sent: Some(1000),
            wsspec_first: true,
            tcp_closed_by: Some(Party::Wsspec),
            ..Default::default()
        });
        assert_eq!(r.verdict, Grade::Fail);
    }

    #[test]
    fn lingering_tcp_is_non_strict() {
        let r = judge_close(&CloseFacts {
            wsspec_sent: Some(1000),
            wsspec_first: true,
            peer_sent: Some(Some(1000)),
            tcp_closed_by: Some(Party::Wsspec),
            ..Default::default()
        });
        assert_eq!(r.verdict, Grade::NonStrict);
    }

    #[test]
    fn a_client_need_not_close_tcp_first() {
        let r = judge_close(&CloseFacts {
            wsspec_sent: Some(1000),
            wsspec_first: true,
            peer_sent: Some(Some(1000)),
            tcp_closed_by: Some(Party::Wsspec),
            peer_is_client: true,
            ..Default::default()
        });
        assert_eq!(r.verdict, Grade::Pass);
    }

    #[test]
    fn expected_drop_is_informational_unexpected_fails() {
        let mut f = CloseFacts {
            tcp_closed_by: Some(Party::Peer),
            failure_expected: true,
            ..Default::default()
        };
        assert_eq!(judge_close(&f).verdict, Grade::Informational);
        f.failure_expected = false;
        assert_eq!(judge_close(&f).verdict, Grade::Fail);
    }

    #[test]
    fn a_failure_the_case_allowed_owes_no_answer_to_a_later_close() {
        // wsspec sent a close frame after the offending input (or the offending input was
        // itself a close frame); the peer failed the connection by dropping TCP.
        let mut f = CloseFacts {
            wsspec_sent: Some(1000),
            wsspec_first: true,
            tcp_closed_by: Some(Party::Peer),
            failure_expected: true,
            ..Default::default()
        };
        assert_eq!(judge_close(&f).verdict, Grade::Informational);
        // Without an allowed failure the unanswered close is still a MUST miss (§5.5.1).
        f.failure_expected = false;
        assert_eq!(judge_close(&f).verdict, Grade::Fail);
    }

    fn clean_client(times: TcpTimes) -> CloseFacts {
        CloseFacts {
            wsspec_sent: Some(1000),
            wsspec_first: true,
            peer_sent: Some(Some(1000)),
            tcp_closed_by: Some(Party::Wsspec),
            peer_is_client: true,
            times,
            ..Default::default()
        }
    }

    #[test]
    fn the_wire_order_decides_who_closed_tcp_first() {
        // wsspec's close frame at 1 ms, the client's at 2 ms, wsspec's FIN at 2.1 ms, the
        // client's FIN at 2.4 ms: the server closed first, as §7.1.1 asks.
        let waited = TcpTimes {
            wsspec_close_frame_us: Some(1000),
            peer_close_frame_us: Some(2000),
            wsspec_fin_us: Some(2100),
            peer_end: Some((TcpEnd::Fin, 2400)),
        };
        let r = judge_close(&clean_client(waited));
        assert_eq!(r.verdict, Grade::Pass);
        assert_eq!(r.tcp_closed_by, Party::Wsspec);
        let v = r.tcp.unwrap();
        assert_eq!(v.first, Party::Wsspec);
        assert_eq!(
            v.summary,
            "wsspec sent FIN 1.1 ms after its close frame; then client sent FIN 0.4 ms after its close frame"
        );
        // The client's FIN read before wsspec's, after the close frames: the MAY of
        // §5.5.1, reported in the detail, not graded (which FIN comes first is a race).
        let early = TcpTimes {
            peer_end: Some((TcpEnd::Fin, 2050)),
            ..waited
        };
        let r = judge_close(&clean_client(early));
        assert_eq!(r.tcp_closed_by, Party::Peer);
        assert_eq!(r.verdict, Grade::Pass);
        assert!(r.detail.contains("MAY close"), "{}", r.detail);
        // Before wsspec's close frame was even written: outside the MAY, a SHOULD miss.
        let before = TcpTimes {
            peer_end: Some((TcpEnd::Rst, 500)),
            peer_close_frame_us: Some(400),
            ..waited
        };
        let r = judge_close(&clean_client(before));
        assert_eq!(r.verdict, Grade::NonStrict);
        // A client failing the connection (close 1002) may end TCP at once (§7.1.7).
        let mut failing = clean_client(before);
        failing.peer_sent = Some(Some(1002));
        assert_eq!(judge_close(&failing).verdict, Grade::Informational);
        assert!(r
            .tcp
            .unwrap()
            .summary
            .starts_with("client reset TCP (RST) 0.1 ms after its close frame"));
    }

    #[test]
    fn a_server_fin_is_described_from_its_own_close_frame() {
        let t = TcpTimes {
            wsspec_close_frame_us: Some(1000),
            peer_close_frame_us: Some(1500),
            peer_end: Some((TcpEnd::Fin, 1900)),
            wsspec_fin_us: None,
        };
        let v = tcp_view(&t, false);
        assert_eq!(v.first, Party::Peer);
        assert_eq!(v.peer_end, Some(TcpEnd::Fin));
        assert_eq!(v.summary, "server sent FIN 0.4 ms after its close frame");
        // A server that never closed: wsspec's FIN after the step timeout.
        let t = TcpTimes {
            peer_end: None,
            wsspec_fin_us: Some(2_001_500),
            ..t
        };
        let v = tcp_view(&t, false);
        assert_eq!(v.first, Party::Wsspec);
        assert_eq!(
            v.summary,
            "wsspec sent FIN 2.0 s after its close frame; the server had not closed TCP by the end of the case"
        );
    }
}
