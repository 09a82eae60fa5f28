import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createManualClock } from '../jobs/clock.js';
import { readInbox } from '../notifications/inbox.js';
import { expectError, seedFamily, startTestServerWith, type Family, type TestServer } from './helpers/hearth.js';
import { DAY, VaultDevice, vaultFamily } from './helpers/vault.js';

const T0 = Date.parse('2026-05-01T08:00:00Z');

describe("vault policies: dead man's switch and release on request", () => {
  const clock = createManualClock(T0);
  let t: TestServer;
  let fam: Family;
  let A: VaultDevice;
  let B: VaultDevice;
  const idle = () => t.server.scheduler.whenIdle();
  const restart = async () => {
    await t.close();
    t = await startTestServerWith({ clock }, {}, t.dataDir);
    await idle();
  };
  const inbox = async (m: string) => (await readInbox(t.server.sync.service.docs, fam.familyId, m)).filter((n) => n.kind.startsWith('vault.'));
  const at = async (ms: number) => {
    clock.set(ms);
    await idle();
  };

  beforeAll(async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    t = await startTestServerWith({ clock });
    let dev: Record<string, VaultDevice>;
    ({ fam, dev } = await vaultFamily(() => t, 'The Smiths', ['owner', 'adult']));
    ({ owner: A, adult: B } = dev as Record<'owner' | 'adult', VaultDevice>);
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });

  it('warns at 14, 7 and 1 days in order, a check-in resets it, silence (after grace) releases it, across a restart', async () => {
    const { id } = await A.seal({ title: 'if I go quiet', text: 'the passwords are in the blue folder' }, [B.memberId], { inactivityDays: 30, warnDays: [14, 7, 1], graceDays: 2 });
    const silence = T0 + 30 * DAY;
    const warnIds = async () => (await inbox(A.memberId)).filter((n) => n.kind === 'vault.warning').map((n) => n.id);

    await at(silence - 15 * DAY);
    expect(await warnIds()).toEqual([]);
    await at(silence - 14 * DAY + 60_000);
    expect(await warnIds()).toEqual([`vault-warn-${id}-${T0}-14d`]);
    await at(silence - 7 * DAY + 60_000);
    expect(await warnIds()).toEqual([`vault-warn-${id}-${T0}-14d`, `vault-warn-${id}-${T0}-7d`]);

    // The owner checks in: the switch starts over, no further warning of that cycle.
    const checkinAt = clock.now();
    const ci = await A.call('POST', '/checkin');
    expect(ci.body).toEqual({ entries: 1, at: checkinAt });
    await at(silence - DAY + 60_000);
    expect(await warnIds()).toHaveLength(2);
    expect((await A.call('GET', `/entries/${id}`)).body.nextReleaseAt).toBe(checkinAt + 32 * DAY);

    const silence2 = checkinAt + 30 * DAY;
    await at(silence2 - 14 * DAY + 60_000);
    await restart(); // in the middle of the second cycle
    await at(silence2 - 7 * DAY + 60_000);
    await at(silence2 - DAY + 60_000);
    const cycle2 = (await warnIds()).slice(2);
    expect(cycle2).toEqual([`vault-warn-${id}-${checkinAt}-14d`, `vault-warn-${id}-${checkinAt}-7d`, `vault-warn-${id}-${checkinAt}-1d`]);

    // Silence ran out: the grace warning, still sealed.
    await at(silence2 + 60_000);
    expect((await warnIds()).at(-1)).toBe(`vault-warn-${id}-${checkinAt}-grace`);
    expectError(await B.call('GET', `/entries/${id}/sealed`), 409, 'NOT_RELEASED');
    await at(silence2 + 2 * DAY + 60_000);
    expect((await B.open(id)).text).toBe('the passwords are in the blue folder');
    expect((await B.call('GET', `/entries/${id}`)).body).toMatchObject({ status: 'released', releaseReason: 'inactivity' });
    expect((await inbox(B.memberId)).filter((n) => n.kind === 'vault.released').map((n) => n.ref)).toEqual([`vault#${id}`]);
    // Inbox order is the order they happened.
    const all = (await inbox(A.memberId)).map((n) => n.createdAt);
    expect([...all].sort()).toEqual(all);
  });

  it('a recipient’s request releases after the wait unless the owner vetoes; the owner is warned at the request and before it lapses', async () => {
    const start = clock.now();
    const { id } = await A.seal({ title: 'emergency access', text: 'bank login: see paper' }, [B.memberId], { requestWaitDays: 3 });
    expect((await A.call('GET', `/entries/${id}`)).body.nextReleaseAt).toBeNull();
    expectError(await A.call('POST', `/entries/${id}/request`), 409, 'CONFLICT');
    expectError(await A.call('POST', `/entries/${id}/veto`), 409, 'CONFLICT');

    // First request: vetoed.
    expect((await B.call('POST', `/entries/${id}/request`)).status).toBe(200);
    const req1 = clock.now();
    expectError(await B.call('POST', `/entries/${id}/request`), 409, 'CONFLICT');
    await at(start + 60_000);
    expect((await inbox(A.memberId)).map((n) => n.id)).toContain(`vault-request-${id}-${req1}`);
    await at(req1 + 2 * DAY + 60_000);
    expect((await inbox(A.memberId)).map((n) => n.id)).toContain(`vault-request-${id}-${req1}-lapse`);
    expectError(await B.call('POST', `/entries/${id}/veto`), 404, 'NOT_FOUND');
    expect((await A.call('POST', `/entries/${id}/veto`)).body.requestedAt).toBeNull();
    await at(req1 + 4 * DAY);
    expectError(await B.call('GET', `/entries/${id}/sealed`), 409, 'NOT_RELEASED');

    // Second request: the owner stays silent, a restart in the wait, then release.
    expect((await B.call('POST', `/entries/${id}/request`)).status).toBe(200);
    const req2 = clock.now();
    await at(req2 + DAY);
    await restart();
    await at(req2 + 3 * DAY - 60_000);
    expectError(await B.call('GET', `/entries/${id}/sealed`), 409, 'NOT_RELEASED');
    await at(req2 + 3 * DAY + 60_000);
    expect((await B.open(id)).text).toBe('bank login: see paper');
    expect((await B.call('GET', `/entries/${id}`)).body).toMatchObject({ status: 'released', releaseReason: 'request', requestedBy: B.memberId });
  });
});
