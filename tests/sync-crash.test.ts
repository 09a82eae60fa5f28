import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';

const script = fileURLToPath(new URL('./helpers/sync-crash-server.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'hearth-crash-'));
const dbFile = join(dir, 'hearth.db');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function startServer(): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dbFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
}

function provider(port: number, token: string, doc: Y.Doc): WebsocketProvider {
  return new WebsocketProvider(`ws://127.0.0.1:${port}/sync`, 'fam1/stream', doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: { token },
    disableBc: true,
  });
}

const synced = (p: WebsocketProvider) =>
  new Promise<void>((resolve) => (p.synced ? resolve() : p.once('sync', () => resolve())));

it('nothing another client received is lost when the server is killed with SIGKILL', async () => {
  const first = await startServer();
  const writerDoc = new Y.Doc();
  const readerDoc = new Y.Doc();
  const writer = provider(first.port, 'tok-writer', writerDoc);
  const reader = provider(first.port, 'tok-reader', readerDoc);
  await Promise.all([synced(writer), synced(reader)]);

  // Stream small updates as fast as a timer allows, several per tick.
  const items = writerDoc.getArray<number>('n');
  let next = 0;
  const stream = setInterval(() => {
    for (let i = 0; i < 20; i++) items.push([next++]);
  }, 1);
  await new Promise((r) => setTimeout(r, 700));
  const exited = new Promise((r) => first.child.once('exit', r));
  first.child.kill('SIGKILL');
  await exited;
  clearInterval(stream);
  // Whatever reached the reader's socket before the kill has been delivered by now.
  await new Promise((r) => setTimeout(r, 100));
  writer.destroy();
  reader.destroy();

  const received = readerDoc.getArray<number>("n").toArray();
  if (process.env.HEARTH_TEST_VERBOSE) console.log({ written: next, received: received.length });
  expect(received.length).toBeGreaterThan(100);
  expect(next).toBeGreaterThan(received.length - 1);

  const second = await startServer();
  const freshDoc = new Y.Doc();
  const fresh = provider(second.port, 'tok-fresh', freshDoc);
  await synced(fresh);
  const recovered = new Set(freshDoc.getArray<number>('n').toArray());
  const missing = received.filter((v) => !recovered.has(v));
  expect(missing).toEqual([]);
  // The log is an append of whole updates: what was recovered is a prefix of what was written.
  const sorted = [...recovered].sort((a, b) => a - b);
  expect(sorted).toEqual(sorted.map((_, i) => i));
  fresh.destroy();
  second.child.kill('SIGKILL');
});
