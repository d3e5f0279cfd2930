//! The compressing echo server (`wsspec::reference::echo`) at the byte level: RFC 7692
//! §7.2.3's examples through the network, its negotiation answers for a table of offers,
//! and, for each compression flaw, a raw exchange whose outcome the flaw changes.
//!
//! These tests speak to the server directly with hand-built frames, so they do not depend
//! on wsspec's client-side compression. Loopback only; every read is bounded in time.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use wsspec::codec::{DecodedFrame, Decoder, DecoderConfig, Expect, Frame, OpCode};
use wsspec::deflate::{Compressor, Decompressor};
use wsspec::handshake::{generate_key, parse_response, RequestSpec};
use wsspec::reference::echo::{EchoConfig, EchoServer, Flaws};
use wsspec::reference::permessage_deflate::DeflateConfig;
use wsspec::reference::ReferenceServer;

const TIMEOUT: Duration = Duration::from_secs(5);

/// RFC 7692 §7.2.3.1: "Hello" compressed in one block, tail removed.
const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
/// RFC 7692 §7.2.3.2: the second "Hello" with the first one in the window.
const HELLO_AGAIN: [u8; 5] = [0xf2, 0x00, 0x11, 0x00, 0x00];
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A raw client connection after the opening handshake.
struct Client {
    s: TcpStream,
    dec: Decoder,
    /// The response's Sec-WebSocket-Extensions (all lines joined), if any.
    extensions: Option<String>,
}

impl Client {
    async fn connect(addr: SocketAddr, offer: Option<&str>) -> Client {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        let mut req =
            RequestSpec::standard("127.0.0.1", addr.port(), false, "/", generate_key([7; 16]));
        if let Some(o) = offer {
            req.add("Sec-WebSocket-Extensions", o);
        }
        write(&mut s, &req.to_bytes()).await;
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        let resp = loop {
            let n = read(&mut s, &mut buf).await;
            assert!(n > 0, "the server closed during the handshake");
            head.extend_from_slice(&buf[..n]);
            if let Some(r) = parse_response(&head, 16 * 1024).expect("a valid response") {
                break r;
            }
        };
        assert_eq!(resp.status, 101, "{resp:?}");
        let lines: Vec<String> = resp
            .headers_named("Sec-WebSocket-Extensions")
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        let mut dec = Decoder::new(DecoderConfig {
            expect: Expect::Unmasked,
            max_frame_payload: 1 << 20,
            allowed_rsv: 0b111,
        });
        dec.feed(&head[resp.head_len..]);
        Client {
            s,
            dec,
            extensions: (!lines.is_empty()).then(|| lines.join(", ")),
        }
    }

    /// Sends a frame, masked as a client must.
    async fn send(&mut self, f: Frame) {
        let bytes = f.with_mask(MASK).encode().expect("encodes");
        write(&mut self.s, &bytes).await;
    }

    /// A compressed text message in one frame (RSV1 set).
    async fn send_compressed(&mut self, payload: &[u8]) {
        self.send(Frame::text(payload.to_vec()).with_rsv(0b100))
            .await;
    }

    /// The next frame from the server, or None when it closed the connection.
    async fn frame(&mut self) -> Option<DecodedFrame> {
        let mut buf = [0u8; 8192];
        loop {
            if let Some(f) = self.dec.next_frame().expect("the server's frames decode") {
                return Some(f);
            }
            let n = read(&mut self.s, &mut buf).await;
            if n == 0 {
                return None;
            }
            self.dec.feed(&buf[..n]);
        }
    }

    /// The close code the server fails or ends the connection with.
    async fn close_code(&mut self) -> Option<u16> {
        while let Some(f) = self.frame().await {
            if f.frame.opcode == OpCode::CLOSE.0 {
                let p = &f.frame.payload;
                return (p.len() >= 2).then(|| u16::from_be_bytes([p[0], p[1]]));
            }
        }
        None
    }
}

async fn write(s: &mut TcpStream, bytes: &[u8]) {
    tokio::time::timeout(TIMEOUT, s.write_all(bytes))
        .await
        .expect("write in time")
        .expect("write");
}

