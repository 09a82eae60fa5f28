import path from 'node:path';
import fs from 'node:fs';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { createHearthClient } from '../client/index.js';
import { PASSWORD, api, seedFamily, startTestServer, type Family, type TestServer } from './helpers/hearth.js';

// The client's hand-written types (client/types.ts) against GET /v1/openapi.json, two ways:
//  1. statically: the TypeScript compiler reads each exported type listed in TYPES and the
//     test walks it beside the document's schema for that route (keys, optionality, null,
//     string/number/boolean/array/object, literal sets). A client type may narrow a plain
//     string of the document to literals (e.g. MediaKind) but nothing else may differ.
//  2. at run time: objects the real client returns from a real server validate against the
//     document's schema for that route, with unknown keys refused.
// A type whose route is not registered (yet) is skipped, so new routes are checked once merged.

const F = '/v1/families/{familyId}';
type Where = { op: string; status?: number; at?: 'items' | string; part?: 'response' | 'body' | 'query' };

/** Client type → where its shape lives in the document. `at`: a property of the response, or 'items' of an array. */
const TYPES: Record<string, Where> = {
  SessionTokens: { op: 'post /v1/auth/login' },
  Family: { op: `get ${F}/` },
  Member: { op: `get ${F}/members/{memberId}` },
  Device: { op: 'get /v1/me/devices', at: 'items' },
  Invite: { op: `get ${F}/invites`, at: 'items' },
  CreatedInvite: { op: `post ${F}/invites`, status: 201 },
  Me: { op: 'get /v1/me' },
  PairingStartResponse: { op: 'post /v1/pair/start' },
  PairingInspectResponse: { op: 'post /v1/pair/inspect' },
  PairingApproveResponse: { op: 'post /v1/pair/approve' },
  PairingToken: { op: `post ${F}/members/{memberId}/pairing-tokens`, status: 201 },
  DocInfo: { op: `get ${F}/docs`, at: 'items' },
  DocAccessOverride: { op: `get ${F}/doc-access`, at: 'items' },
  AuditEvent: { op: `get ${F}/audit`, at: 'items' },
  MediaRecord: { op: `get ${F}/media/{mediaId}/info` },
  MediaCheckResponse: { op: `post ${F}/media/check` },
  MediaPage: { op: `get ${F}/media` },
  MediaListQuery: { op: `get ${F}/media`, part: 'query' },
  JobRecord: { op: `get ${F}/jobs`, at: 'jobs' },
  JobsPage: { op: `get ${F}/jobs` },
  Delivery: { op: `get ${F}/deliveries`, at: 'deliveries' },
  SearchPage: { op: `get ${F}/search` },
  SearchResult: { op: `get ${F}/search`, at: 'results' },
  SearchQuery: { op: `get ${F}/search`, part: 'query' },
  BackupStatus: { op: `get ${F}/backup-status` },
  LoginRequest: { op: 'post /v1/auth/login', part: 'body' },
  VaultKeyRecord: { op: `get ${F}/vault/keys`, at: 'keys' },
  VaultOwnKey: { op: `get ${F}/vault/key` },
  VaultKeyRequest: { op: `put ${F}/vault/key`, part: 'body' },
  VaultEntry: { op: `get ${F}/vault/entries/{entryId}` },
  VaultPolicy: { op: `get ${F}/vault/entries/{entryId}`, at: 'policy' },
  VaultEntryRequest: { op: `post ${F}/vault/entries`, part: 'body' },
  VaultPolicyRequest: { op: `post ${F}/vault/entries`, part: 'body', at: 'policy' },
  VaultSealed: { op: `get ${F}/vault/entries/{entryId}/sealed` },
  VaultCheckin: { op: `post ${F}/vault/checkin` },
  VaultAttachment: { op: `put ${F}/vault/entries/{entryId}/attachments/{attachmentId}`, status: 201 },
  VaultEntryUpdate: { op: `patch ${F}/vault/entries/{entryId}`, part: 'body' },
  SetupStatus: { op: 'get /v1/setup' },
  SetupRequest: { op: 'post /v1/setup', part: 'body' },
  InviteAcceptRequest: { op: 'post /v1/invites/accept', part: 'body' },
  InviteCreateRequest: { op: `post ${F}/invites`, part: 'body' },
  MemberAddRequest: { op: `post ${F}/members`, part: 'body' },
};

