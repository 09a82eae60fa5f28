import v8 from 'node:v8';
import vm from 'node:vm';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

export interface MemoryReliefOptions {
  /** How often the event loop and the heap are looked at (cheap: two counters). */
  pollMs?: number;
  /** Event-loop utilisation below which the server counts as quiet. */
  quietUtilization?: number;
  /** Heap growth since the last relief that is worth giving back. */
  minGrowthBytes?: number;
  /** At most one relief per this long. */
  minIntervalMs?: number;
}

export interface MemoryRelief {
  /** How many reclaiming collections have run. */
  readonly runs: number;
  /** Reclaims now (after start-up, whose schema compilation leaves garbage behind). */
  reclaimNow(): void;
  stop(): void;
}

/** One per process: the heap is the process's, however many servers share it (tests do). */
let shared: { relief: MemoryRelief; users: number } | null = null;

/** The process's memory relief, started on first use and stopped when its last user stops. */
export function useMemoryRelief(logger: Logger, opts: MemoryReliefOptions = {}): MemoryRelief {
  if (!shared) shared = { relief: startMemoryRelief(logger, opts), users: 0 };
  const s = shared;
  s.users++;
  let stopped = false;
  return {
    get runs() {
      return s.relief.runs;
    },
    reclaimNow: () => s.relief.reclaimNow(),
    stop() {
      if (stopped) return;
      stopped = true;
      if (--s.users === 0) {
        s.relief.stop();
        if (shared === s) shared = null;
      }
    },
  };
}

/**
 * Gives memory back to the OS when the server falls quiet.
 *
 * V8 keeps the heap it grew to under load (a young generation of up to 2 × 16 MB after
 * a burst of connections, old-space pages after documents unload) until its own memory
 * reducer acts, which on a server that went quiet may be never: a Raspberry Pi then
 * carries the peak of the last busy minute all night. When the event loop has been
 * nearly idle for a poll interval and the heap has grown since the last relief, one
 * "last resort" full collection shrinks the heap to what is live and returns the pages
 * (measured: 137 -> 100 MB right after start-up, 158 -> 119 MB with 1,000 idle
 * sockets). It costs tens of milliseconds of main-thread time, only when nothing else
 * is happening, at most once per `minIntervalMs`.
 */
function startMemoryRelief(logger: Logger, opts: MemoryReliefOptions = {}): MemoryRelief {
  const pollMs = opts.pollMs ?? 500;
  const quiet = opts.quietUtilization ?? 0.02;
  const minGrowth = opts.minGrowthBytes ?? 8 * 1024 * 1024;
  const minIntervalMs = opts.minIntervalMs ?? 5000;
  const gc = exposeGc(logger);
  let runs = 0;
  if (!gc) return { runs, reclaimNow: () => {}, stop: () => {} };

  // The baseline is the heap at creation: start-up's schema compilation that follows
  // counts as growth, so the first quiet second after start-up already gives it back.
  let baseline = process.memoryUsage().heapTotal;
  let lastRun = 0;
  let elu = performance.eventLoopUtilization();

  const reclaim = () => {
    const rssBefore = process.memoryUsage.rss();
    const started = performance.now();
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    lastRun = Date.now();
    runs++;
    baseline = process.memoryUsage().heapTotal;
    logger.debug(
      { rssBeforeMB: mb(rssBefore), rssAfterMB: mb(process.memoryUsage.rss()), heapMB: mb(baseline), ms: Math.round(performance.now() - started) },
      'heap shrunk',
    );
  };

  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, elu).utilization;
    elu = now;
    if (utilization > quiet || Date.now() - lastRun < minIntervalMs) return;
    const heapTotal = process.memoryUsage().heapTotal;
    if (heapTotal < baseline + minGrowth) {
      // The heap may also shrink by itself: follow it down so growth is measured from there.
      baseline = Math.min(baseline, heapTotal);
      return;
    }
    reclaim();
  }, pollMs);
  timer.unref();

  return {
    get runs() {
      return runs;
    },
    reclaimNow: reclaim,
    stop() {
      clearInterval(timer);
    },
  };
}

function exposeGc(logger: Logger): GcFunction | null {
  const existing = (globalThis as { gc?: GcFunction }).gc;
  if (typeof existing === 'function') return existing;
  try {
    // The flag only adds gc() to contexts created after it is set: the main context
    // stays as it was, so no code of ours or of a dependency sees a global gc.
    v8.setFlagsFromString('--expose-gc');
    const fn = vm.runInNewContext('gc') as unknown;
    return typeof fn === 'function' ? (fn as GcFunction) : null;
  } catch (err) {
    logger.debug({ err }, 'gc not available: memory relief off');
    return null;
  }
}

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
