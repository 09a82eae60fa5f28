import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { api, seedFamily, startTestServer, type Family, type TestServer } from './helpers/hearth.js';
import { waitFor } from './helpers/sync-harness.js';
import { stockClient } from './helpers/stock-client.js';

// The whole stack: HTTP login, then the stock y-websocket client against the real server.

describe('sync through the real server', () => {
  let t: TestServer;
  let fam: Family;
  let other: Family;
  const providers: WebsocketProvider[] = [];

  const connect = (docName: string, token: string, familyId = fam.familyId) => {
    const c = stockClient(t.url, `${familyId}/${docName}`, token);
    providers.push(c.provider);
    return c;
  };

  const upgradeStatus = (path: string, headers: Record<string, string> = {}) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`${t.url.replace('http', 'ws')}${path}`, { headers });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('error', () => {});
    });

  beforeAll(async () => {
    // The stock client warns with the full URL, token included: keep tokens out of CI output.
    const warn = console.warn.bind(console);
    vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      if (!String(args[0]).startsWith('Permission denied')) warn(...args);
    });
    t = await startTestServer();
    fam = await seedFamily(t, 'The Smiths', ['owner', 'adult', 'guest']);
    other = await seedFamily(t, 'The Joneses', ['owner']);
  });
  afterAll(async () => {
    for (const p of providers) p.destroy();
    await t.close();
  });

  it('two family members converge, and the HTTP API serves the stored state', async () => {
    const a = connect('lists/groceries', fam.members.owner!.token);
    const b = connect('lists/groceries', fam.members.adult!.token);
    await Promise.all([a.synced, b.synced]);
    a.doc.getArray<string>('items').push(['milk']);
    b.doc.getArray<string>('items').push(['bread']);
    await waitFor(() => a.doc.getArray('items').length === 2 && b.doc.getArray('items').length === 2);

    const list = await api(t.url, 'GET', `/v1/families/${fam.familyId}/docs`, { token: fam.members.adult!.token });
    expect(list.status).toBe(200);
    expect(list.body.map((d: { name: string }) => d.name)).toContain('lists/groceries');

    const res = await fetch(`${t.url}/v1/families/${fam.familyId}/docs/lists/groceries`, {
      headers: { authorization: `Bearer ${fam.members.guest!.token}` },
    });
    expect(res.status).toBe(200);
    const copy = new Y.Doc();
    Y.applyUpdate(copy, new Uint8Array(await res.arrayBuffer()));
    expect(copy.getArray('items').toArray().sort()).toEqual(['bread', 'milk']);
  });

  it('refuses bad tokens with 401, other and unknown families alike with 403, at the upgrade', async () => {
    expect(await upgradeStatus(`/sync/${fam.familyId}/notes`)).toBe(401);
    expect(await upgradeStatus(`/sync/${fam.familyId}/notes?token=garbage`)).toBe(401);
    expect(await upgradeStatus(`/sync/${fam.familyId}/notes?token=${other.members.owner!.token}`)).toBe(403);
    expect(await upgradeStatus(`/sync/fam_0000000000000000/notes?token=${fam.members.owner!.token}`)).toBe(403);
    expect(await upgradeStatus(`/sync/${fam.familyId}/private/${fam.members.owner!.id}/diary?token=${fam.members.adult!.token}`)).toBe(403);
    expect(
      await upgradeStatus(`/sync/${fam.familyId}/notes`, { authorization: `Bearer ${fam.members.adult!.token}` }),
    ).toBe(101);
  });

  it('a guest receives everything but cannot change the stored document', async () => {
    const owner = connect('board', fam.members.owner!.token);
    await owner.synced;
    owner.doc.getMap('m').set('k', 'owner');
    const guest = connect('board', fam.members.guest!.token);
    await guest.synced;
    await waitFor(() => guest.doc.getMap('m').get('k') === 'owner');
    guest.doc.getMap('m').set('k', 'guest');
    guest.doc.getMap('m').set('g', 1);
    await new Promise((r) => setTimeout(r, 300));
    const stored = await t.server.sync.service.docs.read(fam.familyId, 'board', (d) => d.getMap('m').toJSON());
    expect(stored).toEqual({ k: 'owner' });
    expect(owner.doc.getMap('m').get('g')).toBeUndefined();
  });

  it('revoking a device over HTTP closes its socket within a second', async () => {
    const device = await api(t.url, 'POST', '/v1/auth/login', {
      body: { familyId: fam.familyId, username: fam.members.adult!.username, password: 'correct horse battery staple', deviceName: 'tablet' },
    });
    expect(device.status).toBe(200);
    const c = connect('notes', device.body.accessToken);
    await c.synced;
    const closed = new Promise<{ code: number; at: number }>((resolve) => {
      (c.provider.ws as unknown as WebSocket).addEventListener('close', (ev) => resolve({ code: ev.code, at: Date.now() }));
    });
    const started = Date.now();
    const res = await api(t.url, 'DELETE', `/v1/families/${fam.familyId}/devices/${device.body.deviceId}`, { token: fam.members.owner!.token });
    expect(res.status).toBe(200);
    const { code, at } = await closed;
    expect(code).toBeGreaterThanOrEqual(4000);
    expect(at - started).toBeLessThan(1000);
    c.provider.disconnect();
  });

  it('lowering a role downgrades the live socket: further edits are dropped', async () => {
    const owner = connect('downgrade', fam.members.owner!.token);
    const adult = connect('downgrade', fam.members.adult!.token);
    await Promise.all([owner.synced, adult.synced]);
    adult.doc.getMap('m').set('before', true);
    await waitFor(() => owner.doc.getMap('m').get('before') === true);
    const res = await api(t.url, 'PATCH', `/v1/families/${fam.familyId}/members/${fam.members.adult!.id}`, {
      token: fam.members.owner!.token,
      body: { role: 'guest' },
    });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    adult.doc.getMap('m').set('after', true);
    await new Promise((r) => setTimeout(r, 300));
    const stored = await t.server.sync.service.docs.read(fam.familyId, 'downgrade', (d) => d.getMap('m').toJSON());
    expect(stored).toEqual({ before: true });
  });
});
