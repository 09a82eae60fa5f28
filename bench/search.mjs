// Search over 10,000 documents: query p50/p99, index size on disk, indexing cost per
// update against the commit path, and broadcast p99 with indexing on vs off, same run.
// usage: npm run build && sh scripts/node.sh bench/search.mjs [docs=10000] [queries=1000]
//
// Text: the README.md files of the packages in node_modules (English prose about software,
// markdown and code blocks stripped), cut into paragraphs; each document is 1-8 paragraphs
// drawn at random (seeded), so word frequencies are those of real writing, not uniform.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { openStorage } from '../dist/storage/database.js';
import { startWalCheckpointer } from '../dist/storage/wal-checkpointer.js';
import { createSyncService } from '../dist/sync/index.js';
import { createSearchService } from '../dist/search/service.js';

const DOCS = Number(process.argv[2] ?? 10_000);
const QUERIES = Number(process.argv[3] ?? 1000);
const root = path.resolve(import.meta.dirname, '..');

// Seeded PRNG (mulberry32): the same corpus and queries every run.
let seed = 42;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (a) => a[Math.floor(rnd() * a.length)];

function corpus() {
  const files = [];
  const nm = path.join(root, 'node_modules');
  for (const d of fs.readdirSync(nm)) {
    const dirs = d.startsWith('@') ? fs.readdirSync(path.join(nm, d)).map((x) => path.join(d, x)) : [d];
    for (const x of dirs) {
      const f = path.join(nm, x, 'README.md');
      if (fs.existsSync(f)) files.push(f);
    }
  }
  const paras = [];
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8').replace(/```[\s\S]*?```/g, '').replace(/<[^>]+>/g, ' ').replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[#*_`>|]/g, ' ');
    for (const p of text.split(/\n\s*\n/)) {
      const t = p.replace(/\s+/g, ' ').trim();
      if (t.length > 60 && /[a-z]{3,}/.test(t)) paras.push(t);
    }
  }
  return { files: files.length, paras };
}

const percentile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const ms = (x) => +x.toFixed(3);

const { files, paras } = corpus();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-search-'));
const storage = openStorage(path.join(dir, 'hearth.db'));
// As in the real server: checkpoints off the event loop (else every commit may pay one).
const checkpointer = startWalCheckpointer(storage.sqlite);
const FAMILY = 'fam-bench';
storage.sqlite.prepare('INSERT INTO families (id, name, created_at) VALUES (?, ?, ?)').run(FAMILY, 'Bench', Date.now());
const logger = pino({ level: 'silent' });
const sync = createSyncService({
  storage,
  logger,
  authenticate: async (_req, token) => (token ? { familyId: FAMILY, memberId: `m-${token}`, deviceId: `d-${token}`, role: 'adult' } : null),
  familyExists: (id) => id === FAMILY,
});
const docs = sync.docs;

// 1. 10,000 documents, written through ServerDocs (the durable commit path), indexed as they come.
const search = createSearchService({ sqlite: storage.sqlite, docs, debounceMs: 250 });
await search.start();
let textBytes = 0;
const tLoad = performance.now();
for (let i = 0; i < DOCS; i++) {
  const n = 1 + Math.floor(rnd() * 8);
  const body = Array.from({ length: n }, () => pick(paras)).join('\n');
  textBytes += Buffer.byteLength(body);
  await docs.transact(FAMILY, `notes/n${i}`, (d) => d.getText('body').insert(0, body));
  if (i % 500 === 499) await search.flush();
}
await search.flush();
const loadS = (performance.now() - tLoad) / 1000;

// 2. Index size: pages of the search tables (content + both FTS5 indexes) against the documents'.
const sizes = storage.sqlite.prepare(`SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name`).all();
const sum = (pred) => sizes.filter((r) => pred(r.name)).reduce((n, r) => n + r.bytes, 0);
const searchBytes = sum((n) => n.startsWith('search_'));
const wordsBytes = sum((n) => n.startsWith('search_words'));
const triBytes = sum((n) => n.startsWith('search_tri'));
const contentBytes = sum((n) => n === 'search_entries' || n.startsWith('search_entries_'));
const docBytes = sum((n) => n.startsWith('document'));

