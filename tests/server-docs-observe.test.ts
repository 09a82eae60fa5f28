import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { connectClient, startHarness, waitFor, whenSynced, type Harness } from './helpers/sync-harness.js';

describe('ServerDocs.onCommitted', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('tells observers about client and server-side commits, after they are durable, until unsubscribed', async () => {
    h = await startHarness();
    const seen: string[] = [];
    const off = h.service.docs.onCommitted((familyId, docName) => {
      const text = h!.service.docs.info(familyId, docName);
      seen.push(`${familyId}/${docName}:${text ? 'stored' : 'missing'}`);
    });
    const c = connectClient(h, 'notes/a', 'tok-alice');
    await whenSynced(c);
    c.doc.getText('t').insert(0, 'hello');
    await waitFor(() => seen.length > 0, 5000, 'client commit observed');
    expect(seen[0]).toBe('fam1/notes/a:stored');
    await h.service.docs.transact('fam1', 'lists/b', (d: Y.Doc) => d.getArray('x').push(['y']));
    expect(seen).toContain('fam1/lists/b:stored');
    off();
    const before = seen.length;
    await h.service.docs.transact('fam1', 'lists/b', (d: Y.Doc) => d.getArray('x').push(['z']));
    expect(seen.length).toBe(before);
    c.destroy();
  });
});
