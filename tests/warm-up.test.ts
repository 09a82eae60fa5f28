import { afterEach, describe, expect, it } from 'vitest';
import { listFamilies } from '../server/identity/families.js';
import { startTestServer, type TestServer } from './helpers/hearth.js';

let ts: TestServer | null = null;
afterEach(async () => {
  await ts?.close();
  ts = null;
});

describe('start-up warm-up', () => {
  it('runs the sync path once and leaves nothing behind in the real server', async () => {
    ts = await startTestServer({ logLevel: 'debug' });
    const done = ts.logs.lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'warm-up done');
    expect(done, 'the warm-up finished (it logs only on success)').toBeDefined();
    expect(typeof done.ms).toBe('number');
    // Its throwaway family, documents and sockets lived in a database of their own.
    expect(listFamilies(ts.server.identity).map((f) => f.id)).not.toContain('fam_warmup');
    expect(ts.server.sync.service.stats()).toEqual({ connections: 0, loadedDocuments: 0 });
    const rows = ts.server.storage.sqlite.prepare('SELECT count(*) AS n FROM documents').get() as { n: number };
    expect(rows.n).toBe(0);
  });
});
