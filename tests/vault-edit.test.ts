import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createManualClock } from '../jobs/clock.js';
import { readInbox } from '../notifications/inbox.js';
import { api, expectError, seedFamily, startTestServerWith, type Family, type TestServer } from './helpers/hearth.js';
import { DAY, VaultDevice, vaultFamily } from './helpers/vault.js';

const T0 = Date.parse('2026-06-01T08:00:00Z');

describe('vault: the owner edits a policy before release', () => {
  const clock = createManualClock(T0);
  let t: TestServer;
  let fam: Family;
  let A: VaultDevice;
  let B: VaultDevice;
  const idle = () => t.server.scheduler.whenIdle();
  const at = async (ms: number) => {
    clock.set(ms);
    await idle();
  };
  const restart = async () => {
    await t.close();
    t = await startTestServerWith({ clock }, {}, t.dataDir);
    await idle();
  };
  const releases = async (id: string) => {
    const ev = (await api(t.url, 'GET', `/v1/families/${fam.familyId}/audit?limit=200`, { token: fam.members.owner!.token })).body.events as {
      action: string;
      target: string;
      details: Record<string, unknown> | null;
    }[];
    return { release: ev.filter((e) => e.action === 'vault.entry.release' && e.target === id), update: ev.filter((e) => e.action === 'vault.entry.update' && e.target === id) };
  };
  const status = async (id: string) => (await A.call('GET', `/entries/${id}`)).body as { status: string; releasedAt: number | null; nextReleaseAt: number | null; releaseReason: string | null };

  beforeAll(async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    t = await startTestServerWith({ clock });
    let dev: Record<string, VaultDevice>;
    ({ fam, dev } = await vaultFamily(() => t, 'The Editors', ['owner', 'adult']));
    ({ owner: A, adult: B } = dev as Record<'owner' | 'adult', VaultDevice>);
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });

  it('a later date: not released at the old one, released once at the new one, across a restart', async () => {
    const { id } = await A.seal({ title: 'moved', text: 'later than planned' }, [B.memberId], { releaseAt: new Date(T0 + 2 * DAY).toISOString() });
    const res = await A.call('PATCH', `/entries/${id}`, { policy: { releaseAt: '2026-06-06T10:00:00+02:00', timezone: 'Europe/Berlin' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const newAt = Date.parse('2026-06-06T08:00:00Z');
    expect(res.body).toMatchObject({ status: 'sealed', nextReleaseAt: newAt, policy: { releaseAt: newAt, timezone: 'Europe/Berlin' } });
    // Only the owner; the recipient and a stranger's edits are refused.
    expectError(await B.call('PATCH', `/entries/${id}`, { policy: { releaseAt: new Date(T0 + DAY).toISOString() } }), 404, 'NOT_FOUND');

    await at(T0 + 3 * DAY);
    expect((await status(id)).status).toBe('sealed');
    expectError(await B.call('GET', `/entries/${id}/sealed`), 409, 'NOT_RELEASED');
    await restart();
    await at(newAt - 60_000);
    expect((await status(id)).status).toBe('sealed');
    await restart();
    await at(newAt + 60_000);
    expect(await status(id)).toMatchObject({ status: 'released', releaseReason: 'date', releasedAt: newAt + 60_000 });
    expect((await B.open(id)).text).toBe('later than planned');
    await at(newAt + 10 * 60_000);
    const a = await releases(id);
    expect(a.release).toHaveLength(1);
    expect(a.update).toHaveLength(1);
    expect(a.update[0]!.details).toEqual({ changed: ['releaseAt', 'timezone'], nextReleaseAt: newAt });
    expect((await readInbox(t.server.sync.service.docs, fam.familyId, B.memberId)).filter((n) => n.ref === `vault#${id}`)).toHaveLength(1);
    // After release the policy is fixed.
    expectError(await A.call('PATCH', `/entries/${id}`, { policy: { releaseAt: new Date(clock.now() + DAY).toISOString() } }), 409, 'CONFLICT');
  });

  it('an earlier date releases at the new time, exactly once; switching policies and visibility', async () => {
    const start = clock.now();
    const { id } = await A.seal({ title: 'sooner', text: 'earlier' }, [B.memberId], { releaseAt: new Date(start + 10 * DAY).toISOString() }, false);
    expectError(await B.call('GET', `/entries/${id}`), 404, 'NOT_FOUND');
    // Now B may see it exists; the date moves in; a request policy is added.
    const res = await A.call('PATCH', `/entries/${id}`, { recipientsSee: true, policy: { releaseAt: new Date(start + 2 * DAY).toISOString(), requestWaitDays: 3 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ recipientsSee: true, nextReleaseAt: start + 2 * DAY, policy: { requestWaitDays: 3 } });
    expect((await B.call('GET', `/entries/${id}`)).status).toBe(200);
    await restart();
    await at(start + 2 * DAY + 60_000);
    expect(await status(id)).toMatchObject({ status: 'released', releaseReason: 'date' });
    await at(start + 10 * DAY + 60_000);
    expect((await releases(id)).release).toHaveLength(1);
  });

  it('the dead man\'s switch: changing it starts a new cycle now; clearing the last policy is refused; a past date is refused', async () => {
    const start = clock.now();
    const { id } = await A.seal({ title: 'switch', text: 'quiet' }, [B.memberId], { inactivityDays: 30, graceDays: 1 });
    await at(start + 20 * DAY);
    // 10 days of silence would already have run out: the edit is itself a sign of life.
    const res = await A.call('PATCH', `/entries/${id}`, { policy: { inactivityDays: 10, warnDays: [2], graceDays: 0 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const editAt = clock.now();
    expect(res.body).toMatchObject({ nextReleaseAt: editAt + 10 * DAY, policy: { inactivityDays: 10, warnDays: [2], graceDays: 0, lastCheckinAt: editAt } });
    expectError(await A.call('PATCH', `/entries/${id}`, { policy: { inactivityDays: null } }), 422, 'VALIDATION_FAILED');
    expectError(await A.call('PATCH', `/entries/${id}`, { policy: { releaseAt: new Date(editAt - DAY).toISOString() } }), 422, 'VALIDATION_FAILED');
    expectError(await A.call('PATCH', `/entries/${id}`, {}), 422, 'VALIDATION_FAILED');
    await at(editAt + 8 * DAY + 60_000);
    const warns = (await readInbox(t.server.sync.service.docs, fam.familyId, A.memberId)).filter((n) => n.kind === 'vault.warning' && n.id.startsWith(`vault-warn-${id}`));
    // The old cycle's 14-day warning came before the edit; the new cycle warns at its own point only.
    expect(warns.map((n) => n.id)).toEqual([`vault-warn-${id}-${start}-14d`, `vault-warn-${id}-${editAt}-2d`]);
    await restart();
    await at(editAt + 10 * DAY + 60_000);
    expect(await status(id)).toMatchObject({ status: 'released', releaseReason: 'inactivity' });
    expect((await releases(id)).release).toHaveLength(1);
  });

  it('removing the request policy drops a pending request: nothing releases on it', async () => {
    const start = clock.now();
    const { id } = await A.seal({ title: 'ask', text: 'asked' }, [B.memberId], { requestWaitDays: 2, releaseAt: new Date(start + 30 * DAY).toISOString() });
    expect((await B.call('POST', `/entries/${id}/request`)).status).toBe(200);
    const res = await A.call('PATCH', `/entries/${id}`, { policy: { requestWaitDays: null } });
    expect(res.body).toMatchObject({ requestedBy: null, requestedAt: null, nextReleaseAt: start + 30 * DAY });
    await at(start + 3 * DAY);
    expect((await status(id)).status).toBe('sealed');
  });
});
