//! A plain tokio-tungstenite echo server, as its users write one: `accept_async` and echo
//! every text and binary message, with tungstenite's default configuration and nothing
//! in front of it. wsspec's `demo` server has a front that answers some bad requests
//! itself; this one lets tungstenite answer everything, so `peers/` judges the library.
//!
//! ```sh
//! cargo run --release --example tungstenite_echo_server -- 0   # prints LISTENING <port>
//! ```
//!
//! Binds 127.0.0.1 only. Port 0 picks a free port; the line `LISTENING <port>` on stdout
//! says which, once connections are accepted.

use futures_util::{SinkExt, StreamExt};
use std::io::Write;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::accept_async;
use tokio_tungstenite::tungstenite::Message;

async fn echo(stream: TcpStream) {
    let mut ws = match accept_async(stream).await {
        Ok(ws) => ws,
        Err(e) => {
            // tungstenite refused the handshake (and closed without a response): say why
            // in the peer's log, where the driver keeps it.
            eprintln!("tungstenite_echo_server: handshake: {e}");
            return;
        }
    };
    while let Some(Ok(msg)) = ws.next().await {
        if matches!(msg, Message::Text(_) | Message::Binary(_)) && ws.send(msg).await.is_err() {
            return;
        }
    }
}

#[tokio::main]
async fn main() {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        Some(Ok(p)) => p,
        _ => {
            eprintln!("usage: tungstenite_echo_server PORT");
            std::process::exit(2);
        }
    };
    let listener = match TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("tungstenite_echo_server: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let bound = listener.local_addr().map(|a| a.port()).unwrap_or(port);
    println!("LISTENING {bound}");
    let _ = std::io::stdout().flush();
    loop {
        if let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(echo(stream));
        }
    }
}
