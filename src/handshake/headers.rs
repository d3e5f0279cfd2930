//! Header-value helpers shared by the builders, the parsers and validation:
//! comma-separated token lists, the RFC 6455 §9.1 extension grammar, and
//! the ordered-header editing used by [`RequestSpec`](super::RequestSpec)
//! and [`ResponseSpec`](super::ResponseSpec).

use std::borrow::Cow;

/// An ordered header list as the builders keep it. A `Vec` rather than a map
/// because test cases need duplicates, arbitrary order and arbitrary case.
pub type HeaderList = Vec<(String, String)>;

/// One element of a `Sec-WebSocket-Extensions` value: the extension token and
/// its parameters in order. A parameter without `=` has `None` as its value;
/// quoted-string values are stored unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionOffer {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// `(name, value)` pairs in the order they appeared.
    pub params: Vec<(String, Option<String>)>,
}

/// Why a `Sec-WebSocket-Extensions` value does not match the RFC 6455 §9.1
/// grammar. Offsets are byte offsets into the value (of that header line,
/// when several lines are parsed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    /// `extension-list = 1#extension`: an empty value is not the same as an
    /// absent header (RFC 6455 §4.2.2 step 4) and is not legal.
    #[error("extension list is empty")]
    Empty,
    /// A token (extension name, parameter name or value) was required.
    #[error("expected {what} token at offset {at}")]
    ExpectedToken {
        /// Which token: "extension name", "parameter name", "parameter value".
        what: &'static str,
        /// Byte offset in the value.
        at: usize,
    },
    /// A byte that the grammar does not allow at this point.
    #[error("unexpected byte {} at offset {at}", show_byte(*found))]
    Unexpected {
        /// The offending byte.
        found: u8,
        /// Byte offset in the value.
        at: usize,
    },
    /// A quoted-string parameter value has no closing quote.
    #[error("unterminated quoted-string starting at offset {at}")]
    UnterminatedQuote {
        /// Offset of the opening quote.
        at: usize,
    },
    /// §9.1: a quoted value, once unescaped, must still be a token.
    #[error("quoted parameter value {value:?} is not a token after unescaping")]
    QuotedValueNotToken {
        /// The unescaped value, lossily decoded.
        value: String,
    },
}

fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() || b == b' ' {
        format!("{:?}", b as char)
    } else {
        format!("0x{b:02x}")
    }
}

/// `tchar` from RFC 7230 §3.2.6 (the RFC 2616 `token` that RFC 6455 cites).
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether `s` is a non-empty RFC 7230 token.
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_ows(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_ows(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Splits a comma-separated header value (`#token` lists such as
/// `Connection: keep-alive, Upgrade`) into trimmed elements, dropping empty
/// ones as RFC 7230 §7 tells recipients to.
///
/// Elements are not checked to be tokens and quotes are not understood: the
/// callers (Connection, Upgrade, Sec-WebSocket-Protocol) only need to look
/// elements up, and a bogus element then simply fails to match. Non-UTF-8
/// bytes are replaced lossily for the same reason.
pub fn tokens(value: &[u8]) -> Vec<String> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|t| !t.is_empty())
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .collect()
}

/// Parses one `Sec-WebSocket-Extensions` value per RFC 6455 §9.1:
/// `1#( token *( ";" token [ "=" ( token / quoted-string ) ] ) )`, with
/// optional whitespace around separators (the RFC 2616 "implied *LWS" rule)
/// and empty list elements ignored (RFC 7230 §7).
pub fn parse_extensions(value: &str) -> Result<Vec<ExtensionOffer>, ExtensionError> {
    ExtParser {
        b: value.as_bytes(),
        i: 0,
    }
    .list()
}

/// Parses all `Sec-WebSocket-Extensions` header lines of one message as the
/// single list they are equivalent to (RFC 6455 §9.1; erratum 3433 allows
/// several lines in a response). Each line must itself be a valid,
/// non-empty list. Raw bytes are accepted because a non-ASCII byte is a
/// grammar error to report, not something to have failed on earlier.
pub fn parse_extension_lines<'a>(
    lines: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<ExtensionOffer>, ExtensionError> {
    let mut all = Vec::new();
    for line in lines {
        all.extend(ExtParser { b: line, i: 0 }.list()?);
    }
    Ok(all)
}

struct ExtParser<'a> {
    b: &'a [u8],
    i: usize,
}

