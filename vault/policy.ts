import { DAY_MS } from './constants.js';

/** A vault_entries row as SQLite returns it. */
export interface EntryRow {
  family_id: string;
  id: string;
  owner_member_id: string;
  status: 'sealed' | 'released' | 'cancelled';
  recipients_see: number;
  blob: string;
  bytes: number;
  release_at: number | null;
  release_tz: string | null;
  inactivity_days: number | null;
  warn_days: string | null;
  grace_days: number;
  last_checkin_at: number;
  request_wait_days: number | null;
  requested_by: string | null;
  requested_at: number | null;
  released_at: number | null;
  release_reason: string | null;
  cancelled_at: number | null;
  created_at: number;
  updated_at: number;
}

/** As the owner sets it; any combination, the first to come due releases. */
export interface PolicyInput {
  /** Epoch ms (the route parses an ISO 8601 time with its offset). */
  releaseAt?: number | null;
  /** IANA zone the owner picked the time in, kept for display. */
  timezone?: string | null;
  /** Dead man's switch: days of silence after the last check-in. */
  inactivityDays?: number | null;
  /** Days before the silence runs out at which the owner is warned (default 14, 7, 1). */
  warnDays?: number[] | null;
  /** Days after the silence ran out before release (the owner is warned once more at its start). */
  graceDays?: number | null;
  /** Release this many days after a recipient asks, unless the owner vetoes. */
  requestWaitDays?: number | null;
}

export interface Policy {
  releaseAt: number | null;
  timezone: string | null;
  inactivityDays: number | null;
  warnDays: number[] | null;
  graceDays: number;
  lastCheckinAt: number;
  requestWaitDays: number | null;
}

export type ReleaseReason = 'date' | 'inactivity' | 'request';

/** When the silence of the dead man's switch ends (warnings count back from it). */
export function silenceEndsAt(row: EntryRow): number | null {
  return row.inactivity_days == null ? null : row.last_checkin_at + row.inactivity_days * DAY_MS;
}

/** Each policy's due time; the earliest wins. */
export function dueTimes(row: EntryRow): { reason: ReleaseReason; at: number }[] {
  const out: { reason: ReleaseReason; at: number }[] = [];
  if (row.release_at != null) out.push({ reason: 'date', at: row.release_at });
  const silence = silenceEndsAt(row);
  if (silence != null) out.push({ reason: 'inactivity', at: silence + row.grace_days * DAY_MS });
  if (row.request_wait_days != null && row.requested_at != null) out.push({ reason: 'request', at: row.requested_at + row.request_wait_days * DAY_MS });
  return out.sort((a, b) => a.at - b.at);
}

export function nextDue(row: EntryRow): number | null {
  return dueTimes(row)[0]?.at ?? null;
}

/** The release due at `now`, if any. */
export function dueRelease(row: EntryRow, now: number): { reason: ReleaseReason; at: number } | null {
  const first = dueTimes(row)[0];
  return first && first.at <= now ? first : null;
}

export interface Warning {
  /** Stable per cycle: a check-in starts a new cycle, so the warnings come again. */
  id: string;
  memberId: string;
  title: string;
  body: string;
}

/** The owner's warnings due at `now` (the caller sends each id once). */
export function dueWarnings(row: EntryRow, now: number): Warning[] {
  const out: Warning[] = [];
  const silence = silenceEndsAt(row);
  if (silence != null) {
    const days = row.warn_days ? (JSON.parse(row.warn_days) as number[]) : [];
    // Only the latest point passed is sent: a box that was off for a week does not fire three at once.
    const passed = days.filter((d) => silence - d * DAY_MS <= now && now < silence).sort((a, b) => a - b);
    const d = passed[0];
    if (d != null) {
      out.push({
        id: `vault-warn-${row.id}-${row.last_checkin_at}-${d}d`,
        memberId: row.owner_member_id,
        title: 'Vault: please check in',
        body: `An entry of yours releases if you do not check in within ${d} day${d === 1 ? '' : 's'}.`,
      });
    }
    if (now >= silence && row.grace_days > 0) {
      out.push({
        id: `vault-warn-${row.id}-${row.last_checkin_at}-grace`,
        memberId: row.owner_member_id,
        title: 'Vault: release is near',
        body: `You have not checked in; an entry of yours releases in ${row.grace_days} day${row.grace_days === 1 ? '' : 's'} unless you do.`,
      });
    }
  }
  if (row.requested_at != null && row.request_wait_days != null) {
    out.push({
      id: `vault-request-${row.id}-${row.requested_at}`,
      memberId: row.owner_member_id,
      title: 'Vault: release requested',
      body: `A family member asked for one of your entries; it releases in ${row.request_wait_days} days unless you veto.`,
    });
    const lapse = row.requested_at + row.request_wait_days * DAY_MS;
    if (now >= lapse - DAY_MS) {
      out.push({
        id: `vault-request-${row.id}-${row.requested_at}-lapse`,
        memberId: row.owner_member_id,
        title: 'Vault: release tomorrow',
        body: 'A requested entry of yours releases within a day unless you veto.',
      });
    }
  }
  return out;
}
