// 100,000 scheduled jobs: start-up time, RSS, and the delay from due time to run when
// 1,000 fall due in the same second. usage: sh scripts/node.sh bench/jobs.mjs (after npm run build) [jobs] [burst]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStorage } from '../dist/storage/database.js';
import { createScheduler } from '../dist/jobs/scheduler.js';
import { systemClock } from '../dist/jobs/clock.js';

const total = Number(process.argv[2] ?? 100_000);
const burst = Number(process.argv[3] ?? 1_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-jobs-'));
const file = path.join(dir, 'hearth.db');
const rss0 = process.memoryUsage().rss;
{
  const s = openStorage(file);
  const sched = createScheduler({ sqlite: s.sqlite, clock: systemClock });
  const far = Date.now() + 30 * 86_400_000;
  const t = performance.now();
  s.sqlite.transaction(() => {
    for (let i = 0; i < total - burst; i++) sched.schedule({ kind: 'bench', runAt: far + i * 1000, payload: { i } });
  })();
  console.log(`inserted ${total - burst} in ${(performance.now() - t).toFixed(0)} ms`);
  s.close();
}
const t0 = performance.now();
const storage = openStorage(file);
const delays = [];
const sched = createScheduler({ sqlite: storage.sqlite, clock: systemClock, concurrency: 16 });
sched.register('bench', (run) => void delays.push(Date.now() - run.job.runAt));
sched.start();
const startupMs = performance.now() - t0;
const dueAt = Date.now() + 1500;
storage.sqlite.transaction(() => {
  for (let i = 0; i < burst; i++) sched.schedule({ kind: 'bench', runAt: dueAt + (i % 1000), payload: { i } });
})();
while (delays.length < burst) await new Promise((r) => setTimeout(r, 20));
const rss = process.memoryUsage().rss;
const pct = (xs, q) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))];
delays.sort((a, b) => a - b);
const p = (q) => pct(delays, q);
// The floor in the same process: bare Node timers for the same burst, no table, no claim.
const floor = [];
const floorDue = Date.now() + 200;
await new Promise((done) => {
  for (let i = 0; i < burst; i++) {
    const at = floorDue + (i % 1000);
    setTimeout(() => {
      floor.push(Date.now() - at);
      if (floor.length === burst) done();
    }, at - Date.now());
  }
});
floor.sort((a, b) => a - b);
console.log(JSON.stringify({
  total, burst, startupMs: +startupMs.toFixed(1), rssMB: +(rss / 2 ** 20).toFixed(1), rssBaseMB: +(rss0 / 2 ** 20).toFixed(1),
  p50Ms: p(0.5), p99Ms: p(0.99), maxMs: delays[delays.length - 1],
  floorTimersP50Ms: pct(floor, 0.5), floorTimersP99Ms: pct(floor, 0.99),
}));
await sched.stop();
storage.close();
fs.rmSync(dir, { recursive: true, force: true });
