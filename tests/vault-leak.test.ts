import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createManualClock } from '../jobs/clock.js';
import { createBackup } from '../backup/index.js';
import { decryptAttachment, encryptAttachment, toB64, vaultSodium } from '../client/index.js';
import { seedFamily, startTestServerWith, type Family, type TestServer } from './helpers/hearth.js';
import { DAY, VaultDevice } from './helpers/vault.js';

const T0 = Date.parse('2026-07-01T10:00:00Z');

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('the server never holds a vault plaintext or key in the clear', () => {
  const clock = createManualClock(T0);
  let t: TestServer;
  let fam: Family;

  beforeAll(async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    t = await startTestServerWith({ clock });
    fam = await seedFamily(t, 'The Smiths', ['owner', 'adult', 'child']);
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });

  it('markers, content keys, attachment keys and private keys appear in none of: database, WAL, vault entry and attachment blobs, media, backups, logs', async () => {
    const s = await vaultSodium();
    const A = new VaultDevice(() => t, fam.familyId, fam.members.owner!.id, fam.members.owner!.token);
    const B = new VaultDevice(() => t, fam.familyId, fam.members.adult!.id, fam.members.adult!.token);
    const C = new VaultDevice(() => t, fam.familyId, fam.members.child!.id, fam.members.child!.token);
    for (const [d, p] of [[A, 'passphrase-MARKER-aaa'], [B, 'passphrase-MARKER-bbb'], [C, 'passphrase-MARKER-ccc']] as const) await d.enroll(p);

    const markers: string[] = [];
    const contentKeys: Uint8Array[] = [];
    const ids: string[] = [];
    // Capture each content key as sealEntry makes it (keygen is the only source).
    const keygen = s.crypto_aead_xchacha20poly1305_ietf_keygen.bind(s);
    const streamKeygen = s.crypto_secretstream_xchacha20poly1305_keygen.bind(s);
    const streamSpy = vi.spyOn(s, 'crypto_secretstream_xchacha20poly1305_keygen').mockImplementation(((...a: unknown[]) => {
      const k = (streamKeygen as (...x: unknown[]) => Uint8Array)(...a);
      contentKeys.push(k.slice());
      return k;
    }) as typeof s.crypto_secretstream_xchacha20poly1305_keygen);
    const spy = vi.spyOn(s, 'crypto_aead_xchacha20poly1305_ietf_keygen').mockImplementation(((...a: unknown[]) => {
      const k = (keygen as (...x: unknown[]) => Uint8Array)(...a);
      contentKeys.push(k.slice());
      return k;
    }) as typeof s.crypto_aead_xchacha20poly1305_ietf_keygen);
    for (let i = 0; i < 6; i++) {
      const m = `VAULTMARKER${i}${s.to_hex(s.randombytes_buf(8))}`;
      markers.push(m);
      const policy = i % 3 === 0 ? { releaseAt: new Date(T0 + DAY).toISOString() } : i % 3 === 1 ? { inactivityDays: 2, warnDays: [1] } : { requestWaitDays: 1 };
      // Every other entry carries an attachment whose plaintext is the marker, repeated past a chunk.
      const att = i % 2 === 0 ? await encryptAttachment(Buffer.from(`${m}|`.repeat(5000)), { id: `att_leak_${i}`, name: `scan ${m}.pdf`, type: 'application/pdf' }) : null;
      const { id } = await A.seal({ title: `title ${m}`, text: `${m} `.repeat(200), meta: { marker: m }, ...(att ? { attachments: [att.ref] } : {}) }, [B.memberId, C.memberId], policy);
      if (att) await A.upload(id, att.ref.id, att.blob);
      ids.push(id);
    }
    spy.mockRestore();
    streamSpy.mockRestore();
    expect(contentKeys).toHaveLength(9);
    for (const i of [2, 5]) expect((await B.call('POST', `/entries/${ids[i]}/request`)).status).toBe(200);
    clock.set(T0 + 3 * DAY);
    await t.server.scheduler.whenIdle();
    for (const id of ids) {
      const content = await B.open(id);
      expect(content.text).toContain('VAULTMARKER');
      for (const ref of content.attachments ?? []) expect(Buffer.from(await decryptAttachment(await B.download(id, ref.id), ref)).toString()).toContain('VAULTMARKER');
    }
    t.server.storage.sqlite.pragma('wal_checkpoint(PASSIVE)');
    await createBackup({ sqlite: t.server.storage.sqlite, layout: t.server.layout, now: clock.now(), hearthVersion: 'test' });

    const needles: [string, Buffer][] = [];
    for (const m of markers) needles.push([m, Buffer.from(m)]);
    for (const k of contentKeys) {
      needles.push(['content key (raw)', Buffer.from(k)], ['content key (b64)', Buffer.from(toB64(k))], ['content key (hex)', Buffer.from(s.to_hex(k))]);
    }
    for (const d of [A, B, C]) {
      needles.push(['private key (raw)', Buffer.from(d.keyPair.privateKey)], ['private key (b64)', Buffer.from(toB64(d.keyPair.privateKey))]);
    }
    needles.push(['passphrase', Buffer.from('passphrase-MARKER')]);

    const files = [
      t.server.layout.database,
      `${t.server.layout.database}-wal`,
      ...filesUnder(t.server.layout.vault),
      ...filesUnder(t.server.layout.media),
      ...filesUnder(t.server.layout.backups),
    ].filter((f) => fs.existsSync(f));
    expect(files.some((f) => f.includes(`${path.sep}vault${path.sep}`))).toBe(true);
    expect(files.filter((f) => f.endsWith('.att') && f.startsWith(t.server.layout.vault))).toHaveLength(3);
    expect(filesUnder(t.server.layout.backups).length).toBeGreaterThan(0);
    const logs = Buffer.from(t.logs.text());
    expect(logs.length).toBeGreaterThan(0);
    const found: string[] = [];
    for (const [name, bytes] of [...files.map((f) => [f, fs.readFileSync(f)] as const), ['server log', logs] as const]) {
      for (const [what, needle] of needles) if (bytes.includes(needle)) found.push(`${what} in ${name}`);
    }
    expect(found).toEqual([]);
    // The scan can find things: the same markers are in what B decrypted.
    expect(Buffer.from(JSON.stringify(await B.open(ids[0]!))).includes(needles[0]![1])).toBe(true);
  });
});
