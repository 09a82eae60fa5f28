import type Database from 'better-sqlite3';
import type { DataDirLayout } from '../storage/data-dir.js';
import type { JobScheduler, Clock } from '../jobs/types.js';
import { createBackup } from './create.js';
import { applyRetention, type Retention } from './catalog.js';

export interface BackupJobDeps {
  sqlite: Database.Database;
  layout: DataDirLayout;
  clock: Clock;
  hearthVersion: string;
  retention: Retention;
  /** Told when a nightly backup fails (the owners' inboxes). */
  onFailure(err: Error): Promise<void>;
  /** Told of each finished nightly backup (the audit trail). */
  onSuccess?(result: { name: string; files: number; bytes: number; copied: number; linked: number }): void;
}

/**
 * The nightly backup: 03:30 UTC, then retention. A failure notifies, then retries with the
 * scheduler's backoff. Sunday's also re-reads the files it links (a weekly scrub), so rot
 * in a copy that every later backup shares is found and replaced within a week.
 */
export function registerBackupJobs(scheduler: JobScheduler, d: BackupJobDeps): void {
  scheduler.register('backup.nightly', async (run) => {
    try {
      const now = d.clock.now();
      const result = await createBackup({ sqlite: d.sqlite, layout: d.layout, now, hearthVersion: d.hearthVersion, verifyLinked: new Date(now).getUTCDay() === 0 });
      applyRetention(d.layout.backups, d.retention);
      d.onSuccess?.(result);
    } catch (err) {
      if (run.attempt === 1) await d.onFailure(err as Error);
      throw err;
    }
  });
  scheduler.schedule({ kind: 'backup.nightly', key: 'backup.nightly', cron: '30 3 * * *', timezone: 'UTC' });
}
