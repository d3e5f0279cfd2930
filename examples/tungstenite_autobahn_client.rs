//! A plain tokio-tungstenite client driven by Autobahn's client harness protocol, for
//! wsspec client mode: `/getCaseCount`, then one connection per case on
//! `/runCase?case=N&agent=AGENT` echoing every text and binary message, then
//! `/updateReports?agent=AGENT`. tungstenite's default configuration throughout.
//!
//! ```sh
//! wsspec client --listen 127.0.0.1:9001 --exit-when-done &
//! cargo run --release --example tungstenite_autobahn_client -- ws://127.0.0.1:9001 my-agent
//! ```
//!
//! A case whose connection does not open (as it must not when wsspec answers the
//! handshake wrongly) is not an error of the harness: the case judges it.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

/// Why the harness itself could not go on (a case's failure is never one).
#[derive(Debug)]
enum HarnessError {
    /// A harness call (`getCaseCount`, `updateReports`) could not connect.
    Connect(String, tokio_tungstenite::tungstenite::Error),
    /// `getCaseCount` did not answer with a number.
    CaseCount(String),
}

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HarnessError::Connect(url, e) => write!(f, "connecting to {url}: {e}"),
            HarnessError::CaseCount(answer) => write!(f, "getCaseCount answered {answer}"),
        }
    }
}

async fn harness(base: &str, agent: &str) -> Result<(), HarnessError> {
    let url = format!("{base}/getCaseCount");
    let (mut ws, _) = connect_async(url.as_str())
        .await
        .map_err(|e| HarnessError::Connect(url, e))?;
    let count: usize = match ws.next().await {
        Some(Ok(Message::Text(t))) => t
            .parse()
            .map_err(|_| HarnessError::CaseCount(t.to_string()))?,
        other => return Err(HarnessError::CaseCount(format!("{other:?}"))),
    };
    let _ = ws.close(None).await;
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        let mut ws = match connect_async(url.as_str()).await {
            Ok((ws, _)) => ws,
            Err(e) => {
                eprintln!("{url}: {e}");
                continue;
            }
        };
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                    if ws.send(m).await.is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("{url}: {e}");
                    break;
                }
            }
        }
    }
    let url = format!("{base}/updateReports?agent={agent}");
    let (mut ws, _) = connect_async(url.as_str())
        .await
        .map_err(|e| HarnessError::Connect(url, e))?;
    let _ = ws.close(None).await;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, agent] = args.as_slice() else {
        eprintln!("usage: tungstenite_autobahn_client BASE_URL AGENT");
        std::process::exit(2);
    };
    if let Err(e) = harness(base.trim_end_matches('/'), agent).await {
        eprintln!("tungstenite_autobahn_client: {e}");
        std::process::exit(1);
    }
}
