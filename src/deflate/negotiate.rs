//! The client's side of permessage-deflate negotiation (RFC 7692 §5, §7.1): which of the
//! offers wsspec sent are valid, and whether the server's answer is one a client may
//! accept. A server's answer decides what both ends do afterwards, so it is checked before
//! a single compressed frame is read: an answer that fits no valid offer is reported as the
//! server's violation, and nothing is inflated on its strength.

use crate::handshake::ExtensionOffer;
use crate::rules::Rule;

/// The registered extension name (RFC 7692 §7).
pub const NAME: &str = "permessage-deflate";

/// The window size both ends assume when no `*_max_window_bits` is agreed (32,768 bytes).
pub const DEFAULT_WINDOW_BITS: u8 = 15;

/// The parameters of one offer or answer, as parsed (RFC 7692 §7.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (allowed in an offer only, §7.1.2.2).
    pub client_max_window_bits: Option<Option<u8>>,
}

/// The agreed parameters as wsspec, the client, applies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// The server must not use context takeover (§7.1.1.1): each of its messages is
    /// inflated with an empty window.
    pub server_no_context_takeover: bool,
    /// wsspec must not use context takeover: the server asked for it (§7.1.1.2), or wsspec
    /// promised it in the offer the server accepted.
    pub client_no_context_takeover: bool,
    /// The window the server compresses with (§7.1.2.1).
    pub server_max_window_bits: u8,
    /// The window wsspec compresses with: the server's limit, or wsspec's own promise.
    pub client_max_window_bits: u8,
    /// The answer as the server wrote it (at most 200 characters), for transcripts.
    pub answer: String,
}

/// Why an answer cannot be accepted, with the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub rule: Rule,
    pub detail: String,
}

/// Whether a parameter sits in an offer or an answer: the value rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Offer,
    Answer,
}

/// `1*DIGIT` with the value 8-15 and no leading zero (RFC 7692 §7.1.2.1, §7.1.2.2).
fn window_bits(v: &str) -> Option<u8> {
    if v.is_empty() || v.len() > 2 || v.starts_with('0') || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<u8>().ok().filter(|b| (8..=15).contains(b))
}

/// Parses one `permessage-deflate` element; the error says what makes it invalid
/// (an unknown or duplicated parameter, or an invalid value: RFC 7692 §7).
fn parse(e: &ExtensionOffer, side: Side) -> Result<Params, String> {
    let mut p = Params::default();
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in &e.params {
        let lower = name.to_ascii_lowercase();
        if seen.contains(&lower.as_str()) {
            return Err(format!("the parameter {name} appears twice"));
        }
        let no_value = |what: &str| match value {
            None => Ok(()),
            Some(v) => Err(format!("{what} takes no value, but has {v:?}")),
        };
        match lower.as_str() {
            "server_no_context_takeover" => {
                no_value(name)?;
                p.server_no_context_takeover = true;
                seen.push("server_no_context_takeover");
            }
            "client_no_context_takeover" => {
                no_value(name)?;
                p.client_no_context_takeover = true;
                seen.push("client_no_context_takeover");
            }
            "server_max_window_bits" => {
                let v = value
                    .as_deref()
                    .ok_or_else(|| format!("{name} needs a value 8-15"))?;
                let bits = window_bits(v)
                    .ok_or_else(|| format!("{name}={v:?} is not a window size 8-15"))?;
                p.server_max_window_bits = Some(bits);
                seen.push("server_max_window_bits");
            }
            "client_max_window_bits" => {
                let bits = match (value.as_deref(), side) {
                    (None, Side::Offer) => None,
                    (None, Side::Answer) => {
                        return Err(format!("{name} in an answer needs a value 8-15"))
                    }
                    (Some(v), _) => Some(
                        window_bits(v)
                            .ok_or_else(|| format!("{name}={v:?} is not a window size 8-15"))?,
                    ),
                };
                p.client_max_window_bits = Some(bits);
                seen.push("client_max_window_bits");
            }
            _ => return Err(format!("{name} is not a permessage-deflate parameter")),
        }
    }
    Ok(p)
}

/// The permessage-deflate offers in a request's extension list, each parsed, or why it is
/// invalid (a server must decline those, RFC 7692 §7).
pub fn offers(list: &[ExtensionOffer]) -> Vec<Result<Params, String>> {
    list.iter()
        .filter(|e| e.name.eq_ignore_ascii_case(NAME))
        .map(|e| parse(e, Side::Offer))
        .collect()
}

