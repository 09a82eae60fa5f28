import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  FAMILY,
  OTHER_FAMILY,
  connectClient,
  startHarness,
  storedDoc,
  tryUpgrade,
  waitFor,
  whenSynced,
  type Harness,
  type TestClient,
} from './helpers/sync-harness.js';
import { Close } from '../sync/close-codes.js';

let h: Harness;
const clients: TestClient[] = [];
const client = (...args: Parameters<typeof connectClient>) => {
  const c = connectClient(...args);
  clients.push(c);
  return c;
};

beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await h.close();
});

describe('sync with the stock y-websocket client', () => {
  it('two clients converge', async () => {
    const a = client(h, 'lists/groceries', 'tok-alice');
    const b = client(h, 'lists/groceries', 'tok-bob');
    await Promise.all([whenSynced(a), whenSynced(b)]);
    a.doc.getArray<string>('items').push(['milk']);
    b.doc.getArray<string>('items').push(['eggs']);
    b.doc.getMap('meta').set('title', 'Groceries');
    await waitFor(() => a.doc.getArray('items').length === 2 && b.doc.getArray('items').length === 2, 5000, 'convergence');
    expect(a.doc.getArray('items').toArray()).toEqual(b.doc.getArray('items').toArray());
    expect(a.doc.getArray('items').toArray().sort()).toEqual(['eggs', 'milk']);
    await waitFor(() => a.doc.getMap('meta').get('title') === 'Groceries');
    // And it is what the database holds.
    await waitFor(() => storedDoc(h.storage, 'lists/groceries').getArray('items').length === 2);
    expect(storedDoc(h.storage, 'lists/groceries').getArray('items').toArray().sort()).toEqual(['eggs', 'milk']);
  });

  it('awareness appears and disappears', async () => {
    const a = client(h, 'notes', 'tok-alice');
    const b = client(h, 'notes', 'tok-bob');
    await Promise.all([whenSynced(a), whenSynced(b)]);
    a.provider.awareness.setLocalStateField('user', { name: 'Alice' });
    await waitFor(() => (b.provider.awareness.getStates().get(a.doc.clientID) as any)?.user?.name === 'Alice', 5000, 'awareness');
    a.provider.disconnect();
    await waitFor(() => !b.provider.awareness.getStates().has(a.doc.clientID), 5000, 'awareness removal');
    // Never stored.
    const n = h.storage.sqlite.prepare("SELECT COUNT(*) FROM documents WHERE name = 'notes'").pluck().get();
    expect(n).toBe(0);
  });

  it('a late joiner gets the full document', async () => {
    const a = client(h, 'recipes', 'tok-alice');
    await whenSynced(a);
    const text = a.doc.getText('body');
    for (let i = 0; i < 200; i++) text.insert(text.length, `line ${i}\n`);
    await waitFor(() => storedDoc(h.storage, 'recipes').getText('body').length === text.length, 5000, 'stored');
    const late = client(h, 'recipes', 'tok-bob');
    await whenSynced(late);
    expect(late.doc.getText('body').toString()).toBe(text.toString());
  });

  it('edits made offline merge after reconnect', async () => {
    const a = client(h, 'todo', 'tok-alice');
    const b = client(h, 'todo', 'tok-bob');
    await Promise.all([whenSynced(a), whenSynced(b)]);
    a.doc.getArray('t').push(['shared']);
    await waitFor(() => b.doc.getArray('t').length === 1);
    b.provider.disconnect();
    b.doc.getArray('t').push(['offline-b1', 'offline-b2']);
    a.doc.getArray('t').push(['online-a']);
    await waitFor(() => storedDoc(h.storage, 'todo').getArray('t').length === 2);
    b.provider.connect();
    await waitFor(() => a.doc.getArray('t').length === 4 && b.doc.getArray('t').length === 4, 5000, 'merge');
    expect(a.doc.getArray('t').toArray()).toEqual(b.doc.getArray('t').toArray());
    await waitFor(() => storedDoc(h.storage, 'todo').getArray('t').length === 4);
    expect(storedDoc(h.storage, 'todo').getArray('t').toArray()).toEqual(a.doc.getArray('t').toArray());
  });

  it('offline edits survive a server restart too', async () => {
    const a = client(h, 'diary', 'tok-alice');
    await whenSynced(a);
    a.doc.getMap('m').set('before', 1);
    await waitFor(() => storedDoc(h.storage, 'diary').getMap('m').get('before') === 1);
    a.provider.disconnect();
    a.doc.getMap('m').set('offline', 2);
    await h.restart();
    a.provider.connect();
    await whenSynced(a);
    await waitFor(() => storedDoc(h.storage, 'diary').getMap('m').get('offline') === 2, 5000, 'offline edit stored');
    const fresh = client(h, 'diary', 'tok-bob');
    await whenSynced(fresh);
    expect(fresh.doc.getMap('m').toJSON()).toEqual({ before: 1, offline: 2 });
  });
});

