//! A hostile peer on loopback: its status line, headers, frames and close reason carry
//! markup, NUL, ANSI escapes, CDATA ends and invalid UTF-8. Whatever of it reaches the
//! results must come out inert in every report format.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wsspec::report::{html, junit, markdown, Format};

const EVIL: &[u8] = b"<script>alert(1)</script></textarea>\"'&\x00]]>\x1b[31m\xff\xfe|`";

fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => f.push(n as u8),
        n if n < 65536 => {
            f.push(126);
            f.extend((n as u16).to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend((n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(payload);
    f
}

async fn serve(listener: TcpListener, count: Arc<AtomicUsize>) {
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            return;
        };
        let n = count.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 65536 {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(k) => req.extend_from_slice(&buf[..k]),
                }
            }
            let text = String::from_utf8_lossy(&req);
            let key = text
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("sec-websocket-key")
                        .then(|| v.trim().to_owned())
                })
                .unwrap_or_default();
            let mut resp = Vec::new();
            if n % 3 == 2 {
                // A status line httparse rejects, with the hostile bytes in it.
                resp.extend_from_slice(b"HTTP/1.1 101 ");
                resp.extend_from_slice(EVIL);
                resp.extend_from_slice(b"\r\n\r\n");
            } else {
                resp.extend_from_slice(b"HTTP/1.1 101 <script>alert(1)</script> \"'&\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
                resp.extend_from_slice(
                    format!(
                        "Sec-WebSocket-Accept: {}\r\n",
                        wsspec::handshake::accept_key(&key)
                    )
                    .as_bytes(),
                );
                resp.extend_from_slice(
                    b"Sec-WebSocket-Protocol: </textarea>]]><img src=x onerror=alert(1)>\r\n",
                );
                if n % 3 == 1 {
                    // A header value httparse rejects.
                    resp.extend_from_slice(b"X-Evil: \x1b[2J<script>alert(1)</script>\r\n");
                }
                resp.extend_from_slice(b"X-Markup: <script>alert(1)</script>\r\n\r\n");
                resp.extend(frame(1, EVIL));
                resp.extend(frame(2, EVIL));
                resp.extend(frame(1, &b"<script>alert(1)</script>".repeat(8000)));
                resp.extend(frame(10, EVIL));
                let mut close = 1000u16.to_be_bytes().to_vec();
                close.extend_from_slice(EVIL);
                resp.extend(frame(8, &close));
            }
            let _ = s.write_all(&resp).await;
            let _ = tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peer_output_is_inert_in_every_format() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let server = tokio::spawn(serve(listener, count.clone()));

    let suite = wsspec::Suite::builtin()
        .unwrap()
        .select(&["handshake", "control"], &[])
        .unwrap();
    let mut cfg = wsspec::run::RunConfig {
        agent: "hostile <script>alert(1)</script>".into(),
        ..Default::default()
    };
    cfg.session.step_timeout = Duration::from_millis(300);
    let r = suite.test_server(&url, &cfg).await.unwrap();
    server.abort();
    assert!(count.load(Ordering::Relaxed) > 0);
    assert!(r.totals.fail > 0, "a hostile peer fails cases");

    // The peer's strings did reach the results (else this test proves nothing).
    let all = serde_json::to_string(&r).unwrap();
    assert!(
        all.contains("<script>alert(1)</script>"),
        "hostile text recorded"
    );
    let observed = |needle: &str| {
        r.cases
            .iter()
            .any(|c| c.checks.iter().any(|k| k.observed.contains(needle)))
    };
    assert!(
        observed("</textarea>]]><img"),
        "hostile subprotocol reached `observed`"
    );
    assert!(
        observed("101 <script>alert(1)</script> \"'&"),
        "hostile reason phrase too"
    );

    let page = html::render(&r, None);
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only wsspec's own script"
    );
    for bad in [
        "<script>alert",
        "</textarea>",
        "<img",
        "\0",
        "\x1b",
        "]]>",
        "\"'&",
    ] {
        assert!(!page.contains(bad), "HTML contains raw {bad:?}");
    }
    for c in &r.cases {
        assert!(page.contains(&format!("id=\"case-{}\"", c.id)));
    }
    assert!(page.contains("&lt;/textarea&gt;]]&gt;&lt;img src=x onerror=alert(1)&gt;"));

    let xml = junit::render(&r, None);
    roxmltree::Document::parse(&xml).expect("junit.xml parses");
    assert!(!xml.contains('\0') && !xml.contains('\x1b') && !xml.contains("<script"));

    let md = markdown::render(&r, None);
    assert!(!md.contains("<script") && !md.contains('\0') && !md.contains('\x1b'));

    for f in Format::ALL {
        let n = f.render(&r, None).len();
        assert!(n < 20 << 20, "{f:?} {n} bytes");
    }
}

#[tokio::test]
#[ignore]
async fn dump_hostile_run() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(serve(listener, Arc::new(AtomicUsize::new(0))));
    let suite = wsspec::Suite::builtin()
        .unwrap()
        .select(&["handshake", "control"], &[])
        .unwrap();
    let mut cfg = wsspec::run::RunConfig::default();
    cfg.session.step_timeout = Duration::from_millis(300);
    let r = suite.test_server(&url, &cfg).await.unwrap();
    server.abort();
    let dir = std::env::var("WSSPEC_SAMPLES").unwrap_or_else(|_| "/tmp/hostile-peer".into());
    wsspec::report::write_all(std::path::Path::new(&dir), &r).unwrap();
}
