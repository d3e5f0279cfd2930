//! The server side of permessage-deflate negotiation (RFC 7692 §5, §7.1): which of the
//! client's offers to accept, and the agreed parameters to answer with.
//!
//! This is deliberately a second implementation, written from the RFC and sharing nothing
//! with the checks wsspec applies to a server's answer: the offers are parsed with the
//! generic RFC 6455 §9.1 grammar ([`parse_extension_lines`]) and everything specific to
//! permessage-deflate is decided here. When the two disagree, one of them is wrong, and
//! the cases that exercise the difference will say which.
//!
//! The flaws that concern negotiation ([`Flaws`]) are applied here too, so that a flawed
//! answer is produced by the same code path as a correct one, differing only where the
//! flaw says.

use super::echo::Flaws;
use crate::handshake::{parse_extension_lines, ExtensionOffer, Request};

/// The registered extension name (RFC 7692 §9.1). Compared exactly: the registry spells it
/// in lower case and RFC 6455 §9.1 does not make extension tokens case-insensitive.
pub const NAME: &str = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// The server's own preferences. [`Default`] accepts every valid offer as it stands and
/// asks nothing of the client; the other settings exercise the answers RFC 7692 lets a
/// server choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Off: offers are ignored and no connection is compressed, as with a server that
    /// does not implement the extension.
    pub enabled: bool,
    /// The largest LZ77 window (base-2 logarithm, 8..=15) the server compresses with. An
    /// offered `server_max_window_bits` above it is answered with this value; below 15,
    /// the server announces it even when the client did not ask (§7.1.2.1 MAY).
    pub max_window_bits: u8,
    /// Answer with `server_no_context_takeover` even when not offered (§7.1.1.1 MAY).
    pub always_server_no_context_takeover: bool,
    /// Answer with `client_no_context_takeover` (§7.1.1.2 MAY), and inflate every message
    /// with an empty window.
    pub request_client_no_context_takeover: bool,
    /// Limit the client's window to this many bits (8..=15) when the offer allows it: only
    /// offers carrying `client_max_window_bits` may be answered with it (§7.1.2.2). An
    /// offered value below this one is answered with the offered value.
    pub client_max_window_bits: Option<u8>,
}

impl Default for DeflateConfig {
    fn default() -> DeflateConfig {
        DeflateConfig {
            enabled: true,
            max_window_bits: 15,
            always_server_no_context_takeover: false,
            request_client_no_context_takeover: false,
            client_max_window_bits: None,
        }
    }
}

impl DeflateConfig {
    /// A server that does not implement permessage-deflate.
    #[cfg(any(test, feature = "testing"))]
    pub fn disabled() -> DeflateConfig {
        DeflateConfig {
            enabled: false,
            ..DeflateConfig::default()
        }
    }
}

/// An accepted offer: what the response says and how both directions are then run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// The element for the response's `Sec-WebSocket-Extensions`, e.g.
    /// `permessage-deflate; server_max_window_bits=10`.
    pub response: String,
    /// Window bits the server compresses with.
    pub compress_window_bits: u8,
    /// Whether the server's compressor starts every message with an empty window.
    pub compress_no_context_takeover: bool,
    /// Window bits the server inflates with: the agreed `client_max_window_bits`, else 15
    /// (§7.2.2).
    pub inflate_window_bits: u8,
    /// Whether the server inflates every message with an empty window: only when the
    /// response carries `client_no_context_takeover` (§7.2.2: otherwise it MUST keep it).
    pub inflate_no_context_takeover: bool,
}

/// Whether the request offers permessage-deflate at all (whatever the parameters). A
/// request whose `Sec-WebSocket-Extensions` does not parse offers nothing.
pub fn offered(req: &Request) -> bool {
    offers(req).iter().any(|o| o.name == NAME)
}

/// Every extension the request offers, in order; none when a header does not parse. A
/// list the server cannot read is not an offer it can accept, and refusing the whole
/// handshake for it would be harsher than RFC 6455 asks.
pub fn offers(req: &Request) -> Vec<ExtensionOffer> {
    parse_extension_lines(req.headers_named("Sec-WebSocket-Extensions")).unwrap_or_default()
}

