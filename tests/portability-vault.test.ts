import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createManualClock } from '../jobs/clock.js';
import { readInbox } from '../notifications/inbox.js';
import { toB64, vaultSodium } from '../client/index.js';
import { exportFamilyToFile, ExportError, importFamily, ImportError, PORTABLE_TABLES } from '../portability/index.js';
import { openStorage } from '../storage/database.js';
import { ensureDataDir } from '../storage/data-dir.js';
import { api, expectError, runCli, seedFamily, startTestServerWith, tempDir, type Family, type TestServer } from './helpers/hearth.js';
import { tarEntries, walkFiles } from './helpers/portability.js';
import { DAY, VaultDevice } from './helpers/vault.js';

// The vault moves with its family: rows as stored, every file under vault/<familyId>/,
// and after import the released entry opens, the pending one releases there, once.
const T0 = Date.parse('2026-05-01T09:00:00Z');
const MARKER = 'VAULTPORTMARKER-4c1e';
const VAULT_TABLES = ['vault_keys', 'vault_entries', 'vault_sealed_keys', 'vault_outbox'];

/** The archive with entries renamed or dropped and a manifest that agrees, so only import's own checks can catch it. */
async function rewrite(buf: Buffer, edit: (name: string) => string | null): Promise<Buffer> {
  const pack = tar.pack();
  const files: { path: string; size: number; sha256: string }[] = [];
  let manifest: Record<string, unknown> = {};
  for (const [name, e] of tarEntries(buf)) {
    const data = Buffer.from(buf.subarray(e.data, e.data + e.size));
    if (name === 'manifest.json') {
      manifest = JSON.parse(data.toString('utf8'));
      continue;
    }
    const to = edit(name);
    if (to === null) continue;
    files.push({ path: to, size: data.length, sha256: crypto.createHash('sha256').update(data).digest('hex') });
    pack.entry({ name: to, size: data.length }, data);
  }
  pack.entry({ name: 'manifest.json' }, Buffer.from(JSON.stringify({ ...manifest, files })));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

const familyRows = (t: TestServer, table: string, familyId: string) =>
  t.server.storage.sqlite.prepare(`SELECT * FROM "${table}" WHERE family_id = ? ORDER BY rowid`).all(familyId);

describe('the vault in family export and import', () => {
  const clockA = createManualClock(T0);
  let a: TestServer;
  let fam: Family;
  let A: VaultDevice;
  let B: VaultDevice;
  let C: VaultDevice;
  let released: string;
  let pending: string;
  let hiddenFromOwner: string;
  let toOwner: string;
  let notForOwner: string;
  let archive: Buffer;
  let archiveFile: string;
  const releasedText = `${MARKER} released: the insurance number is 4471-22 \u00e9\u{1F600} `.repeat(40);
  const pendingText = `${MARKER} pending: the safe code is 0815 `.repeat(20);
  const passphrase = { A: 'owner phrase MARKERPASS-a', B: 'adult phrase MARKERPASS-b', C: 'child phrase MARKERPASS-c' };
  const attachment = Buffer.from(crypto.randomBytes(3000));

  beforeAll(async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    a = await startTestServerWith({ clock: clockA });
    fam = await seedFamily(a, 'The Movers', ['owner', 'adult', 'child']);
    const dev = (role: string) => new VaultDevice(() => a, fam.familyId, fam.members[role]!.id, fam.members[role]!.token);
    A = dev('owner');
    B = dev('adult');
    C = dev('child');
    await A.enroll(passphrase.A);
    await B.enroll(passphrase.B);
    await C.enroll(passphrase.C);
    released = (await A.seal({ title: `${MARKER} for B`, text: releasedText }, [B.memberId], { releaseAt: new Date(T0 + DAY).toISOString() })).id;
    pending = (await A.seal({ title: `${MARKER} later`, text: pendingText }, [B.memberId], { releaseAt: '2026-05-20T08:00:00Z' })).id;
    // For the owner-token export: C's hidden entry to the owner, C's visible entry to the owner, C's entry to B only.
    hiddenFromOwner = (await C.seal({ title: 'hidden', text: `${MARKER} hidden` }, [A.memberId], { releaseAt: '2026-06-01T00:00:00Z' }, false)).id;
    toOwner = (await C.seal({ title: 'visible', text: `${MARKER} visible` }, [A.memberId], { releaseAt: '2026-06-01T00:00:00Z' })).id;
    notForOwner = (await C.seal({ title: 'for B', text: `${MARKER} c to b` }, [B.memberId], { requestWaitDays: 3 })).id;
    clockA.set(T0 + DAY + 60_000);
    await a.server.scheduler.whenIdle();
    expect((await B.open(released)).text).toBe(releasedText);
    expectError(await B.call('GET', `/entries/${pending}/sealed`), 409, 'NOT_RELEASED');
    // Any file under vault/<familyId>/ travels (attachment blobs and whatever comes later), not only entry files.
    const dir = path.join(a.server.layout.vault, fam.familyId, 'attachments', pending);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'att1.blob'), attachment);
    fs.mkdirSync(path.join(a.server.layout.vault, fam.familyId, 'attachments', hiddenFromOwner), { recursive: true });
    fs.writeFileSync(path.join(a.server.layout.vault, fam.familyId, 'attachments', hiddenFromOwner, 'att2.blob'), crypto.randomBytes(100));

    archiveFile = path.join(tempDir('hearth-vexport-'), 'family.tar');
    const exp = await runCli(['export', '--family', fam.familyId, '--out', archiveFile, '--data', a.dataDir, '--json']);
    expect(exp.code, exp.stderr).toBe(0);
    expect(JSON.parse(exp.stdout)).toMatchObject({ vaultFiles: 7, rows: { vault_entries: 5, vault_keys: 3 } });
    archive = fs.readFileSync(archiveFile);
  });
  afterAll(async () => {
    await a.close();
  });

  it('every vault table of the schema is in the portability registry, scoped for one-member exports', () => {
    const tables = a.server.storage.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'vault%'").pluck().all() as string[];
    expect(tables.sort()).toEqual(expect.arrayContaining(VAULT_TABLES));
    for (const name of tables) {
      const t = PORTABLE_TABLES.find((x) => x.name === name);
      expect(t, `${name} must be registered (portability/vault-tables.ts)`).toBeDefined();
      expect(t!.memberExportWhere, `${name} needs memberExportWhere`).toBeTruthy();
      const cols = (a.server.storage.sqlite.prepare(`PRAGMA table_info("${name}")`).all() as { name: string }[]).map((c) => c.name);
      expect([...t!.columns].sort(), `${name}: every column travels`).toEqual(cols.sort());
    }
  });

  it('the archive holds the vault rows and files with size and SHA-256, and no plaintext, key or passphrase', async () => {
    const entries = tarEntries(archive);
    const names = [...entries.keys()];
    for (const t of VAULT_TABLES) expect(names).toContain(`rows/${t}/0000.jsonl`);
    const vaultNames = names.filter((n) => n.startsWith('vault/')).sort();
    const onDisk = walkFiles(path.join(a.server.layout.vault, fam.familyId)).map((f) => `vault/${path.relative(path.join(a.server.layout.vault, fam.familyId), f)}`);
    expect(vaultNames).toEqual(onDisk.sort());
    expect(vaultNames).toContain(`vault/${released}.entry`);
    expect(vaultNames).toContain(`vault/attachments/${pending}/att1.blob`);
    const m = entries.get('manifest.json')!;
    const manifest = JSON.parse(archive.subarray(m.data, m.data + m.size).toString('utf8')) as { files: { path: string; size: number; sha256: string }[]; counts: Record<string, unknown> };
    for (const n of vaultNames) {
      const f = manifest.files.find((x) => x.path === n)!;
      const e = entries.get(n)!;
      const bytes = archive.subarray(e.data, e.data + e.size);
      expect(f.size).toBe(fs.statSync(path.join(a.server.layout.vault, fam.familyId, n.slice(6))).size);
      expect(f.sha256).toBe(crypto.createHash('sha256').update(bytes).digest('hex'));
    }
    expect(manifest.counts).toMatchObject({ vaultFiles: 7 });
    const h = entries.get('hearth-export.json')!;
    expect(JSON.parse(archive.subarray(h.data, h.data + h.size).toString('utf8'))).toMatchObject({ vaultScope: 'family' });

    const s = await vaultSodium();
    const needles: [string, Buffer][] = [
      ['marker', Buffer.from(MARKER)],
      ['passphrase', Buffer.from('MARKERPASS')],
      ['safe code', Buffer.from('safe code is 0815')],
    ];
    for (const d of [A, B, C]) needles.push(['private key', Buffer.from(d.keyPair.privateKey)], ['private key b64', Buffer.from(toB64(d.keyPair.privateKey))], ['private key hex', Buffer.from(s.to_hex(d.keyPair.privateKey))]);
    expect(needles.filter(([, n]) => archive.includes(n)).map(([w]) => w)).toEqual([]);
  });

  it('imports into a fresh server: rows and files equal, B signs in again, restores the key, opens the released entry; the pending one releases there once', async () => {
    const clockB = createManualClock(clockA.now());
    const fresh = await startTestServerWith({ clock: clockB });
    await fresh.close();
    const imp = await runCli(['import', archiveFile, '--data', fresh.dataDir, '--url', 'http://example.test', '--json']);
    expect(imp.code, imp.stderr).toBe(0);
    const r = JSON.parse(imp.stdout) as { vaultFiles: number; rows: Record<string, number>; signIn: { memberId: string; link: string }[] };
    expect(r).toMatchObject({ vaultFiles: 7, rows: { vault_entries: 5, vault_sealed_keys: 10, vault_keys: 3 } });
    const b = await startTestServerWith({ clock: clockB }, {}, fresh.dataDir);
    try {
      // Same ids, same rows, byte-equal files.
      for (const t of VAULT_TABLES) expect(familyRows(b, t, fam.familyId), t).toEqual(familyRows(a, t, fam.familyId));
      const rootA = path.join(a.server.layout.vault, fam.familyId);
      const rootB = path.join(b.server.layout.vault, fam.familyId);
      const filesA = walkFiles(rootA).map((f) => path.relative(rootA, f)).sort();
      expect(walkFiles(rootB).map((f) => path.relative(rootB, f)).sort()).toEqual(filesA);
      for (const f of filesA) expect(fs.readFileSync(path.join(rootB, f)).equals(fs.readFileSync(path.join(rootA, f))), f).toBe(true);
      expect(walkFiles(b.server.layout.vaultTmp)).toEqual([]);

      // B's device signs in with the link import printed; the old token means nothing here.
      expect((await api(b.url, 'GET', `/v1/families/${fam.familyId}/vault/entries`, { token: B.token })).status).toBe(401);
      const link = r.signIn.find((s) => s.memberId === B.memberId)!.link;
      const redeemed = await api(b.url, 'POST', '/v1/pair/redeem', { body: { token: new URL(link).searchParams.get('token'), deviceName: 'B again' } });
      expect(redeemed.status).toBe(200);
      const B2 = new VaultDevice(() => b, fam.familyId, B.memberId, redeemed.body.accessToken);
      await B2.restore(passphrase.B);
      expect(toB64(B2.keyPair.publicKey)).toBe(toB64(B.keyPair.publicKey));
      const got = await B2.open(released);
      expect(Buffer.from(got.text).equals(Buffer.from(releasedText))).toBe(true);
      expectError(await B2.call('GET', `/entries/${pending}/sealed`), 409, 'NOT_RELEASED');

      const due = Date.parse('2026-05-20T08:00:00Z');
      clockB.set(due - 60_000);
      await b.server.scheduler.whenIdle();
      expectError(await B2.call('GET', `/entries/${pending}/sealed`), 409, 'NOT_RELEASED');
      clockB.set(due + 30_000);
      await b.server.scheduler.whenIdle();
      expect((await B2.open(pending)).text).toBe(pendingText);
      clockB.advance(10 * 60_000);
      await b.server.scheduler.whenIdle();
      const releases = b.server.storage.sqlite.prepare("SELECT count(*) FROM audit_events WHERE action = 'vault.entry.release' AND target = ?").pluck().get(pending);
      expect(releases).toBe(1);
      const inbox = await readInbox(b.server.sync.service.docs, fam.familyId, B.memberId);
      expect(inbox.filter((n) => n.ref === `vault#${pending}` && n.kind === 'vault.released')).toHaveLength(1);
      // The entry released before the move keeps its one notice (delivered on a, travelled with the inbox).
      expect(inbox.filter((n) => n.ref === `vault#${released}` && n.kind === 'vault.released')).toHaveLength(1);
      expect((await B2.call('GET', `/entries/${pending}`)).body).toMatchObject({ status: 'released', releaseReason: 'date' });
    } finally {
      await b.close();
    }
  });

  it('refuses a corrupted vault file naming it, an entry without its file, or a path leaving the folder, and leaves nothing', async () => {
    const dir = tempDir('hearth-vimport-');
    const layout = ensureDataDir(dir);
    const storage = openStorage(layout.database);
    try {
      const entries = tarEntries(archive);
      const victim = `vault/${pending}.entry`;
      const flipped = Buffer.from(archive);
      flipped[entries.get(victim)!.data + 40]! ^= 0x01;
      const cases: [string, Buffer, RegExp][] = [
        ['flipped byte', flipped, new RegExp(`${victim}: SHA-256 does not match`)],
        ['missing file', await rewrite(archive, (n) => (n === victim ? null : n)), new RegExp(`entry ${pending} needs ${victim}`)],
        ['escape', await rewrite(archive, (n) => (n === `vault/attachments/${pending}/att1.blob` ? 'vault/../../escape.blob' : n)), /vault\/\.\.\/\.\.\/escape\.blob: not a vault file name/],
      ];
      for (const [what, bytes, msg] of cases) {
        const file = path.join(dir, 'bad.tar');
        fs.writeFileSync(file, bytes);
        const err = await importFamily({ storage, layout, input: fs.createReadStream(file), now: Date.now() }).catch((e: unknown) => e);
        expect(err, what).toBeInstanceOf(ImportError);
        expect((err as Error).message, what).toMatch(msg);
        fs.rmSync(file);
      }
      // The CLI says the same and names the file.
      const file = path.join(dir, 'bad.tar');
      fs.writeFileSync(file, flipped);
      const cli = await runCli(['import', file, '--data', dir]);
      expect(cli.code).not.toBe(0);
      expect(cli.stderr).toContain(victim);
      // A clash found only in the rows' transaction, after the vault files were placed: they go again.
      const ob = entries.get('rows/vault_outbox/0000.jsonl')!;
      const outboxId = String(JSON.parse(archive.subarray(ob.data, ob.data + ob.size).toString('utf8').split('\n')[0]!).id);
      storage.sqlite
        .prepare("INSERT INTO vault_outbox (id, family_id, member_id, kind, title, body, created_at) VALUES (?, 'other_family', 'm', 'k', 't', 'b', 0)")
        .run(outboxId);
      const clash = await importFamily({ storage, layout, input: fs.createReadStream(archiveFile), now: Date.now() }).catch((e: unknown) => e);
      expect(clash).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('vault_outbox') });
      storage.sqlite.prepare('DELETE FROM vault_outbox').run();
      for (const t of ['families', 'members', ...VAULT_TABLES]) expect(storage.sqlite.prepare(`SELECT count(*) FROM ${t}`).pluck().get(), t).toBe(0);
      expect(walkFiles(layout.vault)).toEqual([]);
      expect(fs.readdirSync(layout.vault)).toEqual([]);
      expect(walkFiles(layout.vaultTmp)).toEqual([]);
      expect(walkFiles(layout.media)).toEqual([]);
    } finally {
      storage.close();
    }
  });

  it("an owner's GET /export carries only the vault rows and files that owner may see, and imports", async () => {
    const res = await fetch(`${a.url}/v1/families/${fam.familyId}/export`, { headers: { authorization: `Bearer ${fam.members.owner!.token}` } });
    expect(res.status).toBe(200);
    const buf = Buffer.from(await res.arrayBuffer());
    const entries = tarEntries(buf);
    const rows = (table: string) => {
      const e = entries.get(`rows/${table}/0000.jsonl`);
      if (!e) return [];
      return buf.subarray(e.data, e.data + e.size).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    expect(rows('vault_keys').map((k) => k.member_id)).toEqual([A.memberId]);
    expect(rows('vault_entries').map((e) => e.id).sort()).toEqual([released, pending].sort());
    const keys = rows('vault_sealed_keys').map((k) => `${String(k.entry_id)}:${String(k.member_id)}`).sort();
    expect(keys).toEqual([`${released}:${A.memberId}`, `${released}:${B.memberId}`, `${pending}:${A.memberId}`, `${pending}:${B.memberId}`].sort());
    expect(rows('vault_outbox').every((o) => o.member_id === A.memberId)).toBe(true);
    const vaultNames = [...entries.keys()].filter((n) => n.startsWith('vault/')).sort();
    expect(vaultNames).toEqual([`vault/${released}.entry`, `vault/${pending}.entry`, `vault/attachments/${pending}/att1.blob`].sort());
    expect(buf.includes(Buffer.from(hiddenFromOwner))).toBe(false);
    expect(buf.includes(Buffer.from(notForOwner))).toBe(false);
    // Addressed to the owner and visible to them, but not released: neither its ciphertext nor their sealed key.
    expect(buf.includes(Buffer.from(toOwner))).toBe(false);
    const h = entries.get('hearth-export.json')!;
    expect(JSON.parse(buf.subarray(h.data, h.data + h.size).toString('utf8'))).toMatchObject({ vaultScope: 'member' });

    const dir = tempDir('hearth-vimport-owner-');
    const layout = ensureDataDir(dir);
    const storage = openStorage(layout.database);
    try {
      const file = path.join(dir, 'owner.tar');
      fs.writeFileSync(file, buf);
      const r = await importFamily({ storage, layout, input: fs.createReadStream(file), now: Date.now() });
      expect(r).toMatchObject({ vaultFiles: 3, rows: { vault_entries: 2, vault_sealed_keys: 4, vault_keys: 1 } });
    } finally {
      storage.close();
    }
  });

  it('an entry whose file is gone while its row is sealed (a cancel between the row read and the file listing) is never exported half', async () => {
    const { id } = await A.seal({ title: 'going', text: `${MARKER} going` }, [B.memberId], { requestWaitDays: 2 });
    // What a cancel committed mid-export looks like to a read transaction that began before it.
    fs.rmSync(path.join(a.server.layout.vault, fam.familyId, `${id}.entry`));
    const out = path.join(tempDir('hearth-vexport-busy-'), 'f.tar');
    const err = await exportFamilyToFile({ layout: a.server.layout, familyId: fam.familyId, now: Date.now(), hearthVersion: 'test', out }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExportError);
    expect(err).toMatchObject({ code: 'BUSY', message: expect.stringContaining(`vault/${id}.entry`) });
    expect(fs.existsSync(out)).toBe(false);
    // Once the cancel has committed the snapshot agrees with the disk again.
    expect((await A.call('POST', `/entries/${id}/cancel`)).status).toBe(200);
    const ok = await exportFamilyToFile({ layout: a.server.layout, familyId: fam.familyId, now: Date.now(), hearthVersion: 'test', out });
    expect(ok.rows.vault_entries).toBe(6);
  });
});
