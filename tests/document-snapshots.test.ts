import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openStorage, type Storage } from '../storage/database.js';
import { DocumentStore } from '../storage/document-store.js';
import { applyMigrations } from '../storage/migrate.js';
import { migrations } from '../storage/migrations/index.js';
import { tempDir } from './helpers/hearth.js';

const opened: (Storage | Database.Database)[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

describe('document snapshots live in their own table', () => {
  it('migration 4 moves inline snapshots out of the documents row, losing nothing', () => {
    const file = path.join(tempDir(), 'hearth.db');
    const raw = new Database(file);
    opened.push(raw);
    raw.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    for (const m of migrations.filter((m) => m.version <= 3)) {
      raw.exec(m.sql);
      raw.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
    }
    raw.prepare("INSERT INTO families (id, name, created_at) VALUES ('fam_a', 'A', 0)").run();
    const snapshot = Buffer.from([1, 2, 3, 4, 5]);
    raw
      .prepare(
        "INSERT INTO documents (family_id, name, snapshot, snapshot_bytes, log_count, log_bytes, created_at, updated_at) VALUES ('fam_a', 'notes', ?, 5, 0, 0, 0, 0)",
      )
      .run(snapshot);
    raw.prepare("INSERT INTO documents (family_id, name, created_at, updated_at) VALUES ('fam_a', 'empty', 0, 0)").run();

    expect(applyMigrations(raw)).toBe(migrations.filter((m) => m.version > 3).length);
    const columns = (raw.prepare('PRAGMA table_info(documents)').all() as { name: string }[]).map((c) => c.name);
    expect(columns).not.toContain('snapshot');
    raw.close();
    opened.pop();

    const storage = openStorage(file);
    opened.push(storage);
    const store = new DocumentStore(storage);
    expect(Buffer.from(store.load('fam_a', 'notes')!.snapshot!)).toEqual(snapshot);
    expect(store.load('fam_a', 'empty')!.snapshot).toBeNull();
    expect(storage.sqlite.prepare('SELECT COUNT(*) FROM document_snapshots').pluck().get()).toBe(1);
  });

  it('a commit touches the same few pages however large the snapshot is', () => {
    const dir = tempDir();
    const storage = openStorage(path.join(dir, 'hearth.db'));
    opened.push(storage);
    storage.sqlite.prepare("INSERT INTO families (id, name, created_at) VALUES ('fam_a', 'A', 0)").run();
    const store = new DocumentStore(storage);
    const walPagesPerCommit = (snapshotBytes: number): number => {
      const name = `doc-${snapshotBytes}`;
      const id = store.ensure('fam_a', name);
      store.compact('fam_a', id, new Uint8Array(snapshotBytes).fill(7));
      storage.sqlite.pragma('wal_checkpoint(TRUNCATE)');
      storage.sqlite.pragma('wal_autocheckpoint = 0');
      for (let i = 0; i < 50; i++) store.append([{ familyId: 'fam_a', name, documentId: id, chunks: [new Uint8Array(30).fill(i)] }]);
      const pages = fs.statSync(path.join(dir, 'hearth.db-wal')).size / 4096 / 50;
      storage.sqlite.pragma('wal_autocheckpoint = 1000');
      return pages;
    };
    const small = walPagesPerCommit(1_000);
    const large = walPagesPerCommit(5_000_000);
    // With the snapshot inline in the row its counters live in, a 5 MB snapshot made
    // every commit write ~13 pages and read its whole overflow chain.
    expect(large).toBeLessThanOrEqual(small + 0.5);
    expect(store.load('fam_a', 'doc-5000000')!.snapshot!.byteLength).toBe(5_000_000);
  });

  it('deleting a document or its family takes its snapshot with it', () => {
    const storage = openStorage(path.join(tempDir(), 'hearth.db'));
    opened.push(storage);
    storage.sqlite.prepare("INSERT INTO families (id, name, created_at) VALUES ('fam_a', 'A', 0), ('fam_b', 'B', 0)").run();
    const store = new DocumentStore(storage);
    for (const fam of ['fam_a', 'fam_b']) store.compact(fam, store.ensure(fam, 'notes'), new Uint8Array([9]));
    // A snapshot for another family's document id is refused.
    const idA = store.load('fam_a', 'notes')!.id;
    store.compact('fam_b', idA, new Uint8Array([6, 6, 6]));
    expect(Buffer.from(store.load('fam_a', 'notes')!.snapshot!)).toEqual(Buffer.from([9]));
    storage.sqlite.prepare("DELETE FROM families WHERE id = 'fam_a'").run();
    expect(storage.sqlite.prepare('SELECT family_id FROM document_snapshots').pluck().all()).toEqual(['fam_b']);
  });
});
