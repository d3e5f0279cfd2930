// WebSocket echo over HTTP/2 (RFC 8441) on Node's built-in `http2`, for wsspec server mode
// with --http2.
//
//   node peers/node/h2_echo_server.js PORT     // PORT 0: any free port
//
// Binds 127.0.0.1 only (cleartext HTTP/2 with prior knowledge, h2c) and prints
// "LISTENING <port>" once it accepts connections. Needs nothing but Node (>= 18.14, for
// buffer.isUtf8).
//
// What is Node's here and what is ours. Node (nghttp2 underneath) does the HTTP/2 side:
// the SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 it advertises (`settings.enableConnectProtocol`),
// the validation of the extended CONNECT's pseudo-headers (a malformed request is a stream
// error before this code sees it), flow control, END_STREAM and RST_STREAM. That is what a
// run of this target tests for real: the bootstrapping cases (h2.*) and the stream closure.
//
// The RFC 6455 frame echo below is NOT a real implementation anyone ships: Node has no
// WebSocket server codec, and `ws` cannot run over an HTTP/2 stream. It is written for
// this harness, small and strict, so that the rest of the suite can run over Node's
// streams at all. Its verdicts on the framing, UTF-8 and close cases measure this file,
// not Node. It:
//   - accepts `:protocol websocket` with Sec-WebSocket-Version 13 (200, no subprotocol,
//     no extension: permessage-deflate offers are declined by not answering them);
//     refuses another :protocol (400), a missing version (400), another version (426 with
//     Sec-WebSocket-Version: 13) and any other request (404);
//   - unmasks client frames and echoes each text or binary message whole once its last
//     fragment arrives (no streaming: a message is held in memory up to 64 MiB; above
//     that it closes with 1009);
//   - answers a ping with a pong of the same payload at once, ignores pongs;
//   - answers a close frame with a close frame carrying the same code (none for none),
//     then ends the stream (END_STREAM): the server closes first (RFC 6455 §7.1.1);
//   - fails the connection on a protocol error (unmasked frame, reserved bits or
//     opcodes, bad control frame, bad fragmentation, bad close payload, 64-bit length
//     with its high bit set): close frame 1002, then END_STREAM, reading nothing more;
//     on invalid UTF-8 in a text message or close reason: 1007, checked as each whole
//     fragment arrives (fail fast per frame, not per byte of a frame still arriving);
// It does not implement: permessage-deflate or any extension, subprotocols, minimal-length
// checks, pings of its own, idle timeouts.
'use strict';

const http2 = require('http2');
const { isUtf8 } = require('buffer');

const MAX_MESSAGE = 64 * 1024 * 1024;

const port = Number(process.argv[2]);
if (process.argv.length !== 3 || !Number.isInteger(port)) {
  console.error('usage: h2_echo_server.js PORT');
  process.exit(2);
}

