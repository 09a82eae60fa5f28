import { and, inArray, isNull, lt } from 'drizzle-orm';
import type { Db } from '../storage/database.js';
import { invites, pairingRequests, pairingTokens, refreshTokens } from '../storage/schema.js';
import { deliveries, jobs } from '../storage/jobs-schema.js';
import type { PersistentScheduler } from './scheduler.js';

/**
 * Cleanup that keeps the database from growing forever. Runs hourly as one
 * transactional job: the deletes and the job's completion commit together.
 *
 * Refresh tokens are kept until they expire even once used: reuse detection needs the
 * used ones. Document compaction is not here: the sync engine compacts on its own
 * (after N updates/bytes and on unload). Media repair/GC and the nightly backup are
 * their capabilities' own jobs (`media.repair`, `backup.nightly`), registered beside them.
 */

export const HOUSEKEEPING_JOB = 'housekeeping.cleanup';
export const HOUSEKEEPING_KEY = 'housekeeping:cleanup';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface HousekeepingResult {
  pairingRequests: number;
  pairingTokens: number;
  invites: number;
  refreshTokens: number;
  jobs: number;
  deliveries: number;
}

export function runHousekeeping(db: Db, now: number): HousekeepingResult {
  return {
    pairingRequests: db.delete(pairingRequests).where(lt(pairingRequests.expiresAt, now - HOUR)).run().changes,
    pairingTokens: db.delete(pairingTokens).where(lt(pairingTokens.expiresAt, now - HOUR)).run().changes,
    // Unused invites stay listed (as expired) for a week so an admin sees why a code failed.
    invites: db.delete(invites).where(and(isNull(invites.usedAt), lt(invites.expiresAt, now - 7 * DAY))).run().changes,
    refreshTokens: db.delete(refreshTokens).where(lt(refreshTokens.expiresAt, now - DAY)).run().changes,
    jobs: db
      .delete(jobs)
      .where(and(inArray(jobs.status, ['done', 'cancelled']), lt(jobs.updatedAt, now - 30 * DAY)))
      .run().changes,
    deliveries: db.delete(deliveries).where(lt(deliveries.updatedAt, now - 30 * DAY)).run().changes,
  };
}

export interface HousekeepingDeps {
  scheduler: PersistentScheduler;
  db: Db;
  /** Extra hourly chores of other capabilities (e.g. ensuring every family has its digest job). */
  alsoHourly?: (() => void)[];
  onCleaned?: (r: HousekeepingResult) => void;
}

export function registerHousekeepingJobs(deps: HousekeepingDeps): void {
  deps.scheduler.register(
    HOUSEKEEPING_JOB,
    (run) => {
      const r = runHousekeeping(deps.db, run.now);
      for (const chore of deps.alsoHourly ?? []) chore();
      deps.onCleaned?.(r);
    },
    { transactional: true },
  );
  deps.scheduler.schedule({ kind: HOUSEKEEPING_JOB, key: HOUSEKEEPING_KEY, cron: '17 * * * *', timezone: 'UTC', maxAttempts: 3 });
}
