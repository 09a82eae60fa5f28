// Client side of scripts/ci-binary.sh: logs in over HTTP and does a Yjs sync round
// trip through the single executable with the stock y-websocket client. Runs on the
// build machine's Node (the server under test is the binary, which has no Node).
//
//   node packaging/ci-sync-check.mjs --url http://127.0.0.1:PORT --family ID \
//        --username NAME --password PW [--expect TEXT]
//
// Without --expect: two devices edit one document and each must see the other's
// edit. With --expect: a fresh device must find TEXT already in the document
// (after a server restart: the update was durable). Prints one JSON line.
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
for (const k of ['url', 'family', 'username', 'password']) {
  if (!args[k]) {
    console.error(`ci-sync-check: --${k} is required`);
    process.exit(2);
  }
}
const room = `${args.family}/ci/roundtrip`;
const wsUrl = `${args.url.replace(/^http/, 'ws')}/sync`;
const deadline = (ms, what) =>
  new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms).unref());

async function login(deviceName) {
  const res = await fetch(`${args.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ familyId: args.family, username: args.username, password: args.password, deviceName }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`login ${res.status}: ${JSON.stringify(body)}`);
  return body.accessToken;
}

function connect(token) {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(wsUrl, room, doc, { params: { token }, WebSocketPolyfill: WebSocket });
  const synced = new Promise((resolve) => {
    if (provider.synced) resolve();
    else provider.once('sync', (s) => s && resolve());
  });
  return { doc, provider, synced };
}

function until(doc, predicate) {
  return new Promise((resolve) => {
    if (predicate()) return resolve();
    const check = () => {
      if (predicate()) {
        doc.off('update', check);
        resolve();
      }
    };
    doc.on('update', check);
  });
}

const t0 = performance.now();
const clients = [];
try {
  if (args.expect) {
    const c = connect(await login('ci checker'));
    clients.push(c);
    await Promise.race([c.synced, deadline(10_000, 'sync')]);
    const text = c.doc.getText('t').toString();
    if (text !== args.expect) throw new Error(`expected "${args.expect}" after restart, found "${text}"`);
  } else {
    const a = connect(await login('ci device A'));
    const b = connect(await login('ci device B'));
    clients.push(a, b);
    await Promise.race([Promise.all([a.synced, b.synced]), deadline(10_000, 'initial sync')]);
    a.doc.getText('t').insert(0, 'hello from the binary');
    await Promise.race([until(b.doc, () => b.doc.getText('t').toString() === 'hello from the binary'), deadline(10_000, 'A -> B')]);
    b.doc.getMap('m').set('answer', 42);
    await Promise.race([until(a.doc, () => a.doc.getMap('m').get('answer') === 42), deadline(10_000, 'B -> A')]);
  }
  console.log(JSON.stringify({ ok: true, mode: args.expect ? 'durable' : 'round-trip', ms: Math.round(performance.now() - t0) }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: err.message }));
  process.exitCode = 1;
} finally {
  for (const c of clients) c.provider.destroy();
  setTimeout(() => process.exit(), 100).unref();
}