type S = {
  $ref?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: S[];
  properties?: Record<string, S>;
  required?: string[];
  items?: S | S[];
  prefixItems?: S[];
  allOf?: S[];
  nullable?: boolean;
  default?: unknown;
  additionalProperties?: boolean | S;
  content?: Record<string, { schema?: S }>;
  in?: string;
  name?: string;
  schema?: S;
};
type Doc = { components: { schemas: Record<string, S> }; paths: Record<string, Record<string, { parameters?: S[]; requestBody?: S; responses: Record<string, S> }>> };

let t: TestServer;
let doc: Doc;
let fam: Family;

beforeAll(async () => {
  t = await startTestServer({ loginAttemptsPerMinute: 1000 });
  fam = await seedFamily(t, 'Types family', ['owner', 'adult']);
  doc = (await api(t.url, 'GET', '/v1/openapi.json')).body;
});
afterAll(() => t.close());

const deref = (s: S): S => (s.$ref ? deref(doc.components.schemas[s.$ref.split('/').pop()!]!) : s);

/** The document's schema for a client type; null when the route is not registered. */
function schemaFor(w: Where): S | null {
  const [method, p] = w.op.split(' ') as [string, string];
  const op = doc.paths[p]?.[method];
  if (!op) return null;
  if (w.part === 'query') {
    const params = (op.parameters ?? []).filter((x) => x.in === 'query');
    // A parameter with a default is one the client need not send, whatever `required` says.
    const required = params.filter((x) => (x as { required?: boolean }).required && x.schema?.default === undefined);
    return { type: 'object', properties: Object.fromEntries(params.map((x) => [x.name!, x.schema!])), required: required.map((x) => x.name!) };
  }
  const prop = (s: S, name: string) => {
    const p = deref(s.properties![name]!);
    return p.items && !Array.isArray(p.items) ? deref(p.items) : p;
  };
  if (w.part === 'body') {
    const body = deref(op.requestBody!.content!['application/json']!.schema!);
    return w.at ? prop(body, w.at) : body;
  }
  const res = op.responses[String(w.status ?? 200)];
  let s = deref(res!.content!['application/json']!.schema!);
  if (w.at === 'items') s = deref((s.items ?? s.properties?.events?.items ?? s) as S);
  else if (w.at) s = prop(s, w.at);
  return s;
}

// ---- the TypeScript side ----
const program = ts.createProgram([path.resolve(import.meta.dirname, '../client/types.ts')], {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  noEmit: true,
  types: [],
});
const checker = program.getTypeChecker();
const typesFile = program.getSourceFile(path.resolve(import.meta.dirname, '../client/types.ts'))!;
const exported = new Map(checker.getExportsOfModule(checker.getSymbolAtLocation(typesFile)!).map((s) => [s.name, s]));

type Kind = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object' | 'unknown';

