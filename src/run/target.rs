//! The peer's address, parsed from a `ws://` or `wss://` URL.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub secure: bool,
    /// Host as written, without brackets for IPv6.
    pub host: String,
    pub port: u16,
    /// Path and query, at least "/".
    pub resource: String,
    url: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("URL {url:?}: {message}")]
pub struct TargetError {
    pub url: String,
    pub message: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, TargetError> {
        let err = |m: &str| TargetError {
            url: url.to_owned(),
            message: m.to_owned(),
        };
        // Schemes are case-insensitive (RFC 3986 §3.1): WS://host is ws://host.
        let lower_prefix = |p: &str| {
            url.get(..p.len())
                .filter(|s| s.eq_ignore_ascii_case(p))
                .map(|_| &url[p.len()..])
        };
        let (secure, rest) = if let Some(r) = lower_prefix("ws://") {
            (false, r)
        } else if let Some(r) = lower_prefix("wss://") {
            (true, r)
        } else {
            return Err(err("the scheme must be ws:// or wss://"));
        };
        if url.contains('#') {
            return Err(err("a WebSocket URL has no fragment (RFC 6455 §3)"));
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, resource) = rest.split_at(split);
        if authority.contains('@') {
            return Err(err(
                "credentials in the URL are not supported; use --header 'Authorization: ...'",
            ));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6
                .find(']')
                .ok_or_else(|| err("unclosed '[' in the host"))?;
            let host = &v6[..end];
            let after = &v6[end + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(err("unexpected text after the IPv6 address")),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(err("the host is empty"));
        }
        let default = if secure { 443 } else { 80 };
        let port = match port {
            None => default,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| err("the port must be a number 1-65535"))?,
        };
        let resource = if resource.is_empty() {
            "/".to_owned()
        } else if resource.starts_with('?') {
            format!("/{resource}")
        } else {
            resource.to_owned()
        };
        if resource.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(err("the path contains spaces or control characters"));
        }
        Ok(Target {
            secure,
            host: host.to_owned(),
            port,
            resource,
            url: url.to_owned(),
        })
    }

    pub fn default_port(&self) -> bool {
        self.port == if self.secure { 443 } else { 80 }
    }

    /// `host:port` for connecting (IPv6 in brackets).
    pub fn socket_addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The host as it appears in a Host header: IPv6 in brackets.
    pub fn host_bracketed(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// The value of the Host header (RFC 6455 §4.1 item 4): the port only when not default.
    pub fn host_header(&self) -> String {
        let h = self.host_bracketed();
        if self.default_port() {
            h
        } else {
            format!("{h}:{}", self.port)
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_case_insensitive_and_ports_not_empty() {
        let t = Target::parse("WS://Example.org:9001/x").expect("WS:// parses");
        assert!(!t.secure);
        assert_eq!((t.host.as_str(), t.port), ("Example.org", 9001));
        assert!(Target::parse("wSs://h/").expect("wSs:// parses").secure);
        assert!(Target::parse("ws://h:/").is_err());
        assert!(Target::parse("ws://[::1]:/").is_err());
        assert!(Target::parse("w://h/").is_err());
    }

    #[test]
    fn parses_common_forms() {
        let t = Target::parse("ws://127.0.0.1:9001/chat?x=1").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.resource.as_str()),
            ("127.0.0.1", 9001, "/chat?x=1")
        );
        assert_eq!(t.host_header(), "127.0.0.1:9001");
        let t = Target::parse("wss://example.org").unwrap();
        assert_eq!((t.port, t.resource.as_str(), t.secure), (443, "/", true));
        assert_eq!(t.host_header(), "example.org");
        let t = Target::parse("ws://[::1]:8080?q").unwrap();
        assert_eq!((t.host.as_str(), t.resource.as_str()), ("::1", "/?q"));
        assert_eq!(t.socket_addr(), "[::1]:8080");
    }

    #[test]
    fn rejects_bad_urls_naming_the_problem() {
        for (u, m) in [
            ("http://x/", "scheme"),
            ("ws://x/#f", "fragment"),
            ("ws://:80/", "host"),
            ("ws://x:0/", "port"),
            ("ws://x:99999/", "port"),
            ("ws://u:p@x/", "credentials"),
            ("ws://x/a b", "spaces"),
        ] {
            let e = Target::parse(u).unwrap_err();
            assert!(e.message.contains(m), "{u}: {e}");
            assert!(e.to_string().contains(u));
        }
    }
}
