//! Servers to measure `wsspec fuzz` against: the reference echo server, each of its legal
//! variants (behaviours RFC 6455 allows, which must give no finding), and a plain
//! tokio-tungstenite echo server as a widely used implementation would be written.
//!
//! ```sh
//! cargo run --release --example fuzz_targets -- drop-tcp    # prints its URL
//! wsspec fuzz URL --seed 1 --iterations 2000
//! ```
//!
//! Variants: reference, drop-tcp, close-1011, http10-505, version-8, pong-before-failing,
//! no-error-response, tungstenite, demo (the reference `wsspec demo` runs against); and
//! with a real defect each: accept-unmasked,
//! ignore-reserved-opcodes, accept-any-version, accept-http-1-0.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use wsspec::reference::echo::{EchoServer, Flaws};

fn flaws(name: &str) -> Option<Flaws> {
    let d = Flaws::default();
    Some(match name {
        "reference" => d,
        "drop-tcp" => Flaws {
            fail_by_dropping_tcp: true,
            ..d
        },
        "close-1011" => Flaws {
            fail_with_1011: true,
            ..d
        },
        "http10-505" => Flaws {
            refuse_http_1_0_with_505: true,
            ..d
        },
        "version-8" => Flaws {
            accept_version_8: true,
            ..d
        },
        "pong-before-failing" => Flaws {
            pong_before_failing: true,
            ..d
        },
        "no-error-response" => Flaws {
            no_error_response: true,
            ..d
        },
        // Real defects, for the planted side of the measurement.
        "accept-unmasked" => Flaws {
            accept_unmasked: true,
            ..d
        },
        "ignore-reserved-opcodes" => Flaws {
            ignore_reserved_opcodes: true,
            ..d
        },
        "accept-any-version" => Flaws {
            accept_any_version: true,
            ..d
        },
        "accept-http-1-0" => Flaws {
            accept_http_1_0: true,
            ..d
        },
        _ => return None,
    })
}

/// Echoes text and binary messages; tungstenite answers pings and closes itself.
async fn tungstenite() {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("the port is free");
    println!("ws://{}/", listener.local_addr().unwrap());
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            while let Some(Ok(msg)) = ws.next().await {
                if matches!(msg, Message::Text(_) | Message::Binary(_))
                    && ws.send(msg).await.is_err()
                {
                    break;
                }
            }
        });
    }
}

#[tokio::main]
async fn main() {
    let name = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "reference".into());
    if name == "tungstenite" {
        return tungstenite().await;
    }
    if name == "demo" {
        // The server `wsspec demo` runs the suite against (tokio-tungstenite with a front).
        let server = wsspec::reference::ReferenceServer::start()
            .await
            .expect("the server starts");
        println!("{}", server.url());
        return std::future::pending::<()>().await;
    }
    let Some(flaws) = flaws(&name) else {
        eprintln!("fuzz_targets: unknown variant {name:?}");
        std::process::exit(2);
    };
    let server = EchoServer::start(flaws).await.expect("the server starts");
    println!("{}", server.url());
    std::future::pending::<()>().await;
}
