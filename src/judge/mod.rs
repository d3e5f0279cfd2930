//! Judging: turning what the peer did into verdicts.
//!
//! `event` is the observation model, `matcher` decides one expectation, `close` the close
//! behaviour, `verdict` combines everything for a case. Nothing here touches a socket, so
//! all of it is tested with plain values.

pub mod close;
pub mod event;
pub mod keys;
pub mod matcher;
pub mod request;
pub mod verdict;

pub use close::{judge_close, CloseFacts};
pub use event::{Event, PeerViolation};
pub use matcher::{Context, Matcher, Outcome, Progress};
pub use verdict::case_verdict;
