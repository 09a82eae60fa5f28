import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FamilyRoute } from '../server/tenancy.js';
import { validValue, type JsonSchema } from './helpers/schema-values.js';
import { api, expectError, seedFamily, startTestServer, type Api, type Family, type TestServer } from './helpers/hearth.js';

// Tenancy and input handling, table-driven over every family-scoped route the server
// has registered (app.familyRoutes), so routes added later are covered automatically.

/** A value of the wrong JSON type for the schema, or undefined when any type goes. */
function wrongValue(s: JsonSchema): unknown {
  const types = new Set<string>();
  const collect = (x: JsonSchema) => {
    if (x.anyOf) x.anyOf.forEach(collect);
    else if (x.const !== undefined) types.add(typeof x.const === 'string' ? 'string' : typeof x.const);
    else if (Array.isArray(x.type)) x.type.forEach((t) => types.add(t));
    else if (x.type) types.add(x.type);
    else types.add('any');
  };
  collect(s);
  if (types.has('any')) return undefined;
  // A number where a string belongs is the case coercion would hide.
  if ([...types].every((t) => t === 'string')) return 12345;
  if (!types.has('object') && !types.has('array')) return { not: 'a scalar' };
  if (!types.has('number') && !types.has('integer')) return 12345;
  return undefined;
}

