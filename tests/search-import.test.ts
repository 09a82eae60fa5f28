import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportFamilyToFile, serverDocSource } from '../portability/index.js';
import { api, runCli, seedFamily, startTestServer, tempDir, type TestServer } from './helpers/hearth.js';

// `hearth import` into the data dir of a running server: that server indexes the family
// for search at once (over its admin socket), not only at its next start.

describe('hearth import into a running server', () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    a = await startTestServer();
    b = await startTestServer();
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('makes the imported documents searchable over HTTP without a restart', async () => {
    const fam = await seedFamily(a, 'Importers', ['owner', 'adult']);
    const docs = a.server.sync.service.docs;
    await docs.transact(fam.familyId, 'notes/garden', (d) => d.getText('body').insert(0, 'Sow the pumpernickel beans after the frost'));
    await docs.transact(fam.familyId, 'notes/trip', (d) => d.getText('body').insert(0, '京都の旅行 with a zeppelin ride 🎈'));
    const archive = path.join(tempDir('hearth-import-search-'), 'family.tar');
    await exportFamilyToFile({ layout: a.server.layout, familyId: fam.familyId, docs: serverDocSource(docs), now: Date.now(), hearthVersion: 'test', out: archive });

    const imp = await runCli(['import', archive, '--data', b.dataDir, '--url', 'http://example.test', '--json']);
    expect(imp.code, imp.stderr).toBe(0);
    const r = JSON.parse(imp.stdout) as { familyId: string; searchIndexed: number | null; signIn: { memberId: string; link: string }[] };
    expect(r.familyId).toBe(fam.familyId);
    expect(r.searchIndexed).toBe(2);

    const owner = r.signIn.find((s) => s.memberId === fam.members.owner!.id)!;
    const redeemed = await api(b.url, 'POST', '/v1/pair/redeem', { body: { token: new URL(owner.link).searchParams.get('token')!, deviceName: 'laptop' } });
    expect(redeemed.status).toBe(200);
    const found = async (q: string) => {
      const res = await api(b.url, 'GET', `/v1/families/${fam.familyId}/search?q=${encodeURIComponent(q)}`, { token: redeemed.body.accessToken });
      expect(res.status, q).toBe(200);
      return (res.body.results as Array<{ doc: string }>).map((x) => x.doc);
    };
    // Server b never saw these documents commit: only the import's reindex put them in its index.
    expect(await found('pumpernickel')).toEqual(['notes/garden']);
    expect(await found('zeppelin')).toEqual(['notes/trip']);
    expect(await found('京都の旅行')).toEqual(['notes/trip']);
    expect(await found('🎈')).toEqual(['notes/trip']);
  });

  it('into a stopped server’s data dir: nothing to ask, the next start indexes the family', async () => {
    const fam = await seedFamily(a, 'Later', ['owner']);
    const docs = a.server.sync.service.docs;
    await docs.transact(fam.familyId, 'notes/x', (d) => d.getText('body').insert(0, 'a quokka in the shed'));
    const archive = path.join(tempDir('hearth-import-search-'), 'family.tar');
    await exportFamilyToFile({ layout: a.server.layout, familyId: fam.familyId, docs: serverDocSource(docs), now: Date.now(), hearthVersion: 'test', out: archive });
    const c = await startTestServer();
    await c.close();
    const imp = await runCli(['import', archive, '--data', c.dataDir, '--url', 'http://example.test', '--json']);
    expect(imp.code, imp.stderr).toBe(0);
    expect((JSON.parse(imp.stdout) as { searchIndexed: number | null }).searchIndexed).toBeNull();
    const c2 = await startTestServer({}, c.dataDir);
    try {
      await c2.server.search.flush();
      const hits = c2.server.search.search(fam.familyId, { memberId: fam.members.owner!.id }, 'quokka', { limit: 10, canRead: () => true });
      expect(hits.results.map((x) => x.doc)).toEqual(['notes/x']);
    } finally {
      await c2.close();
    }
  });
});
