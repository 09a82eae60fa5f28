import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { forbidden } from './errors.js';
import { principalOf } from './auth.js';
import { atLeast } from './identity/roles.js';
import type { Role } from '../storage/schema.js';

export const FAMILY_PREFIX = '/v1/families/:familyId';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Lowest role that may call this family-scoped route. Writes default to child: guests are read-only. */
    minRole?: Role;
  }
}

export const FamilyParams = Type.Object({ familyId: Type.String({ minLength: 1, maxLength: 64 }) });

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface FamilyRoute {
  method: string;
  url: string;
  /** The route's body JSON schema, if any: the table-driven tests build good and bad bodies from it. */
  bodySchema?: unknown;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every family-scoped route, so the cross-family test covers new routes automatically. */
    familyRoutes: FamilyRoute[];
  }
}

/**
 * The only way to add a /v1/families/:familyId route. The hooks here run before any
 * handler: a caller from another family is refused (403, whether or not the family
 * exists, so ids cannot be probed), guests cannot write, and `minRole` is enforced.
 * Handlers then use `familyIdOf(request)`, which is the caller's own family.
 */
export function registerFamilyRoutes(app: FastifyInstance, routes: FastifyPluginAsync[]): void {
  const list: FamilyRoute[] = [];
  app.decorate('familyRoutes', list);
  app.register(
    async (scope) => {
      scope.addHook('onRoute', (route) => {
        const methods = Array.isArray(route.method) ? route.method : [route.method];
        for (const method of methods) if (method !== 'HEAD') list.push({ method, url: route.url, bodySchema: route.schema?.body });
      });
      scope.addHook('onRequest', async (request) => {
        await app.requirePrincipal(request);
        const principal = principalOf(request);
        const { familyId } = request.params as { familyId?: string };
        if (familyId !== principal.familyId) throw forbidden('this token belongs to another family');
        const minRole = request.routeOptions.config.minRole ?? (READ_METHODS.has(request.method) ? 'guest' : 'child');
        if (!atLeast(principal.role, minRole)) throw forbidden(`requires the ${minRole} role or higher`);
      });
      for (const route of routes) await scope.register(route);
    },
    { prefix: FAMILY_PREFIX },
  );
}

export function familyIdOf(request: FastifyRequest): string {
  return principalOf(request).familyId;
}
