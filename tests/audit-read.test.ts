import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, expectError, runCli, seedFamily, startTestServer, type Family, type TestServer } from './helpers/hearth.js';

// Reading the audit trail: filters, cursor paging, newest first, tenancy.

describe('audit read', () => {
  let t: TestServer;
  let fam: Family;
  let other: Family;
  beforeAll(async () => {
    t = await startTestServer({ loginAttemptsPerMinute: 1000 });
    fam = await seedFamily(t, 'Read audit', ['owner', 'admin', 'adult']);
    other = await seedFamily(t, 'Other', ['owner']);
    // Three invites by the admin: invite.create rows with a known actor.
    for (let i = 0; i < 3; i++) await api(t.url, 'POST', `/v1/families/${fam.familyId}/invites`, { token: fam.members.admin!.token, body: { role: 'guest' } });
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });
  const get = (query: string, token = fam.members.owner!.token, familyId = fam.familyId) => api(t.url, 'GET', `/v1/families/${familyId}/audit?${query}`, { token });

  it('pages newest first with a cursor until nextCursor is null, without gaps or repeats', async () => {
    const all = (await get('limit=500')).body.events as { id: number }[];
    expect(all.length).toBeGreaterThan(5);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(`limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.events.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.events.map((e: { id: number }) => e.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.map((e) => e.id));
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
  });

  it('filters by kind (exact or prefix), acting member, device and time', async () => {
    const invites = (await get('kind=invite.create')).body.events as { action: string; actorMemberId: string }[];
    expect(invites).toHaveLength(3);
    expect(invites.every((e) => e.action === 'invite.create' && e.actorMemberId === fam.members.admin!.id)).toBe(true);
    const prefix = (await get('kind=invite')).body.events as { action: string }[];
    expect(prefix.length).toBe(3);
    const logins = (await get('action=login.success')).body.events as { action: string }[];
    expect(logins.length).toBe(3);
    const byMember = (await get(`member=${fam.members.admin!.id}`)).body.events as { actorMemberId: string }[];
    expect(byMember.length).toBeGreaterThanOrEqual(4);
    expect(byMember.every((e) => e.actorMemberId === fam.members.admin!.id)).toBe(true);
    const byDevice = (await get(`device=${fam.members.admin!.deviceId}&kind=invite`)).body.events;
    expect(byDevice).toHaveLength(3);
    expect((await get(`since=${new Date(Date.now() + 60_000).toISOString()}`)).body.events).toEqual([]);
    expect((await get(`until=${Date.now() - 3_600_000}`)).body.events).toEqual([]);
    expect((await get(`since=${Date.now() - 3_600_000}&kind=invite`)).body.events).toHaveLength(3);
    expectError(await get('since=yesterday-ish'), 422, 'VALIDATION_FAILED');
    expectError(await get('kind=DROP%20TABLE'), 422, 'VALIDATION_FAILED');
  });

  it('is for owners and admins of this family only', async () => {
    expect((await get('limit=1', fam.members.admin!.token)).status).toBe(200);
    expectError(await get('limit=1', fam.members.adult!.token), 403, 'FORBIDDEN');
    expectError(await get('limit=1', other.members.owner!.token), 403, 'FORBIDDEN');
    const theirs = (await get('limit=500', other.members.owner!.token, other.familyId)).body.events as { actorMemberId: string | null }[];
    expect(theirs.some((e) => e.actorMemberId === fam.members.admin!.id)).toBe(false);
  });

  it('hearth audit reads the same trail from the database, filtered, as JSON', async () => {
    const res = await runCli(['audit', '--family', fam.familyId, '--data', t.dataDir, '--action', 'invite', '--since', '2020-01-01', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const rows = JSON.parse(res.stdout) as { action: string }[];
    expect(rows.map((r) => r.action)).toEqual(['invite.create', 'invite.create', 'invite.create']);
    const bad = await runCli(['audit', '--family', fam.familyId, '--data', t.dataDir, '--since', 'soon']);
    expect(bad.code).not.toBe(0);
  });
});