/// One read; 0 at the end of the stream or on a reset.
async fn read(s: &mut TcpStream, buf: &mut [u8]) -> usize {
    tokio::time::timeout(TIMEOUT, s.read(buf))
        .await
        .expect("the server answers in time")
        .unwrap_or(0)
}

async fn server(flaws: Flaws) -> EchoServer {
    EchoServer::start(flaws).await.expect("starts")
}

async fn server_with(deflate: DeflateConfig) -> EchoServer {
    EchoServer::start_with(EchoConfig {
        flaws: Flaws::default(),
        deflate,
    })
    .await
    .expect("starts")
}

/// A compressed connection to a correct server.
async fn compressed(offer: &str) -> (EchoServer, Client) {
    let srv = server(Flaws::default()).await;
    let c = Client::connect(srv.addr(), Some(offer)).await;
    assert!(c.extensions.is_some(), "{offer} is accepted");
    (srv, c)
}

/// Asserts a single-frame compressed text reply and returns its payload.
async fn compressed_reply(c: &mut Client) -> Vec<u8> {
    let f = c.frame().await.expect("a reply").frame;
    assert_eq!(f.opcode, OpCode::TEXT.0, "{f:?}");
    assert!(f.fin && f.rsv1 && !f.rsv2 && !f.rsv3, "{f:?}");
    f.payload
}

// ---- RFC 7692 §7.2.3, byte for byte ----

#[tokio::test]
async fn rfc_7692_7_2_3_1_one_block_in_one_frame() {
    let (_srv, mut c) = compressed("permessage-deflate").await;
    c.send_compressed(&HELLO).await;
    // A fresh compressor turns "Hello" into the RFC's bytes again.
    assert_eq!(compressed_reply(&mut c).await, HELLO);
}

#[tokio::test]
async fn rfc_7692_7_2_3_1_one_block_in_two_fragments() {
    let (_srv, mut c) = compressed("permessage-deflate").await;
    // 0x41 0x03 f2 48 cd, then 0x80 0x04 c9 c9 07 00: RSV1 on the first frame only.
    c.send(
        Frame::text(HELLO[..3].to_vec())
            .with_fin(false)
            .with_rsv(0b100),
    )
    .await;
    c.send(Frame::continuation(HELLO[3..].to_vec())).await;
    assert_eq!(compressed_reply(&mut c).await, HELLO);
}

#[tokio::test]
async fn rfc_7692_7_2_3_2_sliding_window_shared_both_ways() {
    let (_srv, mut c) = compressed("permessage-deflate").await;
    c.send_compressed(&HELLO).await;
    assert_eq!(compressed_reply(&mut c).await, HELLO);
    // The client's second "Hello" refers back into the first: the server kept its window.
    c.send_compressed(&HELLO_AGAIN).await;
    // And so does the server's reply, with context takeover.
    assert_eq!(compressed_reply(&mut c).await, HELLO_AGAIN);
    // An uncompressed message in between does not touch the windows (§7.2.3.2).
    c.send(Frame::text("Hello")).await;
    let mut d = Decompressor::new(15, false, 1024);
    d.decompress(&HELLO).unwrap();
    d.decompress(&HELLO_AGAIN).unwrap();
    assert_eq!(
        d.decompress(&compressed_reply(&mut c).await).unwrap(),
        b"Hello"
    );
    c.send_compressed(&HELLO_AGAIN).await;
    assert_eq!(
        d.decompress(&compressed_reply(&mut c).await).unwrap(),
        b"Hello"
    );
}

#[tokio::test]
async fn server_no_context_takeover_makes_every_reply_stand_alone() {
    let (_srv, mut c) = compressed("permessage-deflate; server_no_context_takeover").await;
    assert_eq!(
        c.extensions.as_deref(),
        Some("permessage-deflate; server_no_context_takeover")
    );
    for _ in 0..3 {
        c.send_compressed(&HELLO).await;
        assert_eq!(compressed_reply(&mut c).await, HELLO);
    }
}