// A close code a client may send (RFC 6455 §7.4.1, §7.4.2, the IANA registry).
function validCloseCode(code) {
  return (
    (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
  );
}

function frame(opcode, payload) {
  const len = payload.length;
  let head;
  if (len < 126) {
    head = Buffer.from([0x80 | opcode, len]);
  } else if (len < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

function closePayload(code) {
  if (code === undefined) return Buffer.alloc(0);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code, 0);
  return b;
}

// One WebSocket on one HTTP/2 stream.
function serve(stream) {
  let buf = Buffer.alloc(0);
  let message = null; // { opcode, parts: [], size }
  let done = false; // close sent: read nothing more

  const send = (opcode, payload) => {
    if (!stream.destroyed && !stream.writableEnded) stream.write(frame(opcode, payload));
  };
  const close = (code) => {
    if (done) return;
    done = true;
    send(0x8, closePayload(code));
    stream.end(); // END_STREAM: the HTTP/2 form of closing TCP (RFC 8441 §5)
  };

  const onFrame = (fin, opcode, payload) => {
    if (opcode >= 0x8) {
      if (opcode === 0x9) return send(0xa, payload);
      if (opcode === 0xa) return undefined;
      // Close.
      if (payload.length === 0) return close(undefined);
      if (payload.length === 1) return close(1002);
      const code = payload.readUInt16BE(0);
      if (!validCloseCode(code)) return close(1002);
      if (!isUtf8(payload.subarray(2))) return close(1007);
      return close(code);
    }
    if (opcode === 0x0) {
      if (message === null) return close(1002);
    } else {
      if (message !== null) return close(1002);
      // A text message is checked fragment by fragment: the streaming decoder throws at
      // the first byte that cannot begin or continue a valid sequence (§8.1 fail fast).
      const utf8 = opcode === 0x1 ? new TextDecoder('utf-8', { fatal: true }) : null;
      message = { opcode, parts: [], size: 0, utf8 };
    }
    message.size += payload.length;
    if (message.size > MAX_MESSAGE) return close(1009);
    if (message.utf8) {
      try {
        message.utf8.decode(payload, { stream: !fin });
      } catch (e) {
        return close(1007);
      }
    }
    message.parts.push(payload);
    if (!fin) return undefined;
    const whole = Buffer.concat(message.parts);
    const op = message.opcode;
    message = null;
    return send(op, whole);
  };

  // Parses as many whole frames as `buf` holds; returns false once the connection failed.
  const parse = () => {
    while (!done && buf.length >= 2) {
      const b0 = buf[0];
      const b1 = buf[1];
      const fin = (b0 & 0x80) !== 0;
      const rsv = b0 & 0x70;
      const opcode = b0 & 0x0f;
      const masked = (b1 & 0x80) !== 0;
      let len = b1 & 0x7f;
      let at = 2;
      if (rsv !== 0) return close(1002); // no extension agreed (§5.2)
      if ((opcode > 0x2 && opcode < 0x8) || opcode > 0xa) return close(1002);
      if (!masked) return close(1002); // a client MUST mask (§5.1)
      if (opcode >= 0x8 && (!fin || len > 125)) return close(1002); // §5.5
      if (len === 126) {
        if (buf.length < 4) return undefined;
        len = buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buf.length < 10) return undefined;
        const big = buf.readBigUInt64BE(2);
        if (big >> 63n) return close(1002); // §5.2: the most significant bit MUST be 0
        if (big > BigInt(MAX_MESSAGE)) return close(1009);
        len = Number(big);
        at = 10;
      }
      if (opcode < 0x8 && (message ? message.size : 0) + len > MAX_MESSAGE) return close(1009);
      if (buf.length < at + 4 + len) return undefined;
      const key = buf.subarray(at, at + 4);
      const payload = Buffer.from(buf.subarray(at + 4, at + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
      buf = buf.subarray(at + 4 + len);
      onFrame(fin, opcode, payload);
    }
    return undefined;
  };

  stream.on('data', (chunk) => {
    if (done) return;
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    parse();
  });
  // The client ended its side (END_STREAM) without a closing handshake: end ours too.
  stream.on('end', () => {
    if (!stream.writableEnded) stream.end();
  });
}

const server = http2.createServer({ settings: { enableConnectProtocol: true } });
// A stream reset by the client, or a connection that dies, must not end the process.
server.on('sessionError', () => {});
server.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  const refuse = (status, extra) => {
    stream.respond({ ':status': status, ...extra }, { endStream: true });
  };
  if (headers[':method'] !== 'CONNECT') return refuse(404);
  if (headers[':protocol'] !== 'websocket') return refuse(400); // no such tunnel here (RFC 8441 §4)
  const version = headers['sec-websocket-version'];
  if (version === undefined) return refuse(400); // RFC 6455 §4.2.1
  if (version !== '13') return refuse(426, { 'sec-websocket-version': '13' }); // §4.4
  stream.respond({ ':status': 200 });
  return serve(stream);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
