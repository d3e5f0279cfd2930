//! One direction (flow) of a permessage-deflate agreement. RFC 7692 names its parameters after
//! the endpoint that compresses (`server_*` for what the server sends, `client_*` for what
//! the client sends), while wsspec plays either endpoint: the code that compresses or
//! inflates asks for the direction by sender, so the same agreement serves both roles.

use super::negotiate::Agreement;

/// The endpoint that sends (and so compresses) the messages of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Client,
    Server,
}

impl Endpoint {
    /// The prefix of the parameters that govern what this endpoint sends.
    pub fn prefix(self) -> &'static str {
        match self {
            Endpoint::Client => "client",
            Endpoint::Server => "server",
        }
    }
}

/// How the messages of one direction are compressed and inflated (RFC 7692 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub window_bits: u8,
    pub no_context_takeover: bool,
}

impl Agreement {
    /// The parameters of the messages `sender` compresses.
    pub fn sent_by(&self, sender: Endpoint) -> Flow {
        match sender {
            Endpoint::Server => Flow {
                window_bits: self.server_max_window_bits,
                no_context_takeover: self.server_no_context_takeover,
            },
            Endpoint::Client => Flow {
                window_bits: self.client_max_window_bits,
                no_context_takeover: self.client_no_context_takeover,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sender_gets_its_own_parameters() {
        let a = Agreement {
            server_no_context_takeover: true,
            client_no_context_takeover: false,
            server_max_window_bits: 9,
            client_max_window_bits: 12,
            answer: String::new(),
        };
        assert_eq!(
            a.sent_by(Endpoint::Server),
            Flow {
                window_bits: 9,
                no_context_takeover: true
            }
        );
        assert_eq!(
            a.sent_by(Endpoint::Client),
            Flow {
                window_bits: 12,
                no_context_takeover: false
            }
        );
    }
}