// 3. Query latency: word frequency as written: one common word, one rare word, two words, a phrase, a prefix.
const words = paras.join(' ').toLowerCase().match(/[a-z]{4,}/g);
const freq = new Map();
for (const w of words) freq.set(w, (freq.get(w) ?? 0) + 1);
const byFreq = [...freq.entries()].sort((a, b) => b[1] - a[1]).map(([w]) => w);
const common = byFreq.slice(0, 200);
const rare = byFreq.slice(2000, 6000);
const queries = [];
for (let i = 0; i < QUERIES; i++) {
  const kind = i % 5;
  if (kind === 0) queries.push(pick(common));
  else if (kind === 1) queries.push(pick(rare));
  else if (kind === 2) queries.push(`${pick(common)} ${pick(rare)}`);
  else if (kind === 3) {
    const p = pick(paras).split(' ');
    const at = Math.floor(rnd() * Math.max(1, p.length - 2));
    queries.push(`"${p.slice(at, at + 2).join(' ').replace(/"/g, '')}"`);
  } else queries.push(`${pick(rare).slice(0, 4)}*`);
}
const asker = { memberId: 'm-reader' };
const canRead = () => true;
let hits = 0;
const qTimes = [];
for (const q of queries) {
  const t = performance.now();
  try {
    hits += search.search(FAMILY, asker, q, { limit: 20, canRead }).results.length;
  } catch {
    /* a phrase of punctuation: a 422, not timed */
    continue;
  }
  qTimes.push(performance.now() - t);
}

// 4. Indexing cost per update vs the commit path: one word typed into a document of typical size.
const commitTimes = [];
const indexTimes = [];
for (let i = 0; i < 500; i++) {
  const name = `notes/n${Math.floor(rnd() * DOCS)}`;
  let t = performance.now();
  await docs.transact(FAMILY, name, (d) => d.getText('body').insert(0, `${pick(rare)} `));
  commitTimes.push(performance.now() - t);
  t = performance.now();
  await search.indexDoc(FAMILY, name);
  indexTimes.push(performance.now() - t);
}
await search.flush();
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

