import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { Storage } from '../storage/database.js';
import { createSyncService, type SyncObserver, type SyncService } from '../sync/index.js';
import type { Config } from './config.js';
import type { IdentityContext, IdentityEvents } from './identity/context.js';
import { authenticateToken } from './identity/sessions.js';
import { familyExists } from './identity/families.js';
import { familyDocRoutes } from './routes/family-docs.js';

export interface SyncAttachment {
  service: SyncService;
  /** `reqId`: the upgrade request's id (as fastify's), logged on the connection's lines. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, reqId?: string): void;
  /** Identity changes the sync engine must apply to live sockets. */
  identityEvents: IdentityEvents;
  close(): Promise<void>;
}

export interface SyncAttachmentDeps {
  storage: Storage;
  logger: Logger;
  identity: IdentityContext;
  config: Config;
  familyRouteModules: FastifyPluginAsync[];
  observer?: SyncObserver;
}

/** Creates the sync engine with hearth's token check, and adds its HTTP routes. */
export function attachSync(deps: SyncAttachmentDeps): SyncAttachment {
  const service = createSyncService({
    storage: deps.storage,
    logger: deps.logger,
    limits: deps.config.sync,
    authenticate: async (_req, token) => (token ? authenticateToken(deps.identity, token) : null),
    familyExists: (familyId) => familyExists(deps.identity, familyId),
    observer: deps.observer,
  });
  deps.familyRouteModules.push(familyDocRoutes(service, deps.identity));
  return {
    service,
    handleUpgrade(req, socket, head, reqId) {
      if (req.url?.startsWith('/sync/') || req.url === '/sync') service.handleUpgrade(req, socket, head, reqId);
      else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    },
    identityEvents: {
      deviceRevoked: (id) => service.deviceRevoked(id),
      memberRemoved: (id) => service.memberRemoved(id),
      memberRoleChanged: (id, role) => service.memberRoleChanged(id, role),
    },
    close: () => service.close(),
  };
}
