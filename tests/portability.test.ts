import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { exportFamilyToFile, importFamily, ImportError, serverDocSource } from '../portability/index.js';
import { createBackup } from '../backup/index.js';
import { openStorage } from '../storage/database.js';
import { ensureDataDir } from '../storage/data-dir.js';
import { api, runCli, seedFamily, startTestServer, tempDir, type Family, type TestServer } from './helpers/hearth.js';
import { tarEntries, walkFiles } from './helpers/portability.js';

const upload = (t: TestServer, fam: Family, name: string, bytes: Buffer, role = 'adult') =>
  api(t.url, 'POST', `/v1/families/${fam.familyId}/media`, {
    token: fam.members[role]!.token,
    raw: bytes as unknown as string,
    headers: { 'content-type': 'application/octet-stream', 'x-hearth-filename': encodeURIComponent(name) },
  });

const MARKER = 'MARKER-private-diary-7f3a';

describe('family export and import', () => {
  let a: TestServer;
  let b: TestServer;
  let fam: Family;
  let archive: string;
  const media = [Buffer.from('photo one '.repeat(5000)), Buffer.from('photo two '.repeat(9000))];
  const mediaIds: string[] = [];

  beforeAll(async () => {
    a = await startTestServer();
    b = await startTestServer();
    fam = await seedFamily(a);
    const docs = a.server.sync.service.docs;
    await docs.transact(fam.familyId, 'lists/shopping', (d) => {
      d.getArray<string>('items').push(['milk', 'bread']);
      d.getMap('meta').set('title', 'Groceries');
    });
    await docs.transact(fam.familyId, 'notes/kitchen', (d) => d.getText('body').insert(0, 'Pasta on Tuesday'));
    await docs.transact(fam.familyId, `private/${fam.members.adult!.id}/diary`, (d) => d.getMap('entries').set('today', MARKER));
    docs.setOverride(fam.familyId, 'notes/kitchen', { kind: 'member', id: fam.members.guest!.id }, 'rw');
    for (const [i, bytes] of media.entries()) {
      const res = await upload(a, fam, `p${i}.jpg`, bytes);
      expect(res.status).toBe(201);
      mediaIds.push(res.body.id);
    }
    archive = path.join(tempDir('hearth-export-'), 'family.tar');
    await exportFamilyToFile({ layout: a.server.layout, familyId: fam.familyId, docs: serverDocSource(docs), now: Date.now(), hearthVersion: 'test', out: archive });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('holds rows, documents (update and JSON), media and a manifest, and no password or token hash', () => {
    const buf = fs.readFileSync(archive);
    const entries = tarEntries(buf);
    const names = [...entries.keys()];
    expect(names[0]).toBe('hearth-export.json');
    expect(names.at(-1)).toBe('manifest.json');
    expect(names).toContain('rows/members/0000.jsonl');
    expect(names).toContain('docs/lists/shopping.yjs');
    const json = (n: string) => {
      const e = entries.get(n)!;
      return JSON.parse(buf.subarray(e.data, e.data + e.size).toString('utf8'));
    };
    expect(json('docs/lists/shopping.json').shared).toEqual({
      items: { kind: 'array', value: ['milk', 'bread'] },
      meta: { kind: 'map', value: { title: 'Groceries' } },
    });
    expect(json('docs/notes/kitchen.json').shared.body).toEqual({ kind: 'text', value: 'Pasta on Tuesday' });
    const manifest = json('manifest.json');
    expect(manifest.files.length).toBe(names.length - 1);
    expect(manifest.counts.rows.members).toBe(5);

    const sqlite = a.server.storage.sqlite;
    const secrets = [
      ...(sqlite.prepare('SELECT password_hash FROM credentials').pluck().all() as string[]),
      ...(sqlite.prepare('SELECT token_hash FROM refresh_tokens').pluck().all() as string[]),
      ...(sqlite.prepare('SELECT token_hash FROM invites UNION SELECT token_hash FROM pairing_tokens').pluck().all() as string[]),
    ];
    expect(secrets.length).toBeGreaterThanOrEqual(10);
    const text = buf.toString('latin1');
    for (const s of secrets) expect(text.includes(s), 'a secret hash in the archive').toBe(false);
    expect(text).not.toMatch(/\$argon2/);
    expect(text).not.toMatch(/password_hash|token_hash/);
  });

  it('imports into a fresh server: the same documents (encoded state and state vector), media byte-equal, devices revoked', async () => {
    const result = await importFamily({ storage: b.server.storage, layout: b.server.layout, input: fs.createReadStream(archive), now: Date.now() });
    expect(result.familyId).toBe(fam.familyId);
    expect(result.members.map((m) => m.id).sort()).toEqual(Object.values(fam.members).map((m) => m.id).sort());
    const da = a.server.sync.service.docs;
    const db = b.server.sync.service.docs;
    const names = da.list(fam.familyId).map((d) => d.name);
    expect(db.list(fam.familyId).map((d) => d.name)).toEqual(names);
    expect(names.length).toBe(3);
    for (const n of names) {
      const [sa, sb] = [await da.encodeState(fam.familyId, n), await db.encodeState(fam.familyId, n)];
      expect(Buffer.from(sb).equals(Buffer.from(sa)), n).toBe(true);
      expect(Buffer.from(Y.encodeStateVectorFromUpdate(sb)).equals(Buffer.from(Y.encodeStateVectorFromUpdate(sa)))).toBe(true);
    }
    expect(db.listOverrides(fam.familyId)).toEqual(da.listOverrides(fam.familyId).map((o) => ({ ...o })));
    for (const [i, id] of mediaIds.entries()) {
      const row = b.server.storage.sqlite.prepare('SELECT sha256 FROM media WHERE id = ? AND family_id = ?').get(id, fam.familyId) as { sha256: string };
      const file = path.join(b.server.layout.media, fam.familyId, row.sha256.slice(0, 2), row.sha256);
      expect(fs.readFileSync(file).equals(media[i]!)).toBe(true);
    }
    const live = b.server.storage.sqlite.prepare('SELECT count(*) FROM devices WHERE family_id = ? AND revoked_at IS NULL').pluck().get(fam.familyId);
    expect(live).toBe(0);
    expect(b.server.storage.sqlite.prepare('SELECT count(*) FROM credentials WHERE family_id = ?').pluck().get(fam.familyId)).toBe(0);
    // The same archive again: the family is already here, and nothing changes.
    await expect(importFamily({ storage: b.server.storage, layout: b.server.layout, input: fs.createReadStream(archive), now: Date.now() })).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('GET /export streams the tar to owners (audited); `hearth export` and `hearth import` round-trip it and print sign-in links that work', async () => {
    const res = await fetch(`${a.url}/v1/families/${fam.familyId}/export`, { headers: { authorization: `Bearer ${fam.members.owner!.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-tar');
    expect(res.headers.get('content-disposition')).toMatch(new RegExp(`^attachment; filename="hearth-${fam.familyId}-\\d{8}T\\d{6}Z\\.tar"$`));
    const body = Buffer.from(await res.arrayBuffer());
    const entries = tarEntries(body);
    expect([...entries.keys()].filter((n) => n.startsWith('media/') && !n.endsWith('.webp')).length).toBe(2);
    // A member's token gets what that owner may read: another member's private diary stays out.
    expect([...entries.keys()].filter((n) => n.startsWith('docs/')).sort()).toEqual(['docs/lists/shopping.json', 'docs/lists/shopping.yjs', 'docs/notes/kitchen.json', 'docs/notes/kitchen.yjs']);
    const head = entries.get('hearth-export.json')!;
    expect(JSON.parse(body.subarray(head.data, head.data + head.size).toString('utf8'))).toMatchObject({ familyId: fam.familyId, omittedDocuments: 1 });
    const admin = await api(a.url, 'GET', `/v1/families/${fam.familyId}/export`, { token: fam.members.admin!.token });
    expect(admin.status).toBe(403);
    const audit = a.server.storage.sqlite.prepare("SELECT actor_member_id FROM audit_events WHERE action = 'family.export' AND family_id = ?").pluck().all(fam.familyId);
    expect(audit).toContain(fam.members.owner!.id);

    // The CLI reads the database on its own connection while server a keeps running.
    const out = path.join(tempDir('hearth-export-cli-'), 'f.tar');
    const exp = await runCli(['export', '--family', fam.familyId, '--out', out, '--data', a.dataDir, '--json']);
    expect(exp.code, exp.stderr).toBe(0);
    expect(JSON.parse(exp.stdout)).toMatchObject({ familyId: fam.familyId, documents: 3, mediaFiles: 2 });
    const c = await startTestServer();
    try {
      await c.close(); // import into a stopped server's data dir, then start it
      const imp = await runCli(['import', out, '--data', c.dataDir, '--url', 'http://example.test', '--json']);
      expect(imp.code, imp.stderr).toBe(0);
      const r = JSON.parse(imp.stdout) as { familyId: string; signIn: { memberId: string; link: string }[] };
      expect(r.signIn.length).toBe(5);
      const c2 = await startTestServer({}, c.dataDir);
      try {
        const owner = r.signIn.find((s) => s.memberId === fam.members.owner!.id)!;
        const token = new URL(owner.link).searchParams.get('token')!;
        const redeemed = await api(c2.url, 'POST', '/v1/pair/redeem', { body: { token, deviceName: 'new laptop' } });
        expect(redeemed.status).toBe(200);
        const doc = await api(c2.url, 'GET', `/v1/families/${fam.familyId}/docs`, { token: redeemed.body.accessToken });
        expect(doc.status).toBe(200);
        const got = await fetch(`${c2.url}/v1/families/${fam.familyId}/media/${mediaIds[1]}`, { headers: { authorization: `Bearer ${redeemed.body.accessToken}` } });
        expect(Buffer.from(await got.arrayBuffer()).equals(media[1]!)).toBe(true);
        const again = await api(c2.url, 'POST', '/v1/pair/redeem', { body: { token, deviceName: 'second try' } });
        expect(again.status).toBe(401);
      } finally {
        await c2.close();
      }
    } finally {
      await c.close();
    }
  });

  it('refuses a tampered or truncated archive and changes nothing', async () => {
    const dir = tempDir('hearth-import-');
    const layout = ensureDataDir(dir);
    const storage = openStorage(layout.database);
    try {
      const buf = fs.readFileSync(archive);
      const entries = tarEntries(buf);
      const mediaName = [...entries.keys()].find((n) => /^media\/[0-9a-f]{64}$/.test(n))!;
      const docName = 'docs/lists/shopping.yjs';
      const cases: [string, Buffer][] = [];
      for (const n of [mediaName, docName, 'rows/members/0000.jsonl']) {
        const bad = Buffer.from(buf);
        bad[entries.get(n)!.data + 3]! ^= 0x20;
        cases.push([n, bad]);
      }
      cases.push(['manifest.json', buf.subarray(0, entries.get('manifest.json')!.data - 512)]);
      for (const [n, bytes] of cases) {
        const file = path.join(dir, 'bad.tar');
        fs.writeFileSync(file, bytes);
        const err = await importFamily({ storage, layout, input: fs.createReadStream(file), now: Date.now() }).catch((e: unknown) => e);
        expect(err, n).toBeInstanceOf(ImportError);
        expect((err as Error).message).toContain(n === 'manifest.json' ? 'manifest' : n.split('/').slice(0, 2).join('/'));
        fs.rmSync(file);
      }
      const count = (t: string) => storage.sqlite.prepare(`SELECT count(*) FROM ${t}`).pluck().get();
      for (const t of ['families', 'members', 'devices', 'documents', 'media', 'document_access']) expect(count(t), t).toBe(0);
      expect(walkFiles(layout.media)).toEqual([]);
      expect(walkFiles(layout.mediaTmp)).toEqual([]);
    } finally {
      storage.close();
    }
  });
});

/** A live sync socket and a promise of its close code. */
function openSocket(t: TestServer, familyId: string, docName: string, token: string): Promise<{ closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/sync/${familyId}/${docName}?token=${token}`);
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('error', () => {});
    ws.once('open', () => resolve({ closed }));
    ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
  });
}

const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms))]);

/** Every file of the data dir whose bytes contain one of the needles (the database, its WAL, media, keys...). */
function scanDataDir(dir: string, needles: string[]): string[] {
  const hits: string[] = [];
  for (const file of walkFiles(dir)) {
    if (file.endsWith('.sock')) continue;
    const bytes = fs.readFileSync(file);
    for (const n of needles) if (bytes.includes(Buffer.from(n))) hits.push(`${path.relative(dir, file)}: ${n}`);
  }
  return hits;
}

describe('erasure', () => {
  let t: TestServer;
  let fam: Family;
  let other: Family;

  beforeAll(async () => {
    t = await startTestServer();
    fam = await seedFamily(t);
    other = await seedFamily(t, 'The Joneses', ['owner', 'adult']);
  });
  afterAll(async () => {
    await t.close();
  });

  it('`member remove --erase` leaves no row, file or document of the member; others keep theirs; the audit trail names a pseudonym', async () => {
    const victim = fam.members.adult!;
    const docs = t.server.sync.service.docs;
    // Several writes, then a compaction: the marker also sits in freed pages of the database.
    for (let i = 0; i < 5; i++) await docs.transact(fam.familyId, `private/${victim.id}/diary`, (d) => d.getMap('entries').set(`day${i}`, `${MARKER} ${i}`));
    await docs.transact(fam.familyId, 'lists/shared', (d) => d.getArray('items').push(['eggs']));
    await t.server.notifier.notify(fam.familyId, victim.id, { id: 'n1', kind: 'test', title: MARKER, body: MARKER });
    docs.setOverride(fam.familyId, 'lists/shared', { kind: 'member', id: victim.id }, 'ro');
    const mine = Buffer.from(`${MARKER} photo `.repeat(3000));
    const theirs = Buffer.from('a photo of the child '.repeat(3000));
    expect((await upload(t, fam, 'mine.jpg', mine, 'adult')).status).toBe(201);
    const kept = await upload(t, fam, 'theirs.jpg', theirs, 'child');
    expect(kept.status).toBe(201);
    const ch = await api(t.url, 'POST', `/v1/families/${fam.familyId}/channels`, {
      token: victim.token,
      body: { kind: 'webhook', name: 'my phone', memberId: victim.id, config: { url: 'http://127.0.0.1:9/hook', format: 'json' } },
    });
    expect(ch.status, JSON.stringify(ch.body)).toBe(201);
    const needles = [victim.id, victim.username, victim.deviceId, MARKER];
    expect(scanDataDir(t.dataDir, needles).length).toBeGreaterThan(0);

    const privateSocket = await openSocket(t, fam.familyId, `private/${victim.id}/diary`, victim.token);
    const sharedSocket = await openSocket(t, fam.familyId, 'lists/shared', victim.token);
    const erase = await runCli(['member', 'remove', victim.id, '--erase', '--data', t.dataDir, '--json']);
    expect(erase.code, erase.stderr).toBe(0);
    const out = JSON.parse(erase.stdout) as { live: boolean; erased: { documents: number; mediaRows: number; mediaFiles: number; pseudonym: string } };
    expect(out.live).toBe(true);
    expect(out.erased).toMatchObject({ documents: 2, mediaRows: 1, mediaFiles: 1, scrubbed: true });

    expect(scanDataDir(t.dataDir, needles)).toEqual([]);
    // Their live sockets were closed by the running server.
    expect(await within(privateSocket.closed, 2000)).toBe(4410);
    expect(await within(sharedSocket.closed, 2000)).not.toBe(1000);
    // The victim's token no longer works; everyone else's data is there.
    expect((await api(t.url, 'GET', `/v1/families/${fam.familyId}/members`, { token: victim.token })).status).toBe(401);
    expect(docs.list(fam.familyId).map((d) => d.name)).toEqual(['lists/shared']);
    const got = await fetch(`${t.url}/v1/families/${fam.familyId}/media/${kept.body.id}`, { headers: { authorization: `Bearer ${fam.members.owner!.token}` } });
    expect(Buffer.from(await got.arrayBuffer()).equals(theirs)).toBe(true);
    const audit = t.server.storage.sqlite.prepare("SELECT target, details FROM audit_events WHERE action = 'member.erase'").get() as { target: string; details: string };
    expect(audit.target).toBe(out.erased.pseudonym);
    expect(JSON.parse(audit.details)).toEqual({ documents: 2, devices: 1, mediaRows: 1 });
    const logins = t.server.storage.sqlite.prepare("SELECT count(*) FROM audit_events WHERE action = 'login.success' AND actor_member_id = ?").pluck().get(out.erased.pseudonym);
    expect(logins).toBe(1);
    // The trail is still append-only outside an erasure.
    expect(() => t.server.storage.sqlite.prepare("UPDATE audit_events SET target = 'x' WHERE action = 'member.erase'").run()).toThrow(/append-only/);
  });

  it('`family delete` erases every row, document and media file of the family through the running server; the other family is untouched', async () => {
    const docs = t.server.sync.service.docs;
    await docs.transact(other.familyId, 'notes/a', (d) => d.getText('t').insert(0, `${MARKER} joneses`));
    await docs.transact(other.familyId, `private/${other.members.adult!.id}/x`, (d) => d.getMap('m').set('k', MARKER));
    expect((await upload(t, other, 'j.jpg', Buffer.from(`${MARKER} jones photo `.repeat(2000)), 'adult')).status).toBe(201);
    const refused = await runCli(['family', 'delete', other.familyId, '--data', t.dataDir]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--yes/);
    const before = docs.list(fam.familyId).length;

    const sockets = [await openSocket(t, other.familyId, 'notes/a', other.members.adult!.token), await openSocket(t, other.familyId, 'notes/a', other.members.owner!.token)];
    const del = await runCli(['family', 'delete', other.familyId, '--yes', '--data', t.dataDir, '--json']);
    expect(del.code, del.stderr).toBe(0);
    expect(JSON.parse(del.stdout)).toMatchObject({ live: true, members: 2, documents: 2, mediaFiles: 1 });

    // (Usernames are not searched: seedFamily gives both families an "owner0".)
    const needles = [...Object.values(other.members).flatMap((m) => [m.id, m.deviceId]), MARKER, 'The Joneses'];
    expect(scanDataDir(t.dataDir, needles)).toEqual([]);
    expect(fs.existsSync(path.join(t.server.layout.media, other.familyId))).toBe(false);
    for (const s of sockets) expect(await within(s.closed, 2000)).toBeGreaterThan(1000);
    const tables = t.server.storage.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    for (const table of tables) {
      const cols = (t.server.storage.sqlite.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[]).map((c) => c.name);
      if (!cols.includes('family_id') || table === 'audit_events') continue;
      expect(t.server.storage.sqlite.prepare(`SELECT count(*) FROM "${table}" WHERE family_id = ?`).pluck().get(other.familyId), table).toBe(0);
    }
    expect((await api(t.url, 'GET', `/v1/families/${other.familyId}`, { token: other.members.owner!.token })).status).toBe(401);
    expect(docs.list(fam.familyId).length).toBe(before);
    expect((await api(t.url, 'GET', `/v1/families/${fam.familyId}`, { token: fam.members.owner!.token })).status).toBe(200);
  });
});

describe('erasure without a running server', () => {
  it('`member remove --erase` and `family delete` work on the database directly (live: false)', async () => {
    const t = await startTestServer();
    const fam = await seedFamily(t, 'Offline family', ['owner', 'adult']);
    await t.server.sync.service.docs.transact(fam.familyId, `private/${fam.members.adult!.id}/n`, (d) => d.getMap('m').set('k', MARKER));
    await t.server.sync.service.docs.transact(fam.familyId, 'lists/a', (d) => d.getArray('a').push([1]));
    await t.close();
    const erase = await runCli(['member', 'remove', fam.members.adult!.id, '--erase', '--data', t.dataDir, '--json']);
    expect(erase.code, erase.stderr).toBe(0);
    expect(JSON.parse(erase.stdout)).toMatchObject({ live: false, erased: { documents: 1 } });
    expect(scanDataDir(t.dataDir, [fam.members.adult!.id, MARKER])).toEqual([]);
    const del = await runCli(['family', 'delete', fam.familyId, '--yes', '--data', t.dataDir, '--json']);
    expect(del.code, del.stderr).toBe(0);
    expect(JSON.parse(del.stdout)).toMatchObject({ live: false, members: 1, documents: 1 });
    const again = await runCli(['family', 'delete', fam.familyId, '--yes', '--data', t.dataDir]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/no family/);
  });
});

describe('backup status', () => {
  it('GET /backup-status tells owners and admins the last backup (time, result, age, verified, encrypted); doctor shows age and last result', async () => {
    const t = await startTestServer();
    try {
      const fam = await seedFamily(t, 'Status family', ['owner', 'admin', 'adult']);
      const status = (role: string) => api(t.url, 'GET', `/v1/families/${fam.familyId}/backup-status`, { token: fam.members[role]!.token });
      const none = await status('admin');
      expect(none.status).toBe(200);
      expect(none.body).toEqual({ lastAttempt: null, lastVerified: null, verifiedCount: 0, nightly: expect.objectContaining({ status: 'pending', lastError: null }) });
      expect((await status('adult')).status).toBe(403);

      const made = await createBackup({ sqlite: t.server.storage.sqlite, layout: t.server.layout, now: Date.now() - 3_600_000, hearthVersion: 'test' });
      const after = await status('owner');
      expect(after.body.lastVerified).toMatchObject({ name: made.name, encrypted: false });
      expect(after.body.lastVerified.ageS).toBeGreaterThanOrEqual(3599);
      expect(after.body.lastVerified.ageS).toBeLessThan(3700);
      expect(after.body.lastAttempt).toMatchObject({ name: made.name, result: 'verified' });
      expect(after.body.verifiedCount).toBe(1);

      // A newer attempt whose writer died (kill -9): reported, and doctor warns.
      const dead = path.join(t.server.layout.backups, '29990101T000000Z');
      fs.mkdirSync(dead);
      fs.writeFileSync(path.join(dead, 'backup.json'), JSON.stringify({ format: 'hearth-backup', version: 1, createdAt: new Date().toISOString(), hearthVersion: 't', encrypted: false }));
      fs.writeFileSync(path.join(dead, 'INCOMPLETE'), '999999999\n');
      expect((await status('admin')).body.lastAttempt).toMatchObject({ name: '29990101T000000Z', result: 'incomplete' });
      const doc = await runCli(['doctor', '--data', t.dataDir, '--json']);
      const check = (JSON.parse(doc.stdout) as { checks: { name: string; status: string; message: string }[] }).checks.find((c) => c.name === 'backups')!;
      expect(check.status).toBe('warn');
      expect(check.message).toContain(`last verified ${made.name}, 1.0 h ago`);
      expect(check.message).toContain('29990101T000000Z did not finish');
    } finally {
      await t.close();
    }
  });
});
