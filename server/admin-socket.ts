import fs from 'node:fs';
import net from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CLI_ACTOR } from './identity/context.js';
import { runAdminOp, type AdminContext } from './admin-ops.js';
import { installErrorHandlers } from './error-handler.js';

/** Is something answering on this unix socket? A leftover file from a crash is not. */
export function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.connect(path);
    conn.once('connect', () => {
      conn.destroy();
      resolve(true);
    });
    conn.once('error', () => resolve(false));
  });
}

/**
 * The CLI's way into a running server. A unix socket in the data dir with mode 0600:
 * only the service user (and root) can open it, which is the whole authorization.
 */
export async function startAdminSocket(
  socketPath: string,
  ctx: AdminContext,
  logger: Logger,
  status: () => Record<string, unknown>,
): Promise<FastifyInstance> {
  if (fs.existsSync(socketPath)) {
    if (await socketIsLive(socketPath)) throw new Error(`another hearth is already serving this data dir (${socketPath})`);
    fs.unlinkSync(socketPath);
  }
  const app = Fastify({ loggerInstance: logger.child({ component: 'admin-socket' }) as FastifyBaseLogger }).withTypeProvider<TypeBoxTypeProvider>();
  installErrorHandlers(app);
  app.get('/admin/status', async () => status());
  app.post(
    '/admin/ops/:name',
    { schema: { params: Type.Object({ name: Type.String() }), body: Type.Unknown() } },
    async (request) => ({ result: await runAdminOp(ctx, request.params.name, request.body, { ...CLI_ACTOR, requestId: String(request.id) }) }),
  );
  const oldMask = process.umask(0o177);
  try {
    await app.listen({ path: socketPath });
  } finally {
    process.umask(oldMask);
  }
  fs.chmodSync(socketPath, 0o600);
  return app;
}
