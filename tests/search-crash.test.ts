import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { openStorage } from '../storage/database.js';
import { createSearchService } from '../search/service.js';
import { offlineDocs } from '../search/offline-docs.js';
import { stockClient } from './helpers/stock-client.js';

// The real thing: a word typed with the stock client, committed, and the server killed
// with SIGKILL inside the debounce window. The next start indexes it.

const script = fileURLToPath(new URL('./helpers/search-crash-server.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'hearth-search-crash-'));
const dbFile = join(dir, 'hearth.db');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function startServer(debounceMs: number, until: RegExp): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dbFile, String(debounceMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m && until.test(out)) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
}

const kill = (c: ChildProcess) => new Promise<void>((r) => (c.once('exit', () => r()), c.kill('SIGKILL')));

function found(q: string): string[] {
  const s = openStorage(dbFile);
  try {
    const search = createSearchService({ sqlite: s.sqlite, docs: offlineDocs(s), indexing: false });
    return search.search('fam1', { memberId: 'w' }, q, { limit: 10, canRead: () => true }).results.map((r) => r.doc ?? '');
  } finally {
    s.close();
  }
}

function isCommitted(): boolean {
  const s = openStorage(dbFile);
  try {
    const row = s.sqlite.prepare(`SELECT count(*) AS n FROM documents WHERE family_id = 'fam1' AND name = 'notes/crash'`).get() as { n: number };
    return row.n > 0;
  } finally {
    s.close();
  }
}

it('a document committed just before a kill -9 is indexed at the next start', async () => {
  // A minute of debounce: the word is committed but never indexed before the kill.
  const first = await startServer(60_000, /CAUGHT_UP/);
  const { doc, provider: p, synced } = stockClient(`http://127.0.0.1:${first.port}`, 'fam1/notes/crash', 'tok-writer');
  await synced;
  doc.getText('t').insert(0, 'the spare key is under the geranium pot');
  const t0 = Date.now();
  while (!isCommitted() && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
  expect(isCommitted()).toBe(true);
  await kill(first.child);
  p.destroy();
  expect(found('geranium')).toEqual([]);

  const second = await startServer(250, /CAUGHT_UP/);
  expect(found('geranium')).toEqual(['notes/crash']);
  await kill(second.child);
});
