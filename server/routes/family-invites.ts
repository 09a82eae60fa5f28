import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { familyIdOf } from '../tenancy.js';
import { createInvite, listInvites, revokeInvite } from '../identity/invites.js';
import { Id, Invite, InviteRoleSchema, Name, errors } from '../schemas.js';
import { actorOf, type RouteDeps } from './route-deps.js';

export function familyInviteRoutes(deps: RouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    const ctx = deps.identity;

    r.get('/invites', { config: { minRole: 'admin' }, schema: { tags: ['invites'], response: { 200: Type.Array(Invite), ...errors(401, 403) } } }, async (request) =>
      listInvites(ctx, familyIdOf(request)),
    );

    r.post(
      '/invites',
      {
        config: { minRole: 'admin' },
        schema: {
          tags: ['invites'],
          body: Type.Object({
            role: InviteRoleSchema,
            displayName: Type.Optional(Name),
            ttlHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 * 30, default: 72 })),
          }),
          response: { 201: Type.Intersect([Invite, Type.Object({ code: Type.String() })]), ...errors(401, 403, 422) },
        },
      },
      async (request, reply) => {
        const invite = createInvite(
          ctx,
          familyIdOf(request),
          { role: request.body.role, displayName: request.body.displayName, ttlHours: request.body.ttlHours ?? 72 },
          actorOf(request),
        );
        return reply.status(201).send(invite);
      },
    );

    r.delete(
      '/invites/:inviteId',
      {
        config: { minRole: 'admin' },
        schema: { tags: ['invites'], params: Type.Object({ familyId: Type.String(), inviteId: Id }), response: { 204: Type.Null(), ...errors(401, 403, 404) } },
      },
      async (request, reply) => {
        revokeInvite(ctx, familyIdOf(request), request.params.inviteId, actorOf(request));
        return reply.status(204).send(null);
      },
    );
  };
}
