import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../storage/schema.js';
import { addMember } from '../server/identity/members.js';
import { createFamily } from '../server/identity/families.js';
import { createDeviceSession } from '../server/identity/sessions.js';
import { startPairing } from '../server/identity/pairing.js';
import { createInvite } from '../server/identity/invites.js';
import { CLI_ACTOR, type Actor } from '../server/identity/context.js';
import { ADMIN_OP_NAMES, runAdminOp } from '../server/admin-ops.js';
import { AppError } from '../server/errors.js';
import { ADMIN_OPS, ROUTES, type Cell, type Rule } from './authorization-table.js';
import { api, startTestServer, type TestServer } from './helpers/hearth.js';
import { validValue, type JsonSchema } from './helpers/schema-values.js';

// Runs tests/authorization-table.ts: every registered route and admin op × actor role × target.

const TARGETS = ['self', ...ROLES] as const;
type Target = (typeof TARGETS)[number];
const RANK: Record<Role, number> = { owner: 4, admin: 3, adult: 2, child: 1, guest: 0 };

function expected(matrix: Record<Role, string>, actor: Role, target: Target): 'Y' | 'N' {
  const letters = matrix[actor].replace(/\s/g, '');
  const letter = letters[TARGETS.indexOf(target)];
  if (letter !== 'Y' && letter !== 'N') throw new Error(`bad matrix row for ${actor}: ${matrix[actor]}`);
  return letter;
}

