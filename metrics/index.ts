import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SyncObserver } from '../sync/index.js';

type Maybe<T> = T | Promise<T>;

/**
 * What the registry reads on scrape; every source is optional so tests can wire a subset.
 * Each is called at most once per scrape, however many series it feeds. A source that
 * reads a table must not hold the event loop for it: see db-gauges.ts.
 */
export interface MetricsSources {
  syncStats?: () => { connections: number; loadedDocuments: number };
  /** Jobs by status, and pending jobs whose last attempt failed (retrying with backoff). */
  jobs?: () => Maybe<{ byStatus: Record<string, number>; retrying: number }>;
  /** Stored media bytes (live rows) and uploads still waiting for their thumbnail. */
  media?: () => Maybe<{ bytes: number; thumbnailBacklog: number }>;
  /** Age of the newest verified backup (null: none) and whether the newest attempt verified. */
  backup?: () => Maybe<{ ageSeconds: number | null; lastOk: boolean | null }>;
}

export { createDbGauges, type DbGauges } from './db-gauges.js';

export interface HearthMetrics {
  readonly registry: Registry;
  /** Handed to the sync engine: O(1) increments in its hot path. */
  readonly sync: SyncObserver;
  /** Counted once per response; `route` is fastify's pattern (never the raw URL). */
  httpRequest(method: string, route: string, status: number): void;
  /** Prometheus text format. */
  scrape(): Promise<string>;
  readonly contentType: string;
  stop(): void;
}

/**
 * A registry of its own, not prom-client's global one: tests and two servers in one
 * process must not share series. Gauges are computed at scrape time (collect()).
 */
export function createMetrics(sources: MetricsSources = {}): HearthMetrics {
  const registry = new Registry();
  // One reading of each source per scrape: gauges sharing a source collect concurrently.
  let reading = new Map<string, Promise<unknown>>();
  const read = <K extends 'jobs' | 'media' | 'backup'>(key: K): Promise<Awaited<ReturnType<NonNullable<MetricsSources[K]>>> | undefined> => {
    const source = sources[key];
    if (!source) return Promise.resolve(undefined);
    let p = reading.get(key);
    if (!p) reading.set(key, (p = Promise.resolve().then(() => source())));
    return p as Promise<Awaited<ReturnType<NonNullable<MetricsSources[K]>>>>;
  };
  collectDefaultMetrics({ register: registry, prefix: 'hearth_' });
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();

  new Gauge({
    name: 'hearth_event_loop_lag_p99_seconds',
    help: 'p99 event-loop delay since the previous scrape',
    registers: [registry],
    collect() {
      this.set(lag.percentile(99) / 1e9);
      lag.reset();
    },
  });
  new Gauge({
    name: 'hearth_sync_connections',
    help: 'Open sync WebSocket connections',
    registers: [registry],
    collect() {
      this.set(sources.syncStats?.().connections ?? 0);
    },
  });
  new Gauge({
    name: 'hearth_sync_documents_loaded',
    help: 'Documents loaded in memory',
    registers: [registry],
    collect() {
      this.set(sources.syncStats?.().loadedDocuments ?? 0);
    },
  });
  new Gauge({
    name: 'hearth_jobs',
    help: 'Scheduled jobs by status (dead: failed past their attempts)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const j = await read('jobs');
      this.reset();
      for (const status of ['pending', 'running', 'done', 'dead', 'cancelled']) this.set({ status }, j?.byStatus[status] ?? 0);
    },
  });
  new Gauge({
    name: 'hearth_jobs_retrying',
    help: 'Pending jobs whose last attempt failed',
    registers: [registry],
    async collect() {
      this.set((await read('jobs'))?.retrying ?? 0);
    },
  });
  new Gauge({
    name: 'hearth_media_bytes',
    help: 'Bytes of stored media originals',
    registers: [registry],
    async collect() {
      this.set((await read('media'))?.bytes ?? 0);
    },
  });
  new Gauge({
    name: 'hearth_media_thumbnail_backlog',
    help: 'Uploads waiting for their thumbnail and preview',
    registers: [registry],
    async collect() {
      this.set((await read('media'))?.thumbnailBacklog ?? 0);
    },
  });
  new Gauge({
    name: 'hearth_backup_age_seconds',
    help: 'Age of the newest verified backup (-1: none yet)',
    registers: [registry],
    async collect() {
      this.set((await read('backup'))?.ageSeconds ?? -1);
    },
  });
  new Gauge({
    name: 'hearth_backup_last_ok',
    help: '1 when the newest backup attempt verified, 0 when it did not finish (-1: none yet)',
    registers: [registry],
    async collect() {
      const ok = (await read('backup'))?.lastOk;
      this.set(ok === null || ok === undefined ? -1 : ok ? 1 : 0);
    },
  });
  const http = new Counter({
    name: 'hearth_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const commit = new Histogram({
    name: 'hearth_sync_commit_seconds',
    help: 'Group-commit latency',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });

  const updates = new Counter({ name: 'hearth_sync_updates_total', help: 'Client updates applied', registers: [registry] });
  const updateBytes = new Counter({ name: 'hearth_sync_update_bytes_total', help: 'Bytes of client updates applied', registers: [registry] });
  const fanout = new Histogram({
    name: 'hearth_sync_broadcast_fanout',
    help: 'Peers each committed update chunk was sent to',
    buckets: [0, 1, 2, 4, 8, 16, 32, 64],
    registers: [registry],
  });
  const sync: SyncObserver = {
    updateApplied(bytes) {
      updates.inc();
      updateBytes.inc(bytes);
    },
    committed(seconds) {
      commit.observe(seconds);
    },
    broadcast(receivers) {
      fanout.observe(receivers);
    },
  };

  return {
    registry,
    sync,
    httpRequest(method, route, status) {
      http.inc({ method, route, status: String(status) });
    },
    async scrape() {
      reading = new Map();
      try {
        return await registry.metrics();
      } finally {
        reading = new Map();
      }
    },
    contentType: registry.contentType,
    stop() {
      lag.disable();
      registry.clear();
    },
  };
}