#[tokio::test]
async fn client_no_context_takeover_requested_means_the_window_is_not_kept() {
    let srv = server_with(DeflateConfig {
        request_client_no_context_takeover: true,
        ..DeflateConfig::default()
    })
    .await;
    let mut c = Client::connect(srv.addr(), Some("permessage-deflate")).await;
    assert_eq!(
        c.extensions.as_deref(),
        Some("permessage-deflate; client_no_context_takeover")
    );
    c.send_compressed(&HELLO).await;
    assert_eq!(compressed_reply(&mut c).await, HELLO);
    // A client that ignores the agreed parameter refers back to a window the server
    // dropped: the data cannot be inflated.
    c.send_compressed(&HELLO_AGAIN).await;
    assert_eq!(c.close_code().await, Some(1007));
}

#[tokio::test]
async fn rfc_7692_7_2_3_3_to_6_other_block_shapes() {
    let cases: [(&str, &[u8], &[u8]); 4] = [
        (
            "§7.2.3.3 no compression",
            &[
                0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ],
            &HELLO,
        ),
        (
            "§7.2.3.4 BFINAL set",
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
            &HELLO,
        ),
        (
            "§7.2.3.5 two blocks",
            &[
                0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
            ],
            &HELLO,
        ),
        // The empty message: its reply is the lone empty stored-block header too.
        ("§7.2.3.6 empty", &[0x00], &[0x00]),
    ];
    for (what, payload, reply) in cases {
        let (_srv, mut c) = compressed("permessage-deflate").await;
        c.send_compressed(payload).await;
        assert_eq!(compressed_reply(&mut c).await, reply, "{what}");
    }
}

#[tokio::test]
async fn rfc_7692_7_2_3_6_empty_final_fragment() {
    let (_srv, mut c) = compressed("permessage-deflate").await;
    // A non-final fragment keeps its 00 00 ff ff (§7.2.1); the last one is the lone empty
    // stored-block header.
    let mut first = HELLO.to_vec();
    first.extend_from_slice(&wsspec::deflate::TAIL);
    c.send(Frame::text(first).with_fin(false).with_rsv(0b100))
        .await;
    c.send(Frame::continuation(vec![0x00])).await;
    assert_eq!(compressed_reply(&mut c).await, HELLO);
}

#[tokio::test]
async fn compressed_text_is_checked_for_utf8_after_inflation_only() {
    // HELLO itself (0xf2 0x48 ...) is not UTF-8; the text it inflates to is.
    let (_srv, mut c) = compressed("permessage-deflate").await;
    c.send_compressed(&HELLO).await;
    compressed_reply(&mut c).await;
    let (_srv, mut c) = compressed("permessage-deflate").await;
    let bad = Compressor::new(15, true).compress(b"\xce\xba\xe1\xbd\xb9\xed\xa0\x80");
    c.send_compressed(&bad).await;
    assert_eq!(c.close_code().await, Some(1007));
}

#[tokio::test]
async fn binary_and_uncompressed_messages_are_echoed_compressed() {
    let (_srv, mut c) = compressed("permessage-deflate; server_no_context_takeover").await;
    c.send(Frame::binary(b"\x00\xffbinary".to_vec())).await;
    let f = c.frame().await.expect("a reply").frame;
    assert_eq!(f.opcode, OpCode::BINARY.0);
    assert!(f.rsv1);
    let mut d = Decompressor::new(15, true, 1024);
    assert_eq!(d.decompress(&f.payload).unwrap(), b"\x00\xffbinary");
}

#[tokio::test]
async fn rsv1_where_rfc_7692_6_1_forbids_it_fails_with_1002() {
    // On a continuation frame.
    let (_srv, mut c) = compressed("permessage-deflate").await;
    c.send(
        Frame::text(HELLO[..3].to_vec())
            .with_fin(false)
            .with_rsv(0b100),
    )
    .await;
    c.send(Frame::continuation(HELLO[3..].to_vec()).with_rsv(0b100))
        .await;
    assert_eq!(c.close_code().await, Some(1002));
    // On a control frame.
    let (_srv, mut c) = compressed("permessage-deflate").await;
    c.send(Frame::ping("x").with_rsv(0b100)).await;
    assert_eq!(c.close_code().await, Some(1002));
    // RSV2 is still undefined.
    let (_srv, mut c) = compressed("permessage-deflate").await;
    c.send(Frame::text(HELLO.to_vec()).with_rsv(0b110)).await;
    assert_eq!(c.close_code().await, Some(1002));
}

