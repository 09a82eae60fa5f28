import fs from 'node:fs';
import net from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JWT_ALG } from '../server/identity/signing-keys.js';
import { api, expectError, seedFamily, startTestServer, type Family, type TestServer } from './helpers/hearth.js';

// Issue 16's error-contract and input-edge findings, each against the real server.

/** One raw HTTP/1.1 exchange, so headers fetch would refuse or rewrite can be sent. */
function raw(port: number, request: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(request));
    let data = '';
    sock.on('data', (c) => (data += c.toString('utf8')));
    sock.on('error', reject);
    sock.on('close', () => {
      const [head = '', ...rest] = data.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), headers: head, body: rest.join('\r\n\r\n') });
    });
    sock.setTimeout(3000, () => sock.destroy());
  });
}

describe('error envelope and input edges', () => {
  let t: TestServer;
  let fam: Family;
  beforeAll(async () => {
    t = await startTestServer({ loginAttemptsPerMinute: 1000 });
    fam = await seedFamily(t, 'Edges', ['owner', 'adult']);
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });

  it('answers a bad URL encoding and an over-long path parameter in the envelope, without echoing the URL', async () => {
    const bad = await api(t.url, 'GET', '/v1/families/%ZZ', { token: fam.members.owner!.token });
    expectError(bad, 400, 'INVALID_PAYLOAD');
    expect(JSON.stringify(bad.body)).not.toContain('%ZZ');
    const long = 'x'.repeat(300);
    const res = await api(t.url, 'GET', `/v1/families/${fam.familyId}/members/${long}`, { token: fam.members.owner!.token });
    expectError(res, 414, 'URI_TOO_LONG');
    expect(JSON.stringify(res.body)).not.toContain(long);
  });

  it('serves plain HTTP to an Upgrade: h2c request instead of an empty 404', async () => {
    const res = await raw(t.server.port, 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(200);
    expect(res.body).toContain('"status":"ok"');
  });

  it('answers a WebSocket handshake without Sec-WebSocket-Key with the envelope', async () => {
    const res = await raw(
      t.server.port,
      `GET /sync/${fam.familyId}/notes?token=${fam.members.owner!.token} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error.code).toBe('INVALID_PAYLOAD');
  });

  it('refuses __proto__ and constructor keys as a validation error, not as bad JSON', async () => {
    for (const rawBody of ['{"name":"x","__proto__":{"admin":true}}', '{"name":"x","constructor":{"prototype":{"a":1}}}']) {
      const res = await api(t.url, 'PATCH', `/v1/families/${fam.familyId}`, { token: fam.members.owner!.token, raw: rawBody });
      const err = expectError(res, 422, 'VALIDATION_FAILED');
      expect(err.message).not.toMatch(/JSON/);
    }
  });

  it('lists an enum’s allowed values once, in one detail', async () => {
    const res = await api(t.url, 'POST', `/v1/families/${fam.familyId}/members`, { token: fam.members.owner!.token, body: { role: 'emperor' } });
    const err = expectError(res, 422, 'VALIDATION_FAILED');
    expect(err.details).toEqual([{ path: 'body/role', message: 'must be one of: "owner", "admin", "adult", "child", "guest"' }]);
  });

  it('refuses access JWTs without exp, or with iat or nbf in the future', async () => {
    const keys = t.server.identity.keys;
    const owner = fam.members.owner!;
    const now = Math.floor(Date.now() / 1000);
    const base = () =>
      new SignJWT({ fam: fam.familyId, dev: owner.deviceId, role: 'owner' })
        .setProtectedHeader({ alg: JWT_ALG, kid: keys.kid, typ: 'JWT' })
        .setSubject(owner.id)
        .setIssuer('hearth')
        .setAudience('hearth');
    const good = await base().setIssuedAt(now).setExpirationTime(now + 60).sign(keys.privateKey);
    expect((await api(t.url, 'GET', '/v1/me', { token: good })).status).toBe(200);
    const tokens = [
      await base().setIssuedAt(now).sign(keys.privateKey), // no exp
      await base().setExpirationTime(now + 60).sign(keys.privateKey), // no iat
      await base().setIssuedAt(now + 3600).setExpirationTime(now + 7200).sign(keys.privateKey), // iat in the future
      await base().setIssuedAt(now).setNotBefore(now + 3600).setExpirationTime(now + 7200).sign(keys.privateKey),
    ];
    for (const token of tokens) expectError(await api(t.url, 'GET', '/v1/me', { token }), 401, 'UNAUTHORIZED');
  });

  it('refuses display names with NUL, control or bidi characters, blank ones and over-long ones, everywhere', async () => {
    const owner = fam.members.owner!.token;
    const bad = ['evil\u0000', 'line\nbreak', 'iPhone \u202Egnp.exe', '\u2066isolate', '   ', '\u200B', 'x'.repeat(101)];
    for (const name of bad) {
      expectError(await api(t.url, 'PATCH', `/v1/families/${fam.familyId}`, { token: owner, body: { name } }), 422, 'VALIDATION_FAILED');
      expectError(await api(t.url, 'POST', '/v1/pair/start', { body: { deviceName: name } }), 422, 'VALIDATION_FAILED');
      expectError(
        await api(t.url, 'POST', `/v1/families/${fam.familyId}/members`, { token: owner, body: { role: 'guest', displayName: name } }),
        422,
        'VALIDATION_FAILED',
      );
      expectError(await api(t.url, 'POST', `/v1/families/${fam.familyId}/invites`, { token: owner, body: { role: 'guest', displayName: name } }), 422, 'VALIDATION_FAILED');
    }
    // Emoji with joiners are names too.
    const ok = await api(t.url, 'PATCH', `/v1/families/${fam.familyId}`, { token: owner, body: { name: 'Die Müllers 👨‍👩‍👧' } });
    expect(ok.status).toBe(200);
  });

  it('answers /sync of an unknown family with 403, like another family’s, and logs refusals without the token', async () => {
    const token = fam.members.adult!.token;
    const res = await raw(
      t.server.port,
      `GET /sync/fam_0000000000000000/notes?token=${token} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    expect(res.status).toBe(403);
    const unauth = await raw(
      t.server.port,
      `GET /sync/${fam.familyId}/notes?token=not-a-real-token-123 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    expect(unauth.status).toBe(401);
    const refusals = t.logs.lines.filter((l) => l.includes('sync upgrade refused'));
    expect(refusals.some((l) => l.includes('"status":403') && l.includes('not a member of this family'))).toBe(true);
    expect(refusals.some((l) => l.includes('"status":401'))).toBe(true);
    expect(t.logs.text()).not.toContain(token);
    expect(t.logs.text()).not.toContain('not-a-real-token-123');
  });

  it('serves a page at /pair, the verificationUri pairing hands out', async () => {
    const start = await api(t.url, 'POST', '/v1/pair/start', { body: { deviceName: 'Kitchen tablet' } });
    const uri = new URL(start.body.verificationUri);
    const res = await fetch(t.url + uri.pathname);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toContain('/v1/pair/approve');
  });
});
