//! A minimal WebSocket echo client with tokio-tungstenite, as Autobahn client harnesses
//! write them: connect to the URL given, echo every text and binary message, stop when
//! the connection ends. Exit status 0 when the connection opened, 1 when it did not.
//!
//! With wsspec's client mode, one case per run:
//!
//! ```sh
//! cargo build --release --example echo_client
//! wsspec client --exec 'target/release/examples/echo_client {url}'
//! ```

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: echo_client ws://HOST:PORT/runCase?case=N&agent=NAME");
        std::process::exit(2);
    };
    let mut ws = match connect_async(url.as_str()).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            eprintln!("echo_client: connecting to {url}: {e}");
            std::process::exit(1);
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
                eprintln!("echo_client: {e}");
                break;
            }
        }
    }
}