/// Chooses the first acceptable permessage-deflate offer, in the client's order of
/// preference (RFC 7692 §5), or None to decline them all, in which case the response must
/// name no PMCE. Offers of other extensions are never accepted.
pub fn negotiate(
    offers: &[ExtensionOffer],
    cfg: &DeflateConfig,
    flaws: &Flaws,
) -> Option<Agreement> {
    if !cfg.enabled {
        return None;
    }
    offers
        .iter()
        .filter(|o| o.name == NAME)
        .find_map(|o| accept(o, cfg, flaws))
}

/// The value of a window-bits parameter as RFC 7692 §7.1.2 defines it: `1*DIGIT`, a
/// decimal integer without leading zeroes, 8 to 15 inclusive.
pub fn window_bits(value: &str) -> Option<u8> {
    let b = value.as_bytes();
    let digits = !b.is_empty() && b.iter().all(u8::is_ascii_digit);
    if !digits || (b[0] == b'0') || b.len() > 2 {
        return None;
    }
    let n: u8 = value.parse().ok()?;
    (8..=15).contains(&n).then_some(n)
}

/// A window-bits parameter as offered: absent, or present with what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bits {
    Absent,
    /// Present without a value.
    Bare,
    Valid(u8),
    /// Present with a value that is not a valid window size (kept only with
    /// `accept_bad_window_bits`, to be echoed).
    Invalid(String),
}

/// The parameters of one offer once checked.
struct Offer {
    server_no_context_takeover: bool,
    server_max_window_bits: Bits,
    client_max_window_bits: Bits,
}

/// Checks one offer (§7: decline on an unknown parameter, an invalid value or a repeated
/// name) and, if it is acceptable, builds the agreement.
fn accept(o: &ExtensionOffer, cfg: &DeflateConfig, flaws: &Flaws) -> Option<Agreement> {
    let offer = check(o, flaws)?;
    let mut params: Vec<String> = Vec::new();

    let server_nct = offer.server_no_context_takeover || cfg.always_server_no_context_takeover;
    if server_nct {
        params.push(SERVER_NO_CONTEXT_TAKEOVER.into());
    }
    if cfg.request_client_no_context_takeover {
        params.push(CLIENT_NO_CONTEXT_TAKEOVER.into());
    }

    let own_max = cfg.max_window_bits.clamp(8, 15);
    let compress_window_bits = match &offer.server_max_window_bits {
        Bits::Valid(n) => {
            let bits = (*n).min(own_max);
            params.push(format!("{SERVER_MAX_WINDOW_BITS}={bits}"));
            bits
        }
        // Only reachable with `accept_bad_window_bits`: the bad value goes back as it came.
        Bits::Bare => {
            params.push(SERVER_MAX_WINDOW_BITS.into());
            own_max
        }
        Bits::Invalid(v) => {
            params.push(format!("{SERVER_MAX_WINDOW_BITS}={v}"));
            own_max
        }
        Bits::Absent => {
            if own_max < 15 {
                params.push(format!("{SERVER_MAX_WINDOW_BITS}={own_max}"));
            }
            own_max
        }
    };

    let inflate_window_bits = match (&offer.client_max_window_bits, cfg.client_max_window_bits) {
        (Bits::Absent, _) if flaws.client_max_window_bits_unoffered => {
            params.push(format!("{CLIENT_MAX_WINDOW_BITS}=15"));
            15
        }
        (Bits::Absent, _) => 15,
        (Bits::Invalid(v), _) => {
            params.push(format!("{CLIENT_MAX_WINDOW_BITS}={v}"));
            15
        }
        (Bits::Bare, Some(mine)) => {
            let bits = mine.clamp(8, 15);
            params.push(format!("{CLIENT_MAX_WINDOW_BITS}={bits}"));
            bits
        }
        (Bits::Valid(hint), Some(mine)) => {
            let bits = mine.clamp(8, 15).min(*hint);
            params.push(format!("{CLIENT_MAX_WINDOW_BITS}={bits}"));
            bits
        }
        // Offered, but the server does not ask for a limit: the client may use up to 15
        // bits, the value being a hint only (§7.1.2.2).
        (Bits::Bare | Bits::Valid(_), None) => 15,
    };

    let mut response = NAME.to_string();
    for p in &params {
        response.push_str("; ");
        response.push_str(p);
    }
    Some(Agreement {
        response,
        compress_window_bits: if flaws.ignore_server_max_window_bits {
            15
        } else {
            compress_window_bits
        },
        compress_no_context_takeover: server_nct && !flaws.keep_context_despite_no_context_takeover,
        inflate_window_bits,
        inflate_no_context_takeover: cfg.request_client_no_context_takeover,
    })
}