describe('tenancy and request handling over every family-scoped route', () => {
  let t: TestServer;
  let a: Family;
  let b: Family;
  let inviteId: string;
  let mediaId: string;
  let routes: FamilyRoute[];

  beforeAll(async () => {
    t = await startTestServer({ loginAttemptsPerMinute: 1000 });
    a = await seedFamily(t, 'Family A', ['owner', 'guest']);
    b = await seedFamily(t, 'Family B', ['owner']);
    const inv = await api(t.url, 'POST', `/v1/families/${a.familyId}/invites`, { token: a.members.owner!.token, body: { role: 'guest' } });
    expect(inv.status).toBe(201);
    inviteId = inv.body.id;
    const up = await fetch(`${t.url}/v1/families/${a.familyId}/media`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.members.owner!.token}`, 'content-type': 'application/octet-stream', 'x-hearth-filename': 'a.txt' },
      body: Buffer.from('family A only'),
    });
    expect(up.status).toBe(201);
    mediaId = ((await up.json()) as { id: string }).id;
    routes = t.server.app.familyRoutes;
  });
  afterAll(() => t.close());

  /** Fills a route's params with real ids from family A (so a missing check would show), else a plausible id. */
  function pathFor(route: FamilyRoute, familyId: string): string {
    const ids: Record<string, string> = {
      familyId,
      memberId: a.members.guest!.id,
      deviceId: a.members.guest!.deviceId,
      inviteId,
      mediaId,
    };
    return route.url
      .replace(/:(\w+)/g, (_m, name: string) => ids[name] ?? 'zz_0000000000000000')
      .replace(/\*/g, 'some/path');
  }

  function label(route: FamilyRoute) {
    return `${route.method} ${route.url}`;
  }

  function expectStatus(route: FamilyRoute, res: Api, status: number, code: string) {
    expect({ route: label(route), status: res.status, code: res.body?.error?.code }).toEqual({ route: label(route), status, code });
    expectError(res, status, code);
  }

  const hasBody = (route: FamilyRoute) => !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(route.method);

  /** Family A's rows, to prove nothing changed. */
  function snapshotA() {
    const db = t.server.storage.sqlite;
    return {
      family: db.prepare('SELECT * FROM families WHERE id = ?').all(a.familyId),
      members: db.prepare('SELECT * FROM members WHERE family_id = ? ORDER BY id').all(a.familyId),
      devices: db.prepare('SELECT id, revoked_at FROM devices WHERE family_id = ? ORDER BY id').all(a.familyId),
      invites: db.prepare('SELECT * FROM invites WHERE family_id = ? ORDER BY id').all(a.familyId),
      pairingTokens: db.prepare('SELECT count(*) n FROM pairing_tokens WHERE family_id = ?').get(a.familyId),
      media: db.prepare('SELECT * FROM media WHERE family_id = ? ORDER BY id').all(a.familyId),
    };
  }

  it('knows the family-scoped routes of this issue', () => {
    const names = routes.map(label);
    for (const expected of [
      'GET /v1/families/:familyId',
      'PATCH /v1/families/:familyId',
      'GET /v1/families/:familyId/members',
      'POST /v1/families/:familyId/members',
      'PATCH /v1/families/:familyId/members/:memberId',
      'DELETE /v1/families/:familyId/members/:memberId',
      'GET /v1/families/:familyId/devices',
      'DELETE /v1/families/:familyId/devices/:deviceId',
      'POST /v1/families/:familyId/members/:memberId/pairing-tokens',
      'GET /v1/families/:familyId/invites',
      'POST /v1/families/:familyId/invites',
      'DELETE /v1/families/:familyId/invites/:inviteId',
      'GET /v1/families/:familyId/audit',
      'POST /v1/families/:familyId/media',
      'POST /v1/families/:familyId/media/check',
      'GET /v1/families/:familyId/media',
      'GET /v1/families/:familyId/media/:mediaId',
      'GET /v1/families/:familyId/media/:mediaId/thumb',
      'GET /v1/families/:familyId/media/:mediaId/preview',
      'GET /v1/families/:familyId/media/:mediaId/info',
      'DELETE /v1/families/:familyId/media/:mediaId',
    ]) {
      expect(names).toContain(expected);
    }
  });

  it('refuses every route with another family’s token (403), without a token (401), and for an unknown family (403)', async () => {
    const before = snapshotA();
    const intruder = b.members.owner!.token;
    for (const route of routes) {
      const path = pathFor(route, a.familyId);
      const body = hasBody(route) && route.bodySchema ? validValue(route.bodySchema as JsonSchema) : undefined;
      expectStatus(route, await api(t.url, route.method, path, { token: intruder, body }), 403, 'FORBIDDEN');
      expectStatus(route, await api(t.url, route.method, path, { body }), 401, 'UNAUTHORIZED');
      // A family that does not exist looks the same as one that is not yours: no probing ids.
      const ghost = pathFor(route, 'fam_0000000000000000');
      expectStatus(route, await api(t.url, route.method, ghost, { token: intruder, body }), 403, 'FORBIDDEN');
      expectStatus(route, await api(t.url, route.method, ghost, { token: a.members.owner!.token, body }), 403, 'FORBIDDEN');
    }
    expect(snapshotA()).toEqual(before);
  });

  it('never reaches another family’s rows through one’s own family path', async () => {
    const before = snapshotA();
    const own = b.members.owner!.token;
    for (const route of routes.filter((r) => /:(?!familyId)\w+/.test(r.url))) {
      const path = pathFor(route, b.familyId);
      const body = hasBody(route) && route.bodySchema ? validValue(route.bodySchema as JsonSchema) : undefined;
      const res = await api(t.url, route.method, path, { token: own, body });
      expect({ route: label(route), refused: [403, 404].includes(res.status) }).toEqual({ route: label(route), refused: true });
      expect(res.body.error).toBeDefined();
    }
    expect(snapshotA()).toEqual(before);
  });

  it('answers a malformed JSON body with 400 INVALID_PAYLOAD on every route that takes a body', async () => {
    const before = snapshotA();
    const writes = routes.filter(hasBody);
    expect(writes.length).toBeGreaterThan(0);
    for (const route of writes) {
      for (const raw of ['{"role": ', '{bad json}', 'null x', '\u0000']) {
        const res = await api(t.url, route.method, pathFor(route, a.familyId), { token: a.members.owner!.token, raw });
        expectStatus(route, res, 400, 'INVALID_PAYLOAD');
      }
    }
    expect(snapshotA()).toEqual(before);
  });

  it('answers wrong types with 422 VALIDATION_FAILED on every route with a body schema', async () => {
    const before = snapshotA();
    const owner = a.members.owner!.token;
    const withSchema = routes.filter((r) => hasBody(r) && r.bodySchema);
    expect(withSchema.length).toBeGreaterThanOrEqual(4);
    for (const route of withSchema) {
      const schema = route.bodySchema as JsonSchema;
      const path = pathFor(route, a.familyId);
      // The whole body of the wrong type.
      for (const body of [[], 42, 'a string']) {
        const res = await api(t.url, route.method, path, { token: owner, body });
        expectStatus(route, res, 422, 'VALIDATION_FAILED');
        expect(res.body.error.details.length).toBeGreaterThan(0);
      }
      // Each property of the wrong type (no silent coercion of 123 into "123").
      const good = validValue(schema) as Record<string, unknown>;
      for (const [key, prop] of Object.entries(schema.properties ?? {})) {
        const wrong = wrongValue(prop);
        if (wrong === undefined) continue;
        const res = await api(t.url, route.method, path, { token: owner, body: { ...good, [key]: wrong } });
        expectStatus(route, res, 422, 'VALIDATION_FAILED');
        expect(res.body.error.details.map((d: { path: string }) => d.path).join(' ')).toContain(key);
      }
      // A missing required property.
      for (const key of schema.required ?? []) {
        const { [key]: _dropped, ...rest } = good;
        expectStatus(route, await api(t.url, route.method, path, { token: owner, body: rest }), 422, 'VALIDATION_FAILED');
      }
    }
    expect(snapshotA()).toEqual(before);
  });

  it('coerces query strings but not bodies', async () => {
    const owner = a.members.owner!.token;
    const audit = await api(t.url, 'GET', `/v1/families/${a.familyId}/audit?limit=2`, { token: owner });
    expect(audit.status).toBe(200);
    expect(audit.body.events).toHaveLength(2);
    expectError(await api(t.url, 'GET', `/v1/families/${a.familyId}/audit?limit=abc`, { token: owner }), 422, 'VALIDATION_FAILED');
    expectError(await api(t.url, 'PATCH', `/v1/families/${a.familyId}`, { token: owner, body: { name: 123 } }), 422, 'VALIDATION_FAILED');
    expectError(await api(t.url, 'POST', `/v1/families/${a.familyId}/invites`, { token: owner, body: { role: 'guest', ttlHours: '5' } }), 422, 'VALIDATION_FAILED');
    expectError(await api(t.url, 'POST', '/v1/pair/approve', { token: owner, body: { userCode: 'BCDFGHJK', approve: 'false' } }), 422, 'VALIDATION_FAILED');
    expect((await api(t.url, 'GET', `/v1/families/${a.familyId}`, { token: owner })).body.name).toBe('Family A');
  });

  it('answers unknown routes with a 404 envelope', async () => {
    for (const [method, path] of [
      ['GET', '/v1/nope'],
      ['POST', '/v1/auth/nope'],
      ['GET', '/nope?token=secret'],
      ['DELETE', '/v1/families'],
    ] as const) {
      const err = expectError(await api(t.url, method, path, { token: a.members.owner!.token }), 404, 'NOT_FOUND');
      expect(err.message).not.toContain('secret');
    }
  });

  it('sends x-request-id on every response, echoing a sane one the caller gave', async () => {
    const plain = await api(t.url, 'GET', '/health');
    expect(plain.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const other = await api(t.url, 'GET', '/health');
    expect(other.headers.get('x-request-id')).not.toBe(plain.headers.get('x-request-id'));

    const given = await api(t.url, 'GET', '/v1/me', { token: a.members.owner!.token, headers: { 'x-request-id': 'trace-abc.123' } });
    expect(given.status).toBe(200);
    expect(given.headers.get('x-request-id')).toBe('trace-abc.123');
    // Errors carry it too.
    const failed = await api(t.url, 'GET', '/v1/nope', { headers: { 'x-request-id': 'trace-404' } });
    expect(failed.headers.get('x-request-id')).toBe('trace-404');
    const unauth = await api(t.url, 'GET', '/v1/me', { headers: { 'x-request-id': 'trace-401' } });
    expect(unauth.status).toBe(401);
    expect(unauth.headers.get('x-request-id')).toBe('trace-401');
    // A hostile one is replaced, not echoed.
    const hostile = await api(t.url, 'GET', '/health', { headers: { 'x-request-id': 'a b<script>' } });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // And the log line for a request carries its id.
    expect(t.logs.lines.some((l) => l.includes('"reqId":"trace-abc.123"'))).toBe(true);
  });
});
