import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../server/identity/secrets.js';
import { PASSWORD, addTestMember, api, expectError, login, seedFamily, startTestServer, type Family, type TestServer } from './helpers/hearth.js';

// Device pairing (RFC 8628 style), one-time QR tokens and invites, over real HTTP.

describe('device pairing, QR tokens and invites', () => {
  let t: TestServer;
  let fam: Family;
  beforeAll(async () => {
    // Many pairing starts in one file: lift the per-IP limit that rate-limit.test.ts covers.
    t = await startTestServer({ loginAttemptsPerMinute: 1000 });
    fam = await seedFamily(t, 'The Pairs', ['owner', 'admin', 'adult', 'child', 'guest']);
  });
  afterAll(() => t.close());

  async function start(deviceName: string) {
    const res = await api(t.url, 'POST', '/v1/pair/start', { body: { deviceName } });
    expect(res.status).toBe(200);
    return res.body as { deviceCode: string; userCode: string; verificationUri: string; expiresIn: number; interval: number };
  }

  /** Pretends the poll interval has passed, instead of sleeping 5 s. */
  function forgetLastPoll(deviceCode: string) {
    t.server.storage.sqlite.prepare('UPDATE pairing_requests SET last_poll_at = NULL WHERE device_code_hash = ?').run(hashSecret(deviceCode));
  }

  async function poll(deviceCode: string) {
    forgetLastPoll(deviceCode);
    return api(t.url, 'POST', '/v1/pair/token', { body: { deviceCode } });
  }

  it('runs the full device-code flow: start, inspect, approve, poll, use, and the code is then spent', async () => {
    const s = await start('Kitchen tablet');
    expect(s.userCode).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(s.deviceCode.length).toBeGreaterThanOrEqual(40);
    expect(s.expiresIn).toBe(600);
    expect(s.interval).toBe(5);
    expect(s.verificationUri).toBe(`${t.url}/pair`);

    expectError(await poll(s.deviceCode), 400, 'authorization_pending');

    const adult = fam.members.adult!;
    // Inspecting needs a signed-in member; it names the device before anyone approves.
    expectError(await api(t.url, 'POST', '/v1/pair/inspect', { body: { userCode: s.userCode } }), 401, 'UNAUTHORIZED');
    const inspected = await api(t.url, 'POST', '/v1/pair/inspect', { token: adult.token, body: { userCode: s.userCode.toLowerCase() } });
    expect(inspected.status).toBe(200);
    expect(inspected.body.deviceName).toBe('Kitchen tablet');
    expect(inspected.body.expiresIn).toBeGreaterThan(590);

    const approved = await api(t.url, 'POST', '/v1/pair/approve', { token: adult.token, body: { userCode: s.userCode } });
    expect(approved.status).toBe(200);
    expect(approved.body).toEqual({ deviceName: 'Kitchen tablet', memberId: adult.id, status: 'approved' });

    const tokens = await poll(s.deviceCode);
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({ tokenType: 'Bearer', familyId: fam.familyId, memberId: adult.id, role: 'adult' });
    expect(tokens.body.deviceId).not.toBe(adult.deviceId);

    const me = await api(t.url, 'GET', '/v1/me', { token: tokens.body.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.deviceId).toBe(tokens.body.deviceId);
    expect(me.body.member.id).toBe(adult.id);
    const devices = await api(t.url, 'GET', '/v1/me/devices', { token: adult.token });
    expect(devices.body.find((d: { id: string }) => d.id === tokens.body.deviceId)).toMatchObject({ name: 'Kitchen tablet', kind: 'paired' });

    // The refresh token from pairing rotates like any other.
    const refreshed = await api(t.url, 'POST', '/v1/auth/refresh', { body: { refreshToken: tokens.body.refreshToken } });
    expect(refreshed.status).toBe(200);

    // A second poll with the same device code gets nothing more.
    expectError(await poll(s.deviceCode), 400, 'expired_token');
    // And the user code can no longer be inspected or approved.
    expectError(await api(t.url, 'POST', '/v1/pair/inspect', { token: adult.token, body: { userCode: s.userCode } }), 404, 'NOT_FOUND');
    expectError(await api(t.url, 'POST', '/v1/pair/approve', { token: adult.token, body: { userCode: s.userCode } }), 404, 'NOT_FOUND');
  });

  it('answers access_denied after a member denies the code', async () => {
    const s = await start('Suspicious laptop');
    const denied = await api(t.url, 'POST', '/v1/pair/approve', { token: fam.members.adult!.token, body: { userCode: s.userCode, approve: false } });
    expect(denied.status).toBe(200);
    expect(denied.body.status).toBe('denied');
    expectError(await poll(s.deviceCode), 400, 'access_denied');
    expectError(await poll(s.deviceCode), 400, 'access_denied');
    // A denied code cannot be approved afterwards.
    expectError(await api(t.url, 'POST', '/v1/pair/approve', { token: fam.members.adult!.token, body: { userCode: s.userCode } }), 404, 'NOT_FOUND');
  });

  it('answers expired_token once the code has expired, and refuses to approve it', async () => {
    const s = await start('Slow phone');
    t.server.storage.sqlite.prepare('UPDATE pairing_requests SET expires_at = ? WHERE device_code_hash = ?').run(Date.now() - 1, hashSecret(s.deviceCode));
    expectError(await poll(s.deviceCode), 400, 'expired_token');
    expectError(await api(t.url, 'POST', '/v1/pair/approve', { token: fam.members.adult!.token, body: { userCode: s.userCode } }), 404, 'NOT_FOUND');
    expectError(await poll(s.deviceCode), 400, 'expired_token');
  });

  it('expires an approved code that was never collected', async () => {
    const s = await start('Forgotten phone');
    expect((await api(t.url, 'POST', '/v1/pair/approve', { token: fam.members.adult!.token, body: { userCode: s.userCode } })).status).toBe(200);
    t.server.storage.sqlite.prepare('UPDATE pairing_requests SET expires_at = ? WHERE device_code_hash = ?').run(Date.now() - 1, hashSecret(s.deviceCode));
    expectError(await poll(s.deviceCode), 400, 'expired_token');
  });

  it('answers slow_down to a device that polls faster than the interval, and widens the interval', async () => {
    const s = await start('Impatient phone');
    expectError(await api(t.url, 'POST', '/v1/pair/token', { body: { deviceCode: s.deviceCode } }), 400, 'authorization_pending');
    const fast = expectError(await api(t.url, 'POST', '/v1/pair/token', { body: { deviceCode: s.deviceCode } }), 400, 'slow_down');
    expect(fast.message).toContain('10 s');
    const row = t.server.storage.sqlite.prepare('SELECT interval_s FROM pairing_requests WHERE device_code_hash = ?').get(hashSecret(s.deviceCode)) as { interval_s: number };
    expect(row.interval_s).toBe(10);
    // After waiting (simulated) it is pending again.
    expectError(await poll(s.deviceCode), 400, 'authorization_pending');
  });

  it('answers invalid_grant to an unknown device code', async () => {
    expectError(await api(t.url, 'POST', '/v1/pair/token', { body: { deviceCode: 'not-a-real-device-code' } }), 400, 'invalid_grant');
    expectError(await api(t.url, 'POST', '/v1/pair/inspect', { token: fam.members.adult!.token, body: { userCode: 'BCDF-GHJK' } }), 404, 'NOT_FOUND');
  });

  it('lets an admin approve a device for another member', async () => {
    const s = await start("Grandma's tablet");
    const child = fam.members.child!;
    const approved = await api(t.url, 'POST', '/v1/pair/approve', { token: fam.members.admin!.token, body: { userCode: s.userCode, memberId: child.id } });
    expect(approved.status).toBe(200);
    expect(approved.body.memberId).toBe(child.id);
    const tokens = await poll(s.deviceCode);
    expect(tokens.status).toBe(200);
    expect(tokens.body.memberId).toBe(child.id);
    expect(tokens.body.role).toBe('child');
    const me = await api(t.url, 'GET', '/v1/me', { token: tokens.body.accessToken });
    expect(me.body.member.id).toBe(child.id);
  });

  it('refuses an admin pairing a device to a member of another family', async () => {
    const other = await seedFamily(t, 'Other family', ['owner']);
    const s = await start('Stray phone');
    const res = await api(t.url, 'POST', '/v1/pair/approve', { token: fam.members.admin!.token, body: { userCode: s.userCode, memberId: other.members.owner!.id } });
    expectError(res, 404, 'NOT_FOUND');
    expectError(await poll(s.deviceCode), 400, 'authorization_pending');
  });

  it('lets a child approve only for themselves, and a guest not at all', async () => {
    const child = fam.members.child!;
    const guest = fam.members.guest!;
    const s1 = await start('Child tablet');
    expectError(
      await api(t.url, 'POST', '/v1/pair/approve', { token: child.token, body: { userCode: s1.userCode, memberId: fam.members.adult!.id } }),
      403,
      'FORBIDDEN',
    );
    expectError(await api(t.url, 'POST', '/v1/pair/approve', { token: guest.token, body: { userCode: s1.userCode } }), 403, 'FORBIDDEN');
    expectError(
      await api(t.url, 'POST', '/v1/pair/approve', { token: guest.token, body: { userCode: s1.userCode, memberId: child.id } }),
      403,
      'FORBIDDEN',
    );
    // Still pending after the refusals; the child may take it for themselves.
    expectError(await poll(s1.deviceCode), 400, 'authorization_pending');
    const own = await api(t.url, 'POST', '/v1/pair/approve', { token: child.token, body: { userCode: s1.userCode } });
    expect(own.status).toBe(200);
    expect(own.body.memberId).toBe(child.id);
    expect((await poll(s1.deviceCode)).body.memberId).toBe(child.id);

    // One rule for both ways of pairing (authz/): a member pairs their own devices, by code or by QR; guests do not.
    expect((await api(t.url, 'POST', `/v1/families/${fam.familyId}/members/${child.id}/pairing-tokens`, { token: child.token })).status).toBe(201);
    expectError(
      await api(t.url, 'POST', `/v1/families/${fam.familyId}/members/${fam.members.adult!.id}/pairing-tokens`, { token: child.token }),
      403,
      'FORBIDDEN',
    );
    expectError(await api(t.url, 'POST', `/v1/families/${fam.familyId}/members/${guest.id}/pairing-tokens`, { token: guest.token }), 403, 'FORBIDDEN');
  });

  it('pairs a device with a one-time QR token, which works exactly once', async () => {
    const adult = fam.members.adult!;
    const created = await api(t.url, 'POST', `/v1/families/${fam.familyId}/members/${adult.id}/pairing-tokens`, { token: fam.members.admin!.token });
    expect(created.status).toBe(201);
    expect(created.body.token.length).toBeGreaterThanOrEqual(40);
    expect(created.body.expiresAt).toBeGreaterThan(Date.now());

    const redeemed = await api(t.url, 'POST', '/v1/pair/redeem', { body: { token: created.body.token, deviceName: 'Camera phone' } });
    expect(redeemed.status).toBe(200);
    expect(redeemed.body).toMatchObject({ memberId: adult.id, familyId: fam.familyId, role: 'adult' });
    expect((await api(t.url, 'GET', '/v1/me', { token: redeemed.body.accessToken })).body.member.id).toBe(adult.id);

    expectError(await api(t.url, 'POST', '/v1/pair/redeem', { body: { token: created.body.token, deviceName: 'Second phone' } }), 401, 'UNAUTHORIZED');
    expectError(await api(t.url, 'POST', '/v1/pair/redeem', { body: { token: 'made-up', deviceName: 'x' } }), 401, 'UNAUTHORIZED');

    // An expired QR token is refused too.
    const late = await api(t.url, 'POST', `/v1/families/${fam.familyId}/members/${adult.id}/pairing-tokens`, { token: fam.members.owner!.token });
    expect(late.status).toBe(201);
    t.server.storage.sqlite.prepare('UPDATE pairing_tokens SET expires_at = ? WHERE token_hash = ?').run(Date.now() - 1, hashSecret(late.body.token));
    expectError(await api(t.url, 'POST', '/v1/pair/redeem', { body: { token: late.body.token, deviceName: 'Late phone' } }), 401, 'UNAUTHORIZED');
    // An unknown member gets a 404, not a token.
    expectError(
      await api(t.url, 'POST', `/v1/families/${fam.familyId}/members/mem_0000000000000000/pairing-tokens`, { token: fam.members.admin!.token }),
      404,
      'NOT_FOUND',
    );
  });

  it('creates an invite over the API; the joined member can log in; the invite works once', async () => {
    const created = await api(t.url, 'POST', `/v1/families/${fam.familyId}/invites`, {
      token: fam.members.admin!.token,
      body: { role: 'adult', displayName: 'Cousin Vinny' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ familyId: fam.familyId, role: 'adult', displayName: 'Cousin Vinny', usedAt: null });
    expect(typeof created.body.code).toBe('string');
    expect(created.body.code.length).toBeGreaterThanOrEqual(40);
    expect(created.body.expiresAt - created.body.createdAt).toBe(72 * 3_600_000);

    const accepted = await api(t.url, 'POST', '/v1/invites/accept', {
      body: { code: created.body.code, username: 'vinny', password: PASSWORD, deviceName: "Vinny's phone" },
    });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ familyId: fam.familyId, role: 'adult' });
    const me = await api(t.url, 'GET', '/v1/me', { token: accepted.body.accessToken });
    expect(me.body.member).toMatchObject({ username: 'vinny', displayName: 'Cousin Vinny', role: 'adult', hasPassword: true });

    const session = await login(t, fam.familyId, 'vinny');
    expect(session.memberId).toBe(accepted.body.memberId);

    const reused = await api(t.url, 'POST', '/v1/invites/accept', {
      body: { code: created.body.code, username: 'vinny2', password: PASSWORD, deviceName: 'Another phone' },
    });
    expectError(reused, 401, 'UNAUTHORIZED');
    const members = await api(t.url, 'GET', `/v1/families/${fam.familyId}/members`, { token: fam.members.admin!.token });
    expect(members.body.map((m: { username: string }) => m.username)).not.toContain('vinny2');

    const list = await api(t.url, 'GET', `/v1/families/${fam.familyId}/invites`, { token: fam.members.admin!.token });
    const listed = list.body.find((i: { id: string }) => i.id === created.body.id);
    expect(listed.usedByMemberId).toBe(accepted.body.memberId);
    expect(listed.code).toBeUndefined();
  });

  it('refuses revoked and expired invites, owner invites and invites by non-admins', async () => {
    const admin = fam.members.admin!.token;
    const a = await api(t.url, 'POST', `/v1/families/${fam.familyId}/invites`, { token: admin, body: { role: 'guest' } });
    expect(a.status).toBe(201);
    expect((await api(t.url, 'DELETE', `/v1/families/${fam.familyId}/invites/${a.body.id}`, { token: admin })).status).toBe(204);
    expectError(await api(t.url, 'POST', '/v1/invites/accept', { body: { code: a.body.code, username: 'ghost', deviceName: 'x' } }), 401, 'UNAUTHORIZED');

    const b = await api(t.url, 'POST', `/v1/families/${fam.familyId}/invites`, { token: admin, body: { role: 'child', ttlHours: 1 } });
    t.server.storage.sqlite.prepare('UPDATE invites SET expires_at = ? WHERE id = ?').run(Date.now() - 1, b.body.id);
    expectError(await api(t.url, 'POST', '/v1/invites/accept', { body: { code: b.body.code, username: 'late', deviceName: 'x' } }), 401, 'UNAUTHORIZED');

    expectError(await api(t.url, 'POST', `/v1/families/${fam.familyId}/invites`, { token: admin, body: { role: 'owner' } }), 422, 'VALIDATION_FAILED');
    expectError(await api(t.url, 'POST', `/v1/families/${fam.familyId}/invites`, { token: fam.members.adult!.token, body: { role: 'guest' } }), 403, 'FORBIDDEN');
  });

  it('accepts a device-only invite (no password) whose member then cannot log in with a password', async () => {
    const inv = await api(t.url, 'POST', `/v1/families/${fam.familyId}/invites`, { token: fam.members.owner!.token, body: { role: 'child' } });
    const accepted = await api(t.url, 'POST', '/v1/invites/accept', { body: { code: inv.body.code, username: 'tablet-kid', deviceName: 'Tablet' } });
    expect(accepted.status).toBe(200);
    expect(accepted.body.role).toBe('child');
    const res = await api(t.url, 'POST', '/v1/auth/login', {
      body: { familyId: fam.familyId, username: 'tablet-kid', password: PASSWORD, deviceName: 'x' },
    });
    expectError(res, 401, 'UNAUTHORIZED');
    // The added member shows up for the family; a second member with the same name cannot join.
    await addTestMember(t, fam.familyId, 'solo', 'adult', null);
    const inv2 = await api(t.url, 'POST', `/v1/families/${fam.familyId}/invites`, { token: fam.members.owner!.token, body: { role: 'adult' } });
    expectError(await api(t.url, 'POST', '/v1/invites/accept', { body: { code: inv2.body.code, username: 'solo', deviceName: 'x' } }), 409, 'CONFLICT');
    // The conflict did not burn the invite.
    const retry = await api(t.url, 'POST', '/v1/invites/accept', { body: { code: inv2.body.code, username: 'solo2', deviceName: 'x' } });
    expect(retry.status).toBe(200);
  });
});