describe('admission', () => {
  it('refuses with 401, 403 and 400 before any socket opens', async () => {
    const before = h.service.stats().connections;
    expect((await tryUpgrade(h, `/sync/${FAMILY}/doc`)).status).toBe(401);
    expect((await tryUpgrade(h, `/sync/${FAMILY}/doc?token=nope`)).status).toBe(401);
    const r401 = await tryUpgrade(h, `/sync/${FAMILY}/doc`, { authorization: 'Bearer wrong' });
    expect(r401.status).toBe(401);
    expect(JSON.parse(r401.body).error.code).toBe('UNAUTHORIZED');
    // An unknown family looks like another family: 403, so ids cannot be probed.
    expect((await tryUpgrade(h, `/sync/nosuchfamily/doc?token=tok-alice`)).status).toBe(403);
    expect((await tryUpgrade(h, `/sync/${OTHER_FAMILY}/doc?token=tok-alice`)).status).toBe(403);
    expect((await tryUpgrade(h, `/sync/${FAMILY}/private/bob/diary?token=tok-alice`)).status).toBe(403);
    expect((await tryUpgrade(h, `/sync/${FAMILY}/inbox/bob?token=tok-alice`)).status).toBe(403);
    expect((await tryUpgrade(h, `/sync/${FAMILY}/a/../b?token=tok-alice`)).status).toBe(400);
    expect((await tryUpgrade(h, `/sync/${FAMILY}/a%2F..%2Fb?token=tok-alice`)).status).toBe(400);
    expect((await tryUpgrade(h, `/sync/${FAMILY}/${'x'.repeat(129)}?token=tok-alice`)).status).toBe(400);
    expect(h.service.stats().connections).toBe(before);
    // Bearer header works as well as the query parameter.
    expect((await tryUpgrade(h, `/sync/${FAMILY}/doc`, { authorization: 'Bearer tok-alice' })).status).toBe(101);
    expect((await tryUpgrade(h, `/sync/${FAMILY}/private/alice/diary?token=tok-alice`)).status).toBe(101);
    expect((await tryUpgrade(h, `/sync/${FAMILY}/inbox/alice?token=tok-alice`)).status).toBe(101);
  });

  it('the stock client sees no connection when refused', async () => {
    const c = client(h, 'doc', 'bad-token');
    await new Promise((r) => setTimeout(r, 300));
    expect(c.provider.wsconnected).toBe(false);
    expect(h.service.stats().connections).toBe(0);
  });
});

