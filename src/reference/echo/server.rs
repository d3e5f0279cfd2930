//! The echo server as a listener of its own: a test fixture (feature `testing`). The product
//! serves single connections through the reference server's front door instead.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::{serve_connection, EchoConfig, Flaws};

/// A running echo server on 127.0.0.1; it stops, with all its connections, when dropped.
/// Each connection is cut off after [`CONN_TIMEOUT`](super::CONN_TIMEOUT).
pub struct EchoServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl EchoServer {
    /// A server with these flaws and the default compression preferences (accepts every
    /// valid permessage-deflate offer).
    pub async fn start(flaws: Flaws) -> std::io::Result<EchoServer> {
        EchoServer::start_with(EchoConfig {
            flaws,
            ..EchoConfig::default()
        })
        .await
    }

    pub async fn start_with(cfg: EchoConfig) -> std::io::Result<EchoServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            // Dropping the set (when this task is aborted) aborts every connection task.
            let mut conns = JoinSet::new();
            loop {
                while conns.try_join_next().is_some() {}
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                conns.spawn(serve_connection(stream, Vec::new(), cfg));
            }
        });
        Ok(EchoServer { addr, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
