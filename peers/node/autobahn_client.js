// Autobahn client harness with Node ws, for wsspec client mode.
//
//   node peers/node/autobahn_client.js ws://127.0.0.1:9001 AGENT
//
// Asks /getCaseCount, runs every case on /runCase?case=N&agent=AGENT echoing each text
// and binary message with its type, then calls /updateReports. Every option is the ws
// default (permessage-deflate offered, as the ws client does). A case whose connection
// fails to open (as it must when wsspec answers the handshake wrongly) is not an error.
'use strict';

const WebSocket = require('ws');

/** Opens one connection, echoes until it ends; resolves with the first text message. */
function session(url, echo) {
  return new Promise((resolve) => {
    let first = null;
    const ws = new WebSocket(url);
    ws.on('message', (data, isBinary) => {
      if (first === null && !isBinary) first = data.toString();
      if (echo) ws.send(data, { binary: isBinary });
      else ws.close();
    });
    ws.on('error', (err) => console.error(`${url}: ${err.message}`));
    ws.on('close', () => resolve(first));
  });
}

async function main() {
  if (process.argv.length !== 4) {
    console.error('usage: autobahn_client.js BASE_URL AGENT');
    process.exit(2);
  }
  const base = process.argv[2].replace(/\/$/, '');
  const agent = process.argv[3];
  const count = Number(await session(`${base}/getCaseCount`, false));
  if (!Number.isInteger(count) || count < 1) {
    console.error(`getCaseCount answered ${count}`);
    process.exit(1);
  }
  for (let n = 1; n <= count; n++) {
    await session(`${base}/runCase?case=${n}&agent=${encodeURIComponent(agent)}`, true);
  }
  await session(`${base}/updateReports?agent=${encodeURIComponent(agent)}`, false);
}

main();
