//! The client's opening handshake: a builder for the requests wsspec sends to
//! servers, and a strict parser for requests clients send to wsspec.

use std::borrow::Cow;

use super::headers::{self, HeaderList};
use super::parse::{check_crlf, finish, limit, own_headers, ParseError, StartLine, MAX_HEADERS};

/// A request to be sent byte for byte.
///
/// Nothing here is validated or normalised on purpose: test cases must be able
/// to send what a well-behaved client never would (missing, duplicated,
/// re-ordered or mis-cased headers, a broken request line, even CR/LF inside
/// a value to probe header injection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// Request method, normally `GET`.
    pub method: String,
    /// Request-target, e.g. `/chat?x=1`.
    pub target: String,
    /// HTTP version token, normally `HTTP/1.1`.
    pub version: String,
    /// When set, sent verbatim as the whole first line (without CRLF) instead
    /// of `method SP target SP version`.
    pub request_line: Option<String>,
    /// Header lines in sending order.
    pub headers: HeaderList,
    /// The `Sec-WebSocket-Key` the response should be checked against. Kept
    /// apart from `headers` so accept checking still knows the intended key
    /// after a case removed or replaced the header.
    pub key: String,
}

impl RequestSpec {
    /// The standard RFC 6455 §4.1 request: `GET target HTTP/1.1`, then Host,
    /// Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key and
    /// Sec-WebSocket-Version: 13, in that order.
    ///
    /// Host carries `:port` only when `default_port` is false (§4.1 item 4).
    /// An IPv6 literal is bracketed, since Host is `uri-host [ ":" port ]`
    /// and a bare `::1` would be ambiguous.
    pub fn standard(host: &str, port: u16, default_port: bool, target: &str, key: String) -> Self {
        let host = if host.contains(':') && !host.starts_with('[') {
            Cow::Owned(format!("[{host}]"))
        } else {
            Cow::Borrowed(host)
        };
        let host = if default_port {
            host.into_owned()
        } else {
            format!("{host}:{port}")
        };
        let headers = [
            ("Host", host.as_str()),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", key.as_str()),
            ("Sec-WebSocket-Version", "13"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        RequestSpec {
            method: "GET".into(),
            target: target.into(),
            version: "HTTP/1.1".into(),
            request_line: None,
            headers,
            key,
        }
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
    /// keeping value and position, e.g. to send `UPGRADE:`.
    pub fn rename(&mut self, from: &str, to: &str) {
        headers::rename(&mut self.headers, from, to);
    }

    /// The first line as it will be sent, without its CRLF.
    pub fn first_line(&self) -> Cow<'_, str> {
        match &self.request_line {
            Some(line) => Cow::Borrowed(line),
            None => Cow::Owned(format!("{} {} {}", self.method, self.target, self.version)),
        }
    }

    /// Serialises the request: first line, `Name: value` lines, blank line,
    /// all CRLF-terminated.
    pub fn to_bytes(&self) -> Vec<u8> {
        serialize(&self.first_line(), &self.headers)
    }
}

/// Shared by both builders: the wire form of a head.
pub(crate) fn serialize(first_line: &str, headers: &HeaderList) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        first_line.len()
            + 4
            + headers
                .iter()
                .map(|(n, v)| n.len() + v.len() + 4)
                .sum::<usize>(),
    );
    out.extend_from_slice(first_line.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method as sent (case preserved: methods are case-sensitive).
    pub method: String,
    /// Request-target as sent.
    pub target: String,
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Headers in order, names as spelled, values raw (OWS trimmed).
    pub headers: Vec<(String, Vec<u8>)>,
    /// Length of the head including the final blank line; any bytes after
    /// it in the buffer are frames, untouched by the parser.
    pub head_len: usize,
}

impl Request {
    /// The first header named `name` (ASCII case-insensitive).
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

/// Parses a request head from the start of `buf`.
///
/// `Ok(None)` means the head is incomplete: read more and call again with
/// the whole buffer. Errors if the head is malformed (see [`ParseError`]),
/// has more than [`MAX_HEADERS`] headers, or is not complete within
/// `max_head` bytes; only the first `max_head` bytes are ever examined, so
/// the caller can stop reading there. Leading empty lines are skipped, as
/// RFC 9112 §2.2 asks of servers.
pub fn parse_request(buf: &[u8], max_head: usize) -> Result<Option<Request>, ParseError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    let status = req.parse(limit(buf, max_head));
    let Some(head_len) = finish(status, StartLine::Request, buf.len(), max_head)? else {
        return Ok(None);
    };
    check_crlf(&buf[..head_len])?;
    Ok(Some(Request {
        method: req.method.unwrap_or_default().to_owned(),
        target: req.path.unwrap_or_default().to_owned(),
        version: req.version.unwrap_or_default(),
        headers: own_headers(req.headers),
        head_len,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn standard() -> RequestSpec {
        RequestSpec::standard("server.example.com", 80, true, "/chat", KEY.into())
    }

    fn text(spec: &RequestSpec) -> String {
        String::from_utf8(spec.to_bytes()).unwrap()
    }

    #[test]
    fn standard_request_bytes() {
        assert_eq!(
            text(&standard()),
            "GET /chat HTTP/1.1\r\n\
             Host: server.example.com\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\
             \r\n"
        );
    }

    #[test]
    fn host_port_only_when_not_default() {
        let s = RequestSpec::standard("example.com", 9001, false, "/", KEY.into());
        assert_eq!(s.headers[0], ("Host".into(), "example.com:9001".into()));
        let s = RequestSpec::standard("::1", 9001, false, "/", KEY.into());
        assert_eq!(s.headers[0].1, "[::1]:9001");
        let s = RequestSpec::standard("::1", 443, true, "/", KEY.into());
        assert_eq!(s.headers[0].1, "[::1]");
    }

    #[test]
    fn remove_upgrade() {
        let mut s = standard();
        s.remove("upgrade");
        assert_eq!(
            text(&s),
            "GET /chat HTTP/1.1\r\n\
             Host: server.example.com\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\
             \r\n"
        );
    }

    #[test]
    fn duplicate_key() {
        let mut s = standard();
        s.add("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA==");
        assert_eq!(
            text(&s),
            "GET /chat HTTP/1.1\r\n\
             Host: server.example.com\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\
             \r\n"
        );
        // `set` collapses the duplicates back into one, in the first's place.
        s.set("sec-websocket-key", "x");
        assert_eq!(s.headers.len(), 5);
        assert_eq!(s.headers[3], ("sec-websocket-key".into(), "x".into()));
        assert_eq!(s.key, KEY, "the intended key is kept for accept checks");
    }

    #[test]
    fn miscased_upgrade() {
        let mut s = standard();
        s.rename("Upgrade", "UPGRADE");
        s.set("upgrade", "WebSocket");
        s.rename("upgrade", "UPGRADE");
        assert_eq!(
            text(&s),
            "GET /chat HTTP/1.1\r\n\
             Host: server.example.com\r\n\
             UPGRADE: WebSocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\
             \r\n"
        );
    }

    #[test]
    fn replaced_request_line() {
        let mut s = standard();
        s.request_line = Some("POST /chat HTTP/1.0".into());
        assert!(text(&s).starts_with("POST /chat HTTP/1.0\r\nHost: server.example.com\r\n"));
        s.request_line = Some("GET /chat".into());
        assert!(text(&s).starts_with("GET /chat\r\nHost:"));
    }

    #[test]
    fn reordered_headers() {
        let mut s = standard();
        s.headers.reverse();
        assert_eq!(
            text(&s),
            "GET /chat HTTP/1.1\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Connection: Upgrade\r\n\
             Upgrade: websocket\r\n\
             Host: server.example.com\r\n\
             \r\n"
        );
    }

    #[test]
    fn parse_standard_with_trailing_frame() {
        let mut buf = standard().to_bytes();
        let head_len = buf.len();
        buf.extend_from_slice(&[0x81, 0x85, 1, 2, 3, 4]);
        let req = parse_request(&buf, 16384).unwrap().unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(req.target, "/chat");
        assert_eq!(req.version, 1);
        assert_eq!(req.head_len, head_len);
        assert_eq!(req.headers.len(), 5);
        assert_eq!(req.header("sec-websocket-key"), Some(KEY.as_bytes()));
        assert_eq!(req.header_str_lossy("HOST").unwrap(), "server.example.com");
        assert_eq!(req.headers_named("upgrade").count(), 1);
    }

    #[test]
    fn parse_request_split_everywhere() {
        let buf = standard().to_bytes();
        let whole = parse_request(&buf, 16384).unwrap().unwrap();
        for k in 0..buf.len() {
            assert_eq!(parse_request(&buf[..k], 16384), Ok(None), "prefix {k}");
        }
        assert_eq!(parse_request(&buf, 16384).unwrap().unwrap(), whole);
    }

    #[test]
    fn parse_request_errors() {
        assert_eq!(
            parse_request(b"GET /x HTTP/1.1\nHost: a\n\n", 1024),
            Err(ParseError::BareLf { offset: 15 })
        );
        assert_eq!(
            parse_request(b"GET /x HTTP/2.0\r\n\r\n", 1024),
            Err(ParseError::Version(StartLine::Request))
        );
        assert_eq!(
            parse_request(b"GET\x01 /x HTTP/1.1\r\n\r\n", 1024),
            Err(ParseError::Token(StartLine::Request))
        );
        let big = standard().to_bytes();
        assert_eq!(
            parse_request(&big, big.len() - 1),
            Err(ParseError::HeadTooLarge {
                limit: big.len() - 1
            })
        );
        assert!(parse_request(&big, big.len()).unwrap().is_some());
    }

    #[quickcheck_macros::quickcheck]
    fn parse_request_never_panics(bytes: Vec<u8>, max: u16) -> bool {
        let _ = parse_request(&bytes, max as usize);
        let mut prefixed = standard().to_bytes();
        prefixed.truncate(prefixed.len() - 2);
        prefixed.extend_from_slice(&bytes);
        let _ = parse_request(&prefixed, 16384);
        true
    }
}
