//! The catalogue of RFC rules wsspec can cite: one typed [`Rule`] per requirement, with the
//! RFC, the section, the level and the sentence that states it.
//!
//! A verdict is only as good as the sentence behind it, so the sentences live in one place,
//! are the RFCs' own words (a unit test finds each in `docs/rfc/`; `...` marks words left
//! out, `[brackets]` wsspec's own), and every violation carries the [`Rule::id`] it breaks,
//! so `results.json` and the reports can group findings by rule. The protocol pieces
//! (`codec`, `handshake`, `deflate`) name their checks with these rules; this module sits
//! below them and imports nothing.

use std::fmt;

/// How binding a rule is, in RFC 2119's terms ("MUST NOT" is a [`Level::Must`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Must,
    Should,
    May,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        }
    }
}

/// One rule of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RuleSpec {
    /// Stable kebab-case identifier, for results.json, reports and case files.
    pub id: &'static str,
    /// The RFC's number, e.g. `6455`.
    pub rfc: u16,
    /// The section after "§", e.g. `"5.2"`; a second section or an erratum may follow
    /// (`"4.1, §11.3.5"`).
    pub section: &'static str,
    /// The citation as reports print it, e.g. `"RFC 6455 §5.2"`.
    pub cite: &'static str,
    pub level: Level,
    /// The RFC's sentence, verbatim but for `...` (words left out) and `[...]` (wsspec's).
    pub sentence: &'static str,
}

