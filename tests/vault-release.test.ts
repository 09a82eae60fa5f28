import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createManualClock } from '../jobs/clock.js';
import { readInbox } from '../notifications/inbox.js';
import { fromB64, openEntry, toB64, VaultDecryptError, WrongPassphraseError } from '../client/index.js';
import { removeMember } from '../server/identity/members.js';
import { CLI_ACTOR } from '../server/identity/context.js';
import { api, expectError, seedFamily, startTestServerWith, type Family, type TestServer } from './helpers/hearth.js';
import { DAY, VaultDevice, vaultFamily } from './helpers/vault.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');

describe('vault: seal, refuse before release, release by date, cancel, restore, tamper', () => {
  const clock = createManualClock(T0);
  let t: TestServer;
  let fam: Family;
  let A: VaultDevice;
  let B: VaultDevice;
  let C: VaultDevice;
  const idle = () => t.server.scheduler.whenIdle();

  beforeAll(async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    t = await startTestServerWith({ clock });
    let dev: Record<string, VaultDevice>;
    ({ fam, dev } = await vaultFamily(() => t, 'The Smiths', ['owner', 'adult', 'child']));
    ({ owner: A, adult: B, child: C } = dev as Record<'owner' | 'adult' | 'child', VaultDevice>);
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });

  it('A seals to B at a date; B sees it exists but gets neither ciphertext nor key; after a restart the job releases it once and B decrypts byte-equal', async () => {
    const text = 'x'.repeat(3000) + ' insurance policy 4471-22 ' + '\u00e9\u{1F600}';
    const { id } = await A.seal({ title: 'For B on the 1st', text }, [B.memberId], { releaseAt: '2026-03-10T09:00:00+01:00', timezone: 'Europe/Berlin' });

    const listed = (await B.call('GET', '/entries')).body.entries as { id: string; status: string; nextReleaseAt: number }[];
    expect(listed.map((e) => [e.id, e.status])).toEqual([[id, 'sealed']]);
    expect(listed[0]!.nextReleaseAt).toBe(Date.parse('2026-03-10T08:00:00Z'));
    expect(JSON.stringify(listed)).not.toMatch(/ciphertext|sealedKey/);
    expectError(await B.call('GET', `/entries/${id}/sealed`), 409, 'NOT_RELEASED');
    // C is no recipient: nothing at all.
    expect((await C.call('GET', '/entries')).body.entries).toEqual([]);
    expectError(await C.call('GET', `/entries/${id}/sealed`), 404, 'NOT_FOUND');
    // The owner reads their own any time.
    expect((await A.open(id)).text).toBe(text);

    clock.set(Date.parse('2026-03-10T07:59:00Z'));
    await idle();
    expectError(await B.call('GET', `/entries/${id}/sealed`), 409, 'NOT_RELEASED');

    // The box is off at the due time; another server on the same data dir catches up.
    await t.close();
    clock.set(Date.parse('2026-03-10T11:00:00Z'));
    t = await startTestServerWith({ clock }, {}, t.dataDir);
    await idle();
    const got = await B.open(id);
    expect(Buffer.from(got.text).equals(Buffer.from(text))).toBe(true);
    const row = (await B.call('GET', `/entries/${id}`)).body;
    expect(row).toMatchObject({ status: 'released', releaseReason: 'date', releasedAt: Date.parse('2026-03-10T11:00:00Z') });

    const inbox = await readInbox(t.server.sync.service.docs, fam.familyId, B.memberId);
    expect(inbox.filter((n) => n.kind === 'vault.released').map((n) => n.ref)).toEqual([`vault#${id}`]);
    // Exactly once: more runs add no second release or notification.
    clock.advance(5 * 60_000);
    await idle();
    expect((await readInbox(t.server.sync.service.docs, fam.familyId, B.memberId)).filter((n) => n.kind === 'vault.released')).toHaveLength(1);
    const audits = (await api(t.url, 'GET', `/v1/families/${fam.familyId}/audit?limit=100`, { token: fam.members.owner!.token })).body.events as { action: string; target: string }[];
    expect(audits.filter((a) => a.action === 'vault.entry.release' && a.target === id)).toHaveLength(1);
    expect(audits.filter((a) => a.action === 'vault.entry.access' && a.target === id).length).toBeGreaterThanOrEqual(2);
    expect(audits.some((a) => a.action === 'vault.entry.create' && a.target === id)).toBe(true);
  });

  it('A cancels an entry before release: B never receives it', async () => {
    const { id } = await A.seal({ title: 'never mind', text: 'cancelled words' }, [B.memberId], { releaseAt: new Date(clock.now() + 2 * DAY).toISOString() });
    expectError(await B.call('POST', `/entries/${id}/cancel`), 404, 'NOT_FOUND');
    const res = await A.call('POST', `/entries/${id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('cancelled');
    expectError(await A.call('POST', `/entries/${id}/cancel`), 409, 'CONFLICT');
    clock.advance(3 * DAY);
    await idle();
    expectError(await B.call('GET', `/entries/${id}/sealed`), 404, 'NOT_FOUND');
    expect(((await B.call('GET', '/entries')).body.entries as { id: string }[]).map((e) => e.id)).not.toContain(id);
    expect((await readInbox(t.server.sync.service.docs, fam.familyId, B.memberId)).map((n) => n.ref)).not.toContain(`vault#${id}`);
    expect(fs.readdirSync(`${t.dataDir}/vault/${fam.familyId}`)).not.toContain(`${id}.entry`);
  });

  it('hidden entries: a recipient learns nothing before release unless the owner chose', async () => {
    const { id } = await A.seal({ title: 'surprise', text: 'hidden' }, [B.memberId], { releaseAt: new Date(clock.now() + DAY).toISOString() }, false);
    expect(((await B.call('GET', '/entries')).body.entries as { id: string }[]).map((e) => e.id)).not.toContain(id);
    expectError(await B.call('GET', `/entries/${id}`), 404, 'NOT_FOUND');
    expectError(await B.call('GET', `/entries/${id}/sealed`), 404, 'NOT_FOUND');
    clock.advance(DAY + 60_000);
    await idle();
    expect((await B.open(id)).text).toBe('hidden');
  });

  it('B restores their key on a new device from the passphrase backup and decrypts; a wrong passphrase is a clear error', async () => {
    const { id } = await A.seal({ title: 'later', text: 'restored device reads this' }, [B.memberId], { releaseAt: new Date(clock.now() + DAY).toISOString() });
    clock.advance(DAY + 60_000);
    await idle();
    const fresh = new VaultDevice(() => t, fam.familyId, B.memberId, B.token);
    await expect(fresh.restore('adult passphrase TWO')).rejects.toBeInstanceOf(WrongPassphraseError);
    await fresh.restore('adult passphrase two');
    expect(toB64(fresh.keyPair.publicKey)).toBe(toB64(B.keyPair.publicKey));
    expect((await fresh.open(id)).text).toBe('restored device reads this');
  });

  it('a tampered ciphertext or sealed key fails with a clear error', async () => {
    const { id } = await A.seal({ title: 'tamper', text: 'do not alter' }, [B.memberId], { releaseAt: new Date(clock.now() + DAY).toISOString() });
    clock.advance(DAY + 60_000);
    await idle();
    const res = await B.call('GET', `/entries/${id}/sealed`);
    const ct = fromB64(res.body.ciphertext);
    ct[ct.length - 5]! ^= 0x40;
    const e1 = await openEntry({ id, ciphertext: ct, sealedKey: res.body.sealedKey, keyPair: B.keyPair }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(VaultDecryptError);
    expect(e1).toMatchObject({ part: 'ciphertext', message: expect.stringMatching(/failed authentication/) });
    const sk = fromB64(res.body.sealedKey);
    sk[10]! ^= 1;
    const e2 = await openEntry({ id, ciphertext: res.body.ciphertext, sealedKey: toB64(sk), keyPair: B.keyPair }).catch((e: unknown) => e);
    expect(e2).toMatchObject({ name: 'VaultDecryptError', part: 'sealed-key' });
    // B's key cannot open the owner's sealed copy either.
    expect((await B.open(id)).text).toBe('do not alter');
  });

  it('validates input: bad keys, missing policy, a stranger as recipient, releaseAt in the past, malformed base64', async () => {
    expectError(await A.call('PUT', '/key', { publicKey: 'A'.repeat(43) + '!', wrapped: '{}' }), 422, 'VALIDATION_FAILED');
    const base = { id: 'entry-validate-1', ciphertext: toB64(new Uint8Array(100)), recipientsSee: true };
    const own = { memberId: A.memberId, sealedKey: toB64(new Uint8Array(80)) };
    expectError(await A.call('POST', '/entries', { ...base, sealedKeys: [own], policy: {} }), 422, 'VALIDATION_FAILED');
    expectError(await A.call('POST', '/entries', { ...base, sealedKeys: [own], policy: { releaseAt: '2020-01-01T00:00:00Z' } }), 422, 'VALIDATION_FAILED');
    expectError(
      await A.call('POST', '/entries', { ...base, sealedKeys: [own, { memberId: 'zz_0000000000000000', sealedKey: own.sealedKey }], policy: { requestWaitDays: 3 } }),
      422,
      'VALIDATION_FAILED',
    );
    expectError(await A.call('POST', '/entries', { ...base, sealedKeys: [{ ...own, memberId: B.memberId }], policy: { requestWaitDays: 3 } }), 422, 'VALIDATION_FAILED');
    expectError(await A.call('POST', '/entries', { ...base, ciphertext: 'not base64!', sealedKeys: [own], policy: { requestWaitDays: 3 } }), 422, 'VALIDATION_FAILED');
    expectError(await A.call('POST', '/entries', { ...base, sealedKeys: [{ ...own, sealedKey: toB64(new Uint8Array(79)) + 'AAAA' }], policy: { requestWaitDays: 3 } }), 422, 'VALIDATION_FAILED');
  });

  it('another family cannot reach these entries on any vault route', async () => {
    const other = await seedFamily(t, 'The Joneses', ['owner']);
    const stranger = other.members.owner!.token;
    const { id } = await A.seal({ title: 'ours', text: 'family only' }, [B.memberId], { requestWaitDays: 1 });
    for (const [m, p] of [
      ['GET', '/keys'],
      ['GET', '/entries'],
      ['GET', `/entries/${id}`],
      ['GET', `/entries/${id}/sealed`],
      ['POST', `/entries/${id}/request`],
      ['POST', `/entries/${id}/cancel`],
    ] as const) {
      const res = await api(t.url, m, `/v1/families/${fam.familyId}/vault${p}`, { token: stranger });
      expect(res.status, `${m} ${p}`).toBe(403);
    }
    // Through its own family path the stranger finds nothing of ours.
    expectError(await api(t.url, 'GET', `/v1/families/${other.familyId}/vault/entries/${id}`, { token: stranger }), 404, 'NOT_FOUND');
  });

  it('a removed recipient loses their sealed keys; a removed owner’s entry still releases on its policy', async () => {
    const { id: toC } = await A.seal({ title: 'for C', text: 'c text' }, [C.memberId, B.memberId], { releaseAt: new Date(clock.now() + DAY).toISOString() });
    const { id: fromC } = await C.seal({ title: 'from C', text: 'c wrote this' }, [B.memberId], { releaseAt: new Date(clock.now() + DAY).toISOString() });
    removeMember(t.server.identity, fam.familyId, C.memberId, CLI_ACTOR);
    expect((await A.call('GET', `/entries/${toC}`)).body.recipients).toEqual([B.memberId]);
    clock.advance(DAY + 60_000);
    await idle();
    expect((await B.open(fromC)).text).toBe('c wrote this');
    expect((await B.open(toC)).text).toBe('c text');
    const left = t.server.storage.sqlite.prepare('SELECT count(*) AS n FROM vault_sealed_keys WHERE member_id = ? AND is_owner = 0').get(C.memberId) as { n: number };
    expect(left.n).toBe(0);
  });
});
