/**
 * Test harness for the sync engine until (and independently of) the full server:
 * a plain node http server whose 'upgrade' goes to the sync service, a real temp
 * SQLite database, and a fake authenticate() that maps fixed tokens to principals.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { openStorage, type Storage } from '../../storage/database.js';
import { createSyncService, type SyncService, type Principal } from '../../sync/service.js';
import type { SyncLimits } from '../../sync/limits.js';

export const FAMILY = 'fam1';
export const OTHER_FAMILY = 'fam2';

export const PRINCIPALS: Record<string, Principal> = {
  'tok-alice': { familyId: FAMILY, memberId: 'alice', deviceId: 'dev-alice', role: 'adult' },
  'tok-alice2': { familyId: FAMILY, memberId: 'alice', deviceId: 'dev-alice2', role: 'adult' },
  'tok-bob': { familyId: FAMILY, memberId: 'bob', deviceId: 'dev-bob', role: 'adult' },
  'tok-carol': { familyId: FAMILY, memberId: 'carol', deviceId: 'dev-carol', role: 'child' },
  'tok-gary': { familyId: FAMILY, memberId: 'gary', deviceId: 'dev-gary', role: 'guest' },
  'tok-olga': { familyId: FAMILY, memberId: 'olga', deviceId: 'dev-olga', role: 'owner' },
  'tok-eve': { familyId: OTHER_FAMILY, memberId: 'eve', deviceId: 'dev-eve', role: 'owner' },
};

export interface Harness {
  dir: string;
  dbFile: string;
  port: number;
  serverUrl: string;
  storage: Storage;
  service: SyncService;
  /** Tokens refused from now on (like a revoked device). */
  revoked: Set<string>;
  /** Stops the service and HTTP server, then starts both again on the same port and database. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  limits?: Partial<SyncLimits>;
  logLevel?: string;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-sync-'));
  const dbFile = join(dir, 'hearth.db');
  const revoked = new Set<string>();
  const logger = pino({ level: opts.logLevel ?? process.env.HEARTH_TEST_LOG ?? 'silent' });

  let storage = openStorage(dbFile);
  const now = Date.now();
  for (const id of [FAMILY, OTHER_FAMILY]) {
    storage.sqlite.prepare('INSERT INTO families (id, name, created_at) VALUES (?, ?, ?)').run(id, id, now);
  }

  const makeService = (s: Storage): SyncService =>
    createSyncService({
      storage: s,
      logger,
      limits: opts.limits,
      authenticate: async (_req, token) => {
        await new Promise((r) => setImmediate(r)); // authentication is async in the real server
        if (!token || revoked.has(token)) return null;
        const p = PRINCIPALS[token];
        return p ? { ...p } : null;
      },
      familyExists: (id) => id === FAMILY || id === OTHER_FAMILY,
    });

  let service = makeService(storage);
  let server = http.createServer((_req, res) => res.writeHead(404).end());
  const listen = (srv: http.Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => resolve((srv.address() as AddressInfo).port));
    });
  const wire = (srv: http.Server) =>
    srv.on('upgrade', (req, socket, head) => {
      if (req.url?.startsWith('/sync/')) h.service.handleUpgrade(req, socket, head);
      else socket.destroy();
    });

  wire(server);
  const port = await listen(server, 0);

  const stopServer = async () => {
    await h.service.close();
    server.closeAllConnections?.();
    await new Promise<void>((r) => server.close(() => r()));
  };

  const h: Harness = {
    dir,
    dbFile,
    port,
    serverUrl: `ws://127.0.0.1:${port}/sync`,
    storage,
    service,
    revoked,
    async restart() {
      await stopServer();
      storage.close();
      storage = openStorage(dbFile);
      service = makeService(storage);
      h.storage = storage;
      h.service = service;
      server = http.createServer((_req, res) => res.writeHead(404).end());
      wire(server);
      await listen(server, port);
    },
    async close() {
      await stopServer();
      storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

export interface TestClient {
  doc: Y.Doc;
  provider: WebsocketProvider;
  /** Close events seen by this client (code, reason). */
  closes: { code: number; reason: string }[];
  destroy(): void;
}

export function connectClient(
  h: Harness,
  docName: string,
  token: string,
  opts: { doc?: Y.Doc; connect?: boolean; family?: string } = {},
): TestClient {
  const doc = opts.doc ?? new Y.Doc();
  const provider = new WebsocketProvider(h.serverUrl, `${opts.family ?? FAMILY}/${docName}`, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: { token },
    connect: opts.connect ?? true,
    // Same-process providers would otherwise talk over BroadcastChannel and bypass the server.
    disableBc: true,
    maxBackoffTime: 300,
  });
  const closes: { code: number; reason: string }[] = [];
  provider.on('connection-close', (event) => {
    if (event) closes.push({ code: event.code, reason: event.reason });
  });
  return {
    doc,
    provider,
    closes,
    destroy() {
      provider.destroy();
      doc.destroy();
    },
  };
}

export function whenSynced(c: TestClient, timeoutMs = 5000): Promise<void> {
  if (c.provider.synced) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('client did not sync in time')), timeoutMs);
    const on = (synced: boolean) => {
      if (!synced) return;
      clearTimeout(t);
      c.provider.off('sync', on);
      resolve();
    };
    c.provider.on('sync', on);
  });
}

/** Polls `cond` (sync or async: an async one is awaited, never taken as truthy) until it holds. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The document as stored in SQLite right now (snapshot + log), independent of the service's memory. */
export function storedDoc(storage: Storage, docName: string, family = FAMILY): Y.Doc {
  const doc = new Y.Doc();
  const row = storage.sqlite
    .prepare(
      `SELECT d.id, s.data AS snapshot FROM documents d
       LEFT JOIN document_snapshots s ON s.document_id = d.id AND s.family_id = d.family_id
       WHERE d.family_id = ? AND d.name = ?`,
    )
    .get(family, docName) as { id: number; snapshot: Buffer | null } | undefined;
  if (!row) return doc;
  if (row.snapshot) Y.applyUpdate(doc, row.snapshot);
  const rows = storage.sqlite
    .prepare('SELECT data FROM document_updates WHERE family_id = ? AND document_id = ? ORDER BY id')
    .pluck()
    .all(family, row.id) as Buffer[];
  for (const u of rows) Y.applyUpdate(doc, u);
  return doc;
}

/**
 * Raw upgrade attempt over plain HTTP (no URL normalisation, unlike a WebSocket client):
 * resolves with the HTTP status if refused, or 101 if a socket opened (then closed at once).
 */
export function tryUpgrade(h: Harness, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: h.port,
      path,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-version': '13',
        ...headers,
      },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve({ status: 101, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A bare WebSocket speaking raw frames, for limit and fuzz tests. */
export interface RawClient {
  ws: WebSocket;
  messages: Uint8Array[];
  closed: Promise<{ code: number; reason: string }>;
  send(frame: Uint8Array): void;
}

export function rawClient(h: Harness, docName: string, token: string, family = FAMILY): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${h.port}/sync/${family}/${docName}?token=${token}`);
    const messages: Uint8Array[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.on('close', (code, reason) => r({ code, reason: reason.toString() })),
    );
    ws.on('message', (d: Buffer) => messages.push(new Uint8Array(d)));
    ws.on('error', () => {});
    ws.once('open', () =>
      resolve({
        ws,
        messages,
        closed,
        send: (f) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(f);
        },
      }),
    );
    ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
  });
}
