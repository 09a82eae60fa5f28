import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { newId } from '../storage/ids.js';
import { checkCron, nextCronSlot } from './cron.js';
import type { Clock, JobHandler, JobRecord, JobRun, JobScheduler, JobSpec, JobStatus } from './types.js';

/**
 * The persistent scheduler: jobs live in the `jobs` table (migration 0007), one timer
 * sleeps until the earliest due job or lease expiry, due jobs are claimed in a write
 * transaction with a lease (owner + expiry) so two schedulers on one database never run
 * the same job, and the outcome is recorded against the claimed version.
 *
 * Wall-clock rule (docs/jobs.md): a job runs only once clock.now() >= its runAt. A
 * backwards jump re-runs nothing (done is done; a cron job's next slot is taken after
 * max(now, the slot just run)). A forward jump runs what became due once: a cron job that
 * missed several slots runs once, then re-arms for the first slot after now. Node's
 * timers are monotonic, so the sleep is capped (maxSleepMs) to notice steps of the
 * system clock and rows written by other processes.
 */

export interface SchedulerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SchedulerOptions {
  sqlite: Database.Database;
  clock: Clock;
  logger?: SchedulerLogger;
  /** Lease owner id; default `<host>:<pid>:<random>`. */
  owner?: string;
  /** How long a claim holds before another scheduler may take the job over. Renewed while running. */
  leaseMs?: number;
  /** Jobs run at once. */
  concurrency?: number;
  /** Longest sleep between looks at the table (system clock steps, other processes' rows). */
  maxSleepMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  defaultMaxAttempts?: number;
}

export interface RegisterOptions {
  /**
   * The handler is synchronous and its database writes commit in the same transaction
   * as the job's completion: its effect happens exactly once.
   */
  transactional?: boolean;
}

/** A job with its bookkeeping, for the CLI and the admin HTTP routes. */
export interface JobDetail extends JobRecord {
  maxAttempts: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  createdAt: number;
  updatedAt: number;
  lastRunAt: number | null;
  finishedAt: number | null;
}

export interface JobListFilter {
  familyId?: string;
  status?: JobStatus;
  kind?: string;
  limit?: number;
  /** From a previous page's nextCursor. */
  cursor?: string;
}

export interface PersistentScheduler extends JobScheduler {
  readonly owner: string;
  readonly clock: Clock;
  /** Keys of a family's jobs of one kind in the given states (reconcilers cancel what is gone). */
  keysOf(filter: { kind: string; familyId: string | null; statuses: JobStatus[] }): string[];
  register(kind: string, handler: JobHandler, opts?: RegisterOptions): void;
  /** Begins claiming; call once every capability has registered its handlers. */
  start(): void;
  /** Stops claiming and waits (up to waitMs) for running jobs to finish. */
  stop(waitMs?: number): Promise<void>;
  /** Re-reads the table now (after another process changed it). */
  poke(): void;
  /** Resolves once nothing due by the clock is waiting or running (tests). */
  whenIdle(): Promise<void>;
  get(id: string): JobDetail | null;
  list(filter?: JobListFilter): { jobs: JobDetail[]; nextCursor: string | null };
  /** Makes a pending, dead or done job due now (attempts kept for pending). */
  runNow(id: string): JobDetail | null;
  /** Gives a dead or cancelled job a fresh set of attempts, due now. */
  retry(id: string): JobDetail | null;
  cancelById(id: string): boolean;
}

interface Row {
  id: string;
  kind: string;
  family_id: string | null;
  payload: string;
  run_at: number;
  cron: string | null;
  timezone: string | null;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  key: string | null;
  version: number;
  created_at: number;
  updated_at: number;
  last_run_at: number | null;
  finished_at: number | null;
}