describe('access', () => {
  it('a read-only guest receives everything but cannot change the stored document', async () => {
    const a = client(h, 'family/calendar', 'tok-alice');
    await whenSynced(a);
    a.doc.getMap('events').set('bday', 'June 1');
    await waitFor(() => storedDoc(h.storage, 'family/calendar').getMap('events').get('bday') === 'June 1');
    const g = client(h, 'family/calendar', 'tok-gary');
    await whenSynced(g);
    expect(g.doc.getMap('events').get('bday')).toBe('June 1');
    g.doc.getMap('events').set('bday', 'hacked');
    g.doc.getMap('events').set('guest', 'was here');
    a.doc.getMap('events').set('after', 'yes');
    await waitFor(() => g.doc.getMap('events').get('after') === 'yes');
    await new Promise((r) => setTimeout(r, 100));
    const stored = storedDoc(h.storage, 'family/calendar').getMap('events').toJSON();
    expect(stored).toEqual({ bday: 'June 1', after: 'yes' });
    expect(a.doc.getMap('events').get('guest')).toBeUndefined();
    // A fresh client sees the same.
    const fresh = client(h, 'family/calendar', 'tok-bob');
    await whenSynced(fresh);
    expect(fresh.doc.getMap('events').toJSON()).toEqual({ bday: 'June 1', after: 'yes' });
  });

  it('the inbox is written by the server and read-only for its member', async () => {
    const inbox = client(h, 'inbox/alice', 'tok-alice');
    await whenSynced(inbox);
    await h.service.docs.transact(FAMILY, 'inbox/alice', (d) => d.getArray('notes').push([{ text: 'Dentist at 3' }]));
    await waitFor(() => inbox.doc.getArray('notes').length === 1, 5000, 'inbox note');
    inbox.doc.getArray('notes').push([{ text: 'forged' }]);
    await new Promise((r) => setTimeout(r, 100));
    expect(storedDoc(h.storage, 'inbox/alice').getArray('notes').toJSON()).toEqual([{ text: 'Dentist at 3' }]);
  });

  it('default rules and overrides', () => {
    const s = h.service;
    const p = (memberId: string, role: any) => ({ familyId: FAMILY, memberId, deviceId: 'd', role });
    expect(s.accessFor(p('alice', 'adult'), 'lists/x')).toBe('rw');
    expect(s.accessFor(p('carol', 'child'), 'lists/x')).toBe('rw');
    expect(s.accessFor(p('gary', 'guest'), 'lists/x')).toBe('ro');
    expect(s.accessFor(p('alice', 'adult'), 'private/alice/x')).toBe('rw');
    expect(s.accessFor(p('bob', 'owner'), 'private/alice/x')).toBe('none');
    expect(s.accessFor(p('gary', 'guest'), 'private/gary/x')).toBe('ro');
    expect(s.accessFor(p('alice', 'adult'), 'inbox/alice')).toBe('ro');
    expect(s.accessFor(p('bob', 'admin'), 'inbox/alice')).toBe('none');
    expect(s.accessFor(p('alice', 'adult'), 'private')).toBe('none');
    s.docs.setOverride(FAMILY, 'lists/x', { kind: 'role', id: 'child' }, 'ro');
    s.docs.setOverride(FAMILY, 'lists/x', { kind: 'member', id: 'carol' }, 'none');
    s.docs.setOverride(FAMILY, 'lists/x', { kind: 'role', id: 'guest' }, 'rw');
    s.docs.setOverride(FAMILY, 'inbox/alice', { kind: 'member', id: 'alice' }, 'rw');
    expect(s.accessFor(p('dan', 'child'), 'lists/x')).toBe('ro');
    expect(s.accessFor(p('carol', 'child'), 'lists/x')).toBe('none');
    expect(s.accessFor(p('gary', 'guest'), 'lists/x')).toBe('ro'); // guests stay read-only
    expect(s.accessFor(p('alice', 'adult'), 'inbox/alice')).toBe('ro'); // inboxes stay server-written
    expect(s.docs.listOverrides(FAMILY)).toHaveLength(4);
    expect(s.docs.listOverrides(OTHER_FAMILY)).toHaveLength(0);
    expect(s.docs.clearOverride(FAMILY, 'lists/x', { kind: 'member', id: 'carol' })).toBe(true);
    expect(s.accessFor(p('carol', 'child'), 'lists/x')).toBe('ro');
  });
});

