import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { signAccessToken } from '../server/identity/access-tokens.js';
import { api, expectError, login, seedFamily, startTestServer, type Family, type TestServer } from './helpers/hearth.js';

// Access and refresh tokens: rotation, theft detection, logout, and every way a bad token is refused.

describe('tokens', () => {
  let t: TestServer;
  let fam: Family;
  beforeAll(async () => {
    t = await startTestServer({ loginAttemptsPerMinute: 1000 });
    fam = await seedFamily(t, 'The Tokens', ['owner', 'adult']);
  });
  afterAll(() => t.close());

  const me = (token: string) => api(t.url, 'GET', '/v1/me', { token });
  const refresh = (refreshToken: string) => api(t.url, 'POST', '/v1/auth/refresh', { body: { refreshToken } });
  const claimsOf = (member: { id: string; deviceId: string; role: string }) => ({
    familyId: fam.familyId,
    memberId: member.id,
    deviceId: member.deviceId,
    role: member.role as 'adult',
  });

  it('issues an EdDSA access token carrying family, member, device and role', async () => {
    const adult = fam.members.adult!;
    expect(decodeProtectedHeader(adult.token).alg).toBe('EdDSA');
    const claims = decodeJwt(adult.token);
    expect(claims).toMatchObject({ sub: adult.id, fam: fam.familyId, dev: adult.deviceId, role: 'adult', iss: 'hearth', aud: 'hearth' });
    expect(claims.exp! - claims.iat!).toBe(900);
  });

  it('rotates refresh tokens: the new one works, the old one does not', async () => {
    const s = await login(t, fam.familyId, fam.members.adult!.username, undefined, 'rotation phone');
    const r1 = await refresh(s.refreshToken);
    expect(r1.status).toBe(200);
    expect(r1.body.deviceId).toBe(s.deviceId);
    expect(r1.body.refreshToken).not.toBe(s.refreshToken);
    expect((await me(r1.body.accessToken)).status).toBe(200);

    const r2 = await refresh(r1.body.refreshToken);
    expect(r2.status).toBe(200);
    expect(r2.body.deviceId).toBe(s.deviceId);
    // Only the stored hash is kept.
    const stored = t.server.storage.sqlite.prepare('SELECT token_hash FROM refresh_tokens WHERE device_id = ?').all(s.deviceId) as { token_hash: string }[];
    expect(stored.length).toBeGreaterThan(0);
    for (const row of stored) expect([s.refreshToken, r1.body.refreshToken, r2.body.refreshToken]).not.toContain(row.token_hash);

    expectError(await refresh('no-such-refresh-token'), 401, 'UNAUTHORIZED');
  });

  it('revokes the device when an already-used refresh token is presented again', async () => {
    const s = await login(t, fam.familyId, fam.members.adult!.username, undefined, 'stolen phone');
    const r1 = await refresh(s.refreshToken);
    expect(r1.status).toBe(200);
    expect((await me(r1.body.accessToken)).status).toBe(200);

    // The thief (or the owner) replays the old token.
    const reuse = expectError(await refresh(s.refreshToken), 401, 'UNAUTHORIZED');
    expect(reuse.message).toContain('reused');

    // The device is gone for everyone: its access token and its newest refresh token fail.
    expectError(await me(r1.body.accessToken), 401, 'UNAUTHORIZED');
    expectError(await me(s.accessToken), 401, 'UNAUTHORIZED');
    expectError(await refresh(r1.body.refreshToken), 401, 'UNAUTHORIZED');
    const device = t.server.storage.sqlite.prepare('SELECT revoked_at FROM devices WHERE id = ?').get(s.deviceId) as { revoked_at: number | null };
    expect(device.revoked_at).not.toBeNull();
    // Other devices of the same member are unaffected.
    expect((await me(fam.members.adult!.token)).status).toBe(200);
  });

  it('logout revokes this device and only this device', async () => {
    const a = await login(t, fam.familyId, fam.members.adult!.username, undefined, 'logout phone');
    const b = await login(t, fam.familyId, fam.members.adult!.username, undefined, 'other phone');
    expectError(await api(t.url, 'POST', '/v1/auth/logout'), 401, 'UNAUTHORIZED');
    const out = await api(t.url, 'POST', '/v1/auth/logout', { token: a.accessToken });
    expect(out.status).toBe(204);
    expectError(await me(a.accessToken), 401, 'UNAUTHORIZED');
    expectError(await refresh(a.refreshToken), 401, 'UNAUTHORIZED');
    expect((await me(b.accessToken)).status).toBe(200);
    const devices = await api(t.url, 'GET', '/v1/me/devices', { token: b.accessToken });
    expect(devices.body.find((d: { id: string }) => d.id === a.deviceId).revokedAt).toBeGreaterThan(0);
  });

  it('lets a member revoke one of their own devices, not someone else’s', async () => {
    const a = await login(t, fam.familyId, fam.members.adult!.username, undefined, 'old tablet');
    const res = await api(t.url, 'DELETE', `/v1/me/devices/${a.deviceId}`, { token: fam.members.adult!.token });
    expect(res.status).toBe(200);
    expect(res.body.revokedAt).toBeGreaterThan(0);
    expectError(await me(a.accessToken), 401, 'UNAUTHORIZED');
    expectError(await api(t.url, 'DELETE', `/v1/me/devices/${fam.members.owner!.deviceId}`, { token: fam.members.adult!.token }), 404, 'NOT_FOUND');
    expect((await me(fam.members.owner!.token)).status).toBe(200);
  });

  it('refuses a token signed by another key, even with identical claims and kid', async () => {
    const adult = fam.members.adult!;
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const header = decodeProtectedHeader(adult.token);
    const forged = await new SignJWT({ fam: fam.familyId, dev: adult.deviceId, role: 'owner' })
      .setProtectedHeader({ alg: 'EdDSA', kid: header.kid, typ: 'JWT' })
      .setSubject(adult.id)
      .setIssuer('hearth')
      .setAudience('hearth')
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(privateKey);
    expectError(await me(forged), 401, 'UNAUTHORIZED');
    expectError(await api(t.url, 'GET', `/v1/families/${fam.familyId}/members`, { token: forged }), 401, 'UNAUTHORIZED');
    // Same key as the server, but with alg "none" or HS256 over the public key: refused.
    const [, payload] = adult.token.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    expectError(await me(none), 401, 'UNAUTHORIZED');
  });

  it('refuses an expired token signed with the server’s own key', async () => {
    const expired = await signAccessToken(t.server.identity.keys, claimsOf(fam.members.adult!), -60);
    expect(decodeJwt(expired).exp!).toBeLessThan(Date.now() / 1000);
    expectError(await me(expired), 401, 'UNAUTHORIZED');
    // The same claims with a live expiry work, so it is the expiry that was refused.
    const fresh = await signAccessToken(t.server.identity.keys, claimsOf(fam.members.adult!), 60);
    expect((await me(fresh)).status).toBe(200);
  });

  it('refuses a token it accepted before once it expires', async () => {
    const adult = fam.members.adult!;
    const short = await signAccessToken(t.server.identity.keys, claimsOf(adult), 1);
    expect((await me(short)).status).toBe(200);
    expect((await me(short)).status).toBe(200); // the second use comes from the verified-token cache
    // One character changed inside the signature is a different token: checked, refused.
    const i = short.length - 10;
    const tampered = short.slice(0, i) + (short[i] === 'A' ? 'B' : 'A') + short.slice(i + 1);
    expectError(await me(tampered), 401, 'UNAUTHORIZED');
    await new Promise((r) => setTimeout(r, (decodeJwt(short).exp! + 1) * 1000 - Date.now()));
    expectError(await me(short), 401, 'UNAUTHORIZED');
  });

  it('refuses a token with the wrong issuer or audience, or missing claims', async () => {
    const adult = fam.members.adult!;
    const keys = t.server.identity.keys;
    const base = () => new SignJWT({ fam: fam.familyId, dev: adult.deviceId, role: 'adult' }).setProtectedHeader({ alg: 'EdDSA' }).setSubject(adult.id).setExpirationTime('5m');
    expectError(await me(await base().setIssuer('evil').setAudience('hearth').sign(keys.privateKey)), 401, 'UNAUTHORIZED');
    expectError(await me(await base().setIssuer('hearth').setAudience('other').sign(keys.privateKey)), 401, 'UNAUTHORIZED');
    const noDevice = await new SignJWT({ fam: fam.familyId, role: 'adult' })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setSubject(adult.id)
      .setIssuer('hearth')
      .setAudience('hearth')
      .setExpirationTime('5m')
      .sign(keys.privateKey);
    expectError(await me(noDevice), 401, 'UNAUTHORIZED');
    // A well-signed token naming a device of another member is refused too.
    const mixed = await signAccessToken(keys, { ...claimsOf(adult), deviceId: fam.members.owner!.deviceId }, 60);
    expectError(await me(mixed), 401, 'UNAUTHORIZED');
  });

  it('refuses the access token of a revoked device at once, though it has not expired', async () => {
    const s = await login(t, fam.familyId, fam.members.adult!.username, undefined, 'lost phone');
    expect((await me(s.accessToken)).status).toBe(200);
    const revoked = await api(t.url, 'DELETE', `/v1/families/${fam.familyId}/devices/${s.deviceId}`, { token: fam.members.owner!.token });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toBeGreaterThan(0);
    expectError(await me(s.accessToken), 401, 'UNAUTHORIZED');
    expectError(await api(t.url, 'GET', `/v1/families/${fam.familyId}`, { token: s.accessToken }), 401, 'UNAUTHORIZED');
    expectError(await refresh(s.refreshToken), 401, 'UNAUTHORIZED');
  });

  it('answers malformed Authorization headers with 401 in the envelope', async () => {
    const adult = fam.members.adult!;
    const bad: Record<string, string>[] = [
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: 'Bearer not.a.jwt' },
      { authorization: 'Bearer %%%.%%%.%%%' },
      { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      { authorization: adult.token },
      { authorization: `Bearer ${adult.token} extra` },
      { authorization: `Bearer ${adult.token.slice(0, -4)}AAAA` },
      { authorization: `Bearer ${'x'.repeat(8_000)}` },
    ];
    for (const headers of bad) {
      const res = await api(t.url, 'GET', '/v1/me', { headers });
      expect({ header: headers.authorization!.slice(0, 40), status: res.status }).toEqual({ header: headers.authorization!.slice(0, 40), status: 401 });
      expectError(res, 401, 'UNAUTHORIZED');
    }
    expect((await api(t.url, 'GET', '/v1/me', { headers: { authorization: `bearer ${adult.token}` } })).status).toBe(200);
  });
});
