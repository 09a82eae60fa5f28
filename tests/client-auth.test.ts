import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import { createHearthClient, HearthApiError, PairingError, SessionRevokedError, memoryStorage, Reminders, readInbox } from '../client/index.js';
import { PASSWORD, seedFamily, startTestServer, type Family, type TestServer } from './helpers/hearth.js';
import { waitFor } from './helpers/sync-harness.js';

let t: TestServer;
let fam: Family;

beforeAll(async () => {
  t = await startTestServer({ accessTokenTtlS: 30, loginAttemptsPerMinute: 1000 });
  fam = await seedFamily(t, 'Client family', ['owner', 'adult']);
});
afterAll(async () => {
  await t.close();
  fs.rmSync(t.dataDir, { recursive: true, force: true });
});

/** A fetch that counts calls per path. */
function countingFetch() {
  const calls: string[] = [];
  const f = (input: string, init?: RequestInit) => {
    calls.push(`${init?.method ?? 'GET'} ${new URL(input).pathname}`);
    return fetch(input, init);
  };
  return { f, calls, count: (p: string) => calls.filter((c) => c === p).length };
}

async function signedIn(opts: { now?: () => number; fetch?: typeof fetch } = {}) {
  const client = createHearthClient({ baseUrl: t.url, WebSocket: WebSocket as never, ...opts });
  await client.auth.login({ familyId: fam.familyId, username: fam.members.adult!.username, password: PASSWORD, deviceName: 'vitest' });
  return client;
}

