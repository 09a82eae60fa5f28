import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { HearthMetrics } from '../metrics/index.js';
import { installErrorHandlers } from './error-handler.js';
import { metricsRoutes } from './routes/metrics.js';

/** `127.0.0.1:9470` or `[::1]:9470` as host and port. */
export function parseListen(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(i + 1));
  if (!host || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad metrics listen address ${address}`);
  return { host, port };
}

/** A listener of its own for Prometheus (HEARTH_METRICS_LISTEN): nothing else is served on it. */
export async function startMetricsListener(address: string, metrics: HearthMetrics, token: string | undefined, logger: Logger): Promise<{ app: FastifyInstance; url: string }> {
  const { host, port } = parseListen(address);
  const app = Fastify({ loggerInstance: logger.child({ component: 'metrics' }) as FastifyBaseLogger });
  installErrorHandlers(app);
  await app.register(metricsRoutes, { metrics, token, mode: 'metrics-listener' });
  await app.listen({ host, port });
  const bound = app.server.address();
  const shown = host.includes(':') ? `[${host}]` : host;
  return { app, url: `http://${shown}:${typeof bound === 'object' && bound ? bound.port : port}` };
}