describe('authorization table', () => {
  let t: TestServer;
  let familyId: string;
  let n = 0;

  beforeAll(async () => {
    t = await startTestServer({ loginAttemptsPerMinute: 100_000 });
    const ctx = t.server.identity;
    familyId = createFamily(ctx, 'Authz family', CLI_ACTOR).id;
    // A standing owner, so demoting or removing a target owner never meets the last-owner rule.
    await addMember(ctx, familyId, { displayName: 'standing owner', role: 'owner' }, CLI_ACTOR);
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });

  /** A fresh device-only member with one device and an access token. */
  async function freshMember(role: Role) {
    const ctx = t.server.identity;
    const m = await addMember(ctx, familyId, { username: `u${++n}`, displayName: `${role} ${n}`, role }, CLI_ACTOR);
    const s = await createDeviceSession(ctx, { id: m.id, familyId, role }, `${role}'s phone`, 'paired', CLI_ACTOR);
    return { id: m.id, role, deviceId: s.deviceId, token: s.accessToken };
  }

  async function cellFor(actorRole: Role, target: Target) {
    const actor = await freshMember(actorRole);
    const targetMember = target === 'self' ? actor : await freshMember(target);
    const cell: Cell = {
      familyId,
      actor,
      target: targetMember,
      userCode: () => startPairing(t.server.identity, 'new tablet', 'http://x/pair').userCode,
      inviteId: () => createInvite(t.server.identity, familyId, { role: 'guest', ttlHours: 1 }, CLI_ACTOR).id,
      // A kind no handler claims, far ahead: it waits in the table for the op to act on it.
      jobId: (cancelled = false) => {
        const job = t.server.scheduler.schedule({ kind: 'test.parked', familyId, runAt: Date.now() + 86_400_000 });
        if (cancelled) t.server.scheduler.cancelById(job.id);
        return job.id;
      },
      spareFamilyId: () => createFamily(t.server.identity, 'Spare family', CLI_ACTOR).id,
    };
    return { actor, cell };
  }

  function fill(url: string, cell: Partial<Cell>, params: Record<string, string> = {}): string {
    const ids: Record<string, string> = {
      familyId,
      memberId: cell.target?.id ?? 'zz_0000000000000000',
      deviceId: cell.target?.deviceId ?? 'zz_0000000000000000',
      ...params,
    };
    return url.replace(/:(\w+)/g, (_m, name: string) => ids[name] ?? 'zz_0000000000000000').replace(/\*/g, 'some/doc');
  }

  const hasBody = (method: string) => !['GET', 'DELETE'].includes(method);

  function bodyFor(method: string, url: string): unknown {
    const route = t.server.app.allRoutes.find((r) => r.method === method && r.url === url);
    return hasBody(method) && route?.bodySchema ? validValue(route.bodySchema as JsonSchema) : undefined;
  }

  it('has a row for every registered route and admin op, and no row for one that does not exist', () => {
    const registered = [...new Set(t.server.app.allRoutes.map((r) => `${r.method} ${r.url}`))];
    expect(registered.filter((k) => !Object.hasOwn(ROUTES, k)), 'routes without a row in tests/authorization-table.ts').toEqual([]);
    const stale = Object.entries(ROUTES).filter(([k, rule]) => !rule.optional && !registered.includes(k));
    expect(stale.map(([k]) => k), 'rows for routes that are not registered').toEqual([]);
    expect(ADMIN_OP_NAMES.filter((op) => !Object.hasOwn(ADMIN_OPS, op)), 'admin ops without a row').toEqual([]);
    expect(Object.keys(ADMIN_OPS).filter((op) => !(ADMIN_OP_NAMES as string[]).includes(op)), 'rows for unknown ops').toEqual([]);
  });

  const byKind = (kind: Rule['kind']) => Object.entries(ROUTES).filter(([, r]) => r.kind === kind);
  const isRegistered = ([key]: [string, Rule]) => t.server.app.allRoutes.some((r) => `${r.method} ${r.url}` === key);

  it('family routes: roles below the route’s minimum get 403, the others get past the gate', async () => {
    const results: string[] = [];
    const wrong: string[] = [];
    for (const [key, rule] of byKind('family').filter(isRegistered)) {
      if (rule.kind !== 'family') continue;
      const [method, url] = key.split(' ') as [string, string];
      for (const role of ROLES) {
        const { actor } = await cellFor(role, 'self');
        const res = await api(t.url, method, fill(url, {}), { token: actor.token, body: rule.body ?? bodyFor(method, url) });
        const want = RANK[role] >= RANK[rule.minRole] ? 'allowed' : 'refused';
        const got = res.status === 403 ? 'refused' : res.status === 401 || res.status >= 500 ? `status ${res.status}` : 'allowed';
        results.push(key);
        if (got !== want) wrong.push(`${key} as ${role}: expected ${want}, got ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(results.length).toBeGreaterThan(0);
  });

  it('signed-in routes: 401 without a token, every role gets past the gate', async () => {
    const wrong: string[] = [];
    for (const [key] of byKind('signedIn').filter(isRegistered)) {
      const [method, url] = key.split(' ') as [string, string];
      const body = bodyFor(method, url);
      const anon = await api(t.url, method, fill(url, {}), { body });
      if (anon.status !== 401) wrong.push(`${key} without a token: ${anon.status}`);
      for (const role of ROLES) {
        const { actor } = await cellFor(role, 'self');
        const res = await api(t.url, method, fill(url, {}), { token: actor.token, body });
        if ([401, 403].includes(res.status) || res.status >= 500) wrong.push(`${key} as ${role}: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('open routes answer without a token and without a server error', async () => {
    const wrong: string[] = [];
    for (const [key] of byKind('open').filter(isRegistered)) {
      const [method, url] = key.split(' ') as [string, string];
      const res = await api(t.url, method, fill(url, {}), { body: bodyFor(method, url) });
      if (res.status === 403 || res.status >= 500) wrong.push(`${key}: ${res.status}`);
    }
    expect(wrong).toEqual([]);
  });

  it('routes that act on a member follow their matrix for every actor role × target', async () => {
    const wrong: string[] = [];
    let cells = 0;
    for (const [key, rule] of byKind('member').filter(isRegistered)) {
      if (rule.kind !== 'member') continue;
      const [method, url] = key.split(' ') as [string, string];
      for (const role of ROLES) {
        for (const target of TARGETS) {
          const { actor, cell } = await cellFor(role, target);
          const sent = rule.send?.(cell) ?? {};
          const res = await api(t.url, method, fill(url, cell, sent.params), { token: actor.token, body: sent.body });
          const want = expected(rule.matrix, role, target);
          const got = res.status < 300 ? 'Y' : res.status === 403 && res.body?.error?.code === 'FORBIDDEN' ? 'N' : `${res.status}`;
          cells++;
          if (got !== want) wrong.push(`${key} by ${role} on ${target}: expected ${want}, got ${got} ${JSON.stringify(res.body)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(cells).toBeGreaterThanOrEqual(5 * 30);
  });

  it('admin-socket ops follow the same matrix for member actors, and the CLI actor may do all of it', async () => {
    const wrong: string[] = [];
    const ctx = t.server.adminContext;
    for (const [op, rule] of Object.entries(ADMIN_OPS)) {
      for (const role of [...ROLES, 'cli' as const]) {
        for (const target of TARGETS) {
          if (role === 'cli' && target === 'self') continue;
          const { actor, cell } = await cellFor(role === 'cli' ? 'guest' : role, target);
          const as: Actor = role === 'cli' ? CLI_ACTOR : { familyId, memberId: actor.id, deviceId: actor.deviceId, role };
          const want = role === 'cli' ? 'Y' : expected(rule.matrix, role, target);
          let got: string;
          try {
            await runAdminOp(ctx, op, rule.args(cell), as);
            got = 'Y';
          } catch (err) {
            got = err instanceof AppError && err.code === 'FORBIDDEN' ? 'N' : String(err);
          }
          if (got !== want) wrong.push(`op ${op} by ${role} on ${target}: expected ${want}, got ${got}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the CLI actor still cannot break the last-owner invariant', async () => {
    const ctx = { identity: t.server.identity, scheduler: t.server.scheduler, search: t.server.search };
    const solo = createFamily(ctx.identity, 'Solo', CLI_ACTOR).id;
    const owner = await addMember(ctx.identity, solo, { displayName: 'only owner', role: 'owner' }, CLI_ACTOR);
    for (const [op, args] of [
      ['member.remove', { familyId: solo, memberId: owner.id }],
      ['member.role', { familyId: solo, memberId: owner.id, role: 'admin' }],
    ] as const) {
      expect(() => runAdminOp(ctx, op, args, CLI_ACTOR)).toThrow(/last owner/);
    }
  });
});
