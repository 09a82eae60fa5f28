import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as Y from 'yjs';
import { encodeAwarenessUpdate, Awareness } from 'y-protocols/awareness';
import { encodeAwareness, encodeSyncStep1, encodeSyncStep2, encodeUpdate } from '../sync/protocol.js';
import { Close } from '../sync/close-codes.js';
import { rawClient, startHarness, storedDoc, waitFor, type Harness } from './helpers/sync-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/** Valid frames of every kind, the raw material for mutation. */
function validFrames(): Uint8Array[] {
  const d = new Y.Doc();
  d.getMap('m').set('a', 1);
  d.getText('t').insert(0, 'hello');
  d.getArray('arr').push([{ x: 1 }, 'two', 3]);
  const u1 = Y.encodeStateAsUpdate(d);
  d.getText('t').delete(1, 2);
  const aw = new Awareness(d);
  aw.setLocalState({ user: { name: 'fuzz' } });
  const frames = [
    encodeSyncStep1(Y.encodeStateVector(d)),
    encodeSyncStep2(u1),
    encodeUpdate(Y.encodeStateAsUpdate(d, Y.encodeStateVector(new Y.Doc()))),
    encodeAwareness(encodeAwarenessUpdate(aw, [d.clientID])),
    new Uint8Array([3]),
  ];
  aw.destroy();
  return frames;
}

const mutate = (base: Uint8Array[]) =>
  fc.record({
    base: fc.constantFrom(...base),
    ops: fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
        fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
        fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  }).map(({ base, ops }) => {
    let b = Array.from(base);
    for (const op of ops) {
      const at = b.length === 0 ? 0 : op.at % b.length;
      if (op.kind === 'flip' && b.length) b[at] = b[at]! ^ (1 << op.bit);
      else if (op.kind === 'set' && b.length) b[at] = op.value;
      else if (op.kind === 'cut') b = b.slice(0, at);
      else if (op.kind === 'insert') b.splice(at, 0, ...op.bytes);
    }
    return new Uint8Array(b);
  });

const stateOf = (d: Y.Doc) => JSON.stringify({ m: d.getMap('m').toJSON(), t: d.getText('t').toString(), arr: d.getArray('arr').toJSON() });

describe('fuzzing the sync endpoint', () => {
  it('random and mutated frames from a read-only peer never change the stored document', async () => {
    const seed = await rawClient(h, 'fuzz/ro', 'tok-bob');
    seed.send(encodeUpdate(Y.encodeStateAsUpdate((() => {
      const d = new Y.Doc();
      d.getMap('m').set('seed', true);
      return d;
    })())));
    await waitFor(() => storedDoc(h.storage, 'fuzz/ro').getMap('m').get('seed') === true);
    const before = stateOf(storedDoc(h.storage, 'fuzz/ro'));
    const frames = fc.oneof(fc.uint8Array({ maxLength: 64 }), mutate(validFrames()), fc.constantFrom(...validFrames()));
    await fc.assert(
      fc.asyncProperty(fc.array(frames, { minLength: 1, maxLength: 5 }), async (batch) => {
        const c = await rawClient(h, 'fuzz/ro', 'tok-gary');
        for (const f of batch) c.send(f);
        c.send(encodeSyncStep1(new Uint8Array([0])));
        await Promise.race([c.closed, new Promise((r) => setTimeout(r, 30))]);
        c.ws.terminate();
        expect(stateOf(storedDoc(h.storage, 'fuzz/ro'))).toBe(before);
      }),
      { numRuns: 60 },
    );
    seed.ws.close();
  });

  it('mutated frames from a writer are either refused (4400, nothing stored) or stored exactly as the server holds them', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutate(validFrames())), async (frame) => {
        const name = `fuzz/rw${n++}`;
        const c = await rawClient(h, name, 'tok-alice');
        c.send(frame);
        c.send(encodeSyncStep1(new Uint8Array([0])));
        const outcome = await Promise.race([c.closed, new Promise<null>((r) => setTimeout(() => r(null), 40))]);
        c.ws.terminate();
        // read() waits for the commit, so disk is read after it.
        const memory = await h.service.docs.read('fam1', name, (d) => stateOf(d));
        const stored = stateOf(storedDoc(h.storage, name));
        if (outcome && outcome.code === Close.MALFORMED) {
          expect(stored).toBe(stateOf(new Y.Doc()));
        }
        // Whatever happened, memory and disk agree.
        expect(memory).toBe(stored);
      }),
      { numRuns: 80 },
    );
    // Still serving.
    const ok = await rawClient(h, 'fuzz/after', 'tok-alice');
    const d = new Y.Doc();
    d.getMap('m').set('alive', 1);
    ok.send(encodeUpdate(Y.encodeStateAsUpdate(d)));
    await waitFor(() => storedDoc(h.storage, 'fuzz/after').getMap('m').get('alive') === 1);
    ok.ws.close();
  });
});
