/**
 * The scheduler's contract with the capabilities that schedule work (reminders, the
 * digest, vault release, backups, media repair, housekeeping). Capabilities depend on
 * these types only; the scheduler behind them is wired in server/runtime.ts.
 */

/** Wall time for everything that schedules or stamps; tests inject a clock they move by hand. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Called whenever the clock is set or advanced by hand (tests) so sleepers re-evaluate. */
  onChange(listener: () => void): () => void;
  /** True for a clock that moves only by hand: sleepers then wait for onChange, not for real time. */
  readonly manual?: boolean;
}

export interface JobSpec {
  kind: string;
  familyId?: string | null;
  /** JSON-serialisable. */
  payload?: unknown;
  /** Milliseconds since the epoch; defaults to now. Ignored when cron is set. */
  runAt?: number;
  /** croner expression; the job re-arms itself for the next slot after each run. */
  cron?: string;
  /** IANA zone the cron expression is read in; defaults to UTC. */
  timezone?: string;
  /** Unique per job. Scheduling with a key that exists replaces that job's spec if it has not run. */
  key?: string;
  maxAttempts?: number;
  /**
   * With a key that exists: 'replace' (default) applies this spec as described above;
   * 'keep' leaves the existing job exactly as it is, whatever its status (schedule once).
   */
  ifExists?: 'replace' | 'keep';
}

export type JobStatus = 'pending' | 'running' | 'done' | 'dead' | 'cancelled';

export interface JobRecord {
  id: string;
  kind: string;
  familyId: string | null;
  payload: unknown;
  runAt: number;
  cron: string | null;
  timezone: string | null;
  status: JobStatus;
  attempts: number;
  lastError: string | null;
  key: string | null;
  /** How many attempts the job gets (set by the persistent scheduler). */
  maxAttempts?: number;
}

export interface JobRun {
  job: JobRecord;
  /** 1 for the first try. */
  attempt: number;
  /** The clock's now when the run started. */
  now: number;
}

/** Throw to fail the attempt (it is retried with backoff, then dead). */
export type JobHandler = (run: JobRun) => Promise<void> | void;

export interface JobScheduler {
  register(kind: string, handler: JobHandler): void;
  schedule(spec: JobSpec): JobRecord;
  /** Cancels the pending job with this key; false when there is none. */
  cancel(key: string): boolean;
  findByKey(key: string): JobRecord | null;
}
