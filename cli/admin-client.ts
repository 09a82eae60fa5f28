import http from 'node:http';
import { socketIsLive } from '../server/admin-socket.js';
import { CLI_ACTOR } from '../server/identity/context.js';
import { runAdminOp, type AdminOpName } from '../server/admin-ops.js';
import { withContext } from './context.js';
import { CliError } from './output.js';
import { cliConfig } from './context.js';
import { dataDirLayout, runningServerPid } from '../storage/data-dir.js';
import { createScheduler } from '../jobs/scheduler.js';
import { systemClock } from '../jobs/clock.js';
import { createSearchService } from '../search/service.js';
import { offlineDocs } from '../search/offline-docs.js';

function post(socketPath: string, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(
      { socketPath, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Runs an operation that touches live state. With a server running on this data dir
 * it goes through the admin socket, so the server closes affected sockets at once;
 * otherwise it changes the database directly and the next start sees it.
 */
export async function runLive(
  flags: Record<string, unknown>,
  op: AdminOpName,
  args: Record<string, unknown>,
  opts: { readOnly?: boolean } = {},
): Promise<{ result: unknown; live: boolean }> {
  const layout = dataDirLayout(cliConfig(flags).dataDir);
  if (await socketIsLive(layout.adminSocket)) {
    const { status, json } = await post(layout.adminSocket, `/admin/ops/${op}`, args);
    if (status >= 400) {
      const message = (json as { error?: { message?: string } }).error?.message ?? `server answered ${status}`;
      throw new CliError(message);
    }
    return { result: (json as { result: unknown }).result, live: true };
  }
  // A server without its admin socket (HEARTH_ADMIN_SOCKET=false) would keep its sockets
  // open: changing only the database would report an effect that did not happen.
  const pid = runningServerPid(layout);
  if (pid !== null) {
    throw new CliError(`a hearth server (pid ${pid}) is running on ${layout.root} without its admin socket (HEARTH_ADMIN_SOCKET=false): nothing changed; enable the admin socket or stop the server first`);
  }
  return withContext(flags, async (ctx) => {
    // Never started: it only reads and writes the jobs table; the next server start runs what is due.
    const scheduler = createScheduler({ sqlite: ctx.storage.sqlite, clock: systemClock });
    // No server: erasure deletes document rows itself (there are no sockets to close).
    const erasure = { storage: ctx.storage, layout: ctx.layout };
    // No commit observer: nothing else writes documents while no server runs.
    const search = createSearchService({ sqlite: ctx.storage.sqlite, docs: offlineDocs(ctx.storage), indexing: false });
    return { result: await runAdminOp({ identity: ctx.identity, scheduler, erasure, search }, op, args, CLI_ACTOR), live: false };
  }, opts);
}