/// Why `answer` is not a valid acceptance of `offer`, if it is not.
fn misfit(offer: &Params, answer: &Params) -> Option<String> {
    if offer.server_no_context_takeover && !answer.server_no_context_takeover {
        return Some(
            "the offer asked for server_no_context_takeover and the answer leaves it out".into(),
        );
    }
    if let Some(n) = offer.server_max_window_bits {
        match answer.server_max_window_bits {
            None => {
                return Some(format!(
                    "the offer asked for server_max_window_bits={n} and the answer leaves it out"
                ))
            }
            Some(m) if m > n => {
                return Some(format!(
                    "the offer asked for server_max_window_bits={n} and the answer raises it to {m}"
                ))
            }
            _ => {}
        }
    }
    if answer.client_max_window_bits.is_some() && offer.client_max_window_bits.is_none() {
        return Some(
            "the answer has client_max_window_bits, which the offer did not include".into(),
        );
    }
    None
}

/// Checks the server's `Sec-WebSocket-Extensions` answer (all its elements) against what
/// wsspec offered. `Ok(None)`: compression was declined. Only permessage-deflate elements
/// are looked at; other extensions are the handshake checks' business.
pub fn check_answer(
    offered: &[ExtensionOffer],
    answer: &[ExtensionOffer],
) -> Result<Option<Agreement>, Problem> {
    let elements: Vec<&ExtensionOffer> = answer
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(NAME))
        .collect();
    let Some(first) = elements.first() else {
        return Ok(None);
    };
    // The answer is the peer's text: bounded before it reaches notes and reports.
    let text = crate::text::bounded_lossy(describe(first).as_bytes(), 200);
    if elements.len() > 1 {
        return Err(Problem {
            rule: Rule::DeflateAnswerSeveral,
            detail: format!(
                "the answer has {} permessage-deflate elements",
                elements.len()
            ),
        });
    }
    let params = parse(first, Side::Answer).map_err(|why| Problem {
        rule: Rule::DeflateAnswerInvalid,
        detail: format!("answer {text:?}: {why}"),
    })?;
    let parsed = offers(offered);
    if parsed.is_empty() {
        return Err(Problem {
            rule: Rule::DeflateAnswerUnoffered,
            detail: format!("answer {text:?} accepts an extension that was not offered"),
        });
    }
    let mut first_misfit = None;
    let mut invalid = Vec::new();
    for offer in &parsed {
        match offer {
            Ok(o) => match misfit(o, &params) {
                None => {
                    let mut client_bits = params
                        .client_max_window_bits
                        .flatten()
                        .unwrap_or(DEFAULT_WINDOW_BITS);
                    // wsspec's own hint in the offer binds wsspec (§7.1.2.2).
                    if let Some(Some(h)) = o.client_max_window_bits {
                        client_bits = client_bits.min(h);
                    }
                    return Ok(Some(Agreement {
                        server_no_context_takeover: params.server_no_context_takeover,
                        client_no_context_takeover: params.client_no_context_takeover
                            || o.client_no_context_takeover,
                        server_max_window_bits: params
                            .server_max_window_bits
                            .unwrap_or(DEFAULT_WINDOW_BITS),
                        client_max_window_bits: client_bits,
                        answer: text,
                    }));
                }
                Some(why) => {
                    first_misfit.get_or_insert(why);
                }
            },
            Err(why) => invalid.push(why.clone()),
        }
    }
    Err(match first_misfit {
        Some(why) => Problem {
            rule: Rule::DeflateAnswerMisfit,
            detail: format!("answer {text:?} fits no offer: {why}"),
        },
        None => Problem {
            rule: Rule::DeflateOfferInvalidAccepted,
            detail: format!(
                "answer {text:?} accepts an invalid offer ({})",
                invalid.join("; ")
            ),
        },
    })
}

/// The agreement wsspec's own answer sets up when wsspec plays the server: the answer is
/// the agreement (RFC 7692 §5), whatever the client offered. None when the answer has no
/// permessage-deflate element, or one that no client could accept (two elements, an
/// unknown or duplicated parameter, an invalid value): a case sends those to see the
/// client fail, and nothing the client sends afterwards is inflated on their strength.
pub fn own_answer(answer: &[ExtensionOffer]) -> Option<Agreement> {
    let mut elements = answer.iter().filter(|e| e.name.eq_ignore_ascii_case(NAME));
    let first = elements.next()?;
    if elements.next().is_some() {
        return None;
    }
    let p = parse(first, Side::Answer).ok()?;
    Some(Agreement {
        server_no_context_takeover: p.server_no_context_takeover,
        client_no_context_takeover: p.client_no_context_takeover,
        server_max_window_bits: p.server_max_window_bits.unwrap_or(DEFAULT_WINDOW_BITS),
        client_max_window_bits: p
            .client_max_window_bits
            .flatten()
            .unwrap_or(DEFAULT_WINDOW_BITS),
        answer: crate::text::bounded_lossy(describe(first).as_bytes(), 200),
    })
}

