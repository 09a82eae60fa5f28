import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { openStorage, type Storage } from '../storage/database.js';
import { DocumentStore } from '../storage/document-store.js';
import { migrations } from '../storage/migrations/index.js';
import { trigramText } from '../search/extract.js';
import { parseQuery } from '../search/query.js';
import { createSearchService } from '../search/service.js';
import { offlineDocs } from '../search/offline-docs.js';
import { SearchStore } from '../search/store.js';
import { tempDir } from './helpers/hearth.js';

// Migration 11 on a data dir written by migration 9's search: searches answer right after
// the upgrade, and the start-up catch-up rewrites every row with its trigram lines.

const FAMILY = 'fam-m';
const LATIN = 'Shopping list\nwalrus food and a new kettle';
const MIXED = 'Trip notes\nWe saw 東京タワー at night 🌃\nthen a quiet ramen bar';

describe('search migration 11', () => {
  const opened: Storage[] = [];
  afterAll(() => {
    for (const s of opened) s.close();
  });

  it('upgrades a migration-9 index: words at once, trigram lines after the catch-up', async () => {
    const file = path.join(tempDir('hearth-search-mig-'), 'hearth.db');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.pragma('foreign_keys = ON');
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    for (const m of migrations.filter((x) => x.version <= 10)) {
      old.exec(m.sql);
      old.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 1)').run(m.version, m.name);
    }
    old.prepare('INSERT INTO families (id, name, created_at) VALUES (?, ?, ?)').run(FAMILY, 'M', 1);
    const store = new DocumentStore({ sqlite: old } as unknown as Storage);
    const now = Date.now();
    for (const [name, text] of [['notes/latin', LATIN], ['notes/mixed', MIXED]] as const) {
      const d = new Y.Doc();
      d.getText('t').insert(0, text);
      store.append([{ familyId: FAMILY, name, documentId: null, chunks: [Y.encodeStateAsUpdate(d)] }], now);
      // The row as migration 9's indexer wrote it: up to date, no trigram column yet.
      old.prepare(`INSERT INTO search_entries (family_id, kind, doc_name, title, body, updated_at, source_version) VALUES (?, 'doc', ?, ?, ?, ?, ?)`)
        .run(FAMILY, name, text.split('\n')[0], text, now, String(now + 1));
    }
    old.close();

    const storage = openStorage(file);
    opened.push(storage);
    const sqlite = storage.sqlite;
    expect(sqlite.prepare('SELECT max(version) AS v FROM schema_migrations').get()).toEqual({ v: migrations.at(-1)!.version });
    const s = new SearchStore(sqlite);
    const found = (q: string) => [...s.matches(FAMILY, { memberId: 'm' }, parseQuery(q))].map((r) => r.doc_name);
    // Right after the upgrade, before any reindexing.
    expect(found('walrus')).toEqual(['notes/latin']);
    expect(found('ramen')).toEqual(['notes/mixed']);
    expect(found('東京タワー')).toEqual(['notes/mixed']);
    const tri = () => sqlite.prepare(`SELECT doc_name AS d, tri FROM search_entries ORDER BY doc_name`).all();
    expect(tri()).toEqual([{ d: 'notes/latin', tri: null }, { d: 'notes/mixed', tri: null }]);
    expect(s.staleDocs().map((x) => x.docName).sort()).toEqual(['notes/latin', 'notes/mixed']);

    const search = createSearchService({ sqlite, docs: offlineDocs(storage) });
    await search.start();
    await search.close();
    expect(s.staleDocs()).toEqual([]);
    expect(tri()).toEqual([{ d: 'notes/latin', tri: '' }, { d: 'notes/mixed', tri: 'We saw 東京タワー at night 🌃' }]);
    // Only the mixed document is in the trigram index now, and everything is still found.
    expect(sqlite.prepare('SELECT rowid FROM search_tri').all()).toHaveLength(1);
    for (const [q, doc] of [['walrus', 'notes/latin'], ['kettle', 'notes/latin'], ['ramen', 'notes/mixed'], ['東京タワー', 'notes/mixed'], ['タワー', 'notes/mixed'], ['🌃', 'notes/mixed'], ['"at night"', 'notes/mixed']] as const) {
      expect(found(q), q).toEqual([doc]);
    }
  });

  it('trigram lines: only lines of scripts without spaces or with emoji; the name when there is no text', () => {
    expect(trigramText('Plain', 'Plain\nEnglish only, café and naïve')).toBe('');
    expect(trigramText('a', 'a\n서울 여행\nb\nparty 🎉')).toBe('서울 여행\nparty 🎉');
    expect(trigramText('notes/東京', '')).toBe('notes/東京');
    expect(trigramText('notes/x', '')).toBe('');
  });

  it('terms of symbols only are matched by LIKE, whatever their length (the trigram index no longer holds Latin lines)', () => {
    const storage = openStorage(path.join(tempDir('hearth-search-sym-'), 'hearth.db'));
    opened.push(storage);
    storage.sqlite.prepare('INSERT INTO families (id, name, created_at) VALUES (?, ?, ?)').run(FAMILY, 'M', 1);
    storage.sqlite.prepare(`INSERT INTO search_entries (family_id, kind, doc_name, title, body, tri, updated_at) VALUES (?, 'doc', 'notes/s', 't', 'price -> $$$ later', '', 1)`).run(FAMILY);
    const s = new SearchStore(storage.sqlite);
    const found = (q: string) => [...s.matches(FAMILY, { memberId: 'm' }, parseQuery(q))].map((r) => r.doc_name);
    expect(found('$$$')).toEqual(['notes/s']);
    expect(found('->')).toEqual(['notes/s']);
    expect(found('"-> $$$"')).toEqual(['notes/s']);
    expect(found('€€€')).toEqual([]);
  });
});
