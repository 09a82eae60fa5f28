#!/usr/bin/env node
// Builds the web app (web/ → dist/web) with Vite and checks its JavaScript budget:
// the whole app must stay under 300 KB gzipped (issue 15). Prints the sizes.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUDGET = 300 * 1024;

await build({ configFile: path.join(root, 'web', 'vite.config.ts'), logLevel: 'warn' });

const out = path.join(root, 'dist', 'web');
let js = 0;
let all = 0;
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== '.vite') walk(p);
      continue;
    }
    const gz = zlib.gzipSync(fs.readFileSync(p), { level: 9 }).length;
    all += gz;
    if (/\.m?js$/.test(e.name) && e.name !== 'sw.js') js += gz;
  }
};
walk(out);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
process.stdout.write(`web app: ${kb(js)} of JavaScript gzipped (budget ${kb(BUDGET)}), ${kb(all)} for every file\n`);
if (js > BUDGET) {
  process.stderr.write(`build-web: the app's JavaScript is ${kb(js)} gzipped, over the ${kb(BUDGET)} budget\n`);
  process.exit(1);
}
