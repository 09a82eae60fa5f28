import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Db } from '../../storage/database.js';
import { listAudit } from '../../storage/audit.js';
import { familyIdOf } from '../tenancy.js';
import { errors } from '../schemas.js';
import { validationFailed } from '../errors.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const AuditEvent = Type.Object({
  id: Type.Integer(),
  at: Type.Integer(),
  action: Type.String(),
  actorMemberId: Nullable(Type.String()),
  actorDeviceId: Nullable(Type.String()),
  target: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  requestId: Nullable(Type.String()),
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});
const Kind = Type.String({ pattern: '^[a-z]+(\\.[a-z]+)*$', maxLength: 64 });
/** ms since epoch or an ISO date. */
const Time = Type.String({ maxLength: 40 });

function parseTime(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) throw validationFailed(`${name} is not a time`, [{ path: `querystring/${name}`, message: 'expected ms since epoch or an ISO date' }]);
  return ms;
}

/** GET /v1/families/:familyId/audit: the family's audit trail, newest first, for owners and admins. */
export function familyAuditRoutes(deps: { db: Db }) {
  return async (app: FastifyInstance): Promise<void> => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    r.get(
      '/audit',
      {
        config: { minRole: 'admin' },
        schema: {
          tags: ['audit'],
          summary: 'Security-relevant events, newest first; filters by kind (action or its prefix), acting member/device, time; cursor paging',
          querystring: Type.Object({
            kind: Type.Optional(Kind),
            action: Type.Optional(Kind),
            member: Type.Optional(Type.String({ maxLength: 64 })),
            device: Type.Optional(Type.String({ maxLength: 64 })),
            since: Type.Optional(Time),
            until: Type.Optional(Time),
            cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
            before: Type.Optional(Type.Integer({ minimum: 1 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
          }),
          response: { 200: Type.Object({ events: Type.Array(AuditEvent), nextCursor: Nullable(Type.String()) }), ...errors(401, 403, 422) },
        },
      },
      async (request) => {
        const q = request.query;
        const limit = q.limit ?? 100;
        // One extra row says whether there is a next page without a second query.
        const rows = listAudit(deps.db, familyIdOf(request), {
          limit: limit + 1,
          before: q.cursor ? Number(q.cursor) : q.before,
          kind: q.kind ?? q.action,
          member: q.member,
          device: q.device,
          since: parseTime(q.since, 'since'),
          until: parseTime(q.until, 'until'),
        });
        const events = rows.slice(0, limit);
        return { events, nextCursor: rows.length > limit ? String(events[events.length - 1]!.id) : null };
      },
    );
  };
}
