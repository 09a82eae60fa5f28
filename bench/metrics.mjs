// Cost of metrics: one scrape, and the hot-path observer calls the sync engine makes
// per update (on) against the no-op observer (off), same run. Run after `npm run build`.
import { performance } from 'node:perf_hooks';
import { createMetrics } from '../dist/metrics/index.js';
import { NO_SYNC_OBSERVER } from '../dist/sync/types.js';

const m = createMetrics({ syncStats: () => ({ connections: 1000, loadedDocuments: 200 }) });
for (let i = 0; i < 50; i++) m.httpRequest('GET', `/v1/families/:familyId/r${i % 25}`, 200 + (i % 3));

const N = 2_000_000;
function perUpdate(obs) {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    obs.updateApplied(120);
    obs.broadcast(4);
    if ((i & 63) === 0) obs.committed(0.0004, 3);
  }
  return ((performance.now() - t0) * 1e6) / N;
}
perUpdate(m.sync); perUpdate(NO_SYNC_OBSERVER); // warm
const on = perUpdate(m.sync);
const off = perUpdate(NO_SYNC_OBSERVER);

await m.scrape();
const S = 200;
const times = [];
for (let i = 0; i < S; i++) {
  const t0 = performance.now();
  await m.scrape();
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const text = await m.scrape();
console.log(JSON.stringify({
  observerNsPerUpdate: { on: +on.toFixed(1), off: +off.toFixed(1), addedNs: +(on - off).toFixed(1) },
  scrapeMs: { p50: +times[S / 2].toFixed(3), p99: +times[Math.floor(S * 0.99)].toFixed(3) },
  scrapeBytes: text.length,
}));
m.stop();
