import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { familyIdOf } from '../tenancy.js';
import { listAudit } from '../../storage/audit.js';
import { errors } from '../schemas.js';
import type { RouteDeps } from './route-deps.js';

/** The family's audit trail, for its owners and admins (append-only in the database). */
export function familyAuditRoutes(deps: RouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    const ctx = deps.identity;

    r.get(
      '/audit',
      {
        config: { minRole: 'admin' },
        schema: {
          tags: ['audit'],
          summary: 'Security-relevant events, newest first',
          description:
            'Owners and admins. Page with `before` = the last id of the previous page. `action` matches exactly or, without a dot suffix, ' +
            'as a prefix (`login` is login.success and login.failure); `member` and `device` match the actor or the target.',
          querystring: Type.Object({
            before: Type.Optional(Type.Integer({ minimum: 1 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
            action: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z.]*[a-z]$' })),
            member: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })),
            device: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })),
            since: Type.Optional(Type.Integer({ minimum: 0, description: 'ms since the epoch, inclusive' })),
            until: Type.Optional(Type.Integer({ minimum: 0, description: 'ms since the epoch, exclusive' })),
          }),
          response: {
            200: Type.Array(
              Type.Object({
                id: Type.Integer(),
                at: Type.Integer(),
                action: Type.String(),
                actorMemberId: Type.Union([Type.String(), Type.Null()]),
                actorDeviceId: Type.Union([Type.String(), Type.Null()]),
                target: Type.Union([Type.String(), Type.Null()]),
                ip: Type.Union([Type.String(), Type.Null()]),
                requestId: Type.Union([Type.String(), Type.Null()]),
                details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
              }),
            ),
            ...errors(401, 403, 422),
          },
        },
      },
      async (request) => {
        const q = request.query;
        return listAudit(ctx.storage.db, familyIdOf(request), {
          before: q.before,
          limit: q.limit ?? 100,
          action: q.action,
          memberId: q.member,
          deviceId: q.device,
          since: q.since,
          until: q.until,
        });
      },
    );
  };
}
