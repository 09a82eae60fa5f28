import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { encodeUpdate } from '../sync/protocol.js';
import { Close } from '../sync/close-codes.js';
import { rawClient, startHarness, storedDoc, waitFor, type Harness } from './helpers/sync-harness.js';

// Issue 16: updates whose dependencies are missing (Yjs pending structs) used to count
// 0 bytes and stay in memory. Now they count and are capped per document and connection.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Updates from one client where each depends on the one before: send later ones alone and they stay pending. */
function chain(n: number, size: number): Uint8Array[] {
  const d = new Y.Doc();
  const out: Uint8Array[] = [];
  d.on('update', (u: Uint8Array) => out.push(u));
  const text = d.getText('t');
  for (let i = 0; i < n; i++) text.insert(text.length, String(i % 10).repeat(size));
  return out;
}

const pendingBytes = (h: Harness, doc: string) =>
  h.service.docs.read('fam1', doc, (d) => {
    const store = d.store as unknown as { pendingStructs: { update: Uint8Array } | null };
    return store.pendingStructs?.update.byteLength ?? 0;
  });

describe('pending Yjs structs', () => {
  it('closes a connection that piles up more than its share of pending structs with 4422', async () => {
    h = await startHarness({ limits: { maxPendingBytesPerConnection: 4000, maxPendingBytesPerDocument: 1_000_000 } });
    const c = await rawClient(h, 'pend', 'tok-alice');
    const updates = chain(10, 1000);
    // Never the first: every one waits for it.
    for (const u of updates.slice(1)) c.send(encodeUpdate(u));
    expect(await c.closed).toEqual({ code: Close.PENDING_TOO_LARGE, reason: 'too many updates with missing dependencies' });
    // Memory was rebuilt from storage: nothing pending is held for the document any more.
    expect(await pendingBytes(h, 'pend')).toBe(0);
  });

  it('caps the pending structs of one document across connections', async () => {
    h = await startHarness({ limits: { maxPendingBytesPerConnection: 1_000_000, maxPendingBytesPerDocument: 5000 } });
    const a = await rawClient(h, 'pend2', 'tok-alice');
    const b = await rawClient(h, 'pend2', 'tok-bob');
    const ua = chain(4, 1000);
    const ub = chain(4, 1000);
    for (const u of ua.slice(1)) a.send(encodeUpdate(u));
    await waitFor(async () => (await pendingBytes(h!, 'pend2')) > 2500);
    for (const u of ub.slice(1)) b.send(encodeUpdate(u));
    expect((await b.closed).code).toBe(Close.PENDING_TOO_LARGE);
  });

  it('counts pending structs against the document size limit', async () => {
    h = await startHarness({ limits: { maxDocumentBytes: 3000 } });
    const c = await rawClient(h, 'pend3', 'tok-alice');
    for (const u of chain(6, 1000).slice(1)) c.send(encodeUpdate(u));
    expect((await c.closed).code).toBe(Close.DOCUMENT_TOO_LARGE);
  });

  it('integrates pending structs once the missing update arrives, and stores them', async () => {
    h = await startHarness();
    const c = await rawClient(h, 'pend4', 'tok-alice');
    const updates = chain(3, 10);
    c.send(encodeUpdate(updates[2]!));
    c.send(encodeUpdate(updates[1]!));
    await waitFor(async () => (await pendingBytes(h!, 'pend4')) > 0);
    c.send(encodeUpdate(updates[0]!));
    await waitFor(() => storedDoc(h!.storage, 'pend4').getText('t').toString().length === 30);
    expect(await pendingBytes(h, 'pend4')).toBe(0);
  });
});