/// An element written back in the header's syntax (for notes and details).
pub fn describe(e: &ExtensionOffer) -> String {
    let mut s = e.name.clone();
    for (k, v) in &e.params {
        s.push_str("; ");
        s.push_str(k);
        if let Some(v) = v {
            s.push('=');
            s.push_str(v);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::parse_extensions;

    fn check(offer: &str, answer: &str) -> Result<Option<Agreement>, Problem> {
        check_answer(
            &parse_extensions(offer).unwrap(),
            &parse_extensions(answer).unwrap(),
        )
    }

    #[test]
    fn the_simplest_exchange_agrees_on_defaults() {
        // RFC 7692 §7.1.3: the simplest offer and answer are the same.
        let a = check("permessage-deflate", "permessage-deflate")
            .unwrap()
            .unwrap();
        assert_eq!(a.server_max_window_bits, 15);
        assert_eq!(a.client_max_window_bits, 15);
        assert!(!a.server_no_context_takeover && !a.client_no_context_takeover);
    }

    #[test]
    fn declining_is_not_an_error() {
        assert_eq!(check("permessage-deflate", "x-other"), Ok(None));
    }

    #[test]
    fn window_values_follow_the_abnf() {
        for ok in ["8", "9", "10", "15"] {
            assert!(window_bits(ok).is_some(), "{ok}");
        }
        for bad in ["7", "16", "08", "", "1a", "+9", "0", "150"] {
            assert!(window_bits(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn answers_that_fit_no_offer_are_problems() {
        let bad = [
            // §7.1.2.2: client_max_window_bits only when offered.
            (
                "permessage-deflate",
                "permessage-deflate; client_max_window_bits=15",
            ),
            // §7.1.1.1: a requested server_no_context_takeover must be answered.
            (
                "permessage-deflate; server_no_context_takeover",
                "permessage-deflate",
            ),
            // §7.1.2.1: the same or a smaller value.
            (
                "permessage-deflate; server_max_window_bits=10",
                "permessage-deflate",
            ),
            (
                "permessage-deflate; server_max_window_bits=10",
                "permessage-deflate; server_max_window_bits=11",
            ),
            // Invalid values and unknown or duplicated parameters.
            (
                "permessage-deflate",
                "permessage-deflate; server_max_window_bits=16",
            ),
            (
                "permessage-deflate",
                "permessage-deflate; server_max_window_bits",
            ),
            (
                "permessage-deflate; client_max_window_bits",
                "permessage-deflate; client_max_window_bits",
            ),
            (
                "permessage-deflate",
                "permessage-deflate; server_no_context_takeover=1",
            ),
            ("permessage-deflate", "permessage-deflate; foo"),
            (
                "permessage-deflate",
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            ),
            // Two elements; an accepted invalid offer; nothing offered.
            (
                "permessage-deflate",
                "permessage-deflate, permessage-deflate",
            ),
            (
                "permessage-deflate; server_max_window_bits=7",
                "permessage-deflate",
            ),
            ("x-other", "permessage-deflate"),
        ];
        for (offer, answer) in bad {
            assert!(check(offer, answer).is_err(), "{offer} / {answer}");
        }
    }

    #[test]
    fn the_answer_may_fit_a_later_offer() {
        let a = check(
            "permessage-deflate; server_max_window_bits=10, permessage-deflate",
            "permessage-deflate",
        )
        .unwrap()
        .unwrap();
        assert_eq!(a.server_max_window_bits, 15);
        let a = check(
            "permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits=9",
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=12",
        )
        .unwrap()
        .unwrap();
        // wsspec promised 9 in the offer; the server allowed 12.
        assert_eq!(a.client_max_window_bits, 9);
        assert!(a.server_no_context_takeover);
    }

    #[test]
    fn own_answers_are_agreements_when_any_client_could_accept_them() {
        let own = |a: &str| own_answer(&parse_extensions(a).unwrap());
        let a = own("permessage-deflate; client_max_window_bits=10; server_no_context_takeover")
            .unwrap();
        assert_eq!(
            (a.client_max_window_bits, a.server_max_window_bits),
            (10, 15)
        );
        assert!(a.server_no_context_takeover && !a.client_no_context_takeover);
        for bad in [
            "permessage-deflate, permessage-deflate",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; x",
            "x-other",
        ] {
            assert_eq!(own(bad), None, "{bad}");
        }
    }

    #[test]
    fn wsspec_keeps_its_own_promise_of_no_context_takeover() {
        let a = check(
            "permessage-deflate; client_no_context_takeover",
            "permessage-deflate",
        )
        .unwrap()
        .unwrap();
        assert!(a.client_no_context_takeover);
    }
}
