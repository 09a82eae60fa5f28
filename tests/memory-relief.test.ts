import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { useMemoryRelief } from '../server/memory-relief.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('memory relief', () => {
  it('gives a grown heap back once the process is quiet, once per growth', async () => {
    const relief = useMemoryRelief(pino({ level: 'silent' }), { pollMs: 50, minGrowthBytes: 4 * 1024 * 1024, minIntervalMs: 0 });
    try {
      await sleep(200);
      const runsBefore = relief.runs;
      // A burst of garbage grows the heap, as a storm of connections does.
      let keep: unknown[] = [];
      for (let i = 0; i < 40; i++) keep.push(new Array(100_000).fill(i));
      const grown = process.memoryUsage().heapTotal;
      keep = [];
      const deadline = Date.now() + 5000;
      while (relief.runs === runsBefore && Date.now() < deadline) await sleep(50);
      expect(relief.runs).toBeGreaterThan(runsBefore);
      expect(process.memoryUsage().heapTotal).toBeLessThan(grown);
      // Quiet and not growing: no collection after collection.
      const runsAfter = relief.runs;
      await sleep(400);
      expect(relief.runs).toBe(runsAfter);
      expect(keep).toHaveLength(0);
    } finally {
      relief.stop();
    }
  });

  it('is one per process however many servers use it', () => {
    const logger = pino({ level: 'silent' });
    const a = useMemoryRelief(logger);
    const b = useMemoryRelief(logger);
    a.reclaimNow();
    expect(b.runs).toBe(a.runs);
    expect(a.runs).toBeGreaterThan(0);
    a.stop();
    b.stop();
  });
});
