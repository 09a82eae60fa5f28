import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/**
 * Moves WAL checkpoints off the event loop.
 *
 * SQLite's automatic checkpoint runs inside whichever commit crosses 1000 WAL pages,
 * and with synchronous=NORMAL it fsyncs twice: measured here, a 20 µs commit becomes
 * 7-10 ms every few hundred commits, which is exactly what a sync server's p99 fan-out
 * latency shows (and far worse on an SD card). A checkpoint may run concurrently with
 * writers, so a worker thread with its own connection does it while the main
 * connection only appends. If the worker cannot start (or dies), the main connection
 * keeps (or gets back) automatic checkpoints: never worse than SQLite's default.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.modulePath);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 200');
parentPort.postMessage('ready');
const timer = setInterval(() => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    // Under steady writes the WAL is never fully checkpointed at the moment a write
    // begins, so it never restarts and would grow without end. Past a bound, a RESTART
    // checkpoint briefly holds writers back so the next one starts the WAL over.
    if (r && r.log > workerData.restartFrames) db.pragma('wal_checkpoint(RESTART)');
  } catch (err) {
    parentPort.postMessage('error:' + err.message);
  }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  db.close();
  parentPort.postMessage('stopped');
});
`;

const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

/** WAL frames (4 KiB pages) past which the worker forces the WAL to start over: 64 MiB. */
const RESTART_FRAMES = 16_384;

export interface WalCheckpointerOptions {
  /** How often the write rate is sampled. */
  tickMs?: number;
  /** Rows changed per second that count as heavy writing... */
  heavyRowsPerSecond?: number;
  /** ...for this many consecutive samples before the worker starts. */
  heavyTicks?: number;
  /** The worker stops after this long below the heavy rate. */
  workerIdleMs?: number;
  /** Checkpoint interval inside the worker. */
  workerIntervalMs?: number;
}

export interface WalCheckpointer {
  /** True while checkpoints run in the worker. */
  readonly active: boolean;
  /** How many times a worker has been started. */
  readonly workerStarts: number;
  stop(): Promise<void>;
}

/**
 * A worker thread costs ~20 MB of RSS (an isolate, and a malloc arena that is only
 * partly returned when it exits): too much to keep on a Raspberry Pi for a family that
 * writes a few edits a minute, where SQLite's own checkpoint every 1,000 pages costs
 * a few milliseconds every few minutes. So the worker runs only while writes are
 * heavy (sustained rows/s, sampled with total_changes(), which is free), and stops
 * after a quiet spell; meanwhile the main connection keeps automatic checkpoints.
 */
export function startWalCheckpointer(sqlite: Database.Database, opts: WalCheckpointerOptions = {}): WalCheckpointer {
  const tickMs = opts.tickMs ?? 500;
  const heavyRows = ((opts.heavyRowsPerSecond ?? 150) * tickMs) / 1000;
  const heavyTicks = opts.heavyTicks ?? 4;
  const workerIdleMs = opts.workerIdleMs ?? 30_000;
  const workerIntervalMs = opts.workerIntervalMs ?? 200;

  let modulePath: string | null = null;
  try {
    modulePath = createRequire(import.meta.url).resolve('better-sqlite3');
  } catch {
    // no worker possible (unusual packaging): SQLite's automatic checkpoints stay on
  }
  const totalChanges = sqlite.prepare('SELECT total_changes()').pluck();
  let lastChanges = totalChanges.get() as number;
  let busyTicks = 0;
  let quietSince = 0;
  let stopped = false;
  let failed = modulePath === null;
  let workerStarts = 0;
  let worker: { active: boolean; stop(): Promise<void> } | null = null;

  const autoCheckpoints = () => {
    if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  };

  const stopWorker = async () => {
    const w = worker;
    if (!w) return;
    worker = null;
    autoCheckpoints();
    await w.stop();
  };

  const tick = () => {
    if (stopped || !sqlite.open) return;
    const changes = totalChanges.get() as number;
    const delta = changes - lastChanges;
    lastChanges = changes;
    if (delta >= heavyRows) {
      busyTicks++;
      quietSince = 0;
      if (!worker && !failed && busyTicks >= heavyTicks) {
        workerStarts++;
        worker = runWorker(sqlite, modulePath!, workerIntervalMs, () => {
          // died or could not start: automatic checkpoints again, and no more tries
          failed = true;
          worker = null;
          autoCheckpoints();
        });
      }
    } else {
      busyTicks = 0;
      if (worker) {
        quietSince ||= Date.now();
        if (Date.now() - quietSince >= workerIdleMs) void stopWorker();
      }
    }
  };
  const timer = setInterval(tick, tickMs);
  timer.unref();

  return {
    get active() {
      return worker?.active ?? false;
    },
    get workerStarts() {
      return workerStarts;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await stopWorker();
    },
  };
}

function runWorker(
  sqlite: Database.Database,
  modulePath: string,
  intervalMs: number,
  onFailure: () => void,
): { active: boolean; stop(): Promise<void> } {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: sqlite.name, modulePath, intervalMs, restartFrames: RESTART_FRAMES } });
  worker.unref();
  let stopping = false;
  const state = {
    active: false,
    stop(): Promise<void> {
      stopping = true;
      state.active = false;
      return new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.on('message', (m: unknown) => {
          if (m === 'stopped') void worker.terminate();
        });
        worker.postMessage('stop');
        setTimeout(() => void worker.terminate(), 2000).unref();
      });
    },
  };
  worker.on('message', (m: unknown) => {
    if (m === 'ready' && !stopping && sqlite.open) {
      // After a RESTART the WAL file is cut back to this size instead of staying at its peak.
      sqlite.pragma(`journal_size_limit = ${RESTART_FRAMES * 4096}`);
      sqlite.pragma('wal_autocheckpoint = 0');
      state.active = true;
    }
  });
  const fail = () => {
    if (stopping) return;
    state.active = false;
    onFailure();
  };
  worker.on('error', fail);
  worker.on('exit', fail);
  return state;
}
