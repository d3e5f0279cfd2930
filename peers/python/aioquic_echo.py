"""Echo server on aioquic's HTTP/3 (RFC 9114) speaking WebSockets over HTTP/3 (RFC 9220),
for `wsspec server --http3`.

    python3 peers/python/aioquic_echo.py PORT      # PORT 0: any free UDP port

Binds 127.0.0.1 (UDP) only, with a self-signed certificate for 127.0.0.1 generated at
start, and prints "LISTENING <port>" once it accepts connections. aioquic's H3Connection
advertises SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 and parses and validates the request
(a malformed one closes the connection with H3_MESSAGE_ERROR, aioquic's choice); this app
is the part aioquic leaves to applications, written the way aioquic's own example server
(examples/http3_server.py) does it: an extended CONNECT with `:protocol websocket` and
Sec-WebSocket-Version 13 is answered 200, anything else 400, and the stream's bytes go to
wsproto, which frames, validates UTF-8 and answers pings and closes. Text and binary
messages are sent back whole; subprotocol "chat" is chosen when offered; permessage-deflate
is wsproto's own when offered. The stream ends (FIN) after the closing handshake.
"""

import asyncio
import datetime
import ipaddress
import os
import sys
import tempfile

from aioquic.asyncio import QuicConnectionProtocol, serve
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ProtocolNegotiated, StreamReset
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate

MAX_MESSAGE = 16 * 1024 * 1024 + 1024


def self_signed(directory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(directory, "cert.pem")
    key_path = os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path


class WebSocket:
    """One WebSocket on one request stream."""

    def __init__(self, http, stream_id, extensions):
        self.http = http
        self.stream_id = stream_id
        self.ws = Connection(ConnectionType.SERVER, extensions=extensions)
        self.parts = []
        self.size = 0
        self.ended = False

    def send(self, event, end=False):
        data = self.ws.send(event)
        self.http.send_data(self.stream_id, data, end_stream=end)
        if end:
            self.ended = True

    def received(self, data, stream_ended):
        if self.ended:
            return
        self.ws.receive_data(data if data else None if stream_ended else b"")
        for event in self.ws.events():
            if isinstance(event, Message):
                self.parts.append(event.data)
                self.size += len(event.data)
                if self.size > MAX_MESSAGE:
                    self.send(CloseConnection(code=1009), end=True)
                    return
                if event.message_finished:
                    if isinstance(event, TextMessage):
                        whole = TextMessage(data="".join(self.parts))
                    else:
                        whole = BytesMessage(data=b"".join(self.parts))
                    self.parts, self.size = [], 0
                    self.send(whole)
            elif isinstance(event, Ping):
                self.send(event.response())
            elif isinstance(event, CloseConnection):
                if self.ws.state == ConnectionState.REMOTE_CLOSING:
                    self.send(event.response(), end=True)
                else:
                    self.http.send_data(self.stream_id, b"", end_stream=True)
                    self.ended = True
                return
        if stream_ended and not self.ended:
            self.http.send_data(self.stream_id, b"", end_stream=True)
            self.ended = True


class EchoProtocol(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.http = None
        self.sockets = {}

    def quic_event_received(self, event):
        if isinstance(event, ProtocolNegotiated) and event.alpn_protocol in H3_ALPN:
            self.http = H3Connection(self._quic)
        if isinstance(event, StreamReset):
            self.sockets.pop(event.stream_id, None)
        if self.http is None:
            return
        for h3_event in self.http.handle_event(event):
            self.http_event(h3_event)
        self.transmit()

    def http_event(self, event):
        if isinstance(event, HeadersReceived) and event.stream_id not in self.sockets:
            self.request(event)
        elif isinstance(event, DataReceived) and event.stream_id in self.sockets:
            self.sockets[event.stream_id].received(event.data, event.stream_ended)

    def request(self, event):
        headers = {}
        for name, value in event.headers:
            headers.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
        first = lambda n: headers.get(n, [None])[0]  # noqa: E731
        if (
            first(":method") != "CONNECT"
            or first(":protocol") != "websocket"
            or first("sec-websocket-version") != "13"
        ):
            self.http.send_headers(
                event.stream_id,
                [(b":status", b"400"), (b"sec-websocket-version", b"13")],
                end_stream=True,
            )
            return
        response = [(b":status", b"200")]
        offered = [
            p.strip()
            for v in headers.get("sec-websocket-protocol", [])
            for p in v.split(",")
        ]
        if "chat" in offered:
            response.append((b"sec-websocket-protocol", b"chat"))
        extensions = []
        for offer in (
            o.strip() for v in headers.get("sec-websocket-extensions", []) for o in v.split(",")
        ):
            if offer.split(";")[0].strip() == "permessage-deflate" and not extensions:
                pmd = PerMessageDeflate()
                accepted = pmd.accept(offer)
                if accepted is not None:
                    value = "permessage-deflate"
                    if isinstance(accepted, str) and accepted:
                        value = f"{value}; {accepted}"
                    response.append((b"sec-websocket-extensions", value.encode()))
                    extensions.append(pmd)
        self.http.send_headers(event.stream_id, response)
        socket = WebSocket(self.http, event.stream_id, extensions)
        self.sockets[event.stream_id] = socket
        if event.stream_ended:
            socket.received(b"", True)


async def main(port):
    directory = tempfile.mkdtemp(prefix="aioquic-echo-")
    cert, key = self_signed(directory)
    config = QuicConfiguration(
        is_client=False,
        alpn_protocols=H3_ALPN,
        max_datagram_frame_size=65536,
        idle_timeout=60.0,
    )
    config.load_cert_chain(cert, key)
    server = await serve("127.0.0.1", port, configuration=config, create_protocol=EchoProtocol)
    bound = server._transport.get_extra_info("sockname")[1]
    print(f"LISTENING {bound}", flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
