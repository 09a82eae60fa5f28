import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupHealth, createBackup, listBackups, restoreBackup } from '../backup/index.js';
import { readManifest } from '../backup/catalog.js';
import { verifyFiles } from '../backup/manifest.js';
import { api, seedFamily, startTestServer, tempDir, type Family, type TestServer } from './helpers/hearth.js';
import { walkFiles } from './helpers/portability.js';

const child = fileURLToPath(new URL('./helpers/backup-crash-child.mjs', import.meta.url));

describe('kill -9 during a backup', () => {
  let t: TestServer;
  let fam: Family;
  const upload = (i: number) =>
    api(t.url, 'POST', `/v1/families/${fam.familyId}/media`, {
      token: fam.members.adult!.token,
      raw: Buffer.from(`file ${i} `.repeat(4000 + i)) as unknown as string,
      headers: { 'content-type': 'application/octet-stream', 'x-hearth-filename': `f${i}.bin` },
    });

  beforeAll(async () => {
    t = await startTestServer();
    fam = await seedFamily(t, 'Crash family', ['owner', 'adult']);
  });
  afterAll(async () => {
    await t.close();
  });

  it('leaves the previous backups intact; the half copy is marked incomplete and removed by the next backup run', async () => {
    for (let i = 0; i < 10; i++) expect((await upload(i)).status).toBe(201);
    const first = await createBackup({ sqlite: t.server.storage.sqlite, layout: t.server.layout, now: Date.now() - 60_000, hearthVersion: 'test' });
    for (let i = 10; i < 30; i++) expect((await upload(i)).status).toBe(201);
    const firstFiles = walkFiles(first.dir).map((f) => [f, fs.statSync(f).mtimeMs, fs.readFileSync(f)] as const);

    // A backup process (while the server keeps running), killed -9 after 12 of its files.
    const proc = spawn(process.execPath, [child, t.dataDir, '12'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const half = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        const m = /MIDCOPY (\S+)/.exec(out);
        if (m) resolve(m[1]!);
        if (out.includes('FINISHED')) reject(new Error('the backup finished before the kill'));
      });
      proc.once('exit', (code) => reject(new Error(`backup child exited early (${code})`)));
    });
    const exited = new Promise((r) => proc.once('exit', (_c, s) => r(s)));
    proc.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // The previous backup: every file as it was, and it still verifies and restores.
    for (const [f, mtime, bytes] of firstFiles) {
      expect(fs.statSync(f).mtimeMs, f).toBe(mtime);
      expect(fs.readFileSync(f).equals(bytes), f).toBe(true);
    }
    const info = listBackups(t.server.layout.backups);
    const firstInfo = info.find((b) => b.name === first.name)!;
    await verifyFiles(first.dir, await readManifest(first.dir, firstInfo.header));
    // The half copy: marked, never verified, reported as an incomplete attempt.
    const halfInfo = info.find((b) => b.name === half)!;
    expect(halfInfo).toMatchObject({ incomplete: true, verified: false });
    expect(walkFiles(halfInfo.dir).filter((f) => f.includes(`${path.sep}media${path.sep}`)).length).toBeGreaterThan(0);
    expect(backupHealth(t.server.layout.backups, Date.now()).lastAttempt).toMatchObject({ name: half, result: 'incomplete' });
    expect(backupHealth(t.server.layout.backups, Date.now()).lastVerified?.name).toBe(first.name);

    // The next run removes the half copy, links what the first backup holds, copies the rest.
    // (A minute later, so it cannot take the half copy's name.)
    const next = await createBackup({ sqlite: t.server.storage.sqlite, layout: t.server.layout, now: Date.now() + 60_000, hearthVersion: 'test' });
    expect(next.name).not.toBe(half);
    expect(fs.existsSync(halfInfo.dir)).toBe(false);
    expect(listBackups(t.server.layout.backups).map((b) => [b.name, b.verified])).toEqual([
      [next.name, true],
      [first.name, true],
    ]);
    expect(next.linked).toBeGreaterThanOrEqual(10);
    const target = tempDir('hearth-crash-restore-');
    fs.rmSync(target, { recursive: true });
    const r = await restoreBackup({ from: next.dir, dataDir: target, now: Date.now() });
    const media = (d: string) => walkFiles(path.join(d, 'media')).map((f) => path.relative(d, f)).sort();
    expect(media(r.dataDir)).toEqual(media(t.dataDir));
    for (const f of media(t.dataDir)) expect(fs.readFileSync(path.join(r.dataDir, f)).equals(fs.readFileSync(path.join(t.dataDir, f))), f).toBe(true);
  });
});
