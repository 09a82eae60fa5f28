import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../storage/database.js';
import { members } from '../../storage/schema.js';
import type { ChannelInput, ChannelStore, ChannelView } from '../../notifications/channels.js';
import type { PushService } from '../../notifications/push.js';
import type { DigestService } from '../../notifications/digest.js';
import { getDigestSettings } from '../../notifications/digest.js';
import type { Clock } from '../../jobs/types.js';
import { familyIdOf } from '../tenancy.js';
import { principalOf } from '../auth.js';
import { atLeast } from '../identity/roles.js';
import { AppError, forbidden, notFound } from '../errors.js';
import { Id, errors } from '../schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Secret = Type.String({ maxLength: 500 });
// http(s) only, checked in the handler (after the channel lookup, so a foreign id is a 404 first).
const HttpUrl = Type.String({ minLength: 8, maxLength: 2000 });

function checkUrl(url: string): void {
  let ok = false;
  try {
    const u = new URL(url);
    ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
  } catch {
    ok = false;
  }
  if (!ok) throw new AppError('VALIDATION_FAILED', 'config.url must be an http or https URL', [{ path: '/config/url', message: 'not an http(s) URL' }]);
}

const WebhookBody = Type.Object(
  {
    kind: Type.Literal('webhook'),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    /** Omit or null for a family-wide channel (admins only). */
    memberId: Type.Optional(Nullable(Id)),
    enabled: Type.Optional(Type.Boolean()),
    config: Type.Object({ url: HttpUrl, format: Type.Union([Type.Literal('ntfy'), Type.Literal('gotify'), Type.Literal('json')]) }, { additionalProperties: false }),
    secrets: Type.Optional(Type.Object({ hmacKey: Type.Optional(Secret), token: Type.Optional(Secret) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

const SmtpBody = Type.Object(
  {
    kind: Type.Literal('smtp'),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    memberId: Type.Optional(Nullable(Id)),
    enabled: Type.Optional(Type.Boolean()),
    config: Type.Object(
      {
        host: Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9.:\\[\\]-]+$' }),
        port: Type.Integer({ minimum: 1, maximum: 65535 }),
        security: Type.Union([Type.Literal('tls'), Type.Literal('starttls'), Type.Literal('none')]),
        user: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
        from: Type.String({ minLength: 3, maxLength: 255, pattern: '^[^\\r\\n]+@[^\\r\\n]+$' }),
        to: Type.String({ minLength: 3, maxLength: 255, pattern: '^[^\\r\\n]+@[^\\r\\n]+$' }),
      },
      { additionalProperties: false },
    ),
    secrets: Type.Optional(Type.Object({ password: Type.Optional(Secret) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

const ChannelBody = Type.Union([WebhookBody, SmtpBody]);
type ChannelBodyT = Static<typeof ChannelBody>;

const ChannelOut = Type.Object({
  id: Type.String(),
  familyId: Type.String(),
  memberId: Nullable(Type.String()),
  kind: Type.String(),
  name: Type.String(),
  enabled: Type.Boolean(),
  config: Type.Record(Type.String(), Type.Unknown()),
  secretsSet: Type.Array(Type.String()),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
});

const ChannelParams = Type.Object({ familyId: Type.String(), channelId: Id });

const DigestBody = Type.Object(
  {
    enabled: Type.Boolean(),
    weekday: Type.Integer({ minimum: 0, maximum: 6 }),
    hour: Type.Integer({ minimum: 0, maximum: 23 }),
    timezone: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_+/-]+$' }),
  },
  { additionalProperties: false },
);

export interface NotificationRouteDeps {
  db: Db;
  channels: ChannelStore;
  push: PushService;
  digest: DigestService;
  clock: Clock;
}

/**
 * Push channels: admins and owners manage the family's channels and anyone's; every other
 * member (not guests) manages channels for themselves only. Secrets go in, never out.
 */
export function notificationRoutes(deps: NotificationRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    const isAdmin = (req: FastifyRequest) => atLeast(principalOf(req).role, 'admin');

    const mayManage = (req: FastifyRequest, memberId: string | null) => {
      if (isAdmin(req)) return true;
      return memberId !== null && memberId === principalOf(req).memberId;
    };

    const toInput = (req: FastifyRequest, body: ChannelBodyT): ChannelInput => {
      const familyId = familyIdOf(req);
      const memberId = body.memberId ?? null;
      if (body.kind === 'webhook') checkUrl(body.config.url);
      if (!mayManage(req, memberId)) throw forbidden(memberId === null ? 'family channels are for admins' : 'you may manage only your own channels');
      if (memberId !== null) {
        const m = deps.db.select({ id: members.id }).from(members).where(and(eq(members.familyId, familyId), eq(members.id, memberId))).get();
        if (!m) throw new AppError('VALIDATION_FAILED', 'memberId is not a member of this family', [{ path: '/memberId', message: 'unknown member' }]);
      }
      return { ...body, memberId } as ChannelInput;
    };

    const visible = (req: FastifyRequest, ch: ChannelView | null): ChannelView => {
      if (!ch || !mayManage(req, ch.memberId)) throw notFound('channel');
      return ch;
    };

    r.get(
      '/channels',
      { schema: { tags: ['notifications'], summary: 'Push channels you may manage', response: { 200: Type.Object({ channels: Type.Array(ChannelOut) }), ...errors(401, 403) } } },
      async (request) => {
        const familyId = familyIdOf(request);
        const channels = isAdmin(request) ? deps.channels.list(familyId) : deps.channels.list(familyId, principalOf(request).memberId);
        return { channels: channels as never };
      },
    );

    r.post(
      '/channels',
      { schema: { tags: ['notifications'], body: ChannelBody, response: { 201: ChannelOut, ...errors(400, 401, 403, 422) } } },
      async (request, reply) => {
        const ch = deps.channels.create(familyIdOf(request), toInput(request, request.body), deps.clock.now());
        return reply.status(201).send(ch as never);
      },
    );

    r.get(
      '/channels/:channelId',
      { schema: { tags: ['notifications'], params: ChannelParams, response: { 200: ChannelOut, ...errors(401, 403, 404) } } },
      async (request) => visible(request, deps.channels.get(familyIdOf(request), request.params.channelId)) as never,
    );

    r.put(
      '/channels/:channelId',
      { schema: { tags: ['notifications'], params: ChannelParams, body: ChannelBody, response: { 200: ChannelOut, ...errors(400, 401, 403, 404, 422) } } },
      async (request) => {
        const familyId = familyIdOf(request);
        visible(request, deps.channels.get(familyId, request.params.channelId));
        const updated = deps.channels.update(familyId, request.params.channelId, toInput(request, request.body), deps.clock.now());
        if (!updated) throw new AppError('CONFLICT', 'a channel cannot change its kind; delete it and create another');
        return updated as never;
      },
    );

    r.delete(
      '/channels/:channelId',
      { schema: { tags: ['notifications'], params: ChannelParams, response: { 204: Type.Null(), ...errors(401, 403, 404) } } },
      async (request, reply) => {
        const familyId = familyIdOf(request);
        visible(request, deps.channels.get(familyId, request.params.channelId));
        deps.channels.remove(familyId, request.params.channelId);
        return reply.status(204).send(null);
      },
    );

    r.post(
      '/channels/:channelId/test',
      { schema: { tags: ['notifications'], params: ChannelParams, response: { 200: Type.Object({ ok: Type.Boolean(), error: Nullable(Type.String()) }), ...errors(401, 403, 404) } } },
      async (request) => {
        const familyId = familyIdOf(request);
        visible(request, deps.channels.get(familyId, request.params.channelId));
        try {
          await deps.push.sendTest(familyId, request.params.channelId, principalOf(request).memberId);
          return { ok: true, error: null };
        } catch (err) {
          return { ok: false, error: (err as Error).message.slice(0, 200) };
        }
      },
    );

    r.get(
      '/digest-settings',
      { schema: { tags: ['notifications'], summary: 'When the weekly digest goes out', response: { 200: DigestBody, ...errors(401, 403) } } },
      async (request) => getDigestSettings(deps.db, familyIdOf(request)),
    );

    r.put(
      '/digest-settings',
      { config: { minRole: 'admin' }, schema: { tags: ['notifications'], body: DigestBody, response: { 200: DigestBody, ...errors(400, 401, 403, 422) } } },
      async (request) => {
        try {
          return deps.digest.setSettings(familyIdOf(request), request.body, deps.clock.now());
        } catch (err) {
          if (err instanceof RangeError) throw new AppError('VALIDATION_FAILED', 'unknown timezone', [{ path: '/timezone', message: 'not an IANA zone' }]);
          throw err;
        }
      },
    );
  };
}
