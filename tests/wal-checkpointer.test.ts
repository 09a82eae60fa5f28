import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStorage } from '../storage/database.js';
import { startWalCheckpointer } from '../storage/wal-checkpointer.js';
import { tempDir } from './helpers/hearth.js';

const waitFor = async (cond: () => boolean, ms = 5000) => {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

async function writeRows(sqlite: import('better-sqlite3').Database, n: number, pauseMs = 5): Promise<void> {
  sqlite.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
  const insert = sqlite.prepare('INSERT INTO t (v) VALUES (?)');
  for (let i = 0; i < n; i++) {
    insert.run(Buffer.alloc(100, i % 256));
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, pauseMs));
  }
}

describe('WAL checkpoints off the event loop', () => {
  it('control: with automatic checkpoints off and no worker, the WAL grows', async () => {
    const file = path.join(tempDir(), 'control.db');
    const storage = openStorage(file);
    storage.sqlite.pragma('wal_autocheckpoint = 0');
    await writeRows(storage.sqlite, 3000);
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(8 * 1024 * 1024);
    storage.close();
  });

  it('leaves light writing to SQLite\'s own checkpoints: no worker thread', async () => {
    const file = path.join(tempDir(), 'light.db');
    const storage = openStorage(file);
    const cp = startWalCheckpointer(storage.sqlite, { tickMs: 20, heavyRowsPerSecond: 1000, heavyTicks: 2 });
    storage.sqlite.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    const insert = storage.sqlite.prepare('INSERT INTO t (v) VALUES (?)');
    // a burst (one sample) and then a trickle: neither is sustained heavy writing
    for (let i = 0; i < 500; i++) insert.run(Buffer.alloc(100, 1));
    for (let i = 0; i < 20; i++) {
      insert.run(Buffer.alloc(100, 2));
      await new Promise((r) => setTimeout(r, 15));
    }
    expect(cp.workerStarts).toBe(0);
    expect(cp.active).toBe(false);
    expect(storage.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await cp.stop();
    storage.close();
  });

  it('takes checkpoints off the main connection while writes are heavy, and stops when they end', async () => {
    const file = path.join(tempDir(), 'test.db');
    const storage = openStorage(file);
    const cp = startWalCheckpointer(storage.sqlite, {
      tickMs: 20,
      heavyRowsPerSecond: 500,
      heavyTicks: 2,
      workerIdleMs: 300,
      workerIntervalMs: 10,
    });
    storage.sqlite.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    const insert = storage.sqlite.prepare('INSERT INTO t (v) VALUES (?)');
    let written = 0;
    const writeUntil = async (cond: () => boolean) => {
      const start = Date.now();
      while (!cond()) {
        if (Date.now() - start > 5000) throw new Error('timed out');
        for (let i = 0; i < 50; i++, written++) insert.run(Buffer.alloc(100, written % 256));
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await writeUntil(() => cp.active);
    expect(cp.workerStarts).toBe(1);
    expect(storage.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0);

    // 3,000 commits of one row each write 3,000+ WAL frames (12 MB) if nobody
    // checkpoints; with pauses between bursts, the worker's checkpoints let the WAL
    // start over.
    for (let i = 0; i < 3000; i++, written++) {
      insert.run(Buffer.alloc(100, i % 256));
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
    }
    expect(cp.active).toBe(true);
    expect(fs.statSync(`${file}-wal`).size).toBeLessThan(6 * 1024 * 1024);

    // quiet: the worker stops by itself and SQLite's automatic checkpoints come back
    await waitFor(() => !cp.active);
    expect(cp.workerStarts).toBe(1);
    expect(storage.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await cp.stop();
    storage.close();

    const again = openStorage(file);
    expect(again.sqlite.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(written);
    again.close();
  });
});
