//! Making bytes readable: untrusted peer bytes as safe text (lossy UTF-8, control
//! characters escaped, length bounded) and bytes as hex. Every string a peer controls passes
//! through here before any report.
//!
//! It sits below everything else (it imports nothing from the crate), so that the protocol
//! pieces, the judge and the transcript can describe bytes without reaching into `report`.

/// `bytes` as lowercase hex digits, two a byte, no separators: the form case files and
/// transcripts store.
///
/// Written out rather than with `format!` per byte: every transcript entry and every
/// fuzzer case file goes through here, and the formatting machinery was half of the
/// network fuzzer's time.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    s
}

/// At most `max` characters of `bytes` as text: invalid UTF-8 becomes U+FFFD, control
/// characters (NUL, ESC, CR, LF, ...) become `\u{..}` escapes so they cannot rewrite a
/// terminal or break a line-based format, and a cut is marked with "…(N bytes)".
pub fn bounded_lossy(bytes: &[u8], max: usize) -> String {
    let head = &bytes[..bytes.len().min(max.saturating_mul(4))];
    let text = String::from_utf8_lossy(head);
    let mut out = String::with_capacity(text.len().min(max * 2));
    let mut cut = false;
    for (count, c) in text.chars().enumerate() {
        if count >= max {
            cut = true;
            break;
        }
        if c.is_control() {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    if cut || head.len() < bytes.len() {
        out.push_str(&format!("…({} bytes)", bytes.len()));
    }
    out
}

/// At most `max` characters of an untrusted string, safe for every report format: control
/// characters other than newline and tab (NUL, ESC, DEL, C1) and the non-characters U+FFFE and
/// U+FFFF (invalid in XML 1.0) become visible `\u{..}` escapes, and a cut is marked with
/// "…(N more characters)". Markup escaping is left to each format.
pub fn clean(s: &str, max: usize) -> String {
    clean_impl(s, max, false)
}

/// As [`clean`], for one line: newlines and tabs are escaped as well.
pub fn clean_line(s: &str, max: usize) -> String {
    clean_impl(s, max, true)
}

fn clean_impl(s: &str, max: usize, one_line: bool) -> String {
    let mut out = String::with_capacity(s.len().min(max.saturating_mul(2)));
    for (count, (at, c)) in s.char_indices().enumerate() {
        if count == max {
            let left = s[at..].chars().count();
            out.push_str(&format!("…({left} more characters)"));
            return out;
        }
        let keep = match c {
            '\n' | '\t' => !one_line,
            '\u{fffe}' | '\u{ffff}' => false,
            c => !c.is_control(),
        };
        if keep {
            out.push(c);
        } else {
            out.push_str(&c.escape_unicode().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_two_lowercase_digits_a_byte() {
        assert_eq!(hex(b""), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
    }

    #[test]
    fn escapes_controls_and_bounds() {
        assert_eq!(bounded_lossy(b"ok", 10), "ok");
        assert_eq!(bounded_lossy(b"a\x00\x1b[2J", 10), "a\\u{0}\\u{1b}[2J");
        assert_eq!(bounded_lossy(&[0xff, b'x'], 10), "\u{fffd}x");
        let long = vec![b'a'; 10_000];
        let s = bounded_lossy(&long, 5);
        assert!(s.starts_with("aaaaa…(10000 bytes)"), "{s}");
    }

    #[test]
    fn clean_keeps_text_and_escapes_controls() {
        assert_eq!(clean("a\nb\tc", 10), "a\nb\tc");
        assert_eq!(clean_line("a\nb", 10), "a\\u{a}b");
        assert_eq!(
            clean("\0\x1b[31m\u{fffe}", 20),
            "\\u{0}\\u{1b}[31m\\u{fffe}"
        );
        assert_eq!(clean("héllo wörld", 5), "héllo…(6 more characters)");
        assert_eq!(clean("abc", 3), "abc");
    }
}