#[tokio::test]
async fn corrupt_data_fails_with_1007_and_a_bomb_with_1009() {
    let (_srv, mut c) = compressed("permessage-deflate").await;
    c.send_compressed(&[0xff, 0xff, 0xff, 0xff, 0x13]).await;
    assert_eq!(c.close_code().await, Some(1007));

    // 40 MiB of zeros: some 40 KiB on the wire, over the server's 32 MiB limit inflated.
    let bomb = Compressor::new(15, true).compress(&vec![0u8; 40 << 20]);
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    let (_srv, mut c) = compressed("permessage-deflate").await;
    c.send(Frame::binary(bomb).with_rsv(0b100)).await;
    assert_eq!(c.close_code().await, Some(1009));
}

#[tokio::test]
async fn control_frames_are_never_compressed() {
    let (_srv, mut c) = compressed("permessage-deflate").await;
    c.send(Frame::ping("ping")).await;
    let f = c.frame().await.expect("a pong").frame;
    assert_eq!(
        (f.opcode, f.rsv1, f.payload.as_slice()),
        (0xa, false, &b"ping"[..])
    );
    c.send(Frame::close(Some(1000), b"")).await;
    let f = c.frame().await.expect("a close").frame;
    assert_eq!((f.opcode, f.rsv1), (0x8, false));
}

// ---- negotiation ----

#[tokio::test]
async fn negotiation_answers_for_a_table_of_offers() {
    let srv = server(Flaws::default()).await;
    let table: &[(&str, Option<&str>)] = &[
        ("permessage-deflate", Some("permessage-deflate")),
        (
            "permessage-deflate; client_max_window_bits",
            Some("permessage-deflate"),
        ),
        (
            "permessage-deflate; server_max_window_bits=8; server_no_context_takeover",
            Some("permessage-deflate; server_no_context_takeover; server_max_window_bits=8"),
        ),
        (
            "permessage-deflate; client_no_context_takeover; client_max_window_bits=9",
            Some("permessage-deflate"),
        ),
        // Invalid offers are declined ...
        ("permessage-deflate; server_max_window_bits", None),
        ("permessage-deflate; server_max_window_bits=7", None),
        ("permessage-deflate; server_max_window_bits=16", None),
        ("permessage-deflate; server_max_window_bits=08", None),
        ("permessage-deflate; client_max_window_bits=16", None),
        ("permessage-deflate; server_no_context_takeover=1", None),
        (
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            None,
        ),
        ("permessage-deflate; foo", None),
        // ... other extensions are not accepted ...
        ("x-webkit-deflate-frame", None),
        (
            "x-webkit-deflate-frame, permessage-deflate",
            Some("permessage-deflate"),
        ),
        // ... and the first acceptable offer wins, in the client's order.
        (
            "permessage-deflate; server_max_window_bits=16, \
             permessage-deflate; server_max_window_bits=10, permessage-deflate",
            Some("permessage-deflate; server_max_window_bits=10"),
        ),
        (
            "permessage-deflate, permessage-deflate; server_no_context_takeover",
            Some("permessage-deflate"),
        ),
    ];
    for (offer, want) in table {
        let c = Client::connect(srv.addr(), Some(offer)).await;
        assert_eq!(c.extensions.as_deref(), *want, "offer: {offer}");
    }
    let c = Client::connect(srv.addr(), None).await;
    assert_eq!(c.extensions, None);
}

#[tokio::test]
async fn the_server_preferences_shape_the_answer() {
    let srv = server_with(DeflateConfig {
        max_window_bits: 10,
        always_server_no_context_takeover: true,
        client_max_window_bits: Some(12),
        ..DeflateConfig::default()
    })
    .await;
    let mut c = Client::connect(
        srv.addr(),
        Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits"),
    )
    .await;
    assert_eq!(
        c.extensions.as_deref(),
        Some(
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; \
             client_max_window_bits=12"
        )
    );
    c.send_compressed(&HELLO).await;
    assert_eq!(compressed_reply(&mut c).await, HELLO);
    // Not offered: the server may not limit the client's window (§7.1.2.2).
    let c = Client::connect(srv.addr(), Some("permessage-deflate")).await;
    assert_eq!(
        c.extensions.as_deref(),
        Some("permessage-deflate; server_no_context_takeover; server_max_window_bits=10")
    );
}

