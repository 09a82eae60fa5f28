import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeRole } from '../server/identity/members.js';
import { CLI_ACTOR } from '../server/identity/context.js';
import { addTestMember, api, expectError, login, seedFamily, startTestServer, type Family, type TestServer } from './helpers/hearth.js';

// Role rules: owners, admins, children and read-only guests.

describe('roles', () => {
  let t: TestServer;
  let fam: Family;
  let base: string;
  beforeAll(async () => {
    t = await startTestServer({ loginAttemptsPerMinute: 1000 });
    fam = await seedFamily(t, 'The Roles', ['owner', 'admin', 'adult', 'child', 'guest']);
    base = `/v1/families/${fam.familyId}`;
  });
  afterAll(() => t.close());

  const roleInDb = (memberId: string) =>
    (t.server.storage.sqlite.prepare('SELECT role FROM members WHERE id = ?').get(memberId) as { role: string } | undefined)?.role;

  it('keeps the last owner: cannot be demoted or removed (409)', async () => {
    const owner = fam.members.owner!;
    expectError(await api(t.url, 'PATCH', `${base}/members/${owner.id}`, { token: owner.token, body: { role: 'admin' } }), 409, 'CONFLICT');
    expectError(await api(t.url, 'DELETE', `${base}/members/${owner.id}`, { token: owner.token }), 409, 'CONFLICT');
    expect(roleInDb(owner.id)).toBe('owner');
    // An admin may not touch the owner at all.
    expectError(await api(t.url, 'PATCH', `${base}/members/${owner.id}`, { token: fam.members.admin!.token, body: { role: 'adult' } }), 403, 'FORBIDDEN');
    expectError(await api(t.url, 'DELETE', `${base}/members/${owner.id}`, { token: fam.members.admin!.token }), 403, 'FORBIDDEN');
    expect(roleInDb(owner.id)).toBe('owner');
  });

  it('lets an owner hand over: with two owners, one can step down', async () => {
    const owner = fam.members.owner!;
    const second = await addTestMember(t, fam.familyId, 'coowner', 'adult', null);
    const promoted = await api(t.url, 'PATCH', `${base}/members/${second.id}`, { token: owner.token, body: { role: 'owner' } });
    expect(promoted.status).toBe(200);
    expect(promoted.body.role).toBe('owner');
    // Now the original owner may be demoted; then the co-owner is the last one.
    const demoted = await api(t.url, 'PATCH', `${base}/members/${owner.id}`, { token: owner.token, body: { role: 'admin' } });
    expect(demoted.status).toBe(200);
    expect(roleInDb(owner.id)).toBe('admin');
    expectError(await api(t.url, 'DELETE', `${base}/members/${second.id}`, { token: owner.token }), 403, 'FORBIDDEN');
    // Put things back through the domain layer as the CLI would (the old owner is now only an admin).
    changeRole(t.server.identity, fam.familyId, owner.id, 'owner', CLI_ACTOR);
    expect((await api(t.url, 'DELETE', `${base}/members/${second.id}`, { token: owner.token })).status).toBe(204);
    expectError(await api(t.url, 'DELETE', `${base}/members/${owner.id}`, { token: owner.token }), 409, 'CONFLICT');
  });

  it('does not let an admin make owners', async () => {
    const admin = fam.members.admin!;
    expectError(await api(t.url, 'PATCH', `${base}/members/${fam.members.adult!.id}`, { token: admin.token, body: { role: 'owner' } }), 403, 'FORBIDDEN');
    expectError(await api(t.url, 'PATCH', `${base}/members/${admin.id}`, { token: admin.token, body: { role: 'owner' } }), 403, 'FORBIDDEN');
    expectError(await api(t.url, 'POST', `${base}/members`, { token: admin.token, body: { username: 'newowner', role: 'owner' } }), 403, 'FORBIDDEN');
    expect(roleInDb(fam.members.adult!.id)).toBe('adult');
    expect(roleInDb(admin.id)).toBe('admin');
    // But an admin manages everyone below owner.
    const added = await api(t.url, 'POST', `${base}/members`, { token: admin.token, body: { username: 'helper', role: 'guest' } });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ username: 'helper', role: 'guest', hasPassword: false, familyId: fam.familyId });
    const changed = await api(t.url, 'PATCH', `${base}/members/${added.body.id}`, { token: admin.token, body: { role: 'child' } });
    expect(changed.body.role).toBe('child');
    expect((await api(t.url, 'DELETE', `${base}/members/${added.body.id}`, { token: admin.token })).status).toBe(204);
    expectError(await api(t.url, 'GET', `${base}/members/${added.body.id}`, { token: admin.token }), 404, 'NOT_FOUND');
  });

  it('does not let a child or an adult manage members (403)', async () => {
    for (const who of [fam.members.child!, fam.members.adult!]) {
      expectError(await api(t.url, 'POST', `${base}/members`, { token: who.token, body: { username: `by-${who.role}`, role: 'guest' } }), 403, 'FORBIDDEN');
      expectError(await api(t.url, 'PATCH', `${base}/members/${fam.members.guest!.id}`, { token: who.token, body: { role: 'child' } }), 403, 'FORBIDDEN');
      expectError(await api(t.url, 'PATCH', `${base}/members/${who.id}`, { token: who.token, body: { role: 'admin' } }), 403, 'FORBIDDEN');
      expectError(await api(t.url, 'DELETE', `${base}/members/${fam.members.guest!.id}`, { token: who.token }), 403, 'FORBIDDEN');
      expectError(await api(t.url, 'PATCH', base, { token: who.token, body: { name: 'Renamed' } }), 403, 'FORBIDDEN');
      expectError(await api(t.url, 'POST', `${base}/invites`, { token: who.token, body: { role: 'guest' } }), 403, 'FORBIDDEN');
      expectError(await api(t.url, 'GET', `${base}/audit`, { token: who.token }), 403, 'FORBIDDEN');
      expectError(await api(t.url, 'DELETE', `${base}/devices/${fam.members.guest!.deviceId}`, { token: who.token }), 403, 'FORBIDDEN');
    }
    expect(roleInDb(fam.members.guest!.id)).toBe('guest');
    expect(roleInDb(fam.members.child!.id)).toBe('child');
    // Members see only their own devices; admins see all.
    const own = await api(t.url, 'GET', `${base}/devices`, { token: fam.members.child!.token });
    expect(own.body.every((d: { memberId: string }) => d.memberId === fam.members.child!.id)).toBe(true);
    const all = await api(t.url, 'GET', `${base}/devices`, { token: fam.members.admin!.token });
    expect(new Set(all.body.map((d: { memberId: string }) => d.memberId)).size).toBeGreaterThanOrEqual(5);
  });

  it('keeps a guest read-only: every family-scoped write is 403, except revoking their own device and their own side of the vault', async () => {
    const guest = fam.members.guest!;
    expect((await api(t.url, 'GET', base, { token: guest.token })).status).toBe(200);
    expect((await api(t.url, 'GET', `${base}/members`, { token: guest.token })).status).toBe(200);
    // A guest may be a vault recipient (an emergency contact outside the family): they register
    // their own key and may ask for an entry addressed to them. They never own an entry.
    const guestVault = ['PUT /v1/families/:familyId/vault/key', 'POST /v1/families/:familyId/vault/entries/:entryId/request'];
    const writes = t.server.app.familyRoutes.filter((r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method) && !guestVault.includes(`${r.method} ${r.url}`));
    expect(writes.length).toBeGreaterThanOrEqual(6);
    for (const route of writes) {
      const url = route.url.replace(':familyId', fam.familyId).replace(/:(\w+)/g, (_m, name: string) =>
        name === 'deviceId' ? fam.members.adult!.deviceId : name === 'memberId' ? guest.id : 'x_0000000000000000',
      );
      const res = await api(t.url, route.method, url, { token: guest.token, body: route.method === 'DELETE' ? undefined : { role: 'guest', name: 'x' } });
      expect({ route: `${route.method} ${route.url}`, status: res.status }).toEqual({ route: `${route.method} ${route.url}`, status: 403 });
      expectError(res, 403, 'FORBIDDEN');
    }
    expect(roleInDb(guest.id)).toBe('guest');
    // The exception: a guest who lost a phone revokes it.
    const spare = await login(t, fam.familyId, guest.username, undefined, 'guest spare phone');
    const revoked = await api(t.url, 'DELETE', `${base}/devices/${spare.deviceId}`, { token: guest.token });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toBeGreaterThan(0);
    expectError(await api(t.url, 'GET', '/v1/me', { token: spare.accessToken }), 401, 'UNAUTHORIZED');
  });

  it('applies a role change on the very next request, with the same access token', async () => {
    const target = await addTestMember(t, fam.familyId, 'promotee', 'child');
    const s = await login(t, fam.familyId, 'promotee');
    expectError(await api(t.url, 'POST', `${base}/invites`, { token: s.accessToken, body: { role: 'guest' } }), 403, 'FORBIDDEN');

    expect((await api(t.url, 'PATCH', `${base}/members/${target.id}`, { token: fam.members.owner!.token, body: { role: 'admin' } })).status).toBe(200);
    // The token still says "child"; the database says admin, and the database wins.
    const invited = await api(t.url, 'POST', `${base}/invites`, { token: s.accessToken, body: { role: 'guest' } });
    expect(invited.status).toBe(201);
    expect((await api(t.url, 'GET', '/v1/me', { token: s.accessToken })).body.member.role).toBe('admin');

    expect((await api(t.url, 'PATCH', `${base}/members/${target.id}`, { token: fam.members.owner!.token, body: { role: 'guest' } })).status).toBe(200);
    expectError(await api(t.url, 'POST', `${base}/invites`, { token: s.accessToken, body: { role: 'guest' } }), 403, 'FORBIDDEN');
    expectError(await api(t.url, 'PATCH', base, { token: s.accessToken, body: { name: 'x' } }), 403, 'FORBIDDEN');
    // A refreshed token carries the new role.
    const refreshed = await api(t.url, 'POST', '/v1/auth/refresh', { body: { refreshToken: s.refreshToken } });
    expect(refreshed.body.role).toBe('guest');

    // Removing a member kills their tokens immediately.
    expect((await api(t.url, 'DELETE', `${base}/members/${target.id}`, { token: fam.members.owner!.token })).status).toBe(204);
    expectError(await api(t.url, 'GET', '/v1/me', { token: refreshed.body.accessToken }), 401, 'UNAUTHORIZED');
  });
});
