//! The server's opening handshake: a strict, incremental parser for responses
//! servers send to wsspec, and a builder for responses wsspec sends to
//! clients.

use std::borrow::Cow;

use super::accept::accept_key;
use super::headers::{self, HeaderList};
use super::parse::{check_crlf, finish, limit, own_headers, ParseError, StartLine, MAX_HEADERS};
use super::request::serialize;

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Status code.
    pub status: u16,
    /// Reason phrase, decoded lossily from the raw bytes (httparse itself
    /// drops reasons containing obs-text, which would lose report detail).
    pub reason: String,
    /// Headers in order, names as spelled, values raw (OWS trimmed).
    pub headers: Vec<(String, Vec<u8>)>,
    /// Length of the head including the final blank line. Frame bytes a
    /// server sends right behind its 101 start at this offset.
    pub head_len: usize,
}

impl Response {
    /// The first header named `name` (ASCII case-insensitive). Use
    /// [`Response::headers_named`] where duplicates matter.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        headers::named(&self.headers, name).next()
    }

    /// Every header named `name` (ASCII case-insensitive), in order.
    pub fn headers_named<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        headers::named(&self.headers, name)
    }

    /// The first header named `name`, decoded lossily (for reports).
    pub fn header_str_lossy(&self, name: &str) -> Option<Cow<'_, str>> {
        headers::first_lossy(&self.headers, name)
    }
}

/// Parses a response head from the start of `buf`.
///
/// `Ok(None)` means the head is incomplete: read more and call again with the
/// whole buffer. On success `head_len` says where frame bytes begin; they are
/// never examined. Errors if the head is malformed (see [`ParseError`]), has
/// more than [`MAX_HEADERS`] headers, or is not complete within `max_head`
/// bytes. Only the first `max_head` bytes are examined and nothing is
/// allocated until the head is complete, so a peer sending endless headers
/// is cut off at the bound.
pub fn parse_response(buf: &[u8], max_head: usize) -> Result<Option<Response>, ParseError> {
    if matches!(buf.first(), Some(b'\r' | b'\n')) {
        return Err(ParseError::LeadingEmptyLine);
    }
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut slots);
    let status = resp.parse(limit(buf, max_head));
    let Some(head_len) = finish(status, StartLine::Response, buf.len(), max_head)? else {
        return Ok(None);
    };
    let head = &buf[..head_len];
    check_crlf(head)?;
    // httparse has checked the layout `HTTP/1.x NNN` (12 bytes), then SP
    // and reason, or the line end.
    let line_end = head.iter().position(|&b| b == b'\r').unwrap_or(head.len());
    let line = &head[..line_end];
    if line.len() == 12 {
        return Err(ParseError::NoSpaceAfterStatus);
    }
    Ok(Some(Response {
        version: resp.version.unwrap_or_default(),
        status: resp.code.unwrap_or_default(),
        reason: String::from_utf8_lossy(line.get(13..).unwrap_or_default()).into_owned(),
        headers: own_headers(resp.headers),
        head_len,
    }))
}

/// A response to be sent byte for byte, mirroring
/// [`RequestSpec`](super::RequestSpec): nothing is validated, so client tests
/// can send broken status lines and header sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseSpec {
    /// HTTP version token, normally `HTTP/1.1`.
    pub version: String,
    /// Status code, written in decimal as is.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// When set, sent verbatim as the whole first line (without CRLF),
    /// e.g. for a non-numeric or four-digit status.
    pub status_line: Option<String>,
    /// Header lines in sending order.
    pub headers: HeaderList,
}

impl ResponseSpec {
    /// An `HTTP/1.1` response with the given status and no headers.
    pub fn new(status: u16, reason: &str) -> Self {
        ResponseSpec {
            version: "HTTP/1.1".into(),
            status,
            reason: reason.into(),
            status_line: None,
            headers: Vec::new(),
        }
    }

    /// The standard 101 answer to a request carrying `key` (RFC 6455
    /// §4.2.2 step 5): Upgrade: websocket, Connection: Upgrade and
    /// Sec-WebSocket-Accept, in that order.
    pub fn switching_protocols(key: &str) -> Self {
        let mut spec = ResponseSpec::new(101, "Switching Protocols");
        spec.add("Upgrade", "websocket");
        spec.add("Connection", "Upgrade");
        spec.add("Sec-WebSocket-Accept", &accept_key(key));
        spec
    }

