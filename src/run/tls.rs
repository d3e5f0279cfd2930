//! TLS settings: which certificates wsspec trusts when it tests a `wss://` server, and
//! which certificate it presents when it plays the server for a client under test.
//!
//! Everything is built on rustls with the `ring` provider, chosen explicitly rather than
//! through rustls' process-wide default: a dependency enabling another provider must not
//! change (or break, with two providers and no default) what wsspec negotiates.
//!
//! Trust is the Mozilla root set compiled in (`webpki-roots`), not the system store: a
//! conformance run gives the same answer on a laptop, in a slim container without
//! `ca-certificates` and in CI. Servers behind a private CA or with a self-signed
//! certificate are tested with `--ca FILE`, whose certificates then are the *only* trust
//! anchors (as curl does with its CA file): a run that passes with `--ca` proves the server
//! presents a chain to that CA, not to whatever public CA happens to be trusted as well.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

/// WebSocket's opening handshake is HTTP/1.1 (RFC 6455 §4.1); offering it by ALPN lets a
/// server that multiplexes HTTP/2 on the same port pick the right protocol.
const ALPN_HTTP11: &[u8] = b"http/1.1";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{flag} {}: cannot read: {source}", path.display())]
    Read {
        flag: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{flag} {}: not a PEM file: {reason}", path.display())]
    NotPem {
        flag: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{flag} {}: no certificate in it (expected PEM blocks '-----BEGIN CERTIFICATE-----')", path.display())]
    NoCertificate { flag: &'static str, path: PathBuf },
    #[error("{flag} {}: no private key in it (expected a PEM block such as '-----BEGIN PRIVATE KEY-----')", path.display())]
    NoKey { flag: &'static str, path: PathBuf },
    #[error("--ca {}: certificate {index} cannot be a trust anchor: {reason}", path.display())]
    BadAnchor {
        path: PathBuf,
        index: usize,
        reason: String,
    },
    #[error("the certificate and key cannot be used together: {0}")]
    Server(String),
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(String),
}

/// Whom wsspec believes when a server presents its certificate.
#[derive(Debug, Clone, Default)]
pub enum Trust {
    /// The Mozilla root set (webpki-roots).
    #[default]
    PublicRoots,
    /// Exactly these anchors (`--ca`).
    Anchors(Vec<CertificateDer<'static>>),
    /// Any certificate (`--insecure`): the handshake's signatures are still checked, so the
    /// connection is real TLS, only the peer's identity is not.
    AnyCertificate,
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The client configuration for `trust`. Build it once per run: it carries the session
/// cache, so the cases after the first resume TLS sessions instead of full handshakes.
pub fn client_config(trust: &Trust) -> Arc<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3");
    let mut cfg = match trust {
        Trust::PublicRoots => builder
            .with_root_certificates(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })
            .with_no_client_auth(),
        Trust::Anchors(certs) => {
            // `ca_trust` has checked each anchor and named the bad one.
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(certs.iter().cloned());
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::AnyCertificate => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
            .with_no_client_auth(),
    };
    cfg.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    // Only active when SSLKEYLOGFILE is set: lets Wireshark decrypt what a case sent.
    cfg.key_log = Arc::new(rustls::KeyLogFile::new());
    Arc::new(cfg)
}

/// The configuration used for `wss://` when the caller gave none: public roots, built once
/// per process.
pub(crate) fn default_client_config() -> Arc<ClientConfig> {
    static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| client_config(&Trust::PublicRoots))
        .clone()
}

/// Trust built from a `--ca` file: every certificate in it becomes an anchor.
pub fn ca_trust(path: &Path) -> Result<Trust, TlsError> {
    let certs = load_certs("--ca", path)?;
    let mut roots = RootCertStore::empty();
    for (i, c) in certs.iter().enumerate() {
        roots.add(c.clone()).map_err(|e| TlsError::BadAnchor {
            path: path.to_owned(),
            index: i + 1,
            reason: e.to_string(),
        })?;
    }
    Ok(Trust::Anchors(certs))
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        flag,
        path: path.to_owned(),
        source,
    })
}

/// Every certificate of a PEM file, in order; `flag` names the option in errors.
pub fn load_certs(
    flag: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(flag, path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::NotPem {
            flag,
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            flag,
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// The first private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn load_key(flag: &'static str, path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(flag, path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoKey {
            flag,
            path: path.to_owned(),
        },
        e => TlsError::NotPem {
            flag,
            path: path.to_owned(),
            reason: e.to_string(),
        },
    })
}

/// The server configuration presenting `chain` (leaf first).
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Server(e.to_string()))?;
    cfg.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(Arc::new(cfg))
}

/// A freshly generated certificate and its key.
pub struct SelfSigned {
    /// The certificate in PEM, for the client under test to trust.
    pub cert_pem: String,
    pub cert: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
}

/// A self-signed certificate valid for `names` (DNS names, or IP addresses which become IP
/// subject alternative names).
pub fn self_signed(names: &[String]) -> Result<SelfSigned, TlsError> {
    let generated = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    let key = PrivateKeyDer::try_from(generated.signing_key.serialize_der())
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    Ok(SelfSigned {
        cert_pem: generated.cert.pem(),
        cert: generated.cert.der().clone(),
        key,
    })
}

/// `--insecure`: accepts whatever certificate the server presents.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, contents: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wsspec-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    #[test]
    fn generated_certificate_round_trips_through_pem() {
        let s = self_signed(&["localhost".into(), "127.0.0.1".into()]).unwrap();
        let p = temp("cert.pem", s.cert_pem.as_bytes());
        let certs = load_certs("--ca", &p).unwrap();
        assert_eq!(certs, vec![s.cert.clone()]);
        assert!(matches!(ca_trust(&p).unwrap(), Trust::Anchors(a) if a.len() == 1));
        server_config(vec![s.cert], s.key).unwrap();
    }

    #[test]
    fn bad_files_name_the_flag_and_the_file() {
        let missing = Path::new("/nonexistent/wsspec-ca.pem");
        let e = load_certs("--ca", missing).unwrap_err().to_string();
        assert!(
            e.starts_with("--ca /nonexistent/wsspec-ca.pem: cannot read"),
            "{e}"
        );
        let text = temp("not-pem.txt", b"hello, not a certificate\n");
        let e = load_certs("--cert", &text).unwrap_err().to_string();
        assert!(e.contains("--cert") && e.contains("no certificate"), "{e}");
        let e = load_key("--key", &text).unwrap_err().to_string();
        assert!(e.contains("--key") && e.contains("no private key"), "{e}");
        let broken = temp(
            "broken.pem",
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        );
        let e = load_certs("--ca", &broken).unwrap_err().to_string();
        assert!(e.contains("not a PEM file"), "{e}");
    }
}
