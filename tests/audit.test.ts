import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../server/identity/secrets.js';
import { PASSWORD, addTestMember, api, expectError, login, seedFamily, startTestServer, type Family, type TestServer } from './helpers/hearth.js';

// The append-only audit trail of security-relevant events.

interface AuditRow {
  id: number;
  at: number;
  action: string;
  actorMemberId: string | null;
  actorDeviceId: string | null;
  target: string | null;
  ip: string | null;
  requestId: string | null;
  details: Record<string, unknown> | null;
}

describe('audit log', () => {
  let t: TestServer;
  let fam: Family;
  let other: Family;
  beforeAll(async () => {
    t = await startTestServer({ loginAttemptsPerMinute: 1000 });
    fam = await seedFamily(t, 'Audited', ['owner', 'admin', 'adult']);
    other = await seedFamily(t, 'Elsewhere', ['owner']);
  });
  afterAll(() => t.close());

  async function audit(token = fam.members.admin!.token, familyId = fam.familyId): Promise<AuditRow[]> {
    const res = await api(t.url, 'GET', `/v1/families/${familyId}/audit?limit=500`, { token });
    expect(res.status).toBe(200);
    return res.body.events;
  }

  const byRequest = (rows: AuditRow[], requestId: string) => rows.filter((r) => r.requestId === requestId);

  it('records successful and failed logins with who, where and the request id', async () => {
    const ok = await api(t.url, 'POST', '/v1/auth/login', {
      body: { familyId: fam.familyId, username: fam.members.adult!.username, password: PASSWORD, deviceName: 'audit phone' },
      headers: { 'x-request-id': 'audit-login-ok' },
    });
    expect(ok.status).toBe(200);
    const bad = await api(t.url, 'POST', '/v1/auth/login', {
      body: { familyId: fam.familyId, username: fam.members.adult!.username, password: 'not the password', deviceName: 'x' },
      headers: { 'x-request-id': 'audit-login-bad' },
    });
    expect(bad.status).toBe(401);

    const rows = await audit();
    const success = byRequest(rows, 'audit-login-ok').find((r) => r.action === 'login.success');
    expect(success).toMatchObject({ actorMemberId: fam.members.adult!.id, actorDeviceId: ok.body.deviceId, target: fam.members.adult!.id, ip: '127.0.0.1' });
    expect(success!.at).toBeGreaterThan(Date.now() - 60_000);
    expect(byRequest(rows, 'audit-login-ok').map((r) => r.action)).toContain('device.create');

    const failure = byRequest(rows, 'audit-login-bad').find((r) => r.action === 'login.failure');
    expect(failure).toMatchObject({ target: fam.members.adult!.id, ip: '127.0.0.1', details: { username: fam.members.adult!.username } });
    expect(JSON.stringify(rows)).not.toContain('not the password');
    expect(JSON.stringify(rows)).not.toContain(PASSWORD);
  });

  it('records pairing approval and denial', async () => {
    const s1 = (await api(t.url, 'POST', '/v1/pair/start', { body: { deviceName: 'Audit tablet' } })).body;
    const s2 = (await api(t.url, 'POST', '/v1/pair/start', { body: { deviceName: 'Audit intruder' } })).body;
    const adult = fam.members.adult!;
    await api(t.url, 'POST', '/v1/pair/approve', { token: adult.token, body: { userCode: s1.userCode }, headers: { 'x-request-id': 'audit-pair' } });
    await api(t.url, 'POST', '/v1/pair/approve', { token: adult.token, body: { userCode: s2.userCode, approve: false }, headers: { 'x-request-id': 'audit-deny' } });
    const polled = await api(t.url, 'POST', '/v1/pair/token', { body: { deviceCode: s1.deviceCode } });
    expect(polled.status).toBe(200);

    const rows = await audit();
    expect(byRequest(rows, 'audit-pair')).toEqual([
      expect.objectContaining({ action: 'device.pair', actorMemberId: adult.id, actorDeviceId: adult.deviceId, details: { deviceName: 'Audit tablet', memberId: adult.id } }),
    ]);
    expect(byRequest(rows, 'audit-deny')).toEqual([expect.objectContaining({ action: 'device.pair.deny', details: { deviceName: 'Audit intruder', memberId: adult.id } })]);
    expect(rows.find((r) => r.action === 'device.create' && r.target === polled.body.deviceId)).toMatchObject({ details: { kind: 'paired', name: 'Audit tablet' } });
    // The device code itself is never recorded.
    expect(JSON.stringify(rows)).not.toContain(s1.deviceCode);
    expect(JSON.stringify(rows)).not.toContain(hashSecret(s1.deviceCode));
  });

  it('records device revocation, refresh-token reuse, role changes and member removal', async () => {
    const admin = fam.members.admin!;
    const s = await login(t, fam.familyId, fam.members.adult!.username, undefined, 'to be revoked');
    await api(t.url, 'DELETE', `/v1/families/${fam.familyId}/devices/${s.deviceId}`, { token: admin.token, headers: { 'x-request-id': 'audit-revoke' } });

    const s2 = await login(t, fam.familyId, fam.members.adult!.username, undefined, 'to be stolen');
    await api(t.url, 'POST', '/v1/auth/refresh', { body: { refreshToken: s2.refreshToken } });
    await api(t.url, 'POST', '/v1/auth/refresh', { body: { refreshToken: s2.refreshToken }, headers: { 'x-request-id': 'audit-reuse' } });

    const member = await addTestMember(t, fam.familyId, 'shortlived', 'child', null);
    await api(t.url, 'PATCH', `/v1/families/${fam.familyId}/members/${member.id}`, { token: admin.token, body: { role: 'adult' }, headers: { 'x-request-id': 'audit-role' } });
    await api(t.url, 'DELETE', `/v1/families/${fam.familyId}/members/${member.id}`, { token: admin.token, headers: { 'x-request-id': 'audit-remove' } });

    const rows = await audit();
    expect(byRequest(rows, 'audit-revoke')).toEqual([
      expect.objectContaining({ action: 'device.revoke', target: s.deviceId, actorMemberId: admin.id, details: { memberId: fam.members.adult!.id } }),
    ]);
    expect(byRequest(rows, 'audit-reuse')).toEqual([expect.objectContaining({ action: 'token.reuse', target: s2.deviceId })]);
    expect(byRequest(rows, 'audit-role')).toEqual([
      expect.objectContaining({ action: 'member.role', target: member.id, actorMemberId: admin.id, details: { from: 'child', to: 'adult' } }),
    ]);
    expect(byRequest(rows, 'audit-remove')).toEqual([
      expect.objectContaining({ action: 'member.remove', target: member.id, actorMemberId: admin.id, details: { role: 'adult' } }),
    ]);
    // The CLI's own additions are there too, marked as coming from the CLI.
    expect(rows.find((r) => r.action === 'member.add' && r.target === member.id)).toMatchObject({ ip: 'cli', actorMemberId: null });
    // Newest first, and paging with ?before works.
    expect(rows.map((r) => r.id)).toEqual([...rows.map((r) => r.id)].sort((x, y) => y - x));
    const page = await api(t.url, 'GET', `/v1/families/${fam.familyId}/audit?before=${rows[2]!.id}&limit=2`, { token: admin.token });
    expect(page.body.events.map((r: AuditRow) => r.id)).toEqual([rows[3]!.id, rows[4]!.id]);
  });

  it('shows each family only its own events, and only to admins', async () => {
    const mine = await audit();
    const theirs = await audit(other.members.owner!.token, other.familyId);
    expect(theirs.length).toBeGreaterThan(0);
    const mineIds = new Set(mine.map((r) => r.id));
    expect(theirs.some((r) => mineIds.has(r.id))).toBe(false);
    expect(JSON.stringify(theirs)).not.toContain(fam.members.adult!.id);
    expectError(await api(t.url, 'GET', `/v1/families/${fam.familyId}/audit`, { token: fam.members.adult!.token }), 403, 'FORBIDDEN');
    expectError(await api(t.url, 'GET', `/v1/families/${fam.familyId}/audit`), 401, 'UNAUTHORIZED');
    expect((await audit(fam.members.owner!.token)).length).toBe(mine.length);
  });

  it('refuses UPDATE and DELETE on the audit table at the database level', () => {
    const db = t.server.storage.sqlite;
    const before = db.prepare('SELECT * FROM audit_events ORDER BY id').all();
    expect(before.length).toBeGreaterThan(10);
    expect(() => db.prepare("UPDATE audit_events SET action = 'nothing.happened' WHERE id = ?").run((before[0] as { id: number }).id)).toThrow(/append-only/);
    expect(() => db.prepare("UPDATE audit_events SET details = NULL").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_events WHERE id = ?').run((before[0] as { id: number }).id)).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_events').run()).toThrow(/append-only/);
    expect(db.prepare('SELECT * FROM audit_events ORDER BY id').all()).toEqual(before);
    // Appending still works.
    const { n } = db.prepare('SELECT count(*) n FROM audit_events').get() as { n: number };
    db.prepare("INSERT INTO audit_events (at, action) VALUES (?, 'test.append')").run(Date.now());
    expect((db.prepare('SELECT count(*) n FROM audit_events').get() as { n: number }).n).toBe(n + 1);
  });

  // REPLACE resolves a primary-key conflict by deleting the old row without firing DELETE
  // triggers; migration 3 refuses inserts that reuse an id.
  it('refuses INSERT OR REPLACE over an existing audit row', () => {
    const db = t.server.storage.sqlite;
    const first = db.prepare('SELECT * FROM audit_events ORDER BY id LIMIT 1').get() as { id: number; action: string };
    let threw = false;
    try {
      db.prepare("INSERT OR REPLACE INTO audit_events (id, at, action) VALUES (?, 0, 'forged')").run(first.id);
    } catch {
      threw = true;
    }
    expect(threw).toBe(true);
    expect((db.prepare('SELECT action FROM audit_events WHERE id = ?').get(first.id) as { action: string }).action).toBe(first.action);
  });
});
