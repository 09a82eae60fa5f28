import type Database from 'better-sqlite3';
import { nextDue, type EntryRow } from './policy.js';

/** One entry as the operator sees it: who, to whom, on what policy, when. Never content. */
export interface VaultStatusEntry {
  familyId: string;
  id: string;
  owner: string;
  recipients: string[];
  status: string;
  bytes: number;
  policies: string[];
  requestedBy: string | null;
  nextReleaseAt: number | null;
  releasedAt: number | null;
  releaseReason: string | null;
}

export interface VaultStatus {
  entries: VaultStatusEntry[];
  keys: number;
  /** The earliest release due among sealed entries. */
  nextReleaseAt: number | null;
}

export function vaultStatus(sqlite: Database.Database, familyId?: string): VaultStatus {
  const rows = (
    familyId
      ? sqlite.prepare('SELECT * FROM vault_entries WHERE family_id = ? ORDER BY created_at, id').all(familyId)
      : sqlite.prepare('SELECT * FROM vault_entries ORDER BY family_id, created_at, id').all()
  ) as EntryRow[];
  const recips = sqlite.prepare('SELECT member_id FROM vault_sealed_keys WHERE family_id = ? AND entry_id = ? AND is_owner = 0 ORDER BY member_id');
  const keys = (
    familyId ? sqlite.prepare('SELECT count(*) AS n FROM vault_keys WHERE family_id = ?').get(familyId) : sqlite.prepare('SELECT count(*) AS n FROM vault_keys').get()
  ) as { n: number };
  const entries = rows.map((r): VaultStatusEntry => {
    const policies: string[] = [];
    if (r.release_at != null) policies.push(`date ${new Date(r.release_at).toISOString()}${r.release_tz ? ` (${r.release_tz})` : ''}`);
    if (r.inactivity_days != null) policies.push(`inactivity ${r.inactivity_days}d (warn ${(r.warn_days ? (JSON.parse(r.warn_days) as number[]) : []).join('/')}d, grace ${r.grace_days}d)`);
    if (r.request_wait_days != null) policies.push(`request, wait ${r.request_wait_days}d`);
    return {
      familyId: r.family_id,
      id: r.id,
      owner: r.owner_member_id,
      recipients: (recips.all(r.family_id, r.id) as { member_id: string }[]).map((x) => x.member_id),
      status: r.status,
      bytes: r.bytes,
      policies,
      requestedBy: r.requested_by,
      nextReleaseAt: r.status === 'sealed' ? nextDue(r) : null,
      releasedAt: r.released_at,
      releaseReason: r.release_reason,
    };
  });
  const due = entries.map((e) => e.nextReleaseAt).filter((x): x is number => x != null);
  return { entries, keys: keys.n, nextReleaseAt: due.length ? Math.min(...due) : null };
}
