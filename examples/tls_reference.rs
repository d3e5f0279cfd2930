//! The reference server (tokio-tungstenite) over TLS, with a certificate generated for
//! 127.0.0.1 and localhost: a wss:// peer to try `wsspec server` against, and to compare
//! a run over TLS with one over plain TCP.
//!
//! ```sh
//! cargo run --release --example tls_reference -- /tmp/ref-cert.pem
//! # prints: wss://127.0.0.1:PORT/ and ws://127.0.0.1:PORT/
//! wsspec server wss://127.0.0.1:PORT/ --ca /tmp/ref-cert.pem --known-deviations tokio-tungstenite
//! ```

use wsspec::reference::ReferenceServer;
use wsspec::run::tls;

#[tokio::main]
async fn main() {
    let Some(pem_path) = std::env::args().nth(1) else {
        eprintln!("usage: tls_reference CERT.pem (where the generated certificate is written)");
        std::process::exit(2);
    };
    let cert = tls::self_signed(&["127.0.0.1".into(), "localhost".into()])
        .expect("a certificate can be generated");
    if let Err(e) = std::fs::write(&pem_path, &cert.cert_pem) {
        eprintln!("tls_reference: cannot write {pem_path}: {e}");
        std::process::exit(2);
    }
    let config = tls::server_config(vec![cert.cert], cert.key).expect("the pair matches");
    let secure = ReferenceServer::start_tls(config)
        .await
        .expect("bind 127.0.0.1");
    let plain = ReferenceServer::start().await.expect("bind 127.0.0.1");
    println!("{}", secure.url());
    println!("{}", plain.url());
    let _ = tokio::signal::ctrl_c().await;
}
