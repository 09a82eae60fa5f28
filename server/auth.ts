import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from './identity/sessions.js';
import { unauthorized } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export type Authenticate = (token: string) => Promise<Principal | null>;

export function bearerToken(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value ? /^Bearer\s+(\S+)$/i.exec(value) : null;
  return match ? match[1]! : null;
}

/** Adds `request.principal` for routes that carry an access token. */
export function installAuth(app: FastifyInstance, authenticate: Authenticate): void {
  app.decorateRequest('principal', null);
  app.decorate('requirePrincipal', async (request: FastifyRequest) => {
    const token = bearerToken(request.headers.authorization) ?? queryToken(request);
    const principal = token ? await authenticate(token) : null;
    if (!principal) throw unauthorized();
    request.principal = principal;
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    requirePrincipal(request: FastifyRequest): Promise<void>;
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** GET routes whose bytes browsers load with <img src>: the access token may ride in `?token=`. */
    acceptQueryToken?: boolean;
  }
}

/** Only on routes that opt in, only for reads: a token in a URL never authorises a change. */
function queryToken(request: FastifyRequest): string | null {
  if (!request.routeOptions.config?.acceptQueryToken || (request.method !== 'GET' && request.method !== 'HEAD')) return null;
  const value = (request.query as Record<string, unknown> | undefined)?.token;
  return typeof value === 'string' && value.length > 0 && value.length < 4096 ? value : null;
}

/** For handlers behind requirePrincipal: the principal is there. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}
