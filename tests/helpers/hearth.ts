import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../server/config.js';
import { startServer, type RunningServer } from '../../server/runtime.js';
import { createLogger } from '../../server/logger.js';
import { createFamily } from '../../server/identity/families.js';
import { addMember } from '../../server/identity/members.js';
import { CLI_ACTOR } from '../../server/identity/context.js';
import type { Role } from '../../storage/schema.js';

export const PASSWORD = 'correct horse battery staple';

/** Collects every log line, so tests can assert that secrets never reach the log. */
export class LogCapture extends Writable {
  lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    cb();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export interface TestServer {
  server: RunningServer;
  url: string;
  dataDir: string;
  logs: LogCapture;
  close(): Promise<void>;
}

const madeDirs: string[] = [];
// Each test file runs in its own worker process: when it exits, its data dirs go with it
// (a test may stop a server and start another on the same dir, so not at close()).
process.once('exit', () => {
  for (const dir of madeDirs) fs.rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'hearth-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

/** The real server on 127.0.0.1, port 0, with a fresh data dir. */
export async function startTestServer(overrides: Partial<Config> = {}, dataDir = tempDir()): Promise<TestServer> {
  const config = { ...loadConfig({ env: {} }), dataDir, host: '127.0.0.1', port: 0, logLevel: 'info' as const, ...overrides };
  const logs = new LogCapture();
  const server = await startServer(config, { logger: createLogger(config.logLevel, logs) });
  return {
    server,
    url: server.url,
    dataDir,
    logs,
    async close() {
      await server.close();
    },
  };
}

export interface Api {
  status: number;
  body: any;
  headers: Headers;
}

export async function api(
  base: string,
  method: string,
  route: string,
  opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Api> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['content-type'] ??= 'application/json';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(base + route, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // leave as text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export interface Family {
  familyId: string;
  members: Record<string, { id: string; role: Role; username: string; token: string; refreshToken: string; deviceId: string }>;
}

/**
 * A family with one member per role given, each logged in over HTTP with their own
 * device. Members are created through the domain layer (what the CLI does).
 */
export async function seedFamily(t: TestServer, name = 'The Smiths', roles: Role[] = ['owner', 'admin', 'adult', 'child', 'guest']): Promise<Family> {
  const ctx = t.server.identity;
  const family = createFamily(ctx, name, CLI_ACTOR);
  const members: Family['members'] = {};
  for (const role of roles) {
    const username = `${role}${Object.keys(members).length}`;
    const member = await addMember(ctx, family.id, { username, role, password: PASSWORD }, CLI_ACTOR);
    const res = await api(t.url, 'POST', '/v1/auth/login', {
      body: { familyId: family.id, username, password: PASSWORD, deviceName: `${username}'s phone` },
    });
    if (res.status !== 200) throw new Error(`login failed: ${JSON.stringify(res.body)}`);
    members[role] = {
      id: member.id,
      role,
      username,
      token: res.body.accessToken,
      refreshToken: res.body.refreshToken,
      deviceId: res.body.deviceId,
    };
  }
  return { familyId: family.id, members };
}

/** Asserts the SPEC's error envelope with the given status and code; returns the body's error. */
export function expectError(res: Api, status: number, code: string): { code: string; message: string; details: unknown[] } {
  const summary = `${res.status} ${JSON.stringify(res.body)}`;
  if (res.status !== status) throw new Error(`expected ${status} ${code}, got ${summary}`);
  const err = res.body?.error;
  if (!err || err.code !== code || typeof err.message !== 'string' || !Array.isArray(err.details)) {
    throw new Error(`expected error envelope with code ${code}, got ${summary}`);
  }
  return err;
}

/** Password login over HTTP; throws unless it succeeds. */
export async function login(
  t: TestServer,
  familyId: string,
  username: string,
  password = PASSWORD,
  deviceName = `${username}'s laptop`,
): Promise<{ accessToken: string; refreshToken: string; deviceId: string; memberId: string; role: Role }> {
  const res = await api(t.url, 'POST', '/v1/auth/login', { body: { familyId, username, password, deviceName } });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Adds a member through the domain layer (as the CLI would); no login, so no device. */
export async function addTestMember(
  t: TestServer,
  familyId: string,
  username: string,
  role: Role,
  password: string | null = PASSWORD,
): Promise<{ id: string; username: string | null; role: Role }> {
  return addMember(t.server.identity, familyId, { username, role, password }, CLI_ACTOR);
}

export const CLI_ENTRY = path.resolve(import.meta.dirname, '../../dist/cli/main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Environment for CLI children: ours minus any HEARTH_* setting that would leak into the test. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HEARTH_')));
  return { ...env, ...extra };
}

/**
 * Runs the built CLI (`npm run build` first) as a child process on the Node running the
 * tests. `input` is written to stdin (then closed), e.g. a password for `member add`.
 */
export async function runCli(args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  if (!fs.existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} is missing: run \`npm run build\` first`);
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], { env: cliEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  child.stdin.end(opts.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  const [code, signal] = (await new Promise((resolve) => child.on('close', (c, s) => resolve([c, s])))) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

/** dist/web (the built web app) for tests that serve it; built once if missing. */
export async function ensureWebBuilt(): Promise<void> {
  const index = path.resolve(import.meta.dirname, '../../dist/web/.vite/manifest.json');
  if (fs.existsSync(index)) return;
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.execPath, [path.resolve(import.meta.dirname, '../../scripts/build-web.mjs')], { stdio: 'ignore' });
}

/** startTestServer with StartOptions (e.g. an injected clock) beside the config overrides. */
export async function startTestServerWith(
  opts: Omit<import('../../server/runtime.js').StartOptions, 'logger'>,
  overrides: Partial<Config> = {},
  dataDir = tempDir(),
): Promise<TestServer> {
  const config = { ...loadConfig({ env: {} }), dataDir, host: '127.0.0.1', port: 0, logLevel: 'info' as const, ...overrides };
  const logs = new LogCapture();
  const server = await startServer(config, { ...opts, logger: createLogger(config.logLevel, logs) });
  return { server, url: server.url, dataDir, logs, close: () => server.close() };
}
