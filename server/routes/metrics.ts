import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { HearthMetrics } from '../../metrics/index.js';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { errors } from '../schemas.js';

export interface MetricsRouteOptions {
  /** null: metrics are off (nothing configured to scrape them); the route answers 404. */
  metrics: HearthMetrics | null;
  token: string | undefined;
  /**
   * The separate metrics listener (HEARTH_METRICS_LISTEN): its address is the guard, so it
   * serves without a token unless one is set. On the family port `/metrics` is then 404.
   */
  mode: 'family-port' | 'family-port-off' | 'metrics-listener';
}

/**
 * GET /metrics outside the family routes. On the family port it needs HEARTH_METRICS_TOKEN
 * and does not exist (404) without one, or when a separate metrics listener is configured:
 * the family's devices never see the box's internals.
 */
export async function metricsRoutes(app: FastifyInstance, opts: MetricsRouteOptions): Promise<void> {
  const want = opts.token ? Buffer.from(`Bearer ${opts.token}`) : null;
  const served = opts.metrics;
  const off = !served || opts.mode === 'family-port-off' || (opts.mode === 'family-port' && !want);
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
    if (off || !served) throw new AppError('NOT_FOUND', 'metrics are not served here (set HEARTH_METRICS_TOKEN, or scrape the HEARTH_METRICS_LISTEN address)');
    const got = Buffer.from(String(request.headers.authorization ?? ''));
    if (want && (got.length !== want.length || !timingSafeEqual(got, want))) throw new AppError('UNAUTHORIZED', 'metrics need the metrics bearer token');
    return reply.header('content-type', served.contentType).send(await served.scrape());
    },
  );
}