    /// Replaces every header named `name` (ASCII case-insensitive) by one
    /// `name: value`, at the first one's position; appends it if absent.
    pub fn set(&mut self, name: &str, value: &str) {
        headers::set(&mut self.headers, name, value);
    }

    /// Appends `name: value` even if such a header exists (duplicates).
    pub fn add(&mut self, name: &str, value: &str) {
        headers::add(&mut self.headers, name, value);
    }

    /// Removes every header named `name` (ASCII case-insensitive).
    pub fn remove(&mut self, name: &str) {
        headers::remove(&mut self.headers, name);
    }

    /// Respells every header named `from` (ASCII case-insensitive) as `to`,
    /// keeping value and position.
    pub fn rename(&mut self, from: &str, to: &str) {
        headers::rename(&mut self.headers, from, to);
    }

    /// The first line as it will be sent, without its CRLF.
    pub fn first_line(&self) -> Cow<'_, str> {
        match &self.status_line {
            Some(line) => Cow::Borrowed(line),
            None => Cow::Owned(format!("{} {} {}", self.version, self.status, self.reason)),
        }
    }

    /// Serialises the response head, all lines CRLF-terminated.
    pub fn to_bytes(&self) -> Vec<u8> {
        serialize(&self.first_line(), &self.headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const MAX: usize = 16384;

    fn sample() -> Vec<u8> {
        let mut s = ResponseSpec::switching_protocols(KEY);
        s.add("Sec-WebSocket-Extensions", "permessage-deflate");
        s.add("X-Obs", "caf\u{e9}");
        s.to_bytes()
    }

    #[test]
    fn switching_protocols_bytes() {
        assert_eq!(
            ResponseSpec::switching_protocols(KEY).to_bytes(),
            b"HTTP/1.1 101 Switching Protocols\r\n\
              Upgrade: websocket\r\n\
              Connection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
              \r\n"
        );
    }

    #[test]
    fn builder_mutations() {
        let mut s = ResponseSpec::switching_protocols(KEY);
        s.status_line = Some("HTTP/1.1 1O1 Switching".into());
        s.rename("upgrade", "UPGRADE");
        s.set("connection", "close");
        s.add("Sec-WebSocket-Accept", "x");
        s.remove("Sec-WebSocket-accept");
        assert_eq!(
            s.to_bytes(),
            b"HTTP/1.1 1O1 Switching\r\nUPGRADE: websocket\r\nconnection: close\r\n\r\n"
        );
    }

    #[test]
    fn parses_sample_and_leaves_frames() {
        let head = sample();
        let mut buf = head.clone();
        buf.extend_from_slice(&[0x81, 0x02, b'h', b'i', b'\r', b'\n', b'\n']);
        let r = parse_response(&buf, MAX).unwrap().unwrap();
        assert_eq!((r.version, r.status), (1, 101));
        assert_eq!(r.reason, "Switching Protocols");
        assert_eq!(r.head_len, head.len());
        assert_eq!(
            &buf[r.head_len..],
            &[0x81, 0x02, b'h', b'i', b'\r', b'\n', b'\n']
        );
        assert_eq!(r.headers.len(), 5);
        assert_eq!(
            r.header("sec-websocket-accept"),
            Some(&b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="[..])
        );
        assert_eq!(r.header("X-OBS"), Some("caf\u{e9}".as_bytes()));
        assert_eq!(r.header_str_lossy("upgrade").unwrap(), "websocket");
        assert_eq!(r.header("missing"), None);
    }

    #[test]
    fn split_at_every_offset() {
        let head = sample();
        let mut buf = head.clone();
        buf.extend_from_slice(b"\x82\x00");
        let whole = parse_response(&buf, MAX).unwrap().unwrap();
        for k in 0..head.len() {
            assert_eq!(parse_response(&buf[..k], MAX), Ok(None), "prefix {k}");
        }
        for k in head.len()..=buf.len() {
            assert_eq!(
                parse_response(&buf[..k], MAX).unwrap().as_ref(),
                Some(&whole)
            );
        }
    }

    #[test]
    fn duplicates_and_reason_forms() {
        let buf = b"HTTP/1.0 404 \r\nA: 1\r\na:  2 \r\n\r\n";
        let r = parse_response(buf, MAX).unwrap().unwrap();
        assert_eq!((r.version, r.status, r.reason.as_str()), (0, 404, ""));
        assert_eq!(r.headers_named("A").collect::<Vec<_>>(), [b"1", b"2"]);
        let r = parse_response(b"HTTP/1.1 400 Bad \xffRequest\r\n\r\n", MAX)
            .unwrap()
            .unwrap();
        assert_eq!(r.reason, "Bad \u{fffd}Request");
    }

    #[test]
    fn oversize_head_rejected_at_the_bound() {
        let mut endless = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
        while endless.len() < 1 << 20 {
            endless.extend_from_slice(b"X-Filler: ");
            endless.extend_from_slice(&[b'a'; 300]);
            endless.extend_from_slice(b"\r\n");
        }
        let err = parse_response(&endless, MAX).unwrap_err();
        // Fewer than 64 filler headers fit in the bound, so the size limit,
        // not the header-count limit, is what fires.
        assert_eq!(err, ParseError::HeadTooLarge { limit: MAX });
        assert_eq!(err.to_string(), "header section exceeds 16384 bytes");
        // The verdict comes once `max_head` bytes are present: a caller never
        // has to buffer more than that.
        let small = 200;
        assert_eq!(parse_response(&endless[..small - 1], small), Ok(None));
        assert_eq!(
            parse_response(&endless[..small], small),
            Err(ParseError::HeadTooLarge { limit: small })
        );
        // A complete head that fits exactly is fine.
        let head = sample();
        assert!(parse_response(&head, head.len()).unwrap().is_some());
        assert!(parse_response(&head, head.len() - 1).is_err());
    }

    #[test]
    fn too_many_headers() {
        let mut buf = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            buf.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        buf.extend_from_slice(b"\r\n");
        let err = parse_response(&buf, MAX).unwrap_err();
        assert_eq!(err, ParseError::TooManyHeaders);
        assert_eq!(err.to_string(), "header section has more than 64 headers");
    }

    #[test]
    fn garbage_is_an_error() {
        let cases: &[(&[u8], ParseError)] = &[
            (
                b"SSH-2.0-OpenSSH_9.6\r\n",
                ParseError::Version(StartLine::Response),
            ),
            (
                b"<html><body>HTTP/0.9 style body</body></html>",
                ParseError::Version(StartLine::Response),
            ),
            (
                b"HTTP/0.9 200 OK\r\n\r\n",
                ParseError::Version(StartLine::Response),
            ),
            (
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                ParseError::Version(StartLine::Response),
            ),
            (b"HTTP/1.1 1O1 OK\r\n\r\n", ParseError::Status),
            (b"HTTP/1.1 101\r\n\r\n", ParseError::NoSpaceAfterStatus),
            (b"\r\nHTTP/1.1 101 OK\r\n\r\n", ParseError::LeadingEmptyLine),
            (
                b"HTTP/1.1 101 OK\r\nUpgrade : websocket\r\n\r\n",
                ParseError::HeaderName,
            ),
            (
                b"HTTP/1.1 101 OK\r\nUpgrade: web\x00socket\r\n\r\n",
                ParseError::HeaderValue,
            ),
            (
                b"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n  folded\r\n\r\n",
                ParseError::HeaderName,
            ),
            (
                b"HTTP/1.1 101 OK\r\nUpgrade: websocket\n\r\n",
                ParseError::BareLf { offset: 35 },
            ),
            (
                b"HTTP/1.1 101 OK\r\nA: b\rX\r\n\r\n",
                ParseError::HeaderValue,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_response(input, MAX).as_ref(),
                Err(want),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(
            ParseError::Status.to_string(),
            "response line: invalid status"
        );
    }

    #[test]
    fn binary_noise_is_an_error_not_a_panic() {
        let mut x: u32 = 0x1234_5678;
        for _ in 0..2000 {
            let noise: Vec<u8> = (0..64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            assert!(!matches!(parse_response(&noise, MAX), Ok(Some(_))));
        }
    }

    #[quickcheck_macros::quickcheck]
    fn parse_response_never_panics(bytes: Vec<u8>, max: u16) -> bool {
        let _ = parse_response(&bytes, max as usize);
        // Also exercise the header section, which random bytes rarely reach.
        let mut prefixed = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n".to_vec();
        prefixed.extend_from_slice(&bytes);
        let _ = parse_response(&prefixed, 16384);
        true
    }

    #[quickcheck_macros::quickcheck]
    fn split_never_changes_result(cut: usize) -> bool {
        let buf = sample();
        let k = cut % (buf.len() + 1);
        let part = parse_response(&buf[..k], MAX);
        if k < buf.len() {
            part == Ok(None)
        } else {
            part == parse_response(&buf, MAX)
        }
    }
}
