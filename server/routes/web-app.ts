import zlib from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound, shownPath } from '../errors.js';
import type { WebAsset } from '../web-assets.js';

/** Paths the app never answers: the API, sync and ops endpoints keep their own 404s. */
const RESERVED = /^\/(v1|sync|health|ready|metrics)(\/|$)/;

/**
 * The app's own routes (web/src/app.tsx): these get index.html. Anything else that is
 * not a file stays a plain 404, so a typo'd URL or a probe is not answered with the app.
 */
const APP_ROUTES = /^\/(setup|signin|pair|pair-browser|join|lists|notes|photos|reminders|inbox|vault|search|admin)(\/[^.]*)?$/;

/**
 * The family's web app at `/`. Hashed files under /assets/ never change (cached for a
 * year); everything else (index.html, the service worker, the manifest) is revalidated
 * on every load so an upgrade of hearth reaches browsers at once. The app's routes
 * (/pair, /lists/<id>) get index.html. No inline script anywhere, so the policy can forbid them.
 */
export async function webAppRoutes(app: FastifyInstance, opts: { assets: WebAsset[] | null }): Promise<void> {
  const byPath = new Map((opts.assets ?? []).map((a) => [a.path, a]));
  const index = byPath.get('/index.html');
  const plain = new Map<string, Buffer>();

  const send = (request: FastifyRequest, reply: FastifyReply, asset: WebAsset, immutable: boolean) => {
    reply
      .header('content-type', asset.type)
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('etag', asset.etag)
      .header('vary', 'accept-encoding')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('content-security-policy', policyFor(request));
    if (asset.type.startsWith('text/html')) reply.header('x-frame-options', 'DENY');
    if (asset.path === '/sw.js') reply.header('service-worker-allowed', '/');
    if (request.headers['if-none-match'] === asset.etag) return reply.status(304).send();
    if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
      return reply.header('content-encoding', 'gzip').send(asset.gzip);
    }
    let body = plain.get(asset.path);
    if (!body) plain.set(asset.path, (body = zlib.gunzipSync(asset.gzip)));
    return reply.send(body);
  };

  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    let pathname: string;
    try {
      pathname = decodeURIComponent(request.url.split('?')[0]!);
    } catch {
      throw notFound('file');
    }
    if (RESERVED.test(pathname)) throw notFound(`route GET ${shownPath(pathname)}`);
    if (!index && !APP_ROUTES.test(pathname) && pathname !== '/') throw notFound(`route GET ${shownPath(pathname)}`);
    if (!index) {
      return reply
        .status(404)
        .type('text/plain; charset=utf-8')
        .send('hearth: the web app is not built into this server (run `npm run build`); the API is at /v1\n');
    }
    const asset = byPath.get(pathname === '/' ? '/index.html' : pathname);
    if (asset) return send(request, reply, asset, pathname.startsWith('/assets/'));
    if (APP_ROUTES.test(pathname)) return send(request, reply, index, false);
    throw notFound(`route GET ${shownPath(pathname)}`);
  });
}

/** Strict policy: scripts, styles and workers only from this origin; sockets only back to it. */
export function policyFor(request: FastifyRequest): string {
  const host = request.host.replace(/[^A-Za-z0-9.:[\]-]/g, '');
  return [
    "default-src 'self'",
    // 'wasm-unsafe-eval' lets the vault's libsodium compile its WebAssembly; it allows no
    // JavaScript eval and no inline script.
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    `connect-src 'self' ws://${host} wss://${host}`,
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}
