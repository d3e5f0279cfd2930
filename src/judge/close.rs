//! The close-behaviour verdict: how the connection ended, judged on RFC 6455 §5.5.1 and
//! §7.1.1 apart from what the case itself checked.

use crate::case::Grade;
use crate::results::{CloseResult, Party};

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
}

pub fn judge_close(f: &CloseFacts) -> CloseResult {
    let closed_by = match (f.wsspec_sent, f.peer_sent, f.wsspec_first) {
        (Some(_), _, true) => Party::Wsspec,
        (_, Some(_), _) => Party::Peer,
        (Some(_), None, false) => Party::Wsspec,
        (None, None, _) => Party::Nobody,
    };
    let clean = f.wsspec_sent.is_some() && f.peer_sent.is_some();
    let tcp = f.tcp_closed_by.unwrap_or(Party::Nobody);
    let (verdict, detail) = if f.aborted {
        (
            Grade::Pass,
            "wsspec ended the connection after the case was decided".to_owned(),
        )
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
}
