import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { principalOf } from '../auth.js';
import type { IdentityContext } from '../identity/context.js';
import { login } from '../identity/login.js';
import { refreshSession } from '../identity/sessions.js';
import { listDevices, revokeDevice } from '../identity/devices.js';
import { getMember } from '../identity/members.js';
import { FailedAttemptLimiter } from '../identity/attempt-limiter.js';
import { acceptInvite } from '../identity/invites.js';
import { Device, DeviceName, Id, Member, SessionTokens, errors, Name } from '../schemas.js';
import { actorOf, type RouteDeps } from './route-deps.js';

export async function authRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const ctx: IdentityContext = deps.identity;
  const perAccount = new FailedAttemptLimiter(5, 15 * 60_000);
  const ipLimit = { max: deps.config.loginAttemptsPerMinute, timeWindow: 60_000 };

  r.post(
    '/v1/auth/login',
    {
      config: { rateLimit: ipLimit },
      schema: {
        tags: ['auth'],
        summary: 'Sign in with a password; creates a device',
        body: Type.Object({
          familyId: Id,
          username: Type.String({ minLength: 1, maxLength: 64 }),
          password: Type.String({ minLength: 1, maxLength: 1024 }),
          deviceName: DeviceName,
        }),
        response: { 200: SessionTokens, ...errors(401, 422, 429) },
      },
    },
    async (request) => {
      const key = `${request.body.familyId}/${request.body.username.toLowerCase()}`;
      perAccount.assertAllowed(key);
      try {
        const tokens = await login(ctx, request.body, actorOf(request));
        perAccount.reset(key);
        return tokens;
      } catch (err) {
        if (err instanceof AppError && err.statusCode === 401) perAccount.recordFailure(key);
        throw err;
      }
    },
  );

  r.post(
    '/v1/auth/refresh',
    {
      config: { rateLimit: { max: 60, timeWindow: 60_000 } },
      schema: {
        tags: ['auth'],
        summary: 'Trade a refresh token for new tokens (the old one stops working)',
        body: Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 512 }) }),
        response: { 200: SessionTokens, ...errors(401, 422, 429) },
      },
    },
    async (request) => refreshSession(ctx, request.body.refreshToken, actorOf(request)),
  );

  r.post(
    '/v1/auth/logout',
    {
      onRequest: app.requirePrincipal,
      schema: { tags: ['auth'], summary: 'Sign this device out (revokes it)', response: { 204: Type.Null(), ...errors(401) } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      revokeDevice(ctx, p.familyId, p.deviceId, actorOf(request));
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/v1/me',
    {
      onRequest: app.requirePrincipal,
      schema: {
        tags: ['auth'],
        response: { 200: Type.Object({ member: Member, deviceId: Type.String(), familyId: Type.String() }), ...errors(401) },
      },
    },
    async (request) => {
      const p = principalOf(request);
      return { member: getMember(ctx, p.familyId, p.memberId), deviceId: p.deviceId, familyId: p.familyId };
    },
  );

  r.get(
    '/v1/me/devices',
    { onRequest: app.requirePrincipal, schema: { tags: ['auth'], response: { 200: Type.Array(Device), ...errors(401) } } },
    async (request) => {
      const p = principalOf(request);
      return listDevices(ctx, p.familyId, p.memberId);
    },
  );

  r.delete(
    '/v1/me/devices/:deviceId',
    {
      onRequest: app.requirePrincipal,
      schema: { tags: ['auth'], params: Type.Object({ deviceId: Id }), response: { 200: Device, ...errors(401, 403, 404) } },
    },
    async (request) => {
      const p = principalOf(request);
      const devices = listDevices(ctx, p.familyId, p.memberId);
      if (!devices.some((d) => d.id === request.params.deviceId)) throw new AppError('NOT_FOUND', 'device not found');
      return revokeDevice(ctx, p.familyId, request.params.deviceId, actorOf(request));
    },
  );

  r.post(
    '/v1/invites/accept',
    {
      config: { rateLimit: ipLimit },
      schema: {
        tags: ['auth'],
        summary: 'Join a family with an invite code; creates the member and a device',
        body: Type.Object({
          code: Type.String({ minLength: 1, maxLength: 256 }),
          username: Type.String({ minLength: 2, maxLength: 32 }),
          displayName: Type.Optional(Name),
          password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
          deviceName: DeviceName,
        }),
        response: { 200: SessionTokens, ...errors(401, 409, 422, 429) },
      },
    },
    async (request) => acceptInvite(ctx, request.body, actorOf(request)),
  );
}
