//! What the request and response parsers share: the error type, the header
//! count limit, and the size bound and line-ending checks layered on httparse.

use std::fmt;

/// Most header lines accepted in one head. httparse needs a fixed slot array;
/// 64 is far above what any handshake needs, and a fixed bound keeps a
/// hostile peer from making us allocate per header.
pub const MAX_HEADERS: usize = 64;

/// Which start line a [`ParseError`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine {
    /// `GET /path HTTP/1.1`
    Request,
    /// `HTTP/1.1 101 Switching Protocols`
    Response,
}

impl fmt::Display for StartLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StartLine::Request => "request line",
            StartLine::Response => "response line",
        })
    }
}

/// Why a handshake head could not be parsed. The message names the part that
/// was wrong, because it ends up verbatim in conformance reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not `HTTP/1.0` or `HTTP/1.1` where the version belongs. This is also
    /// what non-HTTP peers (SSH banners, HTTP/0.9 bodies, TLS records) hit.
    #[error("{0}: invalid HTTP version")]
    Version(StartLine),
    /// The status code is not three digits followed by SP or a line end.
    #[error("response line: invalid status")]
    Status,
    /// RFC 9112 §4: `status-line = HTTP-version SP status-code SP
    /// [ reason-phrase ]`; the second SP is required even without a reason.
    #[error("response line: no SP after status code")]
    NoSpaceAfterStatus,
    /// A method or request-target containing bytes a token/URI can't hold,
    /// or wrong spacing between them.
    #[error("{0}: invalid token")]
    Token(StartLine),
    /// Empty lines before the status line. RFC 9112 §2.2 lets only a server
    /// skip those before a request line, so a response carrying them is
    /// malformed.
    #[error("response line: empty line before status line")]
    LeadingEmptyLine,
    /// A byte not allowed in a field name (including whitespace before the
    /// colon, RFC 9112 §5.1).
    #[error("header section: invalid header name")]
    HeaderName,
    /// A control byte in a field value, or an obs-fold continuation line
    /// (RFC 9112 §5.2 lets recipients reject those).
    #[error("header section: invalid header value")]
    HeaderValue,
    /// A CR not followed by LF.
    #[error("line ending: CR not followed by LF")]
    NewLine,
    /// A line ended by LF alone. RFC 9112 §2.2 allows recipients to accept
    /// that, but a conformance tool must notice it, so it is rejected.
    #[error("line ending: bare LF at byte {offset}")]
    BareLf {
        /// Offset of the LF from the start of the buffer.
        offset: usize,
    },
    /// More than [`MAX_HEADERS`] header lines.
    #[error("header section has more than {MAX_HEADERS} headers")]
    TooManyHeaders,
    /// The head did not end within the caller's byte limit.
    #[error("header section exceeds {limit} bytes")]
    HeadTooLarge {
        /// The `max_head` the caller passed.
        limit: usize,
    },
}

/// Runs an httparse result through the size bound and maps its errors.
///
/// `buf_len` is the length of the caller's whole buffer, of which httparse
/// saw at most `max_head` bytes: a head still incomplete once that many
/// bytes are available can only be too large, so it is an error rather than
/// a request for more bytes. This is how the bound is enforced before the
/// caller buffers (or we allocate) anything more.
pub(crate) fn finish(
    status: httparse::Result<usize>,
    line: StartLine,
    buf_len: usize,
    max_head: usize,
) -> Result<Option<usize>, ParseError> {
    match status {
        Ok(httparse::Status::Complete(n)) => Ok(Some(n)),
        Ok(httparse::Status::Partial) if buf_len >= max_head => {
            Err(ParseError::HeadTooLarge { limit: max_head })
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(match e {
            httparse::Error::HeaderName => ParseError::HeaderName,
            httparse::Error::HeaderValue => ParseError::HeaderValue,
            httparse::Error::NewLine => ParseError::NewLine,
            httparse::Error::Status => ParseError::Status,
            httparse::Error::Token => ParseError::Token(line),
            httparse::Error::TooManyHeaders => ParseError::TooManyHeaders,
            httparse::Error::Version => ParseError::Version(line),
        }),
    }
}

/// httparse accepts LF without CR as a line end; reject it (see
/// [`ParseError::BareLf`]). Only the head is scanned, never frame bytes
/// that may follow it in the same buffer.
pub(crate) fn check_crlf(head: &[u8]) -> Result<(), ParseError> {
    match head
        .iter()
        .enumerate()
        .find(|&(i, &b)| b == b'\n' && (i == 0 || head[i - 1] != b'\r'))
    {
        Some((offset, _)) => Err(ParseError::BareLf { offset }),
        None => Ok(()),
    }
}

/// Bytes of the head that httparse may look at.
pub(crate) fn limit(buf: &[u8], max_head: usize) -> &[u8] {
    &buf[..buf.len().min(max_head)]
}

/// Copies httparse's borrowed headers into owned, ordered pairs. Values stay
/// raw bytes: a header may legally carry obs-text, and validation reports on
/// what was sent rather than on a lossy decoding of it.
pub(crate) fn own_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, Vec<u8>)> {
    headers
        .iter()
        .map(|h| (h.name.to_owned(), h.value.to_vec()))
        .collect()
}
