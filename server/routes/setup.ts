import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { SetupGate } from '../identity/setup.js';
import { listFamilies } from '../identity/families.js';
import { DeviceName, Name, SessionTokens, errors } from '../schemas.js';
import { actorOf, type RouteDeps } from './route-deps.js';

/**
 * First run (POST /v1/setup) and what a signed-out web app needs to know before it can
 * offer a form (GET /v1/setup): whether setup is pending, and the family id a password
 * login needs when the install has exactly one family (the usual home install).
 */
export async function setupRoutes(app: FastifyInstance, deps: RouteDeps & { setup: SetupGate }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/v1/setup',
    {
      schema: {
        tags: ['setup'],
        summary: 'Whether this server still needs its first family; the family id for sign-in on a one-family install',
        security: [],
        response: {
          200: Type.Object({
            setupRequired: Type.Boolean(),
            setupLinkLive: Type.Boolean(),
            familyId: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async () => {
      const families = listFamilies(deps.identity);
      return {
        setupRequired: families.length === 0,
        setupLinkLive: deps.setup.live(),
        familyId: families.length === 1 ? families[0]!.id : null,
      };
    },
  );

  r.post(
    '/v1/setup',
    {
      config: { rateLimit: { max: deps.config.loginAttemptsPerMinute, timeWindow: 60_000 } },
      schema: {
        tags: ['setup'],
        summary: 'Create the first family and its owner with the one-time link `hearth serve` printed',
        security: [],
        body: Type.Object({
          token: Type.String({ minLength: 1, maxLength: 256 }),
          familyName: Name,
          username: Type.String({ minLength: 2, maxLength: 32 }),
          password: Type.String({ minLength: 1, maxLength: 1024 }),
          deviceName: DeviceName,
        }),
        response: { 200: SessionTokens, ...errors(401, 409, 422, 429) },
      },
    },
    async (request) => deps.setup.complete(request.body, actorOf(request)),
  );
}
