import type { BackupStatus } from '../../../client/index.js';

/** How stale a last good backup may be before the panel warns (the nightly job runs once a day). */
const STALE_HOURS = 36;

const ago = (ageS: number) => {
  const h = ageS / 3600;
  return h < 1 ? 'less than an hour ago' : `${Math.round(h)} hours ago`;
};

/** What the admin screen says about backups; `null` is a server that does not report them (404). */
export function backupSummary(b: BackupStatus | null, fmtTime: (ms: number) => string): { tone: 'ok' | 'warn' | 'bad' | 'unknown'; headline: string; lines: string[] } {
  if (!b) return { tone: 'unknown', headline: 'Backup status: unknown', lines: ['This server does not report its backups.'] };
  const good = b.lastVerified;
  const lines = good
    ? [
        `Last verified backup ${fmtTime(Date.parse(good.at))} (${ago(good.ageS)}).`,
        good.encrypted ? 'Encrypted.' : 'Not encrypted.',
        `${b.verifiedCount} verified backup${b.verifiedCount === 1 ? '' : 's'} kept.`,
      ]
    : [];
  const failing = b.nightly && b.nightly.status !== 'done' && b.nightly.lastError;
  if (failing) return { tone: 'bad', headline: 'The last backup failed', lines: [`Error: ${b.nightly!.lastError}`, ...lines] };
  const attempt = b.lastAttempt;
  if (attempt && attempt.result === 'incomplete' && (!good || Date.parse(attempt.at) > Date.parse(good.at))) {
    return { tone: 'bad', headline: 'The last backup did not finish', lines: [`Started ${fmtTime(Date.parse(attempt.at))}; it will be cleaned up by the next one.`, ...lines] };
  }
  if (!good) return { tone: 'warn', headline: 'No backup yet', lines: ['Nothing has been backed up on this server. Run `hearth backup` or wait for the nightly job.'] };
  if (good.ageS / 3600 > STALE_HOURS) return { tone: 'warn', headline: 'The last backup is old', lines };
  return { tone: 'ok', headline: 'Backed up', lines };
}
