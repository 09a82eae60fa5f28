import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Storage } from '../storage/database.js';
import { DocumentStore } from '../storage/document-store.js';
import { resolveAccess } from './access.js';
import { extractToken, rejectUpgrade } from './admission.js';
import { Close } from './close-codes.js';
import { Connection } from './connection.js';
import { ConnectionIndex } from './connection-index.js';
import { DocEngine } from './doc-engine.js';
import { parseSyncPath } from './doc-name.js';
import { resolveSyncLimits, type SyncLimits } from './limits.js';
import { OverrideCache } from './override-cache.js';
import { encodePermissionDenied } from './protocol.js';
import { createServerDocs, type ServerDocs } from './server-docs.js';
import type { DocAccess, Principal, Role, SyncObserver } from './types.js';

export type { Principal } from './types.js';

export interface SyncDeps {
  storage: Storage;
  logger: Logger;
  /** Missing keys take DEFAULT_SYNC_LIMITS. */
  limits?: Partial<SyncLimits>;
  /** Verifies the token (JWT, device not revoked, current role). null → 401. */
  authenticate(req: IncomingMessage, token: string | null): Promise<Principal | null>;
  /** false → 404. */
  familyExists(familyId: string): boolean;
  /** Hot-path counters (metrics/ implements it). */
  observer?: SyncObserver;
}

export interface SyncService {
  /**
   * For the HTTP server's 'upgrade' event on URLs starting with /sync/. `reqId` (the HTTP
   * layer's request id) goes on every log line of the upgrade and of its connection, and
   * back to the client as `x-request-id` on the 101.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, reqId?: string): void;
  accessFor(principal: Principal, docName: string): DocAccess;
  deviceRevoked(deviceId: string): void;
  memberRemoved(memberId: string): void;
  memberRoleChanged(memberId: string, role: Role): void;
  readonly docs: ServerDocs;
  /** Open sockets and loaded documents, for metrics and tests. */
  stats(): { connections: number; loadedDocuments: number };
  /** Commits pending writes, closes sockets with 1001, unloads documents. Storage stays open. */
  close(): Promise<void>;
}

