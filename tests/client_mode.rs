//! Client mode end to end: wsspec plays the server behind the Autobahn client URL
//! protocol; harness clients written with tokio-tungstenite (correct) and with raw tokio
//! plus wsspec's codec (deliberately broken) drive it. Everything runs on 127.0.0.1.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use wsspec::case::{Case, Grade, Role};
use wsspec::serve::{order_cases, ClientConfig, ClientServer};

fn client_cases() -> Vec<Case> {
    order_cases(
        wsspec::Suite::builtin()
            .unwrap()
            .cases()
            .iter()
            .filter(|c| c.role.applies_to(Role::Client))
            .cloned()
            .collect(),
    )
}

async fn start(cases: Vec<Case>, step_ms: u64) -> ClientServer {
    let mut cfg = ClientConfig::default();
    cfg.session.step_timeout = Duration::from_millis(step_ms);
    ClientServer::bind("127.0.0.1:0", cases, cfg).await.unwrap()
}

/// Autobahn's harness loop, as the tungstenite examples write it: count, then one
/// connection per case echoing every data message, then updateReports.
async fn tungstenite_harness(base: &str, agent: &str) {
    let (mut ws, _) = connect_async(format!("{base}/getCaseCount")).await.unwrap();
    let count: usize = match ws.next().await {
        Some(Ok(Message::Text(t))) => t.parse().unwrap(),
        other => panic!("getCaseCount answered {other:?}"),
    };
    let _ = ws.close(None).await;
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        let Ok((mut ws, _)) = connect_async(url).await else {
            continue;
        };
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                    if ws.send(m).await.is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    let (mut ws, _) = connect_async(format!("{base}/updateReports?agent={agent}"))
        .await
        .unwrap();
    let _ = ws.close(None).await;
}

fn failing(server: &ClientServer, agent: &str) -> BTreeSet<String> {
    let r = server.results(agent).expect("results");
    r.cases
        .iter()
        .filter(|c| c.verdict == Grade::Fail)
        .map(|c| c.id.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tungstenite_client_passes() {
    let cases = client_cases();
    let n = cases.len();
    let server = start(cases, 1000).await;
    tokio::time::timeout(
        Duration::from_secs(120),
        tungstenite_harness(&server.url(), "tokio-tungstenite"),
    )
    .await
    .expect("the harness finished in time");
    let r = server.results("tokio-tungstenite").unwrap();
    assert_eq!(r.cases.len(), n);
    for c in &r.cases {
        if c.verdict != Grade::Pass {
            eprintln!("{} {:?}: {:?}", c.id, c.verdict, c.reasons);
        }
    }
    let fails = failing(&server, "tokio-tungstenite");
    let expected: BTreeSet<String> =
        ["handshake.client.response.extension.unrequested".to_owned()].into();
    assert_eq!(fails, expected);
}
