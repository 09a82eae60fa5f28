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
    const token = bearerToken(request.headers.authorization);
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

/** For handlers behind requirePrincipal: the principal is there. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}
