import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { addMember } from '../server/identity/members.js';
import { createFamily } from '../server/identity/families.js';
import { createDeviceSession } from '../server/identity/sessions.js';
import { CLI_ACTOR } from '../server/identity/context.js';
import { ERROR_STATUS } from '../server/errors.js';
import { ROUTES } from './authorization-table.js';
import { api, startTestServer, type TestServer } from './helpers/hearth.js';
import { validValue, type JsonSchema } from './helpers/schema-values.js';

// Holds every registered route (whoever added it) to the OpenAPI contract: documented, the
// framework's error statuses listed (server/openapi.ts), errors as the one envelope, security
// as the authorization table says; then probes each route with requests that fail in known
// ways and asserts that whatever status it really answers is in the document, with a body
// that matches the document's schema for that status.

/** HTML pages, not API: the only routes allowed out of the document. */
const NOT_API = new Set(['GET /*', 'GET /pair']);
const NO_ID = 'zz_0000000000000000';

type Op = {
  parameters?: { in: string; name: string }[];
  requestBody?: unknown;
  responses: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
  security?: unknown[];
  tags?: string[];
};
type Doc = {
  openapi: string;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string; scheme?: string }> };
  security: unknown[];
  paths: Record<string, Record<string, Op>>;
};

/** fastify's `/a/:id/*` as the document spells it: `/a/{id}/{*}`; the family root has a trailing slash there. */
const docPath = (url: string) => url.replace(/:(\w+)/g, '{$1}').replace(/\*/g, '{*}');

function opFor(doc: Doc, method: string, url: string): Op | undefined {
  const p = docPath(url);
  return (doc.paths[p] ?? doc.paths[`${p}/`])?.[method.toLowerCase()];
}

