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

export interface WalCheckpointer {
  /** True while checkpoints run in the worker. */
  readonly active: boolean;
  stop(): Promise<void>;
}

/** WAL frames (4 KiB pages) past which the worker forces the WAL to start over: 64 MiB. */
const RESTART_FRAMES = 16_384;

export function startWalCheckpointer(sqlite: Database.Database, intervalMs = 200): WalCheckpointer {
  let active = false;
  let stopped = false;
  let modulePath: string;
  try {
    modulePath = createRequire(import.meta.url).resolve('better-sqlite3');
  } catch {
    return { active: false, stop: async () => {} };
  }
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: sqlite.name, modulePath, intervalMs, restartFrames: RESTART_FRAMES } });
  worker.unref();
  const fallBack = () => {
    active = false;
    if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  };
  worker.on('message', (m: unknown) => {
    if (m === 'ready' && !stopped && sqlite.open) {
      // After a RESTART the WAL file is cut back to this size instead of staying at its peak.
      sqlite.pragma(`journal_size_limit = ${RESTART_FRAMES * 4096}`);
      sqlite.pragma('wal_autocheckpoint = 0');
      active = true;
    }
  });
  worker.on('error', fallBack);
  worker.on('exit', fallBack);
  return {
    get active() {
      return active;
    },
    stop() {
      if (stopped) return Promise.resolve();
      stopped = true;
      fallBack();
      return new Promise<void>((resolve) => {
        const done = () => resolve();
        worker.once('exit', done);
        worker.on('message', (m: unknown) => {
          if (m === 'stopped') void worker.terminate();
        });
        worker.postMessage('stop');
        setTimeout(() => void worker.terminate(), 2000).unref();
      });
    },
  };
}
