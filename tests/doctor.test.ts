import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/hearth.js';

describe('hearth doctor', () => {
  it('passes every check on a freshly initialised data dir', async () => {
    const data = tempDir();
    expect((await runCli(['init', '--data', data])).code).toBe(0);
    const r = await runCli(['doctor', '--data', data, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; status: string }[] };
    const names = report.checks.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['database', 'better-sqlite3', 'sharp', 'libsodium']));
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    const formats = report.checks.find((c) => c.name === 'image formats') as { message: string } | undefined;
    expect(formats?.message).toMatch(/thumbnails for jpeg, png, webp, gif/);
    expect(formats?.message).toMatch(/avif \(AV1\)/);
  });

  it('fails with a non-zero exit when the database is corrupt', async () => {
    const data = tempDir();
    expect((await runCli(['init', '--data', data])).code).toBe(0);
    const db = path.join(data, 'hearth.db');
    // Overwrite pages after the header: the file still opens, quick_check must object.
    const fd = fs.openSync(db, 'r+');
    fs.writeSync(fd, Buffer.alloc(8192, 0xa5), 0, 8192, 4096);
    fs.closeSync(fd);
    fs.rmSync(`${db}-wal`, { force: true });
    fs.rmSync(`${db}-shm`, { force: true });
    const r = await runCli(['doctor', '--data', data, '--json']);
    expect(r.code).not.toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; status: string }[] };
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'database')?.status).toBe('fail');
    expect(report.checks.find((c) => c.name === 'sharp')?.status).toBe('ok');
  });
});
