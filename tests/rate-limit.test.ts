import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, addTestMember, api, expectError, login, startTestServer, type TestServer } from './helpers/hearth.js';
import { createFamily } from '../server/identity/families.js';
import { CLI_ACTOR } from '../server/identity/context.js';

// Login and pairing are rate-limited per IP and per account, answered with 429 in the envelope.

function retryAfter(res: { headers: Headers }): number {
  const value = res.headers.get('retry-after');
  expect(value).toMatch(/^\d+$/);
  return Number(value);
}

describe('rate limits per IP', () => {
  let t: TestServer;
  let familyId: string;
  beforeAll(async () => {
    t = await startTestServer({ loginAttemptsPerMinute: 3 });
    familyId = createFamily(t.server.identity, 'Limited', CLI_ACTOR).id;
  });
  afterAll(() => t.close());

  it('answers the login after the per-minute budget with 429 and retry-after, whatever X-Forwarded-For says', async () => {
    // Distinct unknown usernames, so only the per-IP limit can be what stops us.
    for (let i = 0; i < 3; i++) {
      const res = await api(t.url, 'POST', '/v1/auth/login', { body: { familyId, username: `nobody${i}`, password: 'wrong-password', deviceName: 'x' } });
      expectError(res, 401, 'UNAUTHORIZED');
    }
    const limited = await api(t.url, 'POST', '/v1/auth/login', {
      body: { familyId, username: 'nobody9', password: 'wrong-password', deviceName: 'x' },
      headers: { 'x-forwarded-for': '10.9.8.7' },
    });
    const err = expectError(limited, 429, 'RATE_LIMITED');
    expect(err.message).toMatch(/retry in \d+ s/);
    const after = retryAfter(limited);
    expect(after).toBeGreaterThan(0);
    expect(after).toBeLessThanOrEqual(60);
    // Not trusting proxies by default: a spoofed header is not a new client.
    const spoofed = await api(t.url, 'POST', '/v1/auth/login', {
      body: { familyId, username: 'nobody8', password: 'wrong-password', deviceName: 'x' },
      headers: { 'x-forwarded-for': '10.1.2.3' },
    });
    expectError(spoofed, 429, 'RATE_LIMITED');
    // Other endpoints have their own budget.
    expect((await api(t.url, 'GET', '/health')).status).toBe(200);
  });

  it('limits pairing starts per IP too', async () => {
    for (let i = 0; i < 3; i++) expect((await api(t.url, 'POST', '/v1/pair/start', { body: { deviceName: `d${i}` } })).status).toBe(200);
    const limited = await api(t.url, 'POST', '/v1/pair/start', { body: { deviceName: 'one too many' } });
    expectError(limited, 429, 'RATE_LIMITED');
    expect(retryAfter(limited)).toBeGreaterThan(0);
    const rows = t.server.storage.sqlite.prepare("SELECT count(*) n FROM pairing_requests WHERE device_name = 'one too many'").get() as { n: number };
    expect(rows.n).toBe(0);
  });

  it('limits invite redemption attempts per IP', async () => {
    for (let i = 0; i < 3; i++) {
      expectError(await api(t.url, 'POST', '/v1/invites/accept', { body: { code: `guess-${i}`, username: 'guesser', deviceName: 'x' } }), 401, 'UNAUTHORIZED');
    }
    expectError(await api(t.url, 'POST', '/v1/invites/accept', { body: { code: 'guess-4', username: 'guesser', deviceName: 'x' } }), 429, 'RATE_LIMITED');
  });
});

describe('rate limits per account', () => {
  let t: TestServer;
  let familyId: string;
  beforeAll(async () => {
    t = await startTestServer({ loginAttemptsPerMinute: 1000 });
    familyId = createFamily(t.server.identity, 'Lockout', CLI_ACTOR).id;
    await addTestMember(t, familyId, 'victim', 'adult');
    await addTestMember(t, familyId, 'bystander', 'adult');
  });
  afterAll(() => t.close());

  it('locks an account after 5 failures, even against the right password, and only that account', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await api(t.url, 'POST', '/v1/auth/login', { body: { familyId, username: 'victim', password: `guess number ${i}`, deviceName: 'x' } });
      expectError(res, 401, 'UNAUTHORIZED');
    }
    const locked = await api(t.url, 'POST', '/v1/auth/login', { body: { familyId, username: 'victim', password: PASSWORD, deviceName: 'x' } });
    expectError(locked, 429, 'RATE_LIMITED');
    const after = retryAfter(locked);
    expect(after).toBeGreaterThan(15 * 60 - 30);
    expect(after).toBeLessThanOrEqual(15 * 60);
    // No device was created by the refused login.
    const devices = t.server.storage.sqlite.prepare("SELECT count(*) n FROM devices WHERE name = 'x'").get() as { n: number };
    expect(devices.n).toBe(0);
    // Username case does not give a fresh budget.
    expectError(await api(t.url, 'POST', '/v1/auth/login', { body: { familyId, username: 'VICTIM', password: PASSWORD, deviceName: 'x' } }), 429, 'RATE_LIMITED');
    // Another account from the same IP is fine.
    const other = await login(t, familyId, 'bystander');
    expect(other.role).toBe('adult');
  });

  it('resets the failure count after a successful login', async () => {
    await addTestMember(t, familyId, 'forgetful', 'adult');
    for (let i = 0; i < 4; i++) {
      expectError(
        await api(t.url, 'POST', '/v1/auth/login', { body: { familyId, username: 'forgetful', password: `nope ${i}`, deviceName: 'x' } }),
        401,
        'UNAUTHORIZED',
      );
    }
    await login(t, familyId, 'forgetful');
    for (let i = 0; i < 4; i++) {
      expectError(
        await api(t.url, 'POST', '/v1/auth/login', { body: { familyId, username: 'forgetful', password: `again ${i}`, deviceName: 'x' } }),
        401,
        'UNAUTHORIZED',
      );
    }
    await login(t, familyId, 'forgetful');
  });
});