impl ExtParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_ows(&mut self) {
        while self.peek().is_some_and(is_ows) {
            self.i += 1;
        }
    }

    fn token(&mut self, what: &'static str) -> Result<String, ExtensionError> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        if start == self.i {
            return Err(ExtensionError::ExpectedToken { what, at: start });
        }
        // Token bytes are ASCII, so this cannot fail.
        Ok(String::from_utf8_lossy(&self.b[start..self.i]).into_owned())
    }

    fn quoted(&mut self) -> Result<String, ExtensionError> {
        let open = self.i;
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(ExtensionError::UnterminatedQuote { at: open }),
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c) if c == b'\t' || (c >= 0x20 && c != 0x7f) => {
                            out.push(c);
                            self.i += 1;
                        }
                        Some(c) => {
                            return Err(ExtensionError::Unexpected {
                                found: c,
                                at: self.i,
                            })
                        }
                        None => return Err(ExtensionError::UnterminatedQuote { at: open }),
                    }
                }
                Some(c) if c == b'\t' || (c >= 0x20 && c != 0x7f) => {
                    out.push(c);
                    self.i += 1;
                }
                Some(c) => {
                    return Err(ExtensionError::Unexpected {
                        found: c,
                        at: self.i,
                    })
                }
            }
        }
        if !is_token(&out) {
            return Err(ExtensionError::QuotedValueNotToken {
                value: String::from_utf8_lossy(&out).into_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    fn list(mut self) -> Result<Vec<ExtensionOffer>, ExtensionError> {
        let mut out = Vec::new();
        loop {
            self.skip_ows();
            match self.peek() {
                None => break,
                Some(b',') => {
                    self.i += 1;
                    continue;
                }
                Some(_) => {}
            }
            let name = self.token("extension name")?;
            let mut params = Vec::new();
            loop {
                self.skip_ows();
                match self.peek() {
                    None | Some(b',') => break,
                    Some(b';') => self.i += 1,
                    Some(found) => {
                        return Err(ExtensionError::Unexpected { found, at: self.i });
                    }
                }
                self.skip_ows();
                let pname = self.token("parameter name")?;
                self.skip_ows();
                let value = if self.peek() == Some(b'=') {
                    self.i += 1;
                    self.skip_ows();
                    if self.peek() == Some(b'"') {
                        Some(self.quoted()?)
                    } else {
                        Some(self.token("parameter value")?)
                    }
                } else {
                    None
                };
                params.push((pname, value));
            }
            out.push(ExtensionOffer { name, params });
        }
        if out.is_empty() {
            return Err(ExtensionError::Empty);
        }
        Ok(out)
    }
}

/// Replaces every header named `name` (ASCII case-insensitive) by a single
/// `name: value` at the first one's position, or appends it when absent.
pub(crate) fn set(headers: &mut HeaderList, name: &str, value: &str) {
    match headers
        .iter()
        .position(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some(pos) => {
            headers[pos] = (name.to_owned(), value.to_owned());
            let mut idx = 0;
            headers.retain(|(n, _)| {
                let keep = idx == pos || !n.eq_ignore_ascii_case(name);
                idx += 1;
                keep
            });
        }
        None => headers.push((name.to_owned(), value.to_owned())),
    }
}

/// Appends `name: value` unconditionally, so duplicates can be produced.
pub(crate) fn add(headers: &mut HeaderList, name: &str, value: &str) {
    headers.push((name.to_owned(), value.to_owned()));
}

/// Removes every header named `name` (ASCII case-insensitive).
pub(crate) fn remove(headers: &mut HeaderList, name: &str) {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
}

/// Respells every header named `from` (ASCII case-insensitive) as `to`,
/// keeping values and positions.
pub(crate) fn rename(headers: &mut HeaderList, from: &str, to: &str) {
    for (n, _) in headers.iter_mut() {
        if n.eq_ignore_ascii_case(from) {
            to.clone_into(n);
        }
    }
}

/// Values of every raw header named `name` (ASCII case-insensitive), in order.
pub(crate) fn named<'a, 'n>(
    headers: &'a [(String, Vec<u8>)],
    name: &'n str,
) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

/// The first raw header named `name`, decoded lossily.
pub(crate) fn first_lossy<'a>(
    headers: &'a [(String, Vec<u8>)],
    name: &str,
) -> Option<Cow<'a, str>> {
    named(headers, name).next().map(String::from_utf8_lossy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(name: &str, params: &[(&str, Option<&str>)]) -> ExtensionOffer {
        ExtensionOffer {
            name: name.into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
        }
    }

    #[test]
    fn tokens_trim_and_skip_empty() {
        assert_eq!(tokens(b"keep-alive, Upgrade"), ["keep-alive", "Upgrade"]);
        assert_eq!(tokens(b" ,\tUpgrade ,, "), ["Upgrade"]);
        assert!(tokens(b"").is_empty());
    }

    #[test]
    fn extensions_simple_and_params() {
        assert_eq!(
            parse_extensions("permessage-deflate; client_max_window_bits, foo").unwrap(),
            [
                ext("permessage-deflate", &[("client_max_window_bits", None)]),
                ext("foo", &[])
            ]
        );
        assert_eq!(
            parse_extensions(
                "permessage-deflate;server_max_window_bits=10 ; server_no_context_takeover"
            )
            .unwrap(),
            [ext(
                "permessage-deflate",
                &[
                    ("server_max_window_bits", Some("10")),
                    ("server_no_context_takeover", None)
                ]
            )]
        );
    }

    #[test]
    fn extensions_quoted_values() {
        assert_eq!(
            parse_extensions(r#"x; a="10"; b = "a\bc", y"#).unwrap(),
            [
                ext("x", &[("a", Some("10")), ("b", Some("abc"))]),
                ext("y", &[])
            ]
        );
        // A comma inside quotes is not a list separator, but it is not a
        // token either, so §9.1 rejects it.
        assert_eq!(
            parse_extensions(r#"x; a="1,2""#),
            Err(ExtensionError::QuotedValueNotToken {
                value: "1,2".into()
            })
        );
        assert_eq!(
            parse_extensions(r#"x; a="10"#),
            Err(ExtensionError::UnterminatedQuote { at: 5 })
        );
    }

    #[test]
    fn extensions_errors() {
        assert_eq!(parse_extensions(""), Err(ExtensionError::Empty));
        assert_eq!(parse_extensions(" , "), Err(ExtensionError::Empty));
        assert_eq!(
            parse_extensions("x;"),
            Err(ExtensionError::ExpectedToken {
                what: "parameter name",
                at: 2
            })
        );
        assert_eq!(
            parse_extensions("x; a="),
            Err(ExtensionError::ExpectedToken {
                what: "parameter value",
                at: 5
            })
        );
        assert_eq!(
            parse_extensions("x y"),
            Err(ExtensionError::Unexpected { found: b'y', at: 2 })
        );
        assert_eq!(
            parse_extensions(";a"),
            Err(ExtensionError::ExpectedToken {
                what: "extension name",
                at: 0
            })
        );
        assert!(parse_extensions("x; a=\"\u{e9}\"").is_err());
        assert_eq!(
            ExtensionError::Unexpected { found: 0, at: 3 }.to_string(),
            "unexpected byte 0x00 at offset 3"
        );
    }

    #[test]
    fn extensions_several_lines() {
        let lines: [&[u8]; 2] = [b"foo", b"bar; baz=2"];
        assert_eq!(
            parse_extension_lines(lines).unwrap(),
            parse_extensions("foo, bar; baz=2").unwrap()
        );
        let bad: [&[u8]; 2] = [b"foo", b""];
        assert_eq!(parse_extension_lines(bad), Err(ExtensionError::Empty));
    }

    #[test]
    fn editing() {
        let mut h: HeaderList = vec![
            ("A".into(), "1".into()),
            ("b".into(), "2".into()),
            ("a".into(), "3".into()),
        ];
        set(&mut h, "a", "x");
        assert_eq!(h, [("a".into(), "x".into()), ("b".into(), "2".into())]);
        set(&mut h, "C", "y");
        add(&mut h, "b", "z");
        rename(&mut h, "B", "BEE");
        assert_eq!(
            h,
            [
                ("a".to_string(), "x".to_string()),
                ("BEE".into(), "2".into()),
                ("C".into(), "y".into()),
                ("BEE".into(), "z".into())
            ]
        );
        remove(&mut h, "bee");
        assert_eq!(h.len(), 2);
    }

    #[quickcheck_macros::quickcheck]
    fn extension_parser_never_panics(s: String) -> bool {
        let _ = parse_extensions(&s);
        let _ = parse_extension_lines([s.as_bytes()]);
        true
    }
}