export function createSyncService(deps: SyncDeps): SyncService {
  const limits = resolveSyncLimits(deps.limits);
  const logger = deps.logger.child({ component: 'sync' });
  const store = new DocumentStore(deps.storage);
  const overrides = new OverrideCache(store);
  const index = new ConnectionIndex();
  const engine = new DocEngine(store, limits, logger, {
    observer: deps.observer,
    commitFailed(doc) {
      for (const peer of [...doc.conns]) peer.close(Close.INTERNAL, 'server could not store the update, retry');
    },
  });
  // clientTracking off: the index already tracks sockets; perMessageDeflate off: Yjs
  // updates are small and compressing each frame costs more CPU than it saves on a LAN,
  // and Connection writes pre-framed broadcasts to the socket, which needs ws to have
  // no compression queue of its own.
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
  let closing = false;
  const reqIds = new WeakMap<IncomingMessage, string>();
  wss.on('headers', (headers: string[], req: IncomingMessage) => {
    const id = reqIds.get(req);
    if (id) headers.push(`x-request-id: ${id}`);
  });

  const accessFor = (principal: Principal, docName: string): DocAccess =>
    resolveAccess(principal, docName, overrides.forDoc(principal.familyId, docName));

  /** Re-applies access rules to a live connection: close, downgrade or upgrade in place. */
  const reevaluate = (conn: Connection): void => {
    if (conn.closed) return;
    const access = accessFor(conn.principal, conn.doc.name);
    if (access === 'none') return conn.close(Close.FORBIDDEN, 'access to this document was withdrawn');
    if (access === conn.access) return;
    const downgraded = conn.access === 'rw' && access === 'ro';
    conn.access = access;
    if (downgraded) conn.send(encodePermissionDenied('read-only: your changes to this document are no longer accepted'));
  };

  const heartbeat = setInterval(() => {
    for (const conn of index.all) {
      if (!conn.alive) {
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      try {
        conn.ws.ping();
      } catch {
        conn.ws.terminate();
      }
    }
  }, limits.heartbeatMs);
  heartbeat.unref();

  const admit = (ws: WebSocket, socket: Duplex, principal: Principal, familyId: string, docName: string, access: DocAccess, log: Logger): void => {
    // Counted here, synchronously with the index insert below, so parallel upgrades of
    // one device cannot all pass the check.
    if (index.deviceCount(principal.deviceId) >= limits.maxConnectionsPerDevice) {
      ws.close(Close.TRY_AGAIN_LATER, 'too many connections for this device');
      return;
    }
    if (index.familyConnections(familyId) >= limits.maxConnectionsPerFamily) {
      ws.close(Close.TRY_AGAIN_LATER, 'too many connections for this family');
      return;
    }
    let doc;
    try {
      doc = engine.get(familyId, docName);
    } catch (err) {
      log.error({ err, familyId, doc: docName }, 'could not load document');
      ws.close(Close.INTERNAL, 'could not load document, retry');
      return;
    }
    const conn = new Connection(ws, socket, principal, doc, access, engine, limits, log, (c) => index.remove(c));
    index.add(conn);
    conn.start();
  };

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, reqId?: string): void => {
    // Until ws owns the socket, a reset from the client must not become an uncaught error.
    socket.on('error', () => socket.destroy());
    const log = reqId ? logger.child({ reqId }) : logger;
    if (reqId) reqIds.set(req, reqId);
    // Refusals are logged with their reason and the path only: the query carries the token.
    const refuse = (status: number, reason: string): void => {
      log.info({ status, reason, path: (req.url ?? '').split('?')[0], ip: req.socket.remoteAddress }, 'sync upgrade refused');
      rejectUpgrade(socket, status, reason);
    };
    if (closing) return refuse(503, 'server is shutting down');
    const key = req.headers['sec-websocket-key'];
    if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket' || typeof key !== 'string' || !/^[A-Za-z0-9+/]{22}==$/.test(key)) {
      return refuse(400, 'expected a WebSocket upgrade (Upgrade: websocket with a Sec-WebSocket-Key)');
    }
    const target = parseSyncPath(req.url);
    if (!target) return refuse(400, 'expected /sync/<familyId>/<docName> with a valid document name');
    const token = extractToken(req);
    void (async () => {
      let principal: Principal | null;
      try {
        principal = await deps.authenticate(req, token);
      } catch (err) {
        log.error({ err }, 'authenticate failed');
        return refuse(500, 'internal error');
      }
      if (socket.destroyed) return;
      if (!principal) return refuse(401, 'missing, invalid or expired token');
      // Another family's id answers like an unknown one (403), as on HTTP: ids cannot be probed.
      if (principal.familyId !== target.familyId) return refuse(403, 'not a member of this family');
      if (!deps.familyExists(target.familyId)) return refuse(403, 'not a member of this family');
      const access = accessFor(principal, target.docName);
      if (access === 'none') return refuse(403, 'no access to this document');
      if (closing) return refuse(503, 'server is shutting down');
      const p = principal;
      wss.handleUpgrade(req, socket, head, (ws) => admit(ws, socket, p, target.familyId, target.docName, access, log));
    })().catch((err: unknown) => {
      log.error({ err }, 'sync upgrade failed');
      if (!socket.destroyed) socket.destroy();
    });
  };

  const docs = createServerDocs({ engine, store, overrides, isClosing: () => closing, onAccessChanged: (familyId, docName) => {
    for (const conn of [...index.all]) {
      if (conn.principal.familyId === familyId && conn.doc.name === docName) reevaluate(conn);
    }
  }, onRemoved: (doc) => {
    for (const peer of [...doc.conns]) peer.close(Close.GONE, 'document deleted');
  } });

  return {
    handleUpgrade,
    accessFor,
    deviceRevoked(deviceId) {
      for (const conn of index.ofDevice(deviceId)) conn.close(Close.UNAUTHORIZED, 'device revoked');
    },
    memberRemoved(memberId) {
      for (const conn of index.ofMember(memberId)) conn.close(Close.UNAUTHORIZED, 'member removed from family');
    },
    memberRoleChanged(memberId, role) {
      for (const conn of index.ofMember(memberId)) {
        conn.principal = { ...conn.principal, role };
        reevaluate(conn);
      }
    },
    docs,
    stats: () => ({ connections: index.all.size, loadedDocuments: engine.loadedCount }),
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(heartbeat);
      engine.flush();
      const sockets = [...index.all].map((c) => c.ws);
      const closed = Promise.all(
        sockets.map((ws) => new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve())))),
      );
      for (const conn of [...index.all]) conn.close(Close.GOING_AWAY, 'server shutting down');
      engine.close();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 1500).unref())]);
      wss.close();
    },
  };
}
