import type { BackupStatus } from '../../../client/index.js';

/** How stale a last good backup may be before the panel warns (the nightly job runs once a day). */
const STALE_HOURS = 36;

/** What the admin screen says about backups; `null` is a server that does not report them (404). */
export function backupSummary(b: BackupStatus | null, fmtTime: (ms: number) => string): { tone: 'ok' | 'warn' | 'bad' | 'unknown'; headline: string; lines: string[] } {
  if (!b) return { tone: 'unknown', headline: 'Backup status: unknown', lines: ['This server does not report its backups.'] };
  const last = b.last;
  if (!last) return { tone: 'warn', headline: 'No backup yet', lines: ['Nothing has been backed up on this server. Run `hearth backup` or wait for the nightly job.'] };
  const age = b.ageHours === null ? '' : b.ageHours < 1 ? 'less than an hour ago' : `${Math.round(b.ageHours)} hours ago`;
  const when = `${fmtTime(last.at)}${age ? ` (${age})` : ''}`;
  if (!last.ok) return { tone: 'bad', headline: 'The last backup failed', lines: [`At ${when}.`, last.error ? `Error: ${last.error}` : 'No error was recorded.'] };
  const lines = [`Last backup ${when}.`, last.verified ? 'Verified: its manifest was checked after writing.' : 'Not verified.', last.encrypted ? 'Encrypted.' : 'Not encrypted.'];
  if (b.ageHours !== null && b.ageHours > STALE_HOURS) return { tone: 'warn', headline: 'The last backup is old', lines };
  if (!last.verified) return { tone: 'warn', headline: 'Backed up, not verified', lines };
  return { tone: 'ok', headline: 'Backed up', lines };
}