// 5. Broadcast latency with indexing on vs off, alternating phases in this one process and database.
const server = http.createServer((_q, r) => r.writeHead(404).end());
server.on('upgrade', (req, socket, head) => sync.handleUpgrade(req, socket, head));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `ws://127.0.0.1:${server.address().port}/sync`;
const ROOMS = 8;
const READERS = 3;
const clients = [];
const connect = async (room, token) => {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(url, `${FAMILY}/${room}`, doc, { params: { token }, WebSocketPolyfill: WebSocket, disableBc: true });
  await new Promise((r) => provider.once('sync', r));
  clients.push(provider);
  return doc;
};
const rooms = [];
for (let r = 0; r < ROOMS; r++) {
  const room = `notes/n${r}`;
  const writer = await connect(room, `w${r}`);
  const readers = [];
  for (let k = 0; k < READERS; k++) readers.push(await connect(room, `r${r}-${k}`));
  rooms.push({ writer, readers });
}
let phaseLat = [];
for (const { readers } of rooms) {
  for (const rd of readers) {
    rd.getMap('stamp').observe((e) => {
      if (e.transaction.local) return;
      for (const key of e.keysChanged) phaseLat.push(performance.now() - rd.getMap('stamp').get(key));
    });
  }
}
// One search service for all phases, its catch-up done before them; "off" phases drop the
// commit notifications before they reach it (what HEARTH_SEARCH_INDEXING=false does).
let indexingOn = false;
const gated = { read: (f, d, fn) => docs.read(f, d, fn), commitPending: () => docs.commitPending(), onCommitted: (l) => docs.onCommitted((f, d) => indexingOn && l(f, d)) };
const liveSearch = createSearchService({ sqlite: storage.sqlite, docs: gated, debounceMs: 250 });
await liveSearch.start();
let commitsOn = 0;
let reindexOn = 0;
let reindexMsOn = 0;
let slicesOn = 0;
let slicesOver1MsOn = 0;
const phase = async (indexing, seconds) => {
  indexingOn = indexing;
  const before = liveSearch.stats();
  phaseLat = [];
  const end = performance.now() + seconds * 1000;
  let seq = 0;
  // Every writer types a word (into the indexed text) and a timestamp every 25 ms: 40 keystrokes/s per room.
  while (performance.now() < end) {
    for (const { writer } of rooms) {
      writer.transact(() => {
        writer.getText('body').insert(0, `${pick(rare)} `);
        writer.getMap('stamp').set(`k${seq++ % 50}`, performance.now());
      });
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  await new Promise((r) => setTimeout(r, 300));
  const lat = phaseLat;
  await liveSearch.flush();
  indexingOn = false;
  if (indexing) {
    const st = liveSearch.stats();
    commitsOn += seq;
    reindexOn += st.indexed - before.indexed;
    reindexMsOn += st.indexMs - before.indexMs;
    slicesOn += st.slices - before.slices;
    slicesOver1MsOn += st.slicesOver1Ms - before.slicesOver1Ms;
  }
  return lat;
};
// Three phases per round, rotated so none always follows the same one: off, on and a second
// off ("offB"). off vs offB is the A/A comparison: how far two identical phases differ, i.e.
// the noise band the on/off ratio must be judged against.
const on = [];
const off = [];
const offB = [];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
await search.close();
const order = [
  [off, false],
  [on, true],
  [offB, false],
];
const PHASE_S = Number(process.env.BENCH_PHASE_S ?? 3);
// Per round, each phase's p99: the machine's load drifts (other work on the box), and a
// ratio taken within one round compares phases seconds apart.
const roundP99 = { off: [], offB: [], on: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < order.length; k++) {
    const [into, indexing] = order[(round + k) % order.length];
    const lat = await phase(indexing, PHASE_S);
    into.push(...lat);
    roundP99[into === on ? 'on' : into === off ? 'off' : 'offB'].push(percentile(lat, 0.99));
  }
}
const median = (xs) => percentile(xs, 0.5);
const roundRatios = (a, b) => roundP99[a].map((x, i) => x / roundP99[b][i]);
await liveSearch.close();
for (const c of clients) c.destroy();
server.closeAllConnections?.();
await new Promise((r) => server.close(r));
await sync.close();
await checkpointer.stop();
storage.close();
const dbFile = fs.statSync(path.join(dir, 'hearth.db')).size;
fs.rmSync(dir, { recursive: true, force: true });

const out = {
  corpus: { readmes: files, paragraphs: paras.length, docs: DOCS, textMB: +(textBytes / 2 ** 20).toFixed(1), loadAndIndexS: +loadS.toFixed(1) },
  query: { n: qTimes.length, p50Ms: ms(percentile(qTimes, 0.5)), p99Ms: ms(percentile(qTimes, 0.99)), maxMs: ms(Math.max(...qTimes)), meanHits: +(hits / qTimes.length).toFixed(1) },
  size: {
    searchMB: +(searchBytes / 2 ** 20).toFixed(1),
    contentMB: +(contentBytes / 2 ** 20).toFixed(1),
    wordsIndexMB: +(wordsBytes / 2 ** 20).toFixed(1),
    trigramIndexMB: +(triBytes / 2 ** 20).toFixed(1),
    documentsMB: +(docBytes / 2 ** 20).toFixed(1),
    dbFileMB: +(dbFile / 2 ** 20).toFixed(1),
  },
  perUpdate: {
    commitMeanMs: ms(mean(commitTimes)),
    indexMeanMs: ms(mean(indexTimes)),
    indexP99Ms: ms(percentile(indexTimes, 0.99)),
    indexShareOfCommit: +(mean(indexTimes) / mean(commitTimes)).toFixed(2),
    note: 'one reindex per debounce window (250 ms) per document, however many commits fell in it',
    whileTyping: {
      commits: commitsOn,
      reindexes: reindexOn,
      indexMsPerCommit: ms(reindexMsOn / commitsOn),
      amortizedShareOfCommit: +(reindexMsOn / commitsOn / mean(commitTimes)).toFixed(2),
      // Synchronous stretches of indexing on the event loop (extraction, then the row write).
      slices: slicesOn,
      slicesOver1Ms: slicesOver1MsOn,
      maxSliceMs: ms(liveSearch.stats().maxSliceMs),
    },
  },
  broadcast: {
    rooms: ROOMS,
    readersPerRoom: READERS,
    keystrokesPerSecondPerRoom: 40,
    off: { n: off.length, p50Ms: ms(percentile(off, 0.5)), p99Ms: ms(percentile(off, 0.99)) },
    offB: { n: offB.length, p50Ms: ms(percentile(offB, 0.5)), p99Ms: ms(percentile(offB, 0.99)) },
    on: { n: on.length, p50Ms: ms(percentile(on, 0.5)), p99Ms: ms(percentile(on, 0.99)) },
    p99RatioAA: +(percentile(offB, 0.99) / percentile(off, 0.99)).toFixed(2),
    p99RatioOnOff: +(percentile(on, 0.99) / percentile(off, 0.99)).toFixed(2),
    p99RatioOnOffB: +(percentile(on, 0.99) / percentile(offB, 0.99)).toFixed(2),
    p99RatioOnVsBothOff: +(percentile(on, 0.99) / percentile([...off, ...offB], 0.99)).toFixed(2),
    rounds: ROUNDS,
    phaseS: PHASE_S,
    medianOfRoundP99Ratios: {
      aa: +median(roundRatios('offB', 'off')).toFixed(2),
      onOff: +median(roundRatios('on', 'off')).toFixed(2),
      onOffB: +median(roundRatios('on', 'offB')).toFixed(2),
    },
  },
};
console.log(JSON.stringify(out, null, 2));
process.exit(0); // y-websocket keeps timers alive after destroy