#[tokio::test]
async fn a_server_without_compression_ignores_the_offer_and_refuses_rsv1() {
    let srv = server_with(DeflateConfig::disabled()).await;
    let mut c = Client::connect(srv.addr(), Some("permessage-deflate")).await;
    assert_eq!(c.extensions, None);
    c.send(Frame::text("plain")).await;
    let f = c.frame().await.expect("an echo").frame;
    assert_eq!((f.rsv1, f.payload.as_slice()), (false, &b"plain"[..]));
    c.send_compressed(&HELLO).await;
    assert_eq!(c.close_code().await, Some(1002));
}

// ---- the reference server hands compressed connections to the echo server ----

#[tokio::test]
async fn the_reference_server_compresses_when_offered_and_stays_tungstenite_otherwise() {
    let srv = ReferenceServer::start().await.unwrap();
    let mut c = Client::connect(srv.addr(), Some("permessage-deflate")).await;
    assert_eq!(c.extensions.as_deref(), Some("permessage-deflate"));
    c.send_compressed(&HELLO).await;
    assert_eq!(compressed_reply(&mut c).await, HELLO);

    let mut c = Client::connect(srv.addr(), Some("x-wsspec-unknown")).await;
    assert_eq!(c.extensions, None);
    c.send(Frame::text("plain")).await;
    let f = c.frame().await.expect("an echo").frame;
    assert_eq!((f.rsv1, f.payload.as_slice()), (false, &b"plain"[..]));
    // tungstenite, not the echo server: RSV1 fails the connection there too, with 1002.
    c.send_compressed(&HELLO).await;
    assert_eq!(c.close_code().await, Some(1002));
}

// ---- each flaw changes what the server does ----

/// What `flaws` make of one exchange, next to what a correct server makes of it.
async fn both<T, F, Fut>(flaws: Flaws, exchange: F) -> (T, T)
where
    F: Fn(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let good = server(Flaws::default()).await;
    let bad = server(flaws).await;
    (exchange(good.addr()).await, exchange(bad.addr()).await)
}

/// The frames of the reply to a compressed "Hello": (opcode, FIN, RSV1) each.
async fn reply_frames(addr: SocketAddr) -> Vec<(u8, bool, bool)> {
    let mut c = Client::connect(addr, Some("permessage-deflate")).await;
    c.send_compressed(&HELLO).await;
    let mut frames = Vec::new();
    while let Some(f) = c.frame().await {
        let f = f.frame;
        frames.push((f.opcode, f.fin, f.rsv1));
        if f.fin {
            break;
        }
    }
    frames
}

#[tokio::test]
async fn flaw_rsv1_on_continuation() {
    let (good, bad) = both(
        Flaws {
            rsv1_on_continuation: true,
            ..Flaws::default()
        },
        reply_frames,
    )
    .await;
    assert_eq!(good, [(0x1, true, true)]);
    assert_eq!(bad, [(0x1, false, true), (0x0, true, true)]);
}

#[tokio::test]
async fn flaw_accept_rsv1_on_continuation() {
    let (good, bad) = both(
        Flaws {
            accept_rsv1_on_continuation: true,
            ..Flaws::default()
        },
        |addr| async move {
            let mut c = Client::connect(addr, Some("permessage-deflate")).await;
            c.send(
                Frame::text(HELLO[..3].to_vec())
                    .with_fin(false)
                    .with_rsv(0b100),
            )
            .await;
            c.send(Frame::continuation(HELLO[3..].to_vec()).with_rsv(0b100))
                .await;
            let f = c.frame().await.expect("a frame").frame;
            (f.opcode, f.payload)
        },
    )
    .await;
    assert_eq!(good, (0x8, 1002u16.to_be_bytes().to_vec()));
    assert_eq!(bad, (0x1, HELLO.to_vec()));
}

