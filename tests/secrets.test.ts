import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../server/identity/secrets.js';
import { PASSWORD, api, expectError, seedFamily, startTestServer, type Api, type Family, type TestServer } from './helpers/hearth.js';

// Secrets stay out of logs and error bodies; the signing key stays private on disk.

describe('secrets', () => {
  let t: TestServer;
  let fam: Family;
  const secrets: { what: string; value: string }[] = [];
  const responses: Api[] = [];
  const keep = (what: string, value: string | undefined) => {
    expect(typeof value).toBe('string');
    secrets.push({ what, value: value! });
  };
  const call = async (...args: Parameters<typeof api>) => {
    const res = await api(...args);
    responses.push(res);
    return res;
  };

  beforeAll(async () => {
    // The most verbose level: whatever any component logs, secrets must not be in it.
    t = await startTestServer({ loginAttemptsPerMinute: 1000, logLevel: 'trace' });
    fam = await seedFamily(t, 'Secretive', ['owner', 'adult']);
    for (const m of Object.values(fam.members)) {
      keep('access token', m.token);
      keep('refresh token', m.refreshToken);
    }
    keep('password', PASSWORD);

    const owner = fam.members.owner!;
    const base = `/v1/families/${fam.familyId}`;
    // Logins, failed ones too.
    const wrong = 'Tr0ub4dor&3-wrong-password';
    keep('wrong password', wrong);
    await call(t.url, 'POST', '/v1/auth/login', { body: { familyId: fam.familyId, username: owner.username, password: wrong, deviceName: 'x' } });
    const session = await call(t.url, 'POST', '/v1/auth/login', { body: { familyId: fam.familyId, username: owner.username, password: PASSWORD, deviceName: 'y' } });
    keep('access token', session.body.accessToken);
    keep('refresh token', session.body.refreshToken);
    // Refresh, and a reuse.
    const refreshed = await call(t.url, 'POST', '/v1/auth/refresh', { body: { refreshToken: session.body.refreshToken } });
    keep('access token', refreshed.body.accessToken);
    keep('refresh token', refreshed.body.refreshToken);
    await call(t.url, 'POST', '/v1/auth/refresh', { body: { refreshToken: session.body.refreshToken } });
    // Device-code pairing, polled too early and then for real.
    const started = await call(t.url, 'POST', '/v1/pair/start', { body: { deviceName: 'new phone' } });
    keep('device code', started.body.deviceCode);
    keep('user code', started.body.userCode);
    keep('user code', started.body.userCode.replace('-', ''));
    await call(t.url, 'POST', '/v1/pair/token', { body: { deviceCode: started.body.deviceCode } });
    await call(t.url, 'POST', '/v1/pair/token', { body: { deviceCode: started.body.deviceCode } });
    await call(t.url, 'POST', '/v1/pair/inspect', { token: owner.token, body: { userCode: started.body.userCode } });
    await call(t.url, 'POST', '/v1/pair/approve', { token: owner.token, body: { userCode: started.body.userCode } });
    t.server.storage.sqlite.prepare('UPDATE pairing_requests SET last_poll_at = NULL').run();
    const paired = await call(t.url, 'POST', '/v1/pair/token', { body: { deviceCode: started.body.deviceCode } });
    expect(paired.status).toBe(200);
    keep('access token', paired.body.accessToken);
    keep('refresh token', paired.body.refreshToken);
    // QR token and invite code.
    const qr = await call(t.url, 'POST', `${base}/members/${owner.id}/pairing-tokens`, { token: owner.token });
    keep('QR token', qr.body.token);
    const redeemed = await call(t.url, 'POST', '/v1/pair/redeem', { body: { token: qr.body.token, deviceName: 'scanned' } });
    keep('refresh token', redeemed.body.refreshToken);
    await call(t.url, 'POST', '/v1/pair/redeem', { body: { token: qr.body.token, deviceName: 'scanned again' } });
    const invite = await call(t.url, 'POST', `${base}/invites`, { token: owner.token, body: { role: 'adult' } });
    keep('invite code', invite.body.code);
    const invitePassword = 'an invite password 42';
    keep('invite password', invitePassword);
    const joined = await call(t.url, 'POST', '/v1/invites/accept', { body: { code: invite.body.code, username: 'joiner', password: invitePassword, deviceName: 'z' } });
    keep('refresh token', joined.body.refreshToken);
    await call(t.url, 'POST', '/v1/invites/accept', { body: { code: invite.body.code, username: 'joiner2', password: invitePassword, deviceName: 'z' } });
    // Member added over the API with a password.
    const added = await call(t.url, 'POST', `${base}/members`, { token: owner.token, body: { username: 'newbie', role: 'adult', password: 'newbie password 123' } });
    expect(added.status).toBe(201);
    keep('new member password', 'newbie password 123');
    // Tokens in the query string (as WebSocket clients send them) and in odd headers.
    await call(t.url, 'GET', `/v1/me?token=${encodeURIComponent(owner.token)}&access_token=${encodeURIComponent(owner.token)}`);
    await call(t.url, 'GET', '/v1/me', { headers: { authorization: `Bearer ${owner.token}`, cookie: `session=${owner.refreshToken}` } });
    await call(t.url, 'GET', '/v1/me', { headers: { authorization: `Bearer ${owner.token}x` } });
    // Malformed bodies that contain secrets.
    await call(t.url, 'POST', '/v1/auth/login', { raw: `{"password": "${PASSWORD}", ` });
    await call(t.url, 'POST', '/v1/auth/refresh', { body: { refreshToken: 12345, password: PASSWORD } });
    await call(t.url, 'POST', '/v1/auth/login', { body: { familyId: 'bad', username: owner.username, password: PASSWORD, deviceName: 'x' } });
  });
  afterAll(() => t.close());

  it('writes request logs, with request ids', () => {
    expect(t.logs.lines.length).toBeGreaterThan(40);
    const parsed = t.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.filter((l) => l.msg === 'request completed').length).toBeGreaterThan(20);
    for (const l of parsed.filter((x) => x.msg === 'incoming request' || x.msg === 'request completed')) expect(l.reqId).toBeTruthy();
  });

  it('logs no password, access token, refresh token, device code, user code, QR token or invite code', () => {
    const text = t.logs.text();
    expect(secrets.length).toBeGreaterThan(20);
    for (const { what, value } of secrets) {
      expect({ what, leaked: text.includes(value) }).toEqual({ what, leaked: false });
      // Nor their stored hashes, which would be as good as the secret for a lookup.
      expect({ what: `${what} hash`, leaked: text.includes(hashSecret(value)) }).toEqual({ what: `${what} hash`, leaked: false });
    }
    // JWT-looking strings never appear at all.
    expect(text).not.toMatch(/eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{20,}/);
  });

  it('keeps secrets and stack traces out of error bodies', () => {
    const errors = responses.filter((r) => r.status >= 400);
    expect(errors.length).toBeGreaterThan(8);
    for (const r of errors) {
      const body = JSON.stringify(r.body);
      expect(r.body.error).toBeDefined();
      expect(body).not.toMatch(/\n\s+at |node_modules|\/work\/|\.ts:\d+|SqliteError|stack/);
      for (const { what, value } of secrets) expect({ what, status: r.status, leaked: body.includes(value) }).toEqual({ what, status: r.status, leaked: false });
    }
  });

  it('answers an internal failure with a bare INTERNAL_ERROR; the details go to the log only', async () => {
    const db = t.server.storage.sqlite;
    // Break the database under the server for one request.
    db.exec('ALTER TABLE devices RENAME TO devices_moved');
    let res: Api;
    try {
      res = await api(t.url, 'GET', '/v1/me', { token: fam.members.adult!.token });
    } finally {
      db.exec('ALTER TABLE devices_moved RENAME TO devices');
    }
    const err = expectError(res, 500, 'INTERNAL_ERROR');
    expect(err.message).toBe('internal error');
    expect(err.details).toEqual([]);
    expect(JSON.stringify(res.body)).not.toMatch(/devices|sqlite|\bat\b/i);
    // The log has what an operator needs, under the same request id.
    const reqId = res.headers.get('x-request-id');
    const line = t.logs.lines.find((l) => l.includes('"level":50') && l.includes(`"reqId":"${reqId}"`));
    expect(line).toBeDefined();
    expect(line).toContain('no such table: devices');
    expect(line).not.toContain(fam.members.adult!.token);
    // And the server is fine afterwards.
    expect((await api(t.url, 'GET', '/v1/me', { token: fam.members.adult!.token })).status).toBe(200);
  });

  it('keeps the signing key private: key file 0600 in a 0700 data dir', () => {
    const keysDir = path.join(t.dataDir, 'keys');
    const files = fs.readdirSync(keysDir);
    // Every key file is private; the signing key is the one PEM among them (channel-secrets.key seals push secrets).
    for (const f of files.filter((f) => f.endsWith('.key'))) expect(fs.statSync(path.join(keysDir, f)).mode & 0o777, f).toBe(0o600);
    const priv = files.filter((f) => f.endsWith('.key') && f !== 'channel-secrets.key');
    expect(priv.length).toBe(1);
    expect(fs.statSync(path.join(keysDir, priv[0]!)).mode & 0o777).toBe(0o600);
    expect(fs.statSync(keysDir).mode & 0o077).toBe(0);
    expect(fs.statSync(t.dataDir).mode & 0o077).toBe(0);
    expect(fs.readFileSync(path.join(keysDir, priv[0]!), 'utf8')).toContain('PRIVATE KEY');
    // The public key is all that goes in the token header: a kid, no key material.
    const header = JSON.parse(Buffer.from(fam.members.owner!.token.split('.')[0]!, 'base64url').toString('utf8'));
    expect(Object.keys(header).sort()).toEqual(['alg', 'kid', 'typ']);
  });

  it('stores only hashes of the secrets it hands out', () => {
    const db = t.server.storage.sqlite;
    const dump = JSON.stringify([
      db.prepare('SELECT * FROM refresh_tokens').all(),
      db.prepare('SELECT * FROM pairing_requests').all(),
      db.prepare('SELECT * FROM pairing_tokens').all(),
      db.prepare('SELECT * FROM invites').all(),
      db.prepare('SELECT * FROM credentials').all(),
      db.prepare('SELECT * FROM audit_events').all(),
    ]);
    for (const { what, value } of secrets) expect({ what, stored: dump.includes(value) }).toEqual({ what, stored: false });
    const hash = (db.prepare('SELECT password_hash FROM credentials LIMIT 1').get() as { password_hash: string }).password_hash;
    expect(hash).toMatch(/^\$argon2id\$/);
  });
});
