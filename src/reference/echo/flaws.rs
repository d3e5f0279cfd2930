//! The deliberate defects of the echo server, one flag each.

/// One deliberate defect per flag. `Flaws::default()` is a correct server.
///
/// Each flag breaks one requirement and nothing else, so a test can switch it on and
/// check that exactly the cases about that requirement fail: a suite that never fails
/// proves nothing. The flags are plain data so a test reads as the defect it names:
/// `Flaws { no_pong: true, ..Flaws::default() }`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flaws {
    // Opening handshake.
    /// Sec-WebSocket-Accept is computed from the wrong input (the key without its last
    /// character), as when a server trims or mangles the key.
    pub wrong_accept: bool,
    /// A handshake it refuses ends with the connection dropped, no HTTP response.
    pub no_error_response: bool,
    /// An unsupported Sec-WebSocket-Version gets 426 but no Sec-WebSocket-Version header.
    pub version_no_426_header: bool,
    /// The Upgrade value is compared case-sensitively with "websocket".
    pub upgrade_case_sensitive: bool,
    /// The Connection value must be exactly "Upgrade" (any case): no token list parsing.
    pub connection_exact_match: bool,
    /// The Upgrade header is not checked (missing, h2c, ... are accepted).
    pub accept_any_upgrade: bool,
    /// The Connection header is not checked.
    pub accept_any_connection: bool,
    /// Sec-WebSocket-Key is not checked (missing, not base64, wrong length are accepted).
    pub accept_bad_key: bool,
    /// A request with two Sec-WebSocket-Key headers is accepted (the first one is used).
    pub accept_duplicate_key: bool,
    /// A request without a Host header is accepted.
    pub accept_missing_host: bool,
    /// Sec-WebSocket-Version is not checked.
    pub accept_any_version: bool,
    /// The method is not checked (POST, PUT, HEAD are accepted).
    pub accept_any_method: bool,
    /// HTTP/1.0 requests are accepted.
    pub accept_http_1_0: bool,
    /// When the client offers subprotocols, the 101 selects one it did not offer.
    pub pick_unoffered_subprotocol: bool,
    /// The client's Sec-WebSocket-Extensions offer is copied into the 101, as if the
    /// server supported every extension it is offered. Nothing is negotiated then, so
    /// nothing is compressed either.
    pub echo_unknown_extension: bool,
    /// Bytes that arrive in the same read as the request (frames the client sent with
    /// it) are thrown away.
    pub drop_early_frames: bool,
    // Framing.
    /// Off by one at both length boundaries: a 125-byte payload is written in the 16-bit
    /// form and a 65535-byte one in the 64-bit form (`len < 125`, `len < 65535`).
    pub non_minimal_length: bool,
    /// The most significant bit of a 64-bit length is dropped instead of failing the
    /// connection (the length is read as 63 bits).
    pub ignore_length_msb: bool,
    // Masking.
    /// Frames the server sends are masked.
    pub mask_server_frames: bool,
    /// The client's MASK bit is not checked: unmasked frames are processed.
    pub accept_unmasked: bool,
    // Reserved bits and opcodes.
    /// RSV1-3 are not checked.
    pub ignore_rsv: bool,
    /// Frames with reserved opcodes are skipped instead of failing the connection.
    pub ignore_reserved_opcodes: bool,
    // Control frames.
    /// Pings are not answered.
    pub no_pong: bool,
    /// Pongs carry a payload other than the ping's.
    pub wrong_pong_payload: bool,
    /// Control frames over 125 bytes are processed (a 126-byte ping is answered).
    pub allow_big_control: bool,
    /// Pongs are answered with a pong carrying the same payload, like pings.
    pub answer_pongs: bool,
    /// Control frames with FIN clear are reassembled with the continuation frames that
    /// follow, like a message, instead of failing the connection.
    pub allow_fragmented_control: bool,
    // Fragmentation.
    /// Fragmented messages are not supported: a data frame with FIN clear fails the
    /// connection with 1003.
    pub reject_fragmented: bool,
    /// A continuation frame with no message open is skipped instead of failing the
    /// connection.
    pub accept_continuation_without_start: bool,
    /// A text or binary frame while a fragmented message is open is taken as the next
    /// fragment of that message instead of failing the connection.
    pub accept_interleaved_messages: bool,
    // UTF-8.
    /// Text messages and close reasons are not checked for UTF-8: invalid text is echoed.
    pub no_utf8_check: bool,
    /// A text message is checked for UTF-8 only once it is complete, not fragment by
    /// fragment (RFC 6455 §8.1 fail-fast is missed).
    pub utf8_check_at_end_only: bool,
    // Closing handshake.
    /// A close frame is not answered: the server drops TCP instead.
    pub no_close_reply: bool,
    /// Close codes are not checked: a close frame with an invalid code is answered with
    /// 1000 instead of failing the connection.
    pub wrong_close_code: bool,
    /// Close payloads are not checked for shape: a 1-byte payload and a 126-byte close
    /// frame are answered like any close.
    pub accept_invalid_close_payload: bool,
    /// After the closing handshake the server keeps TCP open, waiting for the client to
    /// close it (RFC 6455 §5.5.1, §7.1.1: the server closes first).
    pub linger_after_close: bool,
    // Limits.
    /// Messages and frames over 1 MiB are refused with 1009 (a size limit, not a bug).
    pub message_limit_1mib: bool,
    // Not a bug: a choice the RFC leaves open. A suite must not fail any of these
    // (DESIGN.md §5: *how* a peer fails or refuses is at most non-strict).
    /// Frames whose length is not minimally encoded fail the connection (1002). RFC 6455
    /// §5.2 binds the sender; a receiver may accept or reject such frames.
    pub reject_non_minimal: bool,
    /// The connection is failed by dropping TCP, with no close frame (RFC 6455 §7.1.7
    /// makes the close frame a SHOULD; §10.7 lets an endpoint drop the connection).
    pub fail_by_dropping_tcp: bool,
    /// The connection is failed with close code 1011 whatever the cause (§7.1.7 asks for
    /// "an appropriate status code", a SHOULD).
    pub fail_with_1011: bool,
    /// An HTTP/1.0 request is refused with 505 HTTP Version Not Supported (§4.2.1: "an
    /// appropriate error code (such as 400 Bad Request)").
    pub refuse_http_1_0_with_505: bool,
    /// `Sec-WebSocket-Version: 8` (hybi-08, whose framing is RFC 6455's) is accepted: §4.2.2
    /// asks for 426 only for a version the server does not understand.
    pub accept_version_8: bool,
    /// Before failing the connection, pings already read in the same segment as the
    /// offending frame are answered, as a peer whose protocol layer handles control
    /// frames before its application layer sees the message does (Python websockets).
    pub pong_before_failing: bool,
    // permessage-deflate (RFC 7692). Each only matters on a connection where the
    // extension was negotiated, or, for the negotiation flaws, while negotiating it.
    /// A compressed reply is sent in two frames (when its payload has 2 bytes or more)
    /// and RSV1 is set on the continuation frame too (RFC 7692 §6.1 MUST NOT).
    pub rsv1_on_continuation: bool,
    /// RSV1 on a continuation frame from the client is not treated as an error: the
    /// frame is taken as the next fragment (RFC 7692 §6.1: MUST fail).
    pub accept_rsv1_on_continuation: bool,
    /// RSV1 on a control frame from the client is not treated as an error (RFC 7692
    /// §6.1: MUST fail).
    pub accept_rsv1_on_control: bool,
    /// The pongs and close frames the server sends carry RSV1 (RFC 7692 §6.1 MUST NOT).
    pub rsv1_on_control: bool,
    /// `server_no_context_takeover` is agreed to but the compressor keeps its LZ77
    /// window between messages: a repeated message becomes back-references into the
    /// previous one, which a client that resets its window cannot inflate (§7.2.1).
    pub keep_context_despite_no_context_takeover: bool,
    /// Offers with an invalid window-bits value are accepted and the value echoed back:
    /// `server_max_window_bits` of 7, 16, `08` or without a value, `client_max_window_bits`
    /// of 7 or 16 (§7.1.2.1, §7.1.2.2: such an offer MUST be declined).
    pub accept_bad_window_bits: bool,
    /// Offers with a parameter RFC 7692 does not define are accepted, the parameter
    /// ignored (§7: MUST decline).
    pub accept_unknown_params: bool,
    /// Offers naming a parameter twice are accepted, the first occurrence used (§7: MUST
    /// decline).
    pub accept_duplicate_params: bool,
    /// The response carries `client_max_window_bits=15` although the accepted offer did
    /// not have the parameter (§7.1.2.2: MUST NOT).
    pub client_max_window_bits_unoffered: bool,
    /// A compressed message that is not valid DEFLATE data is dropped silently instead
    /// of failing the connection (RFC 6455 §7.1.7 via RFC 7692 §6.2).
    pub accept_corrupt_deflate: bool,
    /// A compressed text message is not checked for UTF-8 after inflation (RFC 7692 §6.1:
    /// the decompressed payload is subject to the original type's constraints).
    pub no_utf8_check_after_inflate: bool,
    /// The response agrees to the offered `server_max_window_bits` but replies are
    /// compressed with a 15-bit window (§7.2.1 MUST NOT). Hard for a client to see: the
    /// replies inflate fine with a 32 KiB window, and zlib-rs (wsspec's inflater) keeps
    /// one whatever window it is given. Only a reply that refers back further than the
    /// agreed window betrays it: to an inflater that enforces its window (C zlib: "invalid
    /// distance too far back"), or by its size (data repeated only beyond the window
    /// compresses far better than the window allows).
    pub ignore_server_max_window_bits: bool,
}
