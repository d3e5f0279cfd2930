//! Making untrusted peer bytes safe to show: lossy UTF-8, control characters escaped,
//! length bounded. Every string a peer controls passes through here before any report.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bounds() {
        assert_eq!(bounded_lossy(b"ok", 10), "ok");
        assert_eq!(bounded_lossy(b"a\x00\x1b[2J", 10), "a\\u{0}\\u{1b}[2J");
        assert_eq!(bounded_lossy(&[0xff, b'x'], 10), "\u{fffd}x");
        let long = vec![b'a'; 10_000];
        let s = bounded_lossy(&long, 5);
        assert!(s.starts_with("aaaaa…(10000 bytes)"), "{s}");
    }
}
