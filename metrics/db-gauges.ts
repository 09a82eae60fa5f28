import type Database from 'better-sqlite3';

/**
 * The DB-derived gauges (media bytes and thumbnail backlog, jobs by status), read without
 * holding the event loop. One aggregate over the media table of a family with 100,000
 * photos took 20-40 ms on the 2-core box (sum(size) has no covering index, so it visits
 * every row), run twice per scrape: every broadcast queued behind it
 * (bench/metrics-broadcast.mjs). Here the table is walked in rowid order, `chunkRows` rows
 * per statement (a fraction of a millisecond each), yielding to the event loop between
 * statements, so a scrape costs the same CPU but never blocks sync for more than one chunk.
 * The totals are not one snapshot (a row written between two chunks may or may not be
 * counted): right for a gauge, which is read again on the next scrape.
 *
 * Walking is still CPU (a 100,000-row table: ~40 chunks, 10-60 ms in all on the 2-core box),
 * and broadcasts that arrive during a walk each wait behind a chunk or two; a walk on every
 * 1 s scrape is what moved broadcast p99. So a walk's totals are kept `maxAgeMs`
 * (HEARTH_METRICS_DB_REFRESH_S, default 60 s): scrapes within that reuse them, and the
 * first scrape after it waits for a fresh walk.
 */
export interface DbGauges {
  media(): Promise<{ bytes: number; thumbnailBacklog: number }>;
  jobs(): Promise<{ byStatus: Record<string, number>; retrying: number }>;
}

export const JOB_STATUSES = ['pending', 'running', 'done', 'dead', 'cancelled'] as const;

export function createDbGauges(sqlite: Database.Database, opts: { chunkRows?: number; maxAgeMs?: number; now?: () => number } = {}): DbGauges {
  const chunk = opts.chunkRows ?? 1000;
  const maxAgeMs = opts.maxAgeMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const mediaChunk = sqlite.prepare(
    `SELECT max(r) AS last, count(*) AS n,
       coalesce(sum(size) FILTER (WHERE deleted_at IS NULL), 0) AS bytes,
       count(*) FILTER (WHERE thumbnail = 'pending' AND deleted_at IS NULL) AS backlog
     FROM (SELECT rowid AS r, size, thumbnail, deleted_at FROM media WHERE rowid > ? ORDER BY rowid LIMIT ?)`,
  );
  const jobsChunk = sqlite.prepare(
    `SELECT max(r) AS last, count(*) AS n,
       ${JOB_STATUSES.map((s) => `count(*) FILTER (WHERE status = '${s}') AS ${s}`).join(', ')},
       count(*) FILTER (WHERE status = 'pending' AND attempts > 0) AS retrying
     FROM (SELECT rowid AS r, status, attempts FROM jobs WHERE rowid > ? ORDER BY rowid LIMIT ?)`,
  );

  /** Adds up `stmt` over the whole table, one chunk per turn of the event loop. */
  async function walk<R extends { last: number | null; n: number }>(stmt: Database.Statement, add: (row: R) => void): Promise<void> {
    let after = Number.MIN_SAFE_INTEGER;
    for (;;) {
      if (!sqlite.open) return;
      const row = stmt.get(after, chunk) as R;
      add(row);
      if (row.n < chunk || row.last === null) return;
      after = row.last;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Single flight (overlapping scrapes share one walk), and its result kept `maxAgeMs`. */
  function cached<T>(compute: () => Promise<T>): () => Promise<T> {
    let run: Promise<T> | null = null;
    let last: { at: number; value: T } | null = null;
    return () => {
      if (last && now() - last.at < maxAgeMs) return Promise.resolve(last.value);
      run ??= compute()
        .then((value) => {
          last = { at: now(), value };
          return value;
        })
        .finally(() => (run = null));
      return run;
    };
  }

  return {
    media: cached(async () => {
      const out = { bytes: 0, thumbnailBacklog: 0 };
      await walk<{ last: number | null; n: number; bytes: number; backlog: number }>(mediaChunk, (r) => {
        out.bytes += r.bytes;
        out.thumbnailBacklog += r.backlog;
      });
      return out;
    }),
    jobs: cached(async () => {
      const byStatus: Record<string, number> = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0]));
      let retrying = 0;
      await walk<{ last: number | null; n: number; retrying: number } & Record<(typeof JOB_STATUSES)[number], number>>(jobsChunk, (r) => {
        for (const s of JOB_STATUSES) byStatus[s]! += r[s];
        retrying += r.retrying;
      });
      return { byStatus, retrying };
    }),
  };
}
