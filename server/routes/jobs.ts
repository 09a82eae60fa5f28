import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { PersistentScheduler } from '../../jobs/scheduler.js';
import type { Db } from '../../storage/database.js';
import { listDeliveries } from '../../notifications/channels.js';
import { familyIdOf } from '../tenancy.js';
import { errors } from '../schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const JobStatusSchema = Type.Union(['pending', 'running', 'done', 'dead', 'cancelled'].map((s) => Type.Literal(s)));

const JobView = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  familyId: Nullable(Type.String()),
  runAt: Type.Integer(),
  cron: Nullable(Type.String()),
  timezone: Nullable(Type.String()),
  status: Type.String(),
  attempts: Type.Integer(),
  maxAttempts: Type.Integer(),
  lastError: Nullable(Type.String()),
  key: Nullable(Type.String()),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  lastRunAt: Nullable(Type.Integer()),
  finishedAt: Nullable(Type.Integer()),
});

const DeliveryView = Type.Object({
  id: Type.String(),
  memberId: Type.String(),
  channelId: Type.String(),
  notificationId: Type.String(),
  idempotencyKey: Type.String(),
  status: Type.String(),
  attempts: Type.Integer(),
  lastError: Nullable(Type.String()),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  sentAt: Nullable(Type.Integer()),
});

/** Owners and admins see their family's jobs and push deliveries (payloads stay out: they may hold family content). */
export function jobRoutes(deps: { scheduler: PersistentScheduler; db: Db }) {
  return async (app: FastifyInstance): Promise<void> => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();

    r.get(
      '/jobs',
      {
        config: { minRole: 'admin' },
        schema: {
          tags: ['jobs'],
          summary: "The family's scheduled jobs, newest first",
          querystring: Type.Object({
            status: Type.Optional(JobStatusSchema),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            cursor: Type.Optional(Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' })),
          }),
          response: { 200: Type.Object({ jobs: Type.Array(JobView), nextCursor: Nullable(Type.String()) }), ...errors(401, 403, 422) },
        },
      },
      async (request) => {
        const q = request.query;
        const page = deps.scheduler.list({
          familyId: familyIdOf(request),
          status: q.status as never,
          limit: q.limit ?? 50,
          cursor: q.cursor,
        });
        return {
          jobs: page.jobs.map(({ payload: _payload, leaseOwner: _o, leaseExpiresAt: _e, ...rest }) => rest),
          nextCursor: page.nextCursor,
        };
      },
    );

    r.get(
      '/deliveries',
      {
        config: { minRole: 'admin' },
        schema: {
          tags: ['jobs'],
          summary: 'Push deliveries (webhook, mail), newest first',
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
            before: Type.Optional(Type.Integer({ minimum: 1 })),
          }),
          response: { 200: Type.Object({ deliveries: Type.Array(DeliveryView) }), ...errors(401, 403, 422) },
        },
      },
      async (request) => ({ deliveries: listDeliveries(deps.db, familyIdOf(request), { limit: request.query.limit, before: request.query.before }) }),
    );
  };
}
