#!/usr/bin/env node
// First render of the web app served by a hearth binary (or the CLI bundle), in headless
// Chromium: navigation start → the first screen rendered (performance mark
// 'hearth:rendered'), cold (fresh browser context, empty cache) and warm (reload).
//   node bench/web-first-render.mjs [path/to/hearth-binary] [runs]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const bin = process.argv[2] ?? 'dist/hearth-linux-x64';
const runs = Number(process.argv[3] ?? 5);
const data = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-web-bench-'));
const port = 18000 + Math.floor(Math.random() * 1000);
const argv = bin.endsWith('.js') ? [process.execPath, [bin]] : [bin, []];
const child = spawn(argv[0], [...argv[1], 'serve', '--data', data, '--port', String(port), '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
await new Promise((resolve, reject) => {
  child.stdout.on('data', (c) => {
    out += c;
    if (out.includes('listening')) resolve();
  });
  child.on('exit', (code) => reject(new Error(`hearth exited ${code}`)));
});
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
const url = `http://127.0.0.1:${port}/signin`;
const cold = [];
const warm = [];
try {
  for (let i = 0; i < runs; i++) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(url);
    await page.waitForFunction(() => performance.getEntriesByName('hearth:rendered').length > 0);
    cold.push(await page.evaluate(() => performance.getEntriesByName('hearth:rendered')[0].startTime));
    await page.reload();
    await page.waitForFunction(() => performance.getEntriesByName('hearth:rendered').length > 0);
    warm.push(await page.evaluate(() => performance.getEntriesByName('hearth:rendered')[0].startTime));
    await ctx.close();
  }
} finally {
  await browser.close();
  child.kill('SIGTERM');
  fs.rmSync(data, { recursive: true, force: true });
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`web first render from ${bin}: cold median ${median(cold).toFixed(0)} ms (max ${Math.max(...cold).toFixed(0)}), warm median ${median(warm).toFixed(0)} ms, ${runs} runs; budget 1000 ms (ratio ${(median(cold) / 1000).toFixed(2)})`);