/// The offer's parameters if they are all defined, valid and unrepeated (flaws aside).
fn check(o: &ExtensionOffer, flaws: &Flaws) -> Option<Offer> {
    let mut seen: Vec<&str> = Vec::new();
    let mut offer = Offer {
        server_no_context_takeover: false,
        server_max_window_bits: Bits::Absent,
        client_max_window_bits: Bits::Absent,
    };
    for (name, value) in &o.params {
        if seen.contains(&name.as_str()) {
            if flaws.accept_duplicate_params {
                continue;
            }
            return None;
        }
        seen.push(name);
        let value = value.as_deref();
        match name.as_str() {
            SERVER_NO_CONTEXT_TAKEOVER | CLIENT_NO_CONTEXT_TAKEOVER => {
                // §7.1.1: these parameters have no value.
                if value.is_some() {
                    return None;
                }
                if name == SERVER_NO_CONTEXT_TAKEOVER {
                    offer.server_no_context_takeover = true;
                }
                // client_no_context_takeover in an offer is a hint the server may ignore.
            }
            SERVER_MAX_WINDOW_BITS => {
                // §7.1.2.1: a value is required.
                offer.server_max_window_bits = match value.map(|v| (v, window_bits(v))) {
                    Some((_, Some(n))) => Bits::Valid(n),
                    _ if !flaws.accept_bad_window_bits => return None,
                    Some((v, None)) => Bits::Invalid(v.to_string()),
                    None => Bits::Bare,
                };
            }
            CLIENT_MAX_WINDOW_BITS => {
                // §7.1.2.2: the value is optional.
                offer.client_max_window_bits = match value.map(|v| (v, window_bits(v))) {
                    None => Bits::Bare,
                    Some((_, Some(n))) => Bits::Valid(n),
                    Some((v, None)) if flaws.accept_bad_window_bits => Bits::Invalid(v.to_string()),
                    Some(_) => return None,
                };
            }
            _ if flaws.accept_unknown_params => {}
            _ => return None,
        }
    }
    Some(offer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::parse_extensions;

    fn answer(offer: &str, cfg: DeflateConfig, flaws: Flaws) -> Option<String> {
        negotiate(&parse_extensions(offer).unwrap(), &cfg, &flaws).map(|a| a.response)
    }

    fn correct(offer: &str) -> Option<String> {
        answer(offer, DeflateConfig::default(), Flaws::default())
    }

    #[test]
    fn window_bits_follow_the_abnf_and_the_range() {
        for (v, want) in [
            ("8", Some(8)),
            ("15", Some(15)),
            ("7", None),
            ("16", None),
            ("08", None),
            ("", None),
            ("+9", None),
            ("9 ", None),
            ("015", None),
            ("1000000000000000000009", None),
        ] {
            assert_eq!(window_bits(v), want, "{v:?}");
        }
    }

    #[test]
    fn valid_offers_are_accepted_as_offered() {
        for (offer, want) in [
            ("permessage-deflate", "permessage-deflate"),
            (
                "permessage-deflate; server_no_context_takeover",
                "permessage-deflate; server_no_context_takeover",
            ),
            (
                "permessage-deflate; client_no_context_takeover",
                "permessage-deflate",
            ),
            (
                "permessage-deflate; server_max_window_bits=10",
                "permessage-deflate; server_max_window_bits=10",
            ),
            (
                "permessage-deflate; server_max_window_bits=\"9\"",
                "permessage-deflate; server_max_window_bits=9",
            ),
            (
                "permessage-deflate; client_max_window_bits",
                "permessage-deflate",
            ),
            (
                "permessage-deflate; client_max_window_bits=8",
                "permessage-deflate",
            ),
        ] {
            assert_eq!(correct(offer).as_deref(), Some(want), "{offer}");
        }
    }

    #[test]
    fn invalid_offers_are_declined_and_the_next_one_tried() {
        for offer in [
            "permessage-deflate; x",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover=\"x\"",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=08",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=9; client_max_window_bits=9",
            "x-other",
            "PERMESSAGE-DEFLATE",
        ] {
            assert_eq!(correct(offer), None, "{offer}");
            let two = format!("{offer}, permessage-deflate; server_max_window_bits=12");
            assert_eq!(
                correct(&two).as_deref(),
                Some("permessage-deflate; server_max_window_bits=12"),
                "{two}"
            );
        }
    }

    #[test]
    fn the_first_valid_offer_wins() {
        assert_eq!(
            correct("permessage-deflate; server_max_window_bits=10, permessage-deflate").as_deref(),
            Some("permessage-deflate; server_max_window_bits=10")
        );
    }

    #[test]
    fn server_preferences_shape_the_answer() {
        let cfg = DeflateConfig {
            max_window_bits: 10,
            always_server_no_context_takeover: true,
            request_client_no_context_takeover: true,
            client_max_window_bits: Some(11),
            ..DeflateConfig::default()
        };
        let a = negotiate(
            &parse_extensions(
                "permessage-deflate; server_max_window_bits=12; client_max_window_bits=9",
            )
            .unwrap(),
            &cfg,
            &Flaws::default(),
        )
        .unwrap();
        assert_eq!(
            a.response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=9"
        );
        assert_eq!((a.compress_window_bits, a.inflate_window_bits), (10, 9));
        assert!(a.compress_no_context_takeover && a.inflate_no_context_takeover);
        // client_max_window_bits not offered: the server may not limit the client.
        assert_eq!(
            answer("permessage-deflate", cfg, Flaws::default()).as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=10"
            )
        );
        assert_eq!(
            answer(
                "permessage-deflate",
                DeflateConfig::disabled(),
                Flaws::default()
            ),
            None
        );
    }

    #[test]
    fn negotiation_flaws_change_the_answer() {
        let f = |flaws: Flaws, offer: &str| answer(offer, DeflateConfig::default(), flaws);
        let bad = Flaws {
            accept_bad_window_bits: true,
            ..Flaws::default()
        };
        assert_eq!(
            f(bad, "permessage-deflate; server_max_window_bits=08").as_deref(),
            Some("permessage-deflate; server_max_window_bits=08")
        );
        assert_eq!(
            f(bad, "permessage-deflate; server_max_window_bits").as_deref(),
            Some("permessage-deflate; server_max_window_bits")
        );
        assert_eq!(
            f(bad, "permessage-deflate; client_max_window_bits=16").as_deref(),
            Some("permessage-deflate; client_max_window_bits=16")
        );
        let unknown = Flaws {
            accept_unknown_params: true,
            ..Flaws::default()
        };
        assert_eq!(
            f(unknown, "permessage-deflate; x=1").as_deref(),
            Some("permessage-deflate")
        );
        let dup = Flaws {
            accept_duplicate_params: true,
            ..Flaws::default()
        };
        assert_eq!(
            f(
                dup,
                "permessage-deflate; server_max_window_bits=9; server_max_window_bits=10"
            )
            .as_deref(),
            Some("permessage-deflate; server_max_window_bits=9")
        );
        let unoffered = Flaws {
            client_max_window_bits_unoffered: true,
            ..Flaws::default()
        };
        assert_eq!(
            f(unoffered, "permessage-deflate").as_deref(),
            Some("permessage-deflate; client_max_window_bits=15")
        );
    }
}
