import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createManualClock } from '../jobs/clock.js';
import { runCli, seedFamily, startTestServerWith, type Family, type TestServer } from './helpers/hearth.js';
import { DAY, VaultDevice } from './helpers/vault.js';

const T0 = Date.parse('2026-09-01T10:00:00Z');

describe('hearth vault status', () => {
  const clock = createManualClock(T0);
  let t: TestServer;
  let fam: Family;

  beforeAll(async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    t = await startTestServerWith({ clock });
    fam = await seedFamily(t, 'The Smiths', ['owner', 'adult']);
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });

  it('lists entries, owners, recipients, policies and the next release, live and offline, without content', async () => {
    const A = new VaultDevice(() => t, fam.familyId, fam.members.owner!.id, fam.members.owner!.token);
    const B = new VaultDevice(() => t, fam.familyId, fam.members.adult!.id, fam.members.adult!.token);
    await A.enroll('owner passphrase one');
    await B.enroll('adult passphrase two');
    const { id: e1 } = await A.seal({ title: 'SECRET-TITLE', text: 'SECRET-TEXT' }, [B.memberId], { releaseAt: '2026-09-05T09:00:00+02:00', timezone: 'Europe/Paris' });
    const { id: e2 } = await A.seal({ title: 'x', text: 'y' }, [B.memberId], { inactivityDays: 30, graceDays: 3 });

    const live = await runCli(['vault', 'status', '--data', t.dataDir, '--family', fam.familyId, '--json']);
    expect(live.code, live.stderr).toBe(0);
    const st = JSON.parse(live.stdout);
    expect(st.keys).toBe(2);
    expect(st.nextReleaseAt).toBe(Date.parse('2026-09-05T07:00:00Z'));
    // Same clock ms for both: the table orders them by id.
    const byId = (id: string) => st.entries.find((e: { id: string }) => e.id === id);
    expect(st.entries).toHaveLength(2);
    expect(byId(e1)).toMatchObject({ owner: A.memberId, recipients: [B.memberId], status: 'sealed', policies: ['date 2026-09-05T07:00:00.000Z (Europe/Paris)'] });
    expect(byId(e2)).toMatchObject({ owner: A.memberId, recipients: [B.memberId], status: 'sealed', policies: ['inactivity 30d (warn 14/7/1d, grace 3d)'] });
    expect(byId(e2).nextReleaseAt).toBe(T0 + 33 * DAY);

    const text = await runCli(['vault', 'status', '--data', t.dataDir]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(e1);
    expect(text.stdout).toContain('next release: 2026-09-05T07:00:00.000Z');
    for (const out of [live.stdout, text.stdout]) expect(out).not.toMatch(/SECRET|ciphertext|sealedKey|wrapped/);

    // Offline (no server): the same answer from the database.
    await t.close();
    const offline = await runCli(['vault', 'status', '--data', t.dataDir, '--json']);
    expect(offline.code, offline.stderr).toBe(0);
    expect(JSON.parse(offline.stdout).entries).toHaveLength(2);
    t = await startTestServerWith({ clock }, {}, t.dataDir);
  });
});
