//! `wsspec demo`: the suite against the embedded reference server, a self-check and a
//! demonstration in one command.

use std::sync::Arc;

use super::error::{CliError, CliResult};
use super::server::execute;
use super::{with_runtime, RunArgs};
use crate::run::{self, Target};

pub(super) fn main(mut run: RunArgs, tls: bool) -> CliResult {
    with_runtime(|| async move {
        run.select
            .known_deviations
            .get_or_insert_with(|| crate::reference::IMPLEMENTATION.to_owned());
        let (server, trust) = demo_server(tls).await.map_err(CliError::Reference)?;
        let target = Target::parse(&server.url()).expect("reference URL parses");
        eprintln!(
            "wsspec: reference server (tokio-tungstenite) listening on {}",
            server.url()
        );
        let agent = run
            .agent
            .clone()
            .unwrap_or_else(|| "tokio-tungstenite (reference)".into());
        // demo --tls trusts exactly its fresh certificate, as --ca would.
        let trust_kind = if tls {
            crate::results::TlsTrust::CaFile
        } else {
            crate::results::TlsTrust::PublicRoots
        };
        execute(
            &target,
            run,
            agent,
            (trust, trust_kind),
            crate::run::transport::Transport::Http1,
            None,
        )
        .await
    })
}

/// The reference server for `demo`, and with `--tls` the trust for its fresh certificate.
async fn demo_server(
    tls: bool,
) -> Result<
    (
        crate::reference::ReferenceServer,
        Option<Arc<rustls::ClientConfig>>,
    ),
    String,
> {
    use crate::reference::ReferenceServer;
    if !tls {
        let server = ReferenceServer::start().await.map_err(|e| e.to_string())?;
        return Ok((server, None));
    }
    let cert = run::tls::self_signed(&["127.0.0.1".into()]).map_err(|e| e.to_string())?;
    let trust = run::tls::client_config(&run::tls::Trust::Anchors(vec![cert.cert.clone()]));
    let config = run::tls::server_config(vec![cert.cert], cert.key).map_err(|e| e.to_string())?;
    let server = ReferenceServer::start_tls(config)
        .await
        .map_err(|e| e.to_string())?;
    Ok((server, Some(trust)))
}
