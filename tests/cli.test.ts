import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { Command, CommanderError } from 'commander';
import { registerCommands } from '../cli/commands/index.js';
import { CLI_ENTRY, PASSWORD, api, cliEnv, expectError, runCli, tempDir, type CliResult } from './helpers/hearth.js';

// The real `hearth` CLI (dist/cli/main.js, so `npm run build` first) as child processes
// against a temp data dir, and `hearth serve` as a child server that CLI commands reach
// live through the admin socket.

const data = tempDir('hearth-cli-');
const hearth = (args: string[], input?: string) => runCli([...args, '--data', data], { input });
const json = (r: CliResult) => {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(r.stdout);
};

/** A failure: non-zero exit, nothing on stdout, exactly one line on stderr. */
function expectOneLineError(r: CliResult, pattern: RegExp) {
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBeNull();
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

interface ChildServer {
  proc: ChildProcessWithoutNullStreams;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

async function startChildServer(): Promise<ChildServer> {
  const proc = spawn(process.execPath, [CLI_ENTRY, 'serve', '--host', '127.0.0.1', '--port', '0', '--data', data, '--log-level', 'warn'], {
    env: cliEnv(),
  });
  let out = '';
  let err = '';
  proc.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => proc.on('exit', (c, s) => resolve([c, s])));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out} ${err}`)), 20_000);
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const m = /hearth listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then(([code]) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
  return { proc, url, stdout: () => out, stderr: () => err, exited };
}

/** Runs `tasks` at most `n` at a time (two cores: more only queues). */
async function limited<T>(n: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

describe('hearth CLI', () => {
  let familyId: string;
  let alice: { id: string };
  let bob: { id: string };
  let server: ChildServer | null = null;

  beforeAll(() => {
    if (!fs.existsSync(CLI_ENTRY)) throw new Error('dist/cli/main.js is missing: run `npm run build` before the CLI tests');
  });
  afterAll(async () => {
    if (server && server.proc.exitCode === null) {
      server.proc.kill('SIGKILL');
      await server.exited;
    }
  });

  it('prints its version; init creates the data dir, database and a private key readable only by its owner', async () => {
    const [version, init] = await Promise.all([runCli(['version', '--json']), hearth(['init', '--json'])]);
    const info = json(version);
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.version).toBe(JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../package.json'), 'utf8')).version);
    expect(info.node).toBe(process.version);

    const out = json(init);
    expect(out).toEqual({ dataDir: data, database: path.join(data, 'hearth.db'), keys: path.join(data, 'keys') });
    const priv = fs.readdirSync(out.keys).find((f) => f.endsWith('.key'));
    expect(priv).toBeDefined();
    expect(fs.statSync(path.join(out.keys, priv!)).mode & 0o777).toBe(0o600);
    expect(fs.statSync(data).mode & 0o077).toBe(0);
  });

  it('reports migrations, creates a family and members (password on stdin), and lists them', async () => {
    const [migrations, family] = await Promise.all([hearth(['migrate', '--status', '--json']), hearth(['family', 'create', 'The Smiths', '--json'])]);
    const status = json(migrations);
    expect(status.length).toBeGreaterThanOrEqual(1);
    expect(status[0]).toMatchObject({ version: 1, name: 'identity', applied: true });
    for (const m of status) {
      expect(m.applied).toBe(true);
      expect(Date.parse(m.appliedAt)).toBeGreaterThan(0);
    }

    const fam = json(family);
    expect(fam.id).toMatch(/^fam_[0-9a-z]{16}$/);
    expect(fam.name).toBe('The Smiths');
    familyId = fam.id;

    [alice, bob] = await Promise.all([
      hearth(['member', 'add', '--family', familyId, '--name', 'alice', '--role', 'owner', '--json'], `${PASSWORD}\n`).then(json),
      hearth(['member', 'add', '--family', familyId, '--name', 'bob', '--role', 'adult', '--no-password', '--json']).then(json),
    ]);
    expect(alice).toMatchObject({ username: 'alice', role: 'owner', familyId, hasPassword: true });
    expect(bob).toMatchObject({ username: 'bob', role: 'adult', hasPassword: false });

    const list = json(await hearth(['member', 'list', '--family', familyId, '--json']));
    expect(list.map((m: { username: string; role: string }) => `${m.username}:${m.role}`).sort()).toEqual(['alice:owner', 'bob:adult']);
  });

  let homeAssistant: { deviceId: string; accessToken: string; refreshToken: string };

  it('serves on port 0 and a headless device from `device add` works against it', async () => {
    server = await startChildServer();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(fs.existsSync(path.join(data, 'admin.sock'))).toBe(true);
    expect(fs.statSync(path.join(data, 'admin.sock')).mode & 0o777).toBe(0o600);
    expect((await api(server.url, 'GET', '/ready')).status).toBe(200);

    const [dev, session] = await Promise.all([
      hearth(['device', 'add', '--family', familyId, '--member', alice.id, '--name', 'Home Assistant', '--json']).then(json),
      // Alice's password from stdin works over HTTP.
      api(server.url, 'POST', '/v1/auth/login', { body: { familyId, username: 'alice', password: PASSWORD, deviceName: 'laptop' } }),
    ]);
    expect(session.status).toBe(200);
    expect(Object.keys(dev).sort()).toEqual(['accessToken', 'deviceId', 'expiresIn', 'refreshToken']);
    expect(dev.deviceId).toMatch(/^dev_/);
    const me = await api(server.url, 'GET', '/v1/me', { token: dev.accessToken });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ deviceId: dev.deviceId, familyId, member: { id: alice.id } });
    const devices = await api(server.url, 'GET', `/v1/families/${familyId}/devices`, { token: dev.accessToken });
    expect(devices.body.find((d: { id: string }) => d.id === dev.deviceId)).toMatchObject({ name: 'Home Assistant', kind: 'headless', revokedAt: null });
    homeAssistant = dev;
  });

  it('revokes a device on the running server at once, and changes a role live', async () => {
    const [victim, bobDev] = await Promise.all([
      hearth(['device', 'add', '--family', familyId, '--member', alice.id, '--name', 'to revoke', '--json']).then(json),
      hearth(['device', 'add', '--member', bob.id, '--name', 'bob tablet', '--json']).then(json),
    ]);
    expect((await api(server!.url, 'GET', '/v1/me', { token: victim.accessToken })).status).toBe(200);
    const invites = `/v1/families/${familyId}/invites`;
    expectError(await api(server!.url, 'POST', invites, { token: bobDev.accessToken, body: { role: 'guest' } }), 403, 'FORBIDDEN');

    const [revoked, promoted] = await Promise.all([hearth(['device', 'revoke', victim.deviceId]), hearth(['member', 'role', bob.id, 'admin'])]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout.trim()).toBe(`revoked ${victim.deviceId} (applied to the running server)`);
    expectError(await api(server!.url, 'GET', '/v1/me', { token: victim.accessToken }), 401, 'UNAUTHORIZED');
    expectError(await api(server!.url, 'POST', '/v1/auth/refresh', { body: { refreshToken: victim.refreshToken } }), 401, 'UNAUTHORIZED');

    expect(promoted.code).toBe(0);
    expect(promoted.stdout.trim()).toBe(`${bob.id} is now admin (applied to the running server)`);
    // Bob's token was minted as an adult; the next request already sees the admin.
    expect((await api(server!.url, 'POST', invites, { token: bobDev.accessToken, body: { role: 'guest' } })).status).toBe(201);
    const seen = await api(server!.url, 'GET', `/v1/families/${familyId}/members/${bob.id}`, { token: homeAssistant.accessToken });
    expect(seen.body.role).toBe('admin');
  });

  it('approves a pairing started over HTTP; creates invites and QR pairing tokens that work over HTTP', async () => {
    const started = await api(server!.url, 'POST', '/v1/pair/start', { body: { deviceName: "Bob's new phone" } });
    expect(started.status).toBe(200);
    const [approved, inv, qr] = await Promise.all([
      hearth(['device', 'approve', started.body.userCode, '--member', bob.id, '--json']).then(json),
      hearth(['invite', 'create', '--family', familyId, '--role', 'child', '--name', 'Kid', '--json']).then(json),
      hearth(['device', 'pair', '--member', bob.id, '--url', server!.url]),
    ]);

    expect(approved).toEqual({ deviceName: "Bob's new phone", memberId: bob.id, status: 'approved' });
    const tokens = await api(server!.url, 'POST', '/v1/pair/token', { body: { deviceCode: started.body.deviceCode } });
    expect(tokens.status).toBe(200);
    expect(tokens.body.memberId).toBe(bob.id);
    expect((await api(server!.url, 'GET', '/v1/me', { token: tokens.body.accessToken })).body.member.username).toBe('bob');

    expect(inv).toMatchObject({ familyId, role: 'child', displayName: 'Kid', usedAt: null });
    const joined = await api(server!.url, 'POST', '/v1/invites/accept', { body: { code: inv.code, username: 'kid', deviceName: 'Kid tablet' } });
    expect(joined.status).toBe(200);
    expect(joined.body.role).toBe('child');

    // The QR code in the terminal, and the same token spelled out for typing.
    expect(qr.code).toBe(0);
    expect(qr.stdout).toMatch(/[▄▀█]{10}/);
    const m = /enter server (\S+) and token (\S+)/.exec(qr.stdout);
    expect(m?.[1]).toBe(server!.url);
    const redeemed = await api(server!.url, 'POST', '/v1/pair/redeem', { body: { token: m![2], deviceName: 'Scanned phone' } });
    expect(redeemed.status).toBe(200);
    expect(redeemed.body.memberId).toBe(bob.id);
    expectError(await api(server!.url, 'POST', '/v1/pair/redeem', { body: { token: m![2], deviceName: 'Again' } }), 401, 'UNAUTHORIZED');
  });

  it('fails with one line on stderr and a non-zero exit', async () => {
    const ghost = 'fam_0000000000000000';
    // One case per way a command can fail: domain not-found, bad argument, live refusal
    // from the running server, usage error, bad config, bad stdin.
    const cases: [string[], RegExp, string?][] = [
      [['member', 'add', '--family', ghost, '--name', 'zed', '--role', 'adult'], /^hearth: family not found$/, `${PASSWORD}\n`],
      [['member', 'role', bob.id, 'superhero'], /^hearth: role must be one of owner, admin, adult, child, guest$/],
      [['member', 'remove', alice.id], /^hearth: the last owner cannot be removed$/],
      [['member', 'add', '--family', familyId], /required option/],
      [['serve', '--port', 'eighty'], /^hearth: invalid configuration: .*--port/],
      [['member', 'add', '--family', familyId, '--name', 'nopw', '--role', 'adult'], /^hearth: no password on stdin/],
    ];
    const results = await limited(
      3,
      cases.map(([args, , input]) => () => hearth(args, input)),
    );
    results.forEach((r, i) => {
      const [args, pattern] = cases[i]!;
      expect({ args: args.join(' '), failed: r.code !== 0 && r.code !== null }).toEqual({ args: args.join(' '), failed: true });
      expectOneLineError(r, pattern);
    });
    // Nothing was half-done by the failures, and the running server agrees.
    const members = await api(server!.url, 'GET', `/v1/families/${familyId}/members`, { token: homeAssistant.accessToken });
    expect(members.body.map((m: { username: string }) => m.username).sort()).toEqual(['alice', 'bob', 'kid']);
    expect(members.body.find((m: { username: string }) => m.username === 'alice').role).toBe('owner');
  });

  it('stops on SIGTERM with exit 0, removes the admin socket, and later CLI changes go to the database', async () => {
    server!.proc.kill('SIGTERM');
    const [code, signal] = await server!.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(path.join(data, 'admin.sock'))).toBe(false);
    expect(server!.stderr()).not.toMatch(/"level":(50|60)/);

    const out = await hearth(['device', 'revoke', homeAssistant.deviceId]);
    expect(out.code).toBe(0);
    expect(out.stdout.trim()).toBe(`revoked ${homeAssistant.deviceId}`);
    const db = new Database(path.join(data, 'hearth.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT revoked_at FROM devices WHERE id = ?').get(homeAssistant.deviceId) as { revoked_at: number | null };
      expect(row.revoked_at).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });
});

/**
 * Help and argument errors for every command. `hearth --help` runs as a child process;
 * walking the whole tree that way would cost a process start per command, so the rest
 * runs the same commander program in-process (cli/main.ts only adds the one-line
 * printing). The tree comes from the program itself, so new commands are covered.
 */
describe('hearth CLI help and argument errors', () => {
  function program() {
    const out: string[] = [];
    const p = new Command('hearth').exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => out.push(s) });
    registerCommands(p);
    return { p, out };
  }

  function paths(cmd: Command, prefix: string[] = []): string[][] {
    return cmd.commands.flatMap((c) => [[...prefix, c.name()], ...paths(c, [...prefix, c.name()])]);
  }

  it('answers `hearth --help` with exit 0 as a real process', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stderr).toBe('');
    for (const c of ['serve', 'init', 'migrate', 'family', 'member', 'device', 'invite', 'version']) expect(top.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  });

  it('answers --help with exit 0 for every command and subcommand', async () => {
    const all = paths(program().p);
    for (const expected of ['family create', 'family list', 'member add', 'member list', 'member role', 'member remove', 'device add', 'device list', 'device approve', 'device pair', 'device revoke', 'invite create', 'invite list', 'migrate', 'init', 'serve', 'version']) {
      expect(all.map((p) => p.join(' '))).toContain(expected);
    }
    for (const cmd of all) {
      const { p, out } = program();
      const err = await p.parseAsync([...cmd, '--help'], { from: 'user' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect({ cmd: cmd.join(' '), error: err instanceof CommanderError ? err.code : err, exitCode: (err as CommanderError).exitCode }).toEqual({
        cmd: cmd.join(' '),
        error: 'commander.helpDisplayed',
        exitCode: 0,
      });
      expect(out.join('')).toContain(`Usage: hearth ${cmd.join(' ')}`);
      // Commands that print data offer --json; all commands that touch data take --data.
      const help = out.join('');
      if (cmd.length > 1 || ['init', 'migrate'].includes(cmd[0]!)) expect({ cmd: cmd.join(' '), data: help.includes('--data') }).toEqual({ cmd: cmd.join(' '), data: true });
    }
  });

  it('refuses bad arguments and unknown ids with a single-line message', async () => {
    const data = tempDir('hearth-cli-args-');
    const ghost = 'fam_0000000000000000';
    const cases: [string[], RegExp][] = [
      [['member', 'list', '--family', ghost, '--data', data], /^family not found$/],
      [['device', 'list', '--family', ghost, '--data', data], /^family not found$/],
      [['invite', 'list', '--family', ghost, '--data', data], /^family not found$/],
      [['invite', 'create', '--family', ghost, '--role', 'adult', '--data', data], /^family not found$/],
      [['device', 'revoke', 'dev_0000000000000000', '--data', data], /^device dev_0000000000000000 not found$/],
      [['member', 'role', 'mem_0000000000000000', 'adult', '--data', data], /^member mem_0000000000000000 not found$/],
      [['device', 'add', '--member', 'mem_0000000000000000', '--name', 'x', '--data', data], /^member mem_0000000000000000 not found$/],
      [['member', 'add', '--family', 'f', '--name', 'zed', '--role', 'superhero'], /^role must be one of/],
      [['invite', 'create', '--family', 'f', '--role', 'owner'], /^role must be one of admin, adult, child, guest$/],
      [['invite', 'create', '--family', 'f', '--role', 'adult', '--ttl-hours', 'soon'], /^--ttl-hours must be/],
      [['family', 'create', '   '], /^family name must be 1-100 characters$/],
      [['member', 'frobnicate'], /unknown command/],
      [['device', 'approve', '--member', 'mem_x'], /missing required argument 'userCode'/],
      [['device', 'revoke', 'a', 'b'], /too many arguments/],
    ];
    for (const [args, pattern] of cases) {
      const { p, out } = program();
      const err = await p.parseAsync(args, { from: 'user' }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect({ args: args.join(' '), threw: err !== null }).toEqual({ args: args.join(' '), threw: true });
      const message = err instanceof CommanderError ? out.join('').trim() : err!.message;
      expect(message.split('\n')).toHaveLength(1);
      expect(message).toMatch(pattern);
    }
  });
});
