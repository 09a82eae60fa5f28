import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { encodeUpdate, encodeSyncStep1 } from '../sync/protocol.js';
import { Close } from '../sync/close-codes.js';
import { DocumentStore } from '../storage/document-store.js';
import { connectClient, rawClient, startHarness, storedDoc, waitFor, whenSynced, type Harness } from './helpers/sync-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const logRows = (hh: Harness, name: string, family = 'fam1') =>
  hh.storage.sqlite
    .prepare('SELECT COUNT(*) FROM document_updates u JOIN documents d ON d.id = u.document_id WHERE d.family_id = ? AND d.name = ?')
    .pluck()
    .get(family, name) as number;

/** n single-item updates from one client, as a writer would stream them. */
function streamOfUpdates(n: number, key = 'arr'): Uint8Array[] {
  const d = new Y.Doc();
  const out: Uint8Array[] = [];
  d.on('update', (u: Uint8Array) => out.push(u));
  for (let i = 0; i < n; i++) d.getArray<number>(key).push([i]);
  return out;
}

/** n one-character typing updates (cheap to generate, unlike long runs of array appends). */
function typing(n: number): Uint8Array[] {
  const d = new Y.Doc();
  const out: Uint8Array[] = [];
  d.on('update', (u: Uint8Array) => out.push(u));
  const t = d.getText('t');
  for (let i = 0; i < n; i++) t.insert(i, String.fromCharCode(97 + (i % 26)));
  return out;
}

describe('group commit and broadcast', () => {
  it('updates arriving in one turn share a transaction and go out merged, once per receiver', async () => {
    h = await startHarness();
    const receiver = await rawClient(h, 'gc', 'tok-bob');
    await new Promise((r) => setTimeout(r, 50));
    const before = receiver.messages.length;
    // One TCP write: ws parses all frames in one I/O callback.
    const frames = streamOfUpdates(64).map((u) => encodeUpdate(u));
    const writer2 = await rawClient(h, 'gc', 'tok-alice2');
    const sock = (writer2.ws as unknown as { _socket: import('node:net').Socket })._socket;
    sock.cork();
    for (const f of frames) writer2.ws.send(f);
    sock.uncork();
    await waitFor(() => storedDoc(h!.storage, 'gc').getArray('arr').length === 64, 5000, 'stored');
    expect(logRows(h, 'gc')).toBeLessThanOrEqual(4);
    await waitFor(() => {
      const d = new Y.Doc();
      for (const m of receiver.messages.slice(before)) if (m[0] === 0 && m[1] === 2) Y.applyUpdate(d, m.subarray(3 + (m[2]! >= 128 ? 1 : 0)));
      return d.getArray('arr').length === 64;
    }, 5000, 'receiver');
    const updatesReceived = receiver.messages.slice(before).filter((m) => m[0] === 0 && m[1] === 2).length;
    expect(updatesReceived).toBeLessThanOrEqual(4);
    receiver.ws.close();
    writer2.ws.close();
  });

  it('a commit failure for one document does not affect others in the same turn', async () => {
    h = await startHarness();
    const ok = await rawClient(h, 'fine', 'tok-alice');
    const doomed = await rawClient(h, 'doomed', 'tok-eve', 'fam2');
    // The family disappears under a live document: its next write violates the foreign key.
    h.storage.sqlite.prepare("DELETE FROM families WHERE id = 'fam2'").run();
    const u = (k: string) => {
      const d = new Y.Doc();
      d.getMap('m').set(k, 1);
      return encodeUpdate(Y.encodeStateAsUpdate(d));
    };
    doomed.send(u('x'));
    ok.send(u('y'));
    expect((await doomed.closed).code).toBe(Close.INTERNAL);
    await waitFor(() => storedDoc(h!.storage, 'fine').getMap('m').get('y') === 1, 5000, 'other doc stored');
    ok.ws.close();
  });
});