function toDetail(r: Row): JobDetail {
  let payload: unknown = null;
  try {
    payload = JSON.parse(r.payload);
  } catch {
    payload = null;
  }
  return {
    id: r.id,
    kind: r.kind,
    familyId: r.family_id,
    payload,
    runAt: r.run_at,
    cron: r.cron,
    timezone: r.timezone,
    status: r.status,
    attempts: r.attempts,
    lastError: r.last_error,
    key: r.key,
    maxAttempts: r.max_attempts,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lastRunAt: r.last_run_at,
    finishedAt: r.finished_at,
  };
}

const MAX_ERROR_CHARS = 500;

function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (msg || 'failed').slice(0, MAX_ERROR_CHARS);
}

/** Parses `<host>:<pid>:<random>`; null for owners of another shape. */
function ownerPid(owner: string): { host: string; pid: number } | null {
  const m = /^(.*):(\d+):[0-9a-f]+$/.exec(owner);
  return m ? { host: m[1]!, pid: Number(m[2]) } : null;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function createScheduler(opts: SchedulerOptions): PersistentScheduler {
  const { sqlite, clock } = opts;
  const log = opts.logger;
  const owner = opts.owner ?? `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const leaseMs = opts.leaseMs ?? 5 * 60_000;
  const concurrency = Math.max(1, opts.concurrency ?? 8);
  const maxSleepMs = opts.maxSleepMs ?? 60_000;
  const backoffBaseMs = opts.backoffBaseMs ?? 5_000;
  const backoffMaxMs = opts.backoffMaxMs ?? 3_600_000;
  const defaultMaxAttempts = opts.defaultMaxAttempts ?? 5;

  const handlers = new Map<string, { fn: JobHandler; transactional: boolean }>();
  let kindsJson = '[]';

  const q = {
    byId: sqlite.prepare<[string], Row>('SELECT * FROM jobs WHERE id = ?'),
    byKey: sqlite.prepare<[string], Row>('SELECT * FROM jobs WHERE key = ?'),
    insert: sqlite.prepare(`INSERT INTO jobs (id, kind, family_id, payload, run_at, cron, timezone, status, attempts,
      max_attempts, key, version, created_at, updated_at) VALUES (@id, @kind, @familyId, @payload, @runAt, @cron, @timezone,
      'pending', 0, @maxAttempts, @key, 0, @now, @now)`),
    replace: sqlite.prepare(`UPDATE jobs SET kind = @kind, family_id = @familyId, payload = @payload, run_at = @runAt,
      cron = @cron, timezone = @timezone, status = 'pending', attempts = @attempts, max_attempts = @maxAttempts,
      last_error = CASE WHEN @attempts = 0 THEN NULL ELSE last_error END,
      lease_owner = NULL, lease_expires_at = NULL, version = version + 1, updated_at = @now WHERE id = @id`),
    duePending: sqlite.prepare<[number, string, number], Row>(`SELECT * FROM jobs WHERE status = 'pending' AND run_at <= ?
      AND kind IN (SELECT value FROM json_each(?)) ORDER BY run_at LIMIT ?`),
    dueExpired: sqlite.prepare<[number, string, number], Row>(`SELECT * FROM jobs WHERE status = 'running'
      AND lease_expires_at <= ? AND kind IN (SELECT value FROM json_each(?)) ORDER BY lease_expires_at LIMIT ?`),
    nextPending: sqlite.prepare<[string], { t: number }>(`SELECT run_at t FROM jobs WHERE status = 'pending'
      AND kind IN (SELECT value FROM json_each(?)) ORDER BY run_at LIMIT 1`),
    nextExpiry: sqlite.prepare<[string], { t: number | null }>(`SELECT MIN(lease_expires_at) t FROM jobs
      WHERE status = 'running' AND kind IN (SELECT value FROM json_each(?))`),
    claim: sqlite.prepare(`UPDATE jobs SET status = 'running', lease_owner = @owner, lease_expires_at = @expires,
      attempts = attempts + 1, last_run_at = @now, updated_at = @now WHERE id = @id AND version = @version`),
    bury: sqlite.prepare(`UPDATE jobs SET status = 'dead', lease_owner = NULL, lease_expires_at = NULL,
      last_error = @error, finished_at = @now, updated_at = @now WHERE id = @id AND version = @version`),
    renew: sqlite.prepare(`UPDATE jobs SET lease_expires_at = @expires WHERE id = @id AND lease_owner = @owner
      AND version = @version AND status = 'running'`),
    finish: sqlite.prepare(`UPDATE jobs SET status = @status, run_at = @runAt, attempts = @attempts, last_error = @error,
      lease_owner = NULL, lease_expires_at = NULL, finished_at = @finishedAt, updated_at = @now
      WHERE id = @id AND lease_owner = @owner AND version = @version AND status = 'running'`),
    running: sqlite.prepare<[], { id: string; lease_owner: string | null }>(`SELECT id, lease_owner FROM jobs WHERE status = 'running'`),
    expireLease: sqlite.prepare(`UPDATE jobs SET lease_expires_at = 0 WHERE id = ? AND status = 'running' AND lease_owner = ?`),
    setStatus: sqlite.prepare(`UPDATE jobs SET status = @status, run_at = @runAt, attempts = @attempts,
      lease_owner = NULL, lease_expires_at = NULL, version = version + 1, updated_at = @now WHERE id = @id`),
    cancelKey: sqlite.prepare(`UPDATE jobs SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL,
      version = version + 1, updated_at = ?, finished_at = ? WHERE key = ? AND status IN ('pending', 'running')`),
    cancelId: sqlite.prepare(`UPDATE jobs SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL,
      version = version + 1, updated_at = ?, finished_at = ? WHERE id = ? AND status IN ('pending', 'running')`),
  };

  let started = false;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let wakeQueued = false;
  let inflight = 0;
  const inflightDone = new Set<() => void>();
  let unsubscribeClock: (() => void) | null = null;

  const backoff = (attempt: number) => Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.max(0, attempt - 1));

  function validate(spec: JobSpec): void {
    if (typeof spec.kind !== 'string' || spec.kind.length === 0 || spec.kind.length > 100) throw new TypeError('job kind must be 1-100 chars');
    if (spec.runAt !== undefined && !Number.isFinite(spec.runAt)) throw new TypeError('runAt must be a finite number');
    if (spec.maxAttempts !== undefined && (!Number.isInteger(spec.maxAttempts) || spec.maxAttempts < 1 || spec.maxAttempts > 1000)) {
      throw new TypeError('maxAttempts must be a whole number 1-1000');
    }
    if (spec.key !== undefined && (typeof spec.key !== 'string' || spec.key.length === 0 || spec.key.length > 300)) {
      throw new TypeError('job key must be 1-300 chars');
    }
    if (spec.cron !== undefined) {
      try {
        checkCron(spec.cron, spec.timezone);
      } catch (err) {
        throw new TypeError(`invalid cron job: ${errorText(err)}`);
      }
    }
  }

  function schedule(spec: JobSpec): JobRecord {
    validate(spec);
    const now = clock.now();
    const cron = spec.cron ?? null;
    const timezone = cron ? (spec.timezone ?? 'UTC') : (spec.timezone ?? null);
    const payload = JSON.stringify(spec.payload ?? null);
    const maxAttempts = spec.maxAttempts ?? defaultMaxAttempts;
    const result = sqlite.transaction((): Row => {
      const existing = spec.key ? q.byKey.get(spec.key) : undefined;
      if (existing && spec.ifExists === 'keep') return existing;
      let runAt = cron ? nextCronSlot(cron, timezone, now) : (spec.runAt ?? now);
      if (runAt === null) throw new TypeError('cron expression has no future slot');
      if (existing) {
        // A cron job re-declared with the same rule keeps its armed slot, so a slot
        // missed while the process was down still runs once after start.
        const sameCron = cron !== null && existing.cron === cron && existing.timezone === timezone && existing.status === 'pending';
        if (sameCron) runAt = existing.run_at;
        const attempts = existing.status === 'pending' ? existing.attempts : 0;
        q.replace.run({ id: existing.id, kind: spec.kind, familyId: spec.familyId ?? null, payload, runAt, cron, timezone, attempts, maxAttempts, now });
        return q.byId.get(existing.id)!;
      }
      const id = newId('job');
      q.insert.run({ id, kind: spec.kind, familyId: spec.familyId ?? null, payload, runAt, cron, timezone, maxAttempts, key: spec.key ?? null, now });
      return q.byId.get(id)!;
    }).immediate();
    wake();
    return toDetail(result);
  }

  /** Takes up to `room` due jobs in one write transaction; returns those now ours. */
  const claim = sqlite.transaction((room: number, now: number): Row[] => {
    const rows = q.duePending.all(now, kindsJson, room);
    if (rows.length < room) rows.push(...q.dueExpired.all(now, kindsJson, room - rows.length));
    const mine: Row[] = [];
    for (const r of rows) {
      if (r.status === 'running' && r.attempts >= r.max_attempts && !r.cron) {
        // The last attempt's process died holding it: that attempt counts.
        q.bury.run({ id: r.id, version: r.version, error: r.last_error ?? 'lease expired: the process running it stopped', now });
        log?.warn({ jobId: r.id, kind: r.kind }, 'job dead: lease expired on its last attempt');
        continue;
      }
      const res = q.claim.run({ id: r.id, version: r.version, owner, expires: now + leaseMs, now });
      if (res.changes === 1) mine.push({ ...r, status: 'running', attempts: r.attempts + 1, lease_owner: owner });
    }
    return mine;
  });

  function complete(r: Row, err: unknown | null, now: number): boolean {
    let status: JobStatus;
    let runAt = r.run_at;
    let attempts = r.attempts;
    let error: string | null = null;
    let finishedAt: number | null = now;
    if (err === null) {
      if (r.cron) {
        const next = nextCronSlot(r.cron, r.timezone, Math.max(now, r.run_at));
        status = next === null ? 'done' : 'pending';
        if (next !== null) runAt = next;
        attempts = 0;
      } else status = 'done';
    } else {
      error = errorText(err);
      if (r.attempts < r.max_attempts) {
        status = 'pending';
        runAt = now + backoff(r.attempts);
        finishedAt = null;
      } else if (r.cron) {
        // A cron job gives up this slot, keeps the error visible and waits for the next one.
        const next = nextCronSlot(r.cron, r.timezone, Math.max(now, r.run_at));
        status = next === null ? 'dead' : 'pending';
        if (next !== null) runAt = next;
        attempts = 0;
        error = `slot given up after ${r.attempts} attempts: ${error}`.slice(0, MAX_ERROR_CHARS);
      } else status = 'dead';
    }
    const res = q.finish.run({ id: r.id, owner, version: r.version, status, runAt, attempts, error, finishedAt, now });
    if (res.changes === 0) {
      // Rescheduled or cancelled while it ran (a repeating reminder re-arms itself): the new spec stands.
      log?.info({ jobId: r.id, kind: r.kind }, 'job changed while it ran; outcome not recorded');
      return false;
    }
    if (status === 'dead') log?.warn({ jobId: r.id, kind: r.kind, attempts: r.attempts }, 'job dead');
    else if (err !== null) log?.warn({ jobId: r.id, kind: r.kind, attempt: r.attempts, retryAt: runAt }, 'job failed; retrying');
    return true;
  }

  class Superseded extends Error {}

  async function runOne(r: Row): Promise<void> {
    const h = handlers.get(r.kind);
    const startedAt = clock.now();
    const detail = toDetail(r);
    const run: JobRun = { job: detail, attempt: r.attempts, now: startedAt };
    const renewEvery = Math.max(1000, Math.floor(leaseMs / 3));
    const renewTimer = setInterval(() => {
      try {
        q.renew.run({ id: r.id, owner, version: r.version, expires: clock.now() + leaseMs });
      } catch (err) {
        log?.error({ jobId: r.id, err: errorText(err) }, 'lease renewal failed');
      }
    }, renewEvery);
    renewTimer.unref();
    try {
      if (!h) throw new Error(`no handler for kind ${r.kind}`);
      if (h.transactional) {
        let failure: unknown | null = null;
        try {
          sqlite.transaction(() => {
            const out = h.fn(run) as unknown;
            if (out && typeof (out as Promise<void>).then === 'function') throw new Error('a transactional handler must be synchronous');
            // The job was rescheduled or cancelled under us: its effect must not commit either.
            if (!complete(r, null, clock.now())) throw new Superseded();
          })();
        } catch (err) {
          failure = err;
        }
        if (failure !== null && !(failure instanceof Superseded)) complete(r, failure, clock.now());
      } else {
        let failure: unknown | null = null;
        try {
          await h.fn(run);
        } catch (err) {
          failure = err ?? new Error('failed');
        }
        complete(r, failure, clock.now());
      }
    } catch (err) {
      log?.error({ jobId: r.id, kind: r.kind, err: errorText(err) }, 'recording job outcome failed');
    } finally {
      clearInterval(renewTimer);
    }
  }

  function tick(): void {
    wakeQueued = false;
    if (!started || stopped || !sqlite.open) return;
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    const room = concurrency - inflight;
    if (room > 0 && handlers.size > 0) {
      let claimed: Row[] = [];
      try {
        claimed = claim.immediate(room, clock.now());
      } catch (err) {
        log?.error({ err: errorText(err) }, 'claiming jobs failed');
      }
      for (const r of claimed) {
        inflight++;
        void runOne(r).finally(() => {
          inflight--;
          for (const f of [...inflightDone]) f();
          wake();
        });
      }
    }
    arm();
  }

  /** One timer: to the earliest due job or lease expiry, capped by maxSleepMs. */
  function arm(): void {
    if (!started || stopped || !sqlite.open) return;
    if (inflight >= concurrency) return; // a finishing job wakes us
    let next = Infinity;
    try {
      const p = q.nextPending.get(kindsJson);
      if (p) next = p.t;
      const e = q.nextExpiry.get(kindsJson);
      if (e?.t != null) next = Math.min(next, e.t);
    } catch (err) {
      log?.error({ err: errorText(err) }, 'reading the next due job failed');
    }
    const delay = next - clock.now();
    if (delay <= 0) {
      wake();
      return;
    }
    // A manual clock moves only by hand: its onChange wakes us, a real timer would spin.
    if (clock.manual) return;
    timer = setTimeout(tick, Math.min(delay, maxSleepMs));
    timer.unref();
  }

  function wake(): void {
    if (!started || stopped || wakeQueued) return;
    wakeQueued = true;
    setImmediate(tick);
  }

  function hasDue(): boolean {
    const now = clock.now();
    return q.duePending.all(now, kindsJson, 1).length > 0 || q.dueExpired.all(now, kindsJson, 1).length > 0;
  }

  /** Jobs left running by a process on this host that no longer exists are claimable now. */
  function reclaimOrphans(): void {
    const host = os.hostname();
    for (const r of q.running.all()) {
      if (!r.lease_owner || r.lease_owner === owner) continue;
      const o = ownerPid(r.lease_owner);
      if (!o || o.host !== host) continue;
      if (o.pid === process.pid || !pidAlive(o.pid)) {
        q.expireLease.run(r.id, r.lease_owner);
        log?.info({ jobId: r.id }, 'reclaiming a job whose process stopped');
      }
    }
  }

  return {
    owner,
    clock,
    keysOf({ kind, familyId, statuses }) {
      const rows = sqlite
        .prepare(`SELECT key FROM jobs WHERE kind = ? AND family_id IS ? AND key IS NOT NULL
          AND status IN (SELECT value FROM json_each(?))`)
        .all(kind, familyId, JSON.stringify(statuses)) as { key: string }[];
      return rows.map((r) => r.key);
    },
    register(kind, fn, ropts) {
      if (handlers.has(kind)) throw new Error(`a handler for job kind ${kind} is registered already`);
      handlers.set(kind, { fn, transactional: ropts?.transactional ?? false });
      kindsJson = JSON.stringify([...handlers.keys()]);
      wake();
    },
    schedule,
    cancel(key) {
      const now = clock.now();
      const changed = q.cancelKey.run(now, now, key).changes > 0;
      if (changed) wake();
      return changed;
    },
    findByKey(key) {
      const r = q.byKey.get(key);
      return r ? toDetail(r) : null;
    },
    start() {
      if (started) return;
      started = true;
      reclaimOrphans();
      unsubscribeClock = clock.onChange(() => wake());
      wake();
    },
    async stop(waitMs = 10_000) {
      stopped = true;
      unsubscribeClock?.();
      if (timer) clearTimeout(timer);
      timer = null;
      if (inflight === 0) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, waitMs);
        function done() {
          clearTimeout(t);
          inflightDone.delete(check);
          resolve();
        }
        function check() {
          if (inflight === 0) done();
        }
        inflightDone.add(check);
      });
    },
    poke: () => wake(),
    async whenIdle() {
      if (!started) throw new Error('scheduler not started');
      for (;;) {
        await new Promise((r) => setImmediate(r));
        if (inflight === 0 && !wakeQueued && !hasDue()) return;
        if (inflight > 0) await new Promise<void>((r) => {
          const f = () => {
            inflightDone.delete(f);
            r();
          };
          inflightDone.add(f);
        });
      }
    },
    get(id) {
      const r = q.byId.get(id);
      return r ? toDetail(r) : null;
    },
    list(filter = {}) {
      const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.familyId !== undefined) {
        where.push('family_id = ?');
        params.push(filter.familyId);
      }
      if (filter.status) {
        where.push('status = ?');
        params.push(filter.status);
      }
      if (filter.kind) {
        where.push('kind = ?');
        params.push(filter.kind);
      }
      if (filter.cursor) {
        const [t, id] = Buffer.from(filter.cursor, 'base64url').toString('utf8').split('|');
        if (t !== undefined && id !== undefined && /^\d+$/.test(t)) {
          where.push('(created_at < ? OR (created_at = ? AND id < ?))');
          params.push(Number(t), Number(t), id);
        }
      }
      const rows = sqlite
        .prepare(`SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`)
        .all(...params, limit + 1) as Row[];
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const nextCursor = rows.length > limit && last ? Buffer.from(`${last.created_at}|${last.id}`).toString('base64url') : null;
      return { jobs: page.map(toDetail), nextCursor };
    },
    runNow(id) {
      const r = q.byId.get(id);
      if (!r || r.status === 'running') return r ? toDetail(r) : null;
      const attempts = r.status === 'pending' ? r.attempts : 0;
      q.setStatus.run({ id, status: 'pending', runAt: clock.now(), attempts, now: clock.now() });
      wake();
      return toDetail(q.byId.get(id)!);
    },
    retry(id) {
      const r = q.byId.get(id);
      if (!r) return null;
      if (r.status !== 'dead' && r.status !== 'cancelled') return toDetail(r);
      q.setStatus.run({ id, status: 'pending', runAt: clock.now(), attempts: 0, now: clock.now() });
      wake();
      return toDetail(q.byId.get(id)!);
    },
    cancelById(id) {
      const now = clock.now();
      const changed = q.cancelId.run(now, now, id).changes > 0;
      if (changed) wake();
      return changed;
    },
  };
}
