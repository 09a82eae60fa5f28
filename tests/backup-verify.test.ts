import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { createBackup, listBackups, restoreBackup, type BackupOptions } from '../backup/index.js';
import { readManifest } from '../backup/catalog.js';
import { api, runCli, seedFamily, startTestServer, tempDir, type Family, type TestServer } from './helpers/hearth.js';
import { walkFiles } from './helpers/portability.js';

// What "verified" means now that a backup reads each copy back once (after its flush)
// instead of hashing it and then re-reading everything: the manifest holds the bytes on
// disk, a media original must match its name, a bad copy abandons the backup, a rotted
// live file is reported, and --verify-all catches (and repairs) rot in linked files.
const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const isOriginal = (f: string) => /^[0-9a-f]{64}$/.test(path.basename(f));
/** Flips one byte in place, keeping size and mtime: what bit rot looks like to a backup. */
function rot(file: string): void {
  const st = fs.statSync(file);
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, 10);
  b[0] = b[0]! ^ 0xff;
  fs.writeSync(fd, b, 0, 1, 10);
  fs.closeSync(fd);
  fs.utimesSync(file, st.atime, st.mtime);
}

describe('backup verification', () => {
  let t: TestServer;
  let fam: Family;
  const backupOf = (to: string, more: Partial<BackupOptions> = {}) =>
    createBackup({ sqlite: t.server.storage.sqlite, layout: t.server.layout, to, now: Date.now(), hearthVersion: 'test', ...more });
  const originals = () => walkFiles(t.server.layout.media).filter(isOriginal).sort();

  beforeAll(async () => {
    t = await startTestServer();
    fam = await seedFamily(t, 'Verify family', ['owner', 'adult']);
    for (let i = 0; i < 6; i++) {
      const res = await api(t.url, 'POST', `/v1/families/${fam.familyId}/media`, {
        token: fam.members.adult!.token,
        raw: Buffer.from(`verify file ${i} `.repeat(3000 + i)) as unknown as string,
        headers: { 'content-type': 'application/octet-stream', 'x-hearth-filename': `v${i}.bin` },
      });
      expect(res.status).toBe(201);
    }
    await t.server.sync.service.docs.transact(fam.familyId, 'notes/v', (d: Y.Doc) => d.getText('t').insert(0, 'kept by the backup API'));
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t.close();
  });

  it('records the bytes on disk: every manifest hash is the stored file\'s, and a media original\'s is its name', async () => {
    const b = await backupOf(tempDir('hearth-verify-'));
    const info = listBackups(path.dirname(b.dir))[0]!;
    const manifest = await readManifest(b.dir, info.header);
    expect(manifest.files.length).toBe(b.files);
    for (const e of manifest.files) {
      const file = path.join(b.dir, e.path);
      expect(fs.statSync(file).size, e.path).toBe(e.size);
      expect(sha(file), e.path).toBe(e.sha256);
      if (isOriginal(file)) expect(e.sha256).toBe(path.basename(file));
    }
    expect(manifest.files.filter((e) => isOriginal(e.path)).length).toBe(6);
    expect(b.damaged).toEqual([]);
    expect(b.timings.databaseMs).toBeGreaterThan(0);
    expect(b.timings.hashMs).toBeGreaterThan(0);
  });

  it('abandons the backup when a copy does not match its source, naming the file, and leaves it unverified', async () => {
    const to = tempDir('hearth-verify-');
    const victim = originals()[2]!;
    const real = fs.promises.copyFile.bind(fs.promises);
    const spy = vi.spyOn(fs.promises, 'copyFile').mockImplementation(async (src, dst, mode) => {
      await real(src, dst, mode);
      if (String(src) === victim) rot(String(dst)); // the disk or the copy went wrong
    });
    try {
      await expect(backupOf(to)).rejects.toThrow(new RegExp(`${path.basename(victim)}: the copy does not match its source`));
    } finally {
      spy.mockRestore();
    }
    const [half] = listBackups(to);
    expect(half).toMatchObject({ verified: false, incomplete: true });
    // The next run cleans it up and succeeds.
    const next = await backupOf(to);
    expect(listBackups(to).map((b) => [b.name, b.verified])).toEqual([[next.name, true]]);
  });

  it('backs up a live media file that rotted as it is and reports it, instead of failing every backup', async () => {
    const victim = originals()[0]!;
    const good = fs.readFileSync(victim);
    rot(victim);
    try {
      const b = await backupOf(tempDir('hearth-verify-'));
      const rel = path.relative(t.dataDir, victim).split(path.sep).join('/');
      expect(b.damaged).toEqual([rel]);
      expect(sha(path.join(b.dir, rel))).not.toBe(path.basename(victim));
    } finally {
      fs.writeFileSync(victim, good);
    }
  });

  it('links unchanged files without reading them; --verify-all re-reads them and replaces one that rotted; restore refuses it otherwise', async () => {
    const to = tempDir('hearth-verify-');
    const first = await backupOf(to);
    const rel = path.relative(t.dataDir, originals()[1]!).split(path.sep).join('/');
    rot(path.join(first.dir, rel));

    // Without the scrub the rotted copy is linked (size and mtime match) ...
    const plain = await backupOf(to, { now: Date.now() + 60_000 });
    expect(plain.linked).toBe(first.files - 1);
    expect(fs.statSync(path.join(plain.dir, rel)).ino).toBe(fs.statSync(path.join(first.dir, rel)).ino);
    // ... and restore, which hashes every file, refuses it by name.
    await expect(restoreBackup({ from: plain.dir, dataDir: path.join(tempDir('hearth-verify-'), 'd'), now: Date.now() })).rejects.toThrow(
      new RegExp(`${rel}: SHA-256 does not match`),
    );

    const scrubbed = await backupOf(to, { now: Date.now() + 120_000, verifyLinked: true });
    expect(scrubbed.linked).toBe(first.files - 2);
    expect(scrubbed.copied).toBe(2); // the database and the rotted file, fresh from its source
    expect(fs.statSync(path.join(scrubbed.dir, rel)).ino).not.toBe(fs.statSync(path.join(first.dir, rel)).ino);
    expect(sha(path.join(scrubbed.dir, rel))).toBe(path.basename(rel));
    expect(scrubbed.timings.scrubMs).toBeGreaterThan(0);
    const target = path.join(tempDir('hearth-verify-'), 'd');
    await restoreBackup({ from: scrubbed.dir, dataDir: target, now: Date.now() });
    expect(fs.readFileSync(path.join(target, rel)).equals(fs.readFileSync(path.join(t.dataDir, rel)))).toBe(true);
  });

  it('hearth backup --verify-all does the same from the command line', async () => {
    const to = tempDir('hearth-verify-');
    const first = await runCli(['backup', '--data', t.dataDir, '--to', to, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const a = JSON.parse(first.stdout) as { dir: string; files: number; damaged: string[] };
    expect(a.damaged).toEqual([]);
    const rel = path.relative(t.dataDir, originals()[3]!).split(path.sep).join('/');
    rot(path.join(a.dir, rel));
    const second = await runCli(['backup', '--data', t.dataDir, '--to', to, '--verify-all', '--json']);
    expect(second.code, second.stderr).toBe(0);
    const b = JSON.parse(second.stdout) as { dir: string; copied: number; linked: number };
    expect(b).toMatchObject({ copied: 2, linked: a.files - 2 });
    expect(sha(path.join(b.dir, rel))).toBe(path.basename(rel));
  });

  it('a database copied by the online backup API restores and serves the same document', async () => {
    const b = await backupOf(tempDir('hearth-verify-'), { dbCopy: 'backup-api' });
    const target = path.join(tempDir('hearth-verify-'), 'd');
    await restoreBackup({ from: b.dir, dataDir: target, now: Date.now() });
    const r = await startTestServer({}, target);
    try {
      expect(await r.server.sync.service.docs.read(fam.familyId, 'notes/v', (d) => d.getText('t').toString())).toBe('kept by the backup API');
      const list = await api(r.url, 'GET', `/v1/families/${fam.familyId}/media`, { token: fam.members.adult!.token });
      expect(list.body.items).toHaveLength(6);
    } finally {
      await r.close();
    }
  });
});
