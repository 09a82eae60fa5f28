import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import multipart from '@fastify/multipart';
import { Type } from 'typebox';
import type { MediaService } from '../../media/service.js';
import { MediaError } from '../../media/errors.js';
import { contentDisposition, decodeHeaderName } from '../../media/names.js';
import { isSha256 } from '../../media/paths.js';
import { toRecord } from '../../media/record.js';
import type { MediaRow } from '../../storage/media-schema.js';
import { principalOf } from '../auth.js';
import { familyIdOf } from '../tenancy.js';
import { AppError, notFound, validationFailed } from '../errors.js';
import { atLeast } from '../identity/roles.js';
import { errors, Id } from '../schemas.js';

export const MediaRecordSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: Type.String(),
  kind: Type.String(),
  size: Type.Integer(),
  sha256: Type.String(),
  width: Type.Union([Type.Integer(), Type.Null()]),
  height: Type.Union([Type.Integer(), Type.Null()]),
  takenAt: Type.Union([Type.String(), Type.Null()]),
  uploadedBy: Type.Object({ memberId: Type.String(), deviceId: Type.String() }),
  createdAt: Type.String(),
  thumbhash: Type.Union([Type.String(), Type.Null()]),
  thumbnail: Type.String(),
});

const MediaParams = Type.Object({ familyId: Type.String(), mediaId: Id });
const TokenQuery = Type.Object({ token: Type.Optional(Type.String({ maxLength: 4096 })) });
const Kind = Type.Union([Type.Literal('image'), Type.Literal('video'), Type.Literal('pdf'), Type.Literal('file')]);
const Sha = Type.String({ pattern: '^[0-9a-fA-F]{64}$' });

/** Byte responses, for the OpenAPI document: the handler streams a file, so nothing is serialised. */
const Bytes = (description: string) => ({ description, content: { 'application/octet-stream': { schema: Type.String({ format: 'binary' }) } } });
const NotModified = Type.Null({ description: 'not modified (If-None-Match)' });

/** Content-addressed: the bytes behind an id never change, so caches may keep them. */
const IMMUTABLE = 'private, max-age=31536000, immutable';

function toAppError(err: unknown): unknown {
  if (!(err instanceof MediaError)) return err;
  switch (err.code) {
    case 'UPLOAD_ABORTED':
      return new AppError('INVALID_PAYLOAD', err.message, err.details, 400);
    default:
      return new AppError(err.code, err.message, err.details);
  }
}

function parseTime(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) throw validationFailed(`invalid ${field}`, [{ path: `querystring/${field}`, message: 'ISO 8601 date or ms since epoch' }]);
  return ms;
}

/** Headers every media byte response carries: the sniffed type is final, nothing runs, no token leaks via Referer. */
function safeHeaders(reply: FastifyReply, etag: string): void {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('content-security-policy', "default-src 'none'; sandbox");
  reply.header('referrer-policy', 'no-referrer');
  reply.header('cross-origin-resource-policy', 'same-origin');
  reply.header('etag', etag);
}

function notModified(request: FastifyRequest, etag: string): boolean {
  const inm = request.headers['if-none-match'];
  return typeof inm === 'string' && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*');
}

