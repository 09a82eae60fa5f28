import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { Actor, IdentityContext } from '../identity/context.js';

/** What route modules get from the composition root. */
export interface RouteDeps {
  identity: IdentityContext;
  config: Config;
}

/** The audit trail's view of who is calling: the principal if any, plus IP and request id. */
export function actorOf(request: FastifyRequest): Actor {
  const p = request.principal;
  return {
    familyId: p?.familyId,
    memberId: p?.memberId,
    deviceId: p?.deviceId,
    // Never undefined here: an undefined role means the local CLI administrator.
    role: p?.role ?? 'guest',
    ip: request.ip,
    requestId: String(request.id),
  };
}
