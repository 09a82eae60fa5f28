// The synchronous write slice of a reindex (search/store.ts putDoc: content row plus FTS5
// indexes, one transaction) after one typed word, in CPU time (process.cpuUsage), so a
// busy machine's preemption does not count: what an indexing slice costs the event loop.
// usage: npm run build && sh scripts/node.sh bench/search-slices.mjs [dist=dist] [writes=3000]
// 10,000 documents of 1-8 paragraphs of 120 words (words of node_modules/typescript/README.md,
// seeded), about 10 KB each like the bench's typed-into notes; one word is prepended to one
// of 8 documents per write, as someone typing. WAL checkpoints off, as with the server's
// checkpointer thread. Run with dist pointing at an older build to compare schemas.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const dist = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '..', 'dist'));
const WRITES = Number(process.argv[3] ?? 3000);
const { openStorage } = await import(path.join(dist, 'storage/database.js'));
const { DocumentStore } = await import(path.join(dist, 'storage/document-store.js'));
const { SearchStore } = await import(path.join(dist, 'search/store.js'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-slices-'));
const storage = openStorage(path.join(dir, 'hearth.db'));
storage.sqlite.pragma('wal_autocheckpoint = 0');
storage.sqlite.prepare('INSERT INTO families (id, name, created_at) VALUES (?, ?, ?)').run('f', 'f', 1);
const docs = new DocumentStore(storage);
const store = new SearchStore(storage.sqlite);
// putDoc gained a trigram-lines argument in migration 11; older builds take the version fifth.
const put = store.putDoc.length >= 6 ? (name, text) => store.putDoc('f', name, 't', text, '', { updatedAt: 1, version: '2' }) : (name, text) => store.putDoc('f', name, 't', text, { updatedAt: 1, version: '2' });
const words = fs.readFileSync(path.join(import.meta.dirname, '..', 'node_modules/typescript/README.md'), 'utf8').split(/\s+/).filter(Boolean);
let seed = 1;
const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const word = () => words[Math.floor(rnd() * words.length)];
const para = () => Array.from({ length: 120 }, word).join(' ');
const texts = [];
for (let i = 0; i < 10_000; i++) {
  docs.ensure('f', `n${i}`);
  texts.push(Array.from({ length: 1 + Math.floor(rnd() * 8) }, para).join('\n'));
  put(`n${i}`, texts[i]);
}
const cpu = [];
for (let k = 0; k < WRITES; k++) {
  const i = Math.floor(rnd() * 8);
  texts[i] = `${word()} ${texts[i]}`;
  const c = process.cpuUsage();
  put(`n${i}`, texts[i]);
  const d = process.cpuUsage(c);
  cpu.push((d.user + d.system) / 1000);
}
cpu.sort((a, b) => a - b);
const q = (p) => +cpu[Math.floor(p * cpu.length)].toFixed(3);
const bytes = storage.sqlite.prepare(`SELECT sum(pgsize) AS b FROM dbstat WHERE name LIKE 'search_%'`).get().b;
storage.close();
fs.rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ dist, writes: WRITES, docKB: +(texts.slice(0, 8).reduce((n, t) => n + t.length, 0) / 8 / 1024).toFixed(1), writeSliceCpuMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: +cpu.at(-1).toFixed(1), over1ms: cpu.filter((x) => x > 1).length }, searchMB: +(bytes / 2 ** 20).toFixed(1) }));
