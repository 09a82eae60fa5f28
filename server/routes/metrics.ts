import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { HearthMetrics } from '../../metrics/index.js';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { errors } from '../schemas.js';

/**
 * GET /metrics outside the family routes. Without HEARTH_METRICS_TOKEN it does not
 * exist (404): the family's devices never see the box's internals.
 */
export async function metricsRoutes(app: FastifyInstance, opts: { metrics: HearthMetrics; token: string | undefined }): Promise<void> {
  const want = opts.token ? Buffer.from(`Bearer ${opts.token}`) : null;
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['metrics'],
        summary: 'Prometheus text format; `Authorization: Bearer <HEARTH_METRICS_TOKEN>` (not a member token); 404 when no token is set',
        response: {
          200: { description: 'Prometheus exposition format 0.0.4', content: { 'text/plain': { schema: Type.String() } } },
          ...errors(401, 404),
        },
      },
    },
    async (request, reply) => {
    if (!want) throw new AppError('NOT_FOUND', 'metrics are not enabled (set HEARTH_METRICS_TOKEN)');
    const got = Buffer.from(String(request.headers.authorization ?? ''));
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw new AppError('UNAUTHORIZED', 'metrics need the metrics bearer token');
    return reply.header('content-type', opts.metrics.contentType).send(await opts.metrics.scrape());
    },
  );
}