#[tokio::test]
async fn flaw_accept_rsv1_on_control() {
    let (good, bad) = both(
        Flaws {
            accept_rsv1_on_control: true,
            ..Flaws::default()
        },
        |addr| async move {
            let mut c = Client::connect(addr, Some("permessage-deflate")).await;
            c.send(Frame::ping("x").with_rsv(0b100)).await;
            c.frame().await.expect("a frame").frame.opcode
        },
    )
    .await;
    assert_eq!((good, bad), (0x8, 0xa));
}

#[tokio::test]
async fn flaw_rsv1_on_control() {
    let (good, bad) = both(
        Flaws {
            rsv1_on_control: true,
            ..Flaws::default()
        },
        |addr| async move {
            let mut c = Client::connect(addr, Some("permessage-deflate")).await;
            c.send(Frame::ping("x")).await;
            let pong = c.frame().await.expect("a pong").frame;
            c.send(Frame::close(Some(1000), b"")).await;
            let close = c.frame().await.expect("a close").frame;
            [(pong.opcode, pong.rsv1), (close.opcode, close.rsv1)]
        },
    )
    .await;
    assert_eq!(good, [(0xa, false), (0x8, false)]);
    assert_eq!(bad, [(0xa, true), (0x8, true)]);
}

#[tokio::test]
async fn flaw_keep_context_despite_no_context_takeover() {
    let (good, bad) = both(
        Flaws {
            keep_context_despite_no_context_takeover: true,
            ..Flaws::default()
        },
        |addr| async move {
            let mut c =
                Client::connect(addr, Some("permessage-deflate; server_no_context_takeover")).await;
            assert_eq!(
                c.extensions.as_deref(),
                Some("permessage-deflate; server_no_context_takeover")
            );
            let mut replies = Vec::new();
            for _ in 0..2 {
                c.send_compressed(&HELLO).await;
                replies.push(compressed_reply(&mut c).await);
            }
            replies
        },
    )
    .await;
    assert_eq!(good, [HELLO.to_vec(), HELLO.to_vec()]);
    assert_eq!(bad, [HELLO.to_vec(), HELLO_AGAIN.to_vec()]);
    // A client that resets its window as agreed cannot inflate the second reply.
    let mut d = Decompressor::new(15, true, 1024);
    assert!(d.decompress(&bad[0]).is_ok());
    assert!(d.decompress(&bad[1]).is_err());
}

/// The server's answer to each offer.
async fn answers(addr: SocketAddr, offers: &[&str]) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for o in offers {
        out.push(Client::connect(addr, Some(o)).await.extensions);
    }
    out
}

async fn flaw_changes_answers(flaws: Flaws, offers: &[&str], flawed: &[&str]) {
    let (good, bad) = both(flaws, |addr| answers(addr, offers)).await;
    assert_eq!(good, vec![None; offers.len()], "a correct server declines");
    let want: Vec<Option<String>> = flawed.iter().map(|s| Some(s.to_string())).collect();
    assert_eq!(bad, want, "{flaws:?}");
}

#[tokio::test]
async fn flaw_accept_bad_window_bits() {
    flaw_changes_answers(
        Flaws {
            accept_bad_window_bits: true,
            ..Flaws::default()
        },
        &[
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=08",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=16",
        ],
        &[
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=08",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=16",
        ],
    )
    .await;
}

#[tokio::test]
async fn flaw_accept_unknown_params() {
    flaw_changes_answers(
        Flaws {
            accept_unknown_params: true,
            ..Flaws::default()
        },
        &[
            "permessage-deflate; foo",
            "permessage-deflate; x=1; server_no_context_takeover",
        ],
        &[
            "permessage-deflate",
            "permessage-deflate; server_no_context_takeover",
        ],
    )
    .await;
}

#[tokio::test]
async fn flaw_accept_duplicate_params() {
    flaw_changes_answers(
        Flaws {
            accept_duplicate_params: true,
            ..Flaws::default()
        },
        &[
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_max_window_bits=10; server_max_window_bits=12",
        ],
        &[
            "permessage-deflate; server_no_context_takeover",
            "permessage-deflate; server_max_window_bits=10",
        ],
    )
    .await;
}