describe('client auth', () => {
  it('ten requests at expiry share one refresh (proactive: the client sees the token expiring)', async () => {
    let clock = Date.now();
    const cf = countingFetch();
    const client = await signedIn({ now: () => clock, fetch: cf.f as typeof fetch });
    const before = (await client.auth.session())!;
    clock += 31_000; // past the 30 s lifetime on the client's clock
    const results = await Promise.all(Array.from({ length: 10 }, () => client.auth.me()));
    expect(results.map((r) => r.member.id)).toEqual(Array(10).fill(fam.members.adult!.id));
    expect(cf.count('POST /v1/auth/refresh')).toBe(1);
    const after = (await client.auth.session())!;
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.accessExpiresAt).toBe(clock + 30_000);
  });

  it('ten requests that get 401 (token dead on the server) share one refresh and succeed on retry', async () => {
    const cf = countingFetch();
    const storage = memoryStorage();
    const client = createHearthClient({ baseUrl: t.url, storage, fetch: cf.f as typeof fetch });
    await client.auth.login({ familyId: fam.familyId, username: fam.members.adult!.username, password: PASSWORD, deviceName: 'vitest-401' });
    const s = (await storage.get())!;
    // A token the server refuses while the client still believes it is fresh (clock skew, key rotation).
    await storage.set({ ...s, accessToken: s.accessToken.slice(0, -4) + 'AAAA' });
    const results = await Promise.all(Array.from({ length: 10 }, () => client.family.members.list()));
    expect(results.every((r) => r.length === 2)).toBe(true);
    expect(cf.count('GET /v1/families/' + fam.familyId + '/members')).toBe(20);
    expect(cf.count('POST /v1/auth/refresh')).toBe(1);
  });

  it('refresh-token reuse surfaces as SessionRevokedError(reused), clears storage and revokes the device', async () => {
    const storage = memoryStorage();
    const client = createHearthClient({ baseUrl: t.url, storage });
    await client.auth.login({ familyId: fam.familyId, username: fam.members.adult!.username, password: PASSWORD, deviceName: 'stolen' });
    const stolen = (await storage.get())!;
    await client.auth.refresh(); // the owner rotates: `stolen.refreshToken` is now used
    const thief = createHearthClient({ baseUrl: t.url, storage: memoryStorage({ ...stolen, accessExpiresAt: 0 }) });
    const ended: SessionRevokedError[] = [];
    thief.onSessionEnd((e) => ended.push(e));
    const err = await thief.auth.me().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionRevokedError);
    expect((err as SessionRevokedError).reason).toBe('reused');
    expect((err as SessionRevokedError).code).toBe('UNAUTHORIZED');
    expect(ended).toHaveLength(1);
    expect(await thief.auth.session()).toBeNull();
    // The device is revoked for the legitimate holder too: its next refresh is refused as revoked.
    const err2 = await client.auth.refresh().catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(SessionRevokedError);
    expect(['revoked', 'unknown']).toContain((err2 as SessionRevokedError).reason);
    expect(await storage.get()).toBeNull();
  });

  it('API errors carry code, status and details', async () => {
    const client = createHearthClient({ baseUrl: t.url });
    const err = (await client.auth.login({ familyId: fam.familyId, username: 'x', password: '', deviceName: 'd' }).catch((e: unknown) => e)) as HearthApiError;
    expect(err).toBeInstanceOf(HearthApiError);
    expect(err.status).toBe(422);
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.details.length).toBeGreaterThan(0);
    const wrong = (await client.auth.login({ familyId: fam.familyId, username: 'nobody', password: 'x', deviceName: 'd' }).catch((e: unknown) => e)) as HearthApiError;
    expect([wrong.status, wrong.code]).toEqual([401, 'UNAUTHORIZED']);
    expect(wrong).not.toBeInstanceOf(SessionRevokedError);
  });

  it('pairing by code: poll honours authorization_pending and slow_down, the owner inspects and approves', async () => {
    const waits: number[] = [];
    let approved = false;
    const owner = createHearthClient({ baseUrl: t.url });
    await owner.auth.login({ familyId: fam.familyId, username: fam.members.owner!.username, password: PASSWORD, deviceName: 'owner' });
    const seen: string[] = [];
    const device = createHearthClient({
      baseUrl: t.url,
      // No real waiting: the first wait is skipped short so the server answers slow_down once.
      sleep: async (ms) => {
        waits.push(ms);
        if (waits.length === 3 && !approved) {
          const info = await owner.pairing.inspect(start.userCode);
          seen.push(info.deviceName);
          await owner.pairing.approve(start.userCode.replace('-', ' ').toLowerCase());
          approved = true;
        }
      },
    });
    const start = await device.pairing.start('kitchen tablet');
    expect(start.userCode).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    expect(start.qrPayload).toBe(`${start.verificationUri}?code=${encodeURIComponent(start.userCode)}`);
    const session = await device.pairing.poll(start);
    expect(seen).toEqual(['kitchen tablet']);
    expect(session.memberId).toBe(fam.members.owner!.id);
    // 1st poll: pending; 2nd (too soon): slow_down → interval + 5 s; 3rd approved.
    expect(waits[0]).toBe(start.interval * 1000);
    expect(waits[2]).toBe((start.interval + 5) * 1000);
    expect((await device.auth.me()).deviceId).toBe(session.deviceId);
  });

  it('pairing denied ends the poll with PairingError(access_denied)', async () => {
    const owner = await signedIn();
    const device = createHearthClient({ baseUrl: t.url, sleep: async () => {} });
    const start = await device.pairing.start('unknown phone');
    await owner.pairing.deny(start.userCode).catch(() => {});
    // The adult may deny? approve is for any non-guest; deny via owner client in case.
    const err = await device.pairing.poll(start).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PairingError);
    expect((err as PairingError).code).toBe('access_denied');
  });

  it('QR token: the owner creates one for a member, the new device redeems it once', async () => {
    const owner = createHearthClient({ baseUrl: t.url });
    await owner.auth.login({ familyId: fam.familyId, username: fam.members.owner!.username, password: PASSWORD, deviceName: 'owner' });
    const { token } = await owner.pairing.createToken(fam.members.adult!.id);
    const device = createHearthClient({ baseUrl: t.url });
    const s = await device.pairing.redeem(token, 'scanned phone');
    expect(s.memberId).toBe(fam.members.adult!.id);
    const again = (await createHearthClient({ baseUrl: t.url }).pairing.redeem(token, 'x').catch((e: unknown) => e)) as HearthApiError;
    expect(again.status).toBe(401);
  });

  it('invites: create as owner, accept on a new device', async () => {
    const owner = createHearthClient({ baseUrl: t.url });
    await owner.auth.login({ familyId: fam.familyId, username: fam.members.owner!.username, password: PASSWORD, deviceName: 'owner' });
    const inv = await owner.invites.create({ role: 'child', displayName: 'Kid' });
    const kid = createHearthClient({ baseUrl: t.url });
    const s = await kid.invites.accept({ code: inv.code, username: 'kiddo', deviceName: 'kid tablet' });
    expect(s.role).toBe('child');
    expect((await owner.invites.list()).find((i) => i.id === inv.id)?.usedByMemberId).toBe(s.memberId);
    await kid.auth.logout();
    expect(await kid.auth.session()).toBeNull();
  });
});

