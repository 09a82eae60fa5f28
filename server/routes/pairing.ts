import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../auth.js';
import { decidePairing, inspectPairing, pollPairing, redeemPairingToken, startPairing } from '../identity/pairing.js';
import { DeviceName, Id, SessionTokens, errors } from '../schemas.js';
import { actorOf, type RouteDeps } from './route-deps.js';

const UserCode = Type.String({ minLength: 8, maxLength: 16 });

/** The address a person types on the approving device; from config, else from how this request reached us. */
function baseUrl(request: FastifyRequest, configured?: string): string {
  if (configured) return configured.replace(/\/$/, '');
  return `${request.protocol}://${request.host}`;
}

export async function pairingRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const ctx = deps.identity;
  const strict = { max: deps.config.loginAttemptsPerMinute, timeWindow: 60_000 };

  r.post(
    '/v1/pair/start',
    {
      config: { rateLimit: strict },
      schema: {
        tags: ['pairing'],
        summary: 'A new device asks to be paired (RFC 8628 device authorization)',
        body: Type.Object({ deviceName: DeviceName }),
        response: {
          200: Type.Object({
            deviceCode: Type.String(),
            userCode: Type.String(),
            verificationUri: Type.String(),
            expiresIn: Type.Integer(),
            interval: Type.Integer(),
          }),
          ...errors(422, 429),
        },
      },
    },
    async (request) => startPairing(ctx, request.body.deviceName, `${baseUrl(request, deps.config.publicUrl)}/pair`),
  );

  r.post(
    '/v1/pair/inspect',
    {
      onRequest: app.requirePrincipal,
      config: { rateLimit: strict },
      schema: {
        tags: ['pairing'],
        summary: 'Show which device a user code belongs to, before approving it',
        body: Type.Object({ userCode: UserCode }),
        response: { 200: Type.Object({ deviceName: Type.String(), expiresIn: Type.Integer() }), ...errors(401, 404, 429) },
      },
    },
    async (request) => inspectPairing(ctx, request.body.userCode),
  );

  r.post(
    '/v1/pair/approve',
    {
      onRequest: app.requirePrincipal,
      config: { rateLimit: strict },
      schema: {
        tags: ['pairing'],
        summary: 'Approve or deny a pairing code; the device joins the approver (or, for admins, the named member)',
        body: Type.Object({
          userCode: UserCode,
          approve: Type.Optional(Type.Boolean({ default: true })),
          memberId: Type.Optional(Id),
        }),
        response: {
          200: Type.Object({ deviceName: Type.String(), memberId: Type.String(), status: Type.String() }),
          ...errors(401, 403, 404, 429),
        },
      },
    },
    async (request) => {
      const p = principalOf(request);
      return decidePairing(
        ctx,
        p.familyId,
        { userCode: request.body.userCode, approve: request.body.approve ?? true, memberId: request.body.memberId },
        actorOf(request),
      );
    },
  );

  r.post(
    '/v1/pair/token',
    {
      config: { rateLimit: { max: 120, timeWindow: 60_000 } },
      schema: {
        tags: ['pairing'],
        summary: 'The new device polls for its tokens (authorization_pending, slow_down, expired_token, access_denied)',
        body: Type.Object({ deviceCode: Type.String({ minLength: 1, maxLength: 256 }) }),
        response: { 200: SessionTokens, ...errors(400, 422, 429) },
      },
    },
    async (request) => pollPairing(ctx, request.body.deviceCode, actorOf(request)),
  );

  r.post(
    '/v1/pair/redeem',
    {
      config: { rateLimit: strict },
      schema: {
        tags: ['pairing'],
        summary: 'Redeem a one-time pairing token from a QR code',
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 256 }), deviceName: DeviceName }),
        response: { 200: SessionTokens, ...errors(401, 422, 429) },
      },
    },
    async (request) => redeemPairingToken(ctx, request.body.token, request.body.deviceName, actorOf(request)),
  );
}