/** One byte range (RFC 9110); several ranges are answered with the whole file, which the RFC allows. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return null;
  const [, a, b] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

async function sendFile(request: FastifyRequest, reply: FastifyReply, file: string, opts: { type: string; etag: string; disposition?: string; ranges: boolean }) {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    request.log.error({ route: request.routeOptions.url }, 'media file missing on disk');
    throw notFound('media file');
  }
  safeHeaders(reply, opts.etag);
  reply.header('cache-control', IMMUTABLE);
  if (opts.disposition) reply.header('content-disposition', opts.disposition);
  if (notModified(request, opts.etag)) return reply.status(304).send();
  reply.type(opts.type);
  if (opts.ranges) {
    reply.header('accept-ranges', 'bytes');
    const range = parseRange(request.headers.range, size);
    if (range === 'unsatisfiable') {
      reply.header('content-range', `bytes */${size}`);
      throw new AppError('RANGE_NOT_SATISFIABLE', 'the requested range is outside the file', [], 416);
    }
    if (range) {
      reply.status(206);
      reply.header('content-range', `bytes ${range.start}-${range.end}/${size}`);
      reply.header('content-length', String(range.end - range.start + 1));
      return reply.send(fs.createReadStream(file, { start: range.start, end: range.end }));
    }
  }
  reply.header('content-length', String(size));
  return reply.send(fs.createReadStream(file));
}

function dispositionFor(row: MediaRow): string {
  return contentDisposition(row.kind === 'image' || row.kind === 'video' ? 'inline' : 'attachment', row.name);
}

/** Media of the family: upload (multipart or raw, streamed), check, list, bytes, derived images, delete. */
export function familyMediaRoutes(media: MediaService) {
  return async (app: FastifyInstance): Promise<void> => {
    // The raw body reaches the handler as the request stream itself: nothing is buffered.
    app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
    await app.register(multipart, {
      limits: { fileSize: media.limits.maxFileBytes + 1, files: 1, fields: 8, parts: 16, fieldSize: 4096, headerPairs: 64 },
    });
    const r = app.withTypeProvider<TypeBoxTypeProvider>();

    r.post(
      '/media',
      {
        schema: {
          tags: ['media'],
          summary: 'Upload a file: multipart field `file`, or the raw bytes as application/octet-stream with `x-hearth-filename` (percent-encoded)',
          consumes: ['multipart/form-data', 'application/octet-stream'],
          response: { 200: MediaRecordSchema, 201: MediaRecordSchema, ...errors(400, 401, 403, 413, 415, 422, 429, 507) },
        },
      },
      async (request, reply) => {
        const p = principalOf(request);
        const uploader = { familyId: p.familyId, memberId: p.memberId, deviceId: p.deviceId, ip: request.ip, requestId: String(request.id) };
        const contentType = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        try {
          let source: Readable;
          let name: string | null;
          let declaredLength: number | undefined;
          if (contentType === 'application/octet-stream') {
            const len = request.headers['content-length'];
            declaredLength = len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined;
            media.admit(uploader, declaredLength);
            source = request.body as Readable;
            name = decodeHeaderName(request.headers['x-hearth-filename']);
          } else if (contentType === 'multipart/form-data') {
            media.admit(uploader);
            const part = await request.file();
            if (!part || part.fieldname !== 'file') {
              throw validationFailed('expected a multipart field named `file`', [{ path: 'body/file', message: 'required' }]);
            }
            source = part.file;
            name = part.filename;
          } else {
            throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'send multipart/form-data (field `file`) or application/octet-stream', [], 415);
          }
          const { record, created } = await media.ingest(uploader, source, { name, declaredLength });
          return reply.status(created ? 201 : 200).send(record);
        } catch (err) {
          // The client may still be sending: do not read gigabytes only to throw them away.
          reply.header('connection', 'close');
          throw toAppError(err);
        }
      },
    );

    r.post(
      '/media/check',
      {
        schema: {
          tags: ['media'],
          summary: 'Which of these SHA-256 hashes the family already has (so a phone skips them)',
          body: Type.Object({ sha256: Type.Array(Sha, { maxItems: 1000 }) }),
          response: {
            200: Type.Object({ existing: Type.Array(Type.Object({ sha256: Type.String(), id: Type.String() })), missing: Type.Array(Type.String()) }),
            ...errors(400, 401, 403, 422),
          },
        },
      },
      async (request) => media.check(familyIdOf(request), request.body.sha256.filter(isSha256Lower)),
    );

    r.get(
      '/media',
      {
        schema: {
          tags: ['media'],
          summary: 'Media of the family, newest upload first, with cursor paging and filters (from/to on the upload time)',
          querystring: Type.Object({
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
            kind: Type.Optional(Kind),
            from: Type.Optional(Type.String({ maxLength: 40 })),
            to: Type.Optional(Type.String({ maxLength: 40 })),
            uploader: Type.Optional(Type.String({ maxLength: 64 })),
          }),
          response: { 200: Type.Object({ items: Type.Array(MediaRecordSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...errors(401, 403, 422) },
        },
      },
      async (request) => {
        const q = request.query;
        try {
          return media.list(familyIdOf(request), {
            limit: q.limit,
            cursor: q.cursor,
            kind: q.kind,
            from: parseTime(q.from, 'from'),
            to: parseTime(q.to, 'to'),
            uploader: q.uploader,
          });
        } catch (err) {
          if (err instanceof MediaError) throw validationFailed('invalid cursor', [{ path: 'querystring/cursor', message: 'not a cursor from this list' }]);
          throw err;
        }
      },
    );

    r.get(
      '/media/:mediaId',
      {
        config: { acceptQueryToken: true },
        schema: {
          tags: ['media'],
          summary: 'The original bytes (Range, ETag); the access token may be given as ?token= for <img src>',
          params: MediaParams,
          querystring: TokenQuery,
          response: { 200: Bytes('the file'), 206: Bytes('the requested range'), 304: NotModified, ...errors(401, 403, 404, 416) },
        },
      },
      async (request, reply) => {
        const found = media.original(familyIdOf(request), request.params.mediaId);
        if (!found) throw notFound('media');
        return sendFile(request, reply, found.file, { type: found.row.type, etag: `"${found.row.sha256}"`, disposition: dispositionFor(found.row), ranges: true });
      },
    );

    for (const variant of ['thumb', 'preview'] as const) {
      r.get(
        `/media/:mediaId/${variant}`,
        {
          config: { acceptQueryToken: true },
          schema: {
            tags: ['media'],
            summary: `The ${variant === 'thumb' ? '~256 px thumbnail' : '~1440 px preview'} (WebP); 404 until it is made (see the record's thumbnail state)`,
            params: MediaParams,
            querystring: TokenQuery,
            response: { 200: Bytes('WebP image'), 304: NotModified, ...errors(401, 403, 404) },
          },
        },
        async (request, reply) => {
          const found = media.derived(familyIdOf(request), request.params.mediaId, variant);
          if (!found) throw notFound(variant);
          return sendFile(request, reply, found.file, { type: 'image/webp', etag: `"${found.row.sha256}.${variant}"`, ranges: false });
        },
      );
    }

    r.get(
      '/media/:mediaId/info',
      {
        schema: { tags: ['media'], summary: 'The media record', params: MediaParams, response: { 200: MediaRecordSchema, ...errors(401, 403, 404) } },
      },
      async (request) => {
        const row = media.get(familyIdOf(request), request.params.mediaId);
        if (!row) throw notFound('media');
        return toRecord(row);
      },
    );

    r.delete(
      '/media/:mediaId',
      {
        schema: {
          tags: ['media'],
          summary: 'Delete (uploader or admin): the record goes at once, the bytes after the GC grace period once nothing references them',
          params: MediaParams,
          response: { 204: Type.Null(), ...errors(401, 403, 404) },
        },
      },
      async (request, reply) => {
        const p = principalOf(request);
        try {
          media.remove(p.familyId, request.params.mediaId, {
            memberId: p.memberId,
            deviceId: p.deviceId,
            ip: request.ip,
            requestId: String(request.id),
            mayDeleteAny: atLeast(p.role, 'admin'),
          });
        } catch (err) {
          throw toAppError(err);
        }
        return reply.status(204).send(null);
      },
    );
  };
}

function isSha256Lower(h: string): boolean {
  return isSha256(h.toLowerCase());
}
