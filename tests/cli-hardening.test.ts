import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createFamily } from '../server/identity/families.js';
import { CLI_ACTOR } from '../server/identity/context.js';
import { createInvite } from '../server/identity/invites.js';
import { CLI_ENTRY, PASSWORD, addTestMember, api, cliEnv, login, runCli, seedFamily, startTestServer, tempDir, type CliResult } from './helpers/hearth.js';

// Issue 16's admin-experience and data-dir findings, through the built CLI (npm run build first).

const dirs: string[] = [];
const scratch = (prefix: string) => {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function oneLineError(r: CliResult, pattern: RegExp) {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

const mode = (p: string) => fs.statSync(p).mode & 0o777;

describe('hearth CLI hardening', () => {
  it('read-only commands never create a data dir: a typo in --data is an error', async () => {
    const parent = scratch('hearth-ro-');
    const typo = path.join(parent, 'hearth-dta');
    for (const args of [['family', 'list'], ['member', 'list', '--family', 'fam_x'], ['device', 'list', '--family', 'fam_x'], ['invite', 'list', '--family', 'fam_x']]) {
      const r = await runCli([...args, '--data', typo]);
      oneLineError(r, /no hearth data dir at .*hearth-dta.*--data/);
      expect(fs.existsSync(typo)).toBe(false);
    }
    const doctor = await runCli(['doctor', '--data', typo]);
    expect(doctor.code).toBe(1);
    expect(fs.existsSync(typo)).toBe(false);
  });

  it('prints the version for --version, describes serve in serve --help', async () => {
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = await runCli(['serve', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/\/sync\/<familyId>\/<docName>/);
    expect(help.stdout).toMatch(/admin socket/);
  });

  it('exits quietly when its output goes to a reader that stops (EPIPE)', async () => {
    const data = scratch('hearth-epipe-');
    const t = await startTestServer({ adminSocket: false }, data);
    for (let i = 0; i < 3000; i++) createFamily(t.server.identity, `Family number ${i} with a long enough name`, CLI_ACTOR);
    await t.close();
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI_ENTRY}" family list --data "${data}" | head -n 1`], { env: cliEnv(), encoding: 'utf8' });
    expect(r.stdout).toMatch(/^ID\s+NAME/);
    expect(r.stderr).toBe('');
  });

  it('names the real source of a bad setting (a config file is not HEARTH_PORT)', async () => {
    const dir = scratch('hearth-cfg-');
    const file = path.join(dir, 'hearth.json');
    fs.writeFileSync(file, JSON.stringify({ port: 'eighty' }));
    const r = await runCli(['family', 'list', '--data', dir], { env: { HEARTH_CONFIG: file } });
    oneLineError(r, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: port`));
    expect(r.stderr).not.toMatch(/HEARTH_PORT/);
    const env = await runCli(['family', 'list', '--data', dir], { env: { HEARTH_PORT: 'eighty' } });
    oneLineError(env, /HEARTH_PORT="eighty"/);
  });

  it('tightens the data dir to 0700 and keeps hearth.db, -wal and -shm at 0600; doctor fails looser modes', async () => {
    const data = scratch('hearth-modes-');
    fs.chmodSync(data, 0o755);
    const t = await startTestServer({}, data);
    await seedFamily(t, 'Modes', ['owner']); // writes, so -wal and -shm exist
    expect(mode(data)).toBe(0o700);
    for (const f of ['hearth.db', 'hearth.db-wal', 'hearth.db-shm']) expect({ f, mode: mode(path.join(data, f)) }).toEqual({ f, mode: 0o600 });
    await t.close();
    fs.chmodSync(data, 0o755);
    fs.chmodSync(path.join(data, 'hearth.db'), 0o644);
    const r = await runCli(['doctor', '--data', data, '--json']);
    expect(r.code).toBe(1);
    const checks = JSON.parse(r.stdout).checks as { name: string; status: string }[];
    expect(checks.find((c) => c.name === 'data dir')?.status).toBe('fail');
    expect(checks.find((c) => c.name === 'database files')?.status).toBe('fail');
  });

  it('refuses live-state commands while a server runs without its admin socket, naming the pid, and changes nothing', async () => {
    const data = scratch('hearth-nosock-');
    const t = await startTestServer({ adminSocket: false }, data);
    try {
      const fam = await seedFamily(t, 'No socket', ['owner', 'adult']);
      const adult = fam.members.adult!;
      const invite = createInvite(t.server.identity, fam.familyId, { role: 'guest', ttlHours: 1 }, CLI_ACTOR);
      for (const args of [
        ['device', 'revoke', adult.deviceId],
        ['member', 'role', adult.id, 'child'],
        ['member', 'remove', adult.id],
        ['invite', 'revoke', invite.id],
      ]) {
        const r = await runCli([...args, '--data', data]);
        oneLineError(r, new RegExp(`pid ${process.pid}.*HEARTH_ADMIN_SOCKET=false.*nothing changed`));
        expect(r.stdout).toBe('');
      }
      // The adult is still there, still an adult, their socket-bearing token still works.
      expect((await api(t.url, 'GET', '/v1/me', { token: adult.token })).body.member.role).toBe('adult');
    } finally {
      await t.close();
    }
    // Once the server is gone the same command works directly on the database.
    expect(fs.existsSync(path.join(data, 'hearth.pid'))).toBe(false);
  });

  it('hearth member password sets a password from stdin through the running server, optionally revoking sessions; hearth invite revoke', async () => {
    const data = scratch('hearth-pw-');
    const t = await startTestServer({}, data);
    try {
      const fam = await seedFamily(t, 'Passwords', ['owner', 'adult']);
      const adult = fam.members.adult!;
      const r = await runCli(['member', 'password', adult.id, '--revoke-sessions', '--data', data, '--json'], { input: 'a brand new password\n' });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(JSON.parse(r.stdout)).toEqual({ memberId: adult.id, revokedDevices: 1 });
      expect((await api(t.url, 'GET', '/v1/me', { token: adult.token })).status).toBe(401);
      await expect(login(t, fam.familyId, adult.username, PASSWORD)).rejects.toThrow(/401/);
      await login(t, fam.familyId, adult.username, 'a brand new password');

      const invite = createInvite(t.server.identity, fam.familyId, { role: 'guest', ttlHours: 1 }, CLI_ACTOR);
      const rev = await runCli(['invite', 'revoke', invite.id, '--data', data]);
      expect({ code: rev.code, stderr: rev.stderr }).toEqual({ code: 0, stderr: '' });
      const accept = await api(t.url, 'POST', '/v1/invites/accept', { body: { code: invite.code, username: 'late', deviceName: 'phone' } });
      expect(accept.status).toBe(401);
    } finally {
      await t.close();
    }
  });
});

describe('password change and reset over HTTP', () => {
  it('changes one’s own password with the old one, optionally signing out other devices; resets only below oneself', async () => {
    const data = scratch('hearth-pwhttp-');
    const t = await startTestServer({ loginAttemptsPerMinute: 1000 }, data);
    try {
      const fam = await seedFamily(t, 'Pw', ['owner', 'admin', 'adult']);
      const adult = fam.members.adult!;
      const second = await login(t, fam.familyId, adult.username);
      const wrong = await api(t.url, 'POST', '/v1/me/password', { token: adult.token, body: { oldPassword: 'not it at all', newPassword: 'another long one' } });
      expect(wrong.status).toBe(422);
      const ok = await api(t.url, 'POST', '/v1/me/password', {
        token: adult.token,
        body: { oldPassword: PASSWORD, newPassword: 'another long one', revokeOtherSessions: true },
      });
      expect(ok.body).toEqual({ memberId: adult.id, revokedDevices: 1 });
      expect((await api(t.url, 'GET', '/v1/me', { token: adult.token })).status).toBe(200);
      expect((await api(t.url, 'GET', '/v1/me', { token: second.accessToken })).status).toBe(401);

      const other = await addTestMember(t, fam.familyId, 'admin2', 'admin');
      const f = `/v1/families/${fam.familyId}/members`;
      const body = { password: 'reset by someone' };
      expect((await api(t.url, 'PUT', `${f}/${adult.id}/password`, { token: fam.members.admin!.token, body })).status).toBe(200);
      expect((await api(t.url, 'PUT', `${f}/${other.id}/password`, { token: fam.members.admin!.token, body })).status).toBe(403);
      expect((await api(t.url, 'PUT', `${f}/${fam.members.owner!.id}/password`, { token: fam.members.admin!.token, body })).status).toBe(403);
      expect((await api(t.url, 'PUT', `${f}/${other.id}/password`, { token: fam.members.owner!.token, body })).status).toBe(200);
      const audit = await api(t.url, 'GET', `/v1/families/${fam.familyId}/audit`, { token: fam.members.owner!.token });
      const actions = (audit.body.events as { action: string }[]).map((e) => e.action);
      expect(actions.filter((a) => a === 'password.reset')).toHaveLength(2);
      expect(actions).toContain('password.change');
    } finally {
      await t.close();
    }
  });
});
