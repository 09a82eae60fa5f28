import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createSearchService, type SearchService } from '../search/service.js';
import { SearchStore } from '../search/store.js';
import { FAMILY, OTHER_FAMILY, startHarness, type Harness } from './helpers/sync-harness.js';

// What a kill -9 inside the debounce window leaves behind: committed documents the index
// has not seen (or has seen older). The next start must index them, from the versions alone.

const everyone = { canRead: () => true, limit: 50 };
const docsOf = (s: SearchService, q: string, familyId = FAMILY) =>
  s.search(familyId, { memberId: 'alice' }, q, everyone).results.map((r) => r.doc);

describe('search start-up catch-up', () => {
  let h: Harness | undefined;
  let s: SearchService | undefined;
  afterEach(async () => {
    await s?.close();
    await h?.close();
    h = s = undefined;
  });

  const open = (debounceMs = 60_000) => {
    s = createSearchService({ sqlite: h!.storage.sqlite, docs: h!.service.docs, debounceMs });
    return s;
  };

  it('indexes documents committed but never indexed, changed since indexing, and drops deleted ones', async () => {
    h = await startHarness();
    let search = open(0);
    await search.start();
    await h.service.docs.transact(FAMILY, 'notes/old', (d) => d.getText('t').insert(0, 'original walrus'));
    await h.service.docs.transact(FAMILY, 'notes/gone', (d) => d.getText('t').insert(0, 'vanishing narwhal'));
    await search.flush();
    expect(docsOf(search, 'walrus')).toEqual(['notes/old']);
    expect(docsOf(search, 'narwhal')).toEqual(['notes/gone']);

    // "Crash": the indexer stops observing (a minute-long debounce never fires) while writes go on.
    await search.close();
    search = open();
    await search.start();
    await h.service.docs.transact(FAMILY, 'notes/new', (d) => d.getText('t').insert(0, 'freshly typed pelican'));
    await h.service.docs.transact(FAMILY, 'notes/old', (d) => {
      const t = d.getText('t');
      t.delete(0, t.length);
      t.insert(0, 'rewritten octopus');
    });
    await h.service.docs.transact(OTHER_FAMILY, 'notes/x', (d) => d.getMap('m').set('k', 'pelican elsewhere'));
    // Bypasses ServerDocs.remove and its trigger path alike: the row goes with the documents row.
    h.storage.sqlite.prepare('DELETE FROM documents WHERE family_id = ? AND name = ?').run(FAMILY, 'notes/gone');
    expect(docsOf(search, 'pelican')).toEqual([]);
    expect(docsOf(search, 'walrus')).toEqual(['notes/old']);
    expect(docsOf(search, 'narwhal')).toEqual([]);
    // Nothing is flushed: the pending timers die with the "process".
    s = undefined;
    void search.close();

    await h.restart();
    search = open();
    await search.start();
    expect(docsOf(search, 'pelican')).toEqual(['notes/new']);
    expect(docsOf(search, 'pelican', OTHER_FAMILY)).toEqual(['notes/x']);
    expect(docsOf(search, 'octopus')).toEqual(['notes/old']);
    expect(docsOf(search, 'walrus')).toEqual([]);

    // Once caught up, a start finds nothing stale.
    expect(new SearchStore(h.storage.sqlite).staleDocs()).toEqual([]);

  });

  it('a document written through the stock sync path is indexed after the debounce, without flush', async () => {
    h = await startHarness();
    const search = open(50);
    await search.start();
    await h.service.docs.transact(FAMILY, 'lists/b', (d: Y.Doc) => d.getArray('x').push(['tangerine']));
    const t0 = Date.now();
    while (docsOf(search, 'tangerine').length === 0 && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
    expect(docsOf(search, 'tangerine')).toEqual(['lists/b']);
  });
});
