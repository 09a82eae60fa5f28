import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../auth.js';
import { AppError } from '../errors.js';
import { errors } from '../schemas.js';
import { familyIdOf } from '../tenancy.js';
import { actorOf } from './route-deps.js';
import type { VaultService } from '../../vault/service.js';
import { VaultServiceError } from '../../vault/errors.js';
import { parseRange } from './family-media.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
// Lengths in the schema; the base64 alphabet and decoded sizes are checked by b64() (a
// pattern over megabytes of ciphertext is slow, and the answer names the field either way).
const B64 = (maxLength: number) => Type.String({ minLength: 1, maxLength });
const Id = Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const MemberId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const EntryParams = Type.Object({ entryId: Id });
const AttachmentParams = Type.Object({ entryId: Id, attachmentId: Id });

// X25519 public key (32 bytes), a crypto_box_seal of a 32-byte key (80 bytes): base64 lengths.
const PublicKeyB64 = Type.String({ minLength: 44, maxLength: 44 });
const SealedKeyB64 = Type.String({ minLength: 108, maxLength: 108 });

function b64(value: string, field: string, bytes?: number): Buffer {
  const buf = /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0 ? Buffer.from(value, 'base64') : null;
  if (!buf || (bytes !== undefined && buf.length !== bytes)) {
    throw new AppError('VALIDATION_FAILED', 'request body is invalid', [{ path: `body/${field}`, message: bytes ? `must be ${bytes} bytes of base64` : 'must be base64' }]);
  }
  return buf;
}

const PolicyBody = Type.Object(
  {
    /** ISO 8601 with an offset or Z, e.g. 2044-06-01T09:00:00+02:00. */
    releaseAt: Type.Optional(
      Nullable(Type.String({ maxLength: 40, pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2})$' })),
    ),
    timezone: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_+/-]+$' }))),
    inactivityDays: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 3650 }))),
    warnDays: Type.Optional(Nullable(Type.Array(Type.Integer({ minimum: 1, maximum: 365 }), { maxItems: 8 }))),
    graceDays: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 365 }))),
    requestWaitDays: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 365 }))),
  },
  { additionalProperties: false },
);

const PolicyView = Type.Object({
  releaseAt: Nullable(Type.Integer()),
  timezone: Nullable(Type.String()),
  inactivityDays: Nullable(Type.Integer()),
  warnDays: Nullable(Type.Array(Type.Integer())),
  graceDays: Type.Integer(),
  lastCheckinAt: Type.Integer(),
  requestWaitDays: Nullable(Type.Integer()),
});

const EntryView = Type.Object({
  id: Type.String(),
  ownerMemberId: Type.String(),
  status: Type.String(),
  recipients: Type.Array(Type.String()),
  recipientsSee: Type.Boolean(),
  bytes: Type.Integer(),
  policy: PolicyView,
  requestedBy: Nullable(Type.String()),
  requestedAt: Nullable(Type.Integer()),
  releasedAt: Nullable(Type.Integer()),
  releaseReason: Nullable(Type.String()),
  cancelledAt: Nullable(Type.Integer()),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  nextReleaseAt: Nullable(Type.Integer()),
  attachments: Type.Array(Type.Object({ id: Type.String(), size: Type.Integer(), createdAt: Type.Integer() })),
});

const AttachmentView = Type.Object({ id: Type.String(), size: Type.Integer(), createdAt: Type.Integer() });
/** Byte responses, for the OpenAPI document: the handler streams a file. */
const Bytes = (description: string) => ({ description, content: { 'application/octet-stream': { schema: Type.String({ format: 'binary' }) } } });

const STATUS: Record<string, number> = { NOT_FOUND: 404, NOT_RELEASED: 409, CONFLICT: 409, VALIDATION_FAILED: 422, QUOTA_EXCEEDED: 507, PAYLOAD_TOO_LARGE: 413 };

function toAppError(err: unknown): unknown {
  if (!(err instanceof VaultServiceError)) return err;
  if (err.code === 'UPLOAD_ABORTED') return new AppError('INVALID_PAYLOAD', err.message, [], 400);
  return new AppError(err.code, err.message, [], STATUS[err.code]);
}

