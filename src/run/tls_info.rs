//! What a report says about the TLS of a `wss://` run: version, cipher suite, ALPN, and the
//! server certificate's subject and issuer, read from one live connection.
//!
//! The subject and issuer come from a small DER walk over the certificate's first fields
//! (RFC 5280 §4.1: tbsCertificate = version, serial, signature, issuer, validity, subject):
//! that is all a report needs, and it spares every build a full X.509 parser.

use std::time::Duration;

use super::target::Target;
use super::transport::{self, Stream};
use crate::results::{TlsDetails, TlsTrust};

/// Connects once to `target` and describes the TLS session; None for `ws://`, or when the
/// connection fails (the reachability check before the run reports that).
pub async fn probe(
    target: &Target,
    tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
    trust: TlsTrust,
    timeout: Duration,
) -> Option<TlsDetails> {
    if !target.secure {
        return None;
    }
    let stream = transport::connect(target, tls, timeout).await.ok()?;
    let Stream::TlsClient(s) = &stream else {
        return None;
    };
    Some(describe(s.get_ref().1, trust))
}

/// The details of an established client connection.
pub fn describe(conn: &rustls::ClientConnection, trust: TlsTrust) -> TlsDetails {
    let version = version(conn.protocol_version());
    let cipher_suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_else(|| "unknown".to_owned());
    let alpn = conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let (subject, issuer) = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|leaf| names(leaf.as_ref()))
        .unwrap_or_default();
    TlsDetails {
        version,
        cipher_suite,
        alpn,
        subject,
        issuer,
        trust,
    }
}

/// The details of a connection wsspec accepted as the TLS server (client mode): the
/// negotiated session, and `leaf` (DER), the certificate wsspec presented.
pub fn describe_served(
    conn: &rustls::ServerConnection,
    leaf: Option<&[u8]>,
    trust: TlsTrust,
) -> TlsDetails {
    let (subject, issuer) = leaf.and_then(names).unwrap_or_default();
    TlsDetails {
        version: version(conn.protocol_version()),
        cipher_suite: conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_else(|| "unknown".to_owned()),
        alpn: conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        subject,
        issuer,
        trust,
    }
}

fn version(v: Option<rustls::ProtocolVersion>) -> String {
    match v {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(v) => format!("{v:?}"),
        None => "unknown".to_owned(),
    }
}

/// One DER element: (tag, contents, what follows).
fn element(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)? as usize;
    let (len, head) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for &byte in b.get(2..2 + n)? {
            len = len << 8 | byte as usize;
        }
        (len, 2 + n)
    };
    let end = head.checked_add(len)?;
    Some((tag, b.get(head..end)?, &b[end..]))
}

/// (subject, issuer) of a DER certificate, attributes in certificate order.
pub fn names(cert: &[u8]) -> Option<(String, String)> {
    let (0x30, cert, _) = element(cert)? else {
        return None;
    };
    let (0x30, tbs, _) = element(cert)? else {
        return None;
    };
    let mut rest = tbs;
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after; // explicit version
    }
    let (_, _, rest) = element(rest)?; // serialNumber
    let (_, _, rest) = element(rest)?; // signature
    let (0x30, issuer, rest) = element(rest)? else {
        return None;
    };
    let (_, _, rest) = element(rest)?; // validity
    let (0x30, subject, _) = element(rest)? else {
        return None;
    };
    Some((name(subject)?, name(issuer)?))
}

/// An X.501 Name's contents: SETs of (OID, value) pairs.
fn name(mut b: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    while !b.is_empty() {
        let (0x31, mut set, rest) = element(b)? else {
            return None;
        };
        b = rest;
        while !set.is_empty() {
            let (0x30, pair, more) = element(set)? else {
                return None;
            };
            set = more;
            let (0x06, oid, value) = element(pair)? else {
                return None;
            };
            let (tag, value, _) = element(value)?;
            parts.push(format!("{}={}", attribute(oid), string(tag, value)));
        }
    }
    Some(parts.join(", "))
}

/// The short name of an attribute type (RFC 4514 §3), or its dotted OID.
fn attribute(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".into(),
        [0x55, 0x04, 0x06] => "C".into(),
        [0x55, 0x04, 0x07] => "L".into(),
        [0x55, 0x04, 0x08] => "ST".into(),
        [0x55, 0x04, 0x0a] => "O".into(),
        [0x55, 0x04, 0x0b] => "OU".into(),
        _ => dotted(oid),
    }
}

fn dotted(oid: &[u8]) -> String {
    let Some((&first, rest)) = oid.split_first() else {
        return String::new();
    };
    let mut out = vec![(first / 40).to_string(), (first % 40).to_string()];
    let mut n: u64 = 0;
    for &b in rest {
        n = n << 7 | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            out.push(n.to_string());
            n = 0;
        }
    }
    out.join(".")
}

/// A directory string as text: UTF-8, printable, IA5 and T.61 bytes as (lossy) UTF-8,
/// BMP as UTF-16; anything else in hex.
fn string(tag: u8, v: &[u8]) -> String {
    match tag {
        0x0c | 0x13 | 0x14 | 0x16 => String::from_utf8_lossy(v).into_owned(),
        0x1e => {
            let units: Vec<u16> = v
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => v.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_and_issuer_of_a_generated_certificate() {
        let mut params = rcgen::CertificateParams::new(vec!["example.test".to_owned()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "example.test");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Ex Ample");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (subject, issuer) = names(cert.der()).unwrap();
        assert_eq!(subject, "CN=example.test, O=Ex Ample");
        // Self-signed: the issuer is the subject.
        assert_eq!(issuer, subject);
    }

    #[test]
    fn junk_is_none_not_a_panic() {
        assert_eq!(names(b""), None);
        assert_eq!(names(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(names(&[0x30, 0x03, 0x30, 0x01]), None);
        assert_eq!(
            dotted(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]),
            "1.2.840.113549"
        );
    }
}
