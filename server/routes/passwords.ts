import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../auth.js';
import { familyIdOf } from '../tenancy.js';
import { changeOwnPassword, resetPassword } from '../identity/password-change.js';
import { Id, errors } from '../schemas.js';
import { actorOf, type RouteDeps } from './route-deps.js';

const Password = Type.String({ minLength: 1, maxLength: 1024 });
const Result = Type.Object({ memberId: Type.String(), revokedDevices: Type.Integer() });

/** POST /v1/me/password: change one's own password with the old one. */
export async function ownPasswordRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.post(
    '/v1/me/password',
    {
      onRequest: app.requirePrincipal,
      config: { rateLimit: { max: deps.config.loginAttemptsPerMinute, timeWindow: 60_000 } },
      schema: {
        tags: ['auth'],
        summary: 'Change your password (the old one is required); optionally sign out your other devices',
        body: Type.Object({ oldPassword: Password, newPassword: Password, revokeOtherSessions: Type.Optional(Type.Boolean()) }),
        response: { 200: Result, ...errors(401, 403, 422, 429) },
      },
    },
    async (request) => {
      const p = principalOf(request);
      return changeOwnPassword(deps.identity, p.familyId, p.memberId, request.body, actorOf(request));
    },
  );
}

/** PUT /v1/families/:f/members/:memberId/password: an owner or admin resets a member's password. */
export function memberPasswordRoutes(deps: RouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    r.put(
      '/members/:memberId/password',
      {
        config: { minRole: 'admin' },
        schema: {
          tags: ['family'],
          summary: 'Reset a member’s password (owners and admins, for members below them); optionally sign out their devices',
          params: Type.Object({ familyId: Type.String(), memberId: Id }),
          body: Type.Object({ password: Password, revokeSessions: Type.Optional(Type.Boolean()) }),
          response: { 200: Result, ...errors(401, 403, 404, 422) },
        },
      },
      async (request) => resetPassword(deps.identity, familyIdOf(request), request.params.memberId, request.body, actorOf(request)),
    );
  };
}