function tsParts(type: ts.Type): ts.Type[] {
  return type.isUnion() ? type.types : [type];
}
function tsKind(type: ts.Type): Kind {
  const f = type.flags;
  if (f & (ts.TypeFlags.String | ts.TypeFlags.StringLiteral)) return 'string';
  if (f & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) return 'number';
  if (f & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return 'boolean';
  if (f & ts.TypeFlags.Null) return 'null';
  if (f & (ts.TypeFlags.Unknown | ts.TypeFlags.Any)) return 'unknown';
  if (checker.isArrayType(type) || checker.isTupleType(type)) return 'array';
  return 'object';
}
/** One schema as its alternatives: anyOf, a type list and OpenAPI 3.0's `nullable` split; allOf merged. */
function schemaParts(s: S): S[] {
  s = deref(s);
  if (s.allOf) {
    const parts = s.allOf.map(deref);
    s = { type: 'object', properties: Object.assign({}, ...parts.map((p) => p.properties)), required: parts.flatMap((p) => p.required ?? []) };
  }
  if (s.anyOf) return s.anyOf.flatMap(schemaParts);
  if (s.nullable) {
    const { nullable: _n, ...rest } = s;
    return [...schemaParts(rest), { type: 'null' }];
  }
  if (Array.isArray(s.type)) return s.type.map((type) => ({ ...s, type }));
  return [s];
}
function schemaKind(s: S): Kind {
  const type = s.type as string | undefined;
  if (type === 'integer') return 'number';
  if (type) return type as Kind;
  if (s.const !== undefined) return (s.const === null ? 'null' : typeof s.const) as Kind;
  if (s.properties) return 'object';
  return 'unknown';
}

/** Differences between a TS type and a schema, as readable lines. */
function compare(type: ts.Type, schema: S, at: string, depth = 0): string[] {
  if (depth > 8) return [];
  const out: string[] = [];
  const tsp = tsParts(type).filter((p) => !(p.flags & ts.TypeFlags.Undefined));
  const sp = schemaParts(schema);
  const tk = new Set(tsp.map(tsKind));
  const sk = new Set(sp.map(schemaKind));
  if (tk.has('unknown') || sk.has('unknown')) return tk.has('unknown') && sk.has('unknown') ? [] : [`${at}: client ${[...tk]} vs document ${[...sk]}`];
  const same = tk.size === sk.size && [...tk].every((k) => sk.has(k));
  if (!same) return [`${at}: client ${[...tk].join('|')} vs document ${[...sk].join('|')}`];
  // Literal sets: where the document names values, the client names the same ones.
  const docLiterals = sp.flatMap((p) => (p.const !== undefined ? [p.const] : (p.enum ?? []))).filter((v) => v !== null);
  const tsLiterals = tsp.filter((p) => p.isLiteral()).map((p) => (p as ts.LiteralType).value);
  const docHasPlain = sp.some((p) => p.const === undefined && !p.enum && schemaKind(p) === 'string');
  if (docLiterals.length && !docHasPlain) {
    const a = [...new Set(tsLiterals.map(String))].sort();
    const b = [...new Set(docLiterals.map(String))].sort();
    if (tsp.some((p) => tsKind(p) === 'string' && !p.isLiteral())) out.push(`${at}: client string vs document ${b.join('|')}`);
    else if (a.join() !== b.join()) out.push(`${at}: client ${a.join('|')} vs document ${b.join('|')}`);
  }
  if (tk.has('array')) {
    const tsArr = tsp.find((p) => tsKind(p) === 'array')!;
    const sArr = sp.find((p) => schemaKind(p) === 'array')!;
    const elems = checker.getTypeArguments(tsArr as ts.TypeReference);
    const tuple = checker.isTupleType(tsArr);
    elems.forEach((elem, i) => {
      const item = sArr.prefixItems?.[i] ?? (Array.isArray(sArr.items) ? sArr.items[i] : sArr.items);
      if (item) out.push(...compare(elem, item, tuple ? `${at}[${i}]` : `${at}[]`, depth + 1));
      else out.push(`${at}[${i}]: no item schema in the document`);
    });
  }
  if (tk.has('object')) {
    const tsObj = tsp.find((p) => tsKind(p) === 'object')!;
    const sObj = sp.find((p) => schemaKind(p) === 'object')!;
    const props = checker.getPropertiesOfType(tsObj);
    const docProps = sObj.properties ?? {};
    const indexed = checker.getIndexInfosOfType(tsObj).length > 0;
    if (indexed && !sObj.properties) return out; // a free-form object on both sides
    const required = new Set(sObj.required ?? []);
    for (const p of props) {
      const ds = docProps[p.name];
      if (!ds) {
        out.push(`${at}.${p.name}: in the client, not in the document`);
        continue;
      }
      const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
      if (optional === required.has(p.name)) out.push(`${at}.${p.name}: ${optional ? 'optional in the client, required' : 'required in the client, optional'} in the document`);
      out.push(...compare(checker.getTypeOfSymbol(p), ds, `${at}.${p.name}`, depth + 1));
    }
    for (const name of Object.keys(docProps)) {
      if (!props.some((p) => p.name === name) && !indexed) out.push(`${at}.${name}: in the document, not in the client`);
    }
  }
  return out;
}

describe('client/types.ts agrees with the OpenAPI document', () => {
  it('statically: every listed type has the shape of its route’s schema', () => {
    const wrong: string[] = [];
    const checked: string[] = [];
    for (const [name, where] of Object.entries(TYPES)) {
      const sym = exported.get(name);
      if (!sym) {
        wrong.push(`${name}: not exported by client/types.ts`);
        continue;
      }
      const schema = schemaFor(where);
      if (!schema) continue; // route not registered in this build
      checked.push(name);
      wrong.push(...compare(checker.getDeclaredTypeOfSymbol(sym), schema, name));
    }
    expect(wrong).toEqual([]);
    expect(checked.length).toBeGreaterThanOrEqual(20);
  });

  it('the comparison fails on a drifted type (so the check above can fail)', () => {
    const schema = schemaFor(TYPES.Member!)!;
    const drifted = { ...schema, properties: { ...schema.properties, nickname: { type: 'string' } }, required: [...(schema.required ?? []), 'nickname'] };
    expect(compare(checker.getDeclaredTypeOfSymbol(exported.get('Member')!), drifted, 'Member')).toEqual(['Member.nickname: in the document, not in the client']);
    const notNull = { ...schema, properties: { ...schema.properties, username: { type: 'string' } } };
    expect(compare(checker.getDeclaredTypeOfSymbol(exported.get('Member')!), notNull, 'Member')).toEqual(['Member.username: client null|string vs document string']);
    const optional = { ...schema, required: schema.required!.filter((k) => k !== 'hasPassword') };
    expect(compare(checker.getDeclaredTypeOfSymbol(exported.get('Member')!), optional, 'Member')).toEqual(['Member.hasPassword: required in the client, optional in the document']);
  });

  it('at run time: what the real client returns validates against the document, unknown keys refused', async () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const closed = (s: S): S => {
      s = deref(s);
      const c: S = { ...s };
      if (c.properties) {
        c.properties = Object.fromEntries(Object.entries(c.properties).map(([k, v]) => [k, closed(v)]));
        c.additionalProperties ??= false;
      }
      if (c.items && !Array.isArray(c.items)) c.items = closed(c.items);
      if (c.anyOf) c.anyOf = c.anyOf.map(closed);
      return c;
    };
    const check = (name: string, value: unknown, schema: S) => {
      const v = ajv.compile(closed(schema) as object);
      return v(value) ? [] : [`${name}: ${ajv.errorsText(v.errors)}`];
    };
    const client = createHearthClient({ baseUrl: t.url });
    const owner = fam.members.owner!;
    await client.auth.login({ familyId: fam.familyId, username: owner.username, password: PASSWORD, deviceName: 'types test' });
    const wrong: string[] = [];
    const item = (s: S) => deref(s.items as S);
    const res = (op: string, status = 200) => {
      const [m, p] = op.split(' ') as [string, string];
      return deref(doc.paths[p]![m]!.responses[String(status)]!.content!['application/json']!.schema!);
    };
    wrong.push(...check('me', await client.auth.me(), res('get /v1/me')));
    wrong.push(...check('family', await client.family.get(), res(`get ${F}/`)));
    wrong.push(...check('members', await client.family.members.list(), res(`get ${F}/members`)));
    wrong.push(...check('devices', await client.family.devices.list(), res(`get ${F}/devices`)));
    const invite = await client.invites.create({ role: 'guest', displayName: 'Grandpa' });
    wrong.push(...check('invite', invite, res(`post ${F}/invites`, 201)));
    wrong.push(...check('invites', await client.invites.list(), res(`get ${F}/invites`)));
    wrong.push(...check('pairing token', await client.pairing.createToken(fam.members.adult!.id), res(`post ${F}/members/{memberId}/pairing-tokens`, 201)));
    wrong.push(...check('media', await client.media.list(), res(`get ${F}/media`)));
    wrong.push(...check('jobs', await client.jobs.list(), res(`get ${F}/jobs`)));
    wrong.push(...check('docs', await client.docs.list(), res(`get ${F}/docs`)));
    const start = await client.pairing.start('types tablet');
    // The fields the client adds itself (pairing.ts) are not the server's.
    const { qrPayload: _qr, verificationUriComplete: _v, expiresAt: _e, ...startFields } = start;
    wrong.push(...check('pairing start', startFields, res('post /v1/pair/start')));
    wrong.push(...check('pairing inspect', await client.pairing.inspect(start.userCode), res('post /v1/pair/inspect')));
    expect(item(res(`get ${F}/members`)).properties).toHaveProperty('role');
    expect(wrong).toEqual([]);
  });
});

// The list above must name every exported interface that is a request or a response, so a new one is not forgotten.
it('every exported response/request interface of client/types.ts is in the list', () => {
  const source = fs.readFileSync(path.resolve(import.meta.dirname, '../client/types.ts'), 'utf8');
  const names = [...source.matchAll(/^export interface (\w+)/gm)].map((m) => m[1]!);
  const notApi = new Set(['AuditQuery', 'AuditPage']); // AuditPage: the paged audit shape the audit helper is adding; see AuditEvent
  expect(names.filter((n) => !(n in TYPES) && !notApi.has(n))).toEqual([]);
});
