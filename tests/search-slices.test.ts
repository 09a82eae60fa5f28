import path from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { openStorage } from '../storage/database.js';
import { DocumentStore } from '../storage/document-store.js';
import { createSearchService, type DocSource } from '../search/service.js';
import { tempDir } from './helpers/hearth.js';

// Indexing runs in slices that let sync's pending group commit go first.

describe('search indexing slices', () => {
  const storage = openStorage(path.join(tempDir('hearth-search-slices-'), 'hearth.db'));
  afterAll(() => storage.close());

  it('does not read or write while sync has a commit pending, and counts its slices', async () => {
    storage.sqlite.prepare('INSERT INTO families (id, name, created_at) VALUES (?, ?, ?)').run('f', 'f', 1);
    new DocumentStore(storage).ensure('f', 'notes/a');
    let pending = true;
    const reads: boolean[] = [];
    const docs: DocSource = {
      async read(_f, _d, fn) {
        reads.push(pending);
        const d = new Y.Doc();
        d.getText('t').insert(0, 'a gooseberry fool');
        return fn(d);
      },
      commitPending: () => pending,
    };
    const search = createSearchService({ sqlite: storage.sqlite, docs });
    const done = search.indexDoc('f', 'notes/a');
    for (let i = 0; i < 5; i++) await turn();
    expect(reads).toEqual([]);
    pending = false;
    await done;
    expect(reads).toEqual([false]);
    const hits = search.search('f', { memberId: 'm' }, 'gooseberry', { limit: 5, canRead: () => true });
    expect(hits.results.map((r) => r.doc)).toEqual(['notes/a']);
    const st = search.stats();
    expect(st.slices).toBe(2);
    expect(st.maxSliceMs).toBeGreaterThan(0);
    await search.close();
  });

  it('a server that is never quiet is still indexed (bounded wait)', async () => {
    new DocumentStore(storage).ensure('f', 'notes/b');
    const docs: DocSource = {
      async read(_f, _d, fn) {
        const d = new Y.Doc();
        d.getText('t').insert(0, 'an elderflower cordial');
        return fn(d);
      },
      commitPending: () => true,
    };
    const search = createSearchService({ sqlite: storage.sqlite, docs });
    await search.indexDoc('f', 'notes/b');
    expect(search.search('f', { memberId: 'm' }, 'elderflower', { limit: 5, canRead: () => true }).results.map((r) => r.doc)).toEqual(['notes/b']);
    await search.close();
  });
});
