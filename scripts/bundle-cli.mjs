#!/usr/bin/env node
// Bundles the CLI entry into one ES module at dist/cli/main.js, over tsc's output.
//
// Why: on Node 24 every ESM module of drizzle-orm costs a parse of its 179 KB
// package.json, so loading it module by module takes ~0.6 s and ~200 MB of RSS; a
// bundle loads in a fraction of that. The single executable bundles the same way
// (scripts/build-binary.mjs). tsc still emits every module for code that imports them
// one by one (tests, test helpers).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { webAssetsPlugin } from './web-assets-plugin.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let commit = process.env.HEARTH_COMMIT ?? 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
} catch {
  // not a git checkout: keep what we have
}

await build({
  entryPoints: [path.join(root, 'cli', 'main.ts')],
  outfile: path.join(root, 'dist', 'cli', 'main.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  // Native addons load by computed paths; they stay real packages in node_modules.
  packages: 'bundle',
  external: ['better-sqlite3', 'sharp'],
  define: { __HEARTH_COMMIT__: JSON.stringify(commit) },
  // Bundled CommonJS code calls require() for Node built-ins.
  banner: { js: "import { createRequire as __hearthCreateRequire } from 'node:module'; const require = __hearthCreateRequire(import.meta.url);" },
  sourcemap: true,
  keepNames: true,
  logLevel: 'warning',
  allowOverwrite: true,
  // The web app (dist/web, built just before by scripts/build-web.mjs) rides inside the bundle.
  plugins: [webAssetsPlugin(root)],
});

// A single non-ASCII character makes V8 hold the whole 4 MB source as a two-byte
// string (8 MB of heap for as long as the server runs). esbuild escapes strings and
// regexes but copies some comments verbatim (ip-address's JSDoc has "§" and "—"), so
// escape what is left; in a comment an escape is as good as the character.
const out = path.join(root, 'dist', 'cli', 'main.js');
const code = fs.readFileSync(out, 'utf8');
const ascii = code.replace(/[^\x00-\x7f]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
if (ascii !== code) fs.writeFileSync(out, ascii);
