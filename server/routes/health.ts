import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';

export interface ReadinessProbe {
  /** Returns the reasons the server is not ready; empty when it is. */
  (): string[];
}

export async function healthRoutes(app: FastifyInstance, opts: { ready: ReadinessProbe }): Promise<void> {
  app.get('/health', { schema: { tags: ['ops'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({
    status: 'ok' as const,
  }));
  app.get(
    '/ready',
    {
      schema: {
        tags: ['ops'],
        response: { 200: Type.Object({ status: Type.String(), checks: Type.Array(Type.String()) }), 503: Type.Object({ status: Type.String(), checks: Type.Array(Type.String()) }) },
      },
    },
    async (_request, reply) => {
      const problems = opts.ready();
      if (problems.length) return reply.status(503).send({ status: 'not ready', checks: problems });
      return { status: 'ready', checks: [] };
    },
  );
}
