import { afterEach, describe, expect, it } from 'vitest';
import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import { encodeSyncStep1, encodeUpdate, encodeAwareness } from '../sync/protocol.js';
import { Close } from '../sync/close-codes.js';
import { DEFAULT_SYNC_LIMITS, SYNC_LIMIT_TABLE, resolveSyncLimits } from '../sync/limits.js';
import { rawClient, startHarness, storedDoc, waitFor, type Harness } from './helpers/sync-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function updateSetting(key: string, value: unknown): Uint8Array {
  const d = new Y.Doc();
  d.getMap('m').set(key, value);
  return Y.encodeStateAsUpdate(d);
}

describe('limits', () => {
  it('the limits table covers every key, with HEARTH_ env names and flags', () => {
    expect(Object.keys(DEFAULT_SYNC_LIMITS).sort()).toEqual(SYNC_LIMIT_TABLE.map((l) => l.key).sort());
    for (const l of SYNC_LIMIT_TABLE) {
      expect(l.env).toMatch(/^HEARTH_SYNC_[A-Z_]+$/);
      expect(l.flag).toMatch(/^--sync-[a-z-]+$/);
    }
    expect(() => resolveSyncLimits({ maxFrameBytes: -1 })).toThrow(/HEARTH_SYNC_MAX_FRAME_BYTES/);
  });

  it('a frame above maxFrameBytes closes with 1009 and stores nothing', async () => {
    h = await startHarness({ limits: { maxFrameBytes: 1024 } });
    const c = await rawClient(h, 'big', 'tok-alice');
    c.send(encodeUpdate(updateSetting('k', 'x'.repeat(4096))));
    expect((await c.closed).code).toBe(Close.MESSAGE_TOO_BIG);
    expect(storedDoc(h.storage, 'big').getMap('m').size).toBe(0);
  });

  it('the per-connection rate limit closes with 4529 after the burst', async () => {
    h = await startHarness({ limits: { rateMessagesPerSecond: 5, burstMessages: 20 } });
    const c = await rawClient(h, 'rate', 'tok-alice');
    for (let i = 0; i < 40; i++) c.send(encodeSyncStep1(new Uint8Array([0])));
    const closed = await c.closed;
    expect(closed).toEqual({ code: Close.RATE_LIMITED, reason: 'rate limit exceeded, slow down' });
    // The burst itself was served.
    expect(c.messages.length).toBeGreaterThanOrEqual(20);
  });

  it('a document over maxDocumentBytes closes with 4413 and keeps the stored state', async () => {
    h = await startHarness({ limits: { maxDocumentBytes: 2000 } });
    const c = await rawClient(h, 'sized', 'tok-alice');
    c.send(encodeUpdate(updateSetting('small', 'ok')));
    await waitFor(() => storedDoc(h!.storage, 'sized').getMap('m').get('small') === 'ok');
    c.send(encodeUpdate(updateSetting('huge', 'x'.repeat(5000))));
    expect((await c.closed).code).toBe(Close.DOCUMENT_TOO_LARGE);
    expect(storedDoc(h.storage, 'sized').getMap('m').toJSON()).toEqual({ small: 'ok' });
    // The server's memory was rebuilt: a new client does not see the refused update.
    expect(await h.service.docs.read('fam1', 'sized', (d) => d.getMap('m').toJSON())).toEqual({ small: 'ok' });
  });

  it('the family quota closes with 4507', async () => {
    h = await startHarness({ limits: { familyQuotaBytes: 3000 } });
    const a = await rawClient(h, 'one', 'tok-alice');
    a.send(encodeUpdate(updateSetting('a', 'x'.repeat(2000))));
    await waitFor(() => storedDoc(h!.storage, 'one').getMap('m').size === 1);
    const b = await rawClient(h, 'two', 'tok-bob');
    b.send(encodeUpdate(updateSetting('b', 'y'.repeat(2000))));
    expect(await b.closed).toEqual({ code: Close.QUOTA_EXCEEDED, reason: 'family storage quota exceeded' });
    expect(storedDoc(h.storage, 'two').getMap('m').size).toBe(0);
    a.ws.close();
  });

  it('connections per device and per family are capped with 4503', async () => {
    h = await startHarness({ limits: { maxConnectionsPerDevice: 2, maxConnectionsPerFamily: 3 } });
    const a1 = await rawClient(h, 'd1', 'tok-alice');
    const a2 = await rawClient(h, 'd2', 'tok-alice');
    const a3 = await rawClient(h, 'd3', 'tok-alice');
    expect(await a3.closed).toEqual({ code: Close.TRY_AGAIN_LATER, reason: 'too many connections for this device' });
    const b1 = await rawClient(h, 'd1', 'tok-bob');
    const b2 = await rawClient(h, 'd1', 'tok-bob');
    expect(await b2.closed).toEqual({ code: Close.TRY_AGAIN_LATER, reason: 'too many connections for this family' });
    // Another family is unaffected.
    const e = await rawClient(h, 'd1', 'tok-eve', 'fam2');
    expect(e.ws.readyState).toBe(e.ws.OPEN);
    for (const c of [a1, a2, b1, e]) c.ws.close();
  });

  it('malformed frames close with 4400; the document and other clients are unaffected', async () => {
    h = await startHarness();
    const good = await rawClient(h, 'm', 'tok-bob');
    good.send(encodeUpdate(updateSetting('k', 'v')));
    await waitFor(() => storedDoc(h!.storage, 'm').getMap('m').get('k') === 'v');
    const cases: Uint8Array[] = [
      new Uint8Array([]), // empty
      new Uint8Array([9]), // unknown message type
      new Uint8Array([0, 7, 0]), // unknown sync type
      new Uint8Array([0, 2, 0xff]), // truncated varint
      new Uint8Array([0, 2, 50, 1, 2]), // length beyond end of frame
      new Uint8Array([0, 2, 3, 1, 2, 3]), // not a Yjs update
      new Uint8Array([0, 0, 1, 0, 0]), // trailing bytes
      encodeAwareness(new Uint8Array([1, 5, 1, 3, 123, 120, 125])), // awareness with bad JSON
    ];
    for (const frame of cases) {
      const bad = await rawClient(h, 'm', 'tok-alice');
      bad.send(frame);
      const { code } = await bad.closed;
      expect(code, `frame ${Array.from(frame)}`).toBe(Close.MALFORMED);
    }
    const text = await rawClient(h, 'm', 'tok-alice');
    text.ws.send('hello');
    expect((await text.closed).code).toBe(Close.MALFORMED);
    expect(storedDoc(h.storage, 'm').getMap('m').toJSON()).toEqual({ k: 'v' });
    expect(good.ws.readyState).toBe(good.ws.OPEN);
    good.send(encodeUpdate(updateSetting('k2', 'v2')));
    await waitFor(() => storedDoc(h!.storage, 'm').getMap('m').get('k2') === 'v2');
    good.ws.close();
  });

  it('a receiver that stops reading is cut off past maxBufferedBytes; everyone else carries on', async () => {
    h = await startHarness({ limits: { maxBufferedBytes: 256 * 1024 } });
    const slow = await rawClient(h, 'flood', 'tok-bob');
    const fast = await rawClient(h, 'flood', 'tok-carol');
    const writer = await rawClient(h, 'flood', 'tok-alice');
    // Stop reading: the kernel's buffers fill, then what the server writes piles up in
    // the socket's user-space queue, shared broadcast frames included.
    (slow.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    const writerDoc = new Y.Doc();
    const arr = writerDoc.getArray<string>('a');
    writerDoc.on('update', (u: Uint8Array) => writer.send(encodeUpdate(u)));
    const chunk = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 300; i++) {
      arr.push([`${i}:${chunk}`]);
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(() => h!.service.stats().connections === 2, 10_000, 'the slow receiver cut off');
    // The writer and the reading receiver were not affected, and nothing was lost.
    await waitFor(() => storedDoc(h!.storage, 'flood').getArray('a').length === 300, 10_000, 'all stored');
    await waitFor(() => {
      const d = new Y.Doc();
      for (const m of fast.messages) {
        const dec = decoding.createDecoder(m);
        if (decoding.readVarUint(dec) !== 0 || decoding.readVarUint(dec) === 0) continue; // sync step 2 or update only
        Y.applyUpdate(d, decoding.readVarUint8Array(dec));
      }
      return d.getArray('a').length === 300;
    }, 10_000, 'the reading receiver got everything');
    expect(writer.ws.readyState).toBe(writer.ws.OPEN);
    expect(fast.ws.readyState).toBe(fast.ws.OPEN);
    writer.ws.close();
    fast.ws.close();
    slow.ws.terminate();
  });

  it('a receiver left over maxBufferedBytes by the last write of a burst is cut off without another write', async () => {
    h = await startHarness({ limits: { maxBufferedBytes: 256 * 1024 } });
    const slow = await rawClient(h, 'one-big', 'tok-bob');
    const writer = await rawClient(h, 'one-big', 'tok-alice');
    (slow.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    const writerDoc = new Y.Doc();
    writerDoc.on('update', (u: Uint8Array) => writer.send(encodeUpdate(u)));
    // One update, one broadcast: more than the kernel's buffers take, and nothing after it.
    writerDoc.getText('t').insert(0, 'y'.repeat(12 * 1024 * 1024));
    await waitFor(() => h!.service.stats().connections === 1, 10_000, 'the slow receiver cut off');
    expect(writer.ws.readyState).toBe(writer.ws.OPEN);
    writer.ws.close();
    slow.ws.terminate();
  });
});
