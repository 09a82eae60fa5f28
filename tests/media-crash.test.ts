import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { tempDir } from './helpers/hearth.js';
import { partialUpload, uploadRaw } from './helpers/media.js';

const script = fileURLToPath(new URL('./helpers/media-crash-server.mjs', import.meta.url));
const dataDir = tempDir('hearth-media-crash-');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function start(): Promise<{ child: ChildProcess; url: string; familyId: string; token: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\S+) (\S+) (\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, familyId: m[2]!, token: m[3]! });
    });
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
}

const kill = async (child: ChildProcess) => {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
};

/** Every row has its file with the right bytes; no temp file is left. */
function checkConsistent() {
  const db = new Database(path.join(dataDir, 'hearth.db'), { readonly: true });
  const rows = db.prepare('SELECT family_id, sha256, size FROM media WHERE deleted_at IS NULL').all() as { family_id: string; sha256: string; size: number }[];
  db.close();
  for (const r of rows) {
    const file = path.join(dataDir, 'media', r.family_id, r.sha256.slice(0, 2), r.sha256);
    const bytes = fs.readFileSync(file);
    expect(bytes.length).toBe(r.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(r.sha256);
  }
  return rows;
}

it('kill -9 during uploads leaves a consistent store after restart', async () => {
  const first = await start();
  // Acknowledged uploads before the kill...
  const acked: string[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await uploadRaw(first.url, first.familyId, first.token, Buffer.alloc(200_000 + i, i + 1), `f${i}.bin`);
    expect(res.status).toBe(201);
    acked.push(res.body.sha256);
  }
  // ...one half-sent, and a burst of uploads in flight at the moment of the kill.
  const partial = partialUpload(first.url, first.familyId, first.token, 8_000_000, 3_000_000);
  const burst = Array.from({ length: 3 }, (_, i) => uploadRaw(first.url, first.familyId, first.token, Buffer.alloc(1_500_000, 100 + i), `b${i}`).catch(() => null));
  const tmp = path.join(dataDir, 'tmp', 'media');
  const deadline = Date.now() + 5000;
  while (fs.readdirSync(tmp).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await kill(first.child);
  partial.abort();
  await Promise.all(burst);
  expect(fs.readdirSync(tmp).length).toBeGreaterThan(0); // the crash left temp files behind

  const second = await start();
  expect(fs.readdirSync(tmp)).toEqual([]); // removed at start
  const rows = checkConsistent();
  for (const sha of acked) expect(rows.map((r) => r.sha256)).toContain(sha);
  // The store works on: same bytes dedupe to the acknowledged record, new ones go in.
  const again = await uploadRaw(second.url, second.familyId, second.token, Buffer.alloc(200_000, 1), 'again');
  expect(again.status).toBe(200);
  expect((await uploadRaw(second.url, second.familyId, second.token, Buffer.alloc(300_000, 42), 'new')).status).toBe(201);
  checkConsistent();
  await kill(second.child);
}, 30_000);
