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

describe('WAL checkpoints in a worker thread', () => {
  it('control: with automatic checkpoints off and no worker, the WAL grows', async () => {
    const file = path.join(tempDir(), 'control.db');
    const storage = openStorage(file);
    storage.sqlite.pragma('wal_autocheckpoint = 0');
    await writeRows(storage.sqlite, 3000);
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(8 * 1024 * 1024);
    storage.close();
  });

  it('takes checkpoints off the main connection and hands them back on stop', async () => {
    const file = path.join(tempDir(), 'test.db');
    const storage = openStorage(file);
    const cp = startWalCheckpointer(storage.sqlite, 10);
    await waitFor(() => cp.active);
    expect(storage.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0);

    // 3,000 commits of one row each write 3,000+ WAL frames (12 MB) if nobody
    // checkpoints; with pauses between bursts, the worker's checkpoints let the WAL
    // start over.
    await writeRows(storage.sqlite, 3000, 20);
    expect(fs.statSync(`${file}-wal`).size).toBeLessThan(6 * 1024 * 1024);

    await cp.stop();
    expect(cp.active).toBe(false);
    expect(storage.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    storage.close();

    const again = openStorage(file);
    expect(again.sqlite.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(3000);
    again.close();
    expect(fs.existsSync(file)).toBe(true);
  });
});
