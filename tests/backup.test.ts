import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createBackup, listBackups, restoreBackup, applyRetention } from '../backup/index.js';
import { api, seedFamily, startTestServer, tempDir, type Family, type TestServer } from './helpers/hearth.js';

const upload = (t: TestServer, fam: Family, name: string, bytes: Buffer) =>
  api(t.url, 'POST', `/v1/families/${fam.familyId}/media`, {
    token: fam.members.adult!.token,
    raw: bytes as unknown as string,
    headers: { 'content-type': 'application/octet-stream', 'x-hearth-filename': encodeURIComponent(name) },
  });

describe('backup and restore', () => {
  let t: TestServer;
  let fam: Family;
  const dirs: string[] = [];
  const fresh = () => {
    const d = tempDir('hearth-backup-');
    dirs.push(d);
    return d;
  };
  const backupOf = (passphrase?: string, to?: string) =>
    createBackup({ sqlite: t.server.storage.sqlite, layout: t.server.layout, to, now: Date.now(), hearthVersion: 'test', passphrase });

  beforeAll(async () => {
    t = await startTestServer();
    dirs.push(t.dataDir);
    fam = await seedFamily(t);
  });
  afterAll(async () => {
    await t.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('restores every update acknowledged before the backup began, byte-equal documents and media, and tokens keep working', async () => {
    const docs = t.server.sync.service.docs;
    const media = [Buffer.from('first file '.repeat(1000)), Buffer.from('second file '.repeat(2000))];
    for (const [i, b] of media.entries()) expect((await upload(t, fam, `f${i}.txt`, b)).status).toBe(201);
    const acknowledged: number[] = [];
    for (let i = 0; i < 200; i++) {
      await docs.transact(fam.familyId, 'lists/stream', (d: Y.Doc) => d.getArray<number>('n').push([i]));
      acknowledged.push(i);
    }
    const ackedBefore = acknowledged.length;
    let writing = true;
    // More writes keep landing while the backup runs.
    void (async () => {
      for (let i = 200; writing && i < 2000; i++) {
        await docs.transact(fam.familyId, 'lists/stream', (d: Y.Doc) => d.getArray<number>('n').push([i]));
        acknowledged.push(i);
      }
    })();
    await new Promise((r) => setTimeout(r, 20));
    const result = await backupOf();
    writing = false;
    expect(result.files).toBeGreaterThan(2);

    const target = fresh();
    fs.rmSync(target, { recursive: true });
    await restoreBackup({ from: result.dir, dataDir: target, now: Date.now() });
    const r = await startTestServer({}, target);
    try {
      const restored = await r.server.sync.service.docs.read(fam.familyId, 'lists/stream', (d) => d.getArray<number>('n').toArray());
      expect(restored.length).toBeGreaterThanOrEqual(ackedBefore);
      expect(restored).toEqual(acknowledged.slice(0, restored.length));
      const list = await api(r.url, 'GET', `/v1/families/${fam.familyId}/media`, { token: fam.members.adult!.token });
      expect(list.status).toBe(200); // the old access token verifies: same signing keys
      expect(list.body.items).toHaveLength(2);
      for (const item of list.body.items) {
        const res = await fetch(`${r.url}/v1/families/${fam.familyId}/media/${item.id}`, { headers: { authorization: `Bearer ${fam.members.adult!.token}` } });
        const bytes = Buffer.from(await res.arrayBuffer());
        expect(media.some((m) => m.equals(bytes))).toBe(true);
      }
    } finally {
      // A plain close: it used to wait out the keep-alive of the last file download
      // (server/http-shutdown.ts).
      await r.close();
    }
  });

  it('a second backup after three new files copies those three (and the database) and links the rest', async () => {
    const first = await backupOf();
    for (let i = 0; i < 3; i++) expect((await upload(t, fam, `new${i}.txt`, Buffer.from(`new file ${i} `.repeat(500)))).status).toBe(201);
    const second = await backupOf();
    expect(second.copied).toBe(4);
    expect(second.linked).toBe(first.files - 1);
    const anOld = fs.readdirSync(path.join(second.dir, 'keys'))[0]!;
    expect(fs.statSync(path.join(second.dir, 'keys', anOld)).ino).toBe(fs.statSync(path.join(first.dir, 'keys', anOld)).ino);
  });

  it('refuses a corrupted backup, naming the file, and writes nothing', async () => {
    const b = await backupOf();
    const victim = listBackups(t.server.layout.backups)[0]!;
    expect(victim.name).toBe(b.name);
    // Break a copy that is not hard-linked to other backups' files.
    const db = path.join(b.dir, 'hearth.db');
    const fd = fs.openSync(db, 'r+');
    fs.writeSync(fd, Buffer.from('XX'), 0, 2, 100);
    fs.closeSync(fd);
    const target = path.join(fresh(), 'data');
    await expect(restoreBackup({ from: b.dir, dataDir: target, now: Date.now() })).rejects.toThrow(/hearth\.db: SHA-256 does not match/);
    expect(fs.existsSync(target)).toBe(false);
  });

  it('an encrypted backup restores only with its passphrase and holds no plaintext', async () => {
    const marker = 'MARKER-encrypted-backup-8f3a';
    await t.server.sync.service.docs.transact(fam.familyId, 'notes/secret', (d: Y.Doc) => d.getText('t').insert(0, marker));
    const to = fresh();
    const b = await backupOf('a long backup passphrase', to);
    expect(b.encrypted).toBe(true);
    const scan = (dir: string): boolean =>
      fs.readdirSync(dir, { withFileTypes: true }).some((e) =>
        e.isDirectory() ? scan(path.join(dir, e.name)) : fs.readFileSync(path.join(dir, e.name)).includes(marker),
      );
    expect(scan(b.dir)).toBe(false);
    await expect(restoreBackup({ from: b.dir, dataDir: path.join(fresh(), 'x'), now: Date.now() })).rejects.toThrow(/encrypted/);
    await expect(restoreBackup({ from: b.dir, dataDir: path.join(fresh(), 'y'), passphrase: 'wrong', now: Date.now() })).rejects.toThrow(/wrong passphrase/);
    const target = path.join(fresh(), 'z');
    await restoreBackup({ from: b.dir, dataDir: target, passphrase: 'a long backup passphrase', now: Date.now() });
    const r = await startTestServer({}, target);
    try {
      expect(await r.server.sync.service.docs.read(fam.familyId, 'notes/secret', (d) => d.getText('t').toString())).toBe(marker);
    } finally {
      await r.close();
    }
  }, 60_000);

  it('removes a half-written backup of a dead process and never builds on it; retention keeps the newest', async () => {
    const to = fresh();
    const good = await backupOf(undefined, to);
    const half = path.join(to, '20000101T000000Z');
    fs.mkdirSync(half);
    fs.writeFileSync(path.join(half, 'backup.json'), JSON.stringify({ format: 'hearth-backup', version: 1, createdAt: new Date().toISOString(), encrypted: false }));
    fs.writeFileSync(path.join(half, 'INCOMPLETE'), '999999999\n');
    const next = await backupOf(undefined, to);
    expect(fs.existsSync(half)).toBe(false);
    expect(next.linked).toBeGreaterThan(0);
    const removed = applyRetention(to, { daily: 1, weekly: 0 });
    expect(removed).toEqual([good.name]);
    expect(listBackups(to).map((b) => b.name)).toEqual([next.name]);
  });
});
