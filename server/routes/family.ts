import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { familyIdOf } from '../tenancy.js';
import { getFamily, renameFamily } from '../identity/families.js';
import { addMember, changeRole, getMember, listMembers, removeMember } from '../identity/members.js';
import { Family, Id, Member, Name, RoleSchema, errors } from '../schemas.js';
import { actorOf, type RouteDeps } from './route-deps.js';

const MemberParams = Type.Object({ familyId: Type.String(), memberId: Id });

/** The family itself and its members. Mounted under /v1/families/:familyId by the tenancy layer. */
export function familyRoutes(deps: RouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    const ctx = deps.identity;

    r.get('/', { schema: { tags: ['family'], response: { 200: Family, ...errors(401, 403) } } }, async (request) =>
      getFamily(ctx, familyIdOf(request)),
    );

    r.patch(
      '/',
      {
        config: { minRole: 'admin' },
        schema: { tags: ['family'], body: Type.Object({ name: Name }), response: { 200: Family, ...errors(401, 403, 422) } },
      },
      async (request) => renameFamily(ctx, familyIdOf(request), request.body.name, actorOf(request)),
    );

    r.get('/members', { schema: { tags: ['family'], response: { 200: Type.Array(Member), ...errors(401, 403) } } }, async (request) =>
      listMembers(ctx, familyIdOf(request)),
    );

    r.post(
      '/members',
      {
        config: { minRole: 'admin' },
        schema: {
          tags: ['family'],
          summary: 'Add a member; without a password the member is device-only (pair a device for them)',
          body: Type.Object({
            username: Type.Optional(Type.String({ minLength: 2, maxLength: 32 })),
            displayName: Type.Optional(Name),
            role: RoleSchema,
            password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
          }),
          response: { 201: Member, ...errors(401, 403, 409, 422) },
        },
      },
      async (request, reply) => {
        const member = await addMember(ctx, familyIdOf(request), request.body, actorOf(request));
        return reply.status(201).send(member);
      },
    );

    r.get('/members/:memberId', { schema: { tags: ['family'], params: MemberParams, response: { 200: Member, ...errors(401, 403, 404) } } }, async (request) =>
      getMember(ctx, familyIdOf(request), request.params.memberId),
    );

    r.patch(
      '/members/:memberId',
      {
        config: { minRole: 'admin' },
        schema: {
          tags: ['family'],
          summary: 'Change a member’s role (takes effect on live connections within a second)',
          params: MemberParams,
          body: Type.Object({ role: RoleSchema }),
          response: { 200: Member, ...errors(401, 403, 404, 409, 422) },
        },
      },
      async (request) => changeRole(ctx, familyIdOf(request), request.params.memberId, request.body.role, actorOf(request)),
    );

    r.delete(
      '/members/:memberId',
      {
        config: { minRole: 'admin' },
        schema: { tags: ['family'], params: MemberParams, response: { 204: Type.Null(), ...errors(401, 403, 404, 409) } },
      },
      async (request, reply) => {
        removeMember(ctx, familyIdOf(request), request.params.memberId, actorOf(request));
        return reply.status(204).send(null);
      },
    );
  };
}
