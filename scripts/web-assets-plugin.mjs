// esbuild plugin: replaces server/web-assets.ts's EMBEDDED_WEB_ASSETS (null from source)
// with every file of the built web app (dist/web), gzipped and base64-encoded, so the
// CLI bundle and the single executable serve the app without any file next to them.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

export function collectWebAssets(webDir) {
  if (!fs.existsSync(path.join(webDir, 'index.html'))) return null;
  const out = [];
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(webDir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.name === '.vite') continue;
      if (e.isDirectory()) walk(r);
      else
        out.push({
          path: `/${r}`,
          type: TYPES[path.extname(r).toLowerCase()] ?? 'application/octet-stream',
          gzip: zlib.gzipSync(fs.readFileSync(path.join(webDir, r)), { level: 9 }).toString('base64'),
        });
    }
  };
  walk('');
  return out;
}

export function webAssetsPlugin(root, { required = false } = {}) {
  return {
    name: 'hearth-web-assets',
    setup(build) {
      build.onLoad({ filter: /[\\/]server[\\/]web-assets\.ts$/ }, async (args) => {
        const source = await fs.promises.readFile(args.path, 'utf8');
        const assets = collectWebAssets(path.join(root, 'dist', 'web'));
        if (!assets && required) throw new Error('dist/web is missing: run `npm run build` (it builds the web app) first');
        const marker = 'export const EMBEDDED_WEB_ASSETS: EmbeddedWebAsset[] | null = null;';
        if (!source.includes(marker)) throw new Error('server/web-assets.ts: EMBEDDED_WEB_ASSETS declaration changed; update scripts/web-assets-plugin.mjs');
        return {
          contents: source.replace(marker, `export const EMBEDDED_WEB_ASSETS: EmbeddedWebAsset[] | null = ${JSON.stringify(assets)};`),
          loader: 'ts',
        };
      });
    },
  };
}
