import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

/** One file of the built web app, held in memory (the whole app is a few hundred KB). */
export interface WebAsset {
  /** URL path, e.g. "/index.html", "/assets/index-3f9a.js". */
  path: string;
  type: string;
  /** The bytes, gzip-compressed (served as is to browsers that accept gzip). */
  gzip: Buffer;
  etag: string;
}

/** As the bundler embeds them: base64 of the gzip bytes. */
export interface EmbeddedWebAsset {
  path: string;
  type: string;
  gzip: string;
}

// Replaced when the CLI or the single executable is bundled (scripts/web-assets-plugin.mjs)
// with every file of dist/web, so the binary carries the app. From source (tests, tsc
// output) it stays null and the files are read from dist/web instead.
export const EMBEDDED_WEB_ASSETS: EmbeddedWebAsset[] | null = null;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

export function contentTypeOf(file: string): string {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

function etagOf(gz: Buffer): string {
  return `"${crypto.createHash('sha256').update(gz).digest('base64url').slice(0, 22)}"`;
}

/** Every file under a built web app dir, gzipped; what the bundler plugin embeds too. */
export function readWebDir(dir: string): WebAsset[] {
  const out: WebAsset[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.posix.join(rel, entry.name);
      // Vite's build manifest is for tooling, not for browsers.
      if (entry.name === '.vite') continue;
      if (entry.isDirectory()) walk(r);
      else if (entry.isFile()) {
        const gz = zlib.gzipSync(fs.readFileSync(path.join(dir, r)), { level: 9 });
        out.push({ path: `/${r}`, type: contentTypeOf(r), gzip: gz, etag: etagOf(gz) });
      }
    }
  };
  walk('');
  return out;
}

/** A built app has Vite's manifest; the web/ source dir (which also has an index.html) does not. */
function isBuiltWebDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'index.html')) && fs.existsSync(path.join(dir, '.vite', 'manifest.json'));
}

/** The embedded app, else the first built dist/web found next to this module; null when there is none. */
export function loadWebAssets(explicitDir?: string): WebAsset[] | null {
  if (EMBEDDED_WEB_ASSETS) {
    return EMBEDDED_WEB_ASSETS.map((a) => {
      const gz = Buffer.from(a.gzip, 'base64');
      return { path: a.path, type: a.type, gzip: gz, etag: etagOf(gz) };
    });
  }
  const here = path.dirname(fileURLToPath(import.meta.url));
  // server/ (source) → ../dist/web; dist/server/ (tsc) → ../web; dist/cli/ (bundle) → ../web.
  const candidates = explicitDir ? [explicitDir] : [path.resolve(here, '../dist/web'), path.resolve(here, '../web')];
  const dir = candidates.find(isBuiltWebDir);
  return dir ? readWebDir(dir) : null;
}
