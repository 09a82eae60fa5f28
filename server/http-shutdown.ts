import type { FastifyInstance } from 'fastify';

/** How often a closing server looks again for connections that have gone idle. */
const IDLE_SWEEP_MS = 50;
/** Requests still running after this long are cut, so a stop never waits on a stuck client. */
const HARD_STOP_MS = 10_000;

/**
 * app.close() closes the connections idle at that moment, once. A keep-alive connection
 * whose response was still finishing (a file stream's last chunk sent, its close event
 * not yet run) goes idle a moment later and would then hold the stop until its
 * keep-alive timeout; so idle connections are swept until the server has closed.
 */
export async function closeHttp(app: FastifyInstance): Promise<void> {
  const closed = app.close();
  const sweep = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_MS);
  const hard = setTimeout(() => app.server.closeAllConnections(), HARD_STOP_MS);
  try {
    await closed;
  } finally {
    clearInterval(sweep);
    clearTimeout(hard);
  }
}
