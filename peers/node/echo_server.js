// Echo server with Node ws, as its users ship it, for wsspec server mode.
//
//   node peers/node/echo_server.js PORT      // PORT 0: any free port
//
// Binds 127.0.0.1 only and prints "LISTENING <port>" once it accepts connections. Every
// text and binary message is sent back with its type; every option is the ws default
// (no permessage-deflate on the server, maxPayload 100 MiB): wsspec judges ws as users
// run it. Needs ws on NODE_PATH (peers/install, peers/run sets it).
'use strict';

const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
if (process.argv.length !== 3 || !Number.isInteger(port)) {
  console.error('usage: echo_server.js PORT');
  process.exit(2);
}

const wss = new WebSocketServer({ host: '127.0.0.1', port });
wss.on('listening', () => console.log(`LISTENING ${wss.address().port}`));
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  // A connection ws fails (bad frame, bad UTF-8) emits 'error'; without a listener the
  // process would exit, which is not what a server in use does.
  ws.on('error', () => {});
});