describe('live enforcement', () => {
  it('revoking a device closes its socket within 1 s', async () => {
    const a = client(h, 'shared', 'tok-alice');
    const a2 = client(h, 'shared', 'tok-alice2');
    await Promise.all([whenSynced(a), whenSynced(a2)]);
    h.revoked.add('tok-alice');
    const t0 = Date.now();
    h.service.deviceRevoked('dev-alice');
    await waitFor(() => a.closes.length > 0, 1000, 'close');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(a.closes[0]).toEqual({ code: Close.UNAUTHORIZED, reason: 'device revoked' });
    // The client gives up (44xx) and the other device of the same member is untouched.
    await new Promise((r) => setTimeout(r, 400));
    expect(a.provider.wsconnected).toBe(false);
    expect(a2.provider.wsconnected).toBe(true);
  });

  it('removing a member and lowering a role act on open sockets', async () => {
    const bob = client(h, 'shared', 'tok-bob');
    const carol = client(h, 'shared', 'tok-carol');
    const carolPrivate = client(h, 'private/carol/notes', 'tok-carol');
    await Promise.all([whenSynced(bob), whenSynced(carol), whenSynced(carolPrivate)]);
    h.service.memberRemoved('bob');
    await waitFor(() => bob.closes.length > 0, 1000, 'bob closed');
    expect(bob.closes[0]!.code).toBe(Close.UNAUTHORIZED);

    // carol becomes a guest: downgraded in place to read-only.
    h.service.memberRoleChanged('carol', 'guest');
    carol.doc.getMap('m').set('k', 'from-guest');
    await new Promise((r) => setTimeout(r, 150));
    expect(storedDoc(h.storage, 'shared').getMap('m').get('k')).toBeUndefined();
    expect(carol.provider.wsconnected).toBe(true);

    // An override taking access away closes the socket.
    h.service.docs.setOverride(FAMILY, 'shared', { kind: 'member', id: 'carol' }, 'none');
    await waitFor(() => carol.closes.length > 0, 1000, 'carol closed');
    expect(carol.closes[0]!.code).toBe(Close.FORBIDDEN);
  });
});

describe('server-side documents API', () => {
  it('reads, writes, lists and deletes documents', async () => {
    const a = client(h, 'lists/shopping', 'tok-alice');
    await whenSynced(a);
    await h.service.docs.transact(FAMILY, 'lists/shopping', (d) => d.getArray('items').push(['bread']));
    await waitFor(() => a.doc.getArray('items').length === 1);
    a.doc.getArray('items').push(['jam']);
    await waitFor(() => storedDoc(h.storage, 'lists/shopping').getArray('items').length === 2);
    const items = await h.service.docs.read(FAMILY, 'lists/shopping', (d) => d.getArray('items').toJSON());
    expect(items).toEqual(['bread', 'jam']);
    const state = await h.service.docs.encodeState(FAMILY, 'lists/shopping');
    const copy = new Y.Doc();
    Y.applyUpdate(copy, state);
    expect(copy.getArray('items').toJSON()).toEqual(['bread', 'jam']);

    const list = h.service.docs.list(FAMILY);
    expect(list.map((d) => d.name)).toEqual(['lists/shopping']);
    expect(list[0]!.bytes).toBeGreaterThan(0);
    expect(h.service.docs.list(OTHER_FAMILY)).toEqual([]);

    expect(h.service.docs.remove(FAMILY, 'lists/shopping')).toBe(true);
    await waitFor(() => a.closes.length > 0, 1000, 'close on delete');
    expect(a.closes[0]!.code).toBe(Close.GONE);
    expect(h.service.docs.list(FAMILY)).toEqual([]);
    expect(await h.service.docs.read(FAMILY, 'lists/shopping', (d) => d.getArray('items').length)).toBe(0);
  });
});