describe('client sync provider', () => {
  it('reconnects after the token expired: the stock provider redials with a refreshed token', async () => {
    let clock = Date.now();
    const cf = countingFetch();
    const client = await signedIn({ now: () => clock, fetch: cf.f as typeof fetch });
    const doc = new Y.Doc();
    const provider = await client.provider('lists/groceries', doc, { disableBc: true });
    try {
      await waitFor(() => provider.synced, 5000);
      doc.getArray<string>('items').push(['milk']);
      // The token runs out (client clock) and the socket drops (server restart, network change).
      clock += 31_000;
      const s = (await client.auth.session())!;
      // The server must refuse the old token as it would an expired one: swap in a token it rejects.
      provider.params = { ...provider.params, token: s.accessToken.slice(0, -4) + 'AAAA' };
      provider.ws?.close();
      await waitFor(() => provider.wsconnected && provider.synced && !provider.params.token!.endsWith('AAAA'), 8000);
      expect(cf.count('POST /v1/auth/refresh')).toBe(1);
      // The stock provider is still stock and still syncing: a second client sees the edit.
      const other = await signedIn();
      const doc2 = new Y.Doc();
      const p2 = await other.provider('lists/groceries', doc2, { disableBc: true });
      await waitFor(() => doc2.getArray('items').length === 1, 5000);
      doc2.getArray<string>('items').push(['eggs']);
      await waitFor(() => doc.getArray('items').length === 2, 5000);
      p2.destroy();
    } finally {
      provider.destroy();
    }
  });

  it('a revoked device: the provider stops redialling and the session ends', async () => {
    const client = await signedIn();
    const doc = new Y.Doc();
    const provider = await client.provider('notes/a', doc, { disableBc: true });
    const ended: string[] = [];
    client.onSessionEnd((e) => ended.push(e.reason));
    try {
      await waitFor(() => provider.synced, 5000);
      const s = (await client.auth.session())!;
      // Force the next dial to need a refresh, then revoke the device.
      await client.auth.revokeMyDevice(s.deviceId);
      await client.transport.storage.set({ ...s, accessExpiresAt: 0 });
      await waitFor(() => ended.length > 0 && !provider.shouldConnect, 8000);
      expect(['revoked', 'unknown']).toContain(ended[0]);
    } finally {
      provider.destroy();
    }
  });
});

describe('inbox and reminders helpers', () => {
  it('reminders: add, edit, complete, delete on the documented schema; inbox reads newest first', () => {
    const doc = new Y.Doc();
    const r = new Reminders(doc);
    const id = r.add({ title: 'Bins out', dueAt: '2026-12-03T19:00:00+01:00', recipients: 'family', repeat: 'weekly' });
    expect(doc.getMap('reminders').get(id)).toEqual({ title: 'Bins out', dueAt: '2026-12-03T19:00:00+01:00', recipients: 'family', repeat: 'weekly' });
    r.edit(id, { title: 'Bins out (green)' });
    r.complete(id);
    expect(r.get(id)).toMatchObject({ title: 'Bins out (green)', done: true });
    expect(() => r.add({ title: 'x', dueAt: '2026-12-03 19:00', recipients: 'family' })).toThrow(/dueAt/);
    expect(r.remove(id)).toBe(true);
    expect(r.list()).toEqual([]);
    const inbox = new Y.Doc();
    inbox.getArray('notifications').push([
      { id: 'a', kind: 'reminder', title: 'old', body: '', createdAt: '2026-01-01T00:00:00.000Z' },
      { id: 'b', kind: 'reminder', title: 'new', body: '', createdAt: '2026-02-01T00:00:00.000Z' },
      { nonsense: true },
    ]);
    expect(readInbox(inbox).map((n) => n.id)).toEqual(['b', 'a']);
  });
});

describe('browser safety', () => {
  it('client/ type-checks with DOM libs only (no Node globals) and imports no node: modules', () => {
    const root = path.resolve(import.meta.dirname, '..');
    execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'client/tsconfig.json'], { cwd: root, stdio: 'pipe' });
    for (const f of fs.readdirSync(path.join(root, 'client'), { recursive: true }) as string[]) {
      if (!f.endsWith('.ts')) continue;
      const src = fs.readFileSync(path.join(root, 'client', f), 'utf8');
      expect(src, f).not.toMatch(/from ['"](node:|\.\.\/(server|sync|storage|cli)\/)/);
      expect(src, f).not.toMatch(/\bBuffer\.|\bprocess\.(env|on|exit|argv|versions|nextTick)/);
    }
  }, 60_000);
});
