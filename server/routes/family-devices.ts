import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../auth.js';
import { familyIdOf } from '../tenancy.js';
import { listDevices, revokeDevice } from '../identity/devices.js';
import { createPairingToken } from '../identity/pairing.js';
import { atLeast } from '../identity/roles.js';
import { Device, Id, errors } from '../schemas.js';
import { actorOf, type RouteDeps } from './route-deps.js';

/** Devices of the family: admins see and revoke all, others their own. */
export function familyDeviceRoutes(deps: RouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    const ctx = deps.identity;

    r.get('/devices', { schema: { tags: ['devices'], response: { 200: Type.Array(Device), ...errors(401, 403) } } }, async (request) => {
      const p = principalOf(request);
      return listDevices(ctx, familyIdOf(request), atLeast(p.role, 'admin') ? undefined : p.memberId);
    });

    r.delete(
      '/devices/:deviceId',
      {
        // Anyone may revoke their own device (even a guest who lost a phone); the domain checks ownership.
        config: { minRole: 'guest' },
        schema: {
          tags: ['devices'],
          summary: 'Revoke a device; its live connections close within a second',
          params: Type.Object({ familyId: Type.String(), deviceId: Id }),
          response: { 200: Device, ...errors(401, 403, 404) },
        },
      },
      async (request) => revokeDevice(ctx, familyIdOf(request), request.params.deviceId, actorOf(request)),
    );

    r.post(
      '/members/:memberId/pairing-tokens',
      {
        // Members pair their own devices by QR; who may pair for whom is authz/'s rule.
        config: { minRole: 'child' },
        schema: {
          tags: ['devices'],
          summary: 'A one-time token for a QR code that pairs a device to this member',
          params: Type.Object({ familyId: Type.String(), memberId: Id }),
          response: { 201: Type.Object({ token: Type.String(), expiresAt: Type.Integer() }), ...errors(401, 403, 404) },
        },
      },
      async (request, reply) =>
        reply.status(201).send(createPairingToken(ctx, familyIdOf(request), request.params.memberId, actorOf(request))),
    );
  };
}
