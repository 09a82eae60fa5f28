import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { uploadRaw } from './helpers/media.js';
import { api, expectError, seedFamily, startTestServer, type Family, type TestServer } from './helpers/hearth.js';
import { stockClient } from './helpers/stock-client.js';
import type { SearchResult } from '../search/service.js';

type Result = SearchResult;

describe('search through the real server', () => {
  let t: TestServer;
  let fam: Family;
  let other: Family;
  const providers: WebsocketProvider[] = [];

  const connect = (docName: string, token: string, familyId = fam.familyId) => {
    const c = stockClient(t.url, `${familyId}/${docName}`, token);
    providers.push(c.provider);
    return c;
  };

  const search = async (q: string, token = fam.members.adult!.token, extra = '', familyId = fam.familyId) =>
    api(t.url, 'GET', `/v1/families/${familyId}/search?q=${encodeURIComponent(q)}${extra}`, { token });
  const docsFound = async (q: string, token?: string) => {
    const res = await search(q, token);
    expect(res.status).toBe(200);
    return (res.body.results as Result[]).map((r) => r.doc);
  };
  const write = (familyId: string, docName: string, fn: (d: Y.Doc) => void) => t.server.sync.service.docs.transact(familyId, docName, fn);

  beforeAll(async () => {
    t = await startTestServer();
    fam = await seedFamily(t);
    other = await seedFamily(t, 'The Joneses', ['owner']);
  });
  afterAll(async () => {
    for (const p of providers) p.destroy();
    await t.close();
  });

  it('finds a word typed by one device with the stock y-websocket client within a second, with a plain-text snippet and highlights', async () => {
    const a = connect('notes/house', fam.members.adult!.token);
    await a.synced;
    const typedAt = Date.now();
    a.doc.getText('body').insert(0, 'House notes\nThe wifi password is <b>hunter2</b>, the router sits in the hall cupboard.');
    let found: Result | undefined;
    // Polls over HTTP, as a person retyping the query would; no flush(): the debounce and indexer run on their own.
    while (!found && Date.now() - typedAt < 1000) {
      const res = await search('wifi password');
      found = (res.body.results as Result[]).find((r) => r.doc === 'notes/house');
      if (!found) await new Promise((r) => setTimeout(r, 20));
    }
    expect(found, 'typed words found by search within a second').toBeDefined();
    expect(Date.now() - typedAt).toBeLessThan(1000);
    expect(found!.kind).toBe('doc');
    expect(found!.mediaId).toBeNull();
    expect(found!.title).toBe('House notes');
    // Plain text: the markup typed is text, returned as typed, not rendered as HTML.
    expect(found!.snippet).toContain('<b>hunter2</b>');
    expect(found!.highlights.map(([s, e]) => found!.snippet.slice(s, e).toLowerCase())).toEqual(['wifi', 'password']);
    expect(found!.updatedAt).toBeGreaterThan(typedAt - 5000);
  });

  it('indexes Y.XmlFragment text and string values nested in maps and arrays', async () => {
    await write(fam.familyId, 'lists/plumber', (d) => {
      const frag = d.getXmlFragment('prosemirror');
      const p = new Y.XmlElement('paragraph');
      p.insert(0, [new Y.XmlText('Call the plumber on Tuesday')]);
      frag.insert(0, [p]);
      const m = d.getMap('contacts');
      const inner = new Y.Map<unknown>();
      inner.set('phone', 'plumber number 0612 345 678');
      m.set('plumber', inner);
      d.getArray('tags').push(['zanzibar', { deep: ['quixotic'] }, 42]);
    });
    await t.server.search.flush();
    expect(await docsFound('tuesday')).toEqual(['lists/plumber']);
    expect(await docsFound('0612')).toEqual(['lists/plumber']);
    expect(await docsFound('zanzibar')).toEqual(['lists/plumber']);
    expect(await docsFound('quixotic')).toEqual(['lists/plumber']);
    expect(await docsFound('"plumber number"')).toEqual(['lists/plumber']);
    expect(await docsFound('plumb*')).toEqual(['lists/plumber']);
  });

  it('finds accented, CJK and emoji text (unicode61 remove_diacritics 2 plus trigram, LIKE under three characters)', async () => {
    await write(fam.familyId, 'notes/travel', (d) => d.getText('t').insert(0, 'Café in São Paulo. 私は東京に住んでいます。Party 🎉🎂 tonight; 서울 여행'));
    await t.server.search.flush();
    for (const q of ['cafe', 'CAFÉ', 'sao paulo', '東京', '住んでいます', '🎉', '🎉🎂', '서울', 'paulo 東京']) {
      const res = await search(q);
      expect(res.status, q).toBe(200);
      const hit = (res.body.results as Result[]).find((r) => r.doc === 'notes/travel');
      expect(hit, q).toBeDefined();
      expect(hit!.highlights.length, q).toBeGreaterThan(0);
    }
    const hit = ((await search('東京')).body.results as Result[])[0]!;
    expect(hit.highlights.map(([s, e]) => hit.snippet.slice(s, e))).toEqual(['東京']);
    expect(await docsFound('tokyo')).toEqual([]);
  });

  it("never shows another member's private documents or inbox; their own are found", async () => {
    const adult = fam.members.adult!;
    const child = fam.members.child!;
    await write(fam.familyId, `private/${adult.id}/diary`, (d) => d.getText('t').insert(0, 'secret marmalade recipe'));
    await write(fam.familyId, `inbox/${adult.id}`, (d) => d.getArray('items').push([{ title: 'marmalade reminder' }]));
    await write(fam.familyId, 'private', (d) => d.getText('t').insert(0, 'marmalade reserved'));
    await t.server.search.flush();
    expect((await docsFound('marmalade', adult.token)).sort()).toEqual([`inbox/${adult.id}`, `private/${adult.id}/diary`]);
    for (const m of [child, fam.members.owner!, fam.members.admin!, fam.members.guest!]) expect(await docsFound('marmalade', m.token)).toEqual([]);
  });

  it('hides a document at once when its access is withdrawn, and shows it again when restored', async () => {
    await write(fam.familyId, 'notes/presents', (d) => d.getText('t').insert(0, 'birthday presents: a kite'));
    await t.server.search.flush();
    const child = fam.members.child!;
    expect(await docsFound('kite', child.token)).toEqual(['notes/presents']);
    const admin = fam.members.admin!.token;
    const path = `/v1/families/${fam.familyId}/doc-access`;
    const set = await api(t.url, 'PUT', path, { token: admin, body: { docName: 'notes/presents', subjectKind: 'member', subject: child.id, access: 'none' } });
    expect(set.status).toBe(204);
    expect(await docsFound('kite', child.token)).toEqual([]);
    expect(await docsFound('kite', fam.members.adult!.token)).toEqual(['notes/presents']);
    const byRole = await api(t.url, 'PUT', path, { token: admin, body: { docName: 'notes/presents', subjectKind: 'role', subject: 'guest', access: 'none' } });
    expect(byRole.status).toBe(204);
    expect(await docsFound('kite', fam.members.guest!.token)).toEqual([]);
    await api(t.url, 'DELETE', path, { token: admin, body: { docName: 'notes/presents', subjectKind: 'member', subject: child.id } });
    expect(await docsFound('kite', child.token)).toEqual(['notes/presents']);
  });

  it('guests find family documents they may read', async () => {
    await write(fam.familyId, 'notes/guestbook', (d) => d.getText('t').insert(0, 'welcome aboard sailors'));
    await t.server.search.flush();
    expect(await docsFound('sailors', fam.members.guest!.token)).toEqual(['notes/guestbook']);
  });

  it('a deleted document leaves the results', async () => {
    await write(fam.familyId, 'notes/doomed', (d) => d.getText('t').insert(0, 'ephemeral xylophone'));
    await t.server.search.flush();
    expect(await docsFound('xylophone')).toEqual(['notes/doomed']);
    const del = await api(t.url, 'DELETE', `/v1/families/${fam.familyId}/docs/notes/doomed`, { token: fam.members.admin!.token });
    expect(del.status).toBe(204);
    expect(await docsFound('xylophone')).toEqual([]);
  });

  it('another family sees nothing of this one', async () => {
    const res = await search('wifi', other.members.owner!.token, '', other.familyId);
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([]);
    const cross = await search('wifi', other.members.owner!.token);
    expect(cross.status).toBe(403);
  });

  it('malformed queries are a 422 VALIDATION_FAILED, FTS syntax is plain text', async () => {
    for (const q of ['"unclosed', '*', '   ', '"a"b', 'x'.repeat(300)]) expectError(await search(q), 422, 'VALIDATION_FAILED');
    expectError(await search('wifi', undefined, '&cursor=notacursor'), 422, 'VALIDATION_FAILED');
    for (const q of ['wifi OR', 'NOT wifi', 'body:wifi', '(wifi', 'NEAR(wifi password)', 'wifi AND AND', '^wifi', '-wifi']) {
      const res = await search(q);
      expect(res.status, q).toBe(200);
    }
  });

  it('ranks by bm25 and pages with a cursor', async () => {
    for (let i = 0; i < 5; i++) {
      await write(fam.familyId, `notes/rank${i}`, (d) => d.getText('t').insert(0, `${'filler words here '.repeat(i * 5)}gooseberry ${'gooseberry '.repeat(5 - i)}`));
    }
    await t.server.search.flush();
    const first = await search('gooseberry', undefined, '&limit=2');
    expect(first.status).toBe(200);
    expect((first.body.results as Result[]).map((r) => r.doc)).toEqual(['notes/rank0', 'notes/rank1']);
    const second = await search('gooseberry', undefined, `&limit=2&cursor=${first.body.nextCursor}`);
    const third = await search('gooseberry', undefined, `&limit=2&cursor=${second.body.nextCursor}`);
    expect((second.body.results as Result[]).map((r) => r.doc)).toEqual(['notes/rank2', 'notes/rank3']);
    expect((third.body.results as Result[]).map((r) => r.doc)).toEqual(['notes/rank4']);
    expect(third.body.nextCursor).toBeNull();
  });

  it('finds media by name, type and taken-at date, and forgets deleted media', async () => {
    const up = await uploadRaw(t.url, fam.familyId, fam.members.child!.token, Buffer.from('sand and sea\n'), 'Lisbon beach day.txt');
    expect(up.status).toBe(201);
    const id = up.body.id as string;
    // taken_at comes from EXIF in real photos; set here so the date terms are exercised (the trigger reindexes the row).
    t.server.storage.sqlite.prepare('UPDATE media SET taken_at = ? WHERE id = ?').run(Date.UTC(2024, 4, 17, 12), id);
    for (const q of ['lisbon', 'lisbon beach', 'application/octet-stream', 'file', '2024-05-17', 'may 2024']) {
      const res = await search(q, fam.members.guest!.token);
      expect(res.status, q).toBe(200);
      const hit = (res.body.results as Result[]).find((r) => r.mediaId === id);
      expect(hit, q).toMatchObject({ kind: 'media', doc: null, title: 'Lisbon beach day.txt', updatedAt: Date.UTC(2024, 4, 17, 12) });
    }
    const del = await api(t.url, 'DELETE', `/v1/families/${fam.familyId}/media/${id}`, { token: fam.members.child!.token });
    expect(del.status).toBe(204);
    expect(((await search('lisbon')).body.results as Result[]).filter((r) => r.kind === 'media')).toEqual([]);
  });

  it('rebuilt from scratch gives the same results', async () => {
    const up = await uploadRaw(t.url, fam.familyId, fam.members.child!.token, Buffer.from('porto\n'), 'Porto bridge.txt');
    expect(up.status).toBe(201);
    const queries = ['wifi', 'gooseberry', '東京', '🎉', 'plumb*', 'marmalade', 'kite', 'porto'];
    const before = await Promise.all(queries.map((q) => search(q).then((r) => r.body)));
    expect(((await search('porto')).body.results as Result[]).length).toBe(1);
    t.server.storage.sqlite.exec(`DELETE FROM search_entries`);
    expect(((await search('gooseberry')).body.results as Result[]).length).toBe(0);
    expect(((await search('porto')).body.results as Result[]).length).toBe(0);
    let after: string | null = null;
    do after = (await t.server.search.reindexBatch(fam.familyId, after, 3)).next;
    while (after !== null);
    const again = await Promise.all(queries.map((q) => search(q).then((r) => r.body)));
    expect(again).toEqual(before);
  });
});