#[tokio::test]
async fn flaw_client_max_window_bits_unoffered() {
    let (good, bad) = both(
        Flaws {
            client_max_window_bits_unoffered: true,
            ..Flaws::default()
        },
        |addr| {
            answers(
                addr,
                &[
                    "permessage-deflate",
                    "permessage-deflate; client_max_window_bits",
                ],
            )
        },
    )
    .await;
    let s = |v: &str| Some(v.to_string());
    assert_eq!(good, [s("permessage-deflate"), s("permessage-deflate")]);
    assert_eq!(
        bad,
        [
            s("permessage-deflate; client_max_window_bits=15"),
            s("permessage-deflate")
        ]
    );
}

#[tokio::test]
async fn flaw_accept_corrupt_deflate() {
    let (good, bad) = both(
        Flaws {
            accept_corrupt_deflate: true,
            ..Flaws::default()
        },
        |addr| async move {
            let mut c = Client::connect(addr, Some("permessage-deflate")).await;
            c.send_compressed(&[0xff, 0xff, 0xff, 0xff, 0x13]).await;
            c.send(Frame::ping("after")).await;
            let f = c.frame().await.expect("a frame").frame;
            // The flawed server dropped the message and carries on, window reset.
            if f.opcode == 0xa {
                c.send_compressed(&HELLO).await;
                assert_eq!(compressed_reply(&mut c).await, HELLO);
            }
            (f.opcode, f.payload)
        },
    )
    .await;
    assert_eq!(good, (0x8, 1007u16.to_be_bytes().to_vec()));
    assert_eq!(bad, (0xa, b"after".to_vec()));
}

#[tokio::test]
async fn flaw_no_utf8_check_after_inflate() {
    let invalid = b"\xce\xba\xe1\xbd\xb9\xed\xa0\x80";
    let (good, bad) = both(
        Flaws {
            no_utf8_check_after_inflate: true,
            ..Flaws::default()
        },
        |addr| async move {
            let mut c = Client::connect(addr, Some("permessage-deflate")).await;
            c.send_compressed(&Compressor::new(15, true).compress(invalid))
                .await;
            let f = c.frame().await.expect("a frame").frame;
            let payload = if f.rsv1 {
                Decompressor::new(15, false, 1024)
                    .decompress(&f.payload)
                    .unwrap()
            } else {
                f.payload
            };
            (f.opcode, payload)
        },
    )
    .await;
    assert_eq!(good, (0x8, 1007u16.to_be_bytes().to_vec()));
    assert_eq!(bad, (0x1, invalid.to_vec()));
}

/// 2 KiB of bytes with no repeats worth a back-reference, from a fixed seed.
fn noise() -> Vec<u8> {
    let mut x: u32 = 0x2545_f491;
    (0..2048)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// The size of the reply to the same 2 KiB of noise sent a second time, on a connection
/// that agreed `server_max_window_bits=9` (with context takeover).
///
/// How a client can tell: the noise has no repeats within itself, so a reply may be short
/// only by referring back 2 KiB into the previous message, which a 512-byte window cannot
/// reach. wsspec's own inflater (zlib-rs) keeps a 32 KiB window whatever it is told, and
/// inflates the flawed replies without complaint; C zlib opened with 9 window bits would
/// report "invalid distance too far back". So the size is the evidence.
async fn second_reply_len(addr: SocketAddr) -> usize {
    let mut c = Client::connect(addr, Some("permessage-deflate; server_max_window_bits=9")).await;
    assert_eq!(
        c.extensions.as_deref(),
        Some("permessage-deflate; server_max_window_bits=9")
    );
    let mut d = Decompressor::new(15, false, 1 << 20);
    let mut len = 0;
    for _ in 0..2 {
        c.send(Frame::binary(noise())).await;
        let f = c.frame().await.expect("a reply").frame;
        assert!(f.rsv1);
        assert_eq!(d.decompress(&f.payload).unwrap(), noise());
        len = f.payload.len();
    }
    len
}

#[tokio::test]
async fn flaw_ignore_server_max_window_bits() {
    let (good, bad) = both(
        Flaws {
            ignore_server_max_window_bits: true,
            ..Flaws::default()
        },
        second_reply_len,
    )
    .await;
    assert!(
        good >= 2048,
        "the correct server keeps to 9 bits: {good} bytes"
    );
    assert!(
        bad < 100,
        "the flawed server refers back 2 KiB: {bad} bytes"
    );
}