/// Declares [`Rule`] and its table together, so a rule cannot exist without its spec.
macro_rules! catalogue {
    ($(
        $(#[$doc:meta])*
        $name:ident = $id:literal, $rfc:literal, $section:literal, $level:ident,
            $sentence:literal;
    )*) => {
        /// A requirement of RFC 6455 or RFC 7692 that the peer under test can break.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule {
            $( $(#[$doc])* $name, )*
        }

        impl Rule {
            /// Every rule, in catalogue order.
            pub const ALL: &'static [Rule] = &[ $( Rule::$name, )* ];

            /// The rule's RFC, section, level and sentence.
            pub fn spec(self) -> &'static RuleSpec {
                match self {
                    $( Rule::$name => &RuleSpec {
                        id: $id,
                        rfc: $rfc,
                        section: $section,
                        cite: concat!("RFC ", $rfc, " §", $section),
                        level: Level::$level,
                        sentence: $sentence,
                    }, )*
                }
            }
        }
    };
}

catalogue! {
    // RFC 6455 framing (checked by `codec`).

    /// An RSV bit is set that no negotiated extension defines.
    ReservedBitSet = "reserved-bit-set", 6455, "5.2", Must,
        "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values.";
    /// Opcode 0x3-0x7 or 0xB-0xF.
    ReservedOpcode = "reserved-opcode", 6455, "5.2", Must,
        "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_.";
    /// A control frame with FIN clear.
    ControlFrameFragmented = "control-frame-fragmented", 6455, "5.5", Must,
        "All control frames ... MUST NOT be fragmented.";
    /// A control frame with a payload over 125 bytes.
    ControlFrameTooLong = "control-frame-too-long", 6455, "5.5", Must,
        "All control frames MUST have a payload length of 125 bytes or less";
    /// A 16- or 64-bit length form used for a length that fits a shorter one.
    NonMinimalLength = "non-minimal-length", 6455, "5.2", Must,
        "in all cases, the minimal number of bytes MUST be used to encode the length";
    /// A 64-bit length with its most significant bit set.
    Length64MsbSet = "length64-msb-set", 6455, "5.2", Must,
        "If 127, the following 8 bytes interpreted as a 64-bit unsigned integer (the most significant bit MUST be 0) are the payload length.";
    /// A server received an unmasked frame.
    MaskMissing = "mask-missing", 6455, "5.1", Must,
        "a client MUST mask all frames that it sends to the server ... The server MUST close the connection upon receiving a frame that is not masked.";
    /// A client received a masked frame.
    MaskPresent = "mask-present", 6455, "5.1", Must,
        "A server MUST NOT mask any frames that it sends to the client.  A client MUST close a connection if it detects a masked frame.";
    /// A close frame whose payload is exactly one byte.
    ClosePayloadOneByte = "close-payload-one-byte", 6455, "5.5.1", Must,
        "If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer (in network byte order) representing a status code";
    /// A close frame carrying a status code that may not be sent.
    CloseCodeInvalid = "close-code-invalid", 6455, "7.4", Must,
        "1005 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint. ... Status codes in the range 0-999 are not used.";
    /// A close frame whose reason is not UTF-8.
    CloseReasonInvalidUtf8 = "close-reason-invalid-utf8", 6455, "5.5.1", Must,
        "Following the 2-byte integer, the body MAY contain UTF-8-encoded data with value /reason/";
    /// A continuation frame with no fragmented message open.
    ContinuationWithoutMessage = "continuation-without-message", 6455, "5.4", Must,
        "A fragmented message consists of a single frame with the FIN bit clear and an opcode other than 0, followed by zero or more frames with the FIN bit clear and the opcode set to 0, and terminated by a single frame with the FIN bit set and an opcode of 0.";
    /// A text or binary frame while a fragmented message is still open.
    MessageInterleaved = "message-interleaved", 6455, "5.4", Must,
        "The fragments of one message MUST NOT be interleaved between the fragments of another message unless an extension has been negotiated that can interpret the interleaving.";
    /// A text message whose payload is not UTF-8.
    InvalidUtf8 = "invalid-utf8", 6455, "8.1", Must,
        "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_.";
    /// A frame larger than this endpoint's limit.
    FrameTooLarge = "frame-too-large", 6455, "10.4", Must,
        "Implementations that have implementation- and/or platform-specific limitations regarding the frame size ... MUST protect themselves against exceeding those limits.";
    /// A reassembled message larger than this endpoint's limit.
    MessageTooLarge = "message-too-large", 6455, "10.4", Must,
        "Implementations that have implementation- and/or platform-specific limitations regarding the ... total message size after reassembly from multiple frames MUST protect themselves against exceeding those limits.";

    // RFC 6455 framing and closing, checked by the session's reader.

    /// TCP closed in the middle of a frame.
    FrameCutShort = "frame-cut-short", 6455, "5.2", Must,
        "The payload length is the length of the \"Extension data\" + the length of the \"Application data\".";
    /// A data frame after the peer's own close frame.
    DataAfterClose = "data-after-close", 6455, "5.5.1", Must,
        "The application MUST NOT send any more data frames after sending a Close frame.";
    /// A client sent data before the server's handshake response.
    DataBeforeResponse = "data-before-response", 6455, "4.1", Must,
        "Once the client's opening handshake has been sent, the client MUST wait for a response from the server before sending any further data.";

    // RFC 6455 closing, judged apart from the case (`judge::close`).

    /// A close frame left unanswered.
    CloseUnanswered = "close-unanswered", 6455, "5.5.1", Must,
        "If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint MUST send a Close frame in response.";
    /// The server left closing TCP to the client.
    ServerClosesTcpFirst = "server-closes-tcp-first", 6455, "7.1.1", Should,
        "The underlying TCP connection, in most normal cases, SHOULD be closed first by the server";
    /// A client closed TCP without waiting for the server to.
    ClientWaitsForTcpClose = "client-waits-for-tcp-close", 6455, "7.1.1", Should,
        "when a client is instructed to do the same, it SHOULD wait for a TCP Close from the server.";
    /// A peer failed the connection without a close frame, or with an unfitting code.
    FailWithCloseFrame = "fail-with-close-frame", 6455, "7.1.7", Should,
        "the endpoint SHOULD send a Close frame with an appropriate status code (Section 7.4) before proceeding to _Close the WebSocket Connection_.";
    /// A peer refused invalid data by dropping TCP.
    InvalidDataDrop = "invalid-data-drop", 6455, "10.7", May,
        "the endpoint MAY drop the TCP connection.";
    /// A server refused a handshake with another error code than the case names.
    RefusalErrorCode = "refusal-error-code", 6455, "4.2.1", Must,
        "the server MUST stop processing the client's handshake and return an HTTP response with an appropriate error code (such as 400 Bad Request).";
    /// Masking keys that are not fresh and unpredictable.
    MaskKeyUnpredictable = "mask-key-unpredictable", 6455, "5.3", Must,
        "When preparing a masked frame, the client MUST pick a fresh masking key from the set of allowed 32-bit values.  The masking key needs to be unpredictable; thus, the masking key MUST be derived from a strong source of entropy, and the masking key for a given frame MUST NOT make it simple for a server/proxy to predict the masking key for a subsequent frame.";
    /// A handshake nonce that is not random per connection.
    NonceRandom = "nonce-random", 6455, "4.1", Must,
        "The nonce MUST be selected randomly for each connection.";

    // RFC 6455 opening handshake (`handshake::HandshakeRule`).

    /// Response: the status is not 101.
    StatusNot101 = "status-not-101", 6455, "4.1", Must,
        "If the status code received from the server is not 101, the client handles the response per HTTP [RFC2616] procedures.";
    /// Request or response: not HTTP/1.1.
    HttpVersion = "http-version", 6455, "4.1", Must,
        "The method of the request MUST be GET, and the HTTP version MUST be at least 1.1.";
    /// Request or response: no `Upgrade` header.
    UpgradeMissing = "upgrade-missing", 6455, "4.1", Must,
        "The request MUST contain an |Upgrade| header field ... If the response lacks an |Upgrade| header field ... the client MUST _Fail the WebSocket Connection_.";
    /// Request or response: `Upgrade` lacks the `websocket` token.
    UpgradeNotWebsocket = "upgrade-not-websocket", 6455, "4.1", Must,
        "The request MUST contain an |Upgrade| header field whose value MUST include the \"websocket\" keyword. ... the |Upgrade| header field contains a value that is not an ASCII case-insensitive match for the value \"websocket\", the client MUST _Fail the WebSocket Connection_.";
    /// Request or response: no `Connection` header containing `Upgrade`.
    ConnectionMissingUpgrade = "connection-missing-upgrade", 6455, "4.1", Must,
        "The request MUST contain a |Connection| header field whose value MUST include the \"Upgrade\" token. ... If the response lacks a |Connection| header field or the |Connection| header field doesn't contain a token that is an ASCII case-insensitive match for the value \"Upgrade\", the client MUST _Fail the WebSocket Connection_.";
    /// Response: no `Sec-WebSocket-Accept`.
    AcceptMissing = "accept-missing", 6455, "4.1", Must,
        "If the response lacks a |Sec-WebSocket-Accept| header field ... the client MUST _Fail the WebSocket Connection_.";
    /// Response: `Sec-WebSocket-Accept` is not the value derived from the key.
    AcceptWrong = "accept-wrong", 6455, "4.1", Must,
        "the |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key| (as a string, not base64-decoded) with the string \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\" but ignoring any leading and trailing whitespace, the client MUST _Fail the WebSocket Connection_.";
    /// Response: more than one `Sec-WebSocket-Accept`.
    AcceptDuplicated = "accept-duplicated", 6455, "11.3.3", Must,
        "The |Sec-WebSocket-Accept| header MUST NOT appear more than once in an HTTP response.";
    /// Response: a subprotocol the client did not offer.
    ProtocolNotOffered = "protocol-not-offered", 6455, "4.1", Must,
        "If the response includes a |Sec-WebSocket-Protocol| header field and this header field indicates the use of a subprotocol that was not present in the client's handshake (the server has indicated a subprotocol not requested by the client), the client MUST _Fail the WebSocket Connection_.";
    /// Response: more than one subprotocol selected.
    ProtocolMultiple = "protocol-multiple", 6455, "4.2.2, §11.3.4", Must,
        "the |Sec-WebSocket-Protocol| header field MUST NOT appear more than once in an HTTP response.";
    /// Response: an extension the client did not offer.
    ExtensionNotOffered = "extension-not-offered", 6455, "4.1", Must,
        "If the response includes a |Sec-WebSocket-Extensions| header field and this header field indicates the use of an extension that was not present in the client's handshake (the server has indicated an extension not requested by the client), the client MUST _Fail the WebSocket Connection_.";
    /// Request or response: `Sec-WebSocket-Extensions` violates the §9.1 grammar.
    ExtensionMalformed = "extension-malformed", 6455, "9.1", Must,
        "If a value is received by either the client or the server during negotiation that does not conform to the ABNF below, the recipient of such malformed data MUST immediately _Fail the WebSocket Connection_.";
    /// Request: the method is not GET.
    MethodNotGet = "method-not-get", 6455, "4.1", Must,
        "The method of the request MUST be GET";
    /// Request: the request-target is neither an absolute path nor an absolute URI.
    TargetInvalid = "target-invalid", 6455, "4.1", Must,
        "The \"Request-URI\" part of the request MUST match the /resource name/ defined in Section 3 (a relative URI) or be an absolute http/https URI";
    /// Request: no (or an empty) `Host` header.
    HostMissing = "host-missing", 6455, "4.1", Must,
        "The request MUST contain a |Host| header field";
    /// Request: more than one `Host` header.
    HostDuplicated = "host-duplicated", 9112, "3.2", Must,
        "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1 request message that lacks a Host header field and to any request message that contains more than one Host header field line";
    /// Request: no `Sec-WebSocket-Key`.
    KeyMissing = "key-missing", 6455, "4.1", Must,
        "The request MUST include a header field with the name |Sec-WebSocket-Key|.";
    /// Request: more than one `Sec-WebSocket-Key`.
    KeyDuplicated = "key-duplicated", 6455, "11.3.1", Must,
        "The |Sec-WebSocket-Key| header field MUST NOT appear more than once in an HTTP request.";
    /// Request: the key is not base64 of exactly 16 bytes.
    KeyInvalid = "key-invalid", 6455, "4.2.1", Must,
        "A |Sec-WebSocket-Key| header field with a base64-encoded (see Section 4 of [RFC4648]) value that, when decoded, is 16 bytes in length.";
    /// Request: the key decodes to 16 bytes only with non-zero pad bits (erratum 3150).
    KeyNonCanonical = "key-non-canonical", 6455, "4.1 (erratum 3150)", May,
        "The value of this header field MUST be a nonce consisting of a randomly selected 16-byte value that has been base64-encoded (see Section 4 of [RFC4648]). [Non-zero pad bits are not canonical base64; a server MAY reject them.]";
    /// Request: no `Sec-WebSocket-Version`.
    VersionMissing = "version-missing", 6455, "4.1", Must,
        "The request MUST include a header field with the name |Sec-WebSocket-Version|.";
    /// Request: `Sec-WebSocket-Version` is not exactly one `13`.
    VersionNot13 = "version-not-13", 6455, "4.1, §11.3.5", Must,
        "The value of this header field MUST be 13. ... the |Sec-WebSocket-Version| header field MUST NOT appear more than once in an HTTP request.";
    /// Request: `Sec-WebSocket-Protocol` is not a list of unique tokens.
    ProtocolInvalid = "protocol-invalid", 6455, "4.1", Must,
        "The elements that comprise this value MUST be non-empty strings with characters in the range U+0021 to U+007E not including separator characters as defined in [RFC2616] and MUST all be unique strings.";

    // RFC 7692 permessage-deflate (`deflate::negotiate` and the session's reader).

    /// The server's answer has more than one permessage-deflate element.
    DeflateAnswerSeveral = "deflate-answer-several", 7692, "5", Must,
        "If a server gives an invalid response, such as accepting a PMCE that the client did not offer, the client MUST _Fail the WebSocket Connection_.";
    /// The server accepted permessage-deflate that was not offered.
    DeflateAnswerUnoffered = "deflate-answer-unoffered", 7692, "5", Must,
        "If a server gives an invalid response, such as accepting a PMCE that the client did not offer, the client MUST _Fail the WebSocket Connection_.";
    /// The server's answer has an unknown or duplicated parameter, or an invalid value.
    DeflateAnswerInvalid = "deflate-answer-invalid", 7692, "7", Must,
        "A client MUST _Fail the WebSocket Connection_ if the peer server accepted an extension negotiation offer for this extension with an extension negotiation response meeting any of the following conditions: ... The negotiation response contains an extension parameter not defined for use in a response. ... The negotiation response contains an extension parameter with an invalid value. ... The negotiation response contains multiple extension parameters with the same name.";
    /// The server's answer fits none of the offers.
    DeflateAnswerMisfit = "deflate-answer-misfit", 7692, "7", Must,
        "A client MUST _Fail the WebSocket Connection_ if the peer server accepted an extension negotiation offer for this extension with an extension negotiation response meeting any of the following conditions: ... The client does not support the configuration that the response represents.";
    /// The server accepted an offer it had to decline.
    DeflateOfferInvalidAccepted = "deflate-offer-invalid-accepted", 7692, "7", Must,
        "A server MUST decline an extension negotiation offer for this extension if any of the following conditions are met:";
    /// RSV1 on a control frame or a continuation frame.
    DeflateRsv1Misplaced = "deflate-rsv1-misplaced", 7692, "6.1", Must,
        "An endpoint MUST NOT set the \"Per-Message Compressed\" bit of control frames and non-first fragments of a data message.";
    /// A compressed text message that inflates to invalid UTF-8.
    DeflateInflatedUtf8 = "deflate-inflated-utf8", 7692, "6.1", Must,
        "At the receiver, the payload data portion after decompression is subject to the constraints for the original data type again.";
    /// A compressed message that does not inflate.
    DeflateCorrupt = "deflate-corrupt", 7692, "7.2.2", Must,
        "An endpoint uses the following algorithm to decompress a message. ... Decompress the resulting data using DEFLATE.";
    /// A client compressed with a longer window than agreed.
    DeflateClientWindow = "deflate-client-window", 7692, "7.2.2", Must,
        "the client MUST use an LZ77 sliding window of a size that conforms the \"agreed parameters\" to compress messages to send.";
    /// A server compressed with a longer window than agreed.
    DeflateServerWindow = "deflate-server-window", 7692, "7.1.2.1", Must,
        "By including this parameter in an extension negotiation offer, a client limits the LZ77 sliding window size that the server will use to compress messages.";
}

impl Rule {
    /// Stable kebab-case identifier, e.g. `"reserved-opcode"`.
    pub fn id(self) -> &'static str {
        self.spec().id
    }

    /// The citation, e.g. `"RFC 6455 §5.2"`: what reports and results call the section
    /// (`spec().section` is the number alone).
    #[allow(clippy::misnamed_getters)]
    pub fn section(self) -> &'static str {
        self.spec().cite
    }

    /// The RFC's sentence.
    pub fn text(self) -> &'static str {
        self.spec().sentence
    }

    /// Kept for the codec's callers: the same as [`Rule::id`].
    pub fn name(self) -> &'static str {
        self.id()
    }

    /// The rule with the id `id`, if the catalogue has one.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.id() == id)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}: {})", self.id(), self.section(), self.text())
    }
}

impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl<'de> serde::Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rule, D::Error> {
        let id = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Rule::from_id(&id)
            .ok_or_else(|| serde::de::Error::custom(format!("no rule with the id {id:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The RFC's text with the pagination of the plain-text RFCs removed (page footers,
    /// running headers, form feeds) and whitespace collapsed, and a word broken after a
    /// hyphen at a line end joined again, so that a quote may cross a line or a page.
    fn rfc_text(number: u16) -> Option<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("docs/rfc/rfc{number}.txt"));
        let text = std::fs::read_to_string(path).ok()?;
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| {
                let t = l.trim();
                let footer = t.ends_with(']') && t.contains("[Page ");
                let header = t.starts_with("RFC ") && t.len() > 60;
                !(footer || header)
            })
            .collect();
        Some(normalise(&kept.join("\n").replace('\u{c}', " ")))
    }

    fn normalise(s: &str) -> String {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace("- ", "-")
    }

    /// The RFC's words in a sentence: the text outside wsspec's `[...]`, split at `...`.
    /// A reference such as `[RFC2616]` is the RFC's own text.
    fn quoted_pieces(sentence: &str) -> Vec<String> {
        let mut outside = String::new();
        let mut depth = 0;
        for (i, c) in sentence.char_indices() {
            match c {
                '[' if depth == 0 && sentence[i..].starts_with("[RFC") => outside.push(c),
                '[' => {
                    depth += 1;
                    outside.push('\u{0}');
                }
                ']' if depth > 0 => depth -= 1,
                _ if depth == 0 => outside.push(c),
                _ => {}
            }
        }
        outside
            .replace("...", "\u{0}")
            .split('\u{0}')
            .map(str::trim)
            .filter(|p| p.chars().any(char::is_alphanumeric))
            .map(str::to_owned)
            .collect()
    }

    /// RFCs cited whose text is not vendored in `docs/rfc/`: their sentences cannot be
    /// checked here, so they are kept to this short list.
    const NOT_VENDORED: &[u16] = &[9112];

    #[test]
    fn every_sentence_is_the_rfcs_text() {
        let mut bad = Vec::new();
        for &r in Rule::ALL {
            let spec = r.spec();
            if NOT_VENDORED.contains(&spec.rfc) {
                continue;
            }
            let text = rfc_text(spec.rfc).expect("the RFC is in docs/rfc/");
            let pieces = quoted_pieces(spec.sentence);
            assert!(!pieces.is_empty(), "{r:?} quotes nothing");
            for p in pieces {
                if !text.contains(&normalise(&p)) {
                    bad.push(format!("{}: {p:?}", spec.id));
                }
            }
        }
        assert!(bad.is_empty(), "not the RFC's words:\n{}", bad.join("\n"));
    }

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let ids: BTreeSet<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
        assert_eq!(ids.len(), Rule::ALL.len());
        for id in ids {
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{id}"
            );
        }
    }

    #[test]
    fn citations_and_ids_round_trip() {
        assert_eq!(Rule::ReservedOpcode.section(), "RFC 6455 §5.2");
        assert_eq!(Rule::DeflateCorrupt.section(), "RFC 7692 §7.2.2");
        assert_eq!(Rule::from_id("mask-missing"), Some(Rule::MaskMissing));
        assert_eq!(Rule::from_id("no-such-rule"), None);
        let json = serde_json::to_string(&Rule::MaskPresent).unwrap();
        assert_eq!(json, "\"mask-present\"");
        let back: Rule = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Rule::MaskPresent);
    }
}
