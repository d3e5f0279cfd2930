//! What the client-mode tests share: the built-in client cases in run order, and
//! Autobahn's harness loop driven by tokio-tungstenite (which offers no compression).

#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use wsspec::case::{Case, Role};
use wsspec::client_mode::order_cases;

/// The built-in cases that apply to a client, in the order client mode runs them.
pub fn client_cases() -> Vec<Case> {
    order_cases(
        wsspec::Suite::builtin()
            .unwrap()
            .cases()
            .iter()
            // What a default run selects: the opt-in volume family is 216 cases of 1000
            // messages each, selected only by name.
            .filter(|c| c.role.applies_to(Role::Client) && !c.opt_in)
            .cloned()
            .collect(),
    )
}

/// Autobahn's harness loop, as the tungstenite examples write it: count, then one
/// connection per case echoing every data message, then updateReports.
pub async fn tungstenite_harness(base: &str, agent: &str) {
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