describe('compaction, unload and loading', () => {
  it('compacts the log into a snapshot once past the threshold, losing nothing', async () => {
    h = await startHarness({ limits: { compactAfterUpdates: 10 } });
    const c = connectClient(h, 'compact', 'tok-alice');
    await whenSynced(c);
    for (let i = 0; i < 50; i++) {
      c.doc.getArray('arr').push([i]);
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => storedDoc(h!.storage, 'compact').getArray('arr').length === 50, 5000, 'stored');
    await waitFor(() => logRows(h!, 'compact') < 10, 5000, 'compaction');
    const snap = h.storage.sqlite.prepare("SELECT snapshot_bytes FROM documents WHERE name = 'compact'").pluck().get() as number;
    expect(snap).toBeGreaterThan(0);
    expect(storedDoc(h.storage, 'compact').getArray('arr').toJSON()).toEqual([...Array(50).keys()]);
    c.destroy();
  });

  it('unloads idle documents (compacting them) and reloads them intact', async () => {
    h = await startHarness({ limits: { idleUnloadMs: 50 } });
    const c = connectClient(h, 'idle', 'tok-alice');
    await whenSynced(c);
    c.doc.getText('t').insert(0, 'hello');
    await waitFor(() => storedDoc(h!.storage, 'idle').getText('t').toString() === 'hello');
    expect(h.service.stats().loadedDocuments).toBe(1);
    c.destroy();
    await waitFor(() => h!.service.stats().loadedDocuments === 0, 2000, 'unload');
    expect(logRows(h, 'idle')).toBe(0);
    const again = connectClient(h, 'idle', 'tok-bob');
    await whenSynced(again);
    expect(again.doc.getText('t').toString()).toBe('hello');
    again.destroy();
  });

  it('serves a compacted document from its snapshot, and a returning client\'s offline edits still merge', async () => {
    h = await startHarness();
    const a = connectClient(h, 'snap', 'tok-alice');
    await whenSynced(a);
    a.doc.getArray<number>('arr').push([...Array(500).keys()]);
    await waitFor(() => storedDoc(h!.storage, 'snap').getArray('arr').length === 500, 5000, 'stored');
    a.provider.disconnect();
    await h.restart(); // shutdown compacts: the document is one snapshot, no log
    expect(logRows(h, 'snap')).toBe(0);

    // edits made while the server was away
    a.doc.getArray<number>('arr').push([1000, 1001]);
    const b = connectClient(h, 'snap', 'tok-bob');
    await whenSynced(b);
    expect(b.doc.getArray('arr').length).toBe(500);
    a.provider.connect();
    await waitFor(() => b.doc.getArray('arr').length === 502, 5000, 'offline edits reach the fresh client');
    await waitFor(() => storedDoc(h!.storage, 'snap').getArray('arr').length === 502, 5000, 'offline edits stored');
    // and a later fresh client is not served the stale snapshot
    const c = connectClient(h, 'snap', 'tok-olga');
    await whenSynced(c);
    expect(c.doc.getArray('arr').toJSON()).toEqual(b.doc.getArray('arr').toJSON());
    for (const x of [a, b, c]) x.destroy();
  });

  it('no update is lost when connections and server writes race the idle unload', async () => {
    h = await startHarness({ limits: { idleUnloadMs: 5 } });
    let expected = 0;
    for (let round = 0; round < 30; round++) {
      // Alternate: a client writes and leaves, or server-side code writes; then wait around the unload time.
      if (round % 2 === 0) {
        const c = await rawClient(h, 'race', 'tok-alice');
        const d = new Y.Doc();
        d.clientID = 1000 + round;
        d.getArray('arr').push([round]);
        c.send(encodeUpdate(Y.encodeStateAsUpdate(d)));
        c.ws.close();
      } else {
        void h.service.docs.transact('fam1', 'race', (doc) => doc.getArray('arr').push([round]));
      }
      expected++;
      await new Promise((r) => setTimeout(r, (round * 7) % 12));
    }
    await waitFor(() => storedDoc(h!.storage, 'race').getArray('arr').length === expected, 5000, 'all rounds stored');
    const fresh = connectClient(h, 'race', 'tok-bob');
    await whenSynced(fresh);
    expect([...fresh.doc.getArray<number>('arr').toArray()].sort((a, b) => a - b)).toEqual([...Array(30).keys()]);
    fresh.destroy();
  });

  it('a document with 100,000 logged updates loads and syncs fast, then compacts', async () => {
    h = await startHarness();
    const store = new DocumentStore(h.storage);
    const id = store.ensure('fam1', 'history');
    const updates = typing(100_000);
    store.append([{ familyId: 'fam1', name: 'history', documentId: id, chunks: updates }]);
    expect(logRows(h, 'history')).toBe(100_000);
    const t0 = performance.now();
    const c = connectClient(h, 'history', 'tok-alice');
    await whenSynced(c, 20_000);
    const ms = performance.now() - t0;
    expect(c.doc.getText('t').length).toBe(100_000);
    expect(ms).toBeLessThan(5000);
    await waitFor(() => logRows(h!, 'history') === 0, 10_000, 'compaction after load');
    c.destroy();
  }, 30_000);
});

describe('server-side writes', () => {
  it('transact resolves only once the change is durable, and clients receive it', async () => {
    h = await startHarness();
    const c = connectClient(h, 'inbox/alice', 'tok-alice');
    await whenSynced(c);
    await h.service.docs.transact('fam1', 'inbox/alice', (d) => d.getMap('n').set('hello', 'world'));
    expect(storedDoc(h.storage, 'inbox/alice').getMap('n').get('hello')).toBe('world');
    await waitFor(() => c.doc.getMap('n').get('hello') === 'world');
    // A no-op transaction resolves without writing.
    const rows = logRows(h, 'inbox/alice');
    await h.service.docs.transact('fam1', 'inbox/alice', () => {});
    expect(logRows(h, 'inbox/alice')).toBe(rows);
    await expect(h.service.docs.transact('fam1', '../etc', () => {})).rejects.toThrow(/invalid document name/);
    c.destroy();
  });

  it('a step 1 received while updates are pending is answered only after they commit', async () => {
    h = await startHarness();
    const writer = await rawClient(h, 'order', 'tok-alice');
    const reader = await rawClient(h, 'order', 'tok-bob');
    await new Promise((r) => setTimeout(r, 50));
    const d = new Y.Doc();
    d.getMap('m').set('k', 'v');
    writer.send(encodeUpdate(Y.encodeStateAsUpdate(d)));
    reader.send(encodeSyncStep1(new Uint8Array([0])));
    await waitFor(() => reader.messages.some((m) => m[0] === 0 && m[1] === 1 && m.length > 5), 5000, 'step 2');
    expect(storedDoc(h.storage, 'order').getMap('m').get('k')).toBe('v');
    writer.ws.close();
    reader.ws.close();
  });
});