describe('OpenAPI document', () => {
  let t: TestServer;
  let doc: Doc;
  let familyId: string;
  let otherFamilyToken: string;
  let n = 0;
  const ajv = new Ajv({ strict: false, allErrors: true });
  const routes = () => [...new Set(t.server.app.allRoutes.map((r) => `${r.method} ${r.url}`))].filter((k) => !NOT_API.has(k));

  beforeAll(async () => {
    t = await startTestServer({ loginAttemptsPerMinute: 100_000 });
    const ctx = t.server.identity;
    familyId = createFamily(ctx, 'OpenAPI family', CLI_ACTOR).id;
    const other = createFamily(ctx, 'Other family', CLI_ACTOR).id;
    const stranger = await addMember(ctx, other, { displayName: 'stranger', role: 'owner' }, CLI_ACTOR);
    otherFamilyToken = (await createDeviceSession(ctx, { id: stranger.id, familyId: other, role: 'owner' }, 'x', 'paired', CLI_ACTOR)).accessToken;
    const res = await api(t.url, 'GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
    ajv.addSchema({ components: doc.components }, 'doc');
  });
  afterAll(() => t.close());

  /** A fresh owner with its own device: probes that log out or change things hurt nobody else. */
  async function ownerToken(): Promise<string> {
    const ctx = t.server.identity;
    const m = await addMember(ctx, familyId, { displayName: `owner ${++n}`, role: 'owner' }, CLI_ACTOR);
    return (await createDeviceSession(ctx, { id: m.id, familyId, role: 'owner' }, `probe ${n}`, 'paired', CLI_ACTOR)).accessToken;
  }

  const fill = (url: string, family = familyId) =>
    url.replace(/:(\w+)/g, (_m, name: string) => (name === 'familyId' ? family : NO_ID)).replace(/\*/g, 'some/doc');

  /** `$ref`s point into the document's components: resolve them through the schema registered as `doc`. */
  const withRefs = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"doc#/components/'));

  /** Problems with a real answer to `method url`, judged by the document alone. */
  function judge(key: string, op: Op, res: { status: number; body: unknown; headers: Headers }): string[] {
    const declared = op.responses[String(res.status)];
    if (!declared) return [`${key} answered ${res.status} (${JSON.stringify(res.body).slice(0, 120)}), which the document does not list`];
    const type = res.headers.get('content-type') ?? '';
    const schema = declared.content?.['application/json']?.schema;
    if (!type.startsWith('application/json') || !schema || res.status === 204) return [];
    const validate = ajv.compile(withRefs(schema) as object);
    if (validate(res.body)) {
      if (res.status >= 400) {
        const code = (res.body as { error: { code: keyof typeof ERROR_STATUS } }).error.code;
        const expectedStatus = ERROR_STATUS[code];
        if (expectedStatus !== undefined && expectedStatus !== res.status) return [`${key}: code ${code} with status ${res.status}`];
      }
      return [];
    }
    return [`${key} ${res.status}: body does not match the document: ${ajv.errorsText(validate.errors)}`];
  }

  it('has the bearer scheme, the error envelope component, and is OpenAPI 3', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);
    const envelope = doc.components.schemas.ErrorEnvelope as JsonSchema;
    expect(envelope.required).toEqual(['error']);
    expect(envelope.properties!.error!.required).toEqual(['code', 'message', 'details']);
  });

  it('documents every registered route, with its path parameters, a success response and the framework’s error statuses', () => {
    const wrong: string[] = [];
    const all = routes();
    expect(all.length).toBeGreaterThan(40);
    for (const key of all) {
      const [method, url] = key.split(' ') as [string, string];
      const op = opFor(doc, method, url);
      if (!op) {
        wrong.push(`${key}: not in the document (a route without a schema, or hidden)`);
        continue;
      }
      if (!op.tags?.length) wrong.push(`${key}: no tag`);
      for (const name of [...url.matchAll(/:(\w+)|(\*)/g)].map((m) => m[1] ?? '*')) {
        if (!op.parameters?.some((p) => p.in === 'path' && p.name === name)) wrong.push(`${key}: path parameter ${name} undocumented`);
      }
      const statuses = Object.keys(op.responses).map(Number);
      if (!statuses.some((s) => s >= 200 && s < 400)) wrong.push(`${key}: no success response`);
      const need = [500];
      const family = url.startsWith('/v1/families/:familyId');
      const rule = ROUTES[key];
      const signedIn = family || rule?.kind === 'signedIn' || rule?.kind === 'member';
      if (signedIn) need.push(401);
      if (family) need.push(403);
      if (op.requestBody || op.parameters?.some((p) => p.in === 'query')) need.push(422);
      if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) need.push(400, 413, 415);
      for (const s of need) if (!statuses.includes(s)) wrong.push(`${key}: ${s} missing`);
      for (const s of statuses.filter((x) => x >= 400)) {
        const schema = op.responses[s]!.content?.['application/json']?.schema as { $ref?: string } | undefined;
        if (schema?.$ref !== '#/components/schemas/ErrorEnvelope' && !(key === 'GET /ready' && s === 503)) wrong.push(`${key}: ${s} is not the error envelope`);
      }
      // The document's security must say what the authorization table says.
      if (rule && (rule.kind === 'open') !== (Array.isArray(op.security) && op.security.length === 0)) wrong.push(`${key}: security does not match its authorization rule (${rule.kind})`);
    }
    expect(wrong).toEqual([]);
  });

  it('answers only statuses it documents, with bodies that match: no token, another family, bad input, unknown ids, a valid body', async () => {
    const wrong: string[] = [];
    let probes = 0;
    for (const key of routes()) {
      const [method, url] = key.split(' ') as [string, string];
      const op = opFor(doc, method, url);
      if (!op) continue; // reported above
      const route = t.server.app.allRoutes.find((r) => r.method === method && r.url === url)!;
      const body = route.bodySchema ? validValue(route.bodySchema as JsonSchema) : undefined;
      const family = url.startsWith('/v1/families/:familyId');
      const send = async (path: string, opts: Parameters<typeof api>[3]) => {
        probes++;
        wrong.push(...judge(key, op, await api(t.url, method, path, opts)));
      };
      await send(fill(url), { body });
      if (family) await send(fill(url), { token: otherFamilyToken, body });
      await send(fill(url), { token: await ownerToken(), body });
      if (route.bodySchema) await send(fill(url), { token: await ownerToken(), body: ['not', 'an', 'object'] });
      if (['POST', 'PUT', 'PATCH'].includes(method)) await send(fill(url), { token: await ownerToken(), raw: '{"unterminated' });
      if (opFor(doc, method, url)?.parameters?.some((p) => p.in === 'query')) {
        await send(`${fill(url)}?limit=-5&cursor=%00&before=x`, { token: await ownerToken() });
      }
    }
    expect(wrong).toEqual([]);
    expect(probes).toBeGreaterThan(100);
  });
});
