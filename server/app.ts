import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { IdentityContext } from './identity/context.js';
import { authenticateToken } from './identity/sessions.js';
import { frameworkError, installErrorHandlers } from './error-handler.js';
import { installAuth } from './auth.js';
import { installJsonBodyParser } from './json-body.js';
import { registerFamilyRoutes } from './tenancy.js';
import { strictBodyValidators } from './validation.js';
import { rateLimited } from './errors.js';
import { healthRoutes, type ReadinessProbe } from './routes/health.js';
import { authRoutes } from './routes/auth.js';
import { pairingRoutes } from './routes/pairing.js';
import { pairPageRoutes } from './routes/pair-page.js';
import { memberPasswordRoutes, ownPasswordRoutes } from './routes/passwords.js';
import { familyRoutes } from './routes/family.js';
import { familyDeviceRoutes } from './routes/family-devices.js';
import { familyInviteRoutes } from './routes/family-invites.js';
import type { RouteDeps } from './routes/route-deps.js';
import { setupRoutes } from './routes/setup.js';
import { webAppRoutes } from './routes/web-app.js';
import type { SetupGate } from './identity/setup.js';
import type { WebAsset } from './web-assets.js';
import { versionInfo } from './version-info.js';
import { finishDocument, transformRoute } from './openapi.js';
import { Type } from 'typebox';
import { metricsRoutes } from './routes/metrics.js';
import type { HearthMetrics } from '../metrics/index.js';

export interface AppDeps {
  config: Config;
  identity: IdentityContext;
  logger: Logger;
  ready: ReadinessProbe;
  /** Family-scoped route modules contributed by other capabilities (documents, media, ...). */
  familyRouteModules?: FastifyPluginAsync[];
  /** First-run setup link state; the web app's built files (null: API only). */
  setup: SetupGate;
  webAssets: WebAsset[] | null;
  /** Counts every response by route pattern and serves GET /metrics (token-guarded). */
  metrics?: HearthMetrics;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Keep a caller's request id when it is sane, so logs on both sides line up. Fastify's
 * genReqId, and the id of a /sync upgrade too (upgrades never reach fastify's router).
 */
export function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    trustProxy: deps.config.trustProxy,
    bodyLimit: 1024 * 1024,
    genReqId: requestId,
    // Coercion is what lets query strings carry integers; bodies are validated without it (validation.ts).
    ajv: { customOptions: { removeAdditional: 'all', coerceTypes: 'array', useDefaults: true, allErrors: false } },
    schemaController: { compilersFactory: { buildValidator: strictBodyValidators() } },
    frameworkErrors: (err, _request, reply: import('fastify').FastifyReply) => {
      const appError = frameworkError(err);
      void reply.status(appError.statusCode).send(appError.toBody());
    },
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // Every route, family-scoped or not: the authorization table test checks each has a row.
  const allRoutes: { method: string; url: string; bodySchema?: unknown }[] = [];
  app.decorate('allRoutes', allRoutes);
  app.addHook('onRoute', (route) => {
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      if (method !== 'HEAD') allRoutes.push({ method, url: route.url, bodySchema: route.schema?.body });
    }
  });
  const metrics = deps.metrics;
  if (metrics) {
    // routeOptions.url is the pattern (`/v1/families/:familyId/media/:mediaId`): bounded label values.
    app.addHook('onResponse', async (request, reply) => {
      metrics.httpRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode);
    });
  }
  installErrorHandlers(app);
  installJsonBodyParser(app);
  installAuth(app, (token) => authenticateToken(deps.identity, token));

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'hearth API',
        version: versionInfo().version,
        description: 'The family cloud. Errors are always {"error":{"code","message","details"}}.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
    transform: transformRoute(() => app.requirePrincipal) as never,
    transformObject: finishDocument as never,
  });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) => rateLimited(Math.max(1, Math.ceil(context.ttl / 1000))),
  });

  const routeDeps: RouteDeps = { identity: deps.identity, config: deps.config };
  await app.register(healthRoutes, { ready: deps.ready });
  await app.register(metricsRoutes, { metrics: metrics ?? null, token: deps.config.metricsToken, mode: deps.config.metricsListen ? 'family-port-off' : 'family-port' });
  await app.register(async (scope) => authRoutes(scope, routeDeps));
  await app.register(async (scope) => pairingRoutes(scope, routeDeps));
  // The web app serves its own /pair screen; without a built web app this page explains how to approve a code.
  if (!deps.webAssets?.some((a) => a.path === '/index.html')) await app.register(pairPageRoutes);
  await app.register(async (scope) => ownPasswordRoutes(scope, routeDeps));
  registerFamilyRoutes(app, [
    familyRoutes(routeDeps),
    familyDeviceRoutes(routeDeps),
    familyInviteRoutes(routeDeps),
    memberPasswordRoutes(routeDeps),
    ...(deps.familyRouteModules ?? []),
  ]);
  await app.register(async (scope) => setupRoutes(scope, { ...routeDeps, setup: deps.setup }));
  await app.register(webAppRoutes, { assets: deps.webAssets });
  app.get(
    '/v1/openapi.json',
    { schema: { tags: ['meta'], summary: 'This OpenAPI 3 document', response: { 200: Type.Object({}, { additionalProperties: true }) } } },
    async () => app.swagger(),
  );
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    allRoutes: { method: string; url: string; bodySchema?: unknown }[];
  }
}