function mapped<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toAppError(err);
  }
}

/** Streams an attachment blob: opaque bytes, never sniffed or run; one byte range if asked. */
function sendBlob(request: FastifyRequest, reply: FastifyReply, file: { path: string; size: number; sha256: string }) {
  const etag = `"${file.sha256}"`;
  reply.header('x-content-type-options', 'nosniff');
  reply.header('content-security-policy', "default-src 'none'; sandbox");
  reply.header('referrer-policy', 'no-referrer');
  reply.header('cache-control', 'private, no-cache');
  reply.header('etag', etag);
  reply.header('accept-ranges', 'bytes');
  const inm = request.headers['if-none-match'];
  if (typeof inm === 'string' && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) return reply.status(304).send();
  reply.type('application/octet-stream');
  const range = parseRange(request.headers.range, file.size);
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${file.size}`);
    throw new AppError('RANGE_NOT_SATISFIABLE', 'the requested range is outside the blob', [], 416);
  }
  if (range) {
    reply.status(206);
    reply.header('content-range', `bytes ${range.start}-${range.end}/${file.size}`);
    reply.header('content-length', String(range.end - range.start + 1));
    return reply.send(fs.createReadStream(file.path, { start: range.start, end: range.end }));
  }
  reply.header('content-length', String(file.size));
  return reply.send(fs.createReadStream(file.path));
}

function me(request: FastifyRequest) {
  const p = principalOf(request);
  return { ...actorOf(request), familyId: familyIdOf(request), memberId: p.memberId };
}

/**
 * The vault's HTTP face: every byte that crosses it was encrypted on a member's device.
 * Only members of the family reach these (tenancy); what a member sees of an entry is
 * decided in vault/service.ts (owner any time, recipients only after release).
 */
export function familyVaultRoutes(deps: { vault: VaultService; maxEntryBytes: number }) {
  const maxB64 = Math.ceil(deps.maxEntryBytes / 3) * 4;
  return async (app: FastifyInstance): Promise<void> => {
    // Attachment uploads reach the handler as the request stream itself: nothing is buffered.
    app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['vault'];

    r.put(
      '/vault/key',
      {
        config: { minRole: 'guest' },
        schema: {
          tags,
          summary: 'Register my public key and my passphrase-wrapped private key (a JSON blob the server cannot open)',
          body: Type.Object({ publicKey: PublicKeyB64, wrapped: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ memberId: Type.String(), publicKey: Type.String(), updatedAt: Type.Integer() }), ...errors(401, 403, 422) },
        },
      },
      async (request) => {
        b64(request.body.publicKey, 'publicKey', 32);
        return deps.vault.putKey(me(request), request.body.publicKey, request.body.wrapped);
      },
    );

    r.get(
      '/vault/key',
      {
        config: { minRole: 'guest' },
        schema: {
          tags,
          summary: 'My wrapped private key, to restore it on a new device',
          response: { 200: Type.Object({ publicKey: Type.String(), wrapped: Type.String(), updatedAt: Type.Integer() }), ...errors(401, 403, 404) },
        },
      },
      async (request) => {
        const m = me(request);
        const k = deps.vault.ownKey(m.familyId, m.memberId);
        if (!k) throw new AppError('NOT_FOUND', 'no vault key registered');
        return k;
      },
    );

    r.get(
      '/vault/keys',
      {
        config: { minRole: 'guest' },
        schema: {
          tags,
          summary: "The family's public keys (compare verification phrases in person)",
          response: { 200: Type.Object({ keys: Type.Array(Type.Object({ memberId: Type.String(), publicKey: Type.String(), updatedAt: Type.Integer() })) }), ...errors(401, 403) },
        },
      },
      async (request) => ({ keys: deps.vault.publicKeys(familyIdOf(request)) }),
    );

    r.post(
      '/vault/entries',
      {
        config: { minRole: 'child' },
        bodyLimit: maxB64 + 64 * 1024,
        schema: {
          tags,
          summary: 'Store a sealed entry: ciphertext, one sealed content key per recipient and the owner, and its release policy',
          body: Type.Object(
            {
              id: Id,
              ciphertext: B64(maxB64),
              sealedKeys: Type.Array(Type.Object({ memberId: MemberId, sealedKey: SealedKeyB64 }, { additionalProperties: false }), { maxItems: 64 }),
              policy: PolicyBody,
              recipientsSee: Type.Optional(Type.Boolean()),
            },
            { additionalProperties: false },
          ),
          response: { 201: EntryView, ...errors(401, 403, 409, 413, 422, 507) },
        },
      },
      async (request, reply) => {
        const b = request.body;
        const ciphertext = b64(b.ciphertext, 'ciphertext');
        b.sealedKeys.forEach((k, i) => b64(k.sealedKey, `sealedKeys/${i}/sealedKey`, 80));
        const releaseAt = b.policy.releaseAt ? Date.parse(b.policy.releaseAt) : null;
        if (releaseAt != null && !Number.isFinite(releaseAt)) throw new AppError('VALIDATION_FAILED', 'releaseAt is not a valid time');
        const view = mapped(() =>
          deps.vault.create(me(request), {
            id: b.id,
            ciphertext,
            sealedKeys: b.sealedKeys,
            recipientsSee: b.recipientsSee ?? false,
            policy: { ...b.policy, releaseAt },
          }),
        );
        return reply.code(201).send(view);
      },
    );

    r.get(
      '/vault/entries',
      {
        config: { minRole: 'guest' },
        schema: {
          tags,
          summary: 'My entries, and those addressed to me that I may know of (metadata only)',
          response: { 200: Type.Object({ entries: Type.Array(EntryView) }), ...errors(401, 403) },
        },
      },
      async (request) => {
        const m = me(request);
        return { entries: deps.vault.list(m.familyId, m.memberId) };
      },
    );

    r.get(
      '/vault/entries/:entryId',
      {
        config: { minRole: 'guest' },
        schema: { tags, summary: "One entry's metadata", params: EntryParams, response: { 200: EntryView, ...errors(401, 403, 404, 422) } },
      },
      async (request) => {
        const m = me(request);
        return mapped(() => deps.vault.get(m.familyId, request.params.entryId, m.memberId));
      },
    );

    r.get(
      '/vault/entries/:entryId/sealed',
      {
        config: { minRole: 'guest' },
        schema: {
          tags,
          summary: 'The ciphertext and my sealed key: the owner any time, a recipient after release (409 before)',
          params: EntryParams,
          response: { 200: Type.Object({ id: Type.String(), ciphertext: Type.String(), sealedKey: Type.String() }), ...errors(401, 403, 404, 409, 422) },
        },
      },
      async (request) => {
        const got = mapped(() => deps.vault.open(me(request), request.params.entryId));
        return { id: request.params.entryId, ciphertext: got.ciphertext.toString('base64'), sealedKey: got.sealedKey };
      },
    );

    r.post(
      '/vault/entries/:entryId/cancel',
      {
        config: { minRole: 'child' },
        schema: { tags, summary: 'Owner: cancel before release (sealed keys and ciphertext are deleted)', params: EntryParams, response: { 200: EntryView, ...errors(401, 403, 404, 409, 422) } },
      },
      async (request) => mapped(() => deps.vault.cancel(me(request), request.params.entryId)),
    );

    r.post(
      '/vault/entries/:entryId/request',
      {
        config: { minRole: 'guest' },
        schema: { tags, summary: 'Recipient: ask for release; it happens after the waiting period unless the owner vetoes', params: EntryParams, response: { 200: EntryView, ...errors(401, 403, 404, 409, 422) } },
      },
      async (request) => mapped(() => deps.vault.request(me(request), request.params.entryId)),
    );

    r.post(
      '/vault/entries/:entryId/veto',
      {
        config: { minRole: 'child' },
        schema: { tags, summary: 'Owner: refuse a pending release request', params: EntryParams, response: { 200: EntryView, ...errors(401, 403, 404, 409, 422) } },
      },
      async (request) => mapped(() => deps.vault.veto(me(request), request.params.entryId)),
    );

    r.patch(
      '/vault/entries/:entryId',
      {
        config: { minRole: 'child' },
        schema: {
          tags,
          summary: 'Owner, before release: change the policy (absent keeps, null clears) and whether recipients see the entry exists (409 after release)',
          params: EntryParams,
          body: Type.Object({ policy: Type.Optional(PolicyBody), recipientsSee: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
          response: { 200: EntryView, ...errors(401, 403, 404, 409, 422) },
        },
      },
      async (request) => {
        const b = request.body;
        const policy: Record<string, unknown> = { ...(b.policy ?? {}) };
        if (typeof b.policy?.releaseAt === 'string') {
          const ms = Date.parse(b.policy.releaseAt);
          if (!Number.isFinite(ms)) throw new AppError('VALIDATION_FAILED', 'releaseAt is not a valid time');
          policy.releaseAt = ms;
        }
        return mapped(() => deps.vault.update(me(request), request.params.entryId, { policy, ...(b.recipientsSee !== undefined ? { recipientsSee: b.recipientsSee } : {}) }));
      },
    );

    r.put(
      '/vault/entries/:entryId/attachments/:attachmentId',
      {
        config: { minRole: 'child' },
        schema: {
          tags,
          summary: 'Owner, before release: upload one attachment blob (secretstream output of encryptAttachment) as application/octet-stream, streamed',
          consumes: ['application/octet-stream'],
          params: AttachmentParams,
          response: { 201: AttachmentView, ...errors(400, 401, 403, 404, 409, 413, 415, 422, 507) },
        },
      },
      async (request, reply) => {
        const contentType = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        try {
          deps.vault.admitAttachment(me(request), request.params.entryId, request.params.attachmentId);
          if (contentType !== 'application/octet-stream') throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'send the blob as application/octet-stream', [], 415);
          const len = request.headers['content-length'];
          const declared = len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined;
          const view = await deps.vault.uploadAttachment(me(request), request.params.entryId, request.params.attachmentId, request.body as Readable, declared);
          return reply.code(201).send(view);
        } catch (err) {
          // The client may still be sending: do not read megabytes only to throw them away.
          reply.header('connection', 'close');
          throw toAppError(err);
        }
      },
    );

    r.get(
      '/vault/entries/:entryId/attachments/:attachmentId',
      {
        config: { minRole: 'guest' },
        schema: {
          tags,
          summary: 'An attachment blob: the owner any time, a recipient after release (409 before), like the ciphertext; Range and ETag',
          params: AttachmentParams,
          response: { 200: Bytes('the blob'), 206: Bytes('the requested range'), 304: Type.Null({ description: 'not modified (If-None-Match)' }), ...errors(401, 403, 404, 409, 416, 422) },
        },
      },
      async (request, reply) => {
        const range = request.headers.range;
        // A resumed download (a range past byte 0) is one access, not one per request.
        const audited = !range || /^bytes=0-/.test(range.trim());
        const file = mapped(() => deps.vault.attachmentFile(me(request), request.params.entryId, request.params.attachmentId, audited));
        return sendBlob(request, reply, file);
      },
    );

    r.delete(
      '/vault/entries/:entryId/attachments/:attachmentId',
      {
        config: { minRole: 'child' },
        schema: { tags, summary: 'Owner, before release: delete an attachment blob', params: AttachmentParams, response: { 204: Type.Null(), ...errors(401, 403, 404, 409, 422) } },
      },
      async (request, reply) => {
        mapped(() => deps.vault.deleteAttachment(me(request), request.params.entryId, request.params.attachmentId));
        return reply.status(204).send(null);
      },
    );

    r.post(
      '/vault/checkin',
      {
        config: { minRole: 'child' },
        schema: { tags, summary: "Owner: I am here (resets every dead man's switch of mine)", response: { 200: Type.Object({ entries: Type.Integer(), at: Type.Integer() }), ...errors(401, 403) } },
      },
      async (request) => deps.vault.checkin(me(request)),
    );
  };
}
