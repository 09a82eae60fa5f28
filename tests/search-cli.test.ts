import { afterEach, describe, expect, it } from 'vitest';
import { openStorage } from '../storage/database.js';
import { api, runCli, seedFamily, startTestServer, tempDir, type TestServer } from './helpers/hearth.js';

// `hearth search reindex`: through the admin socket on a live server, straight on the database otherwise.

describe('hearth search reindex', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const docRows = (dbFile: string) => {
    const s = openStorage(dbFile);
    try {
      return (s.sqlite.prepare(`SELECT doc_name AS d, body FROM search_entries WHERE kind = 'doc' ORDER BY doc_name`).all() as Array<{ d: string; body: string }>).map((r) => `${r.d}:${r.body}`);
    } finally {
      s.close();
    }
  };

  it('rebuilds a live server’s index over the admin socket, and a stopped server’s over the database', async () => {
    const dir = tempDir();
    t = await startTestServer({}, dir);
    const fam = await seedFamily(t, 'Reindexers', ['owner', 'adult']);
    for (let i = 0; i < 5; i++) await t.server.sync.service.docs.transact(fam.familyId, `notes/n${i}`, (d) => d.getText('t').insert(0, `note ${i} about the allotment`));
    await t.server.search.flush();
    const expected = docRows(t.server.layout.database);
    expect(expected).toHaveLength(5);
    const count = () => api(t!.url, 'GET', `/v1/families/${fam.familyId}/search?q=allotment&limit=50`, { token: fam.members.adult!.token }).then((r) => r.body.results.length as number);
    expect(await count()).toBe(5);

    t.server.storage.sqlite.exec('DELETE FROM search_entries');
    expect(await count()).toBe(0);
    const live = await runCli(['search', 'reindex', '--family', fam.familyId, '--json', '--data', dir]);
    expect(live.code, live.stderr).toBe(0);
    expect(JSON.parse(live.stdout)).toEqual({ live: true, families: [{ familyId: fam.familyId, documents: 5 }] });
    expect(await count()).toBe(5);

    const layoutDb = t.server.layout.database;
    await t.close();
    t = undefined;
    const s = openStorage(layoutDb);
    s.sqlite.exec('DELETE FROM search_entries');
    s.close();
    const offline = await runCli(['search', 'reindex', '--data', dir]);
    expect(offline.code, offline.stderr).toBe(0);
    // Not a TTY: plain progress lines on stderr, a summary on stdout.
    expect(offline.stderr).toContain(`search reindex: family ${fam.familyId}`);
    expect(offline.stderr).toContain('search reindex: 5/5 documents');
    expect(offline.stdout).toContain(`reindexed family ${fam.familyId}: 5 documents`);
    expect(docRows(layoutDb)).toEqual(expected);

    const unknown = await runCli(['search', 'reindex', '--family', 'nope', '--data', dir]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no family nope');
  });
});
