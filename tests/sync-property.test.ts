import { afterAll, beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import * as Y from 'yjs';
import { connectClient, startHarness, storedDoc, waitFor, type Harness, type TestClient } from './helpers/sync-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

type Action =
  | { kind: 'edit'; client: number; op: 'push' | 'insert' | 'set' | 'text' | 'del'; at: number; value: number }
  | { kind: 'disconnect'; client: number }
  | { kind: 'connect'; client: number }
  | { kind: 'pause' }
  | { kind: 'restart' };

const CLIENTS = 3;
const TOKENS = ['tok-alice', 'tok-bob', 'tok-carol'];

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({
    kind: fc.constant('edit' as const),
    client: fc.nat(CLIENTS - 1),
    op: fc.constantFrom('push' as const, 'insert' as const, 'set' as const, 'text' as const, 'del' as const),
    at: fc.nat(50),
    value: fc.nat(1000),
  }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('disconnect' as const), client: fc.nat(CLIENTS - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('connect' as const), client: fc.nat(CLIENTS - 1) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'pause' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

function edit(doc: Y.Doc, a: Extract<Action, { kind: 'edit' }>): void {
  const arr = doc.getArray<number>('arr');
  const text = doc.getText('text');
  switch (a.op) {
    case 'push': arr.push([a.value]); break;
    case 'insert': arr.insert(a.at % (arr.length + 1), [a.value]); break;
    case 'set': doc.getMap('map').set(`k${a.at % 5}`, a.value); break;
    case 'text': text.insert(a.at % (text.length + 1), String(a.value)); break;
    case 'del': if (arr.length > 0) arr.delete(a.at % arr.length, 1); break;
  }
}

// Map keys sorted: two replicas may hold the same map with a different insertion order.
const content = (d: Y.Doc) =>
  JSON.stringify({
    arr: d.getArray('arr').toJSON(),
    map: Object.entries(d.getMap('map').toJSON()).sort(([a], [b]) => a.localeCompare(b)),
    text: d.getText('text').toString(),
  });

let run = 0;

it('random edits, disconnects and restarts always converge to the stored document', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 3, maxLength: 14 }), async (actions) => {
      const docName = `prop/run${run++}`;
      const t0 = Date.now(); if (process.env.HEARTH_TEST_VERBOSE) console.log(docName, JSON.stringify(actions));
      const clients: TestClient[] = TOKENS.map((t) => connectClient(h, docName, t));
      try {
        for (const a of actions) {
          if (a.kind === 'edit') edit(clients[a.client]!.doc, a);
          else if (a.kind === 'disconnect') clients[a.client]!.provider.disconnect();
          else if (a.kind === 'connect') clients[a.client]!.provider.connect();
          else if (a.kind === 'pause') await new Promise((r) => setTimeout(r, 15));
          else await h.restart();
        }
        for (const c of clients) if (!c.provider.shouldConnect) c.provider.connect();
        const expected = () => content(storedDoc(h.storage, docName));
        try {
          await waitFor(
            () => clients.every((c) => c.provider.synced && content(c.doc) === expected()) &&
              clients.every((c) => content(c.doc) === content(clients[0]!.doc)),
            4000,
            'convergence',
          );
        } catch (err) {
          const detail = clients.map((c) => ({ synced: c.provider.synced, connected: c.provider.wsconnected, content: content(c.doc) }));
          throw new Error(`${(err as Error).message}: stored ${expected()} clients ${JSON.stringify(detail)}`);
        }
        if (process.env.HEARTH_TEST_VERBOSE) console.log('converged in', Date.now() - t0);
        // Every edit made anywhere survived: each client's own edits are in the stored doc.
        const stored = storedDoc(h.storage, docName);
        expect(content(stored)).toBe(content(clients[0]!.doc));
        const served = await h.service.docs.read('fam1', docName, (d) => content(d));
        expect(served).toBe(content(stored));
      } finally {
        for (const c of clients) c.destroy();
      }
    }),
    { numRuns: Number(process.env.PROP_RUNS ?? 25), endOnFailure: true },
  );
});
