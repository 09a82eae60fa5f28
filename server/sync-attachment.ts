import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { Storage } from '../storage/database.js';
import type { Config } from './config.js';
import type { IdentityContext, IdentityEvents } from './identity/context.js';
import { NO_EVENTS } from './identity/context.js';

export interface SyncAttachment {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  identityEvents: IdentityEvents;
  close(): Promise<void>;
}

export interface SyncAttachmentDeps {
  storage: Storage;
  logger: Logger;
  identity: IdentityContext;
  config: Config;
  familyRouteModules: FastifyPluginAsync[];
}

/** Placeholder until the sync engine lands: refuses upgrades cleanly. */
export function attachSync(_deps: SyncAttachmentDeps): SyncAttachment {
  return {
    handleUpgrade(_req, socket) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    },
    identityEvents: NO_EVENTS,
    async close() {},
  };
}
