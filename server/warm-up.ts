import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { openStorage } from '../storage/database.js';
import { families } from '../storage/schema.js';
import { createSyncService } from '../sync/index.js';
import { encodeSyncStep1, encodeUpdate } from '../sync/protocol.js';
import { signAccessToken } from './identity/access-tokens.js';
import type { IdentityContext } from './identity/context.js';
import { authenticateToken } from './identity/sessions.js';

const WARM_UP_TIMEOUT_MS = 2000;

/**
 * Runs the path of a device's first sync once, right after the port opens and before
 * the server reports itself listening. After a restart every device of the family
 * reconnects at once, and in a fresh process that path is cold code: the first
 * connection took about 7 ms from upgrade to sync step 2 where a warm one takes 2.5 ms
 * (bench machine). Nothing real is touched: the token check runs against the real
 * database with a token that names no device (so it admits nothing), and the socket
 * part (upgrade handshake included) runs a throwaway sync service on an in-memory
 * database, reached over loopback and closed again. A failure here is logged and
 * start-up goes on.
 */
export async function warmUp(identity: IdentityContext, logger: Logger): Promise<void> {
  const started = performance.now();
  try {
    const token = await signAccessToken(identity.keys, { familyId: '-', memberId: '-', deviceId: '-', role: 'guest' }, 60);
    await authenticateToken(identity, token);
    await warmUpSyncPath();
    logger.debug({ ms: Math.round(performance.now() - started) }, 'warm-up done');
  } catch (err) {
    logger.debug({ err }, 'warm-up failed (start-up continues)');
  }
}

/** One device's round trip on a throwaway service: upgrade, step 1 / step 2, an update, close. */
async function warmUpSyncPath(): Promise<void> {
  const storage = openStorage(':memory:');
  const familyId = 'fam_warmup';
  storage.db.insert(families).values({ id: familyId, name: 'warm-up', createdAt: Date.now() }).run();
  const principal = { familyId, memberId: 'mem_warmup', deviceId: 'dev_warmup', role: 'owner' as const };
  const silent = pino({ level: 'silent' });
  const service = createSyncService({
    storage,
    logger: silent,
    authenticate: async () => principal,
    familyExists: (id) => id === familyId,
  });
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => service.handleUpgrade(req, socket, head));
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const edit = new Y.Doc();
    edit.getArray('a').push([1]);
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/sync/${familyId}/warm-up?token=-`, { perMessageDeflate: false });
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error('warm-up timed out'));
      }, WARM_UP_TIMEOUT_MS);
      ws.on('open', () => {
        ws.send(encodeSyncStep1(new Uint8Array([0])));
        ws.send(encodeUpdate(Y.encodeStateAsUpdate(edit)));
      });
      // The server's answers (step 2, then its own step 1) mean the whole path ran.
      let answers = 0;
      ws.on('message', () => {
        if (++answers === 2) ws.close();
      });
      ws.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.on('error', reject);
    });
  } finally {
    await service.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    storage.close();
  }
}
