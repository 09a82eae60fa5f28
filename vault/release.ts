import type Database from 'better-sqlite3';
import type { Db } from '../storage/database.js';
import type { Clock, JobRun } from '../jobs/types.js';
import type { PersistentScheduler } from '../jobs/scheduler.js';
import type { Notifier } from '../notifications/types.js';
import { recordAudit } from '../storage/audit.js';
import { dueRelease, dueWarnings, type EntryRow } from './policy.js';

export const VAULT_CHECK_JOB = 'vault.release-check';
export const VAULT_NOTIFY_JOB = 'vault.notify';

export interface ReleaseDeps {
  sqlite: Database.Database;
  db: Db;
  clock: Clock;
  scheduler: PersistentScheduler;
  notifier: Notifier;
  /** Removes a cancelled entry's leftovers etc.; optional hook for logs. */
  warn?: (what: string, err: unknown) => void;
}

/**
 * The release check runs every minute (cron) and in the same SQLite transaction as its
 * job's completion: the status flip, the audit row and the outbox rows commit together
 * or not at all, so a release happens exactly once even across crashes and restarts.
 * It compares with the injected clock's now; a box that was off catches up at its first
 * run. Inbox notifications are delivered by a second job from the outbox (the inbox
 * dedupes by notification id, so a retried delivery adds nothing).
 */
export function registerVaultJobs(deps: ReleaseDeps): { checkNow(): number } {
  const { sqlite, db, scheduler } = deps;
  const st = {
    sealed: sqlite.prepare("SELECT * FROM vault_entries WHERE status = 'sealed'"),
    release: sqlite.prepare(
      "UPDATE vault_entries SET status = 'released', released_at = ?, release_reason = ?, updated_at = ? WHERE family_id = ? AND id = ? AND status = 'sealed'",
    ),
    recipients: sqlite.prepare('SELECT member_id FROM vault_sealed_keys WHERE family_id = ? AND entry_id = ? AND is_owner = 0'),
    outbox: sqlite.prepare(
      'INSERT OR IGNORE INTO vault_outbox (id, family_id, member_id, kind, title, body, ref, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    unsent: sqlite.prepare('SELECT * FROM vault_outbox WHERE sent_at IS NULL ORDER BY created_at, rowid LIMIT 200'),
    unsentCount: sqlite.prepare('SELECT count(*) AS n FROM vault_outbox WHERE sent_at IS NULL'),
    sent: sqlite.prepare('UPDATE vault_outbox SET sent_at = ? WHERE id = ?'),
  };

  const check = (now: number): number => {
    let queued = 0;
    for (const row of st.sealed.all() as EntryRow[]) {
      const due = dueRelease(row, now);
      if (due) {
        if (st.release.run(now, due.reason, now, row.family_id, row.id).changes !== 1) continue;
        recordAudit(db, 'vault.entry.release', {}, { familyId: row.family_id, target: row.id, details: { reason: due.reason, dueAt: due.at }, at: now });
        const recips = (st.recipients.all(row.family_id, row.id) as { member_id: string }[]).map((r) => r.member_id);
        for (const m of recips) {
          queued += st.outbox.run(`vault-release-${row.id}-${m}`, row.family_id, m, 'vault.released', 'A vault entry was opened for you', 'A family member left you a vault entry; open it in the vault.', `vault#${row.id}`, now).changes;
        }
        queued += st.outbox.run(`vault-release-${row.id}-owner`, row.family_id, row.owner_member_id, 'vault.released', 'Your vault entry was released', `Reason: ${due.reason}.`, `vault#${row.id}`, now).changes;
        continue;
      }
      for (const w of dueWarnings(row, now)) {
        queued += st.outbox.run(w.id, row.family_id, w.memberId, 'vault.warning', w.title, w.body, `vault#${row.id}`, now).changes;
      }
    }
    if (queued > 0 || (st.unsentCount.get() as { n: number }).n > 0) {
      scheduler.schedule({ kind: VAULT_NOTIFY_JOB, key: VAULT_NOTIFY_JOB, runAt: now, maxAttempts: 10 });
    }
    return queued;
  };

  scheduler.register(VAULT_CHECK_JOB, (run: JobRun) => void check(run.now), { transactional: true });
  scheduler.register(VAULT_NOTIFY_JOB, async (run: JobRun) => {
    for (;;) {
      const rows = st.unsent.all() as { id: string; family_id: string; member_id: string; kind: string; title: string; body: string; ref: string | null; created_at: number }[];
      if (rows.length === 0) return;
      for (const r of rows) {
        await deps.notifier.notify(r.family_id, r.member_id, {
          id: r.id,
          kind: r.kind,
          title: r.title,
          body: r.body,
          createdAt: new Date(r.created_at).toISOString(),
          ...(r.ref ? { ref: r.ref } : {}),
        });
        st.sent.run(run.now, r.id);
      }
    }
  });
  scheduler.schedule({ kind: VAULT_CHECK_JOB, key: VAULT_CHECK_JOB, cron: '* * * * *', timezone: 'UTC', maxAttempts: 3 });
  return { checkNow: () => sqlite.transaction(() => check(deps.clock.now()))() };
}
